//! Errors the app sees, each with a stable [`code`](RoomError::code) for JS `Error.code`.

use std::fmt;
use std::time::Duration;

/// Why an app call was refused at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomError {
    /// The room has been left.
    Closed,
    /// A target peer is not connected.
    NotConnected { peer: String },
    /// The call's arguments cannot be sent (e.g. an action name or metadata that is too long).
    Invalid(String),
}

impl RoomError {
    /// Stable code for apps to tell errors apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::NotConnected { .. } => "not-connected",
            Self::Invalid(_) => "invalid",
        }
    }
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the room has been left"),
            Self::NotConnected { peer } => write!(f, "no connected peer {peer}"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for RoomError {}

/// Why a send failed for one of its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The peer refused the payload (over its limits) or dropped it.
    Refused { peer: String },
    /// The peer did not confirm the payload within [`crate::room::ACK_TIMEOUT`].
    Timeout { peer: String },
    /// The peer left the room before confirming the payload.
    Left { peer: String },
    /// We left the room.
    Closed,
    /// The app aborted the send.
    Aborted,
}

impl SendError {
    /// Stable code for apps to tell errors apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused { .. } => "refused",
            Self::Timeout { .. } => "timeout",
            Self::Left { .. } => "left",
            Self::Closed => "closed",
            Self::Aborted => "aborted",
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { peer } => write!(f, "peer {peer} refused the data"),
            Self::Timeout { peer } => {
                let secs = super::ACK_TIMEOUT.as_secs();
                write!(f, "peer {peer} did not confirm the data within {secs} s")
            }
            Self::Left { peer } => write!(f, "peer left room ({peer}) before confirming the data"),
            Self::Closed => f.write_str("the room has been left"),
            Self::Aborted => f.write_str("operation aborted"),
        }
    }
}

impl std::error::Error for SendError {}

/// Why a streamed transfer failed, on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The SHA-256 of what arrived differs from the sender's: nothing was delivered as complete.
    Integrity { peer: String },
    /// The receiving app cancelled the stream.
    Cancelled { peer: String },
    /// The sending app aborted the stream.
    Aborted { peer: String },
    /// The peer did not take the stream, or broke its protocol (the reason says how).
    Refused { peer: String, reason: String },
    /// The peer did not take the stream, or confirm it once sent, in time.
    Timeout { peer: String, waited: Duration },
    /// The peer left the room before the stream was complete.
    Left { peer: String },
    /// We left the room.
    Closed,
    /// Reading what we send failed, or it did not hold the size announced.
    Source(String),
    /// The sender of a stream we adopted no longer has it (it ended, failed, or waited too long).
    Gone { peer: String },
}

impl StreamError {
    /// Stable code for apps to tell errors apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Integrity { .. } => "integrity",
            Self::Cancelled { .. } => "cancelled",
            Self::Aborted { .. } => "aborted",
            Self::Refused { .. } => "refused",
            Self::Timeout { .. } => "timeout",
            Self::Left { .. } => "left",
            Self::Closed => "closed",
            Self::Source(_) => "source",
            Self::Gone { .. } => "gone",
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integrity { peer } => write!(f, "the data from or to peer {peer} failed its SHA-256 check"),
            Self::Cancelled { peer } => write!(f, "peer {peer} cancelled the stream"),
            Self::Aborted { peer } => write!(f, "the stream with peer {peer} was aborted by its sender"),
            Self::Refused { peer, reason } => write!(f, "peer {peer} refused the stream: {reason}"),
            Self::Timeout { peer, waited } => {
                write!(f, "peer {peer} did not answer the stream within {} s", waited.as_secs())
            }
            Self::Left { peer } => write!(f, "peer left room ({peer}) before the stream was complete"),
            Self::Closed => f.write_str("the room has been left"),
            Self::Source(reason) => write!(f, "cannot read what is being sent: {reason}"),
            Self::Gone { peer } => write!(f, "peer {peer} no longer has the stream"),
        }
    }
}

impl std::error::Error for StreamError {}

/// Why a ping failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PingError {
    /// No pong within [`crate::room::PING_TIMEOUT`].
    Timeout { peer: String },
    /// The peer left the room before answering.
    Left { peer: String },
    /// We left the room.
    Closed,
}

impl PingError {
    /// Stable code for apps to tell errors apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::Left { .. } => "left",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for PingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { peer } => write!(f, "ping to peer {peer} got no answer"),
            Self::Left { peer } => write!(f, "peer left room ({peer}) before answering the ping"),
            Self::Closed => f.write_str("the room has been left"),
        }
    }
}

impl std::error::Error for PingError {}

/// Why a request got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// No reply within the request's timeout.
    Timeout { peer: String },
    /// The peer left the room before replying.
    Left { peer: String },
    /// The peer's handler refused (threw), with its message.
    Rejected { peer: String, message: String },
    /// The peer refused the request's payload (over its limits) or did not confirm it in time.
    Undelivered(SendError),
    /// The app aborted the request.
    Aborted,
    /// We left the room.
    Closed,
}

impl RequestError {
    /// Stable code for apps to tell errors apart.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::Left { .. } => "left",
            Self::Rejected { .. } => "rejected",
            Self::Undelivered(e) => e.code(),
            Self::Aborted => "aborted",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { peer } => write!(f, "request timed out (peer {peer})"),
            Self::Left { peer } => write!(f, "peer left room ({peer}) before replying"),
            Self::Rejected { message, .. } => f.write_str(message),
            Self::Undelivered(e) => e.fmt(f),
            Self::Aborted => f.write_str("operation aborted"),
            Self::Closed => f.write_str("the room has been left"),
        }
    }
}

impl std::error::Error for RequestError {}

impl From<SendError> for RequestError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Left { peer } => Self::Left { peer },
            SendError::Closed => Self::Closed,
            SendError::Aborted => Self::Aborted,
            other => Self::Undelivered(other),
        }
    }
}
