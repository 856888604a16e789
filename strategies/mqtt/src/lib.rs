//! MQTT strategy: peers announce themselves on a room topic of public MQTT brokers (MQTT 3.1.1
//! over WebSocket) and exchange sealed offers and answers on each other's peer topics.

pub mod packet;

#[cfg(target_arch = "wasm32")]
mod strategy;

/// Public MQTT brokers with WebSocket listeners, used when the app names none.
pub const DEFAULT_RELAY_URLS: &[&str] =
    &["wss://broker.emqx.io:8084/mqtt", "wss://broker.hivemq.com:8884/mqtt", "wss://test.mosquitto.org:8081/mqtt"];

/// How many of the default brokers a room connects to.
pub const DEFAULT_RELAY_REDUNDANCY: usize = 2;

#[cfg(target_arch = "wasm32")]
pub use strategy::join_room;
