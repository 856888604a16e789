//! Browser layer: drives the protocol modules with `web-sys`.

pub mod actions;
pub mod backpressure;
pub mod bindings;
pub mod config;
pub mod console;
pub mod media;
pub mod payload;
pub mod peer;
pub mod pubsub;
pub mod relay_socket;
pub mod renegotiation;
pub mod room;
pub mod strategy;
