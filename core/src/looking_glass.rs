//! The looking glass (reference §4.1, §4.2): read-only JSON views of the speaker under
//! `/looking-glass`, with BaGPipe-BGP's tree and field names, absolute hrefs, and paths that
//! walk into the objects (`/looking-glass/summary/vpn_instances_count` is a bare value).

use crate::config::VpnType;
use crate::dataplane::Operation;
use crate::rib::codec::RouteAttributes;
use crate::rib::{Route, RouteSource};
use crate::speaker::Speaker;
use crate::vpn::instance::next_hop_address;
use crate::vpn::{Instance, TrackedEntry};
use crate::wire::extcomm::ExtendedCommunity;
use crate::wire::nlri::{EvpnRoute, Nlri};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};

/// What the runtime knows that the core does not.
#[derive(Debug, Clone, Default)]
pub struct LookingGlassInfo {
    /// `YYYY-MM-DD HH:MM:SS` of the start.
    pub start_time: String,
    /// The program's version.
    pub version: String,
    /// The configuration as JSON (`/config`).
    pub config: Value,
    /// The last warnings and errors, newest first (`/logs`).
    pub logs: Vec<Value>,
    /// How many warnings and errors were logged since the start.
    pub warnings_and_errors: usize,
}

/// The last dataplane operations per VPN type, as the dummy drivers received them.
#[derive(Debug, Clone, Default)]
pub struct OperationLog {
    by_type: BTreeMap<VpnType, VecDeque<Operation>>,
}

/// How many operations the log keeps per VPN type.
const OPERATION_LOG_LEN: usize = 1000;

impl OperationLog {
    /// Records operations a driver applied.
    pub fn record(&mut self, vpn_type: VpnType, ops: &[Operation]) {
        let log = self.by_type.entry(vpn_type).or_default();
        for op in ops {
            if log.len() == OPERATION_LOG_LEN {
                log.pop_front();
            }
            log.push_back(op.clone());
        }
    }

    /// The operations applied for a VPN type, oldest first.
    pub fn operations(&self, vpn_type: VpnType) -> impl Iterator<Item = &Operation> {
        self.by_type.get(&vpn_type).into_iter().flatten()
    }
}

/// A path with no object: the 404 text of BaGPipe-BGP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// The segment that matched nothing.
    pub segment: String,
    /// The path before it.
    pub prefix: String,
}

impl core::fmt::Display for NotFound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "No such looking glass object: {} at {}",
            self.segment, self.prefix
        )
    }
}

fn href(base: &str, path: &str) -> Value {
    json!({ "href": format!("{base}/looking-glass/{path}") })
}

/// The text of a route's NLRI (GoBGP-like).
pub fn nlri_text(nlri: &Nlri) -> String {
    match nlri {
        Nlri::Vpn(v) => format!("{}:{}", v.rd, v.prefix),
        Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
            rd,
            mac,
            ip,
            ethernet_tag,
            ..
        }) => match ip {
            Some(ip) => format!("[type:macadv][rd:{rd}][etag:{ethernet_tag}][mac:{mac}][ip:{ip}]"),
            None => format!("[type:macadv][rd:{rd}][etag:{ethernet_tag}][mac:{mac}]"),
        },
        Nlri::Evpn(EvpnRoute::InclusiveMulticast {
            rd,
            ethernet_tag,
            originator,
        }) => {
            format!("[type:multicast][rd:{rd}][etag:{ethernet_tag}][ip:{originator}]")
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn family_text(nlri: &Nlri) -> &'static str {
    match nlri {
        Nlri::Vpn(_) => "ipv4/mpls-vpn",
        Nlri::Evpn(_) => "l2vpn/evpn",
        Nlri::Rtc(_) => "ipv4/rtc",
        Nlri::FlowSpec(_) => "ipv4/flow-vpn",
        Nlri::Ipv4Unicast(_) => "ipv4/unicast",
        Nlri::Ipv6Unicast(_) => "ipv6/unicast",
    }
}

fn source_text(speaker: &Speaker, source: RouteSource) -> String {
    match source {
        RouteSource::Peer(p) => speaker
            .peer_address(p)
            .map_or_else(|| format!("peer {}", p.0), |a| format!("BGP-{a}")),
        RouteSource::Instance(i) => speaker
            .vpn()
            .instance(i)
            .map_or_else(|| format!("instance {}", i.0), |inst| inst.identity.name()),
        RouteSource::Speaker => "BGPManager".to_string(),
    }
}

/// A route object (reference §4.2).
fn route_object(speaker: &Speaker, route: &Route<Nlri, RouteAttributes>) -> Value {
    let attrs = route.attributes();
    let mut attributes = Map::new();
    for a in &attrs.attributes.list {
        use crate::wire::attr::PathAttribute as P;
        let (name, value) = match a {
            P::Origin(_) | P::AsPath(_) => continue,
            P::LocalPref(v) => ("LOCAL_PREF", json!(v)),
            P::Med(v) => ("MULTI_EXIT_DISC", json!(v)),
            P::ExtendedCommunities(list) => (
                "EXTENDED_COMMUNITIES",
                json!(list.iter().map(community_text).collect::<Vec<_>>()),
            ),
            P::PmsiTunnel(p) => (
                "PMSI_TUNNEL",
                json!(format!(
                    "pmsi:ingressreplication:{}:{}:{}",
                    p.flags,
                    p.label.raw(),
                    p.ingress_replication_endpoint()
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                )),
            ),
            other => ("OTHER", serde_json::to_value(other).unwrap_or(Value::Null)),
        };
        attributes.insert(name.to_string(), value);
    }
    let mut body = json!({
        "afi-safi": family_text(route.nlri()),
        "attributes": attributes,
        "next_hop": next_hop_address(&attrs.next_hop).map(|a| a.to_string()),
        "source": { "id": source_text(speaker, route.source()) },
    });
    if matches!(route.nlri(), Nlri::Vpn(_) | Nlri::Evpn(_)) {
        body["route_targets"] = json!(route
            .route_targets()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>());
    }
    json!({ nlri_text(route.nlri()): body })
}

fn community_text(c: &ExtendedCommunity) -> String {
    match c {
        ExtendedCommunity::RouteTarget { target } => format!("target:{target}"),
        ExtendedCommunity::Encapsulation { tunnel_type } => format!("encap:{tunnel_type:?}"),
        ExtendedCommunity::ConsistentHashSortOrder { order } => {
            format!("consistent-hash-sort-order:{order}")
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn peer_object(speaker: &Speaker, p: &crate::speaker::PeerStatus) -> Value {
    let local = speaker.config().local_address.to_string();
    let rtc_enabled = speaker
        .config()
        .peers
        .get(usize::try_from(p.peer.0).unwrap_or(usize::MAX))
        .is_some_and(|c| c.families.contains(&crate::wire::Family::RTC));
    json!({
        "name": format!("BGP-{}", p.address),
        "protocol": {
            "state": p.state.name(),
            "previous_state": p.previous_state.map(|s| format!("({})", s.name())),
            "hold_time": p.hold_time,
            "last_transition_time": p.since.since_epoch().as_secs(),
            "last_error": p.last_error,
        },
        "peeringAddresses": { "peer_address": p.address.to_string(), "local_address": local },
        "as_info": { "local": speaker.config().local_as, "peer": p.remote_as },
        "rtc": {
            "enabled": rtc_enabled,
            "active": p.families.iter().any(|f| f.contains("rtc")),
        },
        "active_families": p.families,
    })
}

fn instance_object(speaker: &Speaker, base: &str, i: &Instance) -> Value {
    let id = &i.identity;
    let mut ports: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for ((mac, ip_text), endpoint) in &i.endpoints {
        let Some(plugged) = i.macs.get(mac) else {
            continue;
        };
        ports
            .entry(plugged.linuxif.clone())
            .or_default()
            .push(json!({
                "label": plugged.label.value(),
                "mac_address": mac.to_string(),
                "ip_address": ip_text,
                "local_pref": endpoint.local_pref,
                "rd": endpoint.route.as_ref().map(|r| match r {
                    Nlri::Vpn(v) => v.rd.to_string(),
                    Nlri::Evpn(EvpnRoute::MacIpAdvertisement { rd, .. }) => rd.to_string(),
                    _ => String::new(),
                }),
                "description": endpoint.description,
                "direction": endpoint.direction.name(),
            }));
    }
    let ports: Map<String, Value> = ports
        .into_iter()
        .map(|(k, v)| (k, json!({ "endpoints": v })))
        .collect();
    let best: Map<String, Value> = i
        .best_routes()
        .map(|(entry, routes)| {
            let key = match entry {
                TrackedEntry::Mac(m) => m.to_string(),
                TrackedEntry::Multicast(ip, rd) => format!("{ip} {rd}"),
                TrackedEntry::Prefix(p) => p.to_string(),
                TrackedEntry::Flow(rule) => nlri_text(&Nlri::FlowSpec((**rule).clone())),
            };
            (
                key,
                json!(routes
                    .iter()
                    .map(|r| route_object(speaker, r))
                    .collect::<Vec<_>>()),
            )
        })
        .collect();
    let type_name = match id.vpn_type {
        VpnType::Evpn => "EVI",
        VpnType::Ipvpn => "VRF",
    };
    let dataplane_id = match id.tunnel {
        crate::dataplane::TunnelId::Vni(v) => v.value(),
        crate::dataplane::TunnelId::Label(l) => l.value(),
    };
    json!({
        "instance_type": type_name,
        "name": id.name(),
        "external_instance_id": id.external_id,
        "description": i.description,
        "dataplane": { "driver": { "id": id.vpn_type.name(), "href": format!("{base}/looking-glass/vpns/dataplane/drivers/{}", id.vpn_type.name()) } },
        "route_targets": {
            "import": i.import_rts.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "export": i.export_rts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
        "gateway_ip": id.gateway_ip.map(|g| g.to_string()),
        "subnet_prefix_length": id.subnet_len,
        "instance_dataplane_id": dataplane_id,
        "rd": id.rd().to_string(),
        "ports": ports,
        "readvertise": i.readvertise.as_ref().map_or_else(|| json!({}), |r| json!({
            "from": r.from_rt.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "to": r.to_rt.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
        "attract_traffic": i.attract.as_ref().map_or_else(|| json!({}), |a| json!({
            "redirect_rts": a.redirect_rts.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "to": a.to_rt.map(|rt| rt.to_string()),
            "static_destination_prefixes": a.static_destination_prefixes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "classifier": format!("{:?}", a.classifier),
        })),
        "readvertised": i.readvertised.keys().map(ToString::to_string).collect::<Vec<_>>(),
        "gateway_port": i.gateway_port.as_ref().map(|(interface, vrf)| {
            let vrf = speaker.vpn().instance(*vrf);
            json!({
                "interface": interface,
                "ipvpn": vrf.map(|v| json!({
                    "id": v.identity.name(),
                    "external_instance_id": v.identity.external_id,
                    "href": format!("{base}/looking-glass/vpns/instances/{}", v.identity.external_id),
                })),
            })
        }),
        "best_routes": best,
    })
}

/// A walk down a looking-glass path: the segments left, and those matched so far (the prefix
/// of a 404's text).
struct Walk<'p> {
    segments: std::slice::Iter<'p, String>,
    walked: Vec<&'p str>,
}

impl<'p> Walk<'p> {
    fn new(path: &'p [String]) -> Self {
        Walk {
            segments: path.iter(),
            walked: Vec::new(),
        }
    }

    /// The next segment, not yet matched.
    fn next(&mut self) -> Option<&'p str> {
        self.segments.next().map(String::as_str)
    }

    /// `segment` matched.
    fn enter(&mut self, segment: &'p str) {
        self.walked.push(segment);
    }

    /// `segment` matched nothing.
    fn not_found(&self, segment: &str) -> NotFound {
        NotFound {
            segment: segment.to_string(),
            prefix: format!("looking-glass/{}", self.walked.join("/"))
                .trim_end_matches('/')
                .to_string(),
        }
    }

    /// The remaining segments index into `value`: object keys, array positions (reference
    /// §4.1).
    fn index_into(mut self, mut value: Value) -> Result<Value, NotFound> {
        while let Some(segment) = self.next() {
            let next = match &value {
                Value::Object(map) => map.get(segment).cloned(),
                Value::Array(list) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| list.get(i).cloned()),
                _ => None,
            };
            match next {
                Some(v) => {
                    value = v;
                    self.enter(segment);
                }
                None => return Err(self.not_found(segment)),
            }
        }
        Ok(value)
    }
}

fn route_counts(speaker: &Speaker) -> Value {
    let counts = speaker.rib().route_counts();
    json!({ "local_routes_count": counts.local, "received_routes_count": counts.received })
}

impl Speaker {
    /// The object at `path` under `/looking-glass`, hrefs made absolute with `base` (the
    /// request's `scheme://host:port`).
    pub fn looking_glass(
        &self,
        path: &[String],
        base: &str,
        info: &LookingGlassInfo,
        operations: &OperationLog,
    ) -> Result<Value, NotFound> {
        let mut walk = Walk::new(path);
        let first = walk.next();
        let value = match first {
            None => json!({
                "summary": self.lg_summary(info),
                "config": href(base, "config"),
                "bgp": href(base, "bgp"),
                "vpns": href(base, "vpns"),
                "logs": href(base, "logs"),
            }),
            Some("summary") => self.lg_summary(info),
            Some("config") => info.config.clone(),
            Some("logs") => json!(info.logs),
            Some("bgp") => {
                walk.enter("bgp");
                self.lg_bgp(&mut walk, base)?
            }
            Some("vpns") => {
                walk.enter("vpns");
                self.lg_vpns(&mut walk, base, operations)?
            }
            Some(other) => return Err(walk.not_found(other)),
        };
        if let Some(s) = first {
            if !walk.walked.contains(&s) {
                walk.enter(s);
            }
        }
        walk.index_into(value)
    }

    /// `/looking-glass/summary`.
    fn lg_summary(&self, info: &LookingGlassInfo) -> Value {
        let established = self
            .peer_status()
            .iter()
            .filter(|p| p.state == crate::session::SessionState::Established)
            .count();
        json!({
            "BGP_established_peers": established,
            "route_counts": route_counts(self),
            "vpn_instances_count": self.vpn().instances().count(),
            "warnings_and_errors": info.warnings_and_errors,
            "start_time": info.start_time,
            "version": info.version,
        })
    }

    /// `/looking-glass/bgp/...`: peers, routes, advertised routes, workers.
    fn lg_bgp(&self, walk: &mut Walk<'_>, base: &str) -> Result<Value, NotFound> {
        let status = self.peer_status();
        Ok(match walk.next() {
            None => json!({
                "peers": href(base, "bgp/peers"),
                "routes": href(base, "bgp/routes"),
                "workers": href(base, "bgp/workers"),
                "adv_routes": href(base, "bgp/adv_routes"),
                "route_counts": route_counts(self),
            }),
            Some("peers") => {
                walk.enter("peers");
                match walk.next() {
                    None => json!(status
                        .iter()
                        .map(|p| json!({
                            "id": p.address.to_string(),
                            "state": p.state.name(),
                            "href": format!("{base}/looking-glass/bgp/peers/{}", p.address),
                        }))
                        .collect::<Vec<_>>()),
                    Some(ip) => {
                        let Some(p) = status.iter().find(|p| p.address.to_string() == ip) else {
                            return Err(walk.not_found(ip));
                        };
                        walk.enter(ip);
                        peer_object(self, p)
                    }
                }
            }
            Some("routes") => {
                let mut by_family: BTreeMap<String, Vec<Value>> = BTreeMap::new();
                let peers = (0..status.len())
                    .map(|i| crate::speaker::PeerId(u32::try_from(i).unwrap_or(u32::MAX)));
                let received = peers.flat_map(|peer| self.rib().adj_rib_in(peer).map(|(r, _)| r));
                for r in self.rib().local_routes().chain(received) {
                    by_family
                        .entry(format!("{},*", family_text(r.nlri())))
                        .or_default()
                        .push(route_object(self, r));
                }
                walk.enter("routes");
                json!(by_family)
            }
            Some("adv_routes") => {
                // The RT-Constraint routes the speaker originates (reference §4.2).
                let routes: Vec<Value> = self
                    .rib()
                    .local_routes()
                    .filter(|r| r.source() == RouteSource::Speaker)
                    .map(|r| route_object(self, r))
                    .collect();
                walk.enter("adv_routes");
                json!(routes)
            }
            Some("workers") => {
                walk.enter("workers");
                match walk.next() {
                    None => {
                        let mut workers: Vec<Value> = status
                            .iter()
                            .map(|p| format!("BGP-{}", p.address))
                            .chain(self.vpn().instances().map(|i| i.identity.name()))
                            .map(|id| {
                                json!({
                                    "href": format!("{base}/looking-glass/bgp/workers/{id}"),
                                    "id": id,
                                })
                            })
                            .collect();
                        workers.sort_by_key(|w| w["id"].as_str().map(str::to_string));
                        json!(workers)
                    }
                    Some(name) => {
                        let peer = status.iter().find(|p| format!("BGP-{}", p.address) == name);
                        let instance = self.vpn().instances().find(|i| i.identity.name() == name);
                        match (peer, instance) {
                            (Some(p), _) => {
                                walk.enter(name);
                                peer_object(self, p)
                            }
                            (None, Some(i)) => {
                                walk.enter(name);
                                instance_object(self, base, i)
                            }
                            (None, None) => return Err(walk.not_found(name)),
                        }
                    }
                }
            }
            Some(other) => return Err(walk.not_found(other)),
        })
    }

    /// `/looking-glass/vpns/...`: instances and dataplane drivers.
    fn lg_vpns(
        &self,
        walk: &mut Walk<'_>,
        base: &str,
        operations: &OperationLog,
    ) -> Result<Value, NotFound> {
        Ok(match walk.next() {
            None => {
                let per_vni: Map<String, Value> = self
                    .vpn()
                    .instances()
                    .filter_map(|i| match i.identity.tunnel {
                        crate::dataplane::TunnelId::Vni(v) => Some((
                            v.value().to_string(),
                            json!({ "name": i.identity.name(), "external_instance_id": i.identity.external_id }),
                        )),
                        crate::dataplane::TunnelId::Label(_) => None,
                    })
                    .collect();
                json!({
                    "instances": href(base, "vpns/instances"),
                    "dataplane": href(base, "vpns/dataplane"),
                    "instances_per_vni": per_vni,
                })
            }
            Some("instances") => {
                walk.enter("instances");
                match walk.next() {
                    None => json!(self
                        .vpn()
                        .instances()
                        .map(|i| json!({
                            "id": i.identity.external_id,
                            "name": i.identity.name(),
                            "description": i.description,
                            "href": format!("{base}/looking-glass/vpns/instances/{}", i.identity.external_id),
                        }))
                        .collect::<Vec<_>>()),
                    Some(id) => {
                        let Some(i) = self.vpn().instance_by_external_id(id) else {
                            return Err(walk.not_found(id));
                        };
                        walk.enter(id);
                        instance_object(self, base, i)
                    }
                }
            }
            Some("dataplane") => {
                walk.enter("dataplane");
                self.lg_dataplane(walk, base, operations)?
            }
            Some(other) => return Err(walk.not_found(other)),
        })
    }

    /// `/looking-glass/vpns/dataplane/...`: drivers with their operations, labels in use.
    fn lg_dataplane(
        &self,
        walk: &mut Walk<'_>,
        base: &str,
        operations: &OperationLog,
    ) -> Result<Value, NotFound> {
        Ok(match walk.next() {
            None => {
                json!({ "drivers": href(base, "vpns/dataplane/drivers"), "ids": href(base, "vpns/dataplane/ids") })
            }
            Some("ids") => {
                let ids: Map<String, Value> = self
                    .vpn()
                    .labels_in_use()
                    .map(|l| (l.to_string(), json!("allocated")))
                    .collect();
                json!(ids)
            }
            Some("drivers") => {
                walk.enter("drivers");
                match walk.next() {
                    None => json!([VpnType::Evpn, VpnType::Ipvpn]
                        .iter()
                        .filter(|t| self.vpn().capabilities(**t).is_some())
                        .map(|t| json!({
                            "id": t.name(),
                            "href": format!("{base}/looking-glass/vpns/dataplane/drivers/{}", t.name()),
                        }))
                        .collect::<Vec<_>>()),
                    Some(t) => {
                        let vpn_type = match t {
                            "evpn" => VpnType::Evpn,
                            "ipvpn" => VpnType::Ipvpn,
                            _ => return Err(walk.not_found(t)),
                        };
                        let Some(caps) = self.vpn().capabilities(vpn_type) else {
                            return Err(walk.not_found(t));
                        };
                        walk.enter(t);
                        json!({
                            "name": caps.driver,
                            "local_address": self.vpn().dataplane_address(vpn_type).map(|a| a.to_string()),
                            "supported_encaps": caps.encapsulations.iter().map(ToString::to_string).collect::<Vec<_>>(),
                            "ecmp": caps.ecmp,
                            "operations": operations.operations(vpn_type).collect::<Vec<_>>(),
                        })
                    }
                }
            }
            Some(other) => return Err(walk.not_found(other)),
        })
    }
}
