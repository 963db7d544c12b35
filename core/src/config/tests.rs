//! Both file formats end to end: examples that must load, and one test per validation rule
//! checking the key and the problem an operator is told about.

use super::*;
use crate::wire::Family;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn toml_err(text: &str) -> ConfigError {
    parse(text, "test.toml", ConfigFormat::Toml).unwrap_err()
}

fn ini_err(text: &str) -> ConfigError {
    parse(text, "bgp.conf", ConfigFormat::BagpipeIni).unwrap_err()
}

/// testbed.md §9: the bgp.conf that ran the original against the GoBGP reflector.
const TESTBED_BGP_CONF: &str = "[BGP]
local_address = 127.0.0.6
peers = 127.0.0.1
my_as = 64512
enable_rtc = True
bgp_port = 10179

[API]
host = 127.0.0.1
port = 8082

[DATAPLANE_DRIVER_IPVPN]
dataplane_driver = dummy

[DATAPLANE_DRIVER_EVPN]
dataplane_driver = dummy
";

#[test]
fn bagpipe_conf_from_the_testbed_dials_every_peer_like_bagpipe() {
    let config = parse(TESTBED_BGP_CONF, "bgp.conf", ConfigFormat::BagpipeIni).unwrap();
    assert_eq!(config.format, ConfigFormat::BagpipeIni);
    assert_eq!(config.local_as, 64512);
    assert_eq!(config.local_address, LocalAddress::Ip(ip("127.0.0.6")));
    assert_eq!(config.listen, None, "BaGPipe-BGP never listens");
    assert_eq!(config.api, ApiConfig::default());
    assert_eq!(config.dataplane, DataplaneConfig::default());
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.peers.len(), 1);
    let peer = &config.peers[0];
    assert_eq!(peer.address, ip("127.0.0.1"));
    assert_eq!(peer.port, 10179);
    assert_eq!(peer.remote_as, 64512, "iBGP only");
    assert!(!peer.passive);
    assert_eq!(peer.hold_time, Duration::from_secs(180));
    assert_eq!(peer.connect_retry, Duration::from_secs(5));
    assert_eq!(
        peer.families,
        BTreeSet::from([
            Family::EVPN,
            Family::VPNV4,
            Family::RTC,
            Family::FLOWSPEC_VPNV4
        ])
    );
    let resolved = config.resolve("bgp.conf", |_| vec![]).unwrap();
    assert_eq!(
        resolved.speaker.router_id,
        "127.0.0.6".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(resolved.speaker.local_address, ip("127.0.0.6"));
    assert_eq!(resolved.listen, None);
}

#[test]
fn bagpipe_conf_shipped_template_with_interface_and_ovs_options() {
    // reference §5: the shipped template (local_address=eth0, mpls_interface=*gre*, ...).
    let text = "[DEFAULT]\ndebug = True\nlog_file = /var/log/bagpipe-bgp.log\n\
        [COMMON]\nroot_helper = sudo\n\
        [API]\napi_host = localhost\napi_port = 8082\n\
        [BGP]\nlocal_address = eth0\npeers = 192.168.0.101, 192.168.0.102\nmy_as = 64512\nenable_rtc = False\n\
        [DATAPLANE_DRIVER_IPVPN]\ndataplane_driver = mpls_ovs_dataplane.MPLSOVSDataplaneDriver\n\
        mpls_interface = *gre*\novsbr_interfaces_mtu = 4000\nproxy_arp = False\n\
        gre_tunnel_options = packet_type=legacy_l3\nhash_method = dp_hash\nvendor_knob = 7\n\
        [DATAPLANE_DRIVER_EVPN]\ndataplane_driver = ovs\ndataplane_local_address = 10.1.1.1\n\
        [DATAPLANE_DRIVER]\ndataplane_driver = dummy\n";
    let config = parse(text, "bgp.conf", ConfigFormat::BagpipeIni).unwrap();
    assert_eq!(config.local_address, LocalAddress::Interface("eth0".into()));
    assert_eq!(config.api.host, "localhost");
    assert_eq!(config.peers.len(), 2);
    assert_eq!(config.peers[1].port, 179);
    assert!(
        !config.peers[0].families.contains(&Family::RTC),
        "enable_rtc = False"
    );
    assert_eq!(config.logging.level, Some(LogLevel::Debug));
    assert_eq!(
        config.logging.file.as_deref(),
        Some("/var/log/bagpipe-bgp.log")
    );
    let ipvpn = &config.dataplane.ipvpn;
    assert_eq!(ipvpn.driver, DriverKind::Ovs);
    assert_eq!(
        ipvpn.options["mpls_interface"],
        DriverOption::Text("*gre*".into())
    );
    assert_eq!(
        ipvpn.options["ovsbr_interfaces_mtu"],
        DriverOption::Integer(4000)
    );
    assert_eq!(ipvpn.options["proxy_arp"], DriverOption::Bool(false));
    assert_eq!(
        ipvpn.options["gre_tunnel_options"],
        DriverOption::List(vec!["packet_type=legacy_l3".into()])
    );
    assert_eq!(ipvpn.options["vendor_knob"], DriverOption::Text("7".into()));
    assert_eq!(config.dataplane.evpn.driver, DriverKind::Ovs);
    assert!(config
        .warnings
        .iter()
        .any(|w| w.contains("DATAPLANE_DRIVER_IPVPN.vendor_knob")));
    assert!(config
        .warnings
        .iter()
        .any(|w| w.contains("[DATAPLANE_DRIVER] is obsolete")));

    let eth0 = |name: &str| {
        if name == "eth0" {
            vec![ip("192.0.2.5")]
        } else {
            vec![]
        }
    };
    let resolved = config.resolve("bgp.conf", eth0).unwrap();
    assert_eq!(resolved.speaker.local_address, ip("192.0.2.5"));
    assert_eq!(resolved.speaker.router_id.to_string(), "192.0.2.5");
    assert_eq!(resolved.ipvpn_local_address, ip("192.0.2.5"));
    assert_eq!(resolved.evpn_local_address, ip("10.1.1.1"));
    let missing = config.resolve("bgp.conf", |_| vec![]).unwrap_err();
    assert_eq!(missing.key, "BGP.local_address");
    assert_eq!(
        missing.problem,
        ConfigProblem::InterfaceUnresolved {
            name: "eth0".into()
        }
    );
}

#[test]
fn bagpipe_conf_sections_are_case_insensitive_and_unknown_keys_warn() {
    let config = parse(
        "[bgp]\nlocal_address=10.0.0.1\nmy_as=1\npeer=10.0.0.2\n[Extra]\nx=1\n",
        "bgp.conf",
        ConfigFormat::BagpipeIni,
    )
    .unwrap();
    assert!(config.peers.is_empty());
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("bgp.peer: ignored")),
        "{:?}",
        config.warnings
    );
    assert!(config
        .warnings
        .iter()
        .any(|w| w.contains("[Extra]: ignored")));
}

#[test]
fn bagpipe_conf_errors_name_file_section_and_key() {
    let base = |bgp_lines: &str| format!("[BGP]\n{bgp_lines}\n");
    let cases: Vec<(String, &str, ConfigProblem)> = vec![
        ("[API]\nport=1\n".into(), "BGP", ConfigProblem::Missing),
        (base("my_as = 64512"), "BGP.local_address", ConfigProblem::Missing),
        (base("local_address = 10.0.0.1"), "BGP.my_as", ConfigProblem::Missing),
        (
            base("local_address = 10.0.0.1\nmy_as = 70000"),
            "BGP.my_as",
            ConfigProblem::InvalidAs { value: "70000".into(), max: 65535 },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 0"),
            "BGP.my_as",
            ConfigProblem::InvalidAs { value: "0".into(), max: 65535 },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 64512x"),
            "BGP.my_as",
            ConfigProblem::WrongType { expected: "an integer", found: "64512x".into() },
        ),
        (
            base("local_address = 10.0.0/1\nmy_as = 1"),
            "BGP.local_address",
            ConfigProblem::InvalidInterfaceName { value: "10.0.0/1".into() },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 1\npeers = 10.0.0.2, 10.0.0.300"),
            "BGP.peers",
            ConfigProblem::InvalidAddress { value: "10.0.0.300".into() },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 1\npeers = 10.0.0.2, 10.0.0.2"),
            "BGP.peers",
            ConfigProblem::DuplicatePeer { address: ip("10.0.0.2"), first: "BGP.peers".into() },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 1\npeers = 10.0.0.1"),
            "BGP.peers",
            ConfigProblem::PeerIsLocal { address: ip("10.0.0.1") },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 1\nbgp_port = 0"),
            "BGP.bgp_port",
            ConfigProblem::InvalidPort { value: "0".into() },
        ),
        (
            base("local_address = 10.0.0.1\nmy_as = 1\nenable_rtc = sometimes"),
            "BGP.enable_rtc",
            ConfigProblem::WrongType {
                expected: "a boolean (true/false, yes/no, on/off, 1/0)",
                found: "sometimes".into(),
            },
        ),
        (
            format!("{}[API]\nport = 99999\n", base("local_address = 10.0.0.1\nmy_as = 1")),
            "API.port",
            ConfigProblem::InvalidPort { value: "99999".into() },
        ),
        (
            format!(
                "{}[DATAPLANE_DRIVER_EVPN]\ndataplane_driver = mpls_ovs_dataplane.MPLSOVSDataplaneDriver\n",
                base("local_address = 10.0.0.1\nmy_as = 1")
            ),
            "DATAPLANE_DRIVER_EVPN.dataplane_driver",
            ConfigProblem::UnknownDriver {
                name: "mpls_ovs_dataplane.MPLSOVSDataplaneDriver".into(),
                vpn_type: "evpn",
            },
        ),
        (
            format!(
                "{}[DATAPLANE_DRIVER_IPVPN]\ndataplane_driver = ovs\nhash_method = random\n",
                base("local_address = 10.0.0.1\nmy_as = 1")
            ),
            "DATAPLANE_DRIVER_IPVPN.hash_method",
            ConfigProblem::InvalidChoice { value: "random".into(), allowed: &["dp_hash", "hash"] },
        ),
        (
            format!("{}[DEFAULT]\ndebug = loud\n", base("local_address = 10.0.0.1\nmy_as = 1")),
            "DEFAULT.debug",
            ConfigProblem::WrongType {
                expected: "a boolean (true/false, yes/no, on/off, 1/0)",
                found: "loud".into(),
            },
        ),
        (
            "[BGP]\nlocal_address\n".into(),
            "",
            ConfigProblem::Syntax {
                line: 2,
                message: "expected 'key = value', a section header or a comment".into(),
            },
        ),
    ];
    for (text, key, problem) in cases {
        let err = ini_err(&text);
        assert_eq!(
            (err.key.as_str(), &err.problem),
            (key, &problem),
            "for:\n{text}"
        );
        assert_eq!(err.source, "bgp.conf");
    }
    let shown = ini_err(&base("local_address = 10.0.0.1\nmy_as = 70000")).to_string();
    assert!(
        shown.starts_with("bgp.conf: BGP.my_as: invalid AS number \"70000\""),
        "{shown}"
    );
}

const FULL_TOML: &str = r#"
[bgp]
local_as = 4200000001
local_address = "127.0.0.10"
router_id = "10.255.0.1"
listen_address = "127.0.0.10"
listen_port = 10179

[[peers]]
address = "127.0.0.11"
description = "route reflector"
port = 10180
remote_as = 4200000001
families = ["l2vpn-evpn", "l3vpn-ipv4-unicast"]
hold_time = 3
connect_retry = 1
local_address = "127.0.0.10"
graceful_restart = 120

[[peers]]
address = "127.0.0.12"
remote_as = 65001
passive = true

[api]
host = "0.0.0.0"
port = 18082

[dataplane.ipvpn]
driver = "ovs"
local_address = "10.0.0.1"
ovs_bridge = "br-mpls"
input_table = 0
gre_tunnel_options = ["packet_type=legacy_l3"]
mpls_over_gre = "auto"

[dataplane.evpn]
driver = "linux"
vxlan_dst_port = 4789

[logging]
level = "debug"
format = "json"
file = "/tmp/bagpipe.log"
"#;

#[test]
fn native_toml_every_key() {
    let config = parse(FULL_TOML, "full.toml", ConfigFormat::Toml).unwrap();
    assert_eq!(config.local_as, 4_200_000_001);
    assert_eq!(config.router_id, Some("10.255.0.1".parse().unwrap()));
    assert_eq!(
        config.listen,
        Some(ListenConfig {
            address: Some(ip("127.0.0.10")),
            port: 10179
        })
    );
    assert_eq!(config.peers.len(), 2);
    let rr = &config.peers[0];
    assert_eq!(rr.port, 10180);
    assert_eq!(rr.hold_time, Duration::from_secs(3));
    assert_eq!(rr.connect_retry, Duration::from_secs(1));
    assert_eq!(rr.families, BTreeSet::from([Family::EVPN, Family::VPNV4]));
    assert_eq!(rr.local_address, Some(ip("127.0.0.10")));
    assert_eq!(rr.graceful_restart, Some(Duration::from_secs(120)));
    assert_eq!(rr.description.as_deref(), Some("route reflector"));
    let ebgp = &config.peers[1];
    assert!(ebgp.passive);
    assert_eq!(ebgp.remote_as, 65001);
    assert_eq!(ebgp, &{
        let mut p = PeerConfig::new(ip("127.0.0.12"), 65001);
        p.passive = true;
        p
    });
    assert_eq!(
        config.api,
        ApiConfig {
            host: "0.0.0.0".into(),
            port: 18082
        }
    );
    assert_eq!(config.dataplane.ipvpn.driver, DriverKind::Ovs);
    assert_eq!(
        config.dataplane.ipvpn.local_address,
        Some(LocalAddress::Ip(ip("10.0.0.1")))
    );
    assert_eq!(
        config.dataplane.ipvpn.options["input_table"],
        DriverOption::Integer(0)
    );
    assert_eq!(
        config.dataplane.ipvpn.options["mpls_over_gre"],
        DriverOption::Text("auto".into())
    );
    assert_eq!(
        config.dataplane.evpn.options["vxlan_dst_port"],
        DriverOption::Integer(4789)
    );
    assert_eq!(config.logging.level, Some(LogLevel::Debug));
    assert_eq!(config.logging.format, Some(LogFormat::Json));
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let resolved = config.resolve("full.toml", |_| vec![]).unwrap();
    assert_eq!(resolved.listen, Some("127.0.0.10:10179".parse().unwrap()));
    assert_eq!(resolved.speaker.router_id.to_string(), "10.255.0.1");
}

#[test]
fn native_toml_listens_only_when_asked() {
    let text = "[bgp]\nlocal_as = 64512\nlocal_address = \"127.0.0.20\"\n";
    let config = parse(text, "a.toml", ConfigFormat::Toml).unwrap();
    assert_eq!(config.listen, None);
    let with_port = format!("{text}listen_port = 1790\n");
    let config = parse(&with_port, "a.toml", ConfigFormat::Toml).unwrap();
    let resolved = config.resolve("a.toml", |_| vec![]).unwrap();
    assert_eq!(resolved.listen, Some("127.0.0.20:1790".parse().unwrap()));
    let with_address = format!("{text}listen_address = \"127.0.0.21\"\n");
    let resolved = parse(&with_address, "a.toml", ConfigFormat::Toml)
        .unwrap()
        .resolve("a.toml", |_| vec![])
        .unwrap();
    assert_eq!(resolved.listen, Some("127.0.0.21:179".parse().unwrap()));
}

#[test]
fn embedded_default_is_a_lone_speaker_on_loopback() {
    let config = embedded_default().unwrap();
    assert_eq!(config.local_as, 64512);
    assert_eq!(config.local_address, LocalAddress::Ip(ip("127.0.0.1")));
    assert!(config.peers.is_empty());
    assert_eq!(config.listen, None);
    assert_eq!(
        config.api,
        ApiConfig {
            host: "127.0.0.1".into(),
            port: 8082
        }
    );
    assert_eq!(config.dataplane, DataplaneConfig::default());
}

#[test]
fn native_toml_errors_name_file_key_and_problem() {
    let bgp = "[bgp]\nlocal_as = 64512\nlocal_address = \"127.0.0.1\"\n";
    let with_peer =
        |peer_lines: &str| format!("{bgp}[[peers]]\naddress = \"127.0.0.2\"\n{peer_lines}\n");
    let cases: Vec<(String, &str, ConfigProblem)> = vec![
        ("".into(), "bgp", ConfigProblem::Missing),
        (
            "[bgp]\nlocal_address = \"127.0.0.1\"\n".into(),
            "bgp.local_as",
            ConfigProblem::Missing,
        ),
        (
            "[bgp]\nlocal_as = 1\n".into(),
            "bgp.local_address",
            ConfigProblem::Missing,
        ),
        (
            "[bgp]\nlocal_as = 0\nlocal_address = \"127.0.0.1\"\n".into(),
            "bgp.local_as",
            ConfigProblem::InvalidAs {
                value: "0".into(),
                max: u32::MAX,
            },
        ),
        (
            "[bgp]\nlocal_as = 23456\nlocal_address = \"127.0.0.1\"\n".into(),
            "bgp.local_as",
            ConfigProblem::InvalidAs {
                value: "23456".into(),
                max: u32::MAX,
            },
        ),
        (
            "[bgp]\nlocal_as = 4294967296\nlocal_address = \"127.0.0.1\"\n".into(),
            "bgp.local_as",
            ConfigProblem::InvalidAs {
                value: "4294967296".into(),
                max: u32::MAX,
            },
        ),
        (
            "[bgp]\nlocal_as = \"64512\"\nlocal_address = \"127.0.0.1\"\n".into(),
            "bgp.local_as",
            ConfigProblem::WrongType {
                expected: "an integer",
                found: "\"64512\"".into(),
            },
        ),
        (
            format!("{bgp}router_id = \"0.0.0.0\"\n"),
            "bgp.router_id",
            ConfigProblem::UnusableAddress {
                address: ip("0.0.0.0"),
                reason: "the BGP identifier must not be zero (RFC 6286)",
            },
        ),
        (
            format!("{bgp}router_id = \"::1\"\n"),
            "bgp.router_id",
            ConfigProblem::InvalidAddress {
                value: "::1".into(),
            },
        ),
        (
            format!("{bgp}listen_port = 0\n"),
            "bgp.listen_port",
            ConfigProblem::InvalidPort { value: "0".into() },
        ),
        (
            format!("{bgp}hold_time = 90\n"),
            "bgp.hold_time",
            ConfigProblem::Unknown,
        ),
        (
            format!("{bgp}[[peers]]\nremote_as = 1\n"),
            "peers[0].address",
            ConfigProblem::Missing,
        ),
        (
            format!("{bgp}[[peers]]\naddress = \"224.0.0.1\"\n"),
            "peers[0].address",
            ConfigProblem::UnusableAddress {
                address: ip("224.0.0.1"),
                reason: "multicast address",
            },
        ),
        (
            with_peer("hold_time = 1"),
            "peers[0].hold_time",
            ConfigProblem::InvalidHoldTime { seconds: 1 },
        ),
        (
            with_peer("hold_time = 2"),
            "peers[0].hold_time",
            ConfigProblem::InvalidHoldTime { seconds: 2 },
        ),
        (
            with_peer("hold_time = 70000"),
            "peers[0].hold_time",
            ConfigProblem::InvalidHoldTime { seconds: 70000 },
        ),
        (
            with_peer("connect_retry = 0"),
            "peers[0].connect_retry",
            ConfigProblem::OutOfRange {
                value: "0".into(),
                min: 1,
                max: 65535,
            },
        ),
        (
            with_peer("families = [\"l2vpn-evpn\", \"ipv4-mvpn\"]"),
            "peers[0].families",
            ConfigProblem::UnknownFamily {
                name: "ipv4-mvpn".into(),
            },
        ),
        (
            with_peer("families = []"),
            "peers[0].families",
            ConfigProblem::NoFamilies,
        ),
        (
            with_peer("remote_as = -1"),
            "peers[0].remote_as",
            ConfigProblem::InvalidAs {
                value: "-1".into(),
                max: u32::MAX,
            },
        ),
        (
            with_peer("port = 65536"),
            "peers[0].port",
            ConfigProblem::InvalidPort {
                value: "65536".into(),
            },
        ),
        (
            with_peer("graceful_restart = 5000"),
            "peers[0].graceful_restart",
            ConfigProblem::OutOfRange {
                value: "5000".into(),
                min: 1,
                max: 4095,
            },
        ),
        (
            with_peer("passive = true"),
            "peers[0].passive",
            ConfigProblem::PassiveWithoutListen,
        ),
        (
            with_peer("holdtime = 30"),
            "peers[0].holdtime",
            ConfigProblem::Unknown,
        ),
        (
            format!("{}[[peers]]\naddress = \"127.0.0.2\"\n", with_peer("")),
            "peers[1].address",
            ConfigProblem::DuplicatePeer {
                address: ip("127.0.0.2"),
                first: "peers[0].address".into(),
            },
        ),
        (
            format!("{bgp}[[peers]]\naddress = \"127.0.0.1\"\n"),
            "peers[0].address",
            ConfigProblem::PeerIsLocal {
                address: ip("127.0.0.1"),
            },
        ),
        (
            format!("{bgp}[api]\nport = 0\n"),
            "api.port",
            ConfigProblem::InvalidPort { value: "0".into() },
        ),
        (
            format!("{bgp}[api]\naddress = \"x\"\n"),
            "api.address",
            ConfigProblem::Unknown,
        ),
        (
            format!("{bgp}[dataplane.evpn]\ndriver = \"vpp\"\n"),
            "dataplane.evpn.driver",
            ConfigProblem::UnknownDriver {
                name: "vpp".into(),
                vpn_type: "evpn",
            },
        ),
        (
            format!("{bgp}[dataplane.ipvpn]\ndriver = \"ovs\"\nproxy_arp = \"yes\"\n"),
            "dataplane.ipvpn.proxy_arp",
            ConfigProblem::WrongType {
                expected: "a boolean",
                found: "\"yes\"".into(),
            },
        ),
        (
            format!("{bgp}[dataplane.ipvpn]\ndriver = \"ovs\"\ninput_table = 300\n"),
            "dataplane.ipvpn.input_table",
            ConfigProblem::OutOfRange {
                value: "300".into(),
                min: 0,
                max: 254,
            },
        ),
        (
            format!("{bgp}[dataplane.l2vpn]\n"),
            "dataplane.l2vpn",
            ConfigProblem::Unknown,
        ),
        (
            format!("{bgp}[logging]\nlevel = \"loud\"\n"),
            "logging.level",
            ConfigProblem::InvalidChoice {
                value: "loud".into(),
                allowed: LogLevel::NAMES,
            },
        ),
        (
            format!("{bgp}[logging]\nformat = \"xml\"\n"),
            "logging.format",
            ConfigProblem::InvalidChoice {
                value: "xml".into(),
                allowed: LogFormat::NAMES,
            },
        ),
        (format!("{bgp}[extra]\n"), "extra", ConfigProblem::Unknown),
    ];
    for (text, key, problem) in cases {
        let err = toml_err(&text);
        assert_eq!(
            (err.key.as_str(), &err.problem),
            (key, &problem),
            "for:\n{text}"
        );
        assert_eq!(err.source, "test.toml");
    }
}

#[test]
fn native_toml_syntax_error_gives_the_line() {
    let err = toml_err("[bgp]\nlocal_as = 1\nlocal_address = \"127.0.0.1\n");
    assert!(
        matches!(err.problem, ConfigProblem::Syntax { line: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("test.toml: syntax error at line 3"),
        "{err}"
    );
}

#[test]
fn native_toml_unknown_driver_option_is_kept_with_a_warning() {
    let config = parse(
        "[bgp]\nlocal_as = 1\nlocal_address = \"127.0.0.1\"\n[dataplane.evpn]\ndriver = \"dummy\"\nknob = [\"a\"]\n",
        "d.toml",
        ConfigFormat::Toml,
    )
    .unwrap();
    assert_eq!(
        config.dataplane.evpn.options["knob"],
        DriverOption::List(vec!["a".into()])
    );
    assert_eq!(config.warnings.len(), 1);
    assert!(config.warnings[0].contains("dataplane.evpn.knob"));
}

#[test]
fn stale_cleanup_delay_is_a_number_of_seconds_in_both_formats() {
    let ini = |value: &str| {
        format!(
            "[BGP]\nlocal_address = 10.0.0.1\nmy_as = 64512\n\
             [DATAPLANE_DRIVER_EVPN]\ndataplane_driver = linux\nstale_cleanup_delay = {value}\n"
        )
    };
    let config = parse(&ini("30"), "bgp.conf", ConfigFormat::BagpipeIni).unwrap();
    assert_eq!(
        config.dataplane.evpn.options["stale_cleanup_delay"],
        DriverOption::Integer(30)
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let err = ini_err(&ini("soon")).to_string();
    assert!(
        err.contains("DATAPLANE_DRIVER_EVPN.stale_cleanup_delay") && err.contains("soon"),
        "{err}"
    );
    let err = ini_err(&ini("90000")).to_string();
    assert!(err.contains("stale_cleanup_delay"), "{err}");
    let config = parse(
        "[bgp]\nlocal_as = 1\nlocal_address = \"127.0.0.1\"\n\
         [dataplane.ipvpn]\ndriver = \"dummy\"\nstale_cleanup_delay = 0\n",
        "d.toml",
        ConfigFormat::Toml,
    )
    .unwrap();
    assert_eq!(
        config.dataplane.ipvpn.options["stale_cleanup_delay"],
        DriverOption::Integer(0)
    );
    let err = toml_err(
        "[bgp]\nlocal_as = 1\nlocal_address = \"127.0.0.1\"\n\
         [dataplane.evpn]\ndriver = \"linux\"\nstale_cleanup_delay = \"2m\"\n",
    )
    .to_string();
    assert!(err.contains("dataplane.evpn.stale_cleanup_delay"), "{err}");
}
