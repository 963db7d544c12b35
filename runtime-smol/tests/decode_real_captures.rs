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

#[test]
fn frr_and_exabgp_sessions_decode_every_message_with_their_vpn_fields() {
    let msgs = decode("frr-exabgp/vpnv4-flowspec-sessions.pcap");
    assert_eq!(msgs.len(), 17);
    for m in &msgs {
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(m["disposition"], "accepted", "{m}");
    }
    fn from<'a>(
        msgs: &'a [serde_json::Value],
        ip: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> {
        msgs.iter()
            .filter(move |m| m["src"].as_str().unwrap().starts_with(ip))
    }
    let updates = |ip: &str| {
        from(&msgs, ip)
            .filter(|m| m["type"] == "update")
            .map(|m| m["message"]["update"]["attributes"].clone())
            .collect::<Vec<_>>()
    };
    let mp_reach = |attrs: &serde_json::Value| {
        attrs
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attribute"] == "mp_reach")
            .map(|a| a["value"].clone())
    };
    // FRR (127.0.0.4): VPNv4 10.40.0.0/24, RD 127.0.0.4:300, label 4000.
    let frr: Vec<_> = updates("127.0.0.4:").iter().filter_map(mp_reach).collect();
    let vpn = &frr[0]["nlri"][0]["vpn"];
    assert_eq!(
        (
            vpn["labels"][0]["label"].as_u64(),
            vpn["rd"]["number"].as_u64()
        ),
        (Some(4000), Some(300))
    );
    assert_eq!(vpn["prefix"]["addr"], "10.40.0.0");
    // ExaBGP (127.0.0.3): an End-of-RIB per family, VPNv4 label 2000 and a FlowSpec rule.
    let exa = updates("127.0.0.3:");
    let eors = exa
        .iter()
        .filter(|a| {
            a[0]["attribute"] == "mp_unreach" && a[0]["value"]["withdrawn"] == serde_json::json!([])
        })
        .count();
    assert_eq!(eors, 4);
    let reach: Vec<_> = exa.iter().filter_map(mp_reach).collect();
    assert_eq!(reach[0]["nlri"][0]["vpn"]["labels"][0]["label"], 2000);
    assert_eq!(reach[1]["family"]["safi"], "FlowSpec");
    assert_eq!(
        reach[1]["nlri"][0]["flow_spec"]["components"][0]["prefix"]["pattern"],
        serde_json::json!([10, 30, 0])
    );
    // FRR's OPEN announces enhanced route refresh and add-path.
    let open = from(&msgs, "127.0.0.4:")
        .find(|m| m["type"] == "open")
        .unwrap();
    let caps: Vec<_> = open["message"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect();
    assert!(
        caps.contains(&"enhanced_route_refresh".to_string())
            && caps.contains(&"add_path".to_string()),
        "{caps:?}"
    );
}
