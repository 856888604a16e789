//! `room.makeAction(name)`: the `[send, receive, onProgress]` triple. Sending hands the payload
//! (a view in JS memory) to the core, which chunks it and settles the promise with the acks.

use super::callbacks::{deferred, ActionSlot, Request};
use super::driver::{now, with_callbacks, with_driver, Shared, WeakDriver};
use super::errors::{busy, invalid};
use super::payload::{self, JsBytes};
use crate::frame::MAX_ACTION_NAME_LEN;
use crate::room::{RoomError, SendRequest};
use js_sys::{Array, Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Blob;

type SendFn = dyn Fn(JsValue, JsValue, JsValue, JsValue) -> Promise;

/// Registers action `name` and returns `[send, receive, onProgress]` (the same array for the same name).
pub(crate) fn make_action(shared: &Shared, name: String) -> Result<Array, JsValue> {
    if name.is_empty() || name.len() > MAX_ACTION_NAME_LEN {
        return Err(invalid(&format!("action name must be 1 to {MAX_ACTION_NAME_LEN} bytes")));
    }
    let existing =
        with_callbacks(shared, |c| c.actions.get_or_insert_with(name.clone(), ActionSlot::default).api.clone());
    if let Some(api) = existing.ok_or_else(busy)? {
        return Ok(api);
    }
    let weak = Rc::downgrade(shared);
    let action = name.clone();
    let send = Closure::<SendFn>::new(move |data: JsValue, targets, metadata, on_progress| {
        let Some(blob) = data.dyn_ref::<Blob>() else {
            return send(&weak, &action, &data, &targets, &metadata, &on_progress)
                .unwrap_or_else(|e| Promise::reject(&e));
        };
        let bytes = JsFuture::from(blob.array_buffer());
        let (weak, action) = (weak.clone(), action.clone());
        future_to_promise(async move {
            let buffer = bytes.await?;
            JsFuture::from(send(&weak, &action, &buffer, &targets, &metadata, &on_progress)?).await
        })
    });
    let receive = slot_setter(shared, name.clone(), |slot, f| slot.on_receive = f);
    let progress = slot_setter(shared, name.clone(), |slot, f| slot.on_progress = f);
    let api = Array::of3(&send.into_js_value(), &receive, &progress);
    with_callbacks(shared, |c| c.actions.get_or_insert_with(name, ActionSlot::default).api = Some(api.clone()));
    Ok(api)
}

fn slot_setter(shared: &Shared, name: String, set: fn(&mut ActionSlot, Option<Function>)) -> JsValue {
    let weak = Rc::downgrade(shared);
    Closure::<dyn Fn(JsValue)>::new(move |callback: JsValue| {
        if let Some(shared) = weak.upgrade() {
            with_callbacks(&shared, |c| {
                set(c.actions.get_or_insert_with(name.clone(), ActionSlot::default), callback.dyn_into().ok())
            });
        }
    })
    .into_js_value()
}

/// Reads an app's `targetPeers`: `null`/`undefined` (every open peer, `None`), one peer id, or an
/// array of them. Done before borrowing the room: reading a JS array can run app code.
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

/// Starts sending `data`; the promise settles when every target acked it.
fn send(
    weak: &WeakDriver,
    action: &str,
    data: &JsValue,
    targets: &JsValue,
    metadata: &JsValue,
    on_progress: &JsValue,
) -> Result<Promise, JsValue> {
    let shared = weak.upgrade().ok_or_else(|| JsValue::from(RoomError::Closed))?;
    let (kind, bytes) = payload::encode(data).map_err(|e| invalid(&e))?;
    let metadata = match metadata.is_null() || metadata.is_undefined() {
        true => None,
        false => payload::to_json(metadata).map_err(|e| invalid(&e))?.map(String::from),
    };
    let targets = parse_targets(targets)?;
    let progress: Option<Function> = on_progress.clone().dyn_into().ok();
    let request = SendRequest {
        action: action.to_owned(),
        kind,
        payload: JsBytes(bytes),
        metadata,
        targets,
        progress: progress.is_some(),
    };
    let (promise, pending) = deferred(progress);
    let sent = with_driver(&shared, |driver, _| {
        let send = driver.core.send(now(), request)?;
        if let Some(pending) = pending {
            driver.callbacks.pending.insert(Request::Send(send), pending);
        }
        Ok::<_, RoomError>(())
    });
    sent.ok_or_else(busy)?.map_err(JsValue::from)?;
    Ok(promise)
}
