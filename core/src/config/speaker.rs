//! The speaker's and each peer's configuration, as the core uses it (already validated).

use crate::wire::Family;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The speaker as a whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpeakerConfig {
    /// Our AS number (4-octet capable, RFC 6793).
    pub local_as: u32,
    /// Our BGP Identifier (RFC 4271 §4.2; RFC 6286).
    pub router_id: Ipv4Addr,
    /// The address routes are advertised with as next hop and the default source of sessions.
    pub local_address: IpAddr,
    /// The peers, in configuration order; a peer's index is its [`crate::speaker::PeerId`].
    pub peers: Vec<PeerConfig>,
}

/// One BGP peer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerConfig {
    /// The peer's address.
    pub address: IpAddr,
    /// The TCP port to dial (179 unless configured).
    pub port: u16,
    /// The peer's AS; equal to our AS for iBGP.
    pub remote_as: u32,
    /// Wait for the peer to dial (RFC 4271 §8.1.1 PassiveTcpEstablishment); never dial.
    pub passive: bool,
    /// The address to dial from; the speaker's `local_address` when `None`.
    pub local_address: Option<IpAddr>,
    /// The families offered in the multiprotocol capability (RFC 4760 §8).
    pub families: BTreeSet<Family>,
    /// Our proposed hold time (RFC 4271 §4.2): zero or at least 3 s.
    pub hold_time: Duration,
    /// The first ConnectRetry interval and base of the back-off (RFC 4271 §8.2.2).
    pub connect_retry: Duration,
    /// Offer graceful restart (RFC 4724) with this restart time, when set.
    pub graceful_restart: Option<Duration>,
    /// A free-text description for logs and the looking glass.
    pub description: Option<String>,
}

impl PeerConfig {
    /// A peer with the defaults an operator would expect: port 179, active, hold time 90 s,
    /// ConnectRetry 5 s, no graceful restart, and the VPN families.
    pub fn new(address: IpAddr, remote_as: u32) -> Self {
        PeerConfig {
            address,
            port: 179,
            remote_as,
            passive: false,
            local_address: None,
            families: BTreeSet::from([
                Family::EVPN,
                Family::VPNV4,
                Family::RTC,
                Family::FLOWSPEC_VPNV4,
            ]),
            hold_time: Duration::from_secs(90),
            connect_retry: Duration::from_secs(5),
            graceful_restart: None,
            description: None,
        }
    }
}
