//! BitTorrent WebSocket tracker strategy: peers meet in a tracker swarm whose info hash is
//! derived from appId and roomId, and exchange sealed SDP through the tracker's offer relay.

pub mod info_hash;
pub mod tracker_message;
