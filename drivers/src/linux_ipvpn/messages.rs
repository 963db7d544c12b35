//! The rtnetlink requests of the IP-VPN driver, as pure functions: each is the equivalent of
//! one `ip` command (named in its doc comment) of BaGPipe-BGP's `mpls_linux_dataplane.py`
//! (reference §6.5). Nothing here talks to the kernel.

use std::net::IpAddr;

use bagpipe_core::wire::MacAddress;

use netlink_packet_core::{NetlinkMessage, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVrf, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    MplsLabel, RouteAddress, RouteAttribute, RouteHeader, RouteLwEnCapType, RouteLwTunnelEncap,
    RouteMessage, RouteMplsIpTunnel, RouteNextHop, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// No such file or directory: removing an entry that is not there.
pub const ENOENT: i32 = 2;
/// No such process: removing a route that is not there.
pub const ESRCH: i32 = 3;
/// No such device: removing a device that is not there.
pub const ENODEV: i32 = 19;
/// File exists: adding a rule that is there already.
pub const EEXIST: i32 = 17;
/// Cannot assign requested address: removing an address that is not there.
pub const EADDRNOTAVAIL: i32 = 99;
/// Address family not supported (no MPLS routing in the kernel).
pub const EAFNOSUPPORT: i32 = 97;
/// Operation not supported (no VRF device kind in the kernel).
pub const EOPNOTSUPP: i32 = 95;

const REMOVAL: &[i32] = &[ENOENT, ESRCH, ENODEV];
const EXISTS: &[i32] = &[EEXIST];

/// The routing protocol id BaGPipe-BGP tags its routes with (reference §6.5), so that
/// `cleanup_all` finds them.
pub const ROUTE_PROTOCOL: u8 = 19;
/// Priority of the rules sending a VRF's traffic to its table.
pub const RULE_LOOKUP_PRIORITY: u32 = 100;
/// Priority of the rules stopping a VRF's traffic from falling through to the main table.
pub const RULE_UNREACHABLE_PRIORITY: u32 = 101;

/// One request: the message, its flags, and what it does in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvpnRequest {
    /// The message.
    pub message: RouteNetlinkMessage,
    /// `NLM_F_CREATE`, `NLM_F_REPLACE`, ... (`NLM_F_REQUEST` is added when sent).
    pub flags: u16,
    /// The equivalent `ip` command.
    pub what: String,
    /// Errnos meaning "already in the wanted state".
    pub tolerate: &'static [i32],
}

impl IpvpnRequest {
    /// The octets sent to the kernel (sequence number 0, `NLM_F_REQUEST` set).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut message = NetlinkMessage::from(self.message.clone());
        message.header.flags = NLM_F_REQUEST | self.flags;
        message.finalize();
        let mut buf = vec![0; message.buffer_len()];
        message.serialize(&mut buf);
        buf
    }

    /// The octets as lower-case hex.
    pub fn to_hex(&self) -> String {
        self.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add or replace.
    Add,
    /// Remove (absence tolerated).
    Remove,
}

/// `ip link add <name> up type vrf table <table>` then `ip link set <name> alias <alias>`, in one
/// message: the alias says which VPN the VRF is for (see [`super::placement`]).
pub fn add_vrf(name: &str, table: u32, alias: &str) -> IpvpnRequest {
    let mut message = LinkMessage::default();
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::IfAlias(alias.to_string()),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vrf),
            LinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(table)])),
        ]),
    ];
    IpvpnRequest {
        message: RouteNetlinkMessage::NewLink(message),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("ip link add {name} up type vrf table {table} (alias {alias})"),
        tolerate: &[],
    }
}

/// `ip link del <name>`.
pub fn delete_link(name: &str) -> IpvpnRequest {
    let mut message = LinkMessage::default();
    message.attributes = vec![LinkAttribute::IfName(name.to_string())];
    IpvpnRequest {
        message: RouteNetlinkMessage::DelLink(message),
        flags: 0,
        what: format!("ip link del {name}"),
        tolerate: REMOVAL,
    }
}

/// `ip link set <name> master <vrf> up`, or `ip link set <name> down nomaster` when `vrf` is
/// `None` (BaGPipe-BGP brings an unplugged interface down).
pub fn set_master(name: &str, vrf: Option<(u32, &str)>) -> IpvpnRequest {
    let mut message = LinkMessage::default();
    message.header.change_mask = LinkFlags::Up;
    if vrf.is_some() {
        message.header.flags = LinkFlags::Up;
    }
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Controller(vrf.map_or(0, |v| v.0)),
    ];
    let (what, tolerate): (String, &'static [i32]) = match vrf {
        Some((_, vrf)) => (format!("ip link set {name} master {vrf} up"), &[]),
        None => (format!("ip link set {name} down nomaster"), REMOVAL),
    };
    IpvpnRequest {
        message: RouteNetlinkMessage::SetLink(message),
        flags: 0,
        what,
        tolerate,
    }
}

/// The four rules of one address family for a VRF (reference §6.5): `ip [-6] rule add prio 100
/// iif|oif <vrf> lookup <table>` and `ip [-6] rule add prio 101 iif|oif <vrf> unreachable`.
/// Adding a rule that exists is tolerated (`EEXIST`).
pub fn vrf_rules(change: Change, vrf: &str, table: u32, ipv6: bool) -> Vec<IpvpnRequest> {
    let family = if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let mut out = Vec::with_capacity(4);
    for (priority, action) in [
        (RULE_LOOKUP_PRIORITY, RuleAction::ToTable),
        (RULE_UNREACHABLE_PRIORITY, RuleAction::Unreachable),
    ] {
        for input in [true, false] {
            let mut message = RuleMessage::default();
            message.header.family = family;
            message.header.action = action;
            let device = if input {
                RuleAttribute::Iifname(vrf.to_string())
            } else {
                RuleAttribute::Oifname(vrf.to_string())
            };
            message.attributes = vec![RuleAttribute::Priority(priority), device];
            let target = if action == RuleAction::ToTable {
                message.attributes.push(RuleAttribute::Table(table));
                format!("lookup {table}")
            } else {
                "unreachable".to_string()
            };
            let dir = if input { "iif" } else { "oif" };
            let v6 = if ipv6 { " -6" } else { "" };
            out.push(match change {
                Change::Add => IpvpnRequest {
                    message: RouteNetlinkMessage::NewRule(message),
                    flags: NLM_F_CREATE | NLM_F_EXCL,
                    what: format!("ip{v6} rule add prio {priority} {dir} {vrf} {target}"),
                    tolerate: EXISTS,
                },
                Change::Remove => IpvpnRequest {
                    message: RouteNetlinkMessage::DelRule(message),
                    flags: 0,
                    what: format!("ip{v6} rule del prio {priority} {dir} {vrf} {target}"),
                    tolerate: REMOVAL,
                },
            });
        }
    }
    out
}

fn mpls_label(label: u32) -> MplsLabel {
    MplsLabel {
        label,
        traffic_class: 0,
        bottom_of_stack: true,
        ttl: 0,
    }
}

// RouteHeader is non-exhaustive: no struct expression.
#[allow(clippy::field_reassign_with_default)]
fn route_header(family: AddressFamily, table: u32) -> (RouteHeader, Option<RouteAttribute>) {
    let mut header = RouteHeader::default();
    header.address_family = family;
    header.protocol = RouteProtocol::Other(ROUTE_PROTOCOL);
    header.scope = RouteScope::Universe;
    header.kind = RouteType::Unicast;
    // As iproute2: a table id above 255 goes in RTA_TABLE, the header says RT_TABLE_UNSPEC.
    match u8::try_from(table) {
        Ok(t) if table != 0 => {
            header.table = t;
            (header, None)
        }
        _ => {
            header.table = RouteHeader::RT_TABLE_UNSPEC;
            (header, Some(RouteAttribute::Table(table)))
        }
    }
}

/// Where packets arriving with a local label go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MplsTarget<'a> {
    /// Straight to the VM behind its port (BaGPipe-BGP: `via inet <vm ip> dev <port>`).
    Vm {
        /// The VM's address.
        ip: IpAddr,
        /// The port's index and name.
        port: (u32, &'a str),
    },
    /// Into the VRF, looked up in its table (a port without an IP address).
    Vrf((u32, &'a str)),
}

/// `ip -f mpls route replace <label> via inet <vm ip> dev <port>` (or `dev <vrf>`): packets
/// arriving with `label` are popped and delivered; `ip -f mpls route del <label>` on removal.
pub fn mpls_route(change: Change, label: u32, target: MplsTarget<'_>) -> IpvpnRequest {
    let (header, table) = route_header(AddressFamily::Mpls, u32::from(RouteHeader::RT_TABLE_MAIN));
    let mut message = RouteMessage::default();
    message.header = header;
    message.header.destination_prefix_length = 20;
    message.attributes = table.into_iter().collect();
    message
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::Mpls(mpls_label(
            label,
        ))));
    match change {
        Change::Add => {
            let what = match target {
                MplsTarget::Vm { ip, port } => {
                    message.attributes.push(RouteAttribute::Via(match ip {
                        IpAddr::V4(a) => netlink_packet_route::route::RouteVia::Inet(a),
                        IpAddr::V6(a) => netlink_packet_route::route::RouteVia::Inet6(a),
                    }));
                    message.attributes.push(RouteAttribute::Oif(port.0));
                    let family = if ip.is_ipv4() { "inet" } else { "inet6" };
                    format!(
                        "ip -f mpls route replace {label} via {family} {ip} dev {}",
                        port.1
                    )
                }
                MplsTarget::Vrf(vrf) => {
                    message.attributes.push(RouteAttribute::Oif(vrf.0));
                    format!("ip -f mpls route replace {label} dev {}", vrf.1)
                }
            };
            IpvpnRequest {
                message: RouteNetlinkMessage::NewRoute(message),
                flags: NLM_F_CREATE | NLM_F_REPLACE,
                what,
                tolerate: &[],
            }
        }
        Change::Remove => IpvpnRequest {
            message: RouteNetlinkMessage::DelRoute(message),
            flags: 0,
            what: format!("ip -f mpls route del {label}"),
            tolerate: REMOVAL,
        },
    }
}

/// `ip neigh replace <vm ip> lladdr <mac> dev <port> nud permanent`: the VM's address resolves
/// without ARP (BaGPipe-BGP `vif_plugged`); `ip neigh del` on removal. The E-VPN driver's
/// neighbour request, on the port.
pub fn port_neighbour(change: Change, port: (u32, &str), ip: IpAddr, mac: [u8; 6]) -> IpvpnRequest {
    let change = match change {
        Change::Add => crate::linux::messages::Change::Add,
        Change::Remove => crate::linux::messages::Change::Remove,
    };
    let request = crate::linux::messages::neighbour(change, port, ip, MacAddress(mac));
    IpvpnRequest {
        message: request.message,
        flags: request.flags,
        what: request.what,
        tolerate: request.tolerate,
    }
}

/// `ip addr add <gateway>/<plen> [brd +] dev <port>`: the port answers the VM's ARP for its
/// gateway and routes its traffic into the VRF (BaGPipe-BGP `vif_plugged`; an address already
/// there is fine); `ip addr del` on removal.
pub fn gateway_address(
    change: Change,
    port: (u32, &str),
    gateway: IpAddr,
    len: u8,
) -> IpvpnRequest {
    let mut message = AddressMessage::default();
    message.header.family = match gateway {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    message.header.prefix_len = len;
    message.header.index = port.0;
    message.attributes = vec![AddressAttribute::Local(gateway)];
    if gateway.is_ipv4() {
        message.attributes.push(AddressAttribute::Address(gateway));
    }
    if let IpAddr::V4(a) = gateway {
        if len < 31 {
            let host_bits = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            let broadcast = std::net::Ipv4Addr::from(u32::from(a) | host_bits);
            message
                .attributes
                .push(AddressAttribute::Broadcast(broadcast));
        }
    }
    match change {
        Change::Add => IpvpnRequest {
            message: RouteNetlinkMessage::NewAddress(message),
            flags: NLM_F_CREATE | NLM_F_EXCL,
            what: format!("ip addr add {gateway}/{len} dev {}", port.1),
            tolerate: EXISTS,
        },
        Change::Remove => IpvpnRequest {
            message: RouteNetlinkMessage::DelAddress(message),
            flags: 0,
            what: format!("ip addr del {gateway}/{len} dev {}", port.1),
            // EADDRNOTAVAIL: the address is gone already.
            tolerate: &[ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL],
        },
    }
}

/// An IP prefix (address with its length), as routes carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.len == 0 {
            f.write_str("default")
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// One MPLS-encapsulated next hop of a remote route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct MplsNextHop {
    /// The remote PE.
    pub remote_pe: IpAddr,
    /// The label it advertised.
    pub label: u32,
}

fn mpls_encap(label: u32) -> [RouteAttribute; 2] {
    [
        RouteAttribute::EncapType(RouteLwEnCapType::Mpls),
        RouteAttribute::Encap(vec![RouteLwTunnelEncap::Mpls(
            RouteMplsIpTunnel::Destination(vec![mpls_label(label)]),
        )]),
    ]
}

fn gateway(family: AddressFamily, pe: IpAddr) -> RouteAttribute {
    match (family, pe) {
        (AddressFamily::Inet6, IpAddr::V4(_)) | (AddressFamily::Inet, IpAddr::V6(_)) => {
            RouteAttribute::Via(match pe {
                IpAddr::V4(a) => netlink_packet_route::route::RouteVia::Inet(a),
                IpAddr::V6(a) => netlink_packet_route::route::RouteVia::Inet6(a),
            })
        }
        _ => RouteAttribute::Gateway(RouteAddress::from(pe)),
    }
}

/// `ip route replace <prefix> table <table> encap mpls <label> via <remote_pe> [dev
/// <mpls_interface>]`, or with several next hops `ip route replace <prefix> table <table>
/// nexthop encap mpls <l1> via <pe1> [dev ..] nexthop ...` (ECMP). With no next hop, `ip route
/// del <prefix> table <table>`. Next hops are given in their load-balancing order.
pub fn remote_route(
    table: u32,
    prefix: Prefix,
    next_hops: &[MplsNextHop],
    mpls_interface: Option<(u32, &str)>,
) -> IpvpnRequest {
    let family = match prefix.addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    let (header, table_attr) = route_header(family, table);
    let mut message = RouteMessage::default();
    message.header = header;
    message.header.destination_prefix_length = prefix.len;
    message.attributes = table_attr.into_iter().collect();
    if prefix.len > 0 {
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::from(prefix.addr)));
    }
    let dev = mpls_interface.map_or(String::new(), |(_, n)| format!(" dev {n}"));
    match next_hops {
        [] => IpvpnRequest {
            message: RouteNetlinkMessage::DelRoute(message),
            flags: 0,
            what: format!("ip route del {prefix} table {table}"),
            tolerate: REMOVAL,
        },
        [one] => {
            message.attributes.extend(mpls_encap(one.label));
            message.attributes.push(gateway(family, one.remote_pe));
            if let Some((index, _)) = mpls_interface {
                message.attributes.push(RouteAttribute::Oif(index));
            }
            IpvpnRequest {
                message: RouteNetlinkMessage::NewRoute(message),
                flags: NLM_F_CREATE | NLM_F_REPLACE,
                what: format!(
                    "ip route replace {prefix} table {table} encap mpls {} via {}{dev}",
                    one.label, one.remote_pe
                ),
                tolerate: &[],
            }
        }
        many => {
            let hops = many
                .iter()
                .map(|nh| {
                    let mut attributes = vec![gateway(family, nh.remote_pe)];
                    attributes.extend(mpls_encap(nh.label));
                    let mut hop = RouteNextHop::default();
                    hop.interface_index = mpls_interface.map_or(0, |(i, _)| i);
                    hop.attributes = attributes;
                    hop
                })
                .collect();
            message.attributes.push(RouteAttribute::MultiPath(hops));
            let words: Vec<String> = many
                .iter()
                .map(|nh| format!(" nexthop encap mpls {} via {}{dev}", nh.label, nh.remote_pe))
                .collect();
            IpvpnRequest {
                message: RouteNetlinkMessage::NewRoute(message),
                flags: NLM_F_CREATE | NLM_F_REPLACE,
                what: format!("ip route replace {prefix} table {table}{}", words.concat()),
                tolerate: &[],
            }
        }
    }
}

/// `ip -f mpls route show`: a dump of the MPLS routes.
pub(crate) fn dump_mpls_routes() -> RouteNetlinkMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Mpls;
    RouteNetlinkMessage::GetRoute(message)
}

/// Index and name of a link of a get or dump answer.
pub(crate) fn link_index_name(message: &RouteNetlinkMessage) -> Option<(u32, String)> {
    let RouteNetlinkMessage::NewLink(link) = message else {
        return None;
    };
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some((link.header.index, n.clone())),
        _ => None,
    })
}

/// A VRF device of a link dump, with its alias and table.
pub(crate) fn existing_vrf(message: &RouteNetlinkMessage) -> Option<super::placement::ExistingVrf> {
    let RouteNetlinkMessage::NewLink(link) = message else {
        return None;
    };
    let mut vrf = super::placement::ExistingVrf {
        index: link.header.index,
        name: String::new(),
        alias: None,
        table: None,
    };
    let mut is_vrf = false;
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => vrf.name = name.clone(),
            LinkAttribute::IfAlias(alias) => vrf.alias = Some(alias.clone()),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(InfoKind::Vrf) => is_vrf = true,
                        LinkInfo::Data(InfoData::Vrf(data)) => {
                            for item in data {
                                if let InfoVrf::TableId(table) = item {
                                    vrf.table = Some(*table);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    is_vrf.then_some(vrf)
}

/// `ip [-6] route show table all`: a dump of the routes of one family.
pub(crate) fn dump_routes(family: AddressFamily) -> RouteNetlinkMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    RouteNetlinkMessage::GetRoute(message)
}

/// A route of a dump that this driver made (protocol [`ROUTE_PROTOCOL`]): its table and prefix.
pub(crate) fn our_route(message: &RouteNetlinkMessage) -> Option<(u32, Prefix)> {
    let RouteNetlinkMessage::NewRoute(route) = message else {
        return None;
    };
    if u8::from(route.header.protocol) != ROUTE_PROTOCOL {
        return None;
    }
    let mut table = u32::from(route.header.table);
    let mut addr = match route.header.address_family {
        AddressFamily::Inet => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(RouteAddress::Inet(a)) => addr = IpAddr::V4(*a),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => addr = IpAddr::V6(*a),
            _ => {}
        }
    }
    Some((
        table,
        Prefix {
            addr,
            len: route.header.destination_prefix_length,
        },
    ))
}

/// The label of an MPLS route of a dump.
pub(crate) fn dumped_route_label(message: &RouteNetlinkMessage) -> Option<u32> {
    let RouteNetlinkMessage::NewRoute(route) = message else {
        return None;
    };
    route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Mpls(l)) => Some(l.label),
        _ => None,
    })
}

/// The request removing an MPLS route of a dump (`cleanup_all`: every AF_MPLS route, as
/// BaGPipe-BGP's `reset_state`).
pub(crate) fn delete_dumped_route(message: &RouteNetlinkMessage) -> Option<IpvpnRequest> {
    let RouteNetlinkMessage::NewRoute(route) = message else {
        return None;
    };
    let label = dumped_route_label(message)?;
    let mut message = route.clone();
    message
        .attributes
        .retain(|a| matches!(a, RouteAttribute::Destination(_) | RouteAttribute::Table(_)));
    Some(IpvpnRequest {
        message: RouteNetlinkMessage::DelRoute(message),
        flags: 0,
        what: format!("ip -f mpls route del {label}"),
        tolerate: REMOVAL,
    })
}
