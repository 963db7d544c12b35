//! What the E-VPN driver removes a grace period after start
//! ([`DataplaneDriver::remove_unclaimed`](bagpipe_core::dataplane::DataplaneDriver::remove_unclaimed)):
//! the state an earlier run left that no instance claimed again.
//!
//! A restarted daemon adopts the devices it finds (see `create_instance`) and re-adds entries
//! idempotently, so forwarding that is still valid never stops. What it finds but is not asked for
//! again within the grace period is stale:
//! - devices with the driver's name prefixes (`evpn---`, `vxlan--`) that no instance uses;
//! - in a VXLAN device the driver owns: tunnel entries (`self`, with a remote VTEP) of MACs and
//!   flood destinations the instance does not hold, and static bridge entries of remote MACs it
//!   does not hold;
//! - in a bridge the driver owns: ports that are neither a plugged port, a gateway port nor the
//!   VXLAN device (released from the bridge, never deleted: they are the VMs'), static entries
//!   on plugged ports for MACs not plugged, and permanent neighbour entries (ARP suppression)
//!   the instance does not hold.
//!
//! Entries the kernel makes itself (a port's own address, learned entries, multicast entries
//! without a remote) are never touched, nor anything in a bridge or VXLAN device the driver
//! reuses without owning it (the API's `linuxbr`, another agent's VXLAN port).

use std::collections::{BTreeMap, BTreeSet};

use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::MacAddress;
use netlink_packet_route::neighbour::NeighbourState;
use netlink_packet_route::AddressFamily;

use super::messages::{self, Change, LinkView, NeighbourView};
use super::names;
use super::netlink::Request;
use super::InstanceState;

/// The requests removing what `instances` do not claim among `links` and `entries` (dumps of
/// the links and of the bridge, inet and inet6 neighbour tables): entries first, then ports,
/// then VXLAN devices, then bridges.
pub(crate) fn plan(
    instances: &BTreeMap<InstanceId, InstanceState>,
    links: &[LinkView],
    entries: &[NeighbourView],
) -> Vec<Request> {
    let mut requests = Vec::new();
    for state in instances.values() {
        if state.vxlan_is_ours {
            requests.extend(stale_tunnel_entries(state, entries));
        }
        if state.bridge_is_ours {
            requests.extend(stale_bridge_state(state, links, entries));
        }
    }
    requests.extend(unclaimed_devices(instances, links));
    requests
}

/// Tunnel and static bridge entries of the instance's VXLAN device that it does not hold.
fn stale_tunnel_entries(state: &InstanceState, entries: &[NeighbourView]) -> Vec<Request> {
    let vxlan = (state.vxlan_index, state.vxlan_if.as_str());
    let mut requests = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| e.family == AddressFamily::Bridge && e.ifindex == state.vxlan_index)
    {
        let Some(mac) = entry.mac else { continue };
        match (entry.own, entry.controller, entry.destination) {
            // The device's own table: where frames for `mac` are tunnelled.
            (true, _, Some(vtep)) => {
                let held = if mac == MacAddress::ZERO {
                    state.flood.iter().any(|f| f.remote_vtep == vtep)
                } else {
                    state
                        .remote_macs
                        .get(&mac)
                        .is_some_and(|e| e.next_hop.remote_pe == vtep)
                };
                if !held {
                    // Absent NDA_VNI means the device's VNI (the kernel omits the default).
                    let vni = entry.vni.unwrap_or(state.vni);
                    requests.push(messages::vxlan_fdb(
                        Change::Remove,
                        vxlan,
                        mac,
                        vtep,
                        vni,
                        false,
                    ));
                }
            }
            // The bridge's static entry pointing a remote MAC at the VXLAN port.
            (_, true, None)
                if entry.state == NeighbourState::Noarp
                    && !state.remote_macs.contains_key(&mac) =>
            {
                requests.push(messages::bridge_fdb(Change::Remove, vxlan, mac));
            }
            _ => {}
        }
    }
    requests
}

/// Ports, static port entries and neighbour entries of the instance's own bridge that it does
/// not hold.
fn stale_bridge_state(
    state: &InstanceState,
    links: &[LinkView],
    entries: &[NeighbourView],
) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut plugged: BTreeMap<&str, BTreeSet<MacAddress>> = BTreeMap::new();
    for port in &state.ports {
        plugged
            .entry(port.interface.as_str())
            .or_default()
            .insert(port.mac);
    }
    let mut port_indexes: BTreeMap<u32, &str> = BTreeMap::new();
    for link in links
        .iter()
        .filter(|l| l.master == Some(state.bridge_index) && l.index != state.vxlan_index)
    {
        let name = link.name.as_str();
        if plugged.contains_key(name) {
            port_indexes.insert(link.index, name);
        } else if !state.gateway_ports.contains_key(name) {
            requests.push(messages::set_master(name, None));
        }
    }
    for entry in entries {
        match entry.family {
            AddressFamily::Bridge => {
                let (Some(port), Some(mac)) = (port_indexes.get(&entry.ifindex), entry.mac) else {
                    continue;
                };
                let held = plugged.get(port).is_some_and(|macs| macs.contains(&mac));
                if entry.controller && entry.state == NeighbourState::Noarp && !held {
                    requests.push(messages::bridge_fdb(
                        Change::Remove,
                        (entry.ifindex, port),
                        mac,
                    ));
                }
            }
            AddressFamily::Inet | AddressFamily::Inet6
                if entry.ifindex == state.bridge_index
                    && entry.state == NeighbourState::Permanent =>
            {
                let (Some(ip), Some(mac)) = (entry.destination, entry.mac) else {
                    continue;
                };
                if state.neighbours.get(&ip) != Some(&mac) {
                    requests.push(messages::neighbour(
                        Change::Remove,
                        (state.bridge_index, &state.linux_bridge),
                        ip,
                        mac,
                    ));
                }
            }
            _ => {}
        }
    }
    requests
}

/// The devices with the driver's prefixes that no instance uses: VXLAN devices, then bridges
/// (as `cleanup_all`).
fn unclaimed_devices(
    instances: &BTreeMap<InstanceId, InstanceState>,
    links: &[LinkView],
) -> Vec<Request> {
    let claimed: BTreeSet<&str> = instances
        .values()
        .flat_map(|s| [s.linux_bridge.as_str(), s.vxlan_if.as_str()])
        .collect();
    let mut requests = Vec::new();
    for prefix in [names::VXLAN_PREFIX, names::BRIDGE_PREFIX] {
        requests.extend(
            links
                .iter()
                .filter(|l| l.name.starts_with(prefix) && !claimed.contains(l.name.as_str()))
                .map(|l| messages::delete_link(&l.name)),
        );
    }
    requests
}

#[cfg(test)]
mod tests;
