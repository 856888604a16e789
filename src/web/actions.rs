//! Actions: sends, requests and replies. Payloads are views in JS memory handed to the core,
//! which chunks them and settles the promises with the peers' acks and replies. `js/room.js`
//! builds the app's action objects (both API shapes) on these.

use super::callbacks::{deferred, Ticket};
use super::driver::{now, with_driver, Shared};
use super::errors::{busy, invalid};
use super::payload::{self, JsBytes};
use crate::room::{IncomingId, RequestId, RoomError, SendId, SendRequest};
use js_sys::{Array, Function, Promise};
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// Reads an app's `targetPeers`: `null`/`undefined` (every joined peer, `None`), one peer id, or
/// an array of them. Done before borrowing the room: reading a JS array can run app code.
pub(crate) fn parse_targets(targets: &JsValue) -> Result<Option<Vec<String>>, JsValue> {
    if targets.is_null() || targets.is_undefined() {
        Ok(None)
    } else if let Some(id) = targets.as_string() {
        Ok(Some(vec![id]))
    } else if Array::is_array(targets) {
        Ok(Some(Array::from(targets).iter().filter_map(|v| v.as_string()).collect()))
    } else {
        Err(invalid("targetPeers must be a peer id, an array of peer ids, or null"))
    }
}

/// What the app hands over to send: `data` (not a `Blob`: `js/room.js` reads those first), its
/// metadata, and whether progress is reported.
pub(crate) fn send_request(
    action: String,
    data: &JsValue,
    targets: Option<Vec<String>>,
    metadata: &JsValue,
    progress: bool,
) -> Result<SendRequest<JsBytes>, JsValue> {
    let (kind, bytes) = payload::encode(data).map_err(|e| invalid(&e))?;
    let metadata = parse_metadata(metadata)?;
    Ok(SendRequest { action, kind, payload: JsBytes(bytes), metadata, targets, progress })
}

/// An app's metadata as JSON text: none for `null` or `undefined`.
pub(crate) fn parse_metadata(metadata: &JsValue) -> Result<Option<String>, JsValue> {
    match metadata.is_null() || metadata.is_undefined() {
        true => Ok(None),
        false => Ok(payload::to_json(metadata).map_err(|e| invalid(&e))?.map(String::from)),
    }
}

/// Runs `start` on the core; once it succeeds, the returned promise settles with the outcome of
/// its ticket (and `progress` hears of its progress).
pub(crate) fn start_pending(
    shared: &Shared,
    progress: Option<Function>,
    start: impl FnOnce(&mut crate::room::Room<JsBytes>) -> Result<Ticket, RoomError>,
) -> Result<(Promise, Ticket), JsValue> {
    let (promise, pending) = deferred(progress);
    let started = with_driver(shared, |driver, _| {
        let ticket = start(&mut driver.core)?;
        if let Some(pending) = pending {
            driver.callbacks.pending.insert(ticket, pending);
        }
        Ok::<_, RoomError>(ticket)
    });
    let ticket = started.ok_or_else(busy)?.map_err(JsValue::from)?;
    Ok((promise, ticket))
}

/// `[promise, id]` for a send or request the app may abort by its id.
fn abortable(started: Result<(Promise, Ticket), JsValue>) -> Result<Array, JsValue> {
    let (promise, ticket) = started?;
    let id = match ticket {
        Ticket::Send(SendId(id))
        | Ticket::Ping(crate::room::PingId(id))
        | Ticket::Request(RequestId(id))
        | Ticket::Stream(crate::room::StreamId(id)) => id,
    };
    Ok(Array::of2(&promise, &(id as f64).into()))
}

/// Starts sending `data` of `action` to `targets`: `[promise, sendId]`, the promise settling
/// when every target acked it.
pub(crate) fn send(
    shared: &Shared,
    action: String,
    data: &JsValue,
    targets: &JsValue,
    metadata: &JsValue,
    on_progress: &JsValue,
) -> Result<Array, JsValue> {
    let progress: Option<Function> = on_progress.clone().dyn_into().ok();
    let request = send_request(action, data, parse_targets(targets)?, metadata, progress.is_some())?;
    abortable(start_pending(shared, progress, |core| core.send(now(), request).map(Ticket::Send)))
}

/// Sends request `data` of `action` to `target`: `[promise, requestId]`, the promise settling
/// with the reply. `timeout_ms` counts from the peer holding the whole request.
pub(crate) fn request(
    shared: &Shared,
    action: String,
    data: &JsValue,
    target: String,
    metadata: &JsValue,
    timeout_ms: Option<f64>,
    on_progress: &JsValue,
) -> Result<Array, JsValue> {
    let progress: Option<Function> = on_progress.clone().dyn_into().ok();
    let request = send_request(action, data, Some(vec![target]), metadata, progress.is_some())?;
    let timeout = match timeout_ms {
        Some(ms) if !(ms.is_finite() && ms >= 0.0) => return Err(invalid("timeoutMs must be a non-negative number")),
        other => other.map(|ms| Duration::from_millis(ms as u64)),
    };
    abortable(start_pending(shared, progress, |core| core.request(now(), request, timeout).map(Ticket::Request)))
}

/// Answers the peer's request `id` with `value`, or refuses it with `value` as the message; a
/// value that cannot be sent refuses it with why.
pub(crate) fn reply(shared: &Shared, id: f64, ok: bool, value: &JsValue) -> Result<(), JsValue> {
    let reply = match ok {
        true => payload::encode(value)
            .map(|(kind, bytes)| (kind, JsBytes(bytes)))
            .map_err(|e| format!("the reply cannot be sent: {e}")),
        false => Err(value.as_string().unwrap_or_else(|| "request failed".to_owned())),
    };
    with_driver(shared, |driver, _| driver.core.reply(now(), IncomingId(id as u64), reply)).ok_or_else(busy)
}
