//! Where an instance's VRF lives (device name and routing table), and how a restarted daemon finds
//! the VRF an earlier run made for the same VPN.
//!
//! BaGPipe-BGP names a VRF `bvrf-<instance id>` with table `1000 + instance id`, and removes
//! every VRF at start. Instance ids are given in attach order, so after a restart `bvrf-1` may be
//! another VPN's: adopting a VRF by name would mix two VPNs' routes. So each VRF device carries
//! its VPN's id as its alias (`ip link set <vrf> alias bagpipe:<vpn_instance_id>`), and an
//! instance adopts the VRF with its alias, whatever its number; a new VRF takes the first
//! `bvrf-<n>`, `n` >= the instance id, whose name and table are free.

use super::{vrf_name, vrf_table};
use bagpipe_core::dataplane::InstanceSpec;
use bagpipe_core::rib::InstanceId;

/// The prefix of a VRF device's alias, before the VPN's id.
pub const ALIAS_PREFIX: &str = "bagpipe:";
/// The longest alias the kernel keeps (IFALIASZ - 1).
const MAX_ALIAS: usize = 255;

/// The alias marking a VRF device as the VPN `external_id`'s, cut to 255 octets at a character
/// boundary.
pub fn vrf_alias(external_id: &str) -> String {
    let mut alias = String::from(ALIAS_PREFIX);
    for c in external_id.chars() {
        if alias.len() + c.len_utf8() > MAX_ALIAS {
            break;
        }
        alias.push(c);
    }
    alias
}

/// A VRF's device name and routing table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VrfPlacement {
    /// The VRF device (`bvrf-<n>`).
    pub name: String,
    /// Its routing table.
    pub table: u32,
}

impl VrfPlacement {
    /// BaGPipe-BGP's placement for an instance: `bvrf-<id>`, table `1000 + id`.
    pub fn default_for(instance: InstanceId) -> Self {
        VrfPlacement {
            name: vrf_name(instance),
            table: vrf_table(instance),
        }
    }
}

/// A VRF device found in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingVrf {
    /// Interface index.
    pub index: u32,
    /// Device name.
    pub name: String,
    /// Its alias, if any.
    pub alias: Option<String>,
    /// The table it is bound to.
    pub table: Option<u32>,
}

/// What creating an instance does with its VRF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VrfChoice {
    /// Take over the VRF device an earlier run made for this VPN (its routes stay).
    Adopt {
        /// Where it is.
        placement: VrfPlacement,
        /// Its interface index.
        index: u32,
    },
    /// Create a VRF device there.
    Create(VrfPlacement),
}

/// Chooses the VRF of `spec` among the VRF devices that exist (`existing`) and the placements of
/// the driver's other instances (`in_use`).
pub fn choose(spec: &InstanceSpec, existing: &[ExistingVrf], in_use: &[VrfPlacement]) -> VrfChoice {
    let alias = vrf_alias(&spec.external_id);
    let taken_name = |name: &str| {
        existing.iter().any(|v| v.name == name) || in_use.iter().any(|p| p.name == name)
    };
    let taken_table = |table: u32| {
        existing.iter().any(|v| v.table == Some(table)) || in_use.iter().any(|p| p.table == table)
    };
    if let Some(vrf) = existing.iter().find(|v| {
        v.alias.as_deref() == Some(alias.as_str())
            && v.name.starts_with(super::VRF_PREFIX)
            && !in_use.iter().any(|p| p.name == v.name)
    }) {
        if let Some(table) = vrf.table {
            return VrfChoice::Adopt {
                placement: VrfPlacement {
                    name: vrf.name.clone(),
                    table,
                },
                index: vrf.index,
            };
        }
    }
    let mut n = spec.instance.0;
    loop {
        let placement = VrfPlacement::default_for(InstanceId(n));
        if !taken_name(&placement.name) && !taken_table(placement.table) {
            return VrfChoice::Create(placement);
        }
        match n.checked_add(1) {
            Some(next) => n = next,
            // Every number taken: impossible with 2^32 names; fall back to the default and
            // let the kernel refuse it.
            None => return VrfChoice::Create(VrfPlacement::default_for(spec.instance)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bagpipe_core::config::VpnType;
    use bagpipe_core::dataplane::TunnelId;
    use bagpipe_core::wire::Label;

    fn spec(instance: u32, external_id: &str) -> InstanceSpec {
        InstanceSpec {
            vpn_type: VpnType::Ipvpn,
            instance: InstanceId(instance),
            external_id: external_id.to_string(),
            id: TunnelId::Label(Label::new(100).expect("label")),
            linuxbr: None,
            gateway: None,
        }
    }

    fn vrf(index: u32, n: u32, external_id: Option<&str>) -> ExistingVrf {
        ExistingVrf {
            index,
            name: format!("bvrf-{n}"),
            alias: external_id.map(vrf_alias),
            table: Some(1000 + n),
        }
    }

    fn placed(n: u32) -> VrfPlacement {
        VrfPlacement::default_for(InstanceId(n))
    }

    #[test]
    fn a_fresh_instance_gets_bagpipes_name_and_table() {
        assert_eq!(
            choose(&spec(3, "blue"), &[], &[]),
            VrfChoice::Create(placed(3))
        );
    }

    #[test]
    fn a_restarted_instance_adopts_its_vpns_vrf_whatever_its_number() {
        // The earlier run had blue as instance 1 and red as 2; now red comes first.
        let existing = [vrf(7, 1, Some("blue")), vrf(8, 2, Some("red"))];
        assert_eq!(
            choose(&spec(1, "red"), &existing, &[]),
            VrfChoice::Adopt {
                placement: placed(2),
                index: 8
            }
        );
        assert_eq!(
            choose(&spec(2, "blue"), &existing, &[placed(2)]),
            VrfChoice::Adopt {
                placement: placed(1),
                index: 7
            }
        );
    }

    #[test]
    fn another_vpns_vrf_is_never_adopted_and_its_name_and_table_are_skipped() {
        let existing = [vrf(7, 1, Some("blue")), vrf(9, 3, None)];
        // green is instance 1: bvrf-1 is blue's, bvrf-2 is used by instance 2, bvrf-3 has no
        // alias (BaGPipe-BGP's): bvrf-4.
        assert_eq!(
            choose(&spec(1, "green"), &existing, &[placed(2)]),
            VrfChoice::Create(placed(4))
        );
        // A device with the right alias but not a VRF name of ours is not taken.
        let foreign = [ExistingVrf {
            index: 5,
            name: "vrf-mgmt".to_string(),
            alias: Some(vrf_alias("green")),
            table: Some(10),
        }];
        assert_eq!(
            choose(&spec(1, "green"), &foreign, &[]),
            VrfChoice::Create(placed(1))
        );
        // A table in use under another name is skipped too.
        let table_taken = [ExistingVrf {
            index: 5,
            name: "vrf-x".to_string(),
            alias: None,
            table: Some(1001),
        }];
        assert_eq!(
            choose(&spec(1, "green"), &table_taken, &[]),
            VrfChoice::Create(placed(2))
        );
    }

    #[test]
    fn aliases_are_cut_to_what_the_kernel_keeps() {
        let long = "é".repeat(200);
        let alias = vrf_alias(&long);
        assert!(alias.len() <= 255 && alias.starts_with(ALIAS_PREFIX));
        assert_eq!(vrf_alias("blue"), "bagpipe:blue");
    }
}
