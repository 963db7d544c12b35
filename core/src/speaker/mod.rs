//! The speaker: the one state machine that owns the sessions and the route table (and, later,
//! the VPN instances). A runtime feeds it transport events and deadlines with the current time
//! and carries out its [`Output`]s (see the run loop in the crate documentation).

pub mod io;
pub mod outbound;

pub use io::{ConnectionId, Direction, NetInput, NetOutput, PeerId};

use crate::api::{AttachRequest, DetachRequest};
use crate::config::SpeakerConfig;
use crate::config::VpnType;
use crate::dataplane::{Capabilities, Operation};
use crate::rib::codec::RouteAttributes;
use crate::rib::intern::AttributeInterner;
use crate::rib::{GracefulRestart, PeerSession, RibConfig, RouteTable};
use crate::session::{EstablishedSession, LocalIdentity, Session, SessionOutput, SessionState};
use crate::time::Instant;
use crate::vpn::{PendingChange, VpnError, VpnManager, VpnSettings};
use crate::wire::attr::{AsPath, NextHop, Origin, PathAttribute, PathAttributes};
use crate::wire::message::{Notification, RouteRefreshSubtype};
use crate::wire::nlri::Nlri;
use crate::wire::update::{DecodedUpdate, Disposition};
use outbound::{encode_updates, PeerKind, DEFAULT_LOCAL_PREF};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The route table the speaker uses: the codec's NLRI with the attributes of their UPDATE.
pub type Rib = RouteTable<Nlri, RouteAttributes>;

/// Something that happened, for logs and the looking glass; it asks nothing of the runtime.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SpeakerEvent {
    /// A session changed state (RFC 4271 §8.2.2).
    StateChanged {
        /// The peer.
        peer: PeerId,
        /// Its address.
        address: IpAddr,
        /// Before.
        from: SessionState,
        /// After.
        to: SessionState,
        /// Why.
        reason: String,
    },
    /// We sent a NOTIFICATION.
    NotificationSent {
        /// The peer.
        peer: PeerId,
        /// Its address.
        address: IpAddr,
        /// What.
        notification: Notification,
    },
    /// The peer sent a NOTIFICATION.
    NotificationReceived {
        /// The peer.
        peer: PeerId,
        /// Its address.
        address: IpAddr,
        /// What.
        notification: Notification,
    },
    /// Something about a peer that an operator should see (ignored input, collision, RFC 7606
    /// treat-as-withdraw or attribute discard).
    Warning {
        /// The peer.
        peer: PeerId,
        /// Its address.
        address: IpAddr,
        /// What happened.
        message: String,
    },
    /// A connection from an address that is no configured peer was refused.
    UnknownPeerRejected {
        /// Who dialled.
        remote: SocketAddr,
    },
    /// A VPN instance ignored a route or an operation failed.
    VpnWarning {
        /// What happened.
        message: String,
    },
    /// An attach or detach was carried out or refused.
    ApiDone {
        /// The call, for logs.
        call: String,
        /// The error, if it failed.
        error: Option<String>,
    },
}

/// A call of the REST API (reference §3), typed and validated (see [`crate::api`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    /// `POST /attach_localport`.
    Attach(Box<AttachRequest>),
    /// `POST /detach_localport`.
    Detach(Box<DetachRequest>),
}

impl ApiCall {
    fn describe(&self) -> String {
        match self {
            ApiCall::Attach(r) => format!(
                "attach {} {} to {} {}",
                r.mac_address,
                r.ip_address.as_ref().map_or("", |ip| ip.text.as_str()),
                r.vpn_type.name(),
                r.vpn_instance_id
            ),
            ApiCall::Detach(r) => format!(
                "detach {} {} from {} {}",
                r.mac_address,
                r.ip_address.as_ref().map_or("", |ip| ip.text.as_str()),
                r.vpn_type.name(),
                r.vpn_instance_id
            ),
        }
    }
}

/// The runtime's name for an API call, to match the answer to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ApiTicket(pub u64);

/// The speaker's name for a batch of dataplane operations, to match the driver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct BatchId(pub u64);

/// What the speaker asks of its runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Transport work.
    Net(NetOutput),
    /// Something to log.
    Event(SpeakerEvent),
    /// Operations for the driver of `vpn_type`, to apply in order, batch after batch; answer
    /// with [`Speaker::dataplane_done`].
    Dataplane {
        /// The batch.
        batch: BatchId,
        /// Whose driver.
        vpn_type: VpnType,
        /// The operations.
        ops: Vec<Operation>,
    },
    /// The answer to an API call.
    ApiReply {
        /// The call.
        ticket: ApiTicket,
        /// Success, or why not (with its HTTP status).
        result: Result<(), VpnError>,
    },
}

/// One peer's state for status pages and the looking glass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerStatus {
    /// The peer.
    pub peer: PeerId,
    /// Its address.
    pub address: IpAddr,
    /// Its AS.
    pub remote_as: u32,
    /// The session state.
    pub state: SessionState,
    /// The state before.
    pub previous_state: Option<SessionState>,
    /// The negotiated hold time in seconds, when Established.
    pub hold_time: Option<u64>,
    /// Since when the session is in this state.
    pub since: Instant,
    /// The last error that brought the session down.
    pub last_error: Option<String>,
    /// The families in force, when Established.
    pub families: Vec<String>,
}

struct PeerSlot {
    session: Session,
    since: Instant,
    /// How our routes' attributes change for this peer.
    kind: PeerKind,
}

/// An API call waiting for its dataplane batches.
struct PendingCall {
    ticket: ApiTicket,
    description: String,
    change: PendingChange,
    /// Batches not answered yet.
    waiting: Vec<BatchId>,
    /// The first failure.
    error: Option<String>,
}

/// The speaker.
pub struct Speaker {
    config: SpeakerConfig,
    peers: Vec<PeerSlot>,
    conns: BTreeMap<ConnectionId, PeerId>,
    rib: Rib,
    outputs: VecDeque<Output>,
    vpn: VpnManager,
    /// The API call waiting for its dataplane batch.
    pending: Option<PendingCall>,
    /// API calls waiting for the pending one: they are carried out one at a time, in order.
    queued: VecDeque<(ApiTicket, ApiCall)>,
    next_batch: u64,
    stopped: bool,
    /// After a restart with preserved forwarding state: how long our End-of-RIB waits after
    /// start (see [`Speaker::forwarding_preserved`]).
    end_of_rib_deferral: Option<Duration>,
    /// One shared copy of each distinct set of received route attributes.
    attributes: AttributeInterner,
}

impl Speaker {
    /// A speaker for `config`, with randomness (reconnect jitter) from `seed` only.
    pub fn new(config: SpeakerConfig, seed: u64) -> Self {
        let local = LocalIdentity {
            asn: config.local_as,
            router_id: config.router_id,
        };
        let peers = config
            .peers
            .iter()
            .enumerate()
            .map(|(i, peer)| {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                let dial_from = peer.local_address.or_else(|| {
                    let l = config.local_address;
                    (!l.is_unspecified() && l.is_ipv4() == peer.address.is_ipv4()).then_some(l)
                });
                let session_seed = seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                PeerSlot {
                    session: Session::new(
                        PeerId(index),
                        peer.clone(),
                        local,
                        dial_from,
                        session_seed,
                    ),
                    since: Instant::ZERO,
                    kind: PeerKind {
                        local_as: config.local_as,
                        ibgp: peer.remote_as == config.local_as,
                    },
                }
            })
            .collect();
        let rib = RouteTable::new(
            RibConfig {
                hash_seed: seed,
                ..RibConfig::new(config.local_as)
            },
            Arc::new(membership_attributes(&config)),
        );
        let bgp_address = match config.local_address {
            IpAddr::V4(v4) if !v4.is_unspecified() => v4,
            _ => config.router_id,
        };
        let vpn = VpnManager::new(VpnSettings {
            bgp_address,
            dataplane_address: BTreeMap::new(),
            capabilities: BTreeMap::new(),
            seed,
        });
        Speaker {
            config,
            peers,
            conns: BTreeMap::new(),
            rib,
            outputs: VecDeque::new(),
            vpn,
            pending: None,
            queued: VecDeque::new(),
            next_batch: 1,
            stopped: false,
            end_of_rib_deferral: None,
            attributes: AttributeInterner::new(seed),
        }
    }

    /// Before [`start`](Speaker::start): the dataplane kept the forwarding state of an earlier
    /// run (RFC 4724 restarting speaker, §4.1). Sessions with graceful restart configured
    /// announce the Restart State bit and the Forwarding State bit of each family, and our
    /// End-of-RIB (all families but RT-Constraint) waits `end_of_rib_deferral` after start so
    /// that the ports attached again meanwhile have their routes re-advertised before the peers
    /// drop our stale ones.
    pub fn forwarding_preserved(&mut self, end_of_rib_deferral: Duration) {
        for slot in &mut self.peers {
            slot.session.set_forwarding_preserved();
        }
        // Only peers that keep our routes across our restart care when our End-of-RIB comes.
        if self
            .config
            .peers
            .iter()
            .any(|p| p.graceful_restart.is_some())
        {
            self.end_of_rib_deferral = Some(end_of_rib_deferral);
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SpeakerConfig {
        &self.config
    }

    /// The route table, read-only (looking glass).
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// Starts every session: active peers are dialled at once.
    pub fn start(&mut self, now: Instant) {
        if let Some(deferral) = self.end_of_rib_deferral {
            self.rib.defer_end_of_rib(now + deferral);
        }
        for i in 0..self.peers.len() {
            if let Some(slot) = self.peers.get_mut(i) {
                slot.session.start(now);
            }
            self.drain_session(now, i);
        }
    }

    /// A transport event.
    pub fn handle_net(&mut self, now: Instant, input: NetInput) {
        match input {
            NetInput::Connected {
                conn,
                direction,
                peer,
                local,
                remote,
            } => {
                let peer = peer.or_else(|| self.peer_by_address(remote.ip()));
                let Some(peer) = peer else {
                    self.outputs
                        .push_back(Output::Event(SpeakerEvent::UnknownPeerRejected { remote }));
                    self.outputs
                        .push_back(Output::Net(NetOutput::Close { conn }));
                    return;
                };
                let i = index(peer);
                if let Some(slot) = self.peers.get_mut(i) {
                    if slot.session.connected(now, conn, direction, local, remote) {
                        self.conns.insert(conn, peer);
                    }
                }
                self.drain_session(now, i);
            }
            NetInput::DialFailed { peer, reason } => {
                let i = index(peer);
                if let Some(slot) = self.peers.get_mut(i) {
                    slot.session.dial_failed(now, &reason);
                }
                self.drain_session(now, i);
            }
            NetInput::Received { conn, bytes } => {
                if let Some(i) = self.conns.get(&conn).map(|p| index(*p)) {
                    if let Some(slot) = self.peers.get_mut(i) {
                        slot.session.received(now, conn, &bytes);
                    }
                    self.drain_session(now, i);
                }
            }
            NetInput::Written { conn, len } => {
                if let Some(i) = self.conns.get(&conn).map(|p| index(*p)) {
                    if let Some(slot) = self.peers.get_mut(i) {
                        slot.session.written(now, conn, len);
                    }
                }
            }
            NetInput::Closed { conn, reason } => {
                if let Some(i) = self.conns.remove(&conn).map(index) {
                    if let Some(slot) = self.peers.get_mut(i) {
                        slot.session.closed(now, conn, &reason);
                    }
                    self.drain_session(now, i);
                }
            }
        }
        self.flush_rib(now);
    }

    /// Deadlines that have passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            let due = self.peers.get(i).and_then(|s| s.session.poll_timeout());
            if due.is_some_and(|d| d <= now) {
                if let Some(slot) = self.peers.get_mut(i) {
                    slot.session.handle_timeout(now);
                }
                self.drain_session(now, i);
            }
        }
        if self.rib.poll_timeout().is_some_and(|d| d <= now) {
            self.rib.handle_timeout(now);
        }
        self.flush_rib(now);
    }

    /// Stops every session with a Cease (Administrative Shutdown) carrying `message`
    /// (RFC 8203); nothing is dialled afterwards.
    pub fn shutdown(&mut self, now: Instant, message: &str) {
        self.stopped = true;
        for i in 0..self.peers.len() {
            if let Some(slot) = self.peers.get_mut(i) {
                slot.session.stop(now, message);
            }
            self.drain_session(now, i);
        }
    }

    /// Whether [`Speaker::shutdown`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The next thing to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The VPN instances (looking glass).
    pub fn vpn(&self) -> &VpnManager {
        &self.vpn
    }

    /// The VPN instances, for tests.
    #[cfg(test)]
    pub(crate) fn vpn_mut(&mut self) -> &mut VpnManager {
        &mut self.vpn
    }

    /// Declares the driver of a VPN type: what it can do and its local address (next hop of
    /// our routes, tunnel endpoint). Attaches of a type with no driver are refused.
    pub fn register_driver(
        &mut self,
        vpn_type: VpnType,
        address: IpAddr,
        capabilities: Capabilities,
    ) {
        self.vpn.set_driver(vpn_type, address, capabilities);
    }

    /// An API call. The answer comes as [`Output::ApiReply`], after the dataplane accepted the
    /// change; calls are carried out one at a time, in order.
    pub fn api(&mut self, now: Instant, ticket: ApiTicket, call: ApiCall) {
        if self.pending.is_some() {
            self.queued.push_back((ticket, call));
            return;
        }
        self.start_call(now, ticket, call);
        self.flush_rib(now);
    }

    /// The driver's answer to a batch: `Err` with the failures' description.
    pub fn dataplane_done(&mut self, now: Instant, batch: BatchId, result: Result<(), String>) {
        let mine = self
            .pending
            .as_ref()
            .is_some_and(|p| p.waiting.contains(&batch));
        if !mine {
            if let Err(message) = result {
                self.outputs
                    .push_back(Output::Event(SpeakerEvent::VpnWarning {
                        message: format!("dataplane batch {} failed: {message}", batch.0),
                    }));
            }
            return;
        }
        if let Some(p) = self.pending.as_mut() {
            p.waiting.retain(|b| *b != batch);
            if let Err(message) = result {
                p.error.get_or_insert(message);
            }
            if !p.waiting.is_empty() {
                return;
            }
        }
        let Some(PendingCall {
            ticket,
            description,
            change,
            error,
            ..
        }) = self.pending.take()
        else {
            return;
        };
        match error {
            None => {
                let ops = self.vpn.commit(&mut self.rib, change);
                self.emit_typed(ops);
                self.reply(ticket, description, Ok(()));
            }
            Some(message) => {
                let undo = self.vpn.abort(change);
                self.emit_typed(undo);
                self.reply(ticket, description, Err(VpnError::Dataplane(message)));
            }
        }
        self.flush_rib(now);
        while self.pending.is_none() {
            let Some((ticket, call)) = self.queued.pop_front() else {
                break;
            };
            self.start_call(now, ticket, call);
            self.flush_rib(now);
        }
    }

    fn start_call(&mut self, now: Instant, ticket: ApiTicket, call: ApiCall) {
        let description = call.describe();
        if self.stopped {
            self.reply(
                ticket,
                description,
                Err(VpnError::Client("the speaker is shutting down".to_string())),
            );
            return;
        }
        let planned = match call {
            ApiCall::Attach(request) => self.vpn.plan_attach(*request),
            ApiCall::Detach(request) => self.vpn.plan_detach(*request),
        };
        match planned {
            Err(e) => self.reply(ticket, description, Err(e)),
            Ok((change, batches)) if batches.iter().all(|(_, ops)| ops.is_empty()) => {
                let more = self.vpn.commit(&mut self.rib, change);
                self.emit_typed(more);
                self.reply(ticket, description, Ok(()));
                self.flush_rib(now);
            }
            Ok((change, batches)) => {
                let waiting = batches
                    .into_iter()
                    .filter(|(_, ops)| !ops.is_empty())
                    .map(|(vpn_type, ops)| self.emit_ops(vpn_type, ops))
                    .collect();
                self.pending = Some(PendingCall {
                    ticket,
                    description,
                    change,
                    waiting,
                    error: None,
                });
            }
        }
    }

    fn reply(&mut self, ticket: ApiTicket, call: String, result: Result<(), VpnError>) {
        self.outputs.push_back(Output::Event(SpeakerEvent::ApiDone {
            call,
            error: result.as_ref().err().map(ToString::to_string),
        }));
        self.outputs.push_back(Output::ApiReply { ticket, result });
    }

    fn emit_ops(&mut self, vpn_type: VpnType, ops: Vec<Operation>) -> BatchId {
        let batch = BatchId(self.next_batch);
        self.next_batch += 1;
        if !ops.is_empty() {
            self.outputs.push_back(Output::Dataplane {
                batch,
                vpn_type,
                ops,
            });
        }
        batch
    }

    fn emit_typed(&mut self, batches: Vec<(VpnType, Vec<Operation>)>) {
        for (vpn_type, ops) in batches {
            self.emit_ops(vpn_type, ops);
        }
    }

    /// When to call [`Speaker::handle_timeout`] if nothing else happens.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .filter_map(|s| s.session.poll_timeout())
            .chain(self.rib.poll_timeout())
            .min()
    }

    /// Every peer's state.
    pub fn peer_status(&self) -> Vec<PeerStatus> {
        self.peers
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                let s = &slot.session;
                PeerStatus {
                    peer: PeerId(u32::try_from(i).unwrap_or(u32::MAX)),
                    address: s.config().address,
                    remote_as: s.config().remote_as,
                    state: s.state(),
                    previous_state: s.previous_state(),
                    hold_time: s.hold_time().map(|h| h.as_secs()),
                    since: slot.since,
                    last_error: s.last_error().map(str::to_string),
                    families: s
                        .established()
                        .map(|(_, n)| n.decode.families.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// A configured peer's address.
    pub fn peer_address(&self, peer: PeerId) -> Option<IpAddr> {
        self.peers
            .get(index(peer))
            .map(|slot| slot.session.config().address)
    }

    fn peer_by_address(&self, address: IpAddr) -> Option<PeerId> {
        let address = canonical(address);
        self.peers
            .iter()
            .position(|s| canonical(s.session.config().address) == address)
            .and_then(|i| u32::try_from(i).ok())
            .map(PeerId)
    }

    /// Moves a session's outputs into the speaker's, acting on those meant for it.
    fn drain_session(&mut self, now: Instant, i: usize) {
        let peer = PeerId(u32::try_from(i).unwrap_or(u32::MAX));
        loop {
            let Some(slot) = self.peers.get_mut(i) else {
                return;
            };
            let Some(output) = slot.session.poll_output() else {
                return;
            };
            let address = slot.session.config().address;
            match output {
                SessionOutput::Net(net) => {
                    if let NetOutput::Close { conn } = &net {
                        self.conns.remove(conn);
                    }
                    self.outputs.push_back(Output::Net(net));
                }
                SessionOutput::StateChanged { from, to, reason } => {
                    slot.since = now;
                    self.outputs
                        .push_back(Output::Event(SpeakerEvent::StateChanged {
                            peer,
                            address,
                            from,
                            to,
                            reason,
                        }));
                }
                SessionOutput::Established(info) => self.session_up(now, peer, &info),
                SessionOutput::Down { graceful: true, .. } => self.rib.peer_down(now, peer),
                SessionOutput::Down {
                    graceful: false, ..
                } => self.rib.peer_reset(now, peer),
                SessionOutput::Update(decoded) => self.apply_update(peer, address, *decoded),
                SessionOutput::RouteRefresh(rr) => {
                    let enhanced = self.peers.get(i).is_some_and(|s| {
                        s.session
                            .established()
                            .is_some_and(|(_, n)| n.enhanced_route_refresh)
                    });
                    let result = match rr.subtype {
                        RouteRefreshSubtype::Normal => self
                            .rib
                            .peer_route_refresh_request(peer, rr.family, enhanced),
                        RouteRefreshSubtype::BeginningOfRouteRefresh if enhanced => {
                            self.rib.peer_begin_route_refresh(peer, rr.family)
                        }
                        RouteRefreshSubtype::EndOfRouteRefresh if enhanced => {
                            self.rib.peer_end_route_refresh(peer, rr.family)
                        }
                        // RFC 7313 §5: other subtypes, and BoRR/EoRR without the capability,
                        // are ignored.
                        _ => Ok(()),
                    };
                    if let Err(e) = result {
                        self.warn(peer, address, format!("ROUTE-REFRESH ignored: {e}"));
                    }
                }
                SessionOutput::NotificationSent(notification) => {
                    self.outputs
                        .push_back(Output::Event(SpeakerEvent::NotificationSent {
                            peer,
                            address,
                            notification,
                        }))
                }
                SessionOutput::NotificationReceived(notification) => {
                    self.outputs
                        .push_back(Output::Event(SpeakerEvent::NotificationReceived {
                            peer,
                            address,
                            notification,
                        }))
                }
                SessionOutput::Warning(message) => self.warn(peer, address, message),
            }
        }
    }

    fn warn(&mut self, peer: PeerId, address: IpAddr, message: String) {
        self.outputs.push_back(Output::Event(SpeakerEvent::Warning {
            peer,
            address,
            message,
        }));
    }

    fn session_up(&mut self, now: Instant, peer: PeerId, info: &EstablishedSession) {
        let ours_gr = self
            .peers
            .get(index(peer))
            .is_some_and(|s| s.session.config().graceful_restart.is_some());
        // RFC 4724 §4.2: the peer's routes are kept across its restart only when both sides
        // announced the capability.
        let graceful_restart = info
            .negotiated
            .peer_graceful_restart
            .as_ref()
            .filter(|_| ours_gr)
            .map(|gr| GracefulRestart {
                restart_time: Duration::from_secs(u64::from(gr.restart_time)),
                families: gr
                    .families
                    .iter()
                    .map(|f| (f.family, f.forwarding_state))
                    .collect(),
            });
        self.rib.peer_up(
            now,
            peer,
            PeerSession {
                families: info.negotiated.decode.families.clone(),
                graceful_restart,
            },
        );
    }

    /// An UPDATE into the route table, by its RFC 7606 disposition.
    fn apply_update(&mut self, peer: PeerId, address: IpAddr, decoded: DecodedUpdate) {
        let DecodedUpdate {
            update,
            disposition,
            ignored_families,
        } = decoded;
        for family in ignored_families {
            self.warn(
                peer,
                address,
                format!("routes of {family} ignored: family not negotiated"),
            );
        }
        if let Some(family) = update.as_end_of_rib() {
            if let Err(e) = self.rib.peer_end_of_rib(peer, family) {
                self.warn(peer, address, format!("End-of-RIB ignored: {e}"));
            }
            return;
        }
        let mut errors = BTreeSet::new();
        match &disposition {
            Disposition::TreatAsWithdraw { reasons } => {
                let why: Vec<String> = reasons
                    .iter()
                    .map(|r| format!("attribute {}: {}", r.code, r.reason))
                    .collect();
                self.warn(
                    peer,
                    address,
                    format!("UPDATE treated as withdraw (RFC 7606): {}", why.join("; ")),
                );
                for (_, route) in update.all_routes() {
                    if let Err(e) = self.rib.peer_withdraw(peer, &route.nlri) {
                        errors.insert(e.to_string());
                    }
                }
            }
            Disposition::AttributeDiscard { .. }
            | Disposition::Accepted
            | Disposition::SessionReset { .. } => {
                if let Disposition::AttributeDiscard { discarded } = &disposition {
                    let why: Vec<String> = discarded
                        .iter()
                        .map(|r| format!("attribute {}: {}", r.code, r.reason))
                        .collect();
                    self.warn(
                        peer,
                        address,
                        format!("attributes discarded (RFC 7606): {}", why.join("; ")),
                    );
                }
                let withdrawn = update.withdrawn.iter().chain(
                    update
                        .attributes
                        .mp_unreach()
                        .map(|m| m.withdrawn.as_slice())
                        .unwrap_or_default(),
                );
                for route in withdrawn {
                    if let Err(e) = self.rib.peer_withdraw(peer, &route.nlri) {
                        errors.insert(e.to_string());
                    }
                }
                // RFC 4456 §8: a route reflected back to its originator (our BGP Identifier as
                // ORIGINATOR_ID) is ignored, and so replaces nothing: it withdraws.
                let own = update.attributes.list.iter().any(|a| {
                    matches!(a, crate::wire::attr::PathAttribute::OriginatorId(id) if *id == self.config.router_id)
                });
                let (attrs, reachable) = RouteAttributes::take_from(update);
                if own {
                    for route in reachable {
                        if let Err(e) = self.rib.peer_withdraw(peer, &route.nlri) {
                            errors.insert(e.to_string());
                        }
                    }
                } else if !reachable.is_empty() {
                    let attrs = self.attributes.intern(attrs);
                    for route in reachable {
                        if let Err(e) = self.rib.peer_announce(peer, route.nlri, Arc::clone(&attrs))
                        {
                            errors.insert(e.to_string());
                        }
                    }
                }
            }
        }
        for e in errors {
            self.warn(peer, address, format!("routes ignored: {e}"));
        }
    }

    /// Sends what the route table has for each peer and hands instance events to the VPN
    /// instances, until both are quiet (an instance may advertise in answer: readvertisement).
    fn flush_rib(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some((peer, updates)) = self.rib.poll_peer_updates() {
                busy = true;
                let i = index(peer);
                let Some(slot) = self.peers.get_mut(i) else {
                    continue;
                };
                let Some((_, negotiated)) = slot.session.established() else {
                    continue;
                };
                let ctx = negotiated.encode_context();
                let (messages, errors) = encode_updates(updates, slot.kind, &ctx);
                slot.session.send_encoded(now, messages);
                let address = slot.session.config().address;
                self.drain_session(now, i);
                for e in errors {
                    self.warn(peer, address, format!("route not sent: {e}"));
                }
            }
            while let Some(event) = self.rib.poll_instance_event() {
                busy = true;
                let Some((vpn_type, outcome)) = self.vpn.route_event(&mut self.rib, event) else {
                    continue;
                };
                for message in outcome.warnings {
                    self.outputs
                        .push_back(Output::Event(SpeakerEvent::VpnWarning { message }));
                }
                if !outcome.ops.is_empty() {
                    self.emit_ops(vpn_type, outcome.ops);
                }
            }
            if !busy {
                return;
            }
        }
    }
}

fn index(peer: PeerId) -> usize {
    usize::try_from(peer.0).unwrap_or(usize::MAX)
}

/// IPv4-mapped IPv6 addresses (from a dual-stack listener) compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The attributes of our RT-Constraint routes (RFC 4684 §4): ORIGIN IGP, empty AS_PATH,
/// LOCAL_PREF 100, next hop our IPv4 address (or router id).
fn membership_attributes(config: &SpeakerConfig) -> RouteAttributes {
    let next_hop = match config.local_address {
        IpAddr::V4(v4) if !v4.is_unspecified() => v4,
        _ => config.router_id,
    };
    RouteAttributes {
        next_hop: NextHop::Ipv4(next_hop),
        attributes: PathAttributes {
            list: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::default()),
                PathAttribute::LocalPref(DEFAULT_LOCAL_PREF),
            ],
        },
    }
}
