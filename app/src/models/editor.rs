//! The code editor: CodeMirror 6 from the build's `editor.js` (app/editor/editor.js,
//! bundled by scripts/build-editor.mjs), imported when the Models view first opens; a
//! plain textarea when it cannot load. Both are labelled `Model SQL`.

use leptos::html::Div;
use leptos::prelude::*;
use medallion_core::editor::Diagnostic;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use super::ModelsState;

/// The accessible name of the editor's text.
pub const LABEL: &str = "Model SQL";
/// The bundle, beside the page.
const MODULE: &str = "editor.js";

#[wasm_bindgen]
extern "C" {
    /// The bundled module's exports.
    type EditorModule;

    #[wasm_bindgen(method, js_name = createEditor)]
    fn create_editor(
        this: &EditorModule,
        parent: &web_sys::HtmlElement,
        options: &JsValue,
    ) -> CodeEditor;

    /// One CodeMirror editor (see app/editor/editor.js).
    type CodeEditor;

    #[wasm_bindgen(method)]
    fn open(this: &CodeEditor, text: &str, language: &str);

    #[wasm_bindgen(method, js_name = setDiagnostics)]
    fn set_diagnostics(this: &CodeEditor, diagnostics: &JsValue);

    #[wasm_bindgen(method, js_name = setCompletions)]
    fn set_completions(this: &CodeEditor, completions: &JsValue);

    #[wasm_bindgen(method)]
    fn destroy(this: &CodeEditor);
}

/// The editor's language for a file: `sql` (with Jinja), `yaml`, or plain text.
pub fn language(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension.to_ascii_lowercase().as_str() {
        "sql" => "sql",
        "yml" | "yaml" => "yaml",
        _ => "text",
    }
}

/// A mounted CodeMirror editor and the callbacks it calls.
pub struct Mounted {
    editor: CodeEditor,
    _on_change: Closure<dyn FnMut(String)>,
    _on_save: Closure<dyn FnMut()>,
}

impl Mounted {
    /// Shows another file's text, with its own undo history.
    pub fn open(&self, text: &str, path: &str) {
        self.editor.open(text, language(path));
    }

    /// Marks the compiler's diagnostics at their lines.
    pub fn mark(&self, diagnostics: &[Diagnostic]) {
        self.editor.set_diagnostics(&json(diagnostics));
    }

    /// What autocompletion offers.
    pub fn complete_from(&self, completions: &impl serde::Serialize) {
        self.editor.set_completions(&json(completions));
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.editor.destroy();
    }
}

/// A value as a plain JS object, through its JSON.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}

thread_local! {
    /// The module, once imported.
    static LOADED: std::cell::RefCell<Option<JsValue>> = const { std::cell::RefCell::new(None) };
}

/// Imports the bundle (once per page). A `Function` holds the dynamic `import()`, so that
/// the worker's build (the same crate, no ES module) carries no JS snippet.
async fn load() -> Result<EditorModule, String> {
    if let Some(module) = LOADED.with(|loaded| loaded.borrow().clone()) {
        return Ok(module.unchecked_into());
    }
    let base = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.base_uri().ok().flatten())
        .unwrap_or_default();
    let url = web_sys::Url::new_with_base(MODULE, &base)
        .map(|url| url.href())
        .map_err(|err| format!("{MODULE}: {err:?}"))?;
    let import = js_sys::Function::new_with_args("url", "return import(url)");
    let promise: js_sys::Promise = import
        .call1(&JsValue::NULL, &JsValue::from_str(&url))
        .map_err(|err| format!("{url}: {err:?}"))?
        .unchecked_into();
    let module = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|err| format!("{url} did not load: {err:?}"))?;
    LOADED.with(|loaded| *loaded.borrow_mut() = Some(module.clone()));
    Ok(module.unchecked_into())
}

/// Creates the editor in `parent` over the state's open text.
fn mount(module: &EditorModule, parent: &web_sys::HtmlElement, state: ModelsState) -> Mounted {
    let on_change = Closure::<dyn FnMut(String)>::new(move |text: String| state.edited(text));
    let on_save = Closure::<dyn FnMut()>::new(move || state.save());
    let options = js_sys::Object::new();
    let path = state.path.get_untracked().unwrap_or_default();
    let set = |key: &str, value: &JsValue| {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(key), value);
    };
    set("text", &JsValue::from_str(&state.text.get_untracked()));
    set("language", &JsValue::from_str(language(&path)));
    set("label", &JsValue::from_str(LABEL));
    set("onChange", on_change.as_ref());
    set("onSave", on_save.as_ref());
    let editor = module.create_editor(parent, &options);
    Mounted {
        editor,
        _on_change: on_change,
        _on_save: on_save,
    }
}

/// The editor of the open file: CodeMirror, or the textarea when it cannot load.
#[component]
pub fn CodeArea(state: ModelsState) -> impl IntoView {
    let host = NodeRef::<Div>::new();
    let fallback = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(parent) = host.get() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            match load().await {
                Ok(module) => {
                    let mounted = mount(&module, &parent, state);
                    state.attach(mounted);
                }
                Err(problem) => fallback.set(Some(problem)),
            }
        });
    });
    on_cleanup(move || state.detach());
    let keydown = move |event: KeyboardEvent| {
        if (event.ctrl_key() || event.meta_key()) && event.key().eq_ignore_ascii_case("s") {
            event.prevent_default();
            state.save();
        }
    };
    view! {
        {move || match fallback.get() {
            None => view! { <div class="code-editor" node_ref=host></div> }.into_any(),
            Some(problem) => view! {
                <textarea
                    class="code-fallback"
                    aria-label=LABEL
                    spellcheck="false"
                    title=format!("The code editor did not load ({problem}): a plain text area.")
                    prop:value=move || state.text.get()
                    on:input=move |event| state.edited(event_target_value(&event))
                    on:keydown=keydown
                ></textarea>
            }
            .into_any(),
        }}
    }
}
