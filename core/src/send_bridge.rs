//! Futures and handles that Arrow, Parquet and DataFusion require to be `Send`.
//!
//! Natively our storage futures are `Send` already and this is a plain box. In the
//! browser they hold JS values and are `!Send`; but wasm32 runs on a single thread,
//! so nothing can move them to another thread and asserting `Send` is sound there.

use std::future::Future;
#[cfg(target_arch = "wasm32")]
use std::pin::Pin;

use futures::future::BoxFuture;

/// Boxes a storage future as the `Send` future third-party traits ask for.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn boxed_send<'a, T>(future: impl Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
    Box::pin(future)
}

/// Boxes a storage future as the `Send` future third-party traits ask for.
#[cfg(target_arch = "wasm32")]
pub(crate) fn boxed_send<'a, T>(future: impl Future<Output = T> + 'a) -> BoxFuture<'a, T> {
    Box::pin(AssertSend(Box::pin(future)))
}

/// A value that claims `Send + Sync` on wasm32, where there is only one thread.
#[cfg(target_arch = "wasm32")]
pub(crate) struct AssertSend<T>(pub T);

// SAFETY: wasm32-unknown-unknown without atomics has exactly one thread, so a value
// can never be sent to or shared with another thread.
#[cfg(target_arch = "wasm32")]
unsafe impl<T> Send for AssertSend<T> {}
#[cfg(target_arch = "wasm32")]
unsafe impl<T> Sync for AssertSend<T> {}

#[cfg(target_arch = "wasm32")]
impl<F: Future + Unpin> Future for AssertSend<F> {
    type Output = F::Output;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Boxes a storage stream as the `Send` stream third-party traits ask for.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn boxed_send_stream<'a, T>(
    stream: impl futures::Stream<Item = T> + Send + 'a,
) -> futures::stream::BoxStream<'a, T> {
    Box::pin(stream)
}

/// Boxes a storage stream as the `Send` stream third-party traits ask for.
#[cfg(target_arch = "wasm32")]
pub(crate) fn boxed_send_stream<'a, T>(
    stream: impl futures::Stream<Item = T> + 'a,
) -> futures::stream::BoxStream<'a, T> {
    Box::pin(AssertSend(Box::pin(stream)))
}

#[cfg(target_arch = "wasm32")]
impl<S: futures::Stream + Unpin> futures::Stream for AssertSend<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}
