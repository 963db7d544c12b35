use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::config::VpnType;
use crate::rib::InstanceId;
use crate::wire::extcomm::TunnelType;
use crate::wire::{Label, MacAddress, Vni};

fn evpn_linux() -> Capabilities {
    Capabilities {
        driver: "linux".to_string(),
        vpn_type: VpnType::Evpn,
        encapsulations: vec![Encapsulation::VXLAN],
        ecmp: false,
        directions: vec![Direction::Both],
        needs_cleanup_assist: false,
    }
}

fn ipvpn_dummy() -> Capabilities {
    Capabilities {
        driver: "dummy".to_string(),
        vpn_type: VpnType::Ipvpn,
        encapsulations: vec![Encapsulation::Default, Encapsulation::MPLS],
        ecmp: false,
        directions: vec![Direction::Both],
        needs_cleanup_assist: false,
    }
}

fn vni(v: u32) -> TunnelId {
    TunnelId::Vni(Vni::new(v).unwrap())
}

fn mac_route(encapsulation: Encapsulation, id: TunnelId) -> Operation {
    Operation::SetupRemoteEndpoint {
        instance: InstanceId(1),
        endpoint: RemoteEndpoint {
            destination: Destination::Mac(MacAddress([2, 0, 0, 0, 0, 2])),
            next_hop: NextHop {
                remote_pe: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
                id,
                encapsulation,
            },
            lb_consistent_hash_order: 0,
        },
    }
}

/// Reference §2.5: advertised encapsulations are the supported ones except DEFAULT.
#[test]
fn advertised_tunnel_types_leave_out_default() {
    assert_eq!(
        ipvpn_dummy().advertised_tunnel_types(),
        vec![TunnelType::Mpls]
    );
    assert_eq!(
        evpn_linux().advertised_tunnel_types(),
        vec![TunnelType::Vxlan]
    );
}

/// Reference §2.5: a route without an Encapsulation community offers DEFAULT, so a VXLAN-only
/// E-VPN driver ignores it.
#[test]
fn route_without_encapsulation_is_default() {
    assert_eq!(evpn_linux().select_encapsulation(&[]), None);
    assert_eq!(
        ipvpn_dummy().select_encapsulation(&[]),
        Some(Encapsulation::Default)
    );
    assert_eq!(
        evpn_linux().select_encapsulation(&[Encapsulation::MPLS, Encapsulation::VXLAN]),
        Some(Encapsulation::VXLAN)
    );
}

#[test]
fn check_refuses_what_the_driver_cannot_carry() {
    let caps = evpn_linux();
    assert_eq!(
        caps.check(&mac_route(Encapsulation::VXLAN, vni(100))),
        Ok(())
    );
    assert!(matches!(
        caps.check(&mac_route(Encapsulation::MPLS, vni(100))),
        Err(DriverError::Unsupported { .. })
    ));
    let label = TunnelId::Label(Label::new(18).unwrap());
    assert!(matches!(
        caps.check(&mac_route(Encapsulation::VXLAN, label)),
        Err(DriverError::InvalidArgument { .. })
    ));
    let create_ipvpn = Operation::CreateInstance(InstanceSpec {
        vpn_type: VpnType::Ipvpn,
        instance: InstanceId(1),
        external_id: "x".to_string(),
        id: label,
        linuxbr: None,
        gateway: None,
    });
    let err = caps.check(&create_ipvpn).unwrap_err();
    assert_eq!(
        err.to_string(),
        "driver linux does not support ipvpn instances"
    );
    let flood = Operation::AddFloodEntry {
        instance: InstanceId(1),
        entry: FloodEntry {
            remote_vtep: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
            id: label,
            encapsulation: Encapsulation::MPLS,
        },
    };
    assert!(ipvpn_dummy().check(&flood).is_err());
}

#[test]
fn operations_serialize_with_their_names() {
    let op = mac_route(Encapsulation::VXLAN, vni(100));
    let json = serde_json::to_value(&op).unwrap();
    assert_eq!(json["operation"], op.name());
    assert_eq!(
        json,
        serde_json::json!({
            "operation": "setup_remote_endpoint",
            "instance": 1,
            "endpoint": {
                "destination": {"mac": "02:00:00:00:00:02"},
                "next_hop": {"remote_pe": "10.99.0.2", "id": {"vni": 100}, "encapsulation": "vxlan"},
                "lb_consistent_hash_order": 0
            }
        })
    );
    let cleanup = Operation::CleanupInstance {
        instance: InstanceId(7),
    };
    assert_eq!(
        serde_json::to_string(&cleanup).unwrap(),
        r#"{"operation":"cleanup_instance","instance":7}"#
    );
    assert_eq!(cleanup.instance(), InstanceId(7));
    assert!(!cleanup.is_addition());
}

#[test]
fn apply_error_names_each_failure() {
    let err = ApplyError::single(
        3,
        mac_route(Encapsulation::VXLAN, vni(100)),
        DriverError::Kernel {
            request: "add fdb 02:00:00:00:00:02".to_string(),
            errno: 19,
            message: "No such device".to_string(),
        },
    );
    assert_eq!(
        err.to_string(),
        "1 dataplane operation(s) failed; #3 setup_remote_endpoint (instance 1): \
         add fdb 02:00:00:00:00:02: No such device (errno 19)"
    );
    assert_eq!(ApplyError::into_result(Vec::new()), Ok(()));
}
