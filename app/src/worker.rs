//! The pipeline's Web Worker: it owns the OPFS store and the IndexedDB checkpoint
//! store, runs core's [`Lakehouse`] and answers the page's [`Request`]s with
//! [`Reply`]s. Runs are handled one at a time; a cancel is handled at once.

mod byod;
mod history;
mod project;
mod silver;
mod sql;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use futures::channel::mpsc;
use futures::StreamExt;
use medallion_core::browser::{IndexedDbCheckpointStore, OpfsStorage};
use medallion_core::checkpoint::CheckpointStore;
use medallion_core::explorer;
use medallion_core::lakehouse::{Flow, Lakehouse, RunProgress};
use medallion_core::sample;
use medallion_core::storage::Storage;
use medallion_core::warehouse;
use medallion_core::workspace::Workspace;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::protocol::{Reply, Request};
use crate::WAREHOUSE_NAME;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn send(reply: &Reply) {
    let _ = scope().post_message(&JsValue::from_str(&reply.to_json()));
}

/// A reply, and the bytes of a file that travel beside it.
struct Answer {
    reply: Reply,
    file: Option<bytes::Bytes>,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer { reply, file: None }
    }
}

/// Sends an answer: its JSON text, or `[text, Uint8Array]` with a file.
fn answer(answer: &Answer) {
    let text = JsValue::from_str(&answer.reply.to_json());
    let _ = match &answer.file {
        Some(bytes) => {
            let data = js_sys::Uint8Array::from(bytes.as_ref());
            scope().post_message(&js_sys::Array::of2(&text, &data))
        }
        None => scope().post_message(&text),
    };
}

/// Tells the page what panicked before the worker dies, so the page can say it.
fn report_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        send(&Reply::Error {
            message: format!("the pipeline worker failed: {info}"),
        });
        previous(info);
    }));
}

/// The page's Cancel: set as the message arrives, asked by a run between steps and
/// awaited beside a query.
#[derive(Default)]
struct Cancel {
    requested: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Cancel {
    /// Whether a cancel came since the last [`Cancel::reset`].
    fn get(&self) -> bool {
        self.requested.get()
    }

    /// A cancel came: wakes whoever awaits [`Cancel::requested`].
    fn set(&self) {
        self.requested.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Forgets an earlier cancel, as a new run or query starts.
    fn reset(&self) {
        self.requested.set(false);
    }

    /// Resolves when a cancel comes.
    async fn requested(&self) {
        futures::future::poll_fn(|context| {
            if self.requested.get() {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(context.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A run's observer: tells the page each step and stops at the page's Cancel.
fn observe(cancel: &Cancel) -> impl FnMut(&RunProgress) -> Flow + '_ {
    move |progress| {
        send(&Reply::Progress {
            progress: progress.clone(),
        });
        if cancel.get() {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }
}

/// The bytes of a `File` the page sent, named `name` in errors.
async fn file_bytes(file: &web_sys::File, name: &str) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|err| format!("{name}: cannot be read: {err:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The stores and the lakehouse over them.
struct State {
    storage: Arc<dyn Storage>,
    checkpoint: Arc<dyn CheckpointStore>,
    lakehouse: Lakehouse,
    /// The last SQL query's result.
    query: sql::LastResult,
}

async fn open() -> Result<State, String> {
    let storage: Arc<dyn Storage> = Arc::new(
        OpfsStorage::open(WAREHOUSE_NAME)
            .await
            .map_err(|err| err.to_string())?,
    );
    // One thread: sharing the IndexedDB handle through an Arc is sound.
    #[allow(clippy::arc_with_non_send_sync)]
    let checkpoint: Arc<dyn CheckpointStore> = Arc::new(
        IndexedDbCheckpointStore::open(WAREHOUSE_NAME)
            .await
            .map_err(|err| err.to_string())?,
    );
    let lakehouse = Lakehouse::new(
        storage.clone(),
        checkpoint.clone(),
        Workspace::in_store(storage.clone(), Workspace::bundled_files()),
    );
    // The user confirmed a reset that the tab's closing interrupted: finish it.
    if lakehouse
        .reset_pending()
        .await
        .map_err(|err| err.to_string())?
    {
        lakehouse.reset().await.map_err(|err| err.to_string())?;
    }
    Ok(State {
        storage,
        checkpoint,
        lakehouse,
        query: sql::LastResult::default(),
    })
}

async fn handle(
    state: &State,
    request: Request,
    file: Option<JsValue>,
    cancel: &Cancel,
) -> Result<Answer, String> {
    let reply = match request {
        Request::LandFile { name, entity } => {
            let file: web_sys::File = file
                .and_then(|file| file.dyn_into().ok())
                .ok_or_else(|| format!("{name}: the file did not arrive"))?;
            let bytes = file_bytes(&file, &name).await?;
            let outcome = medallion_core::landing::land_file(
                state.storage.as_ref(),
                &format!("dropped/{name}"),
                entity.as_deref(),
                bytes::Bytes::from(bytes),
            )
            .await
            .map_err(|err| err.to_string())?;
            Ok(Reply::Landed {
                files: vec![outcome.path().to_owned()],
            })
        }
        Request::Landing => {
            let bronze = medallion_core::bronze::Bronze::new(
                state.storage.clone(),
                state.checkpoint.clone(),
            );
            let files = bronze.waiting().await.map_err(|err| err.to_string())?;
            Ok(Reply::Landing {
                files: files.into_iter().map(|f| (f.path, f.size)).collect(),
            })
        }
        Request::LoadSample { batch } => Ok(Reply::Landed {
            files: sample::land_batch(state.storage.as_ref(), batch)
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Generate { trips } => Ok(Reply::Landed {
            files: sample::land_generated(state.storage.as_ref(), trips)
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Run { stages } => {
            cancel.reset();
            state.query.forget_console();
            let report = state
                .lakehouse
                .run(&stages, &mut observe(cancel))
                .await
                .map_err(|err| err.to_string())?;
            let summary = report.summary();
            Ok(Reply::RunDone { summary })
        }
        Request::Board => Ok(Reply::Board {
            cards: state
                .lakehouse
                .board()
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Reset => {
            state.query.forget_console();
            state
                .lakehouse
                .reset()
                .await
                .map_err(|err| err.to_string())?;
            Ok(Reply::Board { cards: Vec::new() })
        }
        // A cancel is acted on as it arrives (see `start`) and is never queued.
        Request::Cancel => Ok(Reply::Error {
            message: "a cancel was queued instead of acted on".to_owned(),
        }),
        Request::Environment => Ok(Reply::Environment {
            status: crate::status::probe().await,
        }),
        Request::Explore { table, version } => Ok(Reply::Table {
            view: explorer::view(state.storage.clone(), &table, version)
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Rows {
            table,
            version,
            offset,
            limit,
        } => Ok(Reply::Rows {
            window: explorer::rows(state.storage.clone(), &table, Some(version), offset, limit)
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Commit { table, version } => Ok(Reply::Commit {
            json: explorer::commit_json(state.storage.clone(), &table, version)
                .await
                .map_err(|err| err.to_string())?,
            table,
            version,
        }),
        Request::Checkpoints { stream } => {
            let checkpoint = state.checkpoint.as_ref();
            let streams = explorer::streams(checkpoint)
                .await
                .map_err(|err| err.to_string())?;
            let entries = match &stream {
                Some(stream) => explorer::checkpoint_entries(checkpoint, &format!("{stream}/"))
                    .await
                    .map_err(|err| err.to_string())?,
                None => Vec::new(),
            };
            Ok(Reply::Checkpoints {
                streams,
                stream,
                entries,
            })
        }
        Request::Export {
            table,
            version,
            format,
        } => {
            let bytes = warehouse::export(state.storage.clone(), &table, Some(version), format)
                .await
                .map_err(|err| err.to_string())?;
            let file_name = format!(
                "{}_v{version}.{}",
                table.replace('/', "_"),
                format.extension()
            );
            return Ok(Answer {
                reply: Reply::Export { file_name },
                file: Some(bytes),
            });
        }
        Request::NodeDetails { id } => Ok(Reply::NodeDetails {
            details: Box::new(
                state
                    .lakehouse
                    .node_details(&id)
                    .await
                    .map_err(|err| err.to_string())?,
            ),
        }),
        Request::ColumnLineage { node, column } => Ok(Reply::ColumnLineage {
            lineage: state
                .lakehouse
                .column_lineage(&node, &column)
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Dashboard => Ok(Reply::Dashboard {
            dashboard: Box::new(
                state
                    .lakehouse
                    .dashboard()
                    .await
                    .map_err(|err| err.to_string())?,
            ),
        }),
        Request::Lineage { select, focus, all } => Ok(Reply::Lineage {
            view: Box::new(
                state
                    .lakehouse
                    .lineage_view(&select, focus.as_deref(), all)
                    .await
                    .map_err(|err| err.to_string())?,
            ),
        }),
        Request::Query { sql } => Ok(state.query.run(&state.lakehouse, &sql, cancel).await),
        Request::QueryRows { offset, limit } => state.query.rows(offset, limit),
        Request::QueryExport { format } => return state.query.export(format),
        Request::SqlTables => state.query.tables(&state.lakehouse).await,
        request @ (Request::ProjectTree
        | Request::ReadFile { .. }
        | Request::SaveFile { .. }
        | Request::CreateFile { .. }
        | Request::DeleteFile { .. }
        | Request::RenameFile { .. }
        | Request::RevertFile { .. }
        | Request::RevertProject
        | Request::DiffFile { .. }
        | Request::Compile { .. }
        | Request::Completions
        | Request::Preview { .. }
        | Request::Build { .. }
        | Request::ExportProject
        | Request::ImportZip { .. }
        | Request::ImportFolder { .. }) => {
            return project::handle(state, request, file, cancel).await
        }
        request @ (Request::Scd2Relations
        | Request::Scd2Search { .. }
        | Request::Scd2History { .. }) => history::handle(state, request).await,
        request @ (Request::SilverView { .. }
        | Request::SetStepEnabled { .. }
        | Request::RestorePipeline { .. }
        | Request::RerunSilver { .. }) => silver::handle(state, request, cancel).await,
        request @ (Request::ProposePipeline { .. }
        | Request::PreviewPipeline { .. }
        | Request::SavePipeline { .. }
        | Request::StartModel { .. }) => byod::handle(state, request, cancel).await,
    };
    reply.map(Answer::from)
}

/// Starts answering the page's messages.
pub fn start() {
    report_panics();
    let cancel = Rc::new(Cancel::default());
    let (queue, mut requests) = mpsc::unbounded::<(Request, Option<JsValue>)>();
    let on_message = {
        let cancel = cancel.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            // A request is its JSON text, or [text, File] when a file travels with it
            // ([text, Array of File] for a folder).
            let data = event.data();
            let (text, file) = if js_sys::Array::is_array(&data) {
                let parts = js_sys::Array::from(&data);
                (
                    parts.get(0).as_string().unwrap_or_default(),
                    Some(parts.get(1)),
                )
            } else {
                (data.as_string().unwrap_or_default(), None)
            };
            match serde_json::from_str::<Request>(&text) {
                Ok(Request::Cancel) => cancel.set(),
                Ok(request) => {
                    let _ = queue.unbounded_send((request, file));
                }
                Err(err) => send(&Reply::Error {
                    message: format!("unreadable request {text:?}: {err}"),
                }),
            }
        })
    };
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let state = match open().await {
            Ok(state) => state,
            Err(message) => {
                send(&Reply::Error {
                    message: format!("the browser's storage cannot be opened: {message}"),
                });
                send(&Reply::Environment {
                    status: crate::status::probe().await,
                });
                return;
            }
        };
        send(&Reply::Ready);
        while let Some((request, file)) = requests.next().await {
            let reply = handle(&state, request, file, &cancel)
                .await
                .unwrap_or_else(|message| Reply::Error { message }.into());
            answer(&reply);
        }
    });
}
