//! `onJoinError`: telling the app that a peer could not join, once per peer.

use super::call;
use crate::web::console::warn;
use js_sys::{Function, Object, Reflect};
use std::collections::HashSet;
use wasm_bindgen::prelude::*;

/// Peers remembered as already reported; the memory is cleared past this many.
const MAX_REPORTED: usize = 1024;

/// The room's join-error callback and the peers already reported to it.
pub(crate) struct JoinErrors {
    callback: Option<Function>,
    app_id: String,
    room_id: String,
    reported: HashSet<String>,
}

/// A report to deliver once the room is no longer borrowed.
#[must_use]
pub(crate) struct JoinErrorReport(Option<(Function, Object)>);

impl JoinErrors {
    pub fn new(callback: Option<Function>, app_id: String, room_id: String) -> Self {
        Self { callback, app_id, room_id, reported: HashSet::new() }
    }

    /// Logs that `peer_id` could not join and, the first time for that peer, prepares the
    /// callback's `{appId, roomId, peerId, error}`.
    pub fn report(&mut self, peer_id: &str, error: &str) -> JoinErrorReport {
        warn(&format!("peer {peer_id} could not join: {error}"));
        if self.reported.len() >= MAX_REPORTED {
            self.reported.clear();
        }
        let Some(callback) = self.callback.clone().filter(|_| self.reported.insert(peer_id.to_owned())) else {
            return JoinErrorReport(None);
        };
        let event = Object::new();
        for (key, value) in [("appId", &self.app_id), ("roomId", &self.room_id), ("peerId", &peer_id.to_owned())] {
            let _ = Reflect::set(&event, &key.into(), &value.into());
        }
        let _ = Reflect::set(&event, &"error".into(), &error.into());
        JoinErrorReport(Some((callback, event)))
    }
}

impl JoinErrorReport {
    /// Calls the app's callback, if there is one to call.
    pub fn deliver(self) {
        if let Some((callback, event)) = self.0 {
            call(Some(callback), &[JsValue::from(event)]);
        }
    }
}
