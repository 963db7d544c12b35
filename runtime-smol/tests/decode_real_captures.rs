//! `bagpipe-decode` on real captures stored under conformance/vectors (see its README).

use std::process::Command;

fn decode(path: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_bagpipe-decode"))
        .arg(format!(
            "{}/../conformance/vectors/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn gobgp_session_decodes_every_message_with_its_vpn_fields() {
    let msgs = decode("gobgp/evpn-vpnv4-flowspec-session.pcap");
    let types: Vec<&str> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "open",
            "open",
            "keepalive",
            "keepalive",
            "update",
            "update",
            "update",
            "update",
            "update",
            "update",
            "notification"
        ]
    );
    for m in &msgs {
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(m["disposition"], "accepted", "{m}");
    }
    let attrs = |i: usize| {
        msgs[i]["message"]["update"]["attributes"]
            .as_array()
            .unwrap()
            .clone()
    };
    let attr = |i: usize, name: &str| {
        attrs(i)
            .into_iter()
            .find(|a| a["attribute"] == name)
            .unwrap()["value"]
            .clone()
    };
    // E-VPN MAC/IP with VNI 3000 and the VXLAN encapsulation community.
    let mac_ip = &attr(4, "mp_reach")["nlri"][0]["evpn"];
    assert_eq!(mac_ip["route_type"], "mac_ip_advertisement");
    assert_eq!(mac_ip["mac"], "52:54:00:12:34:56");
    assert_eq!(mac_ip["ip"], "10.0.0.5");
    assert_eq!(mac_ip["label1"]["raw"], 3000);
    assert_eq!(mac_ip["rd"]["addr"], "127.0.0.2");
    assert_eq!(attr(4, "extended_communities")[1]["tunnel_type"], "vxlan");
    // Inclusive multicast with PMSI ingress replication to 127.0.0.2, VNI 3000.
    assert_eq!(
        attr(5, "mp_reach")["nlri"][0]["evpn"]["route_type"],
        "inclusive_multicast"
    );
    let pmsi = attr(5, "pmsi_tunnel");
    assert_eq!(
        (pmsi["tunnel_type"].as_u64(), pmsi["label"]["raw"].as_u64()),
        (Some(6), Some(3000))
    );
    assert_eq!(pmsi["tunnel_id"], serde_json::json!([127, 0, 0, 2]));
    // VPNv4 10.1.1.0/24 label 1234.
    let vpn = &attr(6, "mp_reach")["nlri"][0]["vpn"];
    assert_eq!(vpn["labels"][0]["label"], 1234);
    assert_eq!(vpn["prefix"]["len"], 24);
    assert_eq!(
        attr(6, "mp_reach")["next_hop"]["vpn_ipv4"]["addr"],
        "10.99.0.2"
    );
    // FlowSpec-VPN: destination and protocol tcp, redirect to 64512:300.
    let rule = &attr(8, "mp_reach")["nlri"][0]["flow_spec"];
    assert_eq!(rule["components"][1]["ops"][0]["value"], 6);
    let redirect = &attr(8, "extended_communities")[0];
    assert_eq!(
        (
            redirect["type"].as_str(),
            redirect["target"]["number"].as_u64()
        ),
        (Some("redirect_to_route_target"), Some(300))
    );
    // The withdrawal and the Cease (Peer De-configured).
    assert_eq!(
        attr(9, "mp_unreach")["withdrawn"][0]["evpn"]["mac"],
        "52:54:00:12:34:56"
    );
    assert_eq!(msgs[10]["message"]["code"], "Cease");
    assert_eq!(msgs[10]["message"]["subcode"], 3);
}
