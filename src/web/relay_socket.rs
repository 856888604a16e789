//! A WebSocket to one relay, reporting what happens on it to the driver. Reconnecting is the
//! core's decision; this only opens, sends and closes.

use super::driver::{feed, WeakDriver};
use super::payload::JsBytes;
use crate::room::{Input, MAX_RELAY_MESSAGE_LEN};
use crate::strategy::{RelayData, RelayId};
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

type Handler = Closure<dyn FnMut(JsValue)>;

/// One connection to a relay; closed when dropped.
pub(crate) struct RelaySocket {
    socket: WebSocket,
    _handlers: [Handler; 3],
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

impl RelaySocket {
    /// Connects to `url` (offering `protocols`) as relay `relay` of the driver.
    pub fn open(url: &str, protocols: &[&str], weak: &WeakDriver, relay: RelayId) -> Result<Self, JsValue> {
        let protocols: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
        let socket = WebSocket::new_with_str_sequence(url, &protocols)?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let w = weak.clone();
        let on_open = Handler::new(move |_| feed(&w, Input::RelayOpened { relay }));
        let w = weak.clone();
        let on_message = Handler::new(move |event: JsValue| {
            if let Some(input) = read(relay, &event.unchecked_into::<MessageEvent>().data()) {
                feed(&w, input);
            }
        });
        let w = weak.clone();
        let on_close = Handler::new(move |event: JsValue| {
            let event: CloseEvent = event.unchecked_into();
            let reason = close_reason(event.code(), &event.reason());
            feed(&w, Input::RelayClosed { relay, reason });
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self { socket, _handlers: [on_open, on_message, on_close] })
    }

    /// Sends one message; a socket that is not open drops it (the core resends on reconnection).
    pub fn send(&self, data: &RelayData) {
        if self.socket.ready_state() != WebSocket::OPEN {
            return;
        }
        let _ = match data {
            RelayData::Text(text) => self.socket.send_with_str(text),
            RelayData::Binary(bytes) => self.socket.send_with_u8_array(bytes),
        };
    }

    /// The WebSocket, as handed to apps by `getRelaySockets()`.
    pub fn web_socket(&self) -> &WebSocket {
        &self.socket
    }
}

/// The input a received message makes. Sizes are checked before anything is copied into Wasm
/// memory, which never shrinks.
fn read(relay: RelayId, data: &JsValue) -> Option<Input<JsBytes>> {
    if let Some(text) = data.dyn_ref::<JsString>() {
        let len = u64::from(text.length());
        if len > MAX_RELAY_MESSAGE_LEN {
            return Some(Input::RelayMessageTooLarge { relay, len });
        }
        return Some(Input::RelayMessage { relay, data: RelayData::Text(text.into()) });
    }
    let buffer = data.dyn_ref::<ArrayBuffer>()?;
    let len = u64::from(buffer.byte_length());
    if len > MAX_RELAY_MESSAGE_LEN {
        return Some(Input::RelayMessageTooLarge { relay, len });
    }
    Some(Input::RelayMessage { relay, data: RelayData::Binary(Uint8Array::new(buffer).to_vec()) })
}

/// Why a relay closed the connection, for the warning: its own words if it gave any, else what
/// the close code says; `None` for an unexplained drop.
fn close_reason(code: u16, reason: &str) -> Option<String> {
    let likely = match code {
        1008 => "it refused something we sent (policy violation)",
        1009 => "a message was larger than it takes (public trackers close on messages over 16 KiB)",
        1013 => "it is overloaded; try again later",
        _ if reason.is_empty() => return None,
        _ => "",
    };
    Some(match (reason.is_empty(), likely.is_empty()) {
        (true, _) => format!("closed the connection (code {code}): {likely}"),
        (false, true) => format!("closed the connection: {reason} (code {code})"),
        (false, false) => format!("closed the connection: {reason} (code {code}): {likely}"),
    })
}
