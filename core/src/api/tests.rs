//! The API requests against reference-bagpipe-bgp.md §3: the nine example payloads of §3.4 parse
//! to the values in `snapshots/`; one table row per refusal rule; no input panics.

use super::*;
use crate::wire::RouteTarget;
use proptest::prelude::*;
use serde_json::{json, Value};

// --- §3.4 example payloads ----------------------------------------------------------------------

/// (a) BGPVPN L3 network association, OVS agent.
fn example_a() -> Value {
    json!({
      "vpn_type": "ipvpn",
      "vpn_instance_id": "ipvpn_6f1c…-network-uuid",
      "mac_address": "fa:16:3e:11:22:33",
      "ip_address": "10.0.0.5",
      "gateway_ip": "10.0.0.1",
      "local_port": {
        "linuxif": "patch2tun:3",
        "ovs": {"plugged": true, "port_number": 2, "vlan": 3}
      },
      "import_rt": ["64512:100"],
      "export_rt": ["64512:100"],
      "local_pref": 200,
      "fallback": {"dst_mac": "fa:16:3e:aa:bb:cc", "src_mac": "00:00:5e:2a:10:00", "ovs_port_number": 3},
      "description": {"port": "0b1e…-port-uuid"},
      "instance_description": "BGPVPN ipvpn associations for net 6f1c… (10.0.0.1)"
    })
}

/// (b) BGPVPN L2, EVPN, OVS agent, VXLAN segmentation id 101.
fn example_b() -> Value {
    json!({
      "vpn_type": "evpn",
      "vpn_instance_id": "evpn_6f1c…-network-uuid",
      "mac_address": "fa:16:3e:11:22:33",
      "ip_address": "10.0.0.5",
      "gateway_ip": "10.0.0.1",
      "local_port": {"linuxif": "patch2tun:3", "vlan": 3},
      "vni": 101,
      "import_rt": ["64512:10"],
      "export_rt": ["64512:10"],
      "description": {"port": "0b1e…"},
      "instance_description": "BGPVPN evpn associations for net 6f1c… (10.0.0.1)"
    })
}

/// (c) BGPVPN port association with a prefix route.
fn example_c() -> Value {
    json!({
      "vpn_type": "ipvpn",
      "vpn_instance_id": "ipvpn_portassoc_<assoc-uuid>_prefix_192_168_10_0_24",
      "direction": "to-port",
      "mac_address": "fa:16:3e:11:22:33",
      "ip_address": "192.168.10.0/24",
      "advertise_subnet": true,
      "gateway_ip": "10.0.0.1",
      "local_port": {"linuxif": "patch2tun:3", "ovs": {"plugged": true, "port_number": 2, "vlan": 3}},
      "import_rt": ["64512:99"], "export_rt": ["64512:98"],
      "local_pref": 44,
      "description": {"port": "0b1e…"},
      "instance_description": "BGPVPN Port association: prefix route 192.168.10.0/24 to BGPVPN …"
    })
}

/// (d) BGPVPN port association with a "bgpvpn" route (route leaking).
fn example_d() -> Value {
    json!({
      "vpn_type": "ipvpn",
      "vpn_instance_id": "ipvpn_portassoc_<assoc-uuid>_bgpvpn_<leaked-bgpvpn-uuid>",
      "direction": "to-port",
      "mac_address": "fa:16:3e:11:22:33", "ip_address": "10.0.0.5", "gateway_ip": "10.0.0.1",
      "local_port": {"linuxif": "patch2tun:3", "ovs": {"plugged": true, "port_number": 2, "vlan": 3}},
      "import_rt": ["64512:99"], "export_rt": ["64512:98"],
      "readvertise": {"from_rt": ["64512:96"], "to_rt": ["64512:98"]},
      "local_pref": 44
    })
}

/// (e) Detach sent by the OVS agent.
fn example_e() -> Value {
    json!({"vpn_type": "ipvpn", "vpn_instance_id": "ipvpn_6f1c…", "mac_address": "fa:16:3e:11:22:33",
     "ip_address": "10.0.0.5", "local_port": {"linuxif": "patch2tun:3"}})
}

/// (f) ML2 linuxbridge "bagpipe" extension (removed upstream, still accepted).
fn example_f() -> Value {
    json!({"vpn_type": "evpn", "vpn_instance_id": "evpn_<net-uuid>", "mac_address": "fa:16:3e:11:22:33",
     "ip_address": "10.0.0.5", "local_port": {"linuxif": "tap0b1e1234-56"},
     "linuxbr": "brq6f1c1234-56", "vni": 101,
     "import_rt": ["64512:101"], "export_rt": ["64512:101"]})
}

/// (g) SFC linuxbridge extension, egress side of a chain hop.
fn example_g() -> Value {
    json!({"vpn_type": "ipvpn", "vpn_instance_id": "ipvpn_<net-uuid>", "mac_address": "fa:16:3e:44:55:66",
     "ip_address": "30.0.0.5", "gateway_ip": "30.0.0.1",
     "local_port": {"linuxif": "brq<net-uuid-prefix>"},
     "import_rt": ["64512:5001"], "export_rt": ["64512:5002"],
     "readvertise": {"from_rt": ["64512:2"], "to_rt": ["64512:5100"]},
     "attract_traffic": {"redirect_rts": ["64512:5200"],
                         "classifier": {"destinationPort": "80", "protocol": "tcp",
                                        "destinationPrefix": "12.0.0.0/24"},
                         "to_rt": ["64512:5100"],
                         "static_destination_prefixes": ["12.0.0.0/24"]},
     "lb_consistent_hash_order": 0})
}

/// (h) `bagpipe-rest-attach --attach --port netns ...` (the netns MAC filled in).
fn example_h() -> Value {
    json!({"import_rt": ["64512:78"], "export_rt": ["64512:78"], "local_port": {"linuxif": "ns-test"},
     "vpn_instance_id": "test", "vpn_type": "ipvpn", "gateway_ip": "12.11.11.254",
     "mac_address": "52:54:00:99:99:22", "ip_address": "12.11.11.1/24",
     "advertise_subnet": false, "readvertise": null, "attract_traffic": {},
     "lb_consistent_hash_order": 0, "vni": 0, "direction": "both"})
}

/// (i) E-VPN plugged into an IP-VPN (the fields elided in §3.4 filled in as the
/// `evpn2ipvpn` sample does).
fn example_i() -> Value {
    json!({"vpn_type": "ipvpn", "vpn_instance_id": "net1vm1_ipvpn",
     "mac_address": "52:54:00:99:99:22", "ip_address": "11.11.11.1/24",
     "gateway_ip": "11.11.11.254", "import_rt": "64512:512", "export_rt": "64512:512",
     "local_port": {"evpn": {"id": "net1vm1_evpn"}}})
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn attach(v: &Value) -> Result<AttachRequest, ApiError> {
    parse_attach(&bytes(v))
}

#[test]
fn s3_4_a_network_association_ovs() {
    insta::assert_debug_snapshot!("s3_4_a", attach(&example_a()));
}

#[test]
fn s3_4_b_evpn_ovs() {
    insta::assert_debug_snapshot!("s3_4_b", attach(&example_b()));
}

#[test]
fn s3_4_c_port_association_prefix_route() {
    insta::assert_debug_snapshot!("s3_4_c", attach(&example_c()));
}

#[test]
fn s3_4_d_port_association_route_leaking() {
    insta::assert_debug_snapshot!("s3_4_d", attach(&example_d()));
}

#[test]
fn s3_4_e_detach_ovs_agent() {
    insta::assert_debug_snapshot!("s3_4_e", parse_detach(&bytes(&example_e())));
}

#[test]
fn s3_4_f_ml2_linuxbridge_evpn() {
    insta::assert_debug_snapshot!("s3_4_f", attach(&example_f()));
}

#[test]
fn s3_4_g_sfc_chain_hop() {
    insta::assert_debug_snapshot!("s3_4_g", attach(&example_g()));
}

#[test]
fn s3_4_h_rest_attach_cli() {
    insta::assert_debug_snapshot!("s3_4_h", attach(&example_h()));
}

#[test]
fn s3_4_i_evpn_plugged_into_ipvpn() {
    insta::assert_debug_snapshot!("s3_4_i", attach(&example_i()));
}

// --- §3.2 defaults and tolerance -----------------------------------------------------------------

/// A copy of `base` with `key` set to `value` (`None` removes it).
fn with(base: Value, key: &str, value: Option<Value>) -> Value {
    let mut v = base;
    if let Some(map) = v.as_object_mut() {
        match value {
            Some(x) => {
                map.insert(key.to_string(), x);
            }
            None => {
                map.remove(key);
            }
        }
    }
    v
}

fn rt(s: &str) -> RouteTarget {
    s.parse().unwrap()
}

#[test]
fn s3_2_defaults_when_optional_fields_are_absent() {
    let a = attach(
        &example_e().as_object().cloned().map_or(json!({}), |mut m| {
            m.insert("gateway_ip".into(), json!("10.0.0.1"));
            m.insert("import_rt".into(), json!(["64512:1"]));
            m.insert("export_rt".into(), json!(["64512:1"]));
            Value::Object(m)
        }),
    )
    .unwrap();
    assert!(!a.advertise_subnet);
    assert_eq!(a.lb_consistent_hash_order, 0);
    assert_eq!(a.local_pref, None);
    assert_eq!(a.vni, None);
    assert_eq!(a.direction, Direction::Both);
    assert_eq!(a.readvertise, None);
    assert_eq!(a.attract_traffic, None);
    assert_eq!(a.fallback, None);
    assert_eq!(a.description, None);
    assert_eq!(a.instance_description, None);
}

#[test]
fn s3_2_rt_as_comma_separated_string_duplicates_removed_empty_skipped() {
    let a = attach(&with(
        example_a(),
        "import_rt",
        Some(json!("64512:1,64512:2, 64512:1,,64512:3,")),
    ))
    .unwrap();
    assert_eq!(a.import_rt, [rt("64512:1"), rt("64512:2"), rt("64512:3")]);
    let a = attach(&with(
        example_a(),
        "export_rt",
        Some(json!(["64512:7", "", "64512:7", "1.2.3.4:5"])),
    ))
    .unwrap();
    assert_eq!(a.export_rt, [rt("64512:7"), rt("1.2.3.4:5")]);
    let a = attach(&with(example_a(), "export_rt", Some(json!([])))).unwrap();
    assert!(a.export_rt.is_empty());
}

#[test]
fn s3_2_local_port_string_is_linuxif() {
    let a = attach(&with(example_a(), "local_port", Some(json!("tap1234")))).unwrap();
    assert_eq!(a.local_port.linuxif.as_deref(), Some("tap1234"));
    assert_eq!(a.local_port.ovs, None);
}

#[test]
fn s3_2_ovs_port_number_and_vlan_as_numeric_strings() {
    let port = json!({"linuxif": "x", "ovs": {"plugged": true, "port_number": "7", "vlan": "42"}});
    let a = attach(&with(example_a(), "local_port", Some(port))).unwrap();
    let ovs = a.local_port.ovs.unwrap();
    assert_eq!((ovs.port_number, ovs.vlan), (Some(7), Some(42)));
}

#[test]
fn s3_2_ip_address_without_length_is_a_host_and_text_is_kept() {
    let a = attach(&example_a()).unwrap();
    let ip = a.ip_address.unwrap();
    assert_eq!(ip.prefix.to_string(), "10.0.0.5/32");
    assert_eq!(ip.text, "10.0.0.5");
    let a = attach(&with(
        example_a(),
        "ip_address",
        Some(json!("10.0.0.5/255.255.255.0")),
    ))
    .unwrap();
    assert_eq!(a.ip_address.unwrap().prefix.prefix(), 24);
}

#[test]
fn s3_2_mac_address_in_netaddr_forms() {
    for text in [
        "FA:16:3E:11:22:33",
        "fa-16-3e-11-22-33",
        "fa16.3e11.2233",
        "fa163e112233",
    ] {
        let a = attach(&with(example_a(), "mac_address", Some(json!(text)))).unwrap();
        assert_eq!(a.mac_address.to_string(), "fa:16:3e:11:22:33", "{text}");
    }
}

#[test]
fn s3_2_falsy_values_mean_not_given() {
    for falsy in [
        json!(null),
        json!(""),
        json!(0),
        json!({}),
        json!([]),
        json!(false),
    ] {
        let a = attach(&with(example_a(), "readvertise", Some(falsy.clone()))).unwrap();
        assert_eq!(a.readvertise, None);
        let a = attach(&with(example_a(), "attract_traffic", Some(falsy.clone()))).unwrap();
        assert_eq!(a.attract_traffic, None);
        let a = attach(&with(example_b(), "vni", Some(falsy.clone()))).unwrap();
        assert_eq!(a.vni, None);
        let a = attach(&with(example_a(), "direction", Some(falsy))).unwrap();
        assert_eq!(a.direction, Direction::Both);
    }
}

#[test]
fn s3_2_gateway_ip_null_is_accepted_for_ipvpn() {
    let a = attach(&with(example_a(), "gateway_ip", Some(Value::Null))).unwrap();
    assert_eq!(a.gateway_ip, None);
}

#[test]
fn s3_2_evpn_ip_address_is_optional() {
    let a = attach(&with(example_b(), "ip_address", None)).unwrap();
    assert_eq!(a.ip_address, None);
    let d = parse_detach(&bytes(&json!({"vpn_type": "evpn", "vpn_instance_id": "e",
        "mac_address": "fa:16:3e:11:22:33", "local_port": "tap1"})))
    .unwrap();
    assert_eq!(d.ip_address, None);
}

#[test]
fn s3_2_linuxbr_is_ignored_for_ipvpn() {
    let a = attach(&with(example_a(), "linuxbr", Some(json!(5)))).unwrap();
    assert_eq!(a.linuxbr, None);
}

#[test]
fn s3_2_unknown_fields_are_ignored() {
    let a = attach(&with(
        example_a(),
        "no_such_field",
        Some(json!({"x": [1, 2]})),
    ))
    .unwrap();
    assert_eq!(a, attach(&example_a()).unwrap());
    let d = parse_detach(&bytes(&with(example_e(), "import_rt", Some(json!(42))))).unwrap();
    assert_eq!(d, parse_detach(&bytes(&example_e())).unwrap());
}

#[test]
fn s2_2_attract_traffic_without_readvertise_or_to_rt_is_ignored() {
    let v = with(
        example_a(),
        "attract_traffic",
        Some(json!({"redirect_rts": ["64512:1"], "classifier": {"bogus": 1}})),
    );
    assert_eq!(attach(&v).unwrap().attract_traffic, None);
}

#[test]
fn s2_2_attract_traffic_from_readvertise_to_rt() {
    let v = with(
        example_d(),
        "attract_traffic",
        Some(json!({"redirect_rts": ["64512:1"],
                    "classifier": {"sourcePort": "1000:2000", "protocol": null}})),
    );
    let at = attach(&v).unwrap().attract_traffic.unwrap();
    assert_eq!(at.to_rt, None);
    assert_eq!(at.classifier.protocol, None);
    assert_eq!(
        at.classifier.source_port,
        Some(PortMatch::Range {
            min: 1000,
            max: 2000
        })
    );
}

// --- refusals: one row per rule ------------------------------------------------------------------

/// What a payload must be refused with: the field at fault, the message, BaGPipe-BGP's status.
struct Refusal {
    name: &'static str,
    payload: Value,
    field: &'static str,
    message: &'static str,
    reference_status: u16,
}

fn refusal(
    name: &'static str,
    payload: Value,
    field: &'static str,
    message: &'static str,
    reference_status: u16,
) -> Refusal {
    Refusal {
        name,
        payload,
        field,
        message,
        reference_status,
    }
}

fn attach_refusals() -> Vec<Refusal> {
    let a = example_a;
    let readv = || json!({"from_rt": ["64512:96"], "to_rt": ["64512:98"]});
    let attract = |extra: Value| {
        let mut base = json!({"redirect_rts": ["64512:1"], "classifier": {"protocol": "udp"}});
        if let (Some(m), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                m.insert(k.clone(), v.clone());
            }
        }
        with(
            with(a(), "readvertise", Some(readv())),
            "attract_traffic",
            Some(base),
        )
    };
    vec![
        refusal("missing vpn_type", with(a(), "vpn_type", None), "vpn_type",
            "missing instance_type ('vpn_type')", 400),
        refusal("unknown vpn_type", with(a(), "vpn_type", Some(json!("l2vpn"))), "vpn_type",
            "unknown vpn_type: l2vpn (expected \"ipvpn\" or \"evpn\")", 400),
        refusal("vpn_type not a string", with(a(), "vpn_type", Some(json!(["ipvpn"]))), "vpn_type",
            "unknown vpn_type: [\"ipvpn\"] (expected \"ipvpn\" or \"evpn\")", 400),
        refusal("missing vpn_instance_id", with(a(), "vpn_instance_id", None), "vpn_instance_id",
            "Missing parameter: 'vpn_instance_id'", 400),
        refusal("missing mac_address", with(a(), "mac_address", None), "mac_address",
            "Missing parameter: 'mac_address'", 400),
        refusal("missing local_port", with(a(), "local_port", None), "local_port",
            "Missing parameter: 'local_port'", 400),
        refusal("missing import_rt", with(a(), "import_rt", None), "import_rt",
            "Missing parameter: 'import_rt'", 400),
        refusal("missing export_rt", with(a(), "export_rt", None), "export_rt",
            "Missing parameter: 'export_rt'", 400),
        refusal("ipvpn missing ip_address", with(a(), "ip_address", None), "ip_address",
            "Missing parameter: 'ip_address'", 400),
        refusal("ipvpn missing gateway_ip", with(a(), "gateway_ip", None), "gateway_ip",
            "Missing parameter: 'gateway_ip'", 400),
        refusal("local_port without linuxif or evpn",
            with(a(), "local_port", Some(json!({"ovs": {"plugged": true}}))), "local_port",
            "Mandatory key is missing in local_port parameter (linuxif, or evpn)", 400),
        refusal("local_port of the wrong type", with(a(), "local_port", Some(json!(3))),
            "local_port", "'local_port' must be a string or an object, got a number", 500),
        refusal("bad mac", with(a(), "mac_address", Some(json!("fa:16:3e:11:22:zz"))),
            "mac_address", "MAC address fa:16:3e:11:22:zz is not valid ('mac_address')", 400),
        refusal("mac not a string", with(a(), "mac_address", Some(json!(12345))),
            "mac_address", "'mac_address' must be a string, got a number", 500),
        refusal("eui-64 mac", with(a(), "mac_address", Some(json!("fa:16:3e:ff:fe:11:22:33"))),
            "mac_address",
            "MAC address fa:16:3e:ff:fe:11:22:33 is not valid ('mac_address')", 500),
        refusal("bad ip", with(a(), "ip_address", Some(json!("10.0.0.256"))), "ip_address",
            "IP address 10.0.0.256 is not valid ('ip_address')", 400),
        refusal("bad prefix length", with(a(), "ip_address", Some(json!("10.0.0.5/33"))),
            "ip_address", "IP address 10.0.0.5/33 is not valid ('ip_address')", 400),
        refusal("ip null", with(a(), "ip_address", Some(Value::Null)), "ip_address",
            "'ip_address' must be a string, got null", 500),
        refusal("advertise_subnet not a boolean", with(a(), "advertise_subnet", Some(json!("yes"))),
            "advertise_subnet", "'advertise_subnet' must be a boolean, got a string", 400),
        refusal("advertise_subnet null", with(a(), "advertise_subnet", Some(Value::Null)),
            "advertise_subnet", "'advertise_subnet' must be a boolean, got null", 400),
        refusal("bad direction", with(a(), "direction", Some(json!("inbound"))), "direction",
            "direction should be one of: both, to-port, from-port (got \"inbound\")", 400),
        refusal("direction not a string", with(a(), "direction", Some(json!(1))), "direction",
            "direction should be one of: both, to-port, from-port (got 1)", 400),
        refusal("bad gateway", with(a(), "gateway_ip", Some(json!("10.0.0.1/24"))), "gateway_ip",
            "IP address 10.0.0.1/24 is not valid ('gateway_ip')", 500),
        refusal("bad rt in list", with(a(), "import_rt", Some(json!(["64512:1", "64512"]))),
            "import_rt[1]",
            "Malformed route target: '64512' ('import_rt[1]': \"64512\": expected ADMIN:NUMBER)",
            500),
        refusal("bad rt in string", with(a(), "export_rt", Some(json!("64512:1,foo:2"))),
            "export_rt",
            "Malformed route target: 'foo:2' ('export_rt': \"foo:2\": the part before ':' is \
             neither an AS number nor an IPv4 address)", 500),
        refusal("rt too large", with(a(), "import_rt", Some(json!(["1.2.3.4:70000"]))),
            "import_rt[0]",
            "Malformed route target: '1.2.3.4:70000' ('import_rt[0]': \"1.2.3.4:70000\": \
             assigned number too large)", 500),
        refusal("rt not a string", with(a(), "import_rt", Some(json!([64512]))), "import_rt[0]",
            "'import_rt[0]' must be a route target string, got a number", 500),
        refusal("rt list of the wrong type", with(a(), "import_rt", Some(json!({"64512:1": 1}))),
            "import_rt", "'import_rt' must be a list of route targets or a string, got an object",
            500),
        refusal("vni negative", with(example_b(), "vni", Some(json!(-1))), "vni",
            "'vni' is -1, outside 0..=16777215", 500),
        refusal("vni too large", with(example_b(), "vni", Some(json!(16_777_216))), "vni",
            "'vni' is 16777216, outside 0..=16777215", 500),
        refusal("vni huge", with(example_b(), "vni", Some(json!(1e30))), "vni",
            "'vni' is 1e+30, outside 0..=16777215", 500),
        refusal("vni fraction", with(example_b(), "vni", Some(json!(1.5))), "vni",
            "'vni' must be an integer, got a number", 500),
        refusal("vni string", with(example_b(), "vni", Some(json!("101"))), "vni",
            "'vni' must be an integer, got a string", 500),
        refusal("local_pref too large", with(a(), "local_pref", Some(json!(4_294_967_296u64))),
            "local_pref", "'local_pref' is 4294967296, outside 0..=4294967295", 500),
        refusal("lb order null", with(a(), "lb_consistent_hash_order", Some(Value::Null)),
            "lb_consistent_hash_order",
            "'lb_consistent_hash_order' must be an integer, got null", 500),
        refusal("ovs vlan too large",
            with(a(), "local_port", Some(json!({"linuxif": "x", "ovs": {"vlan": 4096}}))),
            "local_port.ovs.vlan", "'local_port.ovs.vlan' is 4096, outside 0..=4095", 500),
        refusal("ovs port number not numeric",
            with(a(), "local_port", Some(json!({"linuxif": "x", "ovs": {"port_number": "p1"}}))),
            "local_port.ovs.port_number",
            "'local_port.ovs.port_number' is \"p1\", expected an integer or a string of decimal \
             digits", 500),
        refusal("evpn attach without linuxif",
            with(example_b(), "local_port", Some(json!({"evpn": {"id": "x"}}))),
            "local_port.linuxif",
            "an evpn attachment needs 'local_port.linuxif' (only an ipvpn can plug an evpn)", 500),
        refusal("evpn plug with linuxif",
            with(a(), "local_port", Some(json!({"linuxif": "tap1", "evpn": {"id": "e"}}))),
            "local_port.linuxif",
            "Cannot specify an attachment with both a linuxif and an evpn", 500),
        refusal("evpn plug without id", with(a(), "local_port", Some(json!({"evpn": {}}))),
            "local_port.evpn.id", "Missing parameter: 'local_port.evpn.id'", 500),
        refusal("evpn plug ovs_port_name not preplugged",
            with(a(), "local_port", Some(json!({"evpn": {"id": "e", "ovs_port_name": "p"}}))),
            "local_port.evpn.ovs_port_name",
            "Using ovs_port_name in EVPN/IPVPN attachment requires specifying the corresponding \
             OVS port, which must also be pre-plugged ('local_port.ovs.plugged' and 'port_name' \
             or 'port_number')", 500),
        refusal("readvertise without to_rt",
            with(a(), "readvertise", Some(json!({"from_rt": ["64512:1"]}))), "readvertise.to_rt",
            "Missing parameter: 'readvertise.to_rt'", 500),
        refusal("readvertise without from_rt",
            with(a(), "readvertise", Some(json!({"to_rt": ["64512:1"]}))), "readvertise.from_rt",
            "Missing parameter: 'readvertise.from_rt'", 500),
        refusal("readvertise rts as a string",
            with(a(), "readvertise", Some(json!({"from_rt": "64512:1", "to_rt": ["64512:2"]}))),
            "readvertise.from_rt", "'readvertise.from_rt' must be an array, got a string", 500),
        refusal("readvertise not an object", with(a(), "readvertise", Some(json!(["64512:1"]))),
            "readvertise", "'readvertise' must be an object, got an array", 500),
        refusal("attract_traffic without redirect_rts",
            with(a(), "attract_traffic", Some(json!({"classifier": {}}))),
            "attract_traffic.redirect_rts", "Missing parameter: 'attract_traffic.redirect_rts'",
            500),
        refusal("attract_traffic without classifier",
            with(with(a(), "readvertise", Some(readv())), "attract_traffic",
                Some(json!({"redirect_rts": ["64512:1"]}))),
            "attract_traffic.classifier", "Missing parameter: 'attract_traffic.classifier'", 400),
        refusal("attract to_rt differs from readvertise to_rt",
            attract(json!({"to_rt": ["64512:99"], "static_destination_prefixes": []})),
            "attract_traffic.to_rt",
            "if both are set, then 'attract_traffic/to_rt' and 'readvertise/to_rt' have to be \
             equal", 400),
        refusal("attract to_rt without static prefixes",
            attract(json!({"to_rt": ["64512:98"]})),
            "attract_traffic.static_destination_prefixes",
            "Missing parameter: 'attract_traffic.static_destination_prefixes'", 400),
        refusal("attract needs exactly one to_rt",
            with(with(a(), "readvertise",
                Some(json!({"from_rt": [], "to_rt": ["64512:1", "64512:2"]}))),
                "attract_traffic",
                Some(json!({"redirect_rts": ["64512:1"], "classifier": {}}))),
            "attract_traffic.to_rt",
            "attract_traffic requires exactly one RT to be provided in 'readvertise/to_rt' and \
             'attract_traffic/to_rt' (got 2)", 400),
        refusal("classifier unknown key", attract(json!({"classifier": {"dport": "80"}})),
            "attract_traffic.classifier.dport",
            "'attract_traffic.classifier.dport' is not a classifier field (sourcePrefix, \
             destinationPrefix, sourcePort, destinationPort, protocol)", 500),
        refusal("classifier bad port", attract(json!({"classifier": {"sourcePort": "http"}})),
            "attract_traffic.classifier.sourcePort",
            "'attract_traffic.classifier.sourcePort' is \"http\", expected a port \"N\" or a range \
             \"MIN:MAX\", 0..=65535", 500),
        refusal("classifier empty range",
            attract(json!({"classifier": {"destinationPort": "90:80"}})),
            "attract_traffic.classifier.destinationPort",
            "'attract_traffic.classifier.destinationPort' is the empty port range \"\\\"90:80\\\"\" \
             (min above max)", 500),
        refusal("classifier unknown protocol",
            attract(json!({"classifier": {"protocol": "quic"}})),
            "attract_traffic.classifier.protocol",
            "'attract_traffic.classifier.protocol' is \"quic\", expected an IP protocol name \
             (tcp, udp, icmp, sctp, gre, ...)", 500),
        refusal("classifier bad prefix",
            attract(json!({"classifier": {"sourcePrefix": "12.0.0.0/40"}})),
            "attract_traffic.classifier.sourcePrefix",
            "IP address 12.0.0.0/40 is not valid ('attract_traffic.classifier.sourcePrefix')", 500),
        refusal("classifier field in both spellings",
            attract(json!({"classifier": {"sourcePort": "1", "source_port": "2"}})),
            "attract_traffic.classifier.sourcePort",
            "'attract_traffic.classifier.sourcePort' is also given as 'source_port'", 500),
        refusal("fallback bad mac",
            with(a(), "fallback", Some(json!({"src_mac": "nope"}))), "fallback.src_mac",
            "MAC address nope is not valid ('fallback.src_mac')", 500),
        refusal("fallback not an object", with(a(), "fallback", Some(json!("patch"))),
            "fallback", "'fallback' must be an object, got a string", 500),
        refusal("instance_description not a string",
            with(a(), "instance_description", Some(json!(["x"]))), "instance_description",
            "'instance_description' must be a string, got an array", 500),
        refusal("vpn_instance_id not a string", with(a(), "vpn_instance_id", Some(json!(5))),
            "vpn_instance_id", "'vpn_instance_id' must be a string, got a number", 500),
        refusal("evpn linuxbr not a string", with(example_b(), "linuxbr", Some(json!(5))),
            "linuxbr", "'linuxbr' must be a string, got a number", 500),
    ]
}

#[test]
fn refusals_name_the_field_and_the_problem() {
    let mut wrong = Vec::new();
    for r in attach_refusals() {
        let e = match attach(&r.payload) {
            Err(e) => e,
            Ok(ok) => {
                wrong.push(format!("{}: accepted as {ok:?}", r.name));
                continue;
            }
        };
        let got = (e.field.as_str(), e.to_string(), e.reference().http_status);
        if got != (r.field, r.message.to_string(), r.reference_status) {
            wrong.push(format!("{}: got {got:?}", r.name));
        }
        assert_eq!(e.class(), ErrorClass::Client, "{}", r.name);
        assert_eq!(e.http_status(), 400, "{}", r.name);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn s3_1_body_that_is_not_json_or_not_an_object() {
    let not_json: [&[u8]; 6] = [
        b"",
        b"   ",
        b"{",
        b"vpn_type=ipvpn",
        b"\xff\xfe{}",
        b"{\"vni\": NaN}",
    ];
    for body in not_json {
        for e in [
            parse_attach(body).unwrap_err(),
            parse_detach(body).unwrap_err(),
        ] {
            assert!(matches!(e.problem, ApiProblem::NotJson { .. }), "{body:?}");
            assert!(e.to_string().starts_with("No local port details received"));
            assert_eq!(e.reference().http_status, 400);
            assert_eq!(e.http_status(), 400);
        }
    }
    for (body, found) in [
        ("[]", "an array"),
        ("null", "null"),
        ("42", "a number"),
        ("\"x\"", "a string"),
    ] {
        let e = parse_attach(body.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the request body must be a JSON object, got {found}")
        );
        assert_eq!(e.reference().http_status, 500);
        assert_eq!(e.http_status(), 400);
    }
    let huge = b"{\"vni\": 1e400}";
    assert!(matches!(
        parse_attach(huge).unwrap_err().problem,
        ApiProblem::NotJson { .. }
    ));
    let deep = "[".repeat(100_000);
    assert!(parse_attach(deep.as_bytes()).is_err());
}

#[test]
fn s3_3_detach_refusals() {
    let e = example_e;
    let cases = [
        (
            with(e(), "ip_address", None),
            "Missing parameter: 'ip_address'",
        ),
        (
            with(e(), "vpn_type", None),
            "missing instance_type ('vpn_type')",
        ),
        (
            with(e(), "local_port", Some(json!({}))),
            "Mandatory key is missing in local_port parameter (linuxif, or evpn)",
        ),
        (
            with(e(), "mac_address", Some(json!("00:11"))),
            "MAC address 00:11 is not valid ('mac_address')",
        ),
        (
            with(e(), "advertise_subnet", Some(json!(1))),
            "'advertise_subnet' must be a boolean, got a number",
        ),
    ];
    for (payload, message) in cases {
        let err = parse_detach(&bytes(&payload)).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(err.http_status(), 400);
    }
    // Detach needs neither RTs nor gateway, and an IP-VPN detach may name an E-VPN plug.
    let d = parse_detach(&bytes(&with(
        e(),
        "local_port",
        Some(json!({"evpn": {"id": "evpn_n"}})),
    )))
    .unwrap();
    assert_eq!(d.local_port.evpn.map(|p| p.id), Some("evpn_n".to_string()));
}

// --- no input panics -----------------------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("ipvpn"),
            Just("evpn"),
            Just("64512:1"),
            Just("fa:16:3e:11:22:33"),
            Just("10.0.0.1/24"),
            Just("to-port"),
            Just("80:90"),
            Just("tcp"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    ".{0,8}",
                    prop_oneof![
                        Just("linuxif"),
                        Just("evpn"),
                        Just("ovs"),
                        Just("id"),
                        Just("to_rt"),
                        Just("from_rt"),
                        Just("redirect_rts"),
                        Just("classifier"),
                        Just("protocol"),
                        Just("sourcePort"),
                        Just("plugged"),
                        Just("vlan")
                    ]
                    .prop_map(str::to_string),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TOP_LEVEL_KEYS: [&str; 20] = [
    "vpn_type",
    "vpn_instance_id",
    "mac_address",
    "ip_address",
    "gateway_ip",
    "local_port",
    "import_rt",
    "export_rt",
    "advertise_subnet",
    "lb_consistent_hash_order",
    "local_pref",
    "vni",
    "direction",
    "linuxbr",
    "readvertise",
    "attract_traffic",
    "fallback",
    "instance_description",
    "description",
    "no_such_field",
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_attach(&body);
        let _ = parse_detach(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let body = bytes(&v);
        let _ = parse_attach(&body);
        let _ = parse_detach(&body);
    }

    /// Every example with one field replaced by arbitrary JSON (or removed): an answer, never a
    /// panic, and any error is a client error whose message names something.
    #[test]
    fn examples_with_one_field_replaced_never_panic(
        which in 0usize..9,
        key in prop::sample::select(TOP_LEVEL_KEYS.to_vec()),
        value in prop::option::of(arb_json()),
    ) {
        let examples = [example_a(), example_b(), example_c(), example_d(), example_e(),
                        example_f(), example_g(), example_h(), example_i()];
        let body = bytes(&with(examples[which].clone(), key, value));
        for result in [parse_attach(&body).err(), parse_detach(&body).err()].into_iter().flatten() {
            prop_assert_eq!(result.http_status(), 400);
            prop_assert!(!result.to_string().is_empty());
        }
    }
}
