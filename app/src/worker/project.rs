//! The worker's side of the Models view: the project's files in the workspace (read,
//! save, create, delete, rename, revert, diff, import and export), compile as typed,
//! autocomplete, preview and build. Every change to the project forgets the SQL
//! console, whose views were compiled from the files before it.

use medallion_core::workspace::Workspace;
use wasm_bindgen::JsCast;

use super::{file_bytes, observe, sql, Answer, Cancel, State};
use crate::protocol::{Reply, Request};

/// The project's tree, as the reply to a change.
async fn tree(workspace: &Workspace) -> Result<Reply, String> {
    Ok(Reply::ProjectTree {
        files: workspace.tree().await.map_err(|err| err.to_string())?,
    })
}

/// The `File`s of a picked folder, beside [`Request::ImportFolder`] in a JS `Array`,
/// paired with their paths in order.
async fn folder_files(
    paths: Vec<String>,
    files: Option<wasm_bindgen::JsValue>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let files = files
        .filter(js_sys::Array::is_array)
        .map(|files| js_sys::Array::from(&files))
        .ok_or("the folder's files did not arrive")?;
    if files.length() as usize != paths.len() {
        return Err(format!(
            "{} paths came with {} files",
            paths.len(),
            files.length()
        ));
    }
    let mut read = Vec::with_capacity(paths.len());
    for (path, file) in paths.into_iter().zip(files.iter()) {
        let file: web_sys::File = file.dyn_into().map_err(|_| format!("{path}: not a file"))?;
        let bytes = file_bytes(&file, &path).await?;
        read.push((path, bytes));
    }
    Ok(read)
}

/// Answers a request of the Models view.
pub(super) async fn handle(
    state: &State,
    request: Request,
    file: Option<wasm_bindgen::JsValue>,
    cancel: &Cancel,
) -> Result<Answer, String> {
    let lakehouse = &state.lakehouse;
    let workspace = lakehouse.workspace();
    let failed = |err: &dyn std::fmt::Display| err.to_string();
    // What changes the project: the SQL console's views may change with it.
    let changes = matches!(
        request,
        Request::SaveFile { .. }
            | Request::CreateFile { .. }
            | Request::DeleteFile { .. }
            | Request::RenameFile { .. }
            | Request::RevertFile { .. }
            | Request::RevertProject
            | Request::ImportZip { .. }
            | Request::ImportFolder { .. }
            | Request::Build { .. }
    );
    if changes {
        state.query.forget_console();
    }
    let reply = match request {
        Request::ProjectTree => tree(workspace).await,
        Request::ReadFile { path } => {
            let text = workspace.read(&path).await.map_err(|err| failed(&err))?;
            let files = workspace.tree().await.map_err(|err| failed(&err))?;
            let status = files
                .into_iter()
                .find(|file| file.path == path)
                .map(|file| file.status)
                .ok_or_else(|| format!("{path}: not in the project"))?;
            Ok(Reply::File { path, text, status })
        }
        Request::SaveFile { path, text } => {
            workspace
                .write(&path, &text)
                .await
                .map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::CreateFile { path, text } => {
            workspace
                .create(&path, &text)
                .await
                .map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::DeleteFile { path } => {
            workspace.delete(&path).await.map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::RenameFile { from, to } => {
            workspace
                .rename(&from, &to)
                .await
                .map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::RevertFile { path } => {
            workspace.revert(&path).await.map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::RevertProject => {
            workspace.revert_all().await.map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        Request::DiffFile { path } => Ok(Reply::Diff {
            diff: workspace.diff(&path).await.map_err(|err| failed(&err))?,
        }),
        Request::Compile { path, text } => Ok(Reply::Compiled {
            compiled: lakehouse
                .compile_file(&path, &text)
                .await
                .map_err(|err| failed(&err))?,
        }),
        Request::Completions => Ok(Reply::Completions {
            completions: lakehouse.completions().await.map_err(|err| failed(&err))?,
        }),
        Request::Preview { path, text, limit } => {
            match lakehouse.preview_sql(&path, &text, limit).await {
                Ok(sql) => Ok(state.query.run(lakehouse, &sql, cancel).await),
                Err(err) => Ok(sql::failure(err.to_string())),
            }
        }
        Request::Build { path } => {
            cancel.reset();
            let (report, results) = lakehouse
                .build_file(&path, &mut observe(cancel))
                .await
                .map_err(|err| failed(&err))?;
            Ok(Reply::BuildDone {
                summary: report.summary(),
                results,
            })
        }
        Request::ExportProject => {
            let bytes = workspace.export_zip().await.map_err(|err| failed(&err))?;
            return Ok(Answer {
                reply: Reply::Export {
                    file_name: "project.zip".to_owned(),
                },
                file: Some(bytes::Bytes::from(bytes)),
            });
        }
        Request::ImportZip { name } => {
            let file: web_sys::File = file
                .and_then(|file| file.dyn_into().ok())
                .ok_or_else(|| format!("{name}: the file did not arrive"))?;
            let bytes = file_bytes(&file, &name).await?;
            workspace
                .import_zip(&bytes)
                .await
                .map_err(|err| format!("{name}: {err}"))?;
            tree(workspace).await
        }
        Request::ImportFolder { paths } => {
            let files = folder_files(paths, file).await?;
            workspace
                .import_files(files)
                .await
                .map_err(|err| failed(&err))?;
            tree(workspace).await
        }
        other => Err(format!("not a request of the Models view: {other:?}")),
    };
    reply.map(Answer::from)
}
