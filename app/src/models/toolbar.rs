//! The Models view's actions: Save, Preview, Build (and Cancel), Show diff; New file,
//! Rename, Delete; Revert file, Revert project; Export project, Import project (a zip)
//! and Import folder (a directory picked).

use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{confirm, prompt, ModelsState};
use crate::protocol::Request;
use crate::route::{self, Route};
use crate::sql::SqlState;

/// A new file's path suggested from the open one's folder.
fn suggested_path(open: Option<&str>) -> String {
    let folder = open
        .and_then(|path| path.rsplit_once('/'))
        .map_or("models", |(folder, _)| folder);
    format!("{folder}/new_model.sql")
}

impl ModelsState {
    /// Asks for a path and creates an empty file there, then opens it.
    fn new_file(self) {
        let suggested = suggested_path(self.path.get_untracked().as_deref());
        let Some(path) = prompt("Path of the new file, in the project", &suggested) else {
            return;
        };
        self.error.set(None);
        self.connection.post(&Request::CreateFile {
            path: path.clone(),
            text: String::new(),
        });
        route::navigate(&Route::Models { path: Some(path) });
    }

    /// Asks for the open file's new path, saves its edits and moves it.
    fn rename(self) {
        let Some(from) = self.path.get_untracked() else {
            return;
        };
        let Some(to) = prompt(&format!("New path of {from}"), &from).filter(|to| *to != from)
        else {
            return;
        };
        if self.dirty() {
            self.save();
        }
        self.error.set(None);
        self.connection.post(&Request::RenameFile {
            from,
            to: to.clone(),
        });
        self.moved(to);
    }

    /// Deletes the open file, once confirmed.
    fn delete(self) {
        let Some(path) = self.path.get_untracked() else {
            return;
        };
        if !confirm(&format!("Delete {path}?")) {
            return;
        }
        self.error.set(None);
        self.connection.post(&Request::DeleteFile { path });
        self.path.set(None);
        self.text.set(String::new());
        self.saved.set(String::new());
        self.compiled.set(None);
        route::navigate(&Route::Models { path: None });
    }

    /// Shows the open file's diff against the bundled version, or hides it.
    fn toggle_diff(self) {
        if self.diff.with_untracked(Option::is_some) {
            self.diff.set(None);
        } else if let Some(path) = self.path.get_untracked() {
            self.connection.post(&Request::DiffFile { path });
        }
    }

    /// Replaces the project with a zip's, once confirmed.
    fn import_zip(self, file: web_sys::File) {
        let name = file.name();
        if !confirm(&format!("Replace the project with {name}?")) {
            return;
        }
        self.error.set(None);
        self.drafts.update(|drafts| drafts.clear());
        self.connection
            .post_with_file(&Request::ImportZip { name }, &file);
        self.after_import();
    }

    /// Replaces the project with a picked folder's files, once confirmed.
    fn import_folder(self, files: web_sys::FileList) {
        let mut paths = Vec::new();
        let array = js_sys::Array::new();
        for index in 0..files.length() {
            let Some(file) = files.get(index) else {
                continue;
            };
            let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
                .ok()
                .and_then(|path| path.as_string())
                .filter(|path| !path.is_empty())
                .unwrap_or_else(|| file.name());
            paths.push(relative);
            array.push(&file);
        }
        if paths.is_empty() {
            return;
        }
        let folder = paths[0].split('/').next().unwrap_or_default().to_owned();
        if !confirm(&format!(
            "Replace the project with the folder {folder} ({} files)?",
            paths.len()
        )) {
            return;
        }
        self.error.set(None);
        self.drafts.update(|drafts| drafts.clear());
        self.connection
            .post_with_files(&Request::ImportFolder { paths }, &array);
        self.after_import();
    }

    /// After an import the open file is read again (it may be gone).
    fn after_import(self) {
        self.connection.post(&Request::Completions);
        if let Some(path) = self.path.get_untracked() {
            self.reload(path);
        }
    }
}

/// A hidden file input, clicked by its button.
fn picker_click(input: NodeRef<Input>) {
    if let Some(input) = input.get_untracked() {
        input.click();
    }
}

/// The buttons over the editor.
#[component]
pub fn Toolbar(state: ModelsState, sql: SqlState, ready: RwSignal<bool>) -> impl IntoView {
    let connection = state.connection;
    let none_open = move || state.path.with(Option::is_none) || !ready.get();
    let building = move || state.building.with(Option::is_some);
    let zip_input = NodeRef::<Input>::new();
    let folder_input = NodeRef::<Input>::new();
    let on_zip = move |event: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            state.import_zip(file);
        }
        input.set_value("");
    };
    let on_folder = move |event: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        if let Some(files) = input.files() {
            state.import_folder(files);
        }
        input.set_value("");
    };
    // `webkitdirectory` is a property the view macro does not know.
    Effect::new(move |_| {
        if let Some(input) = folder_input.get() {
            let element: &web_sys::HtmlInputElement = input.unchecked_ref();
            element.set_webkitdirectory(true);
        }
    });
    view! {
        <div class="buttons models-toolbar">
            <button on:click=move |_| state.save() disabled=move || none_open() || !state.dirty()>
                "Save"
            </button>
            <button on:click=move |_| state.preview(sql) disabled=move || none_open() || sql.running.get()>
                "Preview"
            </button>
            <button class="primary" on:click=move |_| state.build() disabled=move || none_open() || building()>
                "Build"
            </button>
            <button on:click=move |_| connection.post(&Request::Cancel) disabled=move || !building()>
                "Cancel build"
            </button>
            <button on:click=move |_| state.toggle_diff() disabled=none_open>"Show diff"</button>
        </div>
        <div class="buttons models-toolbar">
            <button on:click=move |_| state.new_file() disabled=move || !ready.get()>"New file"</button>
            <button on:click=move |_| state.rename() disabled=none_open>"Rename"</button>
            <button on:click=move |_| state.delete() disabled=none_open>"Delete"</button>
            <button on:click=move |_| state.revert_file() disabled=none_open>"Revert file"</button>
            <button on:click=move |_| state.revert_project() disabled=move || !ready.get()>
                "Revert project"
            </button>
            <button on:click=move |_| connection.post(&Request::ExportProject) disabled=move || !ready.get()>
                "Export project"
            </button>
            <button on:click=move |_| picker_click(zip_input) disabled=move || !ready.get()>
                "Import project"
            </button>
            <button on:click=move |_| picker_click(folder_input) disabled=move || !ready.get()>
                "Import folder"
            </button>
            <input type="file" accept=".zip" hidden aria-label="Project zip to import" node_ref=zip_input on:change=on_zip tabindex="-1" />
            <input type="file" multiple hidden aria-label="Project folder to import" node_ref=folder_input on:change=on_folder tabindex="-1" />
        </div>
    }
}
