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
async fn without_its_worker_the_page_says_so_once() {
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

    // The test page has no worker script: the page says so once, and does not try to
    // start the worker again and again.
    for _ in 0..200 {
        if host.inner_text().contains("cannot start") {
            break;
        }
        sleep_ms(50).await;
    }
    sleep_ms(500).await;
    let text = host.inner_text();
    assert!(text.contains("Medallion Playground"), "{text}");
    assert!(text.contains("Load sample batch 1"), "{text}");
    assert!(!text.contains("restarted"), "{text}");
    assert_eq!(
        text.matches("the pipeline worker cannot start").count(),
        1,
        "{text}"
    );
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
