//! The rtnetlink requests of the E-VPN driver, each the equivalent of one `ip` or `bridge`
//! command (named in each doc comment), and the reading of link dumps.

use std::net::IpAddr;

use bagpipe_core::wire::MacAddress;
use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::link::{
    BridgeStpState, InfoBridge, InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind,
    InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::Request;

/// No such file or directory: removing an entry that is not there.
pub(crate) const ENOENT: i32 = 2;
/// No such device: removing a device that is not there.
pub(crate) const ENODEV: i32 = 19;

const REMOVAL: &[i32] = &[ENOENT, ENODEV];

/// `ip link show <name>`: a get by name.
pub(crate) fn get_link(name: &str) -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    RouteNetlinkMessage::GetLink(message)
}

/// `ip link show`: a dump of every link.
pub(crate) fn dump_links() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(LinkMessage::default())
}

/// `ip link add <name> address <fixed> up type bridge forward_delay 0 stp_state 0` (reference
/// §6.3).
///
/// The address is set (see [`bridge_address`]) because a bridge without one takes the lowest
/// address of its ports, and every change of its address makes the kernel flush the neighbour
/// entries on it, permanent ones included (`NETDEV_CHANGEADDR`): plugging or unplugging a VM
/// would drop the ARP-suppression entries of the whole instance.
pub(crate) fn add_bridge(name: &str) -> Request {
    let mut message = LinkMessage::default();
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Address(bridge_address(name).0.to_vec()),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Bridge),
            LinkInfo::Data(InfoData::Bridge(vec![
                InfoBridge::ForwardDelay(0),
                InfoBridge::StpState(BridgeStpState::Disabled),
            ])),
        ]),
    ];
    Request {
        message: RouteNetlinkMessage::NewLink(message),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!("create bridge {name}"),
        tolerate: &[],
    }
}

/// The fixed address of the bridge `name`: locally administered, unicast (`02` first), the
/// other five octets an FNV-1a hash of the name, so that it is the same on every run.
pub(crate) fn bridge_address(name: &str) -> MacAddress {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let [_, _, _, a, b, c, d, e] = hash.to_be_bytes();
    MacAddress([0x02, a, b, c, d, e])
}

/// The VXLAN device's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VxlanParams {
    /// VNI.
    pub vni: u32,
    /// Local VTEP address.
    pub local: IpAddr,
    /// UDP destination port.
    pub port: u16,
}

/// `ip link add <name> up master <bridge> type vxlan id <vni> local <addr> dstport <port>
/// nolearning`. Not `proxy` (BaGPipe-BGP's choice): a proxying VXLAN device consumes every ARP
/// packet, so a MAC advertised without its IP (FRR does) is never resolved and ARP replies
/// never cross the tunnel. ARP suppression is the bridge's instead: [`neigh_suppress`] on the
/// VXLAN port, with the neighbour entries on the bridge (as FRR does).
pub(crate) fn add_vxlan(name: &str, params: VxlanParams, master: u32) -> Request {
    let local = match params.local {
        IpAddr::V4(a) => InfoVxlan::Local(a),
        IpAddr::V6(a) => InfoVxlan::Local6(a),
    };
    let mut message = LinkMessage::default();
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Controller(master),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vxlan),
            LinkInfo::Data(InfoData::Vxlan(vec![
                InfoVxlan::Id(params.vni),
                local,
                InfoVxlan::Port(params.port),
                InfoVxlan::Learning(false),
            ])),
        ]),
    ];
    Request {
        message: RouteNetlinkMessage::NewLink(message),
        flags: NLM_F_CREATE | NLM_F_EXCL,
        what: format!(
            "create vxlan {name} id {} local {} dstport {}",
            params.vni, params.local, params.port
        ),
        tolerate: &[],
    }
}

/// `ip link set <name> type bridge_slave neigh_suppress on`: the bridge answers ARP and
/// neighbour solicitations for the entries it knows instead of flooding them through the port
/// (RFC 7432 §10, ARP suppression), and floods the others.
pub(crate) fn neigh_suppress(name: &str) -> Request {
    let mut message = LinkMessage::default();
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![
                InfoBridgePort::NeighSupress(true),
            ])),
        ]),
    ];
    Request {
        message: RouteNetlinkMessage::NewLink(message),
        flags: 0,
        what: format!("set {name} neigh_suppress on"),
        tolerate: &[],
    }
}

/// `ip link set <name> master <bridge> up`, or `nomaster` when `master` (the bridge's index and
/// name) is `None`.
pub(crate) fn set_master(name: &str, master: Option<(u32, &str)>) -> Request {
    let mut message = LinkMessage::default();
    if master.is_some() {
        message.header.flags = LinkFlags::Up;
        message.header.change_mask = LinkFlags::Up;
    }
    message.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Controller(master.map_or(0, |(index, _)| index)),
    ];
    let (what, tolerate): (String, &'static [i32]) = match master {
        Some((_, bridge)) => (format!("set {name} master {bridge} up"), &[]),
        None => (format!("set {name} nomaster"), REMOVAL),
    };
    Request {
        message: RouteNetlinkMessage::SetLink(message),
        flags: 0,
        what,
        tolerate,
    }
}

/// `ip link del <name>`.
pub(crate) fn delete_link(name: &str) -> Request {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    Request {
        message: RouteNetlinkMessage::DelLink(message),
        flags: 0,
        what: format!("delete link {name}"),
        tolerate: REMOVAL,
    }
}

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Add or replace.
    Add,
    /// Remove (absence tolerated).
    Remove,
}

fn neighbour_request(
    message: NeighbourMessage,
    change: Change,
    create_flags: u16,
    what: String,
) -> Request {
    match change {
        Change::Add => Request {
            message: RouteNetlinkMessage::NewNeighbour(message),
            flags: create_flags,
            what: format!("add {what}"),
            tolerate: &[],
        },
        Change::Remove => Request {
            message: RouteNetlinkMessage::DelNeighbour(message),
            flags: 0,
            what: format!("remove {what}"),
            tolerate: REMOVAL,
        },
    }
}

fn inet(ip: IpAddr) -> NeighbourAddress {
    match ip {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }
}

/// `bridge fdb replace <mac> dev <vxlan> dst <vtep> vni <vni> self permanent`, the VXLAN
/// device's own table: where to tunnel frames for `mac`. With `mac` all zeros and `append`,
/// `bridge fdb append 00:00:00:00:00:00 ...`: one more head-end replication destination.
pub(crate) fn vxlan_fdb(
    change: Change,
    vxlan: (u32, &str),
    mac: MacAddress,
    vtep: IpAddr,
    vni: u32,
    append: bool,
) -> Request {
    let mut message = NeighbourMessage::default();
    message.header.family = AddressFamily::Bridge;
    message.header.ifindex = vxlan.0;
    message.header.state = NeighbourState::Permanent;
    message.header.flags = NeighbourFlags::Own;
    message.attributes = vec![
        NeighbourAttribute::LinkLayerAddress(mac.0.to_vec()),
        NeighbourAttribute::Destination(inet(vtep)),
        NeighbourAttribute::Vni(vni),
    ];
    let flags = if append {
        NLM_F_CREATE | NLM_F_APPEND
    } else {
        NLM_F_CREATE | NLM_F_REPLACE
    };
    neighbour_request(
        message,
        change,
        flags,
        format!("fdb {mac} dev {} dst {vtep} vni {vni} self", vxlan.1),
    )
}

/// `bridge fdb replace <mac> dev <port> master static`: the bridge sends frames for `mac` to
/// that port without flooding or learning.
pub(crate) fn bridge_fdb(change: Change, port: (u32, &str), mac: MacAddress) -> Request {
    let mut message = NeighbourMessage::default();
    message.header.family = AddressFamily::Bridge;
    message.header.ifindex = port.0;
    message.header.state = NeighbourState::Noarp;
    message.header.flags = NeighbourFlags::Controller;
    message.attributes = vec![NeighbourAttribute::LinkLayerAddress(mac.0.to_vec())];
    neighbour_request(
        message,
        change,
        NLM_F_CREATE | NLM_F_REPLACE,
        format!("fdb {mac} dev {} master static", port.1),
    )
}

/// `ip neigh replace <ip> lladdr <mac> dev <dev> nud permanent`: `ip` resolves to `mac` on
/// `dev` without ARP (the E-VPN bridge's ARP suppression entries, an IP-VPN port's VM).
pub(crate) fn neighbour(change: Change, dev: (u32, &str), ip: IpAddr, mac: MacAddress) -> Request {
    let mut message = NeighbourMessage::default();
    message.header.family = match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    message.header.ifindex = dev.0;
    message.header.state = NeighbourState::Permanent;
    message.attributes = vec![NeighbourAttribute::Destination(inet(ip))];
    if change == Change::Add {
        message
            .attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.0.to_vec()));
    }
    neighbour_request(
        message,
        change,
        NLM_F_CREATE | NLM_F_REPLACE,
        format!("neighbour {ip} lladdr {mac} dev {}", dev.1),
    )
}

/// What the driver needs to know of an existing link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkView {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Kind (`bridge`, `vxlan`, ...), when it has one.
    pub kind: Option<InfoKind>,
    /// The bridge it is enslaved to.
    pub master: Option<u32>,
    /// VXLAN parameters, for a VXLAN device.
    pub vxlan: Option<VxlanView>,
}

/// The parameters of an existing VXLAN device that the driver checks before reusing it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct VxlanView {
    /// VNI.
    pub vni: Option<u32>,
    /// Local address.
    pub local: Option<IpAddr>,
    /// UDP port.
    pub port: Option<u16>,
    /// Whether it learns remote MACs.
    pub learning: Option<bool>,
    /// Whether it answers ARP.
    pub proxy: Option<bool>,
}

impl VxlanView {
    /// Whether the device is what [`add_vxlan`] would create.
    pub fn matches(&self, params: VxlanParams) -> bool {
        self.vni == Some(params.vni)
            && self.local == Some(params.local)
            && self.port == Some(params.port)
            && self.learning == Some(false)
            && self.proxy != Some(true)
    }
}

/// Reads a link message of a get or a dump.
pub(crate) fn link_view(message: &RouteNetlinkMessage) -> Option<LinkView> {
    let RouteNetlinkMessage::NewLink(link) = message else {
        return None;
    };
    let mut view = LinkView {
        index: link.header.index,
        name: String::new(),
        kind: None,
        master: None,
        vxlan: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => view.name = name.clone(),
            LinkAttribute::Controller(index) if *index != 0 => view.master = Some(*index),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(kind) => view.kind = Some(kind.clone()),
                        LinkInfo::Data(InfoData::Vxlan(data)) => {
                            let mut vxlan = VxlanView::default();
                            for item in data {
                                match item {
                                    InfoVxlan::Id(v) => vxlan.vni = Some(*v),
                                    InfoVxlan::Local(a) => vxlan.local = Some(IpAddr::V4(*a)),
                                    InfoVxlan::Local6(a) => vxlan.local = Some(IpAddr::V6(*a)),
                                    InfoVxlan::Port(p) => vxlan.port = Some(*p),
                                    InfoVxlan::Learning(l) => vxlan.learning = Some(*l),
                                    InfoVxlan::Proxy(p) => vxlan.proxy = Some(*p),
                                    _ => {}
                                }
                            }
                            view.vxlan = Some(vxlan);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(view)
}

/// `bridge fdb show` (`family` bridge) or `ip neigh show` (`family` inet or inet6): a dump of
/// the neighbour table of one family.
pub(crate) fn dump_neighbours(family: AddressFamily) -> RouteNetlinkMessage {
    let mut message = NeighbourMessage::default();
    message.header.family = family;
    RouteNetlinkMessage::GetNeighbour(message)
}

/// An entry of a neighbour or FDB dump: for the bridge family an FDB entry (`mac`, and for a
/// VXLAN device's own entries the remote VTEP in `destination`), for inet and inet6 a
/// neighbour (`destination` is its IP, `mac` its link-layer address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NeighbourView {
    /// Bridge, inet or inet6.
    pub family: AddressFamily,
    /// The device the entry is on.
    pub ifindex: u32,
    /// Its NUD state (`permanent`, `noarp` for a static FDB entry, learned states).
    pub state: NeighbourState,
    /// The device's own table (`self`): a VXLAN device's tunnel entries.
    pub own: bool,
    /// The bridge's table (`master`: the kernel sets `NDA_MASTER`, not always `NTF_MASTER`).
    pub controller: bool,
    /// The MAC address, when six octets.
    pub mac: Option<MacAddress>,
    /// The remote VTEP (FDB) or the neighbour's IP.
    pub destination: Option<IpAddr>,
    /// The VNI of a VXLAN entry, when it differs from the device's.
    pub vni: Option<u32>,
}

/// Reads an entry of a neighbour or FDB dump.
pub(crate) fn neighbour_view(message: &RouteNetlinkMessage) -> Option<NeighbourView> {
    let RouteNetlinkMessage::NewNeighbour(neighbour) = message else {
        return None;
    };
    let header = &neighbour.header;
    let mut view = NeighbourView {
        family: header.family,
        ifindex: header.ifindex,
        state: header.state,
        own: header.flags.contains(NeighbourFlags::Own),
        controller: header.flags.contains(NeighbourFlags::Controller),
        mac: None,
        destination: None,
        vni: None,
    };
    for attribute in &neighbour.attributes {
        match attribute {
            NeighbourAttribute::LinkLayerAddress(octets) => {
                view.mac = <[u8; 6]>::try_from(octets.as_slice()).ok().map(MacAddress);
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                view.destination = Some(IpAddr::V4(*a));
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                view.destination = Some(IpAddr::V6(*a));
            }
            // In a bridge-family dump the library cannot tell the VTEP's family: by length.
            NeighbourAttribute::Destination(NeighbourAddress::Other(octets)) => {
                view.destination = match octets.len() {
                    4 => <[u8; 4]>::try_from(octets.as_slice())
                        .ok()
                        .map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(octets.as_slice())
                        .ok()
                        .map(IpAddr::from),
                    _ => None,
                };
            }
            NeighbourAttribute::Controller(_) => view.controller = true,
            NeighbourAttribute::Vni(vni) => view.vni = Some(*vni),
            _ => {}
        }
    }
    Some(view)
}
