//! Warnings for dropped input: logged, never thrown, so a hostile peer or relay cannot break a room.

/// Logs `rendez: {message}` as a console warning.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&format!("rendez: {message}").into());
}

/// Installs a panic hook that reports panics on the console before the module aborts.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("rendez: internal error: {info}").into());
    }));
}
