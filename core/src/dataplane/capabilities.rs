//! What a driver can carry (reference §2.5), so that the core only selects routes it can program.

use super::error::DriverError;
use super::operation::{Direction, Encapsulation, Operation, TunnelId};
use crate::config::VpnType;
use crate::wire::extcomm::TunnelType;

/// What one driver supports, for one VPN type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Capabilities {
    /// The driver's name (`dummy`, `linux`, `ovs`).
    pub driver: String,
    /// The VPN type it serves.
    pub vpn_type: VpnType,
    /// The encapsulations it can send and receive, most preferred first.
    pub encapsulations: Vec<Encapsulation>,
    /// Whether it programs several next hops for one destination (ECMP).
    pub ecmp: bool,
    /// The port directions it supports.
    pub directions: Vec<Direction>,
    /// Whether the instance must replay the removal of each route before
    /// [`Operation::CleanupInstance`], because cleaning up the instance does not remove them
    /// (BaGPipe-BGP `needs_cleanup_assist`).
    pub needs_cleanup_assist: bool,
}

impl Capabilities {
    /// The tunnel types to advertise in Encapsulation communities: every supported encapsulation
    /// except [`Encapsulation::Default`] (reference §2.5).
    pub fn advertised_tunnel_types(&self) -> Vec<TunnelType> {
        self.encapsulations
            .iter()
            .filter_map(|e| e.tunnel_type())
            .collect()
    }

    /// The encapsulation to use for a route that offers `offered` (an empty list means the route
    /// carries no Encapsulation community, i.e. [`Encapsulation::Default`]): the driver's most
    /// preferred one among them, or `None` when the driver can carry none of them.
    pub fn select_encapsulation(&self, offered: &[Encapsulation]) -> Option<Encapsulation> {
        let default = [Encapsulation::Default];
        let offered = if offered.is_empty() {
            &default[..]
        } else {
            offered
        };
        self.encapsulations
            .iter()
            .copied()
            .find(|e| offered.contains(e))
    }

    /// Whether the driver supports this direction.
    pub fn supports_direction(&self, direction: Direction) -> bool {
        self.directions.contains(&direction)
    }

    /// Checks an operation against what the driver supports: the VPN type of a new instance,
    /// the encapsulation of routes and flood entries, the direction of ports, and E-VPN-only
    /// operations. It does not check that the instance exists (the driver's state does).
    pub fn check(&self, op: &Operation) -> Result<(), DriverError> {
        let unsupported = |what: String| DriverError::Unsupported {
            driver: self.driver.clone(),
            what,
        };
        let check_encap = |encapsulation: Encapsulation, id: TunnelId| {
            if !self.encapsulations.contains(&encapsulation) {
                return Err(unsupported(format!("encapsulation {encapsulation}")));
            }
            // VXLAN carries a VNI; every other encapsulation a label.
            let vxlan = encapsulation == Encapsulation::VXLAN;
            match id {
                TunnelId::Vni(_) if !vxlan => Err(DriverError::InvalidArgument {
                    what: id.to_string(),
                    reason: format!("a VNI with encapsulation {encapsulation}"),
                }),
                TunnelId::Label(_) if vxlan => Err(DriverError::InvalidArgument {
                    what: id.to_string(),
                    reason: "an MPLS label with VXLAN encapsulation".to_string(),
                }),
                _ => Ok(()),
            }
        };
        match op {
            Operation::CreateInstance(spec) if spec.vpn_type != self.vpn_type => {
                Err(unsupported(format!("{} instances", spec.vpn_type.name())))
            }
            Operation::VifPlugged { port, .. } if !self.supports_direction(port.direction) => {
                Err(unsupported(format!("direction {:?}", port.direction)))
            }
            Operation::SetupRemoteEndpoint { endpoint, .. }
            | Operation::RemoveRemoteEndpoint { endpoint, .. } => {
                check_encap(endpoint.next_hop.encapsulation, endpoint.next_hop.id)
            }
            Operation::AddFloodEntry { entry, .. } | Operation::RemoveFloodEntry { entry, .. } => {
                if self.vpn_type != VpnType::Evpn {
                    return Err(unsupported("flood entries (E-VPN only)".to_string()));
                }
                check_encap(entry.encapsulation, entry.id)
            }
            Operation::SetGatewayPort { .. } | Operation::GatewayPortDown { .. }
                if self.vpn_type != VpnType::Evpn =>
            {
                Err(unsupported("gateway ports (E-VPN only)".to_string()))
            }
            Operation::AddTrafficRedirect { .. } | Operation::RemoveTrafficRedirect { .. }
                if self.vpn_type != VpnType::Ipvpn =>
            {
                Err(unsupported("traffic redirection (IP-VPN only)".to_string()))
            }
            _ => Ok(()),
        }
    }
}
