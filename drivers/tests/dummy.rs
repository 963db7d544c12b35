//! The dummy driver records what it is asked and refuses what no driver of its kind could do.

use std::net::{IpAddr, Ipv4Addr};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    DataplaneDriver, Destination, Direction, DriverError, Encapsulation, InstanceSpec, NextHop,
    Operation, RemoteEndpoint, TunnelId,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::{Label, MacAddress, Vni};
use bagpipe_drivers::dummy::{DummyDriver, DummyEvent};

fn create(vpn_type: VpnType, id: TunnelId) -> Operation {
    Operation::CreateInstance(InstanceSpec {
        vpn_type,
        instance: InstanceId(1),
        external_id: "net1".to_string(),
        id,
        linuxbr: None,
        gateway: None,
    })
}

fn route(destination: Destination, encapsulation: Encapsulation, id: TunnelId) -> Operation {
    Operation::SetupRemoteEndpoint {
        instance: InstanceId(1),
        endpoint: RemoteEndpoint {
            destination,
            next_hop: NextHop {
                remote_pe: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                id,
                encapsulation,
            },
            lb_consistent_hash_order: 0,
        },
    }
}

#[test]
fn records_every_operation_in_order() {
    let vni = TunnelId::Vni(Vni::new(100).unwrap());
    let mut d = DummyDriver::new(VpnType::Evpn);
    let batch = vec![
        create(VpnType::Evpn, vni),
        route(
            Destination::Mac(MacAddress([2, 0, 0, 0, 0, 2])),
            Encapsulation::VXLAN,
            vni,
        ),
    ];
    d.apply(&batch).expect("apply");
    d.apply(&[Operation::CleanupInstance {
        instance: InstanceId(1),
    }])
    .expect("cleanup");
    d.cleanup_all().expect("cleanup_all");
    assert_eq!(d.operations().count(), 3);
    assert_eq!(d.operations().next(), Some(&batch[0]));
    assert!(d.instances().is_empty());
    assert_eq!(d.events().last(), Some(&DummyEvent::CleanupAll));
    assert_eq!(
        d.remove_unclaimed().expect("remove_unclaimed"),
        Vec::<String>::new()
    );
    assert_eq!(d.events().last(), Some(&DummyEvent::RemoveUnclaimed));
    let json = serde_json::to_value(&d).expect("serialize");
    assert_eq!(json["events"][0]["call"], "apply");
    assert_eq!(
        json["events"][0]["operations"][1]["operation"],
        "setup_remote_endpoint"
    );
    assert_eq!(
        json["capabilities"]["encapsulations"],
        serde_json::json!(["vxlan"])
    );
}

#[test]
fn both_vpn_types_with_bagpipe_encapsulations() {
    let ipvpn = DummyDriver::new(VpnType::Ipvpn).capabilities();
    assert_eq!(
        ipvpn.encapsulations,
        vec![Encapsulation::Default, Encapsulation::MPLS]
    );
    assert_eq!(ipvpn.directions, vec![Direction::Both]);
    assert!(!ipvpn.ecmp);
    let label = TunnelId::Label(Label::new(18).unwrap());
    let mut d = DummyDriver::new(VpnType::Ipvpn);
    d.apply(&[
        create(VpnType::Ipvpn, label),
        route(
            Destination::Prefix("10.1.0.0/24".parse().unwrap()),
            Encapsulation::Default,
            label,
        ),
    ])
    .expect("ipvpn");
}

#[test]
fn refuses_unknown_instances_and_unsupported_encapsulations() {
    let vni = TunnelId::Vni(Vni::new(100).unwrap());
    let mut d = DummyDriver::new(VpnType::Evpn);
    let mac = Destination::Mac(MacAddress([2, 0, 0, 0, 0, 2]));
    let err = d
        .apply(&[
            route(mac, Encapsulation::VXLAN, vni),
            create(VpnType::Ipvpn, vni),
            create(VpnType::Evpn, vni),
            route(
                mac,
                Encapsulation::MPLS,
                TunnelId::Label(Label::new(5).unwrap()),
            ),
            route(mac, Encapsulation::VXLAN, vni),
        ])
        .expect_err("failures");
    let indexes: Vec<usize> = err.failures.iter().map(|f| f.index).collect();
    assert_eq!(indexes, vec![0, 1, 3]);
    assert_eq!(
        err.failures[0].error,
        DriverError::UnknownInstance {
            instance: InstanceId(1)
        }
    );
    // The failures are recorded too, for the looking glass.
    let DummyEvent::Apply { failures, .. } = &d.events()[0] else {
        panic!("not an apply");
    };
    assert_eq!(failures.len(), 3);
}
