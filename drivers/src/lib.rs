//! # bagpipe-drivers
//!
//! Dataplane drivers: they carry out the [`Operation`](bagpipe_core::dataplane::Operation)s of
//! the core's VPN instances, through the
//! [`DataplaneDriver`](bagpipe_core::dataplane::DataplaneDriver) trait.
//!
//! | driver | VPN type | what it programs |
//! |---|---|---|
//! | [`dummy::DummyDriver`] | both | nothing; records the operations |
//! | [`linux::LinuxEvpnDriver`] | E-VPN | bridge, VXLAN device, FDB and neighbour entries, over netlink |
//! | [`linux_ipvpn::LinuxIpvpnDriver`] | IP-VPN | VRF device and table, rules, MPLS routes, over netlink |

pub mod dummy;
pub mod linux;
pub mod linux_ipvpn;
