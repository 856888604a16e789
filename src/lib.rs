//! Core of rendez: serverless WebRTC rooms whose peers meet through public relays.
//!
//! The crate has two layers. The core (every module outside `web`) is plain Rust with no I/O:
//! the room as a state machine ([`room::Room`]) with time and randomness as inputs, the strategy
//! trait its signaling sessions implement ([`strategy::Strategy`]), frames, reassembly, sealing.
//! It is unit-tested and simulated natively. The `web` layer (compiled for `wasm32` only) is a
//! driver: it carries the room's outputs out with `web-sys` and feeds browser events back in.
//! `docs/ARCHITECTURE.md` describes the layers and where each rule lives.

pub mod backoff;
pub mod chunking;
pub mod collections;
pub mod crypto;
pub mod digest;
pub mod frame;
pub mod hub;
pub mod pacer;
pub mod payload;
pub mod pubsub;
pub mod random;
pub mod reassembly;
pub mod renegotiation;
pub mod room;
pub mod sdp;
pub mod signaling;
pub mod strategy;
pub mod stream_frame;
pub mod stream_ticket;
pub mod time;

#[cfg(target_arch = "wasm32")]
pub mod web;
