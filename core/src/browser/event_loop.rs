//! Long SQL queries that still let the event loop run.
//!
//! A browser runs a DataFusion plan inside one future on one thread, and an operator
//! whose input is always ready (an aggregate over a cross join) never returns
//! `Pending`: until the query ends, no message reaches the worker, so a Cancel could
//! not arrive. [`YieldToEventLoop`] puts an [`EventLoopYieldExec`] above every operator
//! of a plan; after [`YIELD_AFTER_MS`] of work it waits for the event loop's next task
//! (a message through a `MessageChannel` of its own, queued behind the messages
//! already waiting), during which those messages are handled. An immediate wake would
//! not do: it only queues a microtask, which runs before any message.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::Stream;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::send_bridge::AssertSend;

/// How long a plan may compute before it lets the event loop run.
pub const YIELD_AFTER_MS: f64 = 50.0;

thread_local! {
    /// When the event loop last ran during a query, in ms since the epoch.
    static LAST_YIELD_MS: Cell<f64> = Cell::new(js_sys::Date::now());
}

/// Whether work has gone on for [`YIELD_AFTER_MS`] since the event loop last ran.
fn yield_due() -> bool {
    js_sys::Date::now() - LAST_YIELD_MS.with(Cell::get) >= YIELD_AFTER_MS
}

/// Resolves on the event loop's next task: after every message already waiting.
///
/// The wake-up is a message on a `MessageChannel` of its own, queued behind the
/// messages already posted to the worker, which are handled first. (A zero
/// `setTimeout` is not enough: Chromium runs such timers ahead of waiting messages, so
/// a worker yielding that way saw its page's Cancel only when the query ended.)
pub fn next_task() -> JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if post_to_self(&resolve).is_none() {
            // No MessageChannel (never so in a window or a worker): go on at once.
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    JsFuture::from(promise)
}

/// Calls `callback` from a message sent through a new `MessageChannel`.
fn post_to_self(callback: &js_sys::Function) -> Option<()> {
    let global = js_sys::global();
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&global, &JsValue::from_str("MessageChannel"))
            .ok()?
            .dyn_into()
            .ok()?;
    let channel = js_sys::Reflect::construct(&constructor, &js_sys::Array::new()).ok()?;
    let port = |name: &str| js_sys::Reflect::get(&channel, &JsValue::from_str(name)).ok();
    let (receiver, sender) = (port("port1")?, port("port2")?);
    js_sys::Reflect::set(&receiver, &JsValue::from_str("onmessage"), callback).ok()?;
    let post: js_sys::Function = js_sys::Reflect::get(&sender, &JsValue::from_str("postMessage"))
        .ok()?
        .dyn_into()
        .ok()?;
    post.call1(&sender, &JsValue::from(0)).ok()?;
    Some(())
}

/// A physical optimizer rule that puts an [`EventLoopYieldExec`] above every operator.
#[derive(Debug, Default)]
pub struct YieldToEventLoop;

impl PhysicalOptimizerRule for YieldToEventLoop {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        Ok(plan
            .transform_up(|node| {
                // By name: `is` looks through the wrapper to the operator it wraps.
                if node.name() == "EventLoopYieldExec" {
                    return Ok(Transformed::no(node));
                }
                let wrapped: Arc<dyn ExecutionPlan> = Arc::new(EventLoopYieldExec::new(node));
                Ok(Transformed::yes(wrapped))
            })?
            .data)
    }

    fn name(&self) -> &str {
        "yield_to_event_loop"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Passes its input through unchanged, pausing for the event loop's next task when
/// the query has computed for [`YIELD_AFTER_MS`]. Invisible to `downcast_ref`, so code
/// that looks for an operator finds the one it wraps.
#[derive(Debug)]
pub struct EventLoopYieldExec {
    input: Arc<dyn ExecutionPlan>,
}

impl EventLoopYieldExec {
    /// Wraps `input`.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        Self { input }
    }

    /// The operator it wraps.
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }
}

impl DisplayAs for EventLoopYieldExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "EventLoopYieldExec")
    }
}

impl ExecutionPlan for EventLoopYieldExec {
    fn name(&self) -> &str {
        "EventLoopYieldExec"
    }

    fn downcast_delegate(&self) -> Option<&dyn ExecutionPlan> {
        Some(self.input.as_ref())
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DataFusionResult<TreeNodeRecursion>,
    ) -> DataFusionResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(child), true) => Ok(Arc::new(Self::new(child))),
            _ => Err(DataFusionError::Internal(
                "EventLoopYieldExec has one child".to_owned(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DataFusionResult<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(YieldingStream { input, pause: None }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        None
    }
}

/// The stream of an [`EventLoopYieldExec`].
struct YieldingStream {
    input: SendableRecordBatchStream,
    /// The event loop's next task, while the stream waits for it.
    pause: Option<AssertSend<JsFuture>>,
}

impl Stream for YieldingStream {
    type Item = DataFusionResult<datafusion::arrow::record_batch::RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.pause.is_none() && yield_due() {
            self.pause = Some(AssertSend(next_task()));
        }
        if let Some(pause) = self.pause.as_mut() {
            if Pin::new(&mut pause.0).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
            LAST_YIELD_MS.with(|last| last.set(js_sys::Date::now()));
        }
        self.input.as_mut().poll_next(cx)
    }
}

impl RecordBatchStream for YieldingStream {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.input.schema()
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// A message posted just before a long query (as the page's Cancel is) is handled
    /// while the query still runs.
    #[wasm_bindgen_test]
    async fn a_long_query_lets_a_waiting_message_through_before_it_ends() {
        let session = crate::engine::new_session();
        let handled_at = Rc::new(Cell::new(None::<f64>));
        let on_message: js_sys::Function = {
            let handled_at = handled_at.clone();
            wasm_bindgen::closure::Closure::once_into_js(move || {
                handled_at.set(Some(js_sys::Date::now()));
            })
            .unchecked_into()
        };
        post_to_self(&on_message).expect("a message");
        // Every row of a 3000-row side against every row of another: an aggregate over
        // a cross join, whose input never waits.
        let sql = "SELECT count(*) AS pairs FROM range(3000) a CROSS JOIN range(3000) b \
                   WHERE a.value + b.value > 10";
        let batches = crate::engine::query(&session, sql).await.expect("query");
        let ended_at = js_sys::Date::now();
        let pairs = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("count")
            .value(0);
        assert_eq!(pairs, 3000 * 3000 - 66);
        // Nothing awaited between the query's end and here: a message handled by now
        // was handled while the query ran.
        let handled_at = handled_at
            .get()
            .expect("the message was handled during the query");
        assert!(handled_at <= ended_at);
    }
}
