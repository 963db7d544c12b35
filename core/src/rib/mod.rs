//! Routes and who wants them: the route table keyed by (AFI, SAFI, route target), the
//! Adj-RIB-In and Adj-RIB-Out of each peer, RT-Constraint (RFC 4684), graceful restart on the
//! receiving side (RFC 4724 §4.2), route refresh (RFC 2918, RFC 7313), and best-route tracking
//! for VPN instances.
//!
//! The module is generic over the NLRI and attribute types ([`RibNlri`], [`RibAttributes`]):
//! the route table only needs route keys, families, route targets, LOCAL_PREF and
//! RT-Constraint memberships.
//!
//! ## How the speaker drives a [`RouteTable`]
//!
//! ```text
//! session Established   -> table.peer_up(now, peer, PeerSession { families, graceful_restart })
//! session lost          -> table.peer_down(now, peer)
//! UPDATE received       -> for each withdrawn NLRI: table.peer_withdraw(peer, &nlri)
//!                          for each reachable NLRI: table.peer_announce(peer, nlri, Arc::clone(&attrs))
//!                          (RFC 7606 treat-as-withdraw: peer_withdraw for every NLRI of it)
//! End-of-RIB received   -> table.peer_end_of_rib(peer, family)
//! ROUTE-REFRESH         -> table.peer_route_refresh_request(peer, family, enhanced)
//! BoRR / EoRR received  -> table.peer_begin_route_refresh / peer_end_route_refresh(peer, family)
//! VPN instance          -> advertise / withdraw / subscribe / unsubscribe / remove_instance
//! deadline              -> table.handle_timeout(now); fold table.poll_timeout() into the
//!                          speaker's own poll_timeout
//! after every input     -> while let Some((peer, updates)) = table.poll_peer_updates():
//!                              runs of Announce with the same Arc'd attributes (Arc::ptr_eq)
//!                              -> pack_announcements; runs of Withdraw -> pack_withdrawals;
//!                              EndOfRib -> an empty UPDATE (or empty MP_UNREACH) for the
//!                              family; BoRR/EoRR -> ROUTE-REFRESH subtypes 1/2
//!                          while let Some(ev) = table.poll_instance_event(): hand it to the
//!                              instance, which feeds its BestRouteTracker
//! ```
//!
//! Updates must be sent in the order given: RT-Constraint routes and their End-of-RIB come
//! first, and VPN routes only after the peer's RT-Constraint End-of-RIB (RFC 4684 §6).

pub mod adj_out;
pub mod best;
pub mod codec;
pub mod route;
pub mod rtc;
pub mod subscription;
pub mod table;

mod adj_in;
mod fixed_hash;
pub(crate) mod intern;

#[cfg(test)]
mod adj_in_tests;
#[cfg(test)]
mod best_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod testing;

pub use adj_out::PeerUpdate;
pub use best::{BestChange, BestRouteTracker, RouteOrder};
pub use route::{InstanceId, RibAttributes, RibNlri, Route, RouteSource};
pub use rtc::RtMembership;
pub use subscription::Subscription;
pub use table::{
    GracefulRestart, InstanceEvent, PeerSession, RibConfig, RibError, RouteCounts, RouteEvent,
    RouteTable,
};
