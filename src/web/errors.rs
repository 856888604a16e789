//! Errors handed to apps: JS `Error`s whose `message` starts with `rendez:` and whose `code` is
//! stable, so apps can tell them apart.

use crate::room::{PingError, RequestError, RoomError, SendError, StreamError};
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

/// A JS `Error` with `message` (prefixed with `rendez: `) and `code`; named `AbortError` for
/// code `aborted`, as `AbortSignal` users expect.
pub fn js_error(message: &str, code: &str) -> JsValue {
    let error = js_sys::Error::new(&format!("rendez: {message}"));
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    if code == "aborted" {
        error.set_name("AbortError");
    }
    error.into()
}

/// The error of a call made while the room is busy with another (code `busy`; re-entrancy that
/// the driver's design keeps from happening).
pub fn busy() -> JsValue {
    js_error("the room is busy", "busy")
}

/// An error of invalid arguments (code `invalid`).
pub fn invalid(message: &str) -> JsValue {
    js_error(message, "invalid")
}

impl From<RoomError> for JsValue {
    fn from(error: RoomError) -> Self {
        js_error(&error.to_string(), error.code())
    }
}

impl From<SendError> for JsValue {
    fn from(error: SendError) -> Self {
        js_error(&error.to_string(), error.code())
    }
}

impl From<PingError> for JsValue {
    fn from(error: PingError) -> Self {
        js_error(&error.to_string(), error.code())
    }
}

impl From<RequestError> for JsValue {
    fn from(error: RequestError) -> Self {
        js_error(&error.to_string(), error.code())
    }
}

impl From<StreamError> for JsValue {
    fn from(error: StreamError) -> Self {
        js_error(&error.to_string(), error.code())
    }
}
