//! Native peers for rendez rooms: a program joins the same rooms as browser pages, through the
//! same relays, with the same wire format and sealing, and talks to them over WebRTC data
//! channels (str0m, pure Rust).
//!
//! A room runs on a thread of its own (the core is single-threaded, as in the browser); the
//! [`Room`] handle sends it commands and receives its [`RoomEvent`]s.
//!
//! ```no_run
//! # async fn run() -> Result<(), rendez_native::JoinError> {
//! use rendez_native::{JoinConfig, Room, RoomEvent, StrategyKind};
//! let config = JoinConfig::new("my-app", StrategyKind::Torrent, vec!["wss://tracker.example".into()]);
//! let mut room = Room::join(config, "lobby")?;
//! while let Some(event) = room.next_event().await {
//!     if let RoomEvent::PeerJoined { peer } = event {
//!         room.send("chat", b"\"hello\"".to_vec(), Some(vec![peer])).await.ok();
//!     }
//! }
//! # Ok(()) }
//! ```
#![cfg(not(target_arch = "wasm32"))]

mod driver;
mod file_streams;
mod peer_connection;
mod relay_socket;
mod room;
mod udp;

pub use file_streams::TICKET_SUFFIX;
pub use rendez_core::frame::PayloadKind;
pub use rendez_core::room::{RoomError, SendError, StreamError};
pub use room::{IncomingStream, JoinConfig, JoinError, Room, RoomEvent, SendFailure, StrategyKind, StreamFailure};
