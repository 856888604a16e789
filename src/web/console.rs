//! Console output: warnings for dropped input (logged, never thrown, so a hostile peer or relay
//! cannot break a room) and the panic hook.

/// Logs `rendez: {message}` as a console warning. Apps may patch `console.warn`, so this runs
/// only where app code may run: never while a room is borrowed.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&format!("rendez: {message}").into());
}

/// Installs a panic hook that reports panics on the console before the module aborts.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("rendez: internal error: {info}").into());
    }));
}
