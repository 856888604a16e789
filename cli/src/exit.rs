//! Why a run failed, with a distinct exit code for each kind of failure.

use std::fmt;

/// Why `rendez` stops with an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// A file did not arrive or go whole (the peer cancelled or left, a SHA-256 mismatch).
    Transfer(String),
    /// The code is not one `rendez send` prints.
    BadCode(String),
    /// No peer came within the wait.
    NoPeer { waited_secs: u64 },
    /// The room could not start (no network interface, no relay).
    Room(String),
    /// A file could not be read or written (a full disk, a missing file, no permission).
    File(String),
    /// The user declined the files.
    Declined,
}

impl Failure {
    /// The process's exit code: 1 transfer, 3 no peer, 4 room or relays, 5 file, 6 bad code,
    /// 7 declined (2 is clap's, for usage errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Transfer(_) => 1,
            Self::NoPeer { .. } => 3,
            Self::Room(_) => 4,
            Self::File(_) => 5,
            Self::BadCode(_) => 6,
            Self::Declined => 7,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transfer(e) => write!(f, "transfer failed: {e}"),
            Self::BadCode(code) => write!(f, "{code:?} is not a join code (6 letters and digits, as `rendez send` prints)"),
            Self::NoPeer { waited_secs } => write!(
                f,
                "no peer joined within {waited_secs} s (is the other side running, with the same code, strategy, relays and password?)"
            ),
            Self::Room(e) => write!(f, "cannot join the room: {e}"),
            Self::File(e) => write!(f, "{e}"),
            Self::Declined => f.write_str("declined"),
        }
    }
}
