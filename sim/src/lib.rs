//! Deterministic simulations of rendez rooms, in the manner of quinn-proto's `Pair::drive`: many
//! [`Room`](rendez_core::room::Room)s exchange their outputs in memory while a simulated clock
//! advances from one scheduled event to the next. Relays are in-memory servers speaking each
//! strategy's protocol ([`relays`]); peer connections are simulated with their signaling states
//! (a negotiation step that overlaps another, or runs in a state a browser would refuse, is
//! recorded as a violation), and a test may cut their paths. Everything random comes from seeds, so a run repeats exactly.

pub mod relays;
mod world;

pub use world::{
    FrameCorrupter, FrameFilter, IncomingLog, Log, Options, PeerIndex, Received, Stats, StrategyKind, World,
    DISCONNECT_NOTICE,
};
