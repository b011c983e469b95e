//! The page's end of the pipeline worker: starting it, sending requests, routing its
//! replies into the page's state, and starting it again if it dies.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::protocol::{Reply, Request};

/// The worker's script, next to the page (trunk's loader shim).
const WORKER_SCRIPT: &str = "./medallion-worker_loader.js";

/// What the connection tells the page.
pub enum WorkerEvent {
    /// The worker replied; a file's bytes may travel beside the reply.
    Reply(Reply, Option<Vec<u8>>),
    /// The worker died (a panic, an uncaught error) and a new one is starting: why.
    Restarted(String),
}

/// The running worker, shared by every control of the page.
#[derive(Clone, Copy)]
pub struct Connection {
    worker: StoredValue<Option<Worker>, LocalStorage>,
}

impl Connection {
    /// A connection with no worker yet (see [`Connection::start`]).
    pub fn new() -> Self {
        Self {
            worker: StoredValue::new_local(None),
        }
    }

    /// Starts the worker and hands every reply to `receive`. If the worker dies after
    /// it has spoken, the page is told ([`WorkerEvent::Restarted`]) and a new worker starts:
    /// the stores keep everything committed. One that dies before (its script missing,
    /// say) is reported and not restarted, so a broken worker cannot restart forever.
    pub fn start(self, receive: impl Fn(WorkerEvent) + Copy + 'static) {
        let worker = match Worker::new(WORKER_SCRIPT) {
            Ok(worker) => worker,
            Err(err) => {
                let message = format!("the pipeline worker cannot start: {err:?}");
                receive(WorkerEvent::Reply(Reply::Error { message }, None));
                return;
            }
        };
        let spoke = Rc::new(Cell::new(false));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let spoke = spoke.clone();
            move |event: MessageEvent| {
                spoke.set(true);
                // A reply is its JSON text, or [text, Uint8Array] when a file travels with it.
                let data = event.data();
                let (text, file) = if js_sys::Array::is_array(&data) {
                    let parts = js_sys::Array::from(&data);
                    let bytes = parts
                        .get(1)
                        .dyn_into::<js_sys::Uint8Array>()
                        .ok()
                        .map(|array| array.to_vec());
                    (parts.get(0).as_string().unwrap_or_default(), bytes)
                } else {
                    (data.as_string().unwrap_or_default(), None)
                };
                let reply =
                    serde_json::from_str::<Reply>(&text).unwrap_or_else(|err| Reply::Error {
                        message: format!("unreadable reply from the worker ({err}): {text}"),
                    });
                receive(WorkerEvent::Reply(reply, file));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            // An uncaught error comes as an ErrorEvent; a script that fails to load as
            // a plain Event.
            let reason = event
                .dyn_ref::<ErrorEvent>()
                .map(ErrorEvent::message)
                .filter(|message| !message.is_empty())
                .unwrap_or_else(|| "its script did not load".to_owned());
            self.worker.update_value(|worker| {
                if let Some(worker) = worker.take() {
                    worker.terminate();
                }
            });
            if spoke.get() {
                receive(WorkerEvent::Restarted(reason));
                self.start(receive);
            } else {
                let message = format!("the pipeline worker cannot start: {reason}");
                receive(WorkerEvent::Reply(Reply::Error { message }, None));
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        self.worker.set_value(Some(worker));
    }

    /// Sends `request`.
    pub fn post(self, request: &Request) {
        self.worker.with_value(|worker| {
            if let Some(worker) = worker {
                let _ = worker.post_message(&JsValue::from_str(&request.to_json()));
            }
        });
    }

    /// Sends `request` with a file beside it.
    pub fn post_with_file(self, request: &Request, file: &web_sys::File) {
        self.worker.with_value(|worker| {
            if let Some(worker) = worker {
                let message = js_sys::Array::of2(&JsValue::from_str(&request.to_json()), file);
                let _ = worker.post_message(&message);
            }
        });
    }

    /// Sends `request` with files beside it (a JS `Array` of `File`).
    pub fn post_with_files(self, request: &Request, files: &js_sys::Array) {
        self.worker.with_value(|worker| {
            if let Some(worker) = worker {
                let message = js_sys::Array::of2(&JsValue::from_str(&request.to_json()), files);
                let _ = worker.post_message(&message);
            }
        });
    }
}
