//! The operations the core asks of a dataplane driver (reference §6.0), as plain values.
//!
//! Each operation names the VPN instance it applies to. A driver learns an instance from
//! [`Operation::CreateInstance`] and forgets it at [`Operation::CleanupInstance`]; every other
//! operation for an instance it does not know fails with
//! [`DriverError::UnknownInstance`](super::DriverError::UnknownInstance).
//!
//! Adding and removing carry the same value (`SetupRemoteEndpoint(e)` / `RemoveRemoteEndpoint(e)`),
//! so that a driver identifies what to remove exactly, as BaGPipe-BGP's calls do.

use core::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::config::VpnType;
use crate::rib::InstanceId;
use crate::wire::extcomm::TunnelType;
use crate::wire::{Label, MacAddress, Vni};

/// An encapsulation a route offers and a driver supports (reference §2.5).
///
/// A route without an Encapsulation extended community (RFC 9012 §4.1) offers
/// [`Encapsulation::Default`]: bare MPLS for IP-VPN. Serialized as the tunnel type's name
/// (`"vxlan"`, `"mpls"`, `"gre"`, ...) or `"default"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encapsulation {
    /// No Encapsulation community: the VPN type's default (MPLS over Ethernet for IP-VPN).
    Default,
    /// A tunnel type of the Encapsulation community.
    Tunnel(TunnelType),
}

impl Encapsulation {
    /// VXLAN (RFC 8365).
    pub const VXLAN: Encapsulation = Encapsulation::Tunnel(TunnelType::Vxlan);
    /// MPLS (tunnel type 10).
    pub const MPLS: Encapsulation = Encapsulation::Tunnel(TunnelType::Mpls);
    /// GRE (tunnel type 2), which BaGPipe-BGP uses for MPLS-over-GRE.
    pub const GRE: Encapsulation = Encapsulation::Tunnel(TunnelType::Gre);
    /// MPLS in UDP (tunnel type 13).
    pub const MPLS_IN_UDP: Encapsulation = Encapsulation::Tunnel(TunnelType::MplsInUdp);

    /// The tunnel type advertised in an Encapsulation community; `None` for
    /// [`Encapsulation::Default`], which is never advertised (reference §2.5).
    pub const fn tunnel_type(self) -> Option<TunnelType> {
        match self {
            Encapsulation::Default => None,
            Encapsulation::Tunnel(t) => Some(t),
        }
    }

    /// Whether this is an MPLS-carrying encapsulation (MPLS, GRE, MPLS in GRE, MPLS in UDP), which
    /// an E-VPN driver must not mix with VXLAN (reference §2.4).
    pub const fn carries_mpls(self) -> bool {
        matches!(
            self,
            Encapsulation::Default
                | Encapsulation::Tunnel(
                    TunnelType::Mpls
                        | TunnelType::Gre
                        | TunnelType::MplsInGre
                        | TunnelType::MplsInUdp
                )
        )
    }
}

impl fmt::Display for Encapsulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encapsulation::Default => f.write_str("default"),
            Encapsulation::Tunnel(TunnelType::Vxlan) => f.write_str("vxlan"),
            Encapsulation::Tunnel(TunnelType::Mpls) => f.write_str("mpls"),
            Encapsulation::Tunnel(TunnelType::Gre) => f.write_str("gre"),
            Encapsulation::Tunnel(TunnelType::MplsInGre) => f.write_str("mpls_in_gre"),
            Encapsulation::Tunnel(TunnelType::MplsInUdp) => f.write_str("mpls_in_udp"),
            Encapsulation::Tunnel(TunnelType::VxlanGpe) => f.write_str("vxlan_gpe"),
            Encapsulation::Tunnel(TunnelType::Nvgre) => f.write_str("nvgre"),
            Encapsulation::Tunnel(TunnelType::IpInIp) => f.write_str("ip_in_ip"),
            Encapsulation::Tunnel(TunnelType::L2tpv3) => f.write_str("l2tpv3"),
            Encapsulation::Tunnel(TunnelType::Other(v)) => write!(f, "tunnel_type_{v}"),
        }
    }
}

/// Serialized as its [`Display`](fmt::Display) name, e.g. `"vxlan"`.
impl serde::Serialize for Encapsulation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What identifies a VPN in the tunnel: an MPLS label, or a VXLAN VNI (RFC 8365 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelId {
    /// An MPLS label (IP-VPN, or E-VPN over MPLS).
    Label(Label),
    /// A VXLAN Network Identifier.
    Vni(Vni),
}

impl TunnelId {
    /// The VNI, when this is one.
    pub const fn vni(self) -> Option<Vni> {
        match self {
            TunnelId::Vni(v) => Some(v),
            TunnelId::Label(_) => None,
        }
    }

    /// The label, when this is one.
    pub const fn label(self) -> Option<Label> {
        match self {
            TunnelId::Label(l) => Some(l),
            TunnelId::Vni(_) => None,
        }
    }
}

impl fmt::Display for TunnelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelId::Label(l) => write!(f, "label {l}"),
            TunnelId::Vni(v) => write!(f, "vni {v}"),
        }
    }
}

/// The traffic directions of an attached port (BaGPipe-BGP `direction`: `to-port`, `from-port`,
/// `both`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Traffic from the VPN to the port only.
    ToPort,
    /// Traffic from the port to the VPN only.
    FromPort,
    /// Both ways (the default).
    Both,
}

/// One VPN instance as the dataplane sees it (the arguments of BaGPipe-BGP's per-instance
/// dataplane constructor, reference §6.0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct InstanceSpec {
    /// E-VPN instance or IP-VPN VRF.
    pub vpn_type: VpnType,
    /// The instance's id, unique among the speaker's instances.
    pub instance: InstanceId,
    /// The id the API client gave (`vpn_instance_id`), used in device names.
    pub external_id: String,
    /// The instance's label (IP-VPN) or VNI (VXLAN E-VPN).
    pub id: TunnelId,
    /// The Linux bridge to use (E-VPN, API `linuxbr`); the driver chooses one when `None`.
    pub linuxbr: Option<String>,
    /// The gateway address with the subnet's prefix length (API `gateway_ip`, `ip_address` plen).
    pub gateway: Option<IpNetwork>,
}

/// A port attached to an instance on this node (`vif_plugged`, reference §6.0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct LocalPort {
    /// The Linux interface name (API `local_port.linuxif`).
    pub interface: String,
    /// The MAC address of the VM behind the port.
    pub mac: MacAddress,
    /// The VM's address with its prefix length, when it has one.
    pub ip: Option<IpNetwork>,
    /// The label the instance allocated for this port (IP-VPN); E-VPN uses the instance's VNI.
    pub label: Option<Label>,
    /// Which traffic the port takes part in.
    pub direction: Direction,
}

/// Where traffic for a remote destination goes: the remote PE (VTEP) and how to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NextHop {
    /// The remote PE's dataplane address (route next hop, or PMSI tunnel endpoint).
    pub remote_pe: IpAddr,
    /// The label or VNI to send with.
    pub id: TunnelId,
    /// The encapsulation chosen for this route among those it offers.
    pub encapsulation: Encapsulation,
}

/// What a remote route reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// A MAC address (E-VPN MAC/IP Advertisement route, RFC 7432 §7.2).
    Mac(MacAddress),
    /// An IP prefix (IP-VPN route, RFC 4364).
    Prefix(IpNetwork),
}

/// One remote route to program (`setup_dataplane_for_remote_endpoint`, reference §6.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct RemoteEndpoint {
    /// The MAC or prefix.
    pub destination: Destination,
    /// Where it goes.
    pub next_hop: NextHop,
    /// Position of this next hop among equal-cost ones (Consistent Hash Sort Order community),
    /// which ECMP drivers use to order load-balancing buckets identically on every node.
    pub lb_consistent_hash_order: u32,
}

/// One head-end replication destination for broadcast, unknown unicast and multicast traffic
/// (an E-VPN Inclusive Multicast Ethernet Tag route with a PMSI Ingress Replication tunnel,
/// RFC 7432 §11, RFC 8365 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FloodEntry {
    /// The remote VTEP (PMSI tunnel endpoint).
    pub remote_vtep: IpAddr,
    /// The VNI or label to send with (PMSI label).
    pub id: TunnelId,
    /// The encapsulation.
    pub encapsulation: Encapsulation,
}

/// An IP-to-MAC binding the dataplane answers ARP / neighbour solicitations with, without
/// flooding them (ARP suppression, RFC 7432 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NeighbourEntry {
    /// The IP address.
    pub ip: IpAddr,
    /// Its MAC address.
    pub mac: MacAddress,
}

/// One thing the core asks of a driver.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// Create the instance's dataplane (bridge and VXLAN device, VRF, ...).
    CreateInstance(InstanceSpec),
    /// Remove everything the driver programmed for the instance, and forget it.
    CleanupInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// A local port was attached (`vif_plugged`).
    VifPlugged {
        /// The instance.
        instance: InstanceId,
        /// The port.
        port: LocalPort,
    },
    /// A local port was detached (`vif_unplugged`).
    VifUnplugged {
        /// The instance.
        instance: InstanceId,
        /// The port, as it was plugged.
        port: LocalPort,
        /// Whether it was the last endpoint on that interface.
        last_endpoint: bool,
    },
    /// Send traffic for a remote MAC or prefix to a remote PE.
    SetupRemoteEndpoint {
        /// The instance.
        instance: InstanceId,
        /// The route.
        endpoint: RemoteEndpoint,
    },
    /// Stop sending traffic for a remote MAC or prefix to that next hop.
    RemoveRemoteEndpoint {
        /// The instance.
        instance: InstanceId,
        /// The route, as it was set up.
        endpoint: RemoteEndpoint,
    },
    /// Add a remote VTEP to the instance's flood list (`add_dataplane_for_bum_endpoint`).
    AddFloodEntry {
        /// The instance.
        instance: InstanceId,
        /// The destination.
        entry: FloodEntry,
    },
    /// Remove a remote VTEP from the flood list (`remove_dataplane_for_bum_endpoint`).
    RemoveFloodEntry {
        /// The instance.
        instance: InstanceId,
        /// The destination, as it was added.
        entry: FloodEntry,
    },
    /// Answer ARP / neighbour solicitations for an IP with a MAC.
    AddNeighbour {
        /// The instance.
        instance: InstanceId,
        /// The binding.
        entry: NeighbourEntry,
    },
    /// Stop answering for that binding.
    RemoveNeighbour {
        /// The instance.
        instance: InstanceId,
        /// The binding, as it was added.
        entry: NeighbourEntry,
    },
    /// Connect an E-VPN instance to an IP-VPN through an interface (`set_gateway_port`).
    SetGatewayPort {
        /// The E-VPN instance.
        instance: InstanceId,
        /// The interface to plug into the instance's bridge.
        interface: String,
        /// The gateway address on the IP-VPN side.
        gateway_ip: IpAddr,
    },
    /// Disconnect the gateway interface (`gateway_port_down`).
    GatewayPortDown {
        /// The E-VPN instance.
        instance: InstanceId,
        /// The interface to remove from the bridge.
        interface: String,
    },
    /// Redirect the traffic of `instance` matching `rule` to the VRF `redirect_to` (FlowSpec
    /// redirect-to-VRF, RFC 8955 §7.5; reference §2.3 "Redirect", §2.6).
    AddTrafficRedirect {
        /// The VRF whose traffic is classified.
        instance: InstanceId,
        /// The classifier.
        rule: crate::wire::nlri::FlowSpecRule,
        /// The VRF the matching traffic goes to.
        redirect_to: InstanceId,
    },
    /// Stop a redirection set up with [`Operation::AddTrafficRedirect`].
    RemoveTrafficRedirect {
        /// The VRF whose traffic is classified.
        instance: InstanceId,
        /// The classifier.
        rule: crate::wire::nlri::FlowSpecRule,
        /// The VRF the matching traffic went to.
        redirect_to: InstanceId,
    },
}

impl Operation {
    /// The instance the operation applies to.
    pub fn instance(&self) -> InstanceId {
        match self {
            Operation::CreateInstance(spec) => spec.instance,
            Operation::CleanupInstance { instance }
            | Operation::VifPlugged { instance, .. }
            | Operation::VifUnplugged { instance, .. }
            | Operation::SetupRemoteEndpoint { instance, .. }
            | Operation::RemoveRemoteEndpoint { instance, .. }
            | Operation::AddFloodEntry { instance, .. }
            | Operation::RemoveFloodEntry { instance, .. }
            | Operation::AddNeighbour { instance, .. }
            | Operation::RemoveNeighbour { instance, .. }
            | Operation::SetGatewayPort { instance, .. }
            | Operation::GatewayPortDown { instance, .. }
            | Operation::AddTrafficRedirect { instance, .. }
            | Operation::RemoveTrafficRedirect { instance, .. } => *instance,
        }
    }

    /// The operation's name, as in its serialized `operation` tag (`"setup_remote_endpoint"`).
    pub const fn name(&self) -> &'static str {
        match self {
            Operation::CreateInstance(_) => "create_instance",
            Operation::CleanupInstance { .. } => "cleanup_instance",
            Operation::VifPlugged { .. } => "vif_plugged",
            Operation::VifUnplugged { .. } => "vif_unplugged",
            Operation::SetupRemoteEndpoint { .. } => "setup_remote_endpoint",
            Operation::RemoveRemoteEndpoint { .. } => "remove_remote_endpoint",
            Operation::AddFloodEntry { .. } => "add_flood_entry",
            Operation::RemoveFloodEntry { .. } => "remove_flood_entry",
            Operation::AddNeighbour { .. } => "add_neighbour",
            Operation::RemoveNeighbour { .. } => "remove_neighbour",
            Operation::SetGatewayPort { .. } => "set_gateway_port",
            Operation::GatewayPortDown { .. } => "gateway_port_down",
            Operation::AddTrafficRedirect { .. } => "add_traffic_redirect",
            Operation::RemoveTrafficRedirect { .. } => "remove_traffic_redirect",
        }
    }

    /// Whether the operation adds state (as opposed to removing it).
    pub const fn is_addition(&self) -> bool {
        matches!(
            self,
            Operation::CreateInstance(_)
                | Operation::VifPlugged { .. }
                | Operation::SetupRemoteEndpoint { .. }
                | Operation::AddFloodEntry { .. }
                | Operation::AddNeighbour { .. }
                | Operation::SetGatewayPort { .. }
                | Operation::AddTrafficRedirect { .. }
        )
    }
}
