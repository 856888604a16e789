//! The entry point in the browser.

use crate::{strategy, DEFAULT_RELAY_REDUNDANCY, DEFAULT_RELAY_URLS};
use rendez_core::web::bindings::{self, Room};
use wasm_bindgen::prelude::*;

/// The public relays used when the app names none.
#[wasm_bindgen(js_name = defaultRelayUrls)]
pub fn default_relay_urls() -> js_sys::Array {
    bindings::relay_url_list(DEFAULT_RELAY_URLS)
}

/// Joins `roomId` through MQTT brokers.
#[wasm_bindgen(js_name = joinRoom)]
pub fn join_room(config: JsValue, room_id: String, admission: JsValue) -> Result<Room, JsValue> {
    bindings::join_room(&config, &room_id, &admission, DEFAULT_RELAY_URLS, DEFAULT_RELAY_REDUNDANCY, |config, _| {
        Box::new(strategy(config))
    })
}
