//! One TCP connection of a session, from the moment it is up: OpenSent, OpenConfirm,
//! Established (RFC 4271 §8.2.2), with its framer, negotiated context and timers.

use super::state::SessionState;
use crate::speaker::{ConnectionId, Direction};
use crate::time::Instant;
use crate::wire::capability::Negotiated;
use crate::wire::message::open::Open;
use crate::wire::message::Framer;
use crate::wire::DecodeContext;
use std::net::SocketAddr;
use std::time::Duration;

/// The hold time in force until OPENs are exchanged (RFC 4271 §8.2.2: "a large value",
/// 4 minutes suggested).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);
/// The shortest send-hold time (RFC 9687 §3: 8 minutes, or twice the hold time if larger).
pub const MIN_SEND_HOLD_TIME: Duration = Duration::from_secs(480);

/// The states a connection can be in once TCP is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ConnState {
    OpenSent,
    OpenConfirm,
    Established,
}

impl ConnState {
    pub(crate) fn session_state(self) -> SessionState {
        match self {
            ConnState::OpenSent => SessionState::OpenSent,
            ConnState::OpenConfirm => SessionState::OpenConfirm,
            ConnState::Established => SessionState::Established,
        }
    }
}

/// What the connection has negotiated once the peer's OPEN is accepted.
#[derive(Debug, Clone)]
pub(crate) struct Agreed {
    pub(crate) peer_open: Open,
    pub(crate) negotiated: Negotiated,
    /// The negotiated hold time; zero means no keepalives and no hold timer (RFC 4271 §4.2).
    pub(crate) hold_time: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    pub(crate) direction: Direction,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) state: ConnState,
    pub(crate) framer: Framer,
    pub(crate) agreed: Option<Agreed>,
    /// Decoding context: the default one until the peer's OPEN, then the negotiated one.
    pub(crate) decode: DecodeContext,
    pub(crate) hold_deadline: Option<Instant>,
    pub(crate) keepalive_deadline: Option<Instant>,
    /// Octets handed to the runtime and not yet reported written (RFC 9687).
    pub(crate) unsent: usize,
    pub(crate) send_hold_deadline: Option<Instant>,
    pub(crate) established_at: Option<Instant>,
}

impl Connection {
    pub(crate) fn new(
        now: Instant,
        id: ConnectionId,
        direction: Direction,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Self {
        Connection {
            id,
            direction,
            local,
            remote,
            state: ConnState::OpenSent,
            framer: Framer::new(),
            agreed: None,
            decode: DecodeContext::default(),
            hold_deadline: Some(now + OPEN_HOLD_TIME),
            keepalive_deadline: None,
            unsent: 0,
            send_hold_deadline: None,
            established_at: None,
        }
    }

    /// The hold time in force.
    pub(crate) fn hold_time(&self) -> Duration {
        self.agreed
            .as_ref()
            .map_or(OPEN_HOLD_TIME, |agreed| agreed.hold_time)
    }

    /// RFC 9687 §3: the larger of 8 minutes and twice the hold time.
    pub(crate) fn send_hold_time(&self) -> Duration {
        MIN_SEND_HOLD_TIME.max(self.hold_time() * 2)
    }

    /// The context to encode what we send.
    pub(crate) fn encode_context(&self) -> DecodeContext {
        self.agreed
            .as_ref()
            .map_or_else(DecodeContext::default, |a| a.negotiated.encode_context())
    }

    /// Restarts the hold timer (on every KEEPALIVE or UPDATE, RFC 4271 §8.2.2).
    pub(crate) fn restart_hold(&mut self, now: Instant) {
        let hold = self.hold_time();
        self.hold_deadline = (!hold.is_zero()).then(|| now + hold);
    }

    /// Restarts the keepalive timer (on every KEEPALIVE or UPDATE sent): a third of the hold
    /// time, at least one second (RFC 4271 §10).
    pub(crate) fn restart_keepalive(&mut self, now: Instant) {
        let hold = self.hold_time();
        self.keepalive_deadline = (!hold.is_zero() && self.agreed.is_some())
            .then(|| now + (hold / 3).max(Duration::from_secs(1)));
    }

    /// Counts octets handed to the runtime; the send-hold timer runs while some are unwritten.
    pub(crate) fn queued(&mut self, now: Instant, len: usize) {
        self.unsent = self.unsent.saturating_add(len);
        if self.send_hold_deadline.is_none() && self.unsent > 0 {
            self.send_hold_deadline = Some(now + self.send_hold_time());
        }
    }

    /// The runtime wrote `len` octets: progress restarts the send-hold timer (RFC 9687 §4).
    pub(crate) fn written(&mut self, now: Instant, len: usize) {
        self.unsent = self.unsent.saturating_sub(len);
        self.send_hold_deadline = (self.unsent > 0).then(|| now + self.send_hold_time());
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.hold_deadline,
            self.keepalive_deadline,
            self.send_hold_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
