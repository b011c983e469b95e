//! Mounts the playground; everything else lives in the library.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(medallion_app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("medallion-app runs in the browser: `bash scripts/serve.sh` builds and serves it.");
    std::process::exit(2);
}
