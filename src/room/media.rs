//! Media metadata: what `addStream`/`addTrack` announce ahead of their tracks, and what the app
//! learns with each arriving track. The tracks themselves are the driver's (browser objects).

use super::{ConnId, Room, RoomError};
use crate::collections::{Map, Set};
use crate::frame::{encode_media, MAX_METADATA_LEN};
use crate::payload::Payload;
use crate::time::Instant;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Streams remembered per peer (metadata, and which were reported); cleared past this many.
const MAX_STREAMS: usize = 256;

/// One peer's streams.
#[derive(Debug, Default)]
pub(super) struct Streams {
    /// Announced metadata (JSON text) by stream id.
    metadata: Map<String, Option<String>>,
    /// Streams already reported to the app.
    reported: Set<String>,
}

/// What the app is told with a track that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivedTrack {
    pub peer: String,
    /// JSON text of the metadata its stream was announced with.
    pub metadata: Option<String>,
    /// Whether its stream is new to the app (report it as a stream too).
    pub new_stream: bool,
}

#[derive(Deserialize)]
struct Announcement<'a> {
    #[serde(borrow)]
    stream: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
}

impl<P: Payload> Room<P> {
    /// Announces stream `stream_id` with `metadata` (JSON text) to the targets ahead of its
    /// tracks; returns the targets' connections, for the driver to add the tracks to.
    pub fn announce_stream(
        &mut self,
        now: Instant,
        targets: Option<&[String]>,
        stream_id: &str,
        metadata: Option<&str>,
    ) -> Result<Vec<(String, ConnId)>, RoomError> {
        self.now = now;
        if metadata.is_some_and(|m| m.len() > MAX_METADATA_LEN) || stream_id.len() > MAX_METADATA_LEN {
            return Err(RoomError::Invalid(format!("stream metadata exceeds {MAX_METADATA_LEN} bytes of JSON")));
        }
        let targets = self.targets(targets)?;
        let stream = serde_json::to_string(stream_id).unwrap_or_default();
        let json = match metadata {
            Some(metadata) => format!(r#"{{"stream":{stream},"metadata":{metadata}}}"#),
            None => format!(r#"{{"stream":{stream}}}"#),
        };
        for &(_, conn) in &targets {
            self.send_control(conn, encode_media(&json));
        }
        Ok(targets)
    }

    /// A track of stream `stream_id` arrived on `conn`: whose it is and what its stream was
    /// announced with. A stream the peer did not announce in this room is reported only if
    /// `unannounced_too` (a shared connection offers a track to each of its rooms, and to the
    /// one negotiating its media if none announced it).
    pub fn track_arrived(&mut self, conn: ConnId, stream_id: &str, unannounced_too: bool) -> Option<ArrivedTrack> {
        let c = self.conns.get_mut(&conn).filter(|c| c.is_joined())?;
        if !unannounced_too && !c.streams.metadata.contains_key(stream_id) {
            return None;
        }
        let peer = c.remote.clone()?;
        let metadata = c.streams.metadata.get(stream_id).cloned().flatten();
        if c.streams.reported.len() >= MAX_STREAMS {
            c.streams.reported.clear();
        }
        let new_stream = c.streams.reported.insert(stream_id.to_owned());
        Some(ArrivedTrack { peer, metadata, new_stream })
    }

    /// The peer announced a stream's metadata.
    pub(super) fn on_stream_metadata(&mut self, conn: ConnId, text: &str) {
        let announcement: Announcement<'_> = match serde_json::from_str(text) {
            Ok(announcement) => announcement,
            Err(_) => return self.warn_about(conn, "dropped unreadable stream metadata".to_owned()),
        };
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.streams.metadata.len() >= MAX_STREAMS {
            c.streams.metadata.clear();
        }
        let metadata = announcement.metadata.map(|m| m.get().to_owned());
        c.streams.metadata.insert(announcement.stream.into_owned(), metadata);
    }
}
