//! One VPN instance: an E-VPN instance (RFC 7432, RFC 8365 VXLAN) or an IP-VPN VRF (RFC 4364):
//! its endpoints and the routes it advertises for them, and the routes it imports turned into
//! dataplane operations (reference §2.2 to §2.4).

use super::error::VpnError;
use crate::api::{self, Direction as ApiDirection, EndpointIp};
use crate::config::VpnType;
use crate::dataplane::{
    Capabilities, Destination, Direction, Encapsulation, FloodEntry, NeighbourEntry, NextHop,
    Operation, RemoteEndpoint, TunnelId,
};
use crate::rib::codec::RouteAttributes;
use crate::rib::{BestChange, BestRouteTracker, InstanceId, Route, RouteEvent, RouteOrder};
use crate::speaker::outbound::DEFAULT_LOCAL_PREF;
use crate::wire::attr::{
    AsPath, NextHop as WireNextHop, Origin, PathAttribute, PathAttributes, PmsiTunnel,
};
use crate::wire::extcomm::{ExtendedCommunities, ExtendedCommunity};
use crate::wire::nlri::{Esi, EvpnRoute, IpPrefix, Ipv4Prefix, Ipv6Prefix, Nlri, VpnRoute};
use crate::wire::{Family, Label, LabelStackEntry, MacAddress, RouteDistinguisher, RouteTarget};
use ipnetwork::IpNetwork;
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

/// An endpoint: a MAC, and the IP as the API gave it (None: the MAC alone), as BaGPipe-BGP keys
/// them (reference §2.2).
pub type EndpointKey = (MacAddress, Option<String>);

/// What a tracked received route is about (reference §2.3, §2.4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum TrackedEntry {
    /// E-VPN MAC/IP routes of one MAC (the FDB entry).
    Mac(MacAddress),
    /// E-VPN Inclusive Multicast routes of one originator and RD (a flood entry).
    Multicast(IpAddr, RouteDistinguisher),
    /// IP-VPN routes of one prefix.
    Prefix(IpPrefix),
    /// FlowSpec-VPN routes of one rule (redirect-to-VRF, reference §2.3); boxed so that the
    /// common entries stay small (one key per tracked route).
    Flow(Box<crate::wire::nlri::FlowSpecRule>),
}

/// A FlowSpec redirect-to-VRF to start or stop (reference §2.3 "Redirect (receiving side)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectChange {
    /// Traffic matching `rule` goes to the VRF importing `target`.
    Start {
        /// The classifier.
        rule: crate::wire::nlri::FlowSpecRule,
        /// The redirect route target (RFC 8955 §7.5).
        target: RouteTarget,
    },
    /// The redirection ends.
    Stop {
        /// The classifier.
        rule: crate::wire::nlri::FlowSpecRule,
        /// The redirect route target.
        target: RouteTarget,
    },
}

/// A MAC plugged on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluggedMac {
    /// The per-MAC label (the VPN-IPv4 label; reference §2.2 step 3).
    pub label: Label,
    /// The port as the API described it: a MAC is bound to one port.
    pub local_port: api::LocalPort,
    /// The interface.
    pub linuxif: String,
    /// The consistent hash order of its routes.
    pub lb_order: u32,
}

/// A plugged endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The IP, as given.
    pub ip: Option<EndpointIp>,
    /// The route advertised for it, if any (direction `from-port` advertises none).
    pub route: Option<Nlri>,
    /// Its own RD number, when it has one (subnet and MAC-only routes).
    pub rd_number: Option<u16>,
    /// LOCAL_PREF of its route.
    pub local_pref: u32,
    /// Traffic direction.
    pub direction: ApiDirection,
    /// The MAC Mobility sequence number its route carries (RFC 7432 §15).
    pub mobility: Option<u32>,
    /// Free text from the API.
    pub description: Option<serde_json::Value>,
}

/// The fixed identity of an instance, decided at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIdentity {
    /// Internal id (names, route table subscriber).
    pub id: InstanceId,
    /// The API's `vpn_instance_id`.
    pub external_id: String,
    /// E-VPN or IP-VPN.
    pub vpn_type: VpnType,
    /// The instance's label or VNI.
    pub tunnel: TunnelId,
    /// Whether the VNI was forced by the API (then not a label of the allocator).
    pub forced_vni: bool,
    /// The instance RD number (`local_address:n`).
    pub rd_number: u16,
    /// Our BGP address (RD administrator, originator, multicast next hop).
    pub bgp_address: Ipv4Addr,
    /// The dataplane's address (next hop of endpoint routes, PMSI tunnel endpoint).
    pub dataplane_address: IpAddr,
    /// The gateway of the subnet (IP-VPN).
    pub gateway_ip: Option<IpAddr>,
    /// The prefix length of the first attach.
    pub subnet_len: Option<u8>,
    /// The bridge to use (Linux E-VPN driver).
    pub linuxbr: Option<String>,
}

impl InstanceIdentity {
    /// The instance's RD.
    pub fn rd(&self) -> RouteDistinguisher {
        rd(self.bgp_address, self.rd_number)
    }

    /// The route family of the instance.
    pub fn family(&self) -> Family {
        match self.vpn_type {
            VpnType::Evpn => Family::EVPN,
            VpnType::Ipvpn => Family::VPNV4,
        }
    }

    /// `EVI-<n>` or `VRF-<n>`, the names BaGPipe-BGP shows.
    pub fn name(&self) -> String {
        match self.vpn_type {
            VpnType::Evpn => format!("EVI-{}", self.id.0),
            VpnType::Ipvpn => format!("VRF-{}", self.id.0),
        }
    }
}

/// A type-1 RD `address:number` (reference §2.1).
pub fn rd(address: Ipv4Addr, number: u16) -> RouteDistinguisher {
    RouteDistinguisher::Ipv4 {
        addr: address,
        number,
    }
}

/// What an endpoint route is made of.
#[derive(Debug, Clone, Copy)]
pub struct EndpointRouteSpec<'a> {
    /// The MAC.
    pub mac: MacAddress,
    /// The IP, as given.
    pub ip: Option<&'a EndpointIp>,
    /// Advertise the prefix rather than the host route (IP-VPN).
    pub advertise_subnet: bool,
    /// The per-MAC label.
    pub label: Label,
    /// The endpoint's own RD number, when it needs one.
    pub endpoint_rd: Option<u16>,
    /// Consistent hash order.
    pub lb_order: u32,
    /// LOCAL_PREF.
    pub local_pref: u32,
    /// The MAC Mobility sequence number (RFC 7432 §15), for a MAC that moved here.
    pub mobility: Option<u32>,
}

/// A VPN instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// What does not change.
    pub identity: InstanceIdentity,
    /// Free text from the API (`instance_description`).
    pub description: Option<String>,
    /// Import route targets.
    pub import_rts: Vec<RouteTarget>,
    /// Export route targets.
    pub export_rts: Vec<RouteTarget>,
    /// What the driver supports.
    pub capabilities: Capabilities,
    /// Plugged MACs.
    pub macs: BTreeMap<MacAddress, PluggedMac>,
    /// Plugged endpoints.
    pub endpoints: BTreeMap<EndpointKey, Endpoint>,
    /// The Inclusive Multicast route (E-VPN).
    pub multicast_route: Option<Nlri>,
    /// The VRF this E-VPN instance is plugged into, and the E-VPN side interface (reference
    /// §2.1, §2.4 "Gateway port").
    pub gateway_port: Option<(String, InstanceId)>,
    /// Route leaking for service chaining (reference §2.3 "Readvertise"), IP-VPN only.
    pub readvertise: Option<api::Readvertise>,
    /// Prefixes readvertised, with the RT-Records their readvertisements carry.
    pub readvertised: BTreeMap<IpPrefix, Vec<RouteTarget>>,
    /// The readvertised routes, per prefix and local endpoint.
    readvertised_routes: BTreeMap<(IpPrefix, EndpointKey), Nlri>,
    /// Attract traffic to the local endpoints instead of readvertising prefixes (reference
    /// §2.3 `attract_traffic`): default routes and FlowSpec redirect routes.
    pub attract: Option<api::AttractTraffic>,
    /// FlowSpec routes readvertised with `attract_traffic`, by the received rule: ours.
    readvertised_flows: BTreeMap<crate::wire::nlri::FlowSpecRule, Nlri>,
    /// The routes `attract_traffic` advertises.
    attract_routes: BTreeMap<AttractKey, Nlri>,
    /// The received routes and the best ones; the ARP suppression entries are the (IP, MAC)
    /// pairs of its MAC/IP routes.
    tracker: BestRouteTracker<TrackedEntry, Nlri, RouteAttributes>,
}

/// The attributes of a route we originate: ORIGIN IGP, empty AS_PATH, LOCAL_PREF and the
/// extended communities (RFC 4271 §5.1; BaGPipe-BGP's routes carry the same).
fn local_route_attributes(
    next_hop: WireNextHop,
    local_pref: u32,
    communities: ExtendedCommunities,
) -> RouteAttributes {
    RouteAttributes {
        next_hop,
        attributes: PathAttributes {
            list: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::default()),
                PathAttribute::LocalPref(local_pref),
                PathAttribute::ExtendedCommunities(communities),
            ],
        },
    }
}

/// A route advertised by `attract_traffic`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum AttractKey {
    /// The default route through one endpoint.
    Default(EndpointKey),
    /// The FlowSpec route redirecting traffic to one prefix.
    FlowSpec(ipnetwork::IpNetwork),
}

/// What handling a route event produced.
#[derive(Debug, Default)]
pub struct RouteOutcome {
    /// Dataplane operations.
    pub ops: Vec<Operation>,
    /// Routes the instance advertises because of it (readvertisement).
    pub advertise: Vec<(Nlri, RouteAttributes)>,
    /// Routes the instance withdraws because of it.
    pub withdraw: Vec<Nlri>,
    /// Redirections to start or stop (the manager owns the redirect VRFs).
    pub redirects: Vec<RedirectChange>,
    /// Routes ignored, and why.
    pub warnings: Vec<String>,
}

impl Instance {
    /// A new instance with no endpoint.
    pub fn new(identity: InstanceIdentity, capabilities: Capabilities, salt: u64) -> Self {
        let order = if capabilities.ecmp {
            RouteOrder::Ecmp
        } else {
            RouteOrder::Salted { salt }
        };
        Instance {
            identity,
            description: None,
            import_rts: Vec::new(),
            export_rts: Vec::new(),
            capabilities,
            macs: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            multicast_route: None,
            gateway_port: None,
            readvertise: None,
            readvertised: BTreeMap::new(),
            readvertised_routes: BTreeMap::new(),
            attract: None,
            readvertised_flows: BTreeMap::new(),
            attract_routes: BTreeMap::new(),
            tracker: BestRouteTracker::new(order, salt),
        }
    }

    /// The highest MAC Mobility sequence number among the routes received for `mac` (0 for a
    /// route without the community), or `None` when no peer advertises it (RFC 7432 §15.1).
    pub fn remote_mac_sequence(&self, mac: MacAddress) -> Option<u32> {
        use crate::rib::RibAttributes;
        self.tracker
            .routes(&TrackedEntry::Mac(mac))
            .filter(|r| r.source().is_peer())
            .map(|r| r.attributes().mac_mobility().map_or(0, |(_, seq)| seq))
            .max()
    }

    /// The best routes, by entry (looking glass).
    pub fn best_routes(
        &self,
    ) -> impl Iterator<Item = (&TrackedEntry, &[Route<Nlri, RouteAttributes>])> {
        self.tracker
            .entries()
            .map(|e| (e, self.tracker.best_routes(e)))
    }

    /// The dataplane operation that creates the instance.
    pub fn create_operation(&self) -> Operation {
        let id = &self.identity;
        Operation::CreateInstance(crate::dataplane::InstanceSpec {
            vpn_type: id.vpn_type,
            instance: id.id,
            external_id: id.external_id.clone(),
            id: id.tunnel,
            linuxbr: id.linuxbr.clone(),
            gateway: match (id.gateway_ip, id.subnet_len) {
                (Some(ip), Some(len)) => IpNetwork::new(ip, len).ok(),
                (Some(ip), None) => IpNetwork::new(ip, if ip.is_ipv4() { 32 } else { 128 }).ok(),
                _ => None,
            },
        })
    }

    fn encapsulation_communities(&self) -> ExtendedCommunities {
        self.capabilities
            .advertised_tunnel_types()
            .into_iter()
            .map(|tunnel_type| ExtendedCommunity::Encapsulation { tunnel_type })
            .collect()
    }

    fn route_target_communities(&self) -> ExtendedCommunities {
        self.export_rts
            .iter()
            .map(|&target| ExtendedCommunity::RouteTarget { target })
            .collect()
    }

    /// The attributes of an endpoint route (reference §2.2 step 5).
    fn endpoint_attributes(
        &self,
        next_hop: WireNextHop,
        lb_order: u32,
        local_pref: u32,
    ) -> RouteAttributes {
        let mut communities = self.route_target_communities();
        communities.extend(self.encapsulation_communities());
        communities.push(ExtendedCommunity::ConsistentHashSortOrder { order: lb_order });
        local_route_attributes(next_hop, local_pref, communities)
    }

    /// Our next hop for a route of `prefix` (E-VPN routes: `None`): for VPN-IPv6 over an IPv4
    /// dataplane, the IPv4-mapped IPv6 address (RFC 4659 §3.2.1.1).
    fn dataplane_next_hop_for(&self, prefix: Option<&IpPrefix>) -> WireNextHop {
        let zero = RouteDistinguisher::As2 { asn: 0, number: 0 };
        match (
            self.identity.vpn_type,
            self.identity.dataplane_address,
            prefix,
        ) {
            (VpnType::Ipvpn, IpAddr::V4(addr), Some(IpPrefix::V6(_))) => WireNextHop::VpnIpv6 {
                rd: zero,
                global: addr.to_ipv6_mapped(),
                link_local: None,
            },
            (VpnType::Ipvpn, IpAddr::V4(addr), _) => WireNextHop::VpnIpv4 { rd: zero, addr },
            (VpnType::Ipvpn, IpAddr::V6(global), _) => WireNextHop::VpnIpv6 {
                rd: zero,
                global,
                link_local: None,
            },
            (VpnType::Evpn, IpAddr::V4(a), _) => WireNextHop::Ipv4(a),
            (VpnType::Evpn, IpAddr::V6(global), _) => WireNextHop::Ipv6 {
                global,
                link_local: None,
            },
        }
    }

    /// The E-VPN Inclusive Multicast Ethernet Tag route (RFC 7432 §7.3, §11) with its PMSI
    /// Tunnel attribute, ingress replication to our dataplane address (RFC 6514 §5, RFC 8365
    /// §5.1.3: the label field carries the VNI).
    pub fn multicast_route(&self) -> Option<(Nlri, RouteAttributes)> {
        if self.identity.vpn_type != VpnType::Evpn {
            return None;
        }
        let nlri = Nlri::Evpn(EvpnRoute::InclusiveMulticast {
            rd: self.identity.rd(),
            ethernet_tag: 0,
            originator: IpAddr::V4(self.identity.bgp_address),
        });
        let mut communities = self.route_target_communities();
        communities.extend(self.encapsulation_communities());
        let tunnel_id = match self.identity.dataplane_address {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mut attrs = local_route_attributes(
            WireNextHop::Ipv4(self.identity.bgp_address),
            DEFAULT_LOCAL_PREF,
            communities,
        );
        attrs
            .attributes
            .list
            .push(PathAttribute::PmsiTunnel(PmsiTunnel {
                flags: 0,
                tunnel_type: PmsiTunnel::INGRESS_REPLICATION,
                label: self.tunnel_label_field(),
                tunnel_id,
            }));
        Some((nlri, attrs))
    }

    /// The label field of our E-VPN routes: the VNI raw for VXLAN (RFC 8365 §5.1.3), else the
    /// instance label with the bottom-of-stack bit.
    fn tunnel_label_field(&self) -> LabelStackEntry {
        match self.identity.tunnel {
            TunnelId::Vni(vni) => LabelStackEntry::from_vni(vni),
            TunnelId::Label(label) => LabelStackEntry::from_label(label, true),
        }
    }

    /// The route for an endpoint (reference §2.2 step 5, §2.3, §2.4).
    pub fn endpoint_route(&self, spec: &EndpointRouteSpec<'_>) -> Option<(Nlri, RouteAttributes)> {
        let EndpointRouteSpec {
            mac,
            ip,
            advertise_subnet,
            label,
            endpoint_rd,
            lb_order,
            local_pref,
            mobility,
        } = *spec;
        match self.identity.vpn_type {
            VpnType::Evpn => {
                let (rd, ip) = match ip {
                    Some(ip) => (self.identity.rd(), Some(ip.prefix.ip())),
                    None => (
                        super::instance::rd(self.identity.bgp_address, endpoint_rd?),
                        None,
                    ),
                };
                let nlri = Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
                    rd,
                    esi: Esi::ZERO,
                    ethernet_tag: 0,
                    mac,
                    ip,
                    label1: self.tunnel_label_field(),
                    label2: None,
                });
                let mut attrs = self.endpoint_attributes(
                    self.dataplane_next_hop_for(None),
                    lb_order,
                    local_pref,
                );
                if let Some(sequence) = mobility {
                    for a in &mut attrs.attributes.list {
                        if let PathAttribute::ExtendedCommunities(list) = a {
                            list.push(ExtendedCommunity::MacMobility {
                                sticky: false,
                                sequence,
                            });
                        }
                    }
                }
                Some((nlri, attrs))
            }
            VpnType::Ipvpn => {
                let ip = ip?;
                let host_len = if ip.prefix.is_ipv4() { 32 } else { 128 };
                let len = if advertise_subnet {
                    ip.prefix.prefix()
                } else {
                    host_len
                };
                let prefix = ip_prefix(ip.prefix.ip(), len)?;
                let rd = if len == host_len {
                    self.identity.rd()
                } else {
                    super::instance::rd(self.identity.bgp_address, endpoint_rd?)
                };
                let route =
                    VpnRoute::new(rd, prefix, vec![LabelStackEntry::from_label(label, true)])?;
                let attrs = self.endpoint_attributes(
                    self.dataplane_next_hop_for(Some(&prefix)),
                    lb_order,
                    local_pref,
                );
                Some((Nlri::Vpn(route), attrs))
            }
        }
    }

    /// Whether an endpoint route needs its own RD (MAC-only E-VPN route, IP-VPN subnet route).
    pub fn needs_endpoint_rd(&self, ip: Option<&EndpointIp>, advertise_subnet: bool) -> bool {
        match (self.identity.vpn_type, ip) {
            (VpnType::Evpn, ip) => ip.is_none(),
            (VpnType::Ipvpn, Some(ip)) => {
                let host_len = if ip.prefix.is_ipv4() { 32 } else { 128 };
                advertise_subnet && ip.prefix.prefix() != host_len
            }
            (VpnType::Ipvpn, None) => false,
        }
    }

    /// A received route changed (from the route table's dispatch): best-route tracking, then
    /// the dataplane operations that follow (reference §2.2 to §2.4).
    pub fn route_event(&mut self, event: RouteEvent<Nlri, RouteAttributes>) -> RouteOutcome {
        let mut outcome = RouteOutcome::default();
        let (route, advertised) = match event {
            RouteEvent::Advertised(r) => (r, true),
            RouteEvent::Withdrawn(r) => (r, false),
        };
        let Some(entry) = self.entry_of(&route, &mut outcome) else {
            return outcome;
        };
        self.track_neighbour(&route, advertised, &mut outcome);
        let mut changes = Vec::new();
        if advertised {
            self.tracker.advertise(entry, route, &mut changes);
        } else {
            self.tracker.withdraw(&entry, &route, &mut changes);
        }
        // One prefix per change, and one or two changes per route: no allocation for them.
        let mut prefixes: SmallVec<[IpPrefix; 2]> = SmallVec::new();
        for change in changes {
            match change {
                BestChange::NewBest { entry, route } => {
                    if let TrackedEntry::Flow(rule) = &entry {
                        self.readvertise_flow(rule, &route, &mut outcome);
                        if !self.imported(&route) {
                            continue;
                        }
                        if let Some(target) = self.redirect_target(&route, &mut outcome) {
                            outcome.redirects.push(RedirectChange::Start {
                                rule: (**rule).clone(),
                                target,
                            });
                        }
                        continue;
                    }
                    if let TrackedEntry::Prefix(p) = entry {
                        prefixes.push(p);
                    }
                    if !self.imported(&route) {
                        continue;
                    }
                    if let Some(op) = self.remote_operation(&entry, &route, true, &mut outcome) {
                        outcome.ops.push(op);
                    }
                }
                BestChange::BestRemoved { entry, route, last } => {
                    if let TrackedEntry::Flow(rule) = &entry {
                        // Only the last removal stops it (reference §2.3).
                        if last {
                            self.unreadvertise_flow(rule, &mut outcome);
                        }
                        if last && self.imported(&route) {
                            if let Some(target) =
                                self.redirect_target(&route, &mut RouteOutcome::default())
                            {
                                outcome.redirects.push(RedirectChange::Stop {
                                    rule: (**rule).clone(),
                                    target,
                                });
                            }
                        }
                        continue;
                    }
                    if let TrackedEntry::Prefix(p) = entry {
                        prefixes.push(p);
                    }
                    // Without ECMP the next best route replaces the state (reference §2.2
                    // `_skip_route_removal`).
                    if (!self.capabilities.ecmp && !last) || !self.imported(&route) {
                        continue;
                    }
                    if let Some(op) = self.remote_operation(&entry, &route, false, &mut outcome) {
                        outcome.ops.push(op);
                    }
                }
            }
        }
        prefixes.dedup();
        for prefix in &prefixes {
            self.sync_readvertisement(*prefix, &mut outcome);
        }
        outcome
    }

    /// The route target a FlowSpec route redirects to: exactly one redirect-to-VRF action,
    /// nothing else (reference §2.3; other actions are not supported).
    fn redirect_target(
        &self,
        route: &Route<Nlri, RouteAttributes>,
        outcome: &mut RouteOutcome,
    ) -> Option<RouteTarget> {
        let targets: Vec<RouteTarget> = route
            .attributes()
            .attributes
            .extended_communities()
            .iter()
            .filter_map(|c| match c {
                ExtendedCommunity::RedirectToRouteTarget { target } => Some(*target),
                _ => None,
            })
            .collect();
        match targets.as_slice() {
            [target] => Some(*target),
            _ => {
                outcome.warnings.push(format!(
                    "{}: FlowSpec route {:?} ignored: {} redirect-to-VRF actions, one expected",
                    self.identity.name(),
                    route.nlri(),
                    targets.len()
                ));
                None
            }
        }
    }

    /// Whether a received route is imported: an E-VPN route always (its subscription was by
    /// import RT), an IP-VPN route when it carries an import RT (reference §2.3).
    fn imported(&self, route: &Route<Nlri, RouteAttributes>) -> bool {
        self.identity.vpn_type == VpnType::Evpn
            || route
                .route_targets()
                .iter()
                .any(|rt| self.import_rts.contains(rt))
    }

    /// The RT-Records a readvertisement of `route` carries, when it is to be readvertised: it
    /// has a `from_rt` and none of its RT-Records is a `to_rt` (loop prevention; reference §2.3,
    /// draft-ietf-bess-service-chaining).
    fn readvertisable(&self, route: &Route<Nlri, RouteAttributes>) -> Option<Vec<RouteTarget>> {
        let readvertise = self.readvertise.as_ref()?;
        let rts = route.route_targets();
        if !rts.iter().any(|rt| readvertise.from_rt.contains(rt)) {
            return None;
        }
        let mut records: Vec<RouteTarget> = route
            .attributes()
            .attributes
            .extended_communities()
            .iter()
            .filter_map(|c| match c {
                ExtendedCommunity::RtRecord { target } => Some(*target),
                _ => None,
            })
            .collect();
        if records.iter().any(|r| readvertise.to_rt.contains(r)) {
            return None;
        }
        records.extend(rts.iter().copied());
        records.sort();
        records.dedup();
        Some(records)
    }

    /// Readvertises `prefix` through every local endpoint while one of its best routes is
    /// readvertisable, and withdraws the readvertisements when none is (reference §2.3).
    fn sync_readvertisement(&mut self, prefix: IpPrefix, outcome: &mut RouteOutcome) {
        if self.readvertise.is_none() {
            return;
        }
        let entry = TrackedEntry::Prefix(prefix);
        let records = self
            .tracker
            .best_routes(&entry)
            .iter()
            .find_map(|r| self.readvertisable(r));
        if self.attract.is_some() {
            self.sync_attraction(prefix, records, outcome);
            return;
        }
        match records {
            Some(records) => {
                if self.readvertised.get(&prefix) == Some(&records) {
                    return;
                }
                self.readvertised.insert(prefix, records);
                let keys: Vec<EndpointKey> = self.endpoints.keys().cloned().collect();
                for key in keys {
                    if let Some(route) = self.readvertisement(prefix, &key) {
                        self.readvertised_routes
                            .insert((prefix, key), route.0.clone());
                        outcome.advertise.push(route);
                    }
                }
            }
            None => {
                if self.readvertised.remove(&prefix).is_some() {
                    let gone: Vec<(IpPrefix, EndpointKey)> = self
                        .readvertised_routes
                        .keys()
                        .filter(|(p, _)| *p == prefix)
                        .cloned()
                        .collect();
                    for k in gone {
                        if let Some(nlri) = self.readvertised_routes.remove(&k) {
                            outcome.withdraw.push(nlri);
                        }
                    }
                }
            }
        }
    }

    /// The readvertisement of `prefix` through the endpoint `key`: its label and RD, our
    /// next hop, the `to_rt` route targets and the RT-Records (reference §2.3).
    fn readvertisement(
        &self,
        prefix: IpPrefix,
        key: &EndpointKey,
    ) -> Option<(Nlri, RouteAttributes)> {
        let readvertise = self.readvertise.as_ref()?;
        let records = self.readvertised.get(&prefix)?;
        let endpoint = self.endpoints.get(key)?;
        if !endpoint.direction.forwards_to_port() {
            return None;
        }
        let plugged = self.macs.get(&key.0)?;
        let rd = super::instance::rd(self.identity.bgp_address, endpoint.rd_number?);
        let route = VpnRoute::new(
            rd,
            prefix,
            vec![LabelStackEntry::from_label(plugged.label, true)],
        )?;
        let mut communities: ExtendedCommunities = readvertise
            .to_rt
            .iter()
            .map(|&target| ExtendedCommunity::RouteTarget { target })
            .collect();
        communities.extend(self.encapsulation_communities());
        communities.extend(
            records
                .iter()
                .map(|&target| ExtendedCommunity::RtRecord { target }),
        );
        communities.push(ExtendedCommunity::ConsistentHashSortOrder {
            order: plugged.lb_order,
        });
        Some((
            Nlri::Vpn(route),
            local_route_attributes(
                self.dataplane_next_hop_for(Some(&prefix)),
                DEFAULT_LOCAL_PREF,
                communities,
            ),
        ))
    }

    /// The route target traffic is attracted to: `attract_traffic.to_rt`, else the
    /// readvertise `to_rt` (reference §2.2).
    fn attract_to_rt(&self) -> Option<RouteTarget> {
        self.attract.as_ref().and_then(|a| a.to_rt).or_else(|| {
            self.readvertise
                .as_ref()
                .and_then(|r| r.to_rt.first().copied())
        })
    }

    fn static_prefixes(&self) -> Vec<ipnetwork::IpNetwork> {
        self.attract
            .as_ref()
            .map(|a| a.static_destination_prefixes.clone())
            .unwrap_or_default()
    }

    /// With `attract_traffic`, a readvertised prefix becomes a FlowSpec route redirecting its
    /// classified traffic to `to_rt`, and the first one brings a default route through each
    /// endpoint (reference §2.3).
    fn sync_attraction(
        &mut self,
        prefix: IpPrefix,
        records: Option<Vec<RouteTarget>>,
        outcome: &mut RouteOutcome,
    ) {
        let Some(network) = super::chaining::network(prefix) else {
            return;
        };
        match records {
            Some(records) => {
                let first = self.readvertised.is_empty() && self.readvertised_flows.is_empty();
                if self.readvertised.insert(prefix, records).is_some() {
                    return;
                }
                if first {
                    let keys: Vec<EndpointKey> = self.endpoints.keys().cloned().collect();
                    for key in keys {
                        outcome.advertise.extend(self.default_route_via(&key));
                    }
                }
                outcome.advertise.extend(self.flowspec_route(network));
            }
            None => {
                if self.readvertised.remove(&prefix).is_none() {
                    return;
                }
                if let Some(nlri) = self.attract_routes.remove(&AttractKey::FlowSpec(network)) {
                    outcome.withdraw.push(nlri);
                }
                if self.readvertised.is_empty()
                    && self.readvertised_flows.is_empty()
                    && self.static_prefixes().is_empty()
                {
                    self.withdraw_default_routes(outcome);
                }
            }
        }
    }

    /// With `attract_traffic`, a readvertisable FlowSpec route is advertised again with our RD,
    /// to the `to_rt`, with the RT-Records of its path and a redirect to the first
    /// `redirect_rts` (reference §2.3, §8); the first readvertisement brings the default routes.
    fn readvertise_flow(
        &mut self,
        rule: &crate::wire::nlri::FlowSpecRule,
        route: &Route<Nlri, RouteAttributes>,
        outcome: &mut RouteOutcome,
    ) {
        if self.attract.is_none() || self.readvertised_flows.contains_key(rule) {
            return;
        }
        let Some(records) = self.readvertisable(route) else {
            return;
        };
        let (Some(to_rt), Some(redirect)) = (
            self.attract_to_rt(),
            self.attract
                .as_ref()
                .and_then(|a| a.redirect_rts.first().copied()),
        ) else {
            return;
        };
        let first = self.readvertised.is_empty() && self.readvertised_flows.is_empty();
        let ours = crate::wire::nlri::FlowSpecRule {
            rd: Some(self.identity.rd()),
            ..rule.clone()
        };
        let mut communities: ExtendedCommunities =
            smallvec::smallvec![ExtendedCommunity::RouteTarget { target: to_rt }];
        communities.extend(
            records
                .iter()
                .map(|&target| ExtendedCommunity::RtRecord { target }),
        );
        communities.push(ExtendedCommunity::RedirectToRouteTarget { target: redirect });
        let nlri = Nlri::FlowSpec(ours);
        self.readvertised_flows.insert(rule.clone(), nlri.clone());
        if first {
            let keys: Vec<EndpointKey> = self.endpoints.keys().cloned().collect();
            for key in keys {
                outcome.advertise.extend(self.default_route_via(&key));
            }
        }
        outcome.advertise.push((
            nlri,
            local_route_attributes(WireNextHop::None, DEFAULT_LOCAL_PREF, communities),
        ));
    }

    /// The readvertised FlowSpec route goes; with it the default routes when nothing else is
    /// readvertised or statically attracted.
    fn unreadvertise_flow(
        &mut self,
        rule: &crate::wire::nlri::FlowSpecRule,
        outcome: &mut RouteOutcome,
    ) {
        let Some(nlri) = self.readvertised_flows.remove(rule) else {
            return;
        };
        outcome.withdraw.push(nlri);
        if self.readvertised.is_empty()
            && self.readvertised_flows.is_empty()
            && self.static_prefixes().is_empty()
        {
            self.withdraw_default_routes(outcome);
        }
    }

    /// Withdraws every default route `attract_traffic` advertised.
    fn withdraw_default_routes(&mut self, outcome: &mut RouteOutcome) {
        let defaults: Vec<AttractKey> = self
            .attract_routes
            .keys()
            .filter(|k| matches!(k, AttractKey::Default(_)))
            .cloned()
            .collect();
        for k in defaults {
            if let Some(nlri) = self.attract_routes.remove(&k) {
                outcome.withdraw.push(nlri);
            }
        }
    }

    /// The default route through an endpoint (its label and RD), to `to_rt`.
    fn default_route_via(&mut self, key: &EndpointKey) -> Option<(Nlri, RouteAttributes)> {
        if self
            .attract_routes
            .contains_key(&AttractKey::Default(key.clone()))
        {
            return None;
        }
        let to_rt = self.attract_to_rt()?;
        let endpoint = self.endpoints.get(key)?;
        if !endpoint.direction.forwards_to_port() {
            return None;
        }
        let plugged = self.macs.get(&key.0)?;
        let rd = super::instance::rd(self.identity.bgp_address, endpoint.rd_number?);
        let any = ip_prefix(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)?;
        let route = VpnRoute::new(
            rd,
            any,
            vec![LabelStackEntry::from_label(plugged.label, true)],
        )?;
        let mut communities: ExtendedCommunities =
            smallvec::smallvec![ExtendedCommunity::RouteTarget { target: to_rt }];
        communities.extend(self.encapsulation_communities());
        communities.push(ExtendedCommunity::ConsistentHashSortOrder {
            order: plugged.lb_order,
        });
        let nlri = Nlri::Vpn(route);
        self.attract_routes
            .insert(AttractKey::Default(key.clone()), nlri.clone());
        Some((
            nlri,
            local_route_attributes(
                self.dataplane_next_hop_for(Some(&any)),
                DEFAULT_LOCAL_PREF,
                communities,
            ),
        ))
    }

    /// The FlowSpec-VPN route of the classifier for `destination`, redirecting to `to_rt`,
    /// with the `redirect_rts` route targets (reference §2.3; RFC 8955 §7.5).
    fn flowspec_route(
        &mut self,
        destination: ipnetwork::IpNetwork,
    ) -> Option<(Nlri, RouteAttributes)> {
        let key = AttractKey::FlowSpec(destination);
        if self.attract_routes.contains_key(&key) {
            return None;
        }
        let to_rt = self.attract_to_rt()?;
        let attract = self.attract.as_ref()?;
        let rule = super::chaining::classifier_rule(
            &attract.classifier,
            Some(destination),
            self.identity.rd(),
        );
        let mut communities: ExtendedCommunities = attract
            .redirect_rts
            .iter()
            .map(|&target| ExtendedCommunity::RouteTarget { target })
            .collect();
        communities.push(ExtendedCommunity::RedirectToRouteTarget { target: to_rt });
        let nlri = Nlri::FlowSpec(rule);
        self.attract_routes.insert(key, nlri.clone());
        Some((
            nlri,
            local_route_attributes(WireNextHop::None, DEFAULT_LOCAL_PREF, communities),
        ))
    }

    /// A new endpoint readvertises every readvertised prefix through itself.
    pub fn readvertise_via(&mut self, key: &EndpointKey) -> Vec<(Nlri, RouteAttributes)> {
        if self.attract.is_some() {
            let mut out = Vec::new();
            let statics = self.static_prefixes();
            if !self.readvertised.is_empty()
                || !self.readvertised_flows.is_empty()
                || !statics.is_empty()
            {
                out.extend(self.default_route_via(key));
            }
            // Static destinations are attracted once, by the first endpoint (reference §2.3).
            if self.endpoints.len() == 1 {
                for prefix in statics {
                    out.extend(self.flowspec_route(prefix));
                }
            }
            return out;
        }
        let prefixes: Vec<IpPrefix> = self.readvertised.keys().copied().collect();
        let mut out = Vec::new();
        for prefix in prefixes {
            if let Some(route) = self.readvertisement(prefix, key) {
                self.readvertised_routes
                    .insert((prefix, key.clone()), route.0.clone());
                out.push(route);
            }
        }
        out
    }

    /// A leaving endpoint withdraws the readvertisements made through it.
    pub fn unreadvertise_via(&mut self, key: &EndpointKey) -> Vec<Nlri> {
        if self.attract.is_some() {
            let mut out: Vec<Nlri> = self
                .attract_routes
                .remove(&AttractKey::Default(key.clone()))
                .into_iter()
                .collect();
            let last = self.endpoints.keys().all(|k| k == key);
            if last {
                for prefix in self.static_prefixes() {
                    out.extend(self.attract_routes.remove(&AttractKey::FlowSpec(prefix)));
                }
            }
            return out;
        }
        let gone: Vec<(IpPrefix, EndpointKey)> = self
            .readvertised_routes
            .keys()
            .filter(|(_, k)| k == key)
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|k| self.readvertised_routes.remove(&k))
            .collect()
    }

    /// Every best route withdrawn (instance removal): the operations that undo them.
    pub fn withdraw_all(&mut self) -> Vec<Operation> {
        let neighbours = self.neighbours();
        let mut changes = Vec::new();
        self.tracker.withdraw_all(&mut changes);
        let mut outcome = RouteOutcome::default();
        for change in changes {
            if let BestChange::BestRemoved { entry, route, .. } = change {
                if let Some(op) = self.remote_operation(&entry, &route, false, &mut outcome) {
                    outcome.ops.push(op);
                }
            }
        }
        for entry in neighbours {
            outcome.ops.push(Operation::RemoveNeighbour {
                instance: self.identity.id,
                entry,
            });
        }
        outcome.ops
    }

    fn entry_of(
        &self,
        route: &Route<Nlri, RouteAttributes>,
        outcome: &mut RouteOutcome,
    ) -> Option<TrackedEntry> {
        match (self.identity.vpn_type, route.nlri()) {
            (VpnType::Evpn, Nlri::Evpn(EvpnRoute::MacIpAdvertisement { mac, .. })) => {
                Some(TrackedEntry::Mac(*mac))
            }
            (VpnType::Evpn, Nlri::Evpn(EvpnRoute::InclusiveMulticast { rd, originator, .. })) => {
                Some(TrackedEntry::Multicast(*originator, *rd))
            }
            (VpnType::Ipvpn, Nlri::FlowSpec(rule))
                if rule.rd.is_some()
                    && (self.imported(route) || self.readvertisable(route).is_some()) =>
            {
                Some(TrackedEntry::Flow(Box::new(rule.clone())))
            }
            (VpnType::Ipvpn, Nlri::Vpn(v)) => {
                let from = self
                    .readvertise
                    .as_ref()
                    .map_or(&[][..], |r| &r.from_rt[..]);
                let wanted = route
                    .route_targets()
                    .iter()
                    .any(|rt| self.import_rts.contains(rt) || from.contains(rt));
                wanted.then_some(TrackedEntry::Prefix(v.prefix))
            }
            (_, nlri) => {
                outcome.warnings.push(format!(
                    "{}: route {nlri:?} ignored: not a route this instance uses",
                    self.identity.name()
                ));
                None
            }
        }
    }

    /// ARP suppression entries from every received MAC/IP route with an IP (beyond BaGPipe-BGP,
    /// which kept one IP per MAC).
    fn track_neighbour(
        &mut self,
        route: &Route<Nlri, RouteAttributes>,
        advertised: bool,
        outcome: &mut RouteOutcome,
    ) {
        let Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
            rd,
            ethernet_tag,
            mac,
            ip: Some(ip),
            ..
        }) = route.nlri()
        else {
            return;
        };
        // Whether the tracker already holds this route (same source, RD, tag, MAC and IP): a
        // re-advertisement changes no neighbour, a withdrawal of an unknown route neither. And
        // how many of its routes carry this (IP, MAC): the neighbour entry exists while one
        // does. Counted among the few routes of the MAC rather than kept in a map of its own,
        // which cost a third of the time per received route, then 60 bytes per route.
        let mut known = false;
        let mut carrying = 0usize;
        for r in self.tracker.routes(&TrackedEntry::Mac(*mac)) {
            if let Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
                rd: r_rd,
                ethernet_tag: r_tag,
                ip: Some(r_ip),
                ..
            }) = r.nlri()
            {
                if r_ip == ip {
                    carrying += 1;
                    known |= r.source() == route.source() && r_rd == rd && r_tag == ethernet_tag;
                }
            }
        }
        let entry = NeighbourEntry { ip: *ip, mac: *mac };
        let instance = self.identity.id;
        if advertised && !known && carrying == 0 {
            outcome
                .ops
                .push(Operation::AddNeighbour { instance, entry });
        } else if !advertised && known && carrying == 1 {
            // The tracker is about to drop the last route carrying it.
            outcome
                .ops
                .push(Operation::RemoveNeighbour { instance, entry });
        }
    }

    /// The ARP suppression entries of the tracked MAC/IP routes, sorted.
    fn neighbours(&self) -> BTreeSet<NeighbourEntry> {
        self.tracker
            .entries()
            .filter_map(|e| match e {
                TrackedEntry::Mac(mac) => Some(mac),
                _ => None,
            })
            .flat_map(|mac| self.tracker.routes(&TrackedEntry::Mac(*mac)))
            .filter_map(|r| match r.nlri() {
                Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
                    mac, ip: Some(ip), ..
                }) => Some(NeighbourEntry { ip: *ip, mac: *mac }),
                _ => None,
            })
            .collect()
    }

    /// The encapsulations a route offers (reference §2.2 `_check_encaps`): its Encapsulation
    /// communities, or the default one.
    fn offered_encapsulations(route: &Route<Nlri, RouteAttributes>) -> Vec<Encapsulation> {
        route
            .attributes()
            .attributes
            .extended_communities()
            .iter()
            .filter_map(|c| match c {
                ExtendedCommunity::Encapsulation { tunnel_type } => {
                    Some(Encapsulation::Tunnel(*tunnel_type))
                }
                _ => None,
            })
            .collect()
    }

    fn remote_operation(
        &self,
        entry: &TrackedEntry,
        route: &Route<Nlri, RouteAttributes>,
        add: bool,
        outcome: &mut RouteOutcome,
    ) -> Option<Operation> {
        let instance = self.identity.id;
        let offered = Self::offered_encapsulations(route);
        let Some(encapsulation) = self.capabilities.select_encapsulation(&offered) else {
            if add {
                let name = self.identity.name();
                outcome.warnings.push(format!(
                    "{name}: route {:?} ignored: its encapsulations {offered:?} are not supported by the {} driver",
                    route.nlri(),
                    self.capabilities.driver
                ));
            }
            return None;
        };
        let remote_pe = next_hop_address(&route.attributes().next_hop);
        match (entry, route.nlri()) {
            (TrackedEntry::Mac(mac), Nlri::Evpn(EvpnRoute::MacIpAdvertisement { label1, .. })) => {
                let remote_pe = remote_pe?;
                let id = if encapsulation == Encapsulation::VXLAN {
                    TunnelId::Vni(label1.vni())
                } else {
                    TunnelId::Label(label1.label())
                };
                let endpoint = RemoteEndpoint {
                    destination: Destination::Mac(*mac),
                    next_hop: NextHop {
                        remote_pe,
                        id,
                        encapsulation,
                    },
                    lb_consistent_hash_order: 0,
                };
                Some(if add {
                    Operation::SetupRemoteEndpoint { instance, endpoint }
                } else {
                    Operation::RemoveRemoteEndpoint { instance, endpoint }
                })
            }
            (TrackedEntry::Multicast(..), Nlri::Evpn(EvpnRoute::InclusiveMulticast { .. })) => {
                let Some(pmsi) = route.attributes().attributes.pmsi_tunnel() else {
                    if add {
                        let name = self.identity.name();
                        outcome.warnings.push(format!(
                            "{name}: multicast route {:?} ignored: no PMSI Tunnel attribute",
                            route.nlri()
                        ));
                    }
                    return None;
                };
                let Some(remote_vtep) = pmsi.ingress_replication_endpoint() else {
                    if add {
                        let name = self.identity.name();
                        outcome.warnings.push(format!(
                            "{name}: multicast route {:?} ignored: PMSI tunnel is not ingress replication",
                            route.nlri()
                        ));
                    }
                    return None;
                };
                let id = if encapsulation == Encapsulation::VXLAN {
                    TunnelId::Vni(pmsi.label.vni())
                } else {
                    TunnelId::Label(pmsi.label.label())
                };
                let entry = FloodEntry {
                    remote_vtep,
                    id,
                    encapsulation,
                };
                Some(if add {
                    Operation::AddFloodEntry { instance, entry }
                } else {
                    Operation::RemoveFloodEntry { instance, entry }
                })
            }
            (TrackedEntry::Prefix(prefix), Nlri::Vpn(v)) => {
                let remote_pe = remote_pe?;
                let [label] = v.labels.as_slice() else {
                    if add {
                        let name = self.identity.name();
                        outcome.warnings.push(format!(
                            "{name}: route {:?} ignored: exactly one label expected",
                            route.nlri()
                        ));
                    }
                    return None;
                };
                let lb = route
                    .attributes()
                    .attributes
                    .extended_communities()
                    .iter()
                    .find_map(|c| match c {
                        ExtendedCommunity::ConsistentHashSortOrder { order } => Some(*order),
                        _ => None,
                    })
                    .unwrap_or(0);
                let destination =
                    Destination::Prefix(IpNetwork::new(prefix.addr(), prefix.len()).ok()?);
                let endpoint = RemoteEndpoint {
                    destination,
                    next_hop: NextHop {
                        remote_pe,
                        id: TunnelId::Label(label.label()),
                        encapsulation,
                    },
                    lb_consistent_hash_order: lb,
                };
                Some(if add {
                    Operation::SetupRemoteEndpoint { instance, endpoint }
                } else {
                    Operation::RemoveRemoteEndpoint { instance, endpoint }
                })
            }
            _ => None,
        }
    }
}

/// The address a route's next hop points to.
pub fn next_hop_address(next_hop: &WireNextHop) -> Option<IpAddr> {
    match next_hop {
        WireNextHop::Ipv4(a) | WireNextHop::VpnIpv4 { addr: a, .. } => Some(IpAddr::V4(*a)),
        // An IPv4-mapped next hop (VPN-IPv6 over IPv4, RFC 4659 §3.2.1.1) is the IPv4 address.
        WireNextHop::Ipv6 { global, .. } | WireNextHop::VpnIpv6 { global, .. } => Some(
            global
                .to_ipv4_mapped()
                .map_or(IpAddr::V6(*global), IpAddr::V4),
        ),
        WireNextHop::None | WireNextHop::Raw(_) => None,
    }
}

/// The prefix `addr/len` (host bits cleared).
pub fn ip_prefix(addr: IpAddr, len: u8) -> Option<IpPrefix> {
    match addr {
        IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(IpPrefix::V4),
        IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(IpPrefix::V6),
    }
}

/// The dataplane's direction for the API's.
pub fn dataplane_direction(direction: ApiDirection) -> Direction {
    match direction {
        ApiDirection::Both => Direction::Both,
        ApiDirection::ToPort => Direction::ToPort,
        ApiDirection::FromPort => Direction::FromPort,
    }
}

/// The attach would bind `mac` to another port than the one it is on.
pub fn port_conflict(existing: &PluggedMac, requested: &api::LocalPort) -> Option<VpnError> {
    (existing.local_port != *requested)
        .then(|| VpnError::Client("MAC address cannot be bound to two different ports".to_string()))
}
