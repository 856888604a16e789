//! Streamed transfers in the browser. A stream's source is a JS function `read(offset, max)`
//! made by `js/room.js` over a `Blob` or a `ReadableStream` (a promise of the next bytes as a
//! `Uint8Array`, or `null` at the end); it is called as the core asks, one read at a time, and the
//! bytes stay in JS memory. Incoming streams go to `js/room.js` as events, which builds the app's
//! `ReadableStream` and reports what the app consumed, so the core grants the sender more; a
//! stream a page staged is adopted by the next one with its ticket and staged bytes.

use super::actions::parse_metadata;
use super::callbacks::{deferred, Ticket};
use super::driver::{now, with_driver, Driver, Shared, WeakDriver};
use super::errors::{busy, invalid};
use super::payload::JsBytes;
use super::peer::describe;
use crate::frame::PayloadKind;
use crate::room::{IncomingStreamId, RoomError, StreamId, StreamRequest};
use crate::stream_ticket::StreamTicket;
use js_sys::{Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

/// Largest size a JS number holds exactly: 2^53 − 1.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Starts streaming what `source` reads to `peer` on `action`: `[promise, streamId]`, the promise
/// resolving with the size once the peer verified every byte.
pub(crate) fn send_stream(
    shared: &Shared,
    action: String,
    peer: String,
    source: Function,
    size: Option<f64>,
    seekable: bool,
    metadata: &JsValue,
) -> Result<Array, JsValue> {
    let metadata = parse_metadata(metadata)?;
    let size = size.map(byte_count).transpose()?;
    let request = StreamRequest { peer, action, kind: PayloadKind::Binary, metadata, size, seekable };
    let (promise, pending) = deferred(None);
    let started = with_driver(shared, |driver, _| {
        let stream = driver.core.send_stream(now(), request)?;
        driver.stream_sources.insert(stream, source);
        if let Some(pending) = pending {
            driver.callbacks.pending.insert(Ticket::Stream(stream), pending);
        }
        Ok::<_, RoomError>(stream)
    });
    let stream = started.ok_or_else(busy)?.map_err(JsValue::from)?;
    Ok(Array::of2(&promise, &(stream.0 as f64).into()))
}

/// `count` as a number of bytes: a whole number, at most `Number.MAX_SAFE_INTEGER`.
fn byte_count(count: f64) -> Result<u64, JsValue> {
    if count >= 0.0 && count.fract() == 0.0 && count <= MAX_SAFE_INTEGER {
        Ok(count as u64)
    } else {
        Err(invalid("a size must be a whole number of bytes, at most Number.MAX_SAFE_INTEGER"))
    }
}

/// Adopts the stream `ticket` names, of which an earlier page staged `staged` bytes: its id.
pub(crate) fn adopt_stream(shared: &Shared, ticket: &str, staged: f64) -> Result<f64, JsValue> {
    let ticket = StreamTicket::decode(ticket).map_err(|e| invalid(&e.to_string()))?;
    let staged = byte_count(staged)?;
    let adopted = with_driver(shared, |driver, _| driver.core.adopt_stream(now(), &ticket, staged));
    Ok(adopted.ok_or_else(busy)?.map_err(JsValue::from)?.0 as f64)
}

/// The next staged bytes of adopted stream `id`.
pub(crate) fn stream_rehash(shared: &Shared, id: f64, bytes: Uint8Array) -> Result<(), JsValue> {
    let (id, bytes) = (IncomingStreamId(id as u64), JsBytes(bytes));
    let hashed = with_driver(shared, |driver, _| driver.core.stream_rehash(now(), id, &bytes));
    hashed.ok_or_else(busy)?.map_err(JsValue::from)
}

/// The core asks for `max` bytes at `offset` of `stream`'s source: reads them and hands them back.
/// The source runs app code (a `ReadableStream`'s `pull`), so it is called from a microtask, when
/// the driver is no longer borrowed, never during the drain.
pub(crate) fn read(driver: &Driver, weak: &WeakDriver, stream: StreamId, offset: u64, max: u64) {
    let Some(source) = driver.stream_sources.get(&stream).cloned() else { return };
    let weak = weak.clone();
    spawn_local(async move {
        let called = source.call2(&JsValue::NULL, &(offset as f64).into(), &(max as f64).into());
        let read = match called.map(|value| JsFuture::from(Promise::resolve(&value))) {
            Ok(future) => future.await,
            Err(e) => Err(e),
        };
        let read = match read {
            Ok(value) if value.is_null() || value.is_undefined() => Ok(None),
            Ok(value) => match value.dyn_into::<Uint8Array>() {
                Ok(bytes) => Ok(Some(JsBytes(bytes))),
                Err(_) => Err("the source gave something other than a Uint8Array".to_owned()),
            },
            Err(e) => Err(describe(&e)),
        };
        let Some(shared) = weak.upgrade() else { return };
        with_driver(&shared, |driver, _| driver.core.stream_read(now(), stream, read));
    });
}
