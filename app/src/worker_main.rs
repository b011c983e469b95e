//! The pipeline's Web Worker; everything lives in the library's `worker` module.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    medallion_app::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("medallion-worker runs in the browser, started by the playground.");
    std::process::exit(2);
}
