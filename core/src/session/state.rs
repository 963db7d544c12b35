//! The states of a BGP session (RFC 4271 §8.2.2).

use std::fmt;

/// A session's state, as RFC 4271 §8.2.2 names it and as BaGPipe-BGP's looking glass shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum SessionState {
    /// Not trying: stopped, or waiting for the next attempt.
    Idle,
    /// Dialling the peer.
    Connect,
    /// Waiting for the peer to dial (a passive peer, or between attempts of an active one).
    Active,
    /// TCP is up and our OPEN is sent; waiting for the peer's.
    OpenSent,
    /// OPENs exchanged; waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Routes flow.
    Established,
}

impl SessionState {
    /// The name RFC 4271 and BaGPipe-BGP's looking glass use.
    pub const fn name(self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Connect => "Connect",
            SessionState::Active => "Active",
            SessionState::OpenSent => "OpenSent",
            SessionState::OpenConfirm => "OpenConfirm",
            SessionState::Established => "Established",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
