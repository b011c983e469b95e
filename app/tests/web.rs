//! The app mounted in headless Chromium.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn probes_find_opfs_indexeddb_and_datafusion() {
    let status = medallion_app::probe().await;
    assert!(status.storage.available, "{:?}", status.storage);
    assert!(
        status.storage.detail.starts_with("available, "),
        "{:?}",
        status.storage
    );
    assert!(status.checkpoints.available, "{:?}", status.checkpoints);
    assert!(status.engine.available, "{:?}", status.engine);
}

#[wasm_bindgen_test]
async fn the_page_shows_the_product_and_its_stores() {
    let document = web_sys::window()
        .expect("window")
        .document()
        .expect("document");
    let host = document.create_element("div").expect("div");
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let host: web_sys::HtmlElement = wasm_bindgen::JsCast::unchecked_into(host);
    let _handle = leptos::mount::mount_to(host.clone(), medallion_app::App);

    let mut text = String::new();
    for _ in 0..200 {
        text = host.inner_text();
        if text.contains("SQL engine") {
            break;
        }
        sleep_ms(50).await;
    }
    assert!(text.contains("Medallion Playground"), "{text}");
    assert!(text.contains("OPFS: available"), "{text}");
    assert!(text.contains("IndexedDB: available"), "{text}");
    assert!(text.contains("Apache DataFusion ready"), "{text}");
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("timeout");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("sleep");
}
