//! BitTorrent WebSocket tracker strategy: peers meet in a tracker swarm whose info hash is
//! derived from appId and roomId, and exchange sealed SDP through the tracker's offer relay.

pub mod info_hash;
pub mod session;
pub mod tracker_message;

#[cfg(target_arch = "wasm32")]
mod web;

/// Public WebTorrent trackers used when the app names none.
pub const DEFAULT_RELAY_URLS: &[&str] = &[
    "wss://tracker.webtorrent.dev",
    "wss://tracker.openwebtorrent.com",
    "wss://tracker.btorrent.xyz",
    "wss://tracker.files.fm:7073/announce",
];

/// How many of the default trackers a room connects to.
pub const DEFAULT_RELAY_REDUNDANCY: usize = 3;

#[cfg(target_arch = "wasm32")]
pub use web::join_room;
