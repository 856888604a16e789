//! Console output: warnings for dropped input (logged, never thrown, so a hostile peer or relay
//! cannot break a room) and the panic hook.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `console.warn`, which apps may patch, and whose patch may throw.
    #[wasm_bindgen(js_namespace = console, js_name = warn, catch)]
    fn console_warn(message: &str) -> Result<(), JsValue>;
}

/// Logs `rendez: {message}` as a console warning. Apps may patch `console.warn`, so this runs
/// only where app code may run (never while a room is borrowed), and what a patch throws is
/// dropped rather than unwound through Wasm.
pub fn warn(message: &str) {
    let _ = console_warn(&format!("rendez: {message}"));
}

/// Installs a panic hook that reports panics on the console before the module aborts.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("rendez: internal error: {info}").into());
    }));
}
