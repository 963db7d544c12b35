//! One BGP session per configured peer: the RFC 4271 finite state machine (§8), OPEN checks
//! (§6.2), capability negotiation (RFC 5492), connection collision detection (§6.8), timers as
//! absolute deadlines on the injected clock (Hold, Keepalive, ConnectRetry, and the RFC 9687
//! send-hold timer), and reconnection with back-off and damping.
//!
//! A [`Session`] takes transport events and deadlines from the speaker and queues
//! [`SessionOutput`]s: transport work, and what the speaker must know (the session is up or
//! down, an UPDATE or ROUTE-REFRESH arrived, a NOTIFICATION went out or came in).

pub mod backoff;
mod connection;
pub mod state;

#[cfg(test)]
mod graceful_restart_tests;
#[cfg(test)]
pub(crate) mod tests;

pub use backoff::{Backoff, SeededRng};
pub use state::SessionState;

use crate::config::PeerConfig;
use crate::speaker::{ConnectionId, Direction, NetOutput, PeerId};
use crate::time::Instant;
use crate::wire::capability::{
    announced_families, negotiate, Capability, GracefulRestart, GracefulRestartFamily, Negotiated,
};
use crate::wire::error::{cease_subcode, fsm_subcode, open_subcode};
use crate::wire::message::{Message, MessageType, Notification, Open, RouteRefresh};
use crate::wire::update::{DecodedUpdate, Disposition};
use crate::wire::{BgpError, ErrorCode};
use connection::{Agreed, ConnState, Connection};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Who we are on every session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalIdentity {
    /// Our AS (RFC 6793: may need 4 octets).
    pub asn: u32,
    /// Our BGP Identifier (RFC 4271 §4.2).
    pub router_id: Ipv4Addr,
}

/// A session that reached Established: what both sides agreed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EstablishedSession {
    /// The connection it runs on.
    pub conn: ConnectionId,
    /// Our address on it.
    pub local: SocketAddr,
    /// The peer's address on it.
    pub remote: SocketAddr,
    /// The peer's OPEN.
    pub peer_open: Open,
    /// The capabilities in force (RFC 5492).
    pub negotiated: Negotiated,
    /// The negotiated hold time (RFC 4271 §4.2); zero: no keepalives.
    pub hold_time: Duration,
}

/// What a session asks of the speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutput {
    /// Transport work.
    Net(NetOutput),
    /// The session's state changed (RFC 4271 §8.2.2), with why.
    StateChanged {
        /// Before.
        from: SessionState,
        /// After.
        to: SessionState,
        /// Why, for logs.
        reason: String,
    },
    /// The session is Established: routes may flow.
    Established(Box<EstablishedSession>),
    /// The Established session is gone: the peer's routes must go (or turn stale).
    Down {
        /// Why, for logs.
        reason: String,
        /// Whether graceful restart applies to the loss (RFC 4724 §4.2, RFC 8538 §3): no
        /// NOTIFICATION was exchanged, or both sides announced the N bit and it was not a
        /// Cease/Hard Reset. When false, the peer's routes go at once whatever was negotiated.
        graceful: bool,
    },
    /// An UPDATE to apply; never one whose disposition is a reset (the session did that).
    Update(Box<DecodedUpdate>),
    /// A ROUTE-REFRESH (RFC 2918, RFC 7313) on a session that negotiated it.
    RouteRefresh(RouteRefresh),
    /// We sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// Something an operator should know that changes nothing (ignored message, collision).
    Warning(String),
}

/// One configured peer's session.
#[derive(Debug, Clone)]
pub struct Session {
    peer: PeerId,
    config: PeerConfig,
    local: LocalIdentity,
    dial_from: Option<IpAddr>,
    /// The state when no connection is up: Idle, Connect or Active.
    waiting: SessionState,
    conns: Vec<Connection>,
    retry_at: Option<Instant>,
    backoff: Backoff,
    started: bool,
    stopped: bool,
    reported: SessionState,
    previous: Option<SessionState>,
    last_error: Option<String>,
    /// Whether the dataplane kept the forwarding state of an earlier run of this speaker
    /// (RFC 4724 §3 Forwarding State bit of every family we announce).
    forwarding_preserved: bool,
    /// Whether no session reached Established since this speaker (re)started with preserved
    /// forwarding state (RFC 4724 §3 Restart State bit).
    restarting: bool,
    out: VecDeque<SessionOutput>,
}

/// At most this many connections per peer: one we dialled and one the peer dialled, until
/// collision detection keeps one (RFC 4271 §6.8).
const MAX_CONNECTIONS: usize = 2;

impl Session {
    /// A session for `config`, dialling from `dial_from` (None: the system's choice), with
    /// reconnect jitter seeded by `seed`.
    pub fn new(
        peer: PeerId,
        config: PeerConfig,
        local: LocalIdentity,
        dial_from: Option<IpAddr>,
        seed: u64,
    ) -> Self {
        let backoff = Backoff::new(config.connect_retry, seed);
        Session {
            peer,
            config,
            local,
            dial_from,
            waiting: SessionState::Idle,
            conns: Vec::new(),
            retry_at: None,
            backoff,
            started: false,
            stopped: false,
            reported: SessionState::Idle,
            previous: None,
            last_error: None,
            forwarding_preserved: false,
            restarting: false,
            out: VecDeque::new(),
        }
    }

    /// This speaker restarted and its dataplane kept the forwarding state: the graceful-restart
    /// capability (when configured) sets the Restart State bit until a session is Established
    /// and the Forwarding State bit of every family (RFC 4724 §3, §4.1).
    pub fn set_forwarding_preserved(&mut self) {
        self.forwarding_preserved = true;
        self.restarting = true;
    }

    /// The peer's configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The state: that of the most advanced connection, else Idle, Connect or Active.
    pub fn state(&self) -> SessionState {
        self.conns
            .iter()
            .map(|c| c.state.session_state())
            .max()
            .unwrap_or(self.waiting)
    }

    /// The state before the current one, for the looking glass.
    pub fn previous_state(&self) -> Option<SessionState> {
        self.previous
    }

    /// The negotiated hold time of the Established connection.
    pub fn hold_time(&self) -> Option<Duration> {
        self.conns.iter().find_map(|c| match (&c.state, &c.agreed) {
            (ConnState::Established, Some(a)) => Some(a.hold_time),
            _ => None,
        })
    }

    /// The last error that brought the session down, for the looking glass.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The Established connection and what it negotiated.
    pub fn established(&self) -> Option<(ConnectionId, &Negotiated)> {
        self.conns.iter().find_map(|c| match (&c.state, &c.agreed) {
            (ConnState::Established, Some(a)) => Some((c.id, &a.negotiated)),
            _ => None,
        })
    }

    /// Whether `conn` belongs to this session.
    pub fn owns(&self, conn: ConnectionId) -> bool {
        self.conns.iter().any(|c| c.id == conn)
    }

    /// The next output, in order.
    pub fn poll_output(&mut self) -> Option<SessionOutput> {
        self.out.pop_front()
    }

    /// The earliest deadline of the session.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns
            .iter()
            .filter_map(Connection::next_deadline)
            .chain(self.retry_at)
            .min()
    }

    /// ManualStart (RFC 4271 §8.1.2): an active peer is dialled at once, a passive one waited for.
    pub fn start(&mut self, now: Instant) {
        if self.started || self.stopped {
            return;
        }
        self.started = true;
        self.schedule_attempt(now, "start");
    }

    /// ManualStop (RFC 4271 §8.1.2): a Cease (Administrative Shutdown, with `message` as the
    /// RFC 8203 shutdown communication) on every connection, then Idle for good.
    pub fn stop(&mut self, now: Instant, message: &str) {
        self.stopped = true;
        self.retry_at = None;
        self.waiting = SessionState::Idle;
        let ids: Vec<ConnectionId> = self.conns.iter().map(|c| c.id).collect();
        for id in ids {
            let notification = Notification::cease_shutdown(message);
            self.close_with(now, id, notification, Ending::Stop, message.to_string());
        }
        self.report(format!("stopped: {message}"));
    }

    /// A connection for this peer is up. Returns whether the session took it; when it did not,
    /// it has queued what to do with it (a Cease, then close).
    pub fn connected(
        &mut self,
        now: Instant,
        conn: ConnectionId,
        direction: Direction,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> bool {
        if direction == Direction::Outgoing {
            if self.waiting != SessionState::Connect {
                // A dial we no longer want (stopped, or superseded).
                self.out
                    .push_back(SessionOutput::Net(NetOutput::Close { conn }));
                return false;
            }
            self.waiting = SessionState::Active;
        }
        if self.stopped || !self.started || self.conns.len() >= MAX_CONNECTIONS {
            let why = if self.stopped || !self.started {
                "session is stopped"
            } else {
                "too many connections"
            };
            self.reject(conn, why);
            return false;
        }
        self.retry_at = None;
        let mut c = Connection::new(now, conn, direction, local, remote);
        let open = self.our_open();
        let bytes = Message::Open(open).encode(&c.decode);
        c.queued(now, bytes.len());
        self.conns.push(c);
        self.out
            .push_back(SessionOutput::Net(NetOutput::Send { conn, bytes }));
        let how = match direction {
            Direction::Outgoing => "connected",
            Direction::Incoming => "accepted",
        };
        self.report(format!("{how} {remote} from {local}, OPEN sent"));
        true
    }

    /// Refuses a connection before any OPEN (RFC 4486: Cease, Connection Rejected).
    pub fn reject(&mut self, conn: ConnectionId, why: &str) {
        let notification = Notification::new(
            ErrorCode::Cease,
            cease_subcode::CONNECTION_REJECTED,
            Vec::new(),
        );
        self.out.push_back(SessionOutput::Warning(format!(
            "connection {} rejected: {why}",
            conn.0
        )));
        self.send_notification_and_close(conn, notification);
    }

    /// The dial we asked for failed.
    pub fn dial_failed(&mut self, now: Instant, reason: &str) {
        if self.waiting != SessionState::Connect {
            return;
        }
        self.waiting = SessionState::Active;
        self.last_error = Some(reason.to_string());
        self.backoff.attempt_failed();
        if self.conns.is_empty() {
            self.schedule_attempt(now, &format!("dial failed: {reason}"));
        }
    }

    /// The runtime wrote `len` octets of `conn` (RFC 9687 send-hold progress).
    pub fn written(&mut self, now: Instant, conn: ConnectionId, len: usize) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
            c.written(now, len);
        }
    }

    /// The connection was closed by the peer or failed.
    pub fn closed(&mut self, now: Instant, conn: ConnectionId, reason: &str) {
        if let Some(pos) = self.conns.iter().position(|c| c.id == conn) {
            let c = self.conns.remove(pos);
            self.connection_gone(
                now,
                &c,
                Ending::Failure,
                format!("connection closed: {reason}"),
                None,
            );
        }
    }

    /// Bytes arrived on `conn`.
    pub fn received(&mut self, now: Instant, conn: ConnectionId, bytes: &[u8]) {
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        c.framer.feed(bytes);
        loop {
            let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
                return;
            };
            // The body is decoded where the framer holds it, not copied out first.
            let decoded = match c.framer.next_frame_ref(&c.decode) {
                None => return,
                Some(Ok(frame)) => frame.decode(&c.decode).map_err(|e| (frame.msg_type, e)),
                Some(Err(error)) => {
                    let reason = format!("bad message header: {error}");
                    self.fail(now, conn, error, reason);
                    return;
                }
            };
            let message = match decoded {
                Ok(message) => message,
                Err((msg_type, error)) => {
                    let reason = format!("bad {msg_type:?} message: {error}");
                    self.fail(now, conn, error, reason);
                    return;
                }
            };
            self.handle_message(now, conn, message);
        }
    }

    /// Deadlines that have passed: hold and send-hold expiry, keepalives, the next attempt.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<ConnectionId> = self.conns.iter().map(|c| c.id).collect();
        for id in ids {
            let Some(c) = self.conns.iter_mut().find(|c| c.id == id) else {
                continue;
            };
            if c.hold_deadline.is_some_and(|d| d <= now) {
                let hold = c.hold_time();
                let error = BgpError::new(ErrorCode::HoldTimerExpired, 0, Vec::new());
                self.fail(
                    now,
                    id,
                    error,
                    format!("hold timer expired ({} s)", hold.as_secs()),
                );
                continue;
            }
            if c.send_hold_deadline.is_some_and(|d| d <= now) {
                let error = BgpError::new(ErrorCode::SendHoldTimerExpired, 0, Vec::new());
                let reason = format!(
                    "send hold timer expired: {} octets unwritten for {} s",
                    c.unsent,
                    c.send_hold_time().as_secs()
                );
                self.fail(now, id, error, reason);
                continue;
            }
            if c.keepalive_deadline.is_some_and(|d| d <= now) {
                self.send_message(now, id, &Message::Keepalive);
            }
        }
        if self.retry_at.is_some_and(|d| d <= now) {
            self.retry_at = None;
            if self.conns.is_empty() && !self.stopped {
                self.dial();
            }
        }
    }

    /// Sends already-encoded UPDATE or ROUTE-REFRESH messages on the Established connection;
    /// does nothing when there is none. Restarts the keepalive timer (RFC 4271 §8.2.2).
    pub fn send_encoded(&mut self, now: Instant, messages: Vec<Vec<u8>>) {
        let Some(c) = self
            .conns
            .iter_mut()
            .find(|c| c.state == ConnState::Established)
        else {
            return;
        };
        let conn = c.id;
        for bytes in messages {
            c.queued(now, bytes.len());
            self.out
                .push_back(SessionOutput::Net(NetOutput::Send { conn, bytes }));
        }
        c.restart_keepalive(now);
    }

    fn our_capabilities(&self) -> Vec<Capability> {
        let mut caps: Vec<Capability> = self
            .config
            .families
            .iter()
            .map(|&family| Capability::Multiprotocol { family })
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::EnhancedRouteRefresh);
        caps.push(Capability::FourOctetAs {
            asn: self.local.asn,
        });
        caps.push(Capability::ExtendedMessage);
        if let Some(restart) = self.config.graceful_restart {
            // Every family we announce is preserved across our restarts (the peer keeps our
            // routes while we are away), with the Forwarding State bit only when the dataplane
            // kept what an earlier run programmed (RFC 4724 §3). The N bit: a NOTIFICATION
            // other than Cease/Hard Reset does not end graceful restart (RFC 8538 §2).
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: self.restarting,
                notification: true,
                restart_time: u16::try_from(restart.as_secs()).unwrap_or(4095).min(4095),
                families: self
                    .config
                    .families
                    .iter()
                    .map(|&family| GracefulRestartFamily {
                        family,
                        forwarding_state: self.forwarding_preserved,
                    })
                    .collect(),
            }));
        }
        caps
    }

    fn our_open(&self) -> Open {
        let hold = u16::try_from(self.config.hold_time.as_secs()).unwrap_or(u16::MAX);
        Open::new(
            self.local.asn,
            hold,
            self.local.router_id,
            self.our_capabilities(),
        )
    }

    fn schedule_attempt(&mut self, now: Instant, reason: &str) {
        if self.stopped || !self.started {
            return;
        }
        if self.config.passive {
            self.waiting = SessionState::Active;
            self.report(format!("{reason}; waiting for the peer to connect"));
            return;
        }
        let delay = self.backoff.next_delay();
        if delay.is_zero() {
            self.report(reason.to_string());
            self.dial();
            return;
        }
        self.retry_at = Some(now + delay);
        self.waiting = if self.backoff.is_damped() {
            SessionState::Idle
        } else {
            SessionState::Active
        };
        let damped = if self.backoff.is_damped() {
            " (damped: the session keeps failing)"
        } else {
            ""
        };
        self.report(format!(
            "{reason}; next attempt in {} ms{damped}",
            delay.as_millis()
        ));
    }

    fn dial(&mut self) {
        self.waiting = SessionState::Connect;
        self.out.push_back(SessionOutput::Net(NetOutput::Dial {
            peer: self.peer,
            remote: SocketAddr::new(self.config.address, self.config.port),
            local: self.dial_from,
        }));
        self.report(format!(
            "dialling {}",
            SocketAddr::new(self.config.address, self.config.port)
        ));
    }

    fn report(&mut self, reason: String) {
        let now = self.state();
        if now != self.reported {
            self.out.push_back(SessionOutput::StateChanged {
                from: self.reported,
                to: now,
                reason,
            });
            self.previous = Some(self.reported);
            self.reported = now;
        }
    }

    fn send_message(&mut self, now: Instant, conn: ConnectionId, message: &Message) {
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        let bytes = message.encode(&c.encode_context());
        c.queued(now, bytes.len());
        if matches!(message, Message::Keepalive | Message::Update(_)) {
            c.restart_keepalive(now);
        }
        self.out
            .push_back(SessionOutput::Net(NetOutput::Send { conn, bytes }));
    }

    fn send_notification_and_close(&mut self, conn: ConnectionId, notification: Notification) {
        let bytes = Message::Notification(notification.clone())
            .encode(&crate::wire::DecodeContext::default());
        self.out
            .push_back(SessionOutput::NotificationSent(notification));
        self.out
            .push_back(SessionOutput::Net(NetOutput::Send { conn, bytes }));
        self.out
            .push_back(SessionOutput::Net(NetOutput::Close { conn }));
    }

    /// A protocol error on `conn`: the NOTIFICATION, then close (RFC 4271 §6).
    fn fail(&mut self, now: Instant, conn: ConnectionId, error: BgpError, reason: String) {
        let notification = Notification::new(error.code, error.subcode, error.data);
        self.close_with(now, conn, notification, Ending::Failure, reason);
    }

    fn close_with(
        &mut self,
        now: Instant,
        conn: ConnectionId,
        notification: Notification,
        ending: Ending,
        reason: String,
    ) {
        let Some(pos) = self.conns.iter().position(|c| c.id == conn) else {
            return;
        };
        let c = self.conns.remove(pos);
        self.send_notification_and_close(conn, notification.clone());
        self.connection_gone(now, &c, ending, reason, Some(&notification));
    }

    /// Bookkeeping once a connection is removed: a lost Established session is reported, the
    /// back-off learns of the failure, and the next attempt is scheduled when none is left.
    fn connection_gone(
        &mut self,
        now: Instant,
        c: &Connection,
        ending: Ending,
        reason: String,
        notification: Option<&Notification>,
    ) {
        if c.state == ConnState::Established {
            // RFC 8538 §2: the N bit counts when both sides announced it (we do whenever
            // graceful restart is configured).
            let notification_graceful = self.config.graceful_restart.is_some()
                && c.agreed.as_ref().is_some_and(|a| {
                    a.negotiated
                        .peer_graceful_restart
                        .as_ref()
                        .is_some_and(|gr| gr.notification)
                });
            let graceful = match notification {
                None => true,
                Some(n) => {
                    notification_graceful
                        && !(n.code == ErrorCode::Cease && n.subcode == cease_subcode::HARD_RESET)
                }
            };
            self.out.push_back(SessionOutput::Down {
                reason: reason.clone(),
                graceful,
            });
        }
        match ending {
            Ending::Collision | Ending::Stop => {}
            Ending::Failure => {
                self.last_error = Some(reason.clone());
                match c.established_at {
                    Some(at) => self.backoff.session_lost(now.saturating_duration_since(at)),
                    None => self.backoff.attempt_failed(),
                }
            }
        }
        if self.conns.is_empty() && !self.stopped {
            if self.waiting == SessionState::Connect {
                // Our dial is still in flight: its answer continues the session.
                self.report(reason);
            } else {
                self.schedule_attempt(now, &reason);
            }
        } else {
            self.report(reason);
        }
    }

    fn unexpected(
        &mut self,
        now: Instant,
        conn: ConnectionId,
        state: ConnState,
        what: MessageType,
    ) {
        let subcode = match state {
            ConnState::OpenSent => fsm_subcode::UNEXPECTED_IN_OPEN_SENT,
            ConnState::OpenConfirm => fsm_subcode::UNEXPECTED_IN_OPEN_CONFIRM,
            ConnState::Established => fsm_subcode::UNEXPECTED_IN_ESTABLISHED,
        };
        let error = BgpError::new(ErrorCode::Fsm, subcode, Vec::new());
        let reason = format!("unexpected {what:?} in {}", state.session_state().name());
        self.fail(now, conn, error, reason);
    }

    fn handle_message(&mut self, now: Instant, conn: ConnectionId, message: Message) {
        let Some(state) = self.conns.iter().find(|c| c.id == conn).map(|c| c.state) else {
            return;
        };
        match (state, message) {
            (_, Message::Notification(n)) => {
                let reason = format!("NOTIFICATION received: {n}");
                self.out
                    .push_back(SessionOutput::NotificationReceived(n.clone()));
                if let Some(pos) = self.conns.iter().position(|c| c.id == conn) {
                    let c = self.conns.remove(pos);
                    self.out
                        .push_back(SessionOutput::Net(NetOutput::Close { conn }));
                    let ending = if n.code == ErrorCode::Cease
                        && n.subcode == cease_subcode::CONNECTION_COLLISION_RESOLUTION
                        && !self.conns.is_empty()
                    {
                        Ending::Collision
                    } else {
                        Ending::Failure
                    };
                    self.connection_gone(now, &c, ending, reason, Some(&n));
                }
            }
            (ConnState::OpenSent, Message::Open(open)) => self.open_received(now, conn, open),
            (ConnState::OpenConfirm, Message::Keepalive) => {
                let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
                    return;
                };
                c.state = ConnState::Established;
                c.established_at = Some(now);
                c.restart_hold(now);
                let Some(agreed) = c.agreed.clone() else {
                    return;
                };
                let info = EstablishedSession {
                    conn,
                    local: c.local,
                    remote: c.remote,
                    peer_open: agreed.peer_open,
                    negotiated: agreed.negotiated,
                    hold_time: agreed.hold_time,
                };
                let families: Vec<String> = info
                    .negotiated
                    .decode
                    .families
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let reason = format!(
                    "established, hold time {} s, families {}",
                    info.hold_time.as_secs(),
                    families.join(", ")
                );
                self.last_error = None;
                // The restart is over for this peer: later OPENs clear the R bit (RFC 4724 §3).
                self.restarting = false;
                self.out
                    .push_back(SessionOutput::Established(Box::new(info)));
                self.report(reason);
            }
            (ConnState::Established, Message::Keepalive) => {
                if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
                    c.restart_hold(now);
                }
            }
            (ConnState::Established, Message::Update(decoded)) => {
                if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
                    c.restart_hold(now);
                }
                if let Disposition::SessionReset { error, reason } = &decoded.disposition {
                    let reason = format!("malformed UPDATE: {reason}");
                    self.fail(now, conn, error.clone(), reason);
                    return;
                }
                self.out.push_back(SessionOutput::Update(Box::new(decoded)));
            }
            (ConnState::Established, Message::RouteRefresh(rr)) => {
                let negotiated = self
                    .conns
                    .iter()
                    .find(|c| c.id == conn)
                    .and_then(|c| c.agreed.as_ref())
                    .is_some_and(|a| a.negotiated.route_refresh);
                if negotiated {
                    self.out.push_back(SessionOutput::RouteRefresh(rr));
                } else {
                    // RFC 2918 §4: only a speaker that advertised the capability handles it.
                    self.out.push_back(SessionOutput::Warning(
                        "ROUTE-REFRESH ignored: the capability was not negotiated".into(),
                    ));
                }
            }
            (state, message) => self.unexpected(now, conn, state, message.message_type()),
        }
    }

    /// The peer's OPEN on a connection in OpenSent (RFC 4271 §6.2, §6.8, §8.2.2).
    fn open_received(&mut self, now: Instant, conn: ConnectionId, open: Open) {
        if let Err(error) =
            open.validate(self.config.remote_as, self.local.asn, self.local.router_id)
        {
            let reason = format!(
                "OPEN refused: AS {} identifier {}: {error}",
                open.asn(),
                open.bgp_identifier
            );
            self.fail(now, conn, error, reason);
            return;
        }
        let ours = self.our_capabilities();
        let ibgp = self.config.remote_as == self.local.asn;
        let negotiated = negotiate(&ours, &open.capabilities, ibgp);
        if negotiated.decode.families.is_empty() {
            // RFC 5492 §3: tell the peer which capabilities we needed and it lacked.
            let mut data = Vec::new();
            for cap in ours
                .iter()
                .filter(|c| matches!(c, Capability::Multiprotocol { .. }))
            {
                cap.encode(&mut data);
            }
            let theirs: Vec<String> = announced_families(&open.capabilities)
                .iter()
                .map(ToString::to_string)
                .collect();
            let error = BgpError::open(open_subcode::UNSUPPORTED_CAPABILITY, data);
            let reason = format!("no family in common: the peer offers {}", theirs.join(", "));
            self.fail(now, conn, error, reason);
            return;
        }
        if !self.resolve_collision(now, conn, &open) {
            return;
        }
        let ours_hold = u16::try_from(self.config.hold_time.as_secs()).unwrap_or(u16::MAX);
        let hold = Duration::from_secs(u64::from(ours_hold.min(open.hold_time)));
        let missing: Vec<String> = self
            .config
            .families
            .iter()
            .filter(|f| !negotiated.decode.families.contains(f))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            self.out.push_back(SessionOutput::Warning(format!(
                "the peer did not offer {}",
                missing.join(", ")
            )));
        }
        let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) else {
            return;
        };
        c.decode = negotiated.decode.clone();
        c.agreed = Some(Agreed {
            peer_open: open,
            negotiated,
            hold_time: hold,
        });
        c.state = ConnState::OpenConfirm;
        c.restart_hold(now);
        self.send_message(now, conn, &Message::Keepalive);
        self.report("OPEN received, KEEPALIVE sent".to_string());
    }

    /// Connection collision detection (RFC 4271 §6.8) when `conn` receives `open`: with the
    /// other connection Established the new one goes; otherwise the connection opened by the
    /// side with the lower BGP Identifier goes. Returns whether `conn` survives.
    fn resolve_collision(&mut self, now: Instant, conn: ConnectionId, open: &Open) -> bool {
        let Some(other) = self.conns.iter().find(|c| c.id != conn) else {
            return true;
        };
        let (other_id, other_state) = (other.id, other.state);
        let Some(this) = self.conns.iter().find(|c| c.id == conn) else {
            return false;
        };
        let loser = if other_state == ConnState::Established {
            conn
        } else {
            // The connection the higher identifier dialled survives; with equal identifiers
            // (possible for eBGP), the one the larger AS dialled (RFC 6286 §2.3).
            let ours_key = (u32::from(self.local.router_id), self.local.asn);
            let theirs_key = (u32::from(open.bgp_identifier), open.asn());
            let we_win = ours_key > theirs_key;
            let ours = if this.direction == Direction::Outgoing {
                conn
            } else {
                other_id
            };
            let theirs = if ours == conn { other_id } else { conn };
            if we_win {
                theirs
            } else {
                ours
            }
        };
        let notification = Notification::new(
            ErrorCode::Cease,
            cease_subcode::CONNECTION_COLLISION_RESOLUTION,
            Vec::new(),
        );
        self.out.push_back(SessionOutput::Warning(format!(
            "connection collision: closing connection {}",
            loser.0
        )));
        self.close_with(
            now,
            loser,
            notification,
            Ending::Collision,
            "connection collision resolved".into(),
        );
        loser != conn
    }
}

/// Why a connection ends, for the back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// An error or a loss: counts as a failure.
    Failure,
    /// Collision resolution: the other connection carries on.
    Collision,
    /// Our own stop.
    Stop,
}
