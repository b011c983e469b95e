//! The project's files, grouped by kind, each with its status against the bundled
//! project and a mark when it has unsaved edits; a file's link opens it.

use leptos::prelude::*;
use medallion_core::workspace::{FileKind, FileStatus, ProjectFile};

use super::ModelsState;
use crate::route::Route;

/// The groups of the tree, in order, with their headings.
const GROUPS: [(FileKind, &str); 11] = [
    (FileKind::Model, "Models"),
    (FileKind::Snapshot, "Snapshots"),
    (FileKind::Macro, "Macros"),
    (FileKind::Test, "Tests"),
    (FileKind::Seed, "Seeds"),
    (FileKind::Analysis, "Analyses"),
    (FileKind::Properties, "YAML properties"),
    (FileKind::Docs, "Docs"),
    (FileKind::SilverPipeline, "Silver pipelines"),
    (FileKind::ProjectConfig, "Project"),
    (FileKind::Other, "Other files"),
];

/// How a status reads in the tree; nothing for an unchanged file.
pub fn status_label(status: FileStatus) -> Option<&'static str> {
    match status {
        FileStatus::Unchanged => None,
        FileStatus::Modified => Some("modified"),
        FileStatus::Added => Some("added"),
        FileStatus::Deleted => Some("deleted"),
    }
}

/// One file: a link that opens it (a deleted bundled file is listed, not linked).
fn entry(state: ModelsState, file: ProjectFile) -> impl IntoView {
    let path = file.path.clone();
    let href = Route::Models {
        path: Some(path.clone()),
    }
    .to_hash();
    let current = {
        let path = path.clone();
        move || {
            state
                .path
                .with(|open| open.as_deref() == Some(path.as_str()))
        }
    };
    let unsaved = {
        let path = path.clone();
        move || state.has_unsaved(&path)
    };
    let status = status_label(file.status).map(|label| {
        view! { <span class=format!("file-status status-{label}")>{format!(" {label}")}</span> }
    });
    let name = view! {
        {path.clone()}
        {status}
        {move || unsaved().then(|| view! { <span class="file-unsaved">" unsaved"</span> })}
    };
    if file.status == FileStatus::Deleted {
        view! { <li class="file deleted">{name}</li> }.into_any()
    } else {
        view! {
            <li class="file">
                <a href=href aria-current=move || current().then_some("page")>{name}</a>
            </li>
        }
        .into_any()
    }
}

/// The file tree, `Project files`.
#[component]
pub fn FileTree(state: ModelsState) -> impl IntoView {
    view! {
        <nav aria-label="Project files" class="file-tree panel">
            {move || {
                let files = state.files.get();
                GROUPS
                    .into_iter()
                    .filter_map(|(kind, heading)| {
                        let group: Vec<ProjectFile> =
                            files.iter().filter(|file| file.kind == kind).cloned().collect();
                        (!group.is_empty()).then(|| {
                            view! {
                                <h3>{heading}</h3>
                                <ul>
                                    {group.into_iter().map(|file| entry(state, file)).collect_view()}
                                </ul>
                            }
                        })
                    })
                    .collect_view()
            }}
        </nav>
    }
}
