//! `Send + Sync` natively, nothing in the browser.
//!
//! Browser handles (`JsValue`s) are `!Send`, and wasm32 runs everything on one thread,
//! so the IO traits require thread safety only where threads exist.

/// A bound that is `Send + Sync` on native targets and empty on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}

/// A bound that is `Send + Sync` on native targets and empty on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}
