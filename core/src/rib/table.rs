//! The route table: every route the speaker knows (local instances', its own RT-Constraint
//! routes, each peer's Adj-RIB-In), dispatched by (AFI, SAFI, route target) to subscribed local
//! instances (reference §1.5), and to each peer through its Adj-RIB-Out, filtered by the
//! peer's RT-Constraint memberships (RFC 4684 §4).
//!
//! Sans-IO and deterministic: inputs are method calls with the current time; outputs are queued
//! and drained with [`RouteTable::poll_instance_event`] and [`RouteTable::poll_peer_updates`];
//! [`RouteTable::poll_timeout`] says when [`RouteTable::handle_timeout`] is due.
//!
//! Dispatch rules (reference §1.5): a route never goes back to its source, and a route learnt
//! from a peer never goes to a peer (the speaker is not a route reflector). RT-Constraint routes
//! are control plane: they never reach an instance (peer-bug-history row 4).

use super::adj_in::{AdjRibIn, Stored};
use super::adj_out::{AdjRibOut, PeerUpdate};
use super::route::{InstanceId, RibAttributes, RibNlri, Route, RouteSource};
use super::rtc::{MembershipFilter, MembershipScope};
use super::subscription::{InterestChange, Subscription, Subscriptions};
use crate::speaker::io::PeerId;
use crate::time::Instant;
use crate::wire::{Family, RouteTarget};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Settings of the route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RibConfig {
    /// Our AS: the origin AS of the RT-Constraint routes we originate (RFC 4684 §4).
    pub local_as: u32,
    /// How long routes other than RT-Constraint wait for a peer's RT-Constraint End-of-RIB
    /// before they are sent anyway (RFC 4684 §6 with RFC 4724; peer-bug-history row 7).
    pub rtc_end_of_rib_wait: Duration,
    /// The same wait for a peer without graceful restart: such a peer need not send
    /// End-of-RIB at all (RFC 4724 §2; GoBGP does not), so the wait only lets its initial
    /// RT-Constraint routes arrive.
    pub rtc_end_of_rib_wait_without_graceful_restart: Duration,
    /// Upper bound on how long stale routes are kept once a restarting peer is back, waiting for
    /// its End-of-RIB (RFC 4724 §4.2 "stale routes" timer; peer-bug-history row 15).
    pub stale_routes_time: Duration,
    /// The seed of the Adj-RIB-In hash tables (the speaker's seed; see `fixed_hash`).
    pub hash_seed: u64,
}

impl RibConfig {
    /// Defaults: 30 s wait for the RT-Constraint End-of-RIB (2 s from a peer without graceful
    /// restart), 360 s stale-routes bound.
    pub fn new(local_as: u32) -> Self {
        RibConfig {
            local_as,
            rtc_end_of_rib_wait: Duration::from_secs(30),
            rtc_end_of_rib_wait_without_graceful_restart: Duration::from_secs(2),
            stale_routes_time: Duration::from_secs(360),
            hash_seed: 0,
        }
    }
}

/// Graceful restart as announced by the peer in its capability (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GracefulRestart {
    /// Restart Time: how long to keep its routes after the session is lost (RFC 4724 §4.2).
    pub restart_time: Duration,
    /// The families it preserves, with the Forwarding State bit of each (RFC 4724 §3).
    pub families: BTreeMap<Family, bool>,
}

/// What was negotiated on a session that reached Established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerSession {
    /// Families negotiated in both directions (RFC 4760 §8); RT-Constraint filtering applies
    /// when [`Family::RTC`] is among them (RFC 4684 §6).
    pub families: BTreeSet<Family>,
    /// The peer's graceful-restart capability, when both sides announced one (RFC 4724 §3).
    pub graceful_restart: Option<GracefulRestart>,
}

/// A change delivered to a subscribed instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "route")]
pub enum RouteEvent<N, A> {
    /// A new route, or a new version of a route from the same source with the same key (which
    /// replaces the previous one: a change of label or next hop is a change, reference §9 item 4).
    Advertised(Route<N, A>),
    /// The route (as last advertised to the instance) is gone.
    Withdrawn(Route<N, A>),
}

/// A [`RouteEvent`] for one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceEvent<N, A> {
    /// The subscriber.
    pub instance: InstanceId,
    /// What changed.
    pub event: RouteEvent<N, A>,
}

/// Why the route table refused an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RibError {
    /// A route or marker from a peer whose session is not Established.
    NotEstablished(PeerId),
    /// A route of a family the session did not negotiate (peer-bug-history row 14: ignore it).
    FamilyNotNegotiated {
        /// The peer.
        peer: PeerId,
        /// The family.
        family: Family,
    },
    /// An instance tried to advertise an RT-Constraint route; those are the speaker's own
    /// (RFC 4684 §4) and never VPN routes (peer-bug-history row 4).
    MembershipRouteFromInstance(InstanceId),
}

impl core::fmt::Display for RibError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RibError::NotEstablished(p) => write!(f, "peer {} is not established", p.0),
            RibError::FamilyNotNegotiated { peer, family } => {
                write!(f, "family {family} not negotiated with peer {}", peer.0)
            }
            RibError::MembershipRouteFromInstance(i) => {
                write!(f, "instance {} advertised an RT-Constraint route", i.0)
            }
        }
    }
}

impl std::error::Error for RibError {}

/// Counts for the looking glass (reference §4.2 `route_counts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RouteCounts {
    /// Routes of local instances (RT-Constraint routes excluded).
    pub local: usize,
    /// Routes received from peers (all families).
    pub received: usize,
    /// RT-Constraint routes we originate.
    pub membership: usize,
}

/// The RT-Constraint gate of a session: other routes wait for the peer's RT-Constraint
/// End-of-RIB (RFC 4684 §6; peer-bug-history row 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RtcGate {
    Open,
    WaitingUntil(Instant),
}

#[derive(Debug, Clone)]
struct Session {
    families: BTreeSet<Family>,
    rtc: bool,
    gate: RtcGate,
    graceful_restart: Option<GracefulRestart>,
}

impl Session {
    /// Whether `route` belongs in this peer's Adj-RIB-Out.
    fn wants<N: RibNlri, A>(&self, memberships: &MembershipFilter, route: &Route<N, A>) -> bool {
        let family = route.family();
        if !self.families.contains(&family) {
            return false;
        }
        if family == Family::RTC || !self.rtc {
            // RFC 4684 §6: without the capability, a peer gets every route.
            return true;
        }
        self.gate == RtcGate::Open && memberships.matches(route.route_targets())
    }
}

#[derive(Debug, Clone)]
struct PeerState<N: RibNlri, A> {
    session: Option<Session>,
    adj_in: AdjRibIn<N, A>,
    adj_out: AdjRibOut<N, A>,
    memberships: MembershipFilter,
    /// When the stale routes of a restarting peer are flushed (RFC 4724 §4.2).
    stale_deadline: Option<Instant>,
}

impl<N: RibNlri, A> PeerState<N, A> {
    fn new(hash_seed: u64) -> Self {
        PeerState {
            session: None,
            adj_in: AdjRibIn::with_seed(hash_seed),
            adj_out: AdjRibOut::default(),
            memberships: MembershipFilter::default(),
            stale_deadline: None,
        }
    }
}

/// Which families a full synchronisation of a peer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Membership,
    Others,
}

impl Part {
    fn covers(self, family: Family) -> bool {
        (family == Family::RTC) == (self == Part::Membership)
    }
}

/// The route engine: route table, subscriptions, Adj-RIB-In and Adj-RIB-Out of every peer.
#[derive(Debug, Clone)]
pub struct RouteTable<N: RibNlri, A> {
    config: RibConfig,
    membership_attributes: Arc<A>,
    /// Local routes (instances' and our RT-Constraint routes), by key, sorted by source.
    local: BTreeMap<N::Key, Vec<Route<N, A>>>,
    instance_routes: BTreeMap<InstanceId, BTreeSet<N::Key>>,
    peers: BTreeMap<PeerId, PeerState<N, A>>,
    /// Local routes except RT-Constraint ones, by route target and source: replay on subscribe.
    /// Routes from peers are not indexed (an index entry would cost about as much memory as the
    /// route itself); a subscription scans the Adj-RIBs-In instead, in the same order.
    by_route_target: BTreeMap<RouteTarget, BTreeSet<(RouteSource, N::Key)>>,
    /// Local routes by route target: what a new exact membership of a peer can select.
    local_by_route_target: BTreeMap<RouteTarget, BTreeSet<N::Key>>,
    subscriptions: Subscriptions,
    instance_events: VecDeque<InstanceEvent<N, A>>,
    peer_updates: BTreeMap<PeerId, Vec<PeerUpdate<N, A>>>,
    /// Until when our End-of-RIB is held back after a restart with preserved forwarding state
    /// (see [`RouteTable::defer_end_of_rib`]).
    end_of_rib_deferral: Option<Instant>,
    /// The peers whose End-of-RIB (other families than RT-Constraint) waits for that deadline.
    end_of_rib_deferred: BTreeSet<PeerId>,
    scratch_new: Vec<InstanceId>,
    scratch_old: Vec<InstanceId>,
}

impl<N: RibNlri, A: RibAttributes> RouteTable<N, A> {
    /// An empty table. `membership_attributes` are the path attributes of the RT-Constraint
    /// routes we originate (ORIGIN IGP, empty AS_PATH, LOCAL_PREF, next hop = our address).
    pub fn new(config: RibConfig, membership_attributes: Arc<A>) -> Self {
        RouteTable {
            config,
            membership_attributes,
            local: BTreeMap::new(),
            instance_routes: BTreeMap::new(),
            peers: BTreeMap::new(),
            by_route_target: BTreeMap::new(),
            local_by_route_target: BTreeMap::new(),
            subscriptions: Subscriptions::default(),
            instance_events: VecDeque::new(),
            peer_updates: BTreeMap::new(),
            end_of_rib_deferral: None,
            end_of_rib_deferred: BTreeSet::new(),
            scratch_new: Vec::new(),
            scratch_old: Vec::new(),
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// Every local route (instances' and our RT-Constraint routes), in key order.
    pub fn local_routes(&self) -> impl Iterator<Item = &Route<N, A>> {
        self.local.values().flatten()
    }

    /// The Adj-RIB-In of `peer` with the stale mark of each route (RFC 4724 §4.2).
    pub fn adj_rib_in(&self, peer: PeerId) -> impl Iterator<Item = (&Route<N, A>, bool)> {
        self.peers
            .get(&peer)
            .into_iter()
            .flat_map(|p| p.adj_in.iter())
    }

    /// What was sent to `peer` and not withdrawn since, in key order.
    pub fn adj_rib_out(&self, peer: PeerId) -> impl Iterator<Item = &Route<N, A>> {
        self.peers
            .get(&peer)
            .into_iter()
            .flat_map(|p| p.adj_out.routes())
    }

    /// The subscriptions of `instance`.
    pub fn subscriptions(&self, instance: InstanceId) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.of(instance)
    }

    /// Every subscribed instance and its subscriptions.
    pub fn all_subscriptions(&self) -> &BTreeMap<InstanceId, BTreeSet<Subscription>> {
        self.subscriptions.all()
    }

    /// The route targets we announce interest in with RT-Constraint (`None`: the default
    /// membership, for a wildcard subscription).
    pub fn membership_interest(&self) -> impl Iterator<Item = Option<RouteTarget>> + '_ {
        self.subscriptions.interest()
    }

    /// Whether the session with `peer` is Established for the route table.
    pub fn is_established(&self, peer: PeerId) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.session.is_some())
    }

    /// Whether routes other than RT-Constraint ones still wait for `peer`'s RT-Constraint
    /// End-of-RIB (RFC 4684 §6).
    pub fn is_waiting_for_membership(&self, peer: PeerId) -> bool {
        self.peers
            .get(&peer)
            .and_then(|p| p.session.as_ref())
            .is_some_and(|s| s.gate != RtcGate::Open)
    }

    /// Route counts (reference §1.5 item 5).
    pub fn route_counts(&self) -> RouteCounts {
        let mut counts = RouteCounts::default();
        for route in self.local.values().flatten() {
            if route.source() == RouteSource::Speaker {
                counts.membership += 1;
            } else {
                counts.local += 1;
            }
        }
        counts.received = self.peers.values().map(|p| p.adj_in.len()).sum();
        counts
    }

    /// How many routes are in the Adj-RIB-Out of `peer`.
    pub fn adj_rib_out_len(&self, peer: PeerId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.adj_out.len())
    }

    // ----- inputs from local instances -----------------------------------------------------

    /// An instance advertises a route (or a new version of one it advertised with the same key).
    /// An identical re-advertisement changes nothing (reference §8 c6).
    pub fn advertise(
        &mut self,
        instance: InstanceId,
        nlri: N,
        attributes: Arc<A>,
    ) -> Result<(), RibError> {
        if nlri.family() == Family::RTC {
            return Err(RibError::MembershipRouteFromInstance(instance));
        }
        let route = Route::new(RouteSource::Instance(instance), nlri, attributes);
        self.instance_routes
            .entry(instance)
            .or_default()
            .insert(route.key());
        self.store_local(route);
        Ok(())
    }

    /// An instance withdraws the route it advertised for the key of `nlri`; `false` (and
    /// nothing happens) when it had none (reference §8 c7).
    pub fn withdraw(&mut self, instance: InstanceId, nlri: &N) -> bool {
        let key = nlri.key();
        if let Some(keys) = self.instance_routes.get_mut(&instance) {
            keys.remove(&key);
            if keys.is_empty() {
                self.instance_routes.remove(&instance);
            }
        }
        self.remove_local(&key, RouteSource::Instance(instance))
    }

    /// An instance subscribes to routes. Routes already known that match are replayed to it
    /// (reference §1.5 algorithm 1), except its own and those it already gets through another
    /// subscription. Subscribing twice is subscribing once (reference §9 item 5). The first
    /// interest in a route target of a VPN family originates an RT-Constraint route.
    pub fn subscribe(&mut self, instance: InstanceId, sub: Subscription) {
        if self.subscriptions.of(instance).any(|s| *s == sub) {
            return;
        }
        let replay: Vec<Route<N, A>> = self
            .routes_under(sub)
            .filter(|r| r.source() != RouteSource::Instance(instance))
            .filter(|r| {
                !self
                    .subscriptions
                    .instance_matches(instance, r.family(), r.route_targets())
            })
            .cloned()
            .collect();
        let (_, interest) = self.subscriptions.add(instance, sub);
        for route in replay {
            self.instance_events.push_back(InstanceEvent {
                instance,
                event: RouteEvent::Advertised(route),
            });
        }
        self.interest_changed(interest);
    }

    /// An instance unsubscribes. Routes no longer covered by its remaining subscriptions are
    /// withdrawn from it (reference §1.5 algorithm 2). Unknown subscriptions are ignored. The
    /// last interest in a route target withdraws its RT-Constraint route — only when no instance
    /// of any VPN family still wants it (reference §9 item 5).
    pub fn unsubscribe(&mut self, instance: InstanceId, sub: Subscription) {
        self.unsubscribe_inner(instance, sub, true);
    }

    fn unsubscribe_inner(&mut self, instance: InstanceId, sub: Subscription, notify: bool) {
        let (removed, interest) = self.subscriptions.remove(instance, sub);
        if !removed {
            return;
        }
        if notify {
            let gone: Vec<Route<N, A>> = self
                .routes_under(sub)
                .filter(|r| r.source() != RouteSource::Instance(instance))
                .filter(|r| {
                    !self
                        .subscriptions
                        .instance_matches(instance, r.family(), r.route_targets())
                })
                .cloned()
                .collect();
            for route in gone {
                self.instance_events.push_back(InstanceEvent {
                    instance,
                    event: RouteEvent::Withdrawn(route),
                });
            }
        }
        self.interest_changed(interest);
    }

    /// An instance stops: its routes are withdrawn and its subscriptions dropped (reference
    /// §1.5 algorithm 4). It gets no more events, and pending ones for it are discarded.
    pub fn remove_instance(&mut self, instance: InstanceId) {
        let keys = self.instance_routes.remove(&instance).unwrap_or_default();
        for key in keys {
            self.remove_local(&key, RouteSource::Instance(instance));
        }
        let subs: Vec<Subscription> = self.subscriptions.of(instance).copied().collect();
        for sub in subs {
            self.unsubscribe_inner(instance, sub, false);
        }
        self.instance_events.retain(|e| e.instance != instance);
    }

    // ----- inputs from peers ---------------------------------------------------------------

    /// The session with `peer` reached Established. Sends our RT-Constraint routes and their
    /// End-of-RIB first; other routes follow once the peer's RT-Constraint End-of-RIB arrives
    /// (or [`RibConfig::rtc_end_of_rib_wait`] passes), each family closed by an End-of-RIB
    /// (RFC 4684 §6, RFC 4724 §2). Stale routes kept from the previous session stay until the
    /// peer's End-of-RIB for their family or [`RibConfig::stale_routes_time`], unless the new
    /// session no longer preserves that family (RFC 4724 §4.2).
    pub fn peer_up(&mut self, now: Instant, peer: PeerId, session: PeerSession) {
        if self.is_established(peer) {
            self.peer_down(now, peer);
        }
        let hash_seed = self.config.hash_seed;
        let state = self
            .peers
            .entry(peer)
            .or_insert_with(|| PeerState::new(hash_seed));
        // RFC 4724 §4.2: stale routes of a family the peer no longer preserves (not in its
        // new capability, or without the Forwarding State bit) are deleted at once.
        let preserved = |family: Family| {
            session
                .graceful_restart
                .as_ref()
                .is_some_and(|gr| gr.families.get(&family).copied().unwrap_or(false))
        };
        let dropped = state.adj_in.take_stale(|f| !preserved(f));
        if state.adj_in.has_stale() {
            state.stale_deadline = Some(now + self.config.stale_routes_time);
        } else {
            state.stale_deadline = None;
        }
        let rtc = session.families.contains(&Family::RTC);
        state.session = Some(Session {
            families: session.families,
            rtc,
            gate: if rtc {
                RtcGate::WaitingUntil(
                    now + if session.graceful_restart.is_some() {
                        self.config.rtc_end_of_rib_wait
                    } else {
                        self.config.rtc_end_of_rib_wait_without_graceful_restart
                    },
                )
            } else {
                RtcGate::Open
            },
            graceful_restart: session.graceful_restart,
        });
        for route in dropped {
            self.changed(Some(route), None);
        }
        if rtc {
            self.sync_peer(peer, Part::Membership);
            self.push_update(peer, PeerUpdate::EndOfRib(Family::RTC));
        } else {
            self.open_gate(peer);
        }
    }

    /// The session with `peer` left Established. What was sent is forgotten. Its routes are
    /// withdrawn, except, when graceful restart was negotiated, those of the families it
    /// preserves, which are kept as stale for its Restart Time (RFC 4724 §4.2). Updates not yet
    /// drained for it are discarded.
    pub fn peer_down(&mut self, now: Instant, peer: PeerId) {
        self.session_lost(now, peer, true);
    }

    /// The session with `peer` ended with a NOTIFICATION that ends graceful restart (RFC 4724
    /// §4.2; RFC 8538 §3: without the N bit on both sides, or a Cease/Hard Reset): its routes
    /// are withdrawn at once, whatever was negotiated.
    pub fn peer_reset(&mut self, now: Instant, peer: PeerId) {
        self.session_lost(now, peer, false);
    }

    fn session_lost(&mut self, now: Instant, peer: PeerId, graceful: bool) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(session) = state.session.take() else {
            return;
        };
        state.adj_out.clear();
        self.peer_updates.remove(&peer);
        self.end_of_rib_deferred.remove(&peer);
        let retained = session.graceful_restart.filter(|_| graceful);
        let gone = match retained {
            Some(gr) if !gr.restart_time.is_zero() => {
                let kept = state.adj_in.mark_stale(|f| gr.families.contains_key(&f));
                if kept > 0 {
                    state.stale_deadline = Some(now + gr.restart_time);
                }
                state
                    .adj_in
                    .take_unless_stale_in(|f| gr.families.contains_key(&f))
            }
            _ => {
                state.stale_deadline = None;
                state.adj_in.take_unless_stale_in(|_| false)
            }
        };
        for route in gone {
            self.changed(Some(route), None);
        }
    }

    /// `peer` advertised a route (MP_REACH_NLRI or NLRI field); it replaces any route with the
    /// same key from that peer (RFC 4271 §3.1), and clears its stale mark.
    pub fn peer_announce(
        &mut self,
        peer: PeerId,
        nlri: N,
        attributes: Arc<A>,
    ) -> Result<(), RibError> {
        self.check_family(peer, nlri.family())?;
        let route = Route::new(RouteSource::Peer(peer), nlri, attributes);
        let Some(state) = self.peers.get_mut(&peer) else {
            return Err(RibError::NotEstablished(peer));
        };
        match state.adj_in.store(route.clone()) {
            Stored::Unchanged => {}
            Stored::Added => self.changed(None, Some(route)),
            Stored::Replaced(old) => self.changed(Some(old), Some(route)),
        }
        Ok(())
    }

    /// `peer` withdrew the route with the key of `nlri`; a withdraw of an unknown route is
    /// ignored (reference §8 c7). The withdraw reaches whoever got the route, by the route
    /// targets of the stored route (reference §8 c4).
    pub fn peer_withdraw(&mut self, peer: PeerId, nlri: &N) -> Result<(), RibError> {
        self.check_family(peer, nlri.family())?;
        let old = self
            .peers
            .get_mut(&peer)
            .and_then(|s| s.adj_in.remove(&nlri.key()));
        if let Some(old) = old {
            self.changed(Some(old), None);
        }
        Ok(())
    }

    /// `peer` sent End-of-RIB for `family` (RFC 4724 §2): its stale routes of that family are
    /// flushed (RFC 4724 §4.2); for RT-Constraint, the routes that waited for it are sent
    /// (RFC 4684 §6).
    pub fn peer_end_of_rib(&mut self, peer: PeerId, family: Family) -> Result<(), RibError> {
        self.check_family(peer, family)?;
        self.flush_stale(peer, Some(family));
        let waiting = self.is_waiting_for_membership(peer);
        if family == Family::RTC && waiting {
            self.open_gate(peer);
        }
        Ok(())
    }

    /// `peer` asked for our routes of `family` again (ROUTE-REFRESH, RFC 2918 §4): everything
    /// in its Adj-RIB-Out for that family is re-sent, framed by BoRR/EoRR markers when enhanced
    /// route refresh was negotiated (RFC 7313 §4).
    pub fn peer_route_refresh_request(
        &mut self,
        peer: PeerId,
        family: Family,
        enhanced: bool,
    ) -> Result<(), RibError> {
        self.check_family(peer, family)?;
        let mut out = Vec::new();
        if enhanced {
            out.push(PeerUpdate::BeginRouteRefresh(family));
        }
        if let Some(state) = self.peers.get(&peer) {
            out.extend(
                state
                    .adj_out
                    .routes()
                    .filter(|r| r.family() == family)
                    .cloned()
                    .map(PeerUpdate::Announce),
            );
        }
        if enhanced {
            out.push(PeerUpdate::EndRouteRefresh(family));
        }
        self.peer_updates.entry(peer).or_default().extend(out);
        Ok(())
    }

    /// `peer` sent a BoRR for `family` (RFC 7313 §4): its routes of the family become stale
    /// until re-advertised.
    pub fn peer_begin_route_refresh(
        &mut self,
        peer: PeerId,
        family: Family,
    ) -> Result<(), RibError> {
        self.check_family(peer, family)?;
        if let Some(state) = self.peers.get_mut(&peer) {
            state.adj_in.mark_stale(|f| f == family);
        }
        Ok(())
    }

    /// `peer` sent an EoRR for `family` (RFC 7313 §4): routes of the family not re-advertised
    /// since the BoRR are withdrawn.
    pub fn peer_end_route_refresh(&mut self, peer: PeerId, family: Family) -> Result<(), RibError> {
        self.check_family(peer, family)?;
        self.flush_stale(peer, Some(family));
        Ok(())
    }

    // ----- time ----------------------------------------------------------------------------

    /// The earliest deadline: a restarting peer's stale routes (RFC 4724 §4.2), the end of a
    /// wait for an RT-Constraint End-of-RIB, or of our End-of-RIB deferral.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|p| {
                let gate = match p.session.as_ref().map(|s| s.gate) {
                    Some(RtcGate::WaitingUntil(t)) => Some(t),
                    _ => None,
                };
                [p.stale_deadline, gate]
            })
            .chain([self.end_of_rib_deferral])
            .flatten()
            .min()
    }

    /// Acts on every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<(PeerId, bool, bool)> = self
            .peers
            .iter()
            .map(|(id, p)| {
                let stale = p.stale_deadline.is_some_and(|t| t <= now);
                let gate = matches!(
                    p.session.as_ref().map(|s| s.gate),
                    Some(RtcGate::WaitingUntil(t)) if t <= now
                );
                (*id, stale, gate)
            })
            .filter(|(_, s, g)| *s || *g)
            .collect();
        for (peer, stale, gate) in due {
            if stale {
                self.flush_stale(peer, None);
            }
            if gate {
                self.open_gate(peer);
            }
        }
        if self.end_of_rib_deferral.is_some_and(|t| t <= now) {
            self.end_of_rib_deferral = None;
            for peer in std::mem::take(&mut self.end_of_rib_deferred) {
                self.send_end_of_rib(peer);
            }
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    /// The next event for a local instance, in the order they happened.
    pub fn poll_instance_event(&mut self) -> Option<InstanceEvent<N, A>> {
        self.instance_events.pop_front()
    }

    /// The updates for one peer (the lowest id with any), in the order they must be sent. The
    /// Adj-RIB-Out already records them as sent.
    pub fn poll_peer_updates(&mut self) -> Option<(PeerId, Vec<PeerUpdate<N, A>>)> {
        self.peer_updates.pop_first()
    }

    // ----- internals -----------------------------------------------------------------------

    fn check_family(&self, peer: PeerId, family: Family) -> Result<(), RibError> {
        let session = self
            .peers
            .get(&peer)
            .and_then(|p| p.session.as_ref())
            .ok_or(RibError::NotEstablished(peer))?;
        if session.families.contains(&family) {
            Ok(())
        } else {
            Err(RibError::FamilyNotNegotiated { peer, family })
        }
    }

    fn push_update(&mut self, peer: PeerId, update: PeerUpdate<N, A>) {
        self.peer_updates.entry(peer).or_default().push(update);
    }

    /// Stores a local route (replacing the same source's route for the key).
    fn store_local(&mut self, route: Route<N, A>) {
        let key = route.key();
        let routes = self.local.entry(key).or_default();
        let old = match routes.binary_search_by(|r| r.source().cmp(&route.source())) {
            Ok(i) => match routes.get_mut(i) {
                Some(slot) if *slot == route => return,
                Some(slot) => Some(core::mem::replace(slot, route.clone())),
                None => None,
            },
            Err(i) => {
                routes.insert(i, route.clone());
                None
            }
        };
        self.changed(old, Some(route));
    }

    fn remove_local(&mut self, key: &N::Key, source: RouteSource) -> bool {
        let Some(routes) = self.local.get_mut(key) else {
            return false;
        };
        let Ok(i) = routes.binary_search_by(|r| r.source().cmp(&source)) else {
            return false;
        };
        let old = routes.remove(i);
        if routes.is_empty() {
            self.local.remove(key);
        }
        self.changed(Some(old), None);
        true
    }

    fn interest_changed(&mut self, change: InterestChange) {
        let speaker = RouteSource::Speaker;
        match change {
            InterestChange::None => {}
            InterestChange::First(rt) => {
                let nlri = N::membership_route(self.config.local_as, rt);
                let route = Route::new(speaker, nlri, Arc::clone(&self.membership_attributes));
                self.store_local(route);
            }
            InterestChange::Last(rt) => {
                let key = N::membership_route(self.config.local_as, rt).key();
                self.remove_local(&key, speaker);
            }
        }
    }

    /// Every stored route (any source) an instance subscribed with `sub` would get.
    fn routes_under(&self, sub: Subscription) -> Box<dyn Iterator<Item = &Route<N, A>> + '_> {
        let wanted = move |r: &&Route<N, A>| {
            r.family() != Family::RTC && sub.matches(r.family(), r.route_targets())
        };
        match sub.route_target {
            // Local sources sort before peers (`RouteSource` order), and peers' routes come in
            // (peer, key) order: the order of one index over every source.
            Some(rt) => Box::new(
                self.by_route_target
                    .get(&rt)
                    .into_iter()
                    .flatten()
                    .filter_map(move |(source, key)| self.lookup(*source, key))
                    .chain(self.peers.values().flat_map(move |p| {
                        p.adj_in
                            .routes_where(move |r| r.route_targets().binary_search(&rt).is_ok())
                    }))
                    .filter(wanted),
            ),
            None => Box::new(
                self.local
                    .values()
                    .flatten()
                    .chain(
                        self.peers
                            .values()
                            .flat_map(|p| p.adj_in.routes_where(|_| true)),
                    )
                    .filter(wanted),
            ),
        }
    }

    fn lookup(&self, source: RouteSource, key: &N::Key) -> Option<&Route<N, A>> {
        match source {
            RouteSource::Peer(p) => self.peers.get(&p).and_then(|s| s.adj_in.get(key)),
            _ => self
                .local
                .get(key)
                .and_then(|rs| rs.iter().find(|r| r.source() == source)),
        }
    }

    /// The one place where a stored route changes: `old` (if any) was replaced by `new` (if
    /// any), both with the same source and key; storage is already updated.
    fn changed(&mut self, old: Option<Route<N, A>>, new: Option<Route<N, A>>) {
        let Some(any) = new.as_ref().or(old.as_ref()) else {
            return;
        };
        let source = any.source();
        let key = any.key();
        let family = any.family();
        if family == Family::RTC {
            if let RouteSource::Peer(peer) = source {
                self.memberships_changed(peer, old.as_ref(), new.as_ref());
            } else {
                self.sync_key(&key);
            }
            return;
        }
        if let Some(o) = &old {
            self.unindex(o, &key);
        }
        if let Some(n) = &new {
            self.index(n, &key);
        }
        self.dispatch(old.as_ref(), new.as_ref());
        if !source.is_peer() {
            self.sync_key(&key);
        }
    }

    fn index(&mut self, route: &Route<N, A>, key: &N::Key) {
        if route.source().is_peer() {
            return;
        }
        for rt in route.route_targets() {
            self.by_route_target
                .entry(*rt)
                .or_default()
                .insert((route.source(), key.clone()));
            if !route.source().is_peer() {
                self.local_by_route_target
                    .entry(*rt)
                    .or_default()
                    .insert(key.clone());
            }
        }
    }

    fn unindex(&mut self, route: &Route<N, A>, key: &N::Key) {
        if route.source().is_peer() {
            return;
        }
        let entry = (route.source(), key.clone());
        for rt in route.route_targets() {
            if let Some(set) = self.by_route_target.get_mut(rt) {
                set.remove(&entry);
                if set.is_empty() {
                    self.by_route_target.remove(rt);
                }
            }
            if !route.source().is_peer() {
                // Another local source may still carry this key with this route target.
                let still = self
                    .local
                    .get(key)
                    .is_some_and(|rs| rs.iter().any(|r| r.route_targets().contains(rt)));
                if !still {
                    if let Some(set) = self.local_by_route_target.get_mut(rt) {
                        set.remove(key);
                        if set.is_empty() {
                            self.local_by_route_target.remove(rt);
                        }
                    }
                }
            }
        }
    }

    /// Tells the subscribed instances: the new route to those it matches, a withdraw of the old
    /// one to those only the old one matched (reference §1.5 algorithm 3).
    fn dispatch(&mut self, old: Option<&Route<N, A>>, new: Option<&Route<N, A>>) {
        let mut new_subs = core::mem::take(&mut self.scratch_new);
        let mut old_subs = core::mem::take(&mut self.scratch_old);
        new_subs.clear();
        old_subs.clear();
        for (route, subs) in [(new, &mut new_subs), (old, &mut old_subs)] {
            if let Some(route) = route {
                self.subscriptions
                    .collect_subscribers(route.family(), route.route_targets(), subs);
                if let RouteSource::Instance(own) = route.source() {
                    subs.retain(|i| *i != own);
                }
            }
        }
        if let Some(route) = new {
            for instance in &new_subs {
                self.instance_events.push_back(InstanceEvent {
                    instance: *instance,
                    event: RouteEvent::Advertised(route.clone()),
                });
            }
        }
        if let Some(route) = old {
            for instance in &old_subs {
                if new_subs.binary_search(instance).is_err() {
                    self.instance_events.push_back(InstanceEvent {
                        instance: *instance,
                        event: RouteEvent::Withdrawn(route.clone()),
                    });
                }
            }
        }
        self.scratch_new = new_subs;
        self.scratch_old = old_subs;
    }

    fn memberships_changed(
        &mut self,
        peer: PeerId,
        old: Option<&Route<N, A>>,
        new: Option<&Route<N, A>>,
    ) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let mut scopes = Vec::with_capacity(2);
        if let Some(m) = old.and_then(|r| r.nlri().rt_membership()) {
            scopes.push(state.memberships.remove(&m));
        }
        if let Some(m) = new.and_then(|r| r.nlri().rt_membership()) {
            scopes.push(state.memberships.add(&m));
        }
        let open = state
            .session
            .as_ref()
            .is_some_and(|s| s.gate == RtcGate::Open);
        if !open {
            // Nothing but RT-Constraint routes is sent yet; the gate opening syncs everything.
            return;
        }
        if scopes.contains(&MembershipScope::Everything) {
            self.sync_peer(peer, Part::Others);
            return;
        }
        scopes.dedup();
        for scope in scopes {
            if let MembershipScope::RouteTarget(rt) = scope {
                let keys: Vec<N::Key> = self
                    .local_by_route_target
                    .get(&rt)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                for key in &keys {
                    self.sync_key_for(peer, key);
                }
            }
        }
    }

    /// Brings the Adj-RIB-Out of every established peer in line for one key.
    fn sync_key(&mut self, key: &N::Key) {
        let desired_routes = self.local.get(key);
        for (id, state) in self.peers.iter_mut() {
            let Some(session) = state.session.as_ref() else {
                continue;
            };
            let desired = desired_routes
                .into_iter()
                .flatten()
                .find(|r| session.wants(&state.memberships, r));
            let out = self.peer_updates.entry(*id).or_default();
            state.adj_out.reconcile(key, desired, out);
            if out.is_empty() {
                self.peer_updates.remove(id);
            }
        }
    }

    /// Brings the Adj-RIB-Out of one peer in line for one key.
    fn sync_key_for(&mut self, peer: PeerId, key: &N::Key) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let desired = state.session.as_ref().and_then(|session| {
            self.local
                .get(key)
                .into_iter()
                .flatten()
                .find(|r| session.wants(&state.memberships, r))
        });
        let out = self.peer_updates.entry(peer).or_default();
        state.adj_out.reconcile(key, desired, out);
        if out.is_empty() {
            self.peer_updates.remove(&peer);
        }
    }

    /// Brings the Adj-RIB-Out of one peer in line for every key of a part of the families.
    fn sync_peer(&mut self, peer: PeerId, part: Part) {
        let Some(state) = self.peers.get(&peer) else {
            return;
        };
        let mut keys: Vec<N::Key> = self
            .local
            .iter()
            .filter(|(_, rs)| rs.first().is_some_and(|r| part.covers(r.family())))
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(state.adj_out.keys_where(|f| part.covers(f)));
        keys.sort();
        keys.dedup();
        for key in &keys {
            self.sync_key_for(peer, key);
        }
    }

    /// Sends the routes that waited for the peer's RT-Constraint End-of-RIB (or that do not
    /// wait at all), then End-of-RIB for each of their families (RFC 4724 §2), unless End-of-RIB
    /// is deferred.
    fn open_gate(&mut self, peer: PeerId) {
        let Some(session) = self.peers.get_mut(&peer).and_then(|p| p.session.as_mut()) else {
            return;
        };
        session.gate = RtcGate::Open;
        self.sync_peer(peer, Part::Others);
        if self.end_of_rib_deferral.is_some() {
            self.end_of_rib_deferred.insert(peer);
        } else {
            self.send_end_of_rib(peer);
        }
    }

    /// End-of-RIB to `peer` for each of its families but RT-Constraint.
    fn send_end_of_rib(&mut self, peer: PeerId) {
        let Some(session) = self.peers.get(&peer).and_then(|p| p.session.as_ref()) else {
            return;
        };
        let families: Vec<Family> = session
            .families
            .iter()
            .copied()
            .filter(|f| *f != Family::RTC)
            .collect();
        for family in families {
            self.push_update(peer, PeerUpdate::EndOfRib(family));
        }
    }

    /// After a restart with preserved forwarding state, holds our End-of-RIB (all families but
    /// RT-Constraint) back until `until`, so that the routes of local ports attached again
    /// meanwhile replace our stale routes at the peers before the End-of-RIB makes them drop
    /// the rest (RFC 4724 §4.1: the restarting speaker sends End-of-RIB once its routes are
    /// re-advertised). Routes are sent as they come; only the marker waits.
    pub fn defer_end_of_rib(&mut self, until: Instant) {
        self.end_of_rib_deferral = Some(until);
    }

    /// Withdraws the stale routes of `peer` (of one family, or all).
    fn flush_stale(&mut self, peer: PeerId, family: Option<Family>) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let gone = state
            .adj_in
            .take_stale(|f| family.is_none_or(|only| only == f));
        if !state.adj_in.has_stale() {
            state.stale_deadline = None;
        }
        for route in gone {
            self.changed(Some(route), None);
        }
    }
}
