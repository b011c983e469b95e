//! The Models view: the project's files (in the worker's workspace, OPFS), a code
//! editor compiling as you type, the compiled SQL and its problems beside it, Preview
//! into the shared grid, Build with its run results, and the project's files managed:
//! new, rename, delete, revert, diff, export and import.

mod compiled;
mod editor;
mod results;
mod toolbar;
mod tree;

use std::collections::HashMap;

use leptos::prelude::*;
use medallion_core::editor::{CompiledFile, Completions, StepResult};
use medallion_core::lakehouse::{RunProgress, RunSummary};
use medallion_core::workspace::{FileDiff, ProjectFile};

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{self, Route};
use crate::sql::SqlState;

/// After this long without an answer, a compile is taken as lost and the next edit sends
/// another, in ms.
const COMPILE_LOST_MS: f64 = 3_000.0;
/// Rows a preview shows at most.
const PREVIEW_ROWS: usize = 500;

/// What the Models view shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct ModelsState {
    connection: Connection,
    /// The project's files, with their status.
    pub files: RwSignal<Vec<ProjectFile>>,
    /// The open file.
    pub path: RwSignal<Option<String>>,
    /// The editor's text.
    pub text: RwSignal<String>,
    /// The open file's text as stored.
    saved: RwSignal<String>,
    /// Edits not saved yet, of files other than the open one (kept while the page lives).
    drafts: RwSignal<HashMap<String, String>>,
    /// The last compile of the open file.
    compiled: RwSignal<Option<CompiledFile>>,
    /// What autocompletion offers.
    completions: RwSignal<Completions>,
    /// A build is running: its last step.
    building: RwSignal<Option<String>>,
    /// The last build's summary and steps.
    results: RwSignal<Option<(RunSummary, Vec<StepResult>)>>,
    /// The open file's diff, when asked for.
    diff: RwSignal<Option<FileDiff>>,
    /// Why the last action failed.
    pub error: RwSignal<Option<String>>,
    /// The mounted CodeMirror editor, if any.
    editor: StoredValue<Option<editor::Mounted>, LocalStorage>,
    /// When the compile on its way to the worker was sent (`Date.now()`), if one is.
    compiling: StoredValue<Option<f64>>,
    /// The text changed while a compile was on its way: compile again when it answers.
    recompile: StoredValue<bool>,
}

impl ModelsState {
    /// Nothing open yet.
    pub fn new(connection: Connection) -> Self {
        Self {
            connection,
            files: RwSignal::new(Vec::new()),
            path: RwSignal::new(None),
            text: RwSignal::new(String::new()),
            saved: RwSignal::new(String::new()),
            drafts: RwSignal::new(HashMap::new()),
            compiled: RwSignal::new(None),
            completions: RwSignal::new(Completions::default()),
            building: RwSignal::new(None),
            results: RwSignal::new(None),
            diff: RwSignal::new(None),
            error: RwSignal::new(None),
            editor: StoredValue::new_local(None),
            compiling: StoredValue::new(None),
            recompile: StoredValue::new(false),
        }
    }

    /// Whether `path` has edits not saved.
    pub fn has_unsaved(self, path: &str) -> bool {
        if self.path.with(|open| open.as_deref() == Some(path)) {
            self.dirty()
        } else {
            self.drafts.with(|drafts| drafts.contains_key(path))
        }
    }

    /// Whether a build is running.
    pub fn building(self) -> bool {
        self.building.with_untracked(Option::is_some)
    }

    /// Whether the open file has edits not saved.
    pub fn dirty(self) -> bool {
        self.path.with(Option::is_some) && self.text.with(|text| self.saved.with(|s| s != text))
    }

    /// The view opened, or the route names another file: asks for the tree, the
    /// completions and the file.
    pub fn follow(self, route: RwSignal<Route>) {
        let opened = Memo::new(move |_| matches!(route.get(), Route::Models { .. }));
        Effect::new(move |_| {
            if opened.get() {
                self.connection.post(&Request::ProjectTree);
                self.connection.post(&Request::Completions);
            }
        });
        let path = Memo::new(move |_| match route.get() {
            Route::Models { path } => path,
            _ => None,
        });
        Effect::new(move |_| {
            if let Some(path) = path.get() {
                if self.path.get_untracked().as_deref() != Some(path.as_str()) {
                    self.connection.post(&Request::ReadFile { path });
                }
            }
        });
    }

    /// A file's stored text arrived: it opens (with its draft, if it has one).
    pub fn opened(self, path: String, text: String) {
        self.keep_draft();
        let draft = self
            .drafts
            .try_update(|drafts| drafts.remove(&path))
            .flatten();
        let shown = draft.unwrap_or_else(|| text.clone());
        let unchanged = self
            .path
            .with_untracked(|open| open.as_deref() == Some(path.as_str()))
            && self.text.with_untracked(|current| *current == shown);
        self.saved.set(text);
        self.path.set(Some(path.clone()));
        if unchanged {
            return;
        }
        self.text.set(shown.clone());
        self.compiled.set(None);
        self.diff.set(None);
        self.editor.with_value(|editor| {
            if let Some(editor) = editor {
                editor.open(&shown, &path);
            }
        });
        self.compile_now();
    }

    /// Keeps the open file's unsaved edits as a draft, before another file opens.
    fn keep_draft(self) {
        if let Some(path) = self.path.get_untracked() {
            if self.dirty() {
                let text = self.text.get_untracked();
                self.drafts.update(|drafts| {
                    drafts.insert(path, text);
                });
            }
        }
    }

    /// The editor's text changed: compiled at once, unless a compile is on its way, in
    /// which case the edits made meanwhile are compiled together when it answers. Fast
    /// typing so sends one compile at a time, with no delay of a timer.
    pub fn edited(self, text: String) {
        self.text.set(text);
        let sent = self.compiling.get_value();
        if sent.is_some_and(|sent| js_sys::Date::now() - sent < COMPILE_LOST_MS) {
            self.recompile.set_value(true);
        } else {
            self.compile_now();
        }
    }

    /// Compiles the editor's text.
    fn compile_now(self) {
        self.recompile.set_value(false);
        if let Some(path) = self.path.get_untracked() {
            let text = self.text.get_untracked();
            self.compiling.set_value(Some(js_sys::Date::now()));
            self.connection.post(&Request::Compile { path, text });
        }
    }

    /// The compile on its way answered (or failed): the edits made meanwhile go next.
    fn compile_answered(self) {
        self.compiling.set_value(None);
        if self.recompile.get_value() {
            self.compile_now();
        }
    }

    /// A compile came back: shown, and its diagnostics marked, if still the open file's.
    pub fn compiled(self, compiled: CompiledFile) {
        self.compile_answered();
        if self
            .path
            .with_untracked(|path| path.as_deref() != Some(compiled.path.as_str()))
        {
            return;
        }
        self.editor.with_value(|editor| {
            if let Some(editor) = editor {
                editor.mark(&compiled.diagnostics);
            }
        });
        self.compiled.set(Some(compiled));
    }

    /// The completions arrived.
    pub fn complete_from(self, completions: Completions) {
        self.editor.with_value(|editor| {
            if let Some(editor) = editor {
                editor.complete_from(&completions);
            }
        });
        self.completions.set(completions);
    }

    /// The worker is (again) ready, or a run ended, while the view shows `path`: the
    /// tree, the completions and the file (unless it has edits) are asked for again
    /// (what was asked before the worker was ready is lost).
    pub fn refresh(self, path: Option<String>) {
        self.connection.post(&Request::ProjectTree);
        self.connection.post(&Request::Completions);
        let Some(path) = path else {
            return;
        };
        if self
            .path
            .with_untracked(|open| open.as_deref() != Some(path.as_str()))
        {
            self.connection.post(&Request::ReadFile { path });
        } else if !self.dirty() {
            self.reload(path);
        }
    }

    /// The open file's diff arrived.
    pub fn show_diff(self, diff: FileDiff) {
        if self
            .path
            .with_untracked(|path| path.as_deref() == Some(diff.path.as_str()))
        {
            self.diff.set(Some(diff));
        }
    }

    /// The tree arrived (after any change to the project).
    pub fn tree(self, files: Vec<ProjectFile>) {
        self.files.set(files);
    }

    /// Saves the open file.
    pub fn save(self) {
        let Some(path) = self.path.get_untracked() else {
            return;
        };
        let text = self.text.get_untracked();
        self.error.set(None);
        self.connection.post(&Request::SaveFile {
            path,
            text: text.clone(),
        });
        self.saved.set(text);
    }

    /// Saves the open file if it has edits, then builds it.
    pub fn build(self) {
        let Some(path) = self.path.get_untracked() else {
            return;
        };
        if self.dirty() {
            self.save();
        }
        self.error.set(None);
        self.results.set(None);
        self.building.set(Some("Building…".to_owned()));
        self.connection.post(&Request::Build { path });
    }

    /// A step of the build finished.
    pub fn progress(self, progress: &RunProgress) {
        if self.building.with_untracked(Option::is_some) {
            self.building.set(Some(progress.to_string()));
        }
    }

    /// The build ended: its results, and completions with the new columns.
    pub fn built(self, summary: RunSummary, results: Vec<StepResult>) {
        self.building.set(None);
        self.results.set(Some((summary, results)));
        self.connection.post(&Request::Completions);
        self.connection.post(&Request::ProjectTree);
    }

    /// Runs the editor's text as a preview into the SQL result grid.
    pub fn preview(self, sql: SqlState) {
        let Some(path) = self.path.get_untracked() else {
            return;
        };
        self.error.set(None);
        sql.begin();
        self.connection.post(&Request::Preview {
            path,
            text: self.text.get_untracked(),
            limit: PREVIEW_ROWS,
        });
    }

    /// Something failed while the view was open.
    pub fn fail(self, message: String) {
        self.building.set(None);
        // The failure may be the compile's: the edits made meanwhile go next.
        self.compile_answered();
        self.error.set(Some(message));
    }

    /// The open file is reverted to the bundled version (its draft dropped).
    fn revert_file(self) {
        let Some(path) = self.path.get_untracked() else {
            return;
        };
        if !confirm(&format!("Revert {path} to the bundled version?")) {
            return;
        }
        self.error.set(None);
        self.connection
            .post(&Request::RevertFile { path: path.clone() });
        self.reload(path);
    }

    /// Every file is reverted to the bundled project.
    fn revert_project(self) {
        if !confirm("Revert the whole project to the bundled version? Every edit, new file and deletion is lost.") {
            return;
        }
        self.error.set(None);
        self.drafts.set(HashMap::new());
        self.connection.post(&Request::RevertProject);
        if let Some(path) = self.path.get_untracked() {
            self.reload(path);
        }
    }

    /// Reads `path` again, as stored (after the worker changed it): its edits are dropped.
    fn reload(self, path: String) {
        self.saved.set(self.text.get_untracked());
        self.drafts.update(|drafts| {
            drafts.remove(&path);
        });
        self.connection.post(&Request::ReadFile { path });
    }

    /// The open file is now at `path`.
    fn moved(self, path: String) {
        self.path.set(Some(path.clone()));
        route::navigate(&Route::Models { path: Some(path) });
    }

    /// The CodeMirror editor mounted: it shows the open file and what completes.
    fn attach(self, mounted: editor::Mounted) {
        mounted.complete_from(&self.completions.get_untracked());
        if let Some(compiled) = self.compiled.get_untracked() {
            mounted.mark(&compiled.diagnostics);
        }
        self.editor.set_value(Some(mounted));
    }

    /// The editor left the page.
    fn detach(self) {
        self.editor.set_value(None);
    }
}

/// Asks the user; no window is a no.
fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|window| window.confirm_with_message(question).ok())
        .unwrap_or(false)
}

/// Asks the user for a text; `None` when cancelled or empty.
fn prompt(question: &str, default: &str) -> Option<String> {
    web_sys::window()
        .and_then(|window| {
            window
                .prompt_with_message_and_default(question, default)
                .ok()
        })
        .flatten()
        .map(|answer| answer.trim().to_owned())
        .filter(|answer| !answer.is_empty())
}

/// The open file's heading: its path, its status and whether it has unsaved edits.
#[component]
fn FileTab(state: ModelsState) -> impl IntoView {
    let status = move || {
        let path = state.path.get()?;
        state.files.with(|files| {
            files
                .iter()
                .find(|file| file.path == path)
                .and_then(|file| tree::status_label(file.status))
        })
    };
    view! {
        <div class="file-tab" data-testid="file-tab">
            {move || match state.path.get() {
                Some(path) => view! {
                    <span class="file-tab-path">{path}</span>
                    {move || status().map(|label| view! { <span class="file-status">{format!(" ({label})")}</span> })}
                    {move || state.dirty().then(|| view! { <span class="file-unsaved">" ● unsaved"</span> })}
                }
                .into_any(),
                None => view! { <span>"Open a file from the project."</span> }.into_any(),
            }}
        </div>
    }
}

/// The whole Models view: tree | editor | compiled SQL, then problems, preview and the
/// run results.
#[component]
pub fn Models(state: ModelsState, sql: SqlState, ready: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="models-view">
            <tree::FileTree state />
            <section class="panel models-editor" aria-labelledby="models-heading">
                <WhatIsThis panel="Models" section="the-models-editor" />
                <h2 id="models-heading">"Models"</h2>
                <toolbar::Toolbar state sql ready />
                {move || state.error.get().map(|message| view! { <p role="alert" class="error">{message}</p> })}
                <FileTab state />
                <Show
                    when=move || state.path.with(Option::is_some)
                    fallback=|| view! { <p class="muted">"Pick a file in the tree, or make a New file."</p> }
                >
                    <editor::CodeArea state />
                </Show>
                <compiled::Problems state />
            </section>
            <compiled::Compiled state />
            <div class="models-below">
                <results::Diff state />
                <results::Preview state sql />
                <results::RunResults state />
            </div>
        </div>
    }
}
