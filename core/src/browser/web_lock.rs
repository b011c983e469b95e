//! Exclusive locks across tabs and workers, through `navigator.locks` (Web Locks API).
//!
//! `navigator.locks.request(name, callback)` holds the lock until the promise the
//! callback returns settles. [`with_lock`] bridges that to Rust: it waits until the
//! callback runs, runs the Rust future, then settles the promise to release the lock.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::Either;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The global `navigator.locks`, if this browser has the Web Locks API.
fn lock_manager() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Whether `navigator.locks` exists here.
pub fn web_locks_available() -> bool {
    lock_manager().is_some()
}

/// Runs `work` while holding the exclusive Web Lock `name`.
///
/// Every tab and worker of this origin that asks for the same name waits its turn.
/// Without the Web Locks API (very old browsers) `work` runs unguarded, which is safe
/// for a single tab.
pub async fn with_lock<T, F>(name: &str, work: F) -> Result<T, JsValue>
where
    F: Future<Output = T>,
{
    let Some(locks) = lock_manager() else {
        return Ok(work.await);
    };
    let request: Function = Reflect::get(&locks, &JsValue::from_str("request"))?.dyn_into()?;

    // The promise that holds the lock; resolving it releases the lock.
    let release: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let release_slot = release.clone();
    let held = Promise::new(&mut |resolve, _reject| {
        *release_slot.borrow_mut() = Some(resolve);
    });

    let (acquired_tx, acquired_rx) = oneshot::channel::<()>();
    let acquired_tx = RefCell::new(Some(acquired_tx));
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        if let Some(tx) = acquired_tx.borrow_mut().take() {
            let _ = tx.send(());
        }
        held.into()
    });
    let granted: Promise = request
        .call2(&locks, &JsValue::from_str(name), &callback)?
        .dyn_into()?;

    let granted = JsFuture::from(granted);
    match futures::future::select(acquired_rx, granted).await {
        Either::Left((Ok(()), granted)) => {
            let output = work.await;
            if let Some(resolve) = release.borrow_mut().take() {
                resolve.call0(&JsValue::UNDEFINED)?;
            }
            granted.await?;
            Ok(output)
        }
        Either::Left((Err(_), _)) => Err(JsValue::from_str("the Web Lock callback was dropped")),
        // The request settled without running the callback: it was rejected.
        Either::Right((settled, _)) => {
            settled?;
            Err(JsValue::from_str("the Web Lock was never granted"))
        }
    }
}
