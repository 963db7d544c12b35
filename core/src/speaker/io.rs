//! The core's inputs and outputs: everything a runtime feeds to a [`crate::speaker`] and
//! everything it must carry out (see the run loop in the crate documentation).

use std::net::{IpAddr, SocketAddr};

/// A configured BGP peer, by its index in the configuration. Stable for the life of a speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PeerId(pub u32);

/// One TCP connection, named by the runtime when it reports the connection; never reused by a
/// runtime within the life of a speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ConnectionId(pub u64);

/// Which side opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Direction {
    /// We dialled the peer (after an [`NetOutput::Dial`]).
    Outgoing,
    /// The peer dialled us and the runtime accepted.
    Incoming,
}

/// Transport events a runtime reports to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetInput {
    /// A TCP connection is up. For `Outgoing` it answers the [`NetOutput::Dial`] for `peer`;
    /// for `Incoming` the core finds the peer from `remote` (and refuses unknown ones with
    /// [`NetOutput::Close`]).
    Connected {
        /// The runtime's name for this connection.
        conn: ConnectionId,
        /// Who dialled.
        direction: Direction,
        /// For `Outgoing`, the peer that was dialled; `None` for `Incoming`.
        peer: Option<PeerId>,
        /// Our address on the connection.
        local: SocketAddr,
        /// The peer's address on the connection.
        remote: SocketAddr,
    },
    /// A [`NetOutput::Dial`] failed (refused, unreachable, timed out).
    DialFailed {
        /// The peer that was dialled.
        peer: PeerId,
        /// Why, for logs.
        reason: String,
    },
    /// Bytes arrived on a connection, in order.
    Received {
        /// The connection.
        conn: ConnectionId,
        /// The bytes, as read (any framing).
        bytes: Vec<u8>,
    },
    /// The runtime wrote `len` more octets of what was sent on `conn` to the socket: progress
    /// that keeps the RFC 9687 send-hold timer from expiring. Report every write.
    Written {
        /// The connection.
        conn: ConnectionId,
        /// Octets written.
        len: usize,
    },
    /// The connection was closed by the peer or failed.
    Closed {
        /// The connection.
        conn: ConnectionId,
        /// Why, for logs.
        reason: String,
    },
}

/// Transport work the core asks of a runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutput {
    /// Open a TCP connection to `remote`, from `local` when given; answer with
    /// [`NetInput::Connected`] (direction `Outgoing`) or [`NetInput::DialFailed`].
    Dial {
        /// The peer.
        peer: PeerId,
        /// Address and port to dial.
        remote: SocketAddr,
        /// Local address to bind before dialling.
        local: Option<IpAddr>,
    },
    /// Write these bytes on the connection, in order.
    Send {
        /// The connection.
        conn: ConnectionId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Close the connection once everything sent before has been written.
    Close {
        /// The connection.
        conn: ConnectionId,
    },
}
