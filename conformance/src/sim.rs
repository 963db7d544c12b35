//! A deterministic network simulator for [`Speaker`]s under virtual time.
//!
//! Nodes are speakers, each with an IP address, and optionally *scripted* raw endpoints that a
//! test drives by hand with bytes (to see how a real speaker answers malformed or unexpected
//! messages). Everything happens on a virtual clock through one event queue ordered by
//! (time, sequence number): a [`BTreeMap`], so that two runs of the same scenario give the same
//! transcript byte for byte.
//!
//! The network model, deliberately simple:
//!
//! - a dial reaches its target after the latency (1 ms by default); if a node is there, up and
//!   accepting, both sides get `Connected` at that moment (the dialler `Outgoing` with its
//!   `PeerId`, the target `Incoming`), otherwise the dialler gets `DialFailed`;
//! - a `Send` arrives as `Received` at the other end after the latency, and is reported
//!   `Written` to the sender at once; a `Close` arrives as `Closed` after the latency, that is
//!   after the data sent before it;
//! - faults: [`Sim::freeze`] (the node processes nothing and its timers do not fire, like
//!   SIGSTOP; what reaches it is held until [`Sim::unfreeze`], which processes the held inputs
//!   in order, then the overdue timers), [`Sim::kill`] and
//!   [`Sim::restart`] (a new `Speaker`; the other ends of its connections see them reset),
//!   [`Sim::drop_link`] (both ends get `Closed` at once, data in flight is lost), and
//!   [`Sim::partition`] (dials between the two nodes fail; bytes and closes between them are
//!   held, as TCP retransmits them, and delivered after [`Sim::heal`]);
//! - bytes that reach a socket its node has closed (or a node that died) are answered with a
//!   reset: the sender gets `Closed`, as TCP answers with RST.
//!
//! VPN work: [`Sim::register_driver`] declares a node's dataplane drivers, [`Sim::api_at`]
//! injects an attach or detach at a virtual time, and every dataplane batch a speaker asks for is
//! recorded ([`Sim::dataplane`], [`Sim::dataplane_log`]) and acknowledged at once, successfully;
//! API answers are recorded too ([`Sim::api_replies`]).
//!
//! The transcript has one line per event, e.g.
//! `t=0.001 A->B OPEN as=64512 hold=90 id=10.0.0.1 caps=[...]` or
//! `t=0.002 A state B OpenSent->OpenConfirm (OPEN received, KEEPALIVE sent)`.
//! Messages are printed when they are sent, decoded with a permissive context (every family
//! this crate decodes, 4-octet AS).

use bagpipe_core::config::{SpeakerConfig, VpnType};
use bagpipe_core::dataplane::{Capabilities, Destination, Operation};
use bagpipe_core::session::SessionState;
use bagpipe_core::speaker::{
    ApiCall, ApiTicket, BatchId, ConnectionId, Direction, NetInput, NetOutput, Output, PeerId,
    Speaker, SpeakerEvent,
};
use bagpipe_core::time::Instant;
use bagpipe_core::vpn::VpnError;
use bagpipe_core::wire::capability::Capability;
use bagpipe_core::wire::message::{Framer, Message, Notification};
use bagpipe_core::wire::update::{DecodedUpdate, Disposition};
use bagpipe_core::wire::{nlri::DECODED_FAMILIES, BgpError, DecodeContext};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The port every node listens on.
pub const BGP_PORT: u16 = 179;
/// The first ephemeral port given to a dialling side.
const FIRST_EPHEMERAL_PORT: u16 = 49152;
/// More events than this at one instant is a livelock (a deadline that never moves).
const MAX_EVENTS_PER_INSTANT: u32 = 100_000;

/// A node of the simulation, by the order it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// The context every message of the transcript is decoded with: every family this crate
/// decodes, 4-octet AS numbers.
pub fn permissive_context() -> DecodeContext {
    DecodeContext {
        families: DECODED_FAMILIES.iter().copied().collect(),
        four_octet_as: true,
        ..DecodeContext::default()
    }
}

/// One message seen on the wire, as the sender sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireMessage {
    /// When it was sent.
    pub at: Instant,
    /// The sender.
    pub from: NodeId,
    /// The receiver (the node at the other end of the connection).
    pub to: Option<NodeId>,
    /// The sender's connection.
    pub conn: ConnectionId,
    /// The message, or why the bytes did not decode.
    pub message: Result<Message, BgpError>,
}

/// A state change reported by a speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// When.
    pub at: Instant,
    /// The speaker.
    pub node: NodeId,
    /// The peer's address.
    pub peer: IpAddr,
    /// Before.
    pub from: SessionState,
    /// After.
    pub to: SessionState,
    /// Why.
    pub reason: String,
}

/// A batch of dataplane operations a speaker asked for (acknowledged at once, successfully).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneRecord {
    /// When.
    pub at: Instant,
    /// The speaker.
    pub node: NodeId,
    /// The speaker's batch id.
    pub batch: BatchId,
    /// Whose driver.
    pub vpn_type: VpnType,
    /// The operations, in order.
    pub ops: Vec<Operation>,
}

/// The answer of a speaker to an API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiReplyRecord {
    /// When.
    pub at: Instant,
    /// The speaker.
    pub node: NodeId,
    /// The call.
    pub ticket: ApiTicket,
    /// Success, or why not.
    pub result: Result<(), VpnError>,
}

enum Kind {
    Speaker {
        config: SpeakerConfig,
        seed: u64,
        speaker: Option<Box<Speaker>>,
        /// The dataplane drivers, registered again on restart.
        drivers: Vec<(VpnType, IpAddr, Capabilities)>,
    },
    Scripted {
        inbox: Vec<NetInput>,
    },
}

struct Node {
    name: String,
    address: IpAddr,
    kind: Kind,
    /// Incarnation: bumped by kill and restart so that stale events are dropped.
    generation: u64,
    up: bool,
    accepting: bool,
    frozen: bool,
    /// Inputs that reached the node while frozen, in order.
    held: Vec<NetInput>,
    /// API calls that reached the node while frozen, in order.
    held_api: Vec<(ApiTicket, ApiCall)>,
    /// The queue key of the node's timer event, if one is scheduled.
    timer: Option<(Instant, u64)>,
}

struct Socket {
    node: NodeId,
    /// The node that dialled the connection.
    dialler: NodeId,
    generation: u64,
    /// The socket at the other end.
    other: ConnectionId,
    remote: SocketAddr,
    /// The node closed it (or died): nothing more reaches it, nothing more leaves it.
    local_closed: bool,
    /// A `Closed` for it is on its way to the node (or held, or delivered).
    dead: bool,
    /// The node has processed the `Closed`.
    told_closed: bool,
}

enum Event {
    DialArrives {
        from: NodeId,
        generation: u64,
        peer: Option<PeerId>,
        sock: ConnectionId,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// Bytes or a close for a socket.
    Deliver {
        sock: ConnectionId,
        bytes: Option<Vec<u8>>,
        reason: String,
    },
    /// An input for a node (`Written`, `DialFailed`).
    Input {
        node: NodeId,
        generation: u64,
        input: NetInput,
    },
    Timer {
        node: NodeId,
    },
    /// An API call for a node.
    Api {
        node: NodeId,
        ticket: ApiTicket,
        call: Box<ApiCall>,
    },
}

/// The simulator.
pub struct Sim {
    now: Instant,
    seq: u64,
    queue: BTreeMap<(Instant, u64), Event>,
    nodes: Vec<Node>,
    sockets: BTreeMap<ConnectionId, Socket>,
    next_conn: u64,
    next_port: u16,
    latency: Duration,
    partitions: BTreeSet<(NodeId, NodeId)>,
    /// What was sent across a partition, in order, for delivery when it heals.
    stalled: Vec<((NodeId, NodeId), Event)>,
    transcript: String,
    messages: Vec<WireMessage>,
    states: Vec<StateRecord>,
    dials: Vec<(Instant, NodeId, IpAddr)>,
    events_now: u32,
    dataplane: Vec<DataplaneRecord>,
    api_replies: Vec<ApiReplyRecord>,
    next_ticket: u64,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// An empty network at time zero with a latency of 1 ms.
    pub fn new() -> Self {
        Sim {
            now: Instant::ZERO,
            seq: 0,
            queue: BTreeMap::new(),
            nodes: Vec::new(),
            sockets: BTreeMap::new(),
            next_conn: 1,
            next_port: FIRST_EPHEMERAL_PORT,
            latency: Duration::from_millis(1),
            partitions: BTreeSet::new(),
            stalled: Vec::new(),
            transcript: String::new(),
            messages: Vec::new(),
            states: Vec::new(),
            dials: Vec::new(),
            events_now: 0,
            dataplane: Vec::new(),
            api_replies: Vec::new(),
            next_ticket: 1,
        }
    }

    /// Sets the one-way latency of every link (and of dials).
    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    /// Adds a speaker at `config.local_address`, not yet started (see [`Sim::start`]).
    pub fn add_speaker(&mut self, name: &str, config: SpeakerConfig, seed: u64) -> NodeId {
        let address = config.local_address;
        let speaker = Speaker::new(config.clone(), seed);
        self.add_node(
            name,
            address,
            Kind::Speaker {
                config,
                seed,
                speaker: Some(Box::new(speaker)),
                drivers: Vec::new(),
            },
        )
    }

    /// Adds a scripted endpoint at `address`: it accepts connections and records what reaches
    /// it; the test sends with [`Sim::script_send`].
    pub fn add_scripted(&mut self, name: &str, address: IpAddr) -> NodeId {
        self.add_node(name, address, Kind::Scripted { inbox: Vec::new() })
    }

    fn add_node(&mut self, name: &str, address: IpAddr, kind: Kind) -> NodeId {
        self.nodes.push(Node {
            name: name.to_string(),
            address,
            kind,
            generation: 0,
            up: true,
            accepting: true,
            frozen: false,
            held: Vec::new(),
            held_api: Vec::new(),
            timer: None,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Every message sent so far, in order.
    pub fn messages(&self) -> &[WireMessage] {
        &self.messages
    }

    /// Every state change reported so far, in order.
    pub fn states(&self) -> &[StateRecord] {
        &self.states
    }

    /// The NOTIFICATIONs `from` sent to `to`, with when.
    pub fn notifications(&self, from: NodeId, to: NodeId) -> Vec<(Instant, Notification)> {
        self.messages
            .iter()
            .filter(|m| m.from == from && m.to == Some(to))
            .filter_map(|m| match &m.message {
                Ok(Message::Notification(n)) => Some((m.at, n.clone())),
                _ => None,
            })
            .collect()
    }

    /// When `node` dialled `to`.
    pub fn dial_times(&self, node: NodeId, to: NodeId) -> Vec<Instant> {
        let address = self.node(to).address;
        self.dials
            .iter()
            .filter(|(_, n, a)| *n == node && *a == address)
            .map(|(t, _, _)| *t)
            .collect()
    }

    /// The node that dialled the connection `conn` (either side's name for it).
    pub fn dialled_by(&self, conn: ConnectionId) -> Option<NodeId> {
        self.sockets.get(&conn).map(|s| s.dialler)
    }

    /// The state of `node`'s session with `peer`, as its speaker reports it (None for a node
    /// that is down, scripted, or without such a peer).
    pub fn state(&self, node: NodeId, peer: NodeId) -> Option<SessionState> {
        let address = self.node(peer).address;
        self.speaker(node)?
            .peer_status()
            .into_iter()
            .find(|s| s.address == address)
            .map(|s| s.state)
    }

    /// The speaker of `node`, when it is a speaker and up.
    pub fn speaker(&self, node: NodeId) -> Option<&Speaker> {
        match &self.node(node).kind {
            Kind::Speaker { speaker, .. } => speaker.as_deref(),
            Kind::Scripted { .. } => None,
        }
    }

    /// Whether `node` is up (not killed).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.node(node).up
    }

    /// Whether `node` is frozen.
    pub fn is_frozen(&self, node: NodeId) -> bool {
        self.node(node).frozen
    }

    /// Whether `a` and `b` are partitioned.
    pub fn is_partitioned(&self, a: NodeId, b: NodeId) -> bool {
        self.partitioned(a, b)
    }

    /// The node's name.
    pub fn name(&self, node: NodeId) -> &str {
        &self.node(node).name
    }

    /// The node's address.
    pub fn address(&self, node: NodeId) -> IpAddr {
        self.node(node).address
    }

    /// Adds a line of the test's own to the transcript.
    pub fn note(&mut self, text: &str) {
        self.line(format!("-- {text}"));
    }

    /// Starts the speaker of `node` (ManualStart of every peer).
    pub fn start(&mut self, node: NodeId) {
        let now = self.now;
        if let Kind::Speaker {
            speaker: Some(s), ..
        } = &mut self.node_mut(node).kind
        {
            s.start(now);
        }
        self.drain(node);
    }

    /// Starts every speaker, in the order they were added.
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(NodeId(i));
        }
    }

    /// Shuts the speaker of `node` down with `message` (Cease, Administrative Shutdown).
    pub fn shutdown(&mut self, node: NodeId, message: &str) {
        let now = self.now;
        self.line(format!("{} shutdown {message:?}", self.name(node)));
        if let Kind::Speaker {
            speaker: Some(s), ..
        } = &mut self.node_mut(node).kind
        {
            s.shutdown(now, message);
        }
        self.drain(node);
    }

    /// Whether `node` accepts incoming connections (it does by default).
    pub fn set_accepting(&mut self, node: NodeId, accepting: bool) {
        self.node_mut(node).accepting = accepting;
    }

    /// Freezes `node` like SIGSTOP: it processes nothing and its timers do not fire; what
    /// reaches it is held (the kernel still accepts connections and buffers bytes).
    pub fn freeze(&mut self, node: NodeId) {
        self.line(format!("{} frozen", self.name(node)));
        self.node_mut(node).frozen = true;
    }

    /// Resumes a frozen node: what was held is processed in order, then its overdue timers.
    pub fn unfreeze(&mut self, node: NodeId) {
        let held = std::mem::take(&mut self.node_mut(node).held);
        self.line(format!(
            "{} unfrozen ({} held inputs)",
            self.name(node),
            held.len()
        ));
        self.node_mut(node).frozen = false;
        for input in held {
            self.apply(node, input);
        }
        let held_api = std::mem::take(&mut self.node_mut(node).held_api);
        for (ticket, call) in held_api {
            self.apply_api(node, ticket, call);
        }
        self.fire_timer(node);
    }

    /// Kills `node`: its speaker is gone, the other ends of its connections see them reset
    /// (after the latency), and nothing reaches it until [`Sim::restart`].
    pub fn kill(&mut self, node: NodeId) {
        self.line(format!("{} killed", self.name(node)));
        let n = self.node_mut(node);
        n.up = false;
        n.frozen = false;
        n.held.clear();
        n.held_api.clear();
        n.generation += 1;
        if let Kind::Speaker { speaker, .. } = &mut n.kind {
            *speaker = None;
        }
        if let Some(key) = n.timer.take() {
            self.queue.remove(&key);
        }
        let mine: Vec<ConnectionId> = self
            .sockets
            .iter()
            .filter(|(_, s)| s.node == node && !s.local_closed && !s.dead)
            .map(|(id, _)| *id)
            .collect();
        for id in mine {
            self.close_socket(id, "connection reset by peer");
        }
    }

    /// Restarts a killed `node` with a new speaker (seeded anew) and starts it.
    pub fn restart(&mut self, node: NodeId) {
        self.line(format!("{} restarted", self.name(node)));
        let n = self.node_mut(node);
        n.up = true;
        n.generation += 1;
        let generation = n.generation;
        if let Kind::Speaker {
            config,
            seed,
            speaker,
            drivers,
        } = &mut n.kind
        {
            let mut new = Speaker::new(config.clone(), seed.wrapping_add(generation));
            for (vpn_type, address, capabilities) in drivers.iter() {
                new.register_driver(*vpn_type, *address, capabilities.clone());
            }
            *speaker = Some(Box::new(new));
        }
        self.start(node);
    }

    /// Drops every connection between `a` and `b`: both ends get `Closed` at once; data in
    /// flight is lost.
    pub fn drop_link(&mut self, a: NodeId, b: NodeId) {
        self.line(format!("link {}-{} dropped", self.name(a), self.name(b)));
        let ids: Vec<ConnectionId> = self
            .sockets
            .iter()
            .filter(|(_, s)| {
                let other = self.sockets.get(&s.other).map(|o| o.node);
                (s.node == a && other == Some(b)) || (s.node == b && other == Some(a))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(s) = self.sockets.get_mut(&id) else {
                continue;
            };
            if s.local_closed || s.dead {
                continue;
            }
            s.dead = true;
            let (node, generation) = (s.node, s.generation);
            self.push(
                self.now,
                Event::Input {
                    node,
                    generation,
                    input: NetInput::Closed {
                        conn: id,
                        reason: "link down".into(),
                    },
                },
            );
        }
    }

    /// Partitions `a` from `b`: dials between them fail, bytes and closes between them are held
    /// until [`Sim::heal`].
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.line(format!("partition {}|{}", self.name(a), self.name(b)));
        self.partitions.insert(pair(a, b));
    }

    /// Ends a partition.
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.line(format!("heal {}|{}", self.name(a), self.name(b)));
        self.partitions.remove(&pair(a, b));
        let (held, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.stalled)
            .into_iter()
            .partition(|(p, _)| *p == pair(a, b));
        self.stalled = kept;
        for (_, event) in held {
            self.push(self.now + self.latency, event);
        }
    }

    /// A scripted endpoint dials `to`; returns its side of the connection, which it gets as
    /// `Connected` (or `DialFailed`) in its inbox after the latency.
    pub fn script_dial(&mut self, node: NodeId, to: NodeId) -> ConnectionId {
        let remote = SocketAddr::new(self.node(to).address, BGP_PORT);
        self.dial(node, None, remote, None)
    }

    /// A scripted endpoint sends `bytes` on `conn`.
    pub fn script_send(&mut self, node: NodeId, conn: ConnectionId, bytes: Vec<u8>) {
        self.net_output(node, NetOutput::Send { conn, bytes });
    }

    /// A scripted endpoint closes `conn`.
    pub fn script_close(&mut self, node: NodeId, conn: ConnectionId) {
        self.net_output(node, NetOutput::Close { conn });
    }

    /// What reached a scripted endpoint (everything but `Written`), in order.
    pub fn script_inbox(&self, node: NodeId) -> &[NetInput] {
        match &self.node(node).kind {
            Kind::Scripted { inbox } => inbox,
            Kind::Speaker { .. } => &[],
        }
    }

    /// The last connection a scripted endpoint accepted.
    pub fn script_accepted(&self, node: NodeId) -> Option<ConnectionId> {
        self.script_inbox(node).iter().rev().find_map(|i| match i {
            NetInput::Connected {
                conn,
                direction: Direction::Incoming,
                ..
            } => Some(*conn),
            _ => None,
        })
    }

    /// Whether a scripted endpoint was told `conn` is closed.
    pub fn script_closed(&self, node: NodeId, conn: ConnectionId) -> bool {
        self.script_inbox(node)
            .iter()
            .any(|i| matches!(i, NetInput::Closed { conn: c, .. } if *c == conn))
    }

    /// The messages a scripted endpoint received on `conn`, decoded with the permissive
    /// context.
    pub fn script_messages(
        &self,
        node: NodeId,
        conn: ConnectionId,
    ) -> Vec<Result<Message, BgpError>> {
        let mut framer = Framer::new();
        for input in self.script_inbox(node) {
            if let NetInput::Received { conn: c, bytes } = input {
                if *c == conn {
                    framer.feed(bytes);
                }
            }
        }
        let ctx = permissive_context();
        let mut out = Vec::new();
        while let Some(frame) = framer.next_frame(&ctx) {
            out.push(frame.and_then(|f| f.decode(&ctx)));
        }
        out
    }

    /// Runs every event up to and including `t`; the clock ends at `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some((&(at, seq), _)) = self.queue.iter().next() {
            if at > t {
                break;
            }
            let Some(event) = self.queue.remove(&(at, seq)) else {
                break;
            };
            if at > self.now {
                self.events_now = 0;
            }
            self.events_now += 1;
            assert!(
                self.events_now < MAX_EVENTS_PER_INSTANT,
                "livelock at t={}: the same instant keeps producing events",
                fmt_time(at)
            );
            self.now = self.now.max(at);
            self.handle(event, (at, seq));
        }
        self.now = self.now.max(t);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    fn node(&self, node: NodeId) -> &Node {
        &self.nodes[node.0]
    }

    fn node_mut(&mut self, node: NodeId) -> &mut Node {
        &mut self.nodes[node.0]
    }

    fn name_of(&self, address: IpAddr) -> String {
        self.node_at(address)
            .map_or_else(|| address.to_string(), |n| self.name(n).to_string())
    }

    fn node_at(&self, address: IpAddr) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.address == address)
            .map(NodeId)
    }

    fn partitioned(&self, a: NodeId, b: NodeId) -> bool {
        self.partitions.contains(&pair(a, b))
    }

    fn line(&mut self, text: String) {
        let _ = writeln!(self.transcript, "t={} {text}", fmt_time(self.now));
    }

    fn push(&mut self, at: Instant, event: Event) -> (Instant, u64) {
        let key = (at, self.seq);
        self.seq += 1;
        self.queue.insert(key, event);
        key
    }

    fn handle(&mut self, event: Event, key: (Instant, u64)) {
        match event {
            Event::DialArrives {
                from,
                generation,
                peer,
                sock,
                local,
                remote,
            } => self.dial_arrives(from, generation, peer, sock, local, remote),
            Event::Deliver {
                sock,
                bytes,
                reason,
            } => {
                let Some(s) = self.sockets.get_mut(&sock) else {
                    return;
                };
                if s.local_closed && bytes.is_some() {
                    // TCP answers bytes for a closed socket with a reset.
                    let other = s.other;
                    self.push(
                        self.now + self.latency,
                        Event::Deliver {
                            sock: other,
                            bytes: None,
                            reason: "connection reset by peer".into(),
                        },
                    );
                    return;
                }
                if s.local_closed || s.dead {
                    return;
                }
                let (node, generation) = (s.node, s.generation);
                let input = match bytes {
                    Some(bytes) => NetInput::Received { conn: sock, bytes },
                    None => {
                        s.dead = true;
                        NetInput::Closed { conn: sock, reason }
                    }
                };
                self.input(node, generation, input);
            }
            Event::Input {
                node,
                generation,
                input,
            } => self.input(node, generation, input),
            Event::Timer { node } => {
                if self.node(node).timer == Some(key) {
                    self.node_mut(node).timer = None;
                }
                self.fire_timer(node);
            }
            Event::Api { node, ticket, call } => {
                let n = self.node_mut(node);
                if !n.up {
                    let name = self.name(node).to_string();
                    self.line(format!("{name} api #{} dropped: node down", ticket.0));
                } else if n.frozen {
                    n.held_api.push((ticket, *call));
                } else {
                    self.apply_api(node, ticket, *call);
                }
            }
        }
    }

    fn fire_timer(&mut self, node: NodeId) {
        let now = self.now;
        let n = self.node_mut(node);
        if !n.up || n.frozen {
            return;
        }
        if let Kind::Speaker {
            speaker: Some(s), ..
        } = &mut n.kind
        {
            if s.poll_timeout().is_some_and(|d| d <= now) {
                s.handle_timeout(now);
            }
        }
        self.drain(node);
    }

    fn dial_arrives(
        &mut self,
        from: NodeId,
        generation: u64,
        peer: Option<PeerId>,
        sock: ConnectionId,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        if self.node(from).generation != generation {
            return;
        }
        let target = self.node_at(remote.ip());
        let refused = match target {
            None => Some("no route to host"),
            Some(t) if self.partitioned(from, t) => Some("no route to host"),
            Some(t) if !self.node(t).up || !self.node(t).accepting => Some("connection refused"),
            Some(_) => None,
        };
        let (Some(target), None) = (target, refused) else {
            let reason = refused.unwrap_or("refused").to_string();
            self.line(format!(
                "{} dial {} failed: {reason}",
                self.name(from),
                self.name_of(remote.ip())
            ));
            self.input(
                from,
                generation,
                NetInput::DialFailed {
                    peer: peer.unwrap_or(PeerId(0)),
                    reason,
                },
            );
            return;
        };
        let theirs = ConnectionId(self.next_conn);
        self.next_conn += 1;
        let target_generation = self.node(target).generation;
        self.sockets.insert(
            sock,
            Socket {
                node: from,
                dialler: from,
                generation,
                other: theirs,
                remote,
                local_closed: false,
                dead: false,
                told_closed: false,
            },
        );
        self.sockets.insert(
            theirs,
            Socket {
                node: target,
                dialler: from,
                generation: target_generation,
                other: sock,
                remote: local,
                local_closed: false,
                dead: false,
                told_closed: false,
            },
        );
        self.line(format!(
            "{}->{} connected (#{} -> #{})",
            self.name(from),
            self.name(target),
            sock.0,
            theirs.0
        ));
        self.input(
            from,
            generation,
            NetInput::Connected {
                conn: sock,
                direction: Direction::Outgoing,
                peer,
                local,
                remote,
            },
        );
        self.input(
            target,
            target_generation,
            NetInput::Connected {
                conn: theirs,
                direction: Direction::Incoming,
                peer: None,
                local: remote,
                remote: local,
            },
        );
    }

    /// An input reaches `node`: held when frozen, dropped when it is for an older incarnation.
    fn input(&mut self, node: NodeId, generation: u64, input: NetInput) {
        let n = self.node_mut(node);
        if n.generation != generation || !n.up {
            return;
        }
        if n.frozen {
            n.held.push(input);
            return;
        }
        self.apply(node, input);
    }

    fn apply(&mut self, node: NodeId, input: NetInput) {
        let now = self.now;
        if let NetInput::Closed { conn, .. } = &input {
            if let Some(s) = self.sockets.get_mut(conn) {
                s.told_closed = true;
            }
        }
        match &mut self.node_mut(node).kind {
            Kind::Speaker {
                speaker: Some(s), ..
            } => s.handle_net(now, input),
            Kind::Speaker { speaker: None, .. } => {}
            Kind::Scripted { inbox } => {
                if !matches!(input, NetInput::Written { .. }) {
                    inbox.push(input);
                }
            }
        }
        self.drain(node);
    }

    /// Carries out a node's outputs and reschedules its timer.
    fn drain(&mut self, node: NodeId) {
        loop {
            let output = match &mut self.node_mut(node).kind {
                Kind::Speaker {
                    speaker: Some(s), ..
                } => s.poll_output(),
                _ => None,
            };
            match output {
                None => break,
                Some(Output::Net(net)) => self.net_output(node, net),
                Some(Output::Event(event)) => self.speaker_event(node, event),
                Some(Output::Dataplane {
                    batch,
                    vpn_type,
                    ops,
                }) => self.dataplane_batch(node, batch, vpn_type, ops),
                Some(Output::ApiReply { ticket, result }) => {
                    let text = match &result {
                        Ok(()) => "ok".to_string(),
                        Err(e) => format!("error {}: {e}", e.http_status()),
                    };
                    self.line(format!(
                        "{} api #{} reply {text}",
                        self.name(node),
                        ticket.0
                    ));
                    self.api_replies.push(ApiReplyRecord {
                        at: self.now,
                        node,
                        ticket,
                        result,
                    });
                }
                // Anything the speaker may ask for later, shown.
                #[allow(unreachable_patterns)]
                Some(other) => self.line(format!("{} output {other:?}", self.name(node))),
            }
        }
        let deadline = match &self.node(node).kind {
            Kind::Speaker {
                speaker: Some(s), ..
            } => s.poll_timeout(),
            _ => None,
        };
        let at = deadline.map(|d| d.max(self.now));
        if self.node(node).timer.map(|(t, _)| t) != at {
            if let Some(key) = self.node_mut(node).timer.take() {
                self.queue.remove(&key);
            }
            if let Some(at) = at {
                let key = self.push(at, Event::Timer { node });
                self.node_mut(node).timer = Some(key);
            }
        }
    }

    fn dial(
        &mut self,
        node: NodeId,
        peer: Option<PeerId>,
        remote: SocketAddr,
        local: Option<IpAddr>,
    ) -> ConnectionId {
        let sock = ConnectionId(self.next_conn);
        self.next_conn += 1;
        let port = self.next_port;
        self.next_port = self
            .next_port
            .checked_add(1)
            .unwrap_or(FIRST_EPHEMERAL_PORT);
        let local = SocketAddr::new(local.unwrap_or(self.node(node).address), port);
        self.dials.push((self.now, node, remote.ip()));
        self.line(format!(
            "{} dial {} ({remote})",
            self.name(node),
            self.name_of(remote.ip())
        ));
        let generation = self.node(node).generation;
        self.push(
            self.now + self.latency,
            Event::DialArrives {
                from: node,
                generation,
                peer,
                sock,
                local,
                remote,
            },
        );
        sock
    }

    fn net_output(&mut self, node: NodeId, net: NetOutput) {
        match net {
            NetOutput::Dial {
                peer,
                remote,
                local,
            } => {
                self.dial(node, Some(peer), remote, local);
            }
            NetOutput::Send { conn, bytes } => self.send(node, conn, bytes),
            NetOutput::Close { conn } => {
                let Some(s) = self.sockets.get(&conn) else {
                    self.line(format!(
                        "{} close #{} (unknown connection)",
                        self.name(node),
                        conn.0
                    ));
                    return;
                };
                let peer_name = self.name_of(s.remote.ip());
                if s.node != node {
                    self.line(format!(
                        "{} close #{} (not its connection)",
                        self.name(node),
                        conn.0
                    ));
                    return;
                }
                if s.local_closed {
                    return;
                }
                self.line(format!("{} close {peer_name} #{}", self.name(node), conn.0));
                self.close_socket(conn, "closed by peer");
            }
        }
    }

    /// The node closes `sock`: the other end gets `Closed` after the data sent before.
    fn close_socket(&mut self, sock: ConnectionId, reason: &str) {
        let Some(s) = self.sockets.get_mut(&sock) else {
            return;
        };
        s.local_closed = true;
        let (node, other) = (s.node, s.other);
        let Some(other_node) = self.sockets.get(&other).map(|o| o.node) else {
            return;
        };
        let event = Event::Deliver {
            sock: other,
            bytes: None,
            reason: reason.to_string(),
        };
        if self.partitioned(node, other_node) {
            self.stalled.push((pair(node, other_node), event));
        } else {
            self.push(self.now + self.latency, event);
        }
    }

    fn send(&mut self, node: NodeId, conn: ConnectionId, bytes: Vec<u8>) {
        let Some(s) = self.sockets.get(&conn) else {
            self.line(format!(
                "{} send on unknown connection #{} ({} octets)",
                self.name(node),
                conn.0,
                bytes.len()
            ));
            return;
        };
        let (to_address, other, closed, generation, owner) = (
            s.remote.ip(),
            s.other,
            s.local_closed || s.told_closed,
            s.generation,
            s.node,
        );
        let to = self.node_at(to_address);
        let arrow = format!("{}->{}", self.name(node), self.name_of(to_address));
        let (decoded, leftover) = decode_stream(&bytes);
        if leftover > 0 {
            self.line(format!(
                "{arrow} ({leftover} octets of an incomplete message)"
            ));
        }
        for message in decoded {
            let text = match &message {
                Ok(m) => summary(m),
                Err(e) => format!("UNDECODABLE {e}"),
            };
            self.line(format!("{arrow} {text}"));
            self.messages.push(WireMessage {
                at: self.now,
                from: node,
                to,
                conn,
                message,
            });
        }
        if owner != node {
            self.line(format!("{arrow} (not its connection #{})", conn.0));
            return;
        }
        if closed {
            self.line(format!(
                "{arrow} (written after close on #{}: dropped)",
                conn.0
            ));
            return;
        }
        let len = bytes.len();
        let event = Event::Deliver {
            sock: other,
            bytes: Some(bytes),
            reason: String::new(),
        };
        match to.filter(|t| self.partitioned(node, *t)) {
            Some(t) => {
                self.line(format!("{arrow} (held: partition)"));
                self.stalled.push((pair(node, t), event));
            }
            None => {
                self.push(self.now + self.latency, event);
            }
        }
        self.push(
            self.now,
            Event::Input {
                node,
                generation,
                input: NetInput::Written { conn, len },
            },
        );
    }

    fn speaker_event(&mut self, node: NodeId, event: SpeakerEvent) {
        let me = self.name(node).to_string();
        match event {
            SpeakerEvent::StateChanged {
                address,
                from,
                to,
                reason,
                ..
            } => {
                self.line(format!(
                    "{me} state {} {from}->{to} ({reason})",
                    self.name_of(address)
                ));
                self.states.push(StateRecord {
                    at: self.now,
                    node,
                    peer: address,
                    from,
                    to,
                    reason,
                });
            }
            // The NOTIFICATION itself is in the transcript as a message.
            SpeakerEvent::NotificationSent { .. } | SpeakerEvent::NotificationReceived { .. } => {}
            SpeakerEvent::Warning {
                address, message, ..
            } => self.line(format!("{me} warning {}: {message}", self.name_of(address))),
            SpeakerEvent::UnknownPeerRejected { remote } => {
                self.line(format!("{me} rejected unknown peer {remote}"));
            }
            // Events about other parts of the speaker (VPN instances, the API), as JSON.
            #[allow(unreachable_patterns)]
            other => {
                let json = serde_json::to_string(&other).unwrap_or_default();
                self.line(format!("{me} event {json}"));
            }
        }
    }
}

/// VPN work: dataplane drivers, API calls injected at a virtual time, and the dataplane batches
/// every speaker asks for, acknowledged at once (successfully) and recorded per node.
impl Sim {
    /// Declares a dataplane driver of `node` (see [`Speaker::register_driver`]); it is declared
    /// again to the new speaker after a [`Sim::restart`].
    pub fn register_driver(
        &mut self,
        node: NodeId,
        vpn_type: VpnType,
        address: IpAddr,
        capabilities: Capabilities,
    ) {
        if let Kind::Speaker {
            speaker, drivers, ..
        } = &mut self.node_mut(node).kind
        {
            if let Some(s) = speaker {
                s.register_driver(vpn_type, address, capabilities.clone());
            }
            drivers.push((vpn_type, address, capabilities));
        }
    }

    /// An API call reaches `node` at `at` (not before now); returns its ticket, unique in the
    /// simulation. A call for a frozen node is held until it is unfrozen; for a dead node it is
    /// dropped.
    pub fn api_at(&mut self, node: NodeId, at: Instant, call: ApiCall) -> ApiTicket {
        let ticket = ApiTicket(self.next_ticket);
        self.next_ticket += 1;
        let at = at.max(self.now);
        self.push(
            at,
            Event::Api {
                node,
                ticket,
                call: Box::new(call),
            },
        );
        ticket
    }

    /// Every dataplane batch asked for so far, in order.
    pub fn dataplane(&self) -> &[DataplaneRecord] {
        &self.dataplane
    }

    /// The dataplane operations `node` asked for so far, in order.
    pub fn dataplane_ops(&self, node: NodeId) -> Vec<Operation> {
        self.dataplane
            .iter()
            .filter(|r| r.node == node)
            .flat_map(|r| r.ops.iter().cloned())
            .collect()
    }

    /// The dataplane batches of `node`, one line per operation:
    /// `t=1.002 evpn #3 setup_remote_endpoint EVI-1 02:00:00:00:00:02 via 10.1.0.2 vni 101 vxlan`.
    pub fn dataplane_log(&self, node: NodeId) -> String {
        let mut out = String::new();
        for r in self.dataplane.iter().filter(|r| r.node == node) {
            for op in &r.ops {
                let _ = writeln!(
                    out,
                    "t={} {} #{} {}",
                    fmt_time(r.at),
                    r.vpn_type.name(),
                    r.batch.0,
                    op_text(op)
                );
            }
        }
        out
    }

    /// The answers to API calls so far, in order.
    pub fn api_replies(&self) -> &[ApiReplyRecord] {
        &self.api_replies
    }

    /// The answer to the call `ticket`, once given.
    pub fn api_reply(&self, ticket: ApiTicket) -> Option<&Result<(), VpnError>> {
        self.api_replies
            .iter()
            .find(|r| r.ticket == ticket)
            .map(|r| &r.result)
    }

    fn apply_api(&mut self, node: NodeId, ticket: ApiTicket, call: ApiCall) {
        let now = self.now;
        self.line(format!(
            "{} api #{} {}",
            self.name(node),
            ticket.0,
            call_text(&call)
        ));
        if let Kind::Speaker {
            speaker: Some(s), ..
        } = &mut self.node_mut(node).kind
        {
            s.api(now, ticket, call);
        }
        self.drain(node);
    }

    fn dataplane_batch(
        &mut self,
        node: NodeId,
        batch: BatchId,
        vpn_type: VpnType,
        ops: Vec<Operation>,
    ) {
        for op in &ops {
            self.line(format!(
                "{} dataplane {} #{} {}",
                self.name(node),
                vpn_type.name(),
                batch.0,
                op_text(op)
            ));
        }
        self.dataplane.push(DataplaneRecord {
            at: self.now,
            node,
            batch,
            vpn_type,
            ops,
        });
        let now = self.now;
        if let Kind::Speaker {
            speaker: Some(s), ..
        } = &mut self.node_mut(node).kind
        {
            s.dataplane_done(now, batch, Ok(()));
        }
    }
}

/// One line for an API call: `attach 02:00:00:00:00:01 10.0.0.5 to evpn net1`.
pub fn call_text(call: &ApiCall) -> String {
    match call {
        ApiCall::Attach(r) => format!(
            "attach {} {}to {} {}",
            r.mac_address,
            r.ip_address
                .as_ref()
                .map_or(String::new(), |ip| format!("{} ", ip.text)),
            r.vpn_type.name(),
            r.vpn_instance_id
        ),
        ApiCall::Detach(r) => format!(
            "detach {} {}from {} {}",
            r.mac_address,
            r.ip_address
                .as_ref()
                .map_or(String::new(), |ip| format!("{} ", ip.text)),
            r.vpn_type.name(),
            r.vpn_instance_id
        ),
    }
}

fn direction_text(d: bagpipe_core::dataplane::Direction) -> &'static str {
    use bagpipe_core::dataplane::Direction as D;
    match d {
        D::Both => "both",
        D::ToPort => "to-port",
        D::FromPort => "from-port",
    }
}

fn port_text(p: &bagpipe_core::dataplane::LocalPort) -> String {
    format!(
        "{} {} ip={} label={} {}",
        p.interface,
        p.mac,
        p.ip.map_or("-".to_string(), |ip| ip.to_string()),
        p.label.map_or("-".to_string(), |l| l.to_string()),
        direction_text(p.direction)
    )
}

fn endpoint_text(e: &bagpipe_core::dataplane::RemoteEndpoint) -> String {
    let destination = match e.destination {
        Destination::Mac(m) => m.to_string(),
        Destination::Prefix(p) => p.to_string(),
    };
    format!(
        "{destination} via {} {} {} lb={}",
        e.next_hop.remote_pe, e.next_hop.id, e.next_hop.encapsulation, e.lb_consistent_hash_order
    )
}

/// One line for a dataplane operation, e.g.
/// `setup_remote_endpoint i1 02:00:00:00:00:02 via 10.1.0.2 vni 101 vxlan lb=0`.
pub fn op_text(op: &Operation) -> String {
    let i = op.instance().0;
    let name = op.name();
    match op {
        Operation::CreateInstance(spec) => format!(
            "{name} i{i} {} {:?} {} linuxbr={} gateway={}",
            spec.vpn_type.name(),
            spec.external_id,
            spec.id,
            spec.linuxbr.as_deref().unwrap_or("-"),
            spec.gateway.map_or("-".to_string(), |g| g.to_string())
        ),
        Operation::CleanupInstance { .. } => format!("{name} i{i}"),
        Operation::VifPlugged { port, .. } => format!("{name} i{i} {}", port_text(port)),
        Operation::VifUnplugged {
            port,
            last_endpoint,
            ..
        } => format!(
            "{name} i{i} {} last_endpoint={last_endpoint}",
            port_text(port)
        ),
        Operation::SetupRemoteEndpoint { endpoint, .. }
        | Operation::RemoveRemoteEndpoint { endpoint, .. } => {
            format!("{name} i{i} {}", endpoint_text(endpoint))
        }
        Operation::AddFloodEntry { entry, .. } | Operation::RemoveFloodEntry { entry, .. } => {
            format!(
                "{name} i{i} {} {} {}",
                entry.remote_vtep, entry.id, entry.encapsulation
            )
        }
        Operation::AddNeighbour { entry, .. } | Operation::RemoveNeighbour { entry, .. } => {
            format!("{name} i{i} {} is-at {}", entry.ip, entry.mac)
        }
        Operation::SetGatewayPort {
            interface,
            gateway_ip,
            ..
        } => format!("{name} i{i} {interface} {gateway_ip}"),
        Operation::GatewayPortDown { interface, .. } => format!("{name} i{i} {interface}"),
        // Operations added later (traffic classifiers), by name.
        #[allow(unreachable_patterns)]
        _ => format!("{name} i{i}"),
    }
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

/// `1.001` (seconds, milliseconds), or six decimals when the time is not a whole millisecond.
pub fn fmt_time(t: Instant) -> String {
    let d = t.since_epoch();
    let nanos = d.subsec_nanos();
    if nanos == d.subsec_millis() * 1_000_000 {
        format!("{}.{:03}", d.as_secs(), nanos / 1_000_000)
    } else {
        format!("{}.{:06}", d.as_secs(), nanos / 1_000)
    }
}

/// The messages in `bytes` (whole messages, as a sender writes them), decoded with the
/// permissive context; a framing error ends the stream. Also returns how many octets are left
/// over after the last whole message.
pub fn decode_stream(bytes: &[u8]) -> (Vec<Result<Message, BgpError>>, usize) {
    let ctx = permissive_context();
    let mut framer = Framer::new();
    framer.feed(bytes);
    let mut out = Vec::new();
    while let Some(frame) = framer.next_frame(&ctx) {
        let failed = frame.is_err();
        out.push(frame.and_then(|f| f.decode(&ctx)));
        if failed {
            break;
        }
    }
    let leftover = if framer.is_failed() {
        0
    } else {
        framer.buffered()
    };
    (out, leftover)
}

/// One line for a message: `OPEN as=64512 hold=90 id=10.0.0.1 caps=[...]`, `KEEPALIVE`,
/// `NOTIFICATION 6/2 Cease/Administrative Shutdown: "bye"`, `UPDATE ...`.
pub fn summary(message: &Message) -> String {
    match message {
        Message::Open(open) => {
            let caps: Vec<String> = open.capabilities.iter().map(capability_name).collect();
            format!(
                "OPEN as={} hold={} id={} caps=[{}]",
                open.asn(),
                open.hold_time,
                open.bgp_identifier,
                caps.join(",")
            )
        }
        Message::Keepalive => "KEEPALIVE".to_string(),
        Message::Notification(n) => {
            format!("NOTIFICATION {}/{} {n}", n.code.to_u8(), n.subcode)
        }
        Message::RouteRefresh(rr) => {
            format!("ROUTE-REFRESH {} {:?}", rr.family, rr.subtype)
        }
        Message::Update(decoded) => update_summary(decoded),
    }
}

fn capability_name(cap: &Capability) -> String {
    match cap {
        Capability::Multiprotocol { family } => format!("mp:{family}"),
        Capability::RouteRefresh => "route-refresh".into(),
        Capability::EnhancedRouteRefresh => "enhanced-route-refresh".into(),
        Capability::FourOctetAs { asn } => format!("as4:{asn}"),
        Capability::GracefulRestart(gr) => format!("graceful-restart:{}s", gr.restart_time),
        Capability::AddPath { .. } => "add-path".into(),
        Capability::ExtendedMessage => "extended-message".into(),
        Capability::ExtendedNextHop { .. } => "extended-next-hop".into(),
        Capability::Fqdn { hostname, .. } => format!("fqdn:{hostname}"),
        Capability::Unknown { code, .. } => format!("unknown:{code}"),
        Capability::Malformed { code, .. } => format!("malformed:{code}"),
    }
}

fn update_summary(decoded: &DecodedUpdate) -> String {
    let update = &decoded.update;
    let mut out = String::from("UPDATE");
    if let Some(family) = update.as_end_of_rib() {
        let _ = write!(out, " End-of-RIB {family}");
    } else {
        if !update.withdrawn.is_empty() {
            let _ = write!(out, " withdrawn={}", update.withdrawn.len());
        }
        if !update.nlri.is_empty() {
            let _ = write!(out, " nlri={}", update.nlri.len());
        }
        if let Some(m) = update.attributes.mp_reach() {
            let _ = write!(out, " reach={}x{}", m.family, m.nlri.len());
        }
        if let Some(m) = update.attributes.mp_unreach() {
            let _ = write!(out, " unreach={}x{}", m.family, m.withdrawn.len());
        }
        let codes: Vec<String> = update
            .attributes
            .list
            .iter()
            .map(|a| a.code().to_string())
            .collect();
        let _ = write!(out, " attrs=[{}]", codes.join(","));
    }
    match &decoded.disposition {
        Disposition::Accepted => {}
        Disposition::AttributeDiscard { discarded } => {
            let why: Vec<String> = discarded
                .iter()
                .map(|p| format!("{}: {}", p.code, p.reason))
                .collect();
            let _ = write!(out, " attribute-discard({})", why.join("; "));
        }
        Disposition::TreatAsWithdraw { reasons } => {
            let why: Vec<String> = reasons
                .iter()
                .map(|p| format!("{}: {}", p.code, p.reason))
                .collect();
            let _ = write!(out, " treat-as-withdraw({})", why.join("; "));
        }
        Disposition::SessionReset { error, reason } => {
            let _ = write!(
                out,
                " session-reset({}/{}: {reason})",
                error.code.to_u8(),
                error.subcode
            );
        }
    }
    for family in &decoded.ignored_families {
        let _ = write!(out, " ignored={family}");
    }
    out
}
