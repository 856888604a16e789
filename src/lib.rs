//! Core of rendez: serverless WebRTC rooms whose peers meet through public relays.
//!
//! The crate has two layers. The protocol layer (every module outside `web`) is plain Rust:
//! action frames, chunk reassembly, sealing of signaling payloads, identifiers. It has no
//! browser dependency and is unit-tested natively. The `web` layer (compiled for `wasm32` only)
//! drives it with `web-sys`: peer connections, data channels, relay sockets and the JS-facing room.

pub mod backoff;
pub mod chunking;
pub mod crypto;
pub mod frame;
pub mod ids;
pub mod reassembly;
pub mod renegotiation;
pub mod signaling;

#[cfg(target_arch = "wasm32")]
pub mod web;
