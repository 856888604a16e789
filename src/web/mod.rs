//! The browser driver: carries the core room's outputs out with `web-sys` and feeds browser events
//! back in. It holds no protocol rule of its own.

mod actions;
pub mod bindings;
mod callbacks;
mod config;
mod console;
mod driver;
mod errors;
pub mod key_derivation;
mod links;
mod media;
mod page;
pub mod payload;
pub mod peer;
mod relay_socket;
mod streams;
