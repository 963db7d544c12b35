//! A route as the RIB stores it: NLRI, shared attributes, source, and the route targets taken
//! from the extended communities (reference §1.4 `RouteEntry`).

use crate::speaker::io::PeerId;
use crate::wire::{Family, RouteTarget};
use core::fmt;
use core::hash::Hash;
use std::sync::Arc;

use super::rtc::RtMembership;

/// A local VPN instance (E-VPN instance or IP-VPN VRF) as the RIB knows it: an opaque id chosen
/// by the instance manager. Instances advertise routes and subscribe to route targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct InstanceId(pub u32);

/// Where a route comes from (reference §1.4 `EventSource`).
///
/// The order (speaker, then instances, then peers) is the order in which the RIB prefers local
/// routes for one NLRI key when several local sources advertise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteSource {
    /// The speaker itself: the RT-Constraint membership routes it originates (RFC 4684 §4).
    Speaker,
    /// A local VPN instance.
    Instance(InstanceId),
    /// A BGP peer (its Adj-RIB-In).
    Peer(PeerId),
}

impl RouteSource {
    /// Whether the route was learnt from a BGP peer.
    pub const fn is_peer(self) -> bool {
        matches!(self, RouteSource::Peer(_))
    }
}

/// What the RIB needs to know about an NLRI.
///
/// The route key is the full BGP route key of the family (peer-bug-history row 9): for VPN-IPv4
/// the RD and prefix (RFC 4364 §4.3.4, labels excluded), for E-VPN MAC/IP the RD, Ethernet tag,
/// MAC and IP (RFC 7432 §7.2, ESI and labels excluded), for RT-Constraint the whole prefix. Two
/// NLRIs with the same key from the same source replace each other; the NLRI itself (with its
/// label) is compared in full, so a new label is a change (reference §9 item 4). Keys of
/// different families must differ.
pub trait RibNlri: Clone + Eq + fmt::Debug {
    /// The route key.
    type Key: Clone + Ord + Hash + fmt::Debug;
    /// The route key of this NLRI.
    fn key(&self) -> Self::Key;
    /// The address family the NLRI belongs to.
    fn family(&self) -> Family;
    /// For an RT-Constraint NLRI (1/132), its membership prefix (RFC 4684 §4); `None` otherwise.
    fn rt_membership(&self) -> Option<RtMembership>;
    /// The RT-Constraint NLRI this speaker originates for local interest in `route_target`
    /// (RFC 4684 §4: origin AS = our AS, 96-bit prefix), or the default membership (zero-length
    /// prefix, RFC 4684 §4) for interest in every route target (`None`).
    fn membership_route(origin_as: u32, route_target: Option<RouteTarget>) -> Self;
}

/// What the RIB needs to know about path attributes.
pub trait RibAttributes: Eq + fmt::Debug {
    /// The route targets among the extended communities (RFC 4360 §4, RFC 5668), in any order.
    fn route_targets(&self) -> Vec<RouteTarget>;
    /// LOCAL_PREF (RFC 4271 §5.1.5), if present.
    fn local_pref(&self) -> Option<u32>;
    /// The E-VPN MAC Mobility community (RFC 7432 §7.7): (sticky, sequence number), if
    /// present. Routes of one MAC prefer a sticky MAC, then the higher sequence number
    /// (RFC 7432 §15.2), before LOCAL_PREF.
    fn mac_mobility(&self) -> Option<(bool, u32)> {
        None
    }
    /// Whether two attribute sets forward the same way (reference §1.6 `FilteredRoute`: next
    /// hop, PMSI tunnel, MED, extended communities, LOCAL_PREF). Routes that differ only in
    /// other attributes (AS_PATH, ORIGINATOR_ID, CLUSTER_LIST ...) do not trigger new
    /// best-route hooks.
    fn same_forwarding(&self, other: &Self) -> bool {
        self == other
    }
}

struct RouteData<N, A> {
    source: RouteSource,
    nlri: N,
    attributes: Arc<A>,
    route_targets: RouteTargets,
}

/// Route targets, sorted and deduplicated; the usual single one without an allocation.
enum RouteTargets {
    One(RouteTarget),
    Other(Box<[RouteTarget]>),
}

impl RouteTargets {
    fn new(mut rts: Vec<RouteTarget>) -> Self {
        rts.sort_unstable();
        rts.dedup();
        match rts.as_slice() {
            [one] => RouteTargets::One(*one),
            _ => RouteTargets::Other(rts.into_boxed_slice()),
        }
    }

    fn as_slice(&self) -> &[RouteTarget] {
        match self {
            RouteTargets::One(rt) => core::slice::from_ref(rt),
            RouteTargets::Other(rts) => rts,
        }
    }
}

/// One route: source, NLRI, attributes (shared, never copied), route targets (sorted, deduplicated).
///
/// Cloning a route is a reference-count increment, so events, Adj-RIB-Outs and best-route
/// trackers share one copy.
pub struct Route<N, A>(Arc<RouteData<N, A>>);

impl<N, A> Clone for Route<N, A> {
    fn clone(&self) -> Self {
        Route(Arc::clone(&self.0))
    }
}

impl<N: RibNlri, A: RibAttributes> Route<N, A> {
    /// A route from `source`; the route targets are read from `attributes` once, here.
    pub fn new(source: RouteSource, nlri: N, attributes: Arc<A>) -> Self {
        let route_targets = RouteTargets::new(attributes.route_targets());
        Route(Arc::new(RouteData {
            source,
            nlri,
            attributes,
            route_targets,
        }))
    }

    /// LOCAL_PREF, 100 when absent (the reference's default, §1.6).
    pub fn local_pref_or_default(&self) -> u32 {
        self.0.attributes.local_pref().unwrap_or(100)
    }

    /// Same NLRI and attributes forwarding the same way, whatever the source (reference §1.6).
    pub fn is_equivalent(&self, other: &Self) -> bool {
        self.0.nlri == other.0.nlri && self.0.attributes.same_forwarding(&other.0.attributes)
    }
}

impl<N: RibNlri, A> Route<N, A> {
    /// The route key of its NLRI.
    pub fn key(&self) -> N::Key {
        self.0.nlri.key()
    }

    /// The family of its NLRI.
    pub fn family(&self) -> Family {
        self.0.nlri.family()
    }
}

impl<N, A> Route<N, A> {
    /// Who advertised it.
    pub fn source(&self) -> RouteSource {
        self.0.source
    }

    /// The NLRI, with everything it carries (labels, ...).
    pub fn nlri(&self) -> &N {
        &self.0.nlri
    }

    /// The attributes.
    pub fn attributes(&self) -> &Arc<A> {
        &self.0.attributes
    }

    /// The route targets, sorted and without duplicates.
    pub fn route_targets(&self) -> &[RouteTarget] {
        self.0.route_targets.as_slice()
    }

    /// Whether both are the very same stored route (no comparison of values).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<N: PartialEq, A: PartialEq> PartialEq for Route<N, A> {
    /// Same source, NLRI (labels included) and attribute values (reference §1.4 equality).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.source == other.0.source
                && self.0.nlri == other.0.nlri
                && (Arc::ptr_eq(&self.0.attributes, &other.0.attributes)
                    || self.0.attributes == other.0.attributes))
    }
}

impl<N: Eq, A: Eq> Eq for Route<N, A> {}

impl<N: fmt::Debug, A: fmt::Debug> fmt::Debug for Route<N, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("source", &self.0.source)
            .field("nlri", &self.0.nlri)
            .field("attributes", &self.0.attributes)
            .field("route_targets", &self.0.route_targets.as_slice())
            .finish()
    }
}

impl<N: serde::Serialize, A: serde::Serialize> serde::Serialize for Route<N, A> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Route", 4)?;
        s.serialize_field("source", &self.0.source)?;
        s.serialize_field("nlri", &self.0.nlri)?;
        s.serialize_field("attributes", &*self.0.attributes)?;
        s.serialize_field("route_targets", self.0.route_targets.as_slice())?;
        s.end()
    }
}
