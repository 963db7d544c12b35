//! Routes and who wants them: the route table keyed by (AFI, SAFI, route target), the
//! Adj-RIB-In and Adj-RIB-Out of each peer, RT-Constraint (RFC 4684), graceful restart on the
//! receiving side (RFC 4724 §4.2), route refresh (RFC 2918, RFC 7313), and best-route tracking
//! for VPN instances.
//!
//! The module is generic over the NLRI and attribute types ([`RibNlri`], [`RibAttributes`]):
//! the route table only needs route keys, families, route targets, LOCAL_PREF and
//! RT-Constraint memberships.

pub mod adj_out;
pub mod best;
pub mod route;
pub mod rtc;
pub mod subscription;
pub mod table;

mod adj_in;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod best_tests;

pub use adj_out::PeerUpdate;
pub use best::{BestChange, BestRouteTracker, RouteOrder};
pub use route::{InstanceId, RibAttributes, RibNlri, Route, RouteSource};
pub use rtc::RtMembership;
pub use subscription::Subscription;
pub use table::{
    GracefulRestart, InstanceEvent, PeerSession, RibConfig, RibError, RouteCounts, RouteEvent,
    RouteTable,
};
