//! What the IP-VPN driver removes a grace period after start
//! ([`DataplaneDriver::remove_unclaimed`](bagpipe_core::dataplane::DataplaneDriver::remove_unclaimed)):
//! the state an earlier run left that no instance claimed again.
//!
//! - VRF devices named `bvrf-*` that no instance uses, with their rules;
//! - in a VRF an instance adopted: the driver's routes (protocol 19) for prefixes the instance
//!   does not hold, and interfaces enslaved to it that are not its ports (released, brought
//!   down as an unplug does, never deleted).
//!
//! MPLS routes of labels no port holds are found by the driver from its MPLS dump.

use std::collections::{BTreeMap, BTreeSet};

use bagpipe_core::rib::InstanceId;

use super::messages::{self, Change, IpvpnRequest, Prefix};
use super::placement::ExistingVrf;
use super::{InstanceState, VRF_PREFIX};
use crate::linux::messages::LinkView;

/// The requests removing what `instances` do not claim among the VRF devices `vrfs`, the links
/// `links` and the driver's routes `routes` (table, prefix): routes first, then ports, then
/// devices.
pub(crate) fn plan(
    instances: &BTreeMap<InstanceId, InstanceState>,
    vrfs: &[ExistingVrf],
    links: &[LinkView],
    routes: &[(u32, Prefix)],
) -> Vec<IpvpnRequest> {
    let mut out = Vec::new();
    for state in instances.values() {
        out.extend(
            routes
                .iter()
                .filter(|(table, prefix)| {
                    *table == state.table && !state.routes.contains_key(prefix)
                })
                .map(|(table, prefix)| messages::remote_route(*table, *prefix, &[], None)),
        );
        let ports: BTreeSet<&str> = state.ports.iter().map(|p| p.interface.as_str()).collect();
        out.extend(
            links
                .iter()
                .filter(|l| l.master == Some(state.vrf_index) && !ports.contains(l.name.as_str()))
                .map(|l| messages::set_master(&l.name, None)),
        );
    }
    out.extend(unclaimed_vrfs(instances, vrfs));
    out
}

/// The requests removing every `bvrf-*` device no instance uses, with its rules.
pub(crate) fn unclaimed_vrfs(
    instances: &BTreeMap<InstanceId, InstanceState>,
    vrfs: &[ExistingVrf],
) -> Vec<IpvpnRequest> {
    let claimed: BTreeSet<&str> = instances.values().map(|s| s.vrf_if.as_str()).collect();
    let mut out = Vec::new();
    for vrf in vrfs
        .iter()
        .filter(|v| v.name.starts_with(VRF_PREFIX) && !claimed.contains(v.name.as_str()))
    {
        if let Some(table) = vrf.table {
            out.extend(messages::vrf_rules(Change::Remove, &vrf.name, table, false));
            out.extend(messages::vrf_rules(Change::Remove, &vrf.name, table, true));
        }
        out.push(messages::delete_link(&vrf.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux_ipvpn::placement::{vrf_alias, VrfPlacement};
    use bagpipe_core::config::VpnType;
    use bagpipe_core::dataplane::{Direction, InstanceSpec, LocalPort, TunnelId};
    use bagpipe_core::wire::{Label, MacAddress};

    fn prefix(text: &str) -> Prefix {
        let (addr, len) = text.split_once('/').expect("prefix");
        Prefix {
            addr: addr.parse().expect("address"),
            len: len.parse().expect("length"),
        }
    }

    fn link(index: u32, name: &str, master: Option<u32>) -> LinkView {
        LinkView {
            index,
            name: name.to_string(),
            kind: None,
            master,
            vxlan: None,
        }
    }

    /// Instance 1 (VPN red) adopted `bvrf-2` (index 8, table 1002), holding port tap1 and the
    /// route 10.2.0.0/24.
    fn instances() -> BTreeMap<InstanceId, InstanceState> {
        let spec = InstanceSpec {
            vpn_type: VpnType::Ipvpn,
            instance: InstanceId(1),
            external_id: "red".to_string(),
            id: TunnelId::Label(Label::new(100).expect("label")),
            linuxbr: None,
            gateway: None,
        };
        let mut state = InstanceState::new(spec, VrfPlacement::default_for(InstanceId(2)), 8);
        state.ports.insert(LocalPort {
            interface: "tap1".to_string(),
            mac: MacAddress([2, 0, 0, 0, 0, 1]),
            ip: None,
            label: Some(Label::new(16).expect("label")),
            direction: Direction::Both,
        });
        state.routes.insert(prefix("10.2.0.0/24"), BTreeSet::new());
        [(InstanceId(1), state)].into()
    }

    #[test]
    fn stale_routes_ports_and_vrfs_are_removed_and_nothing_claimed() {
        let vrfs = [
            ExistingVrf {
                index: 8,
                name: "bvrf-2".to_string(),
                alias: Some(vrf_alias("red")),
                table: Some(1002),
            },
            ExistingVrf {
                index: 7,
                name: "bvrf-1".to_string(),
                alias: Some(vrf_alias("blue")),
                table: Some(1001),
            },
            ExistingVrf {
                index: 9,
                name: "vrf-mgmt".to_string(),
                alias: None,
                table: Some(10),
            },
        ];
        let links = [
            link(8, "bvrf-2", None),
            link(10, "tap1", Some(8)),
            link(11, "tap-old", Some(8)),
            link(12, "tap-blue", Some(7)),
            link(13, "eth9", Some(9)),
        ];
        let routes = [
            (1002, prefix("10.2.0.0/24")),
            (1002, prefix("10.3.0.0/24")),
            (1001, prefix("10.9.0.0/24")),
            (10, prefix("10.10.0.0/24")),
        ];
        let what: Vec<String> = plan(&instances(), &vrfs, &links, &routes)
            .into_iter()
            .map(|r| r.what)
            .collect();
        let mut expected = vec![
            "ip route del 10.3.0.0/24 table 1002".to_string(),
            "ip link set tap-old down nomaster".to_string(),
        ];
        expected.extend(
            messages::vrf_rules(Change::Remove, "bvrf-1", 1001, false)
                .into_iter()
                .chain(messages::vrf_rules(Change::Remove, "bvrf-1", 1001, true))
                .map(|r| r.what),
        );
        expected.push("ip link del bvrf-1".to_string());
        assert_eq!(what, expected);
    }
}
