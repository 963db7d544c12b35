//! `bagpipe-rest-attach`: attaches a port to a VPN (or detaches it) through the local speaker's
//! REST API, with BaGPipe-BGP's options and defaults (reference §3.2–3.4, §4.3). With
//! `--port netns[:<if>]` it first builds a network namespace plugged into the VPN by a veth pair.
//!
//! `--dry-run` prints the JSON body on standard output instead of sending it (and the commands
//! it would run on standard error).
//!
//! Exit status: 0 when the speaker accepted the request, 1 when it refused it or could not be
//! reached or a command failed, 2 for a usage error.

use bagpipe_smol::cli::api_port::api_port;
use bagpipe_smol::cli::attach_request::{
    default_gateway, route_targets, vpn2ns_if_name, with_default_prefix_len, AttachRequest,
    AttractTraffic, Classifier, EvpnRef, LocalPort, NetworkType, OvsPort, Readvertise,
    DEFAULT_IPVPN_MAC, DEFAULT_VPN_INSTANCE_ID,
};
use bagpipe_smol::cli::http_client::{self, HttpError};
use bagpipe_smol::cli::netns::{device_mac, NetnsPort, Runner, NS2VPN_DEFAULT_IFNAME};
use clap::{ArgGroup, CommandFactory, Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Stands for the MAC read from the namespace, in a dry run that does not create it.
const DRY_RUN_NETNS_MAC: &str = "<mac of the netns interface>";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NetworkTypeArg {
    Ipvpn,
    Evpn,
}

impl From<NetworkTypeArg> for NetworkType {
    fn from(t: NetworkTypeArg) -> Self {
        match t {
            NetworkTypeArg::Ipvpn => NetworkType::Ipvpn,
            NetworkTypeArg::Evpn => NetworkType::Evpn,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DirectionArg {
    #[value(name = "to-port")]
    ToPort,
    #[value(name = "from-port")]
    FromPort,
    Both,
}

impl DirectionArg {
    fn name(self) -> &'static str {
        match self {
            DirectionArg::ToPort => "to-port",
            DirectionArg::FromPort => "from-port",
            DirectionArg::Both => "both",
        }
    }
}

/// Attach a local port to a VPN instance of BaGPipe BGP, or detach it.
#[derive(Debug, Parser)]
#[command(
    name = "bagpipe-rest-attach",
    version,
    override_usage = "bagpipe-rest-attach [--attach|--detach] --network-type (ipvpn|evpn) \
                      --port (<port>|netns) --ip <ip>[/<mask>] [options] (see --help)",
    group(ArgGroup::new("operation").required(true).args(["attach", "detach"]))
)]
struct Args {
    /// Attach the local port.
    #[arg(long)]
    attach: bool,
    /// Detach the local port.
    #[arg(long)]
    detach: bool,
    /// Network type.
    #[arg(long, value_enum, required = true)]
    network_type: Option<NetworkTypeArg>,
    /// Id of the VPN instance [default: <network type>-bagpipe-test].
    #[arg(long)]
    vpn_instance_id: Option<String>,
    /// Local port to attach/detach; `netns[:<if>]` attaches an interface to a local network
    /// namespace (`<if>`: the host side of the veth pair); `evpn:<id>` plugs an E-VPN instance
    /// into the IP-VPN.
    #[arg(long, required = true)]
    port: Option<String>,
    /// Local port direction in the VPN.
    #[arg(long, value_enum, default_value = "both")]
    direction: DirectionArg,
    /// Route target, imported and exported (repeatable) [default: 64512:512 for ipvpn,
    /// 64512:513 for evpn, when no RT option is given].
    #[arg(long = "rt", value_name = "RT")]
    route_targets: Vec<String>,
    /// Import-only route target (repeatable).
    #[arg(long = "import-rt", value_name = "RT")]
    import_only_rts: Vec<String>,
    /// Export-only route target (repeatable).
    #[arg(long = "export-rt", value_name = "RT")]
    export_only_rts: Vec<String>,
    /// IP address, with its prefix length (/24 when none).
    #[arg(long, required = true)]
    ip: Option<String>,
    /// IP address of the network gateway [default: the last usable address of the subnet].
    #[arg(long = "gateway-ip", value_name = "IP")]
    gw_ip: Option<String>,
    /// MAC address (required for evpn unless the port is `netns`) [default for ipvpn:
    /// 52:54:00:99:99:22].
    #[arg(long)]
    mac: Option<String>,
    /// Advertise the IP address as a /32 (the default).
    #[arg(long, overrides_with = "advertise_subnet")]
    advertise_singleton: bool,
    /// Advertise the whole IP subnet.
    #[arg(long, overrides_with = "advertise_singleton")]
    advertise_subnet: bool,
    /// Plug the port into an OVS bridge first (ipvpn).
    #[arg(long)]
    ovs_preplug: bool,
    /// OVS bridge of --ovs-preplug.
    #[arg(long = "ovs-bridge", default_value = "br-int")]
    bridge: String,
    /// Only this VLAN of the OVS interface is attached (and, with netns, a VLAN subinterface is
    /// made in the namespace).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=4095))]
    ovs_vlan: Option<u16>,
    /// Network namespace (with --port netns) [default: the VPN instance id].
    #[arg(long)]
    netns: Option<String>,
    /// Interface in the namespace toward the VPN (with --port netns).
    #[arg(long, default_value = NS2VPN_DEFAULT_IFNAME)]
    if2vpn: String,
    /// Readvertise routes with these RTs (with --readv-to-rt; repeatable).
    #[arg(long = "readv-from-rt", value_name = "RT")]
    readv_from_rts: Vec<String>,
    /// Readvertise to these RTs (with --readv-from-rt; repeatable).
    #[arg(long = "readv-to-rt", value_name = "RT")]
    readv_to_rts: Vec<String>,
    /// Redirect route targets: attract the traffic matching the classifier into this VRF from
    /// any VRF importing them (repeatable).
    #[arg(long = "redirect-rts", value_name = "RT")]
    redirect_rts: Vec<String>,
    /// Traffic classifier: source prefix.
    #[arg(long)]
    source_prefix: Option<String>,
    /// Traffic classifier: destination prefix.
    #[arg(long)]
    destination_prefix: Option<String>,
    /// Traffic classifier: source port or range (`min:max`).
    #[arg(long)]
    source_port: Option<String>,
    /// Traffic classifier: destination port or range.
    #[arg(long)]
    destination_port: Option<String>,
    /// Traffic classifier: IP protocol.
    #[arg(long)]
    protocol: Option<String>,
    /// Advertise the static destination prefixes with these RTs (with
    /// --static-destination-prefix; repeatable).
    #[arg(long = "attract-to-rt", value_name = "RT")]
    attract_to_rts: Vec<String>,
    /// Static destination prefix to advertise (with --attract-to-rt; repeatable).
    #[arg(long = "static-destination-prefix", value_name = "PREFIX")]
    static_dest_prefixes: Vec<String>,
    /// Load-balancing consistent hash sort order.
    #[arg(long, default_value_t = 0)]
    lb_consistent_hash_order: u32,
    /// VXLAN VNI of the VPN instance (0: allocated).
    #[arg(long, default_value_t = 0)]
    vni: u32,
    /// BGP LOCAL_PREF of the routes.
    #[arg(long)]
    local_pref: Option<u32>,
    /// Configuration file to read the API port from [default: /etc/bagpipe-bgp/bgp.conf when it
    /// exists, else port 8082].
    #[arg(long, value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// Print the request instead of sending it, and the commands instead of running them.
    #[arg(long)]
    dry_run: bool,
}

/// How the tool fails.
enum Failure {
    /// Bad options: usage error (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Error(String),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            Args::command()
                .error(clap::error::ErrorKind::ValueValidation, message)
                .exit();
        }
        Err(Failure::Error(message)) => {
            eprintln!("bagpipe-rest-attach: {message}");
            ExitCode::from(1)
        }
    }
}

/// Informational lines: standard output as BaGPipe-BGP's tool prints them, standard error in a
/// dry run (whose standard output is the request alone).
fn say(dry_run: bool, text: &str) {
    if dry_run {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let usage = |m: &str| Failure::Usage(m.to_string());
    let network_type: NetworkType = args
        .network_type
        .ok_or_else(|| usage("Need to specify --network-type"))?
        .into();
    let mut port = args
        .port
        .clone()
        .ok_or_else(|| usage("Need to specify --port <localport>"))?;
    let ip = args
        .ip
        .as_deref()
        .ok_or_else(|| usage("Need to specify --ip"))?;
    let operation = if args.attach { "attach" } else { "detach" };
    let dry_run = args.dry_run;
    let runner = Runner { dry_run };

    let (import_rts, export_rts) = route_targets(
        network_type,
        &args.route_targets,
        &args.import_only_rts,
        &args.export_only_rts,
    );
    let ip = with_default_prefix_len(ip);
    let gateway_ip = match &args.gw_ip {
        Some(gw) => gw.clone(),
        None => {
            let gw = default_gateway(&ip).map_err(Failure::Usage)?.to_string();
            say(dry_run, &format!("using {gw} as gateway address"));
            gw
        }
    };
    let vpn_instance_id = args
        .vpn_instance_id
        .clone()
        .unwrap_or_else(|| format!("{}-{DEFAULT_VPN_INSTANCE_ID}", network_type.name()));
    let mut mac = args.mac.clone();

    if port.starts_with("netns") {
        let netns = args
            .netns
            .clone()
            .unwrap_or_else(|| vpn_instance_id.clone());
        let if2netns = match port.split_once(':') {
            Some((_, name)) if !name.is_empty() => name.to_string(),
            _ => vpn2ns_if_name(&netns),
        };
        if args.attach {
            say(
                dry_run,
                &format!("Will plug local namespace {netns} into network"),
            );
            let plan = NetnsPort {
                netns: netns.clone(),
                if2netns: if2netns.clone(),
                if2vpn: args.if2vpn.clone(),
                vlan: args.ovs_vlan.filter(|v| *v != 0),
                mac: mac.clone(),
                ip: ip.clone(),
                gateway: gateway_ip.clone(),
            };
            plan.create(&runner).map_err(Failure::Error)?;
        }
        port = if2netns;
        if mac.is_none() {
            mac = Some(if dry_run {
                DRY_RUN_NETNS_MAC.to_string()
            } else {
                device_mac(&runner, &netns, &args.if2vpn).map_err(Failure::Error)?
            });
        }
        say(
            dry_run,
            &format!(
                "Local port: {port} ({})",
                mac.as_deref().unwrap_or_default()
            ),
        );
        runner
            .run(&["ip", "link", "show", &port], true)
            .map_err(Failure::Error)?;
    }

    let local_port = match port.strip_prefix("evpn:") {
        Some(evi) => {
            if network_type != NetworkType::Ipvpn {
                return Err(usage("Can only plug an evpn into an ipvpn"));
            }
            say(dry_run, &format!("will plug evpn {evi} into the IPVPN"));
            LocalPort {
                linuxif: None,
                ovs: None,
                evpn: Some(EvpnRef {
                    id: evi.to_string(),
                }),
            }
        }
        None => {
            // Only the IP-VPN OVS driver needs the port in the bridge beforehand.
            let ovs = if args.ovs_preplug && network_type == NetworkType::Ipvpn {
                say(
                    dry_run,
                    &format!("pre-plugging {port} into {}", args.bridge),
                );
                runner
                    .run(&["ovs-vsctl", "del-port", &args.bridge, &port], false)
                    .and_then(|_| runner.run(&["ovs-vsctl", "add-port", &args.bridge, &port], true))
                    .map_err(Failure::Error)?;
                Some(OvsPort {
                    port_name: port.clone(),
                    plugged: true,
                    vlan: args.ovs_vlan.filter(|v| *v != 0),
                })
            } else {
                None
            };
            LocalPort {
                linuxif: Some(port.clone()),
                ovs,
                evpn: None,
            }
        }
    };

    let mac_address = match (mac, network_type) {
        (Some(mac), _) => mac,
        (None, NetworkType::Ipvpn) => DEFAULT_IPVPN_MAC.to_string(),
        (None, NetworkType::Evpn) => {
            return Err(usage(
                "Need to specify --mac for an EVPN network attachment if port is not 'netns'",
            ))
        }
    };

    let readvertise = if args.readv_to_rts.is_empty() {
        None
    } else {
        Some(Readvertise {
            from_rt: args.readv_from_rts.clone(),
            to_rt: args.readv_to_rts.clone(),
        })
    };

    let mut attract_traffic = AttractTraffic::default();
    if !args.redirect_rts.is_empty() {
        let classifier = Classifier {
            source_prefix: args.source_prefix.clone(),
            destination_prefix: args.destination_prefix.clone(),
            source_port: args.source_port.clone(),
            destination_port: args.destination_port.clone(),
            protocol: args.protocol.clone(),
        };
        if classifier.is_empty() {
            return Err(usage(
                "Need to specify --redirect-rt and at least one traffic classifier option",
            ));
        }
        attract_traffic.redirect_rts = Some(args.redirect_rts.clone());
        attract_traffic.classifier = Some(classifier);
        if !args.attract_to_rts.is_empty() {
            if args.static_dest_prefixes.is_empty() {
                return Err(usage(
                    "Need to specify --attract-to-rt and at least one static destination \
                     prefix option",
                ));
            }
            attract_traffic.to_rt = Some(args.attract_to_rts.clone());
            attract_traffic.static_destination_prefixes = Some(args.static_dest_prefixes.clone());
        }
    }

    let request = AttachRequest {
        import_rt: import_rts,
        export_rt: export_rts,
        local_port,
        vpn_instance_id,
        vpn_type: network_type.name(),
        gateway_ip,
        mac_address,
        ip_address: ip,
        advertise_subnet: args.advertise_subnet,
        readvertise,
        attract_traffic,
        lb_consistent_hash_order: args.lb_consistent_hash_order,
        vni: args.vni,
        local_pref: args.local_pref,
        direction: args.direction.name().to_string(),
    };
    let body = serde_json::to_string(&request)
        .map_err(|e| Failure::Error(format!("cannot encode the request: {e}")))?;
    if dry_run {
        println!("{body}");
        return Ok(());
    }

    let port = api_port(args.config_file.as_deref()).map_err(Failure::Error)?;
    println!("request: {body}");
    let url = format!("http://127.0.0.1:{port}/{operation}_localport");
    match http_client::post_json(&url, body.as_bytes()) {
        Ok(response) if response.status == 200 => {
            println!("response: {} {}", response.status, response.body_text());
            Ok(())
        }
        Ok(response) => {
            println!("   {}", response.body_text());
            Err(Failure::Error(format!(
                "error {}, reason: {}",
                response.status, response.reason
            )))
        }
        Err(HttpError::Connect { error, .. }) => Err(Failure::Error(format!(
            "No server at http://127.0.0.1:{port} : {error}"
        ))),
        Err(e) => Err(Failure::Error(e.to_string())),
    }
}
