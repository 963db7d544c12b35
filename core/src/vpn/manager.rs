//! The VPN manager (reference §2.1): instances by external id, created on first attach and
//! removed with their last endpoint; the label, RD and instance id allocators; attach and detach
//! in two steps, so that nothing is applied before the dataplane has accepted it:
//! [`VpnManager::plan_attach`] / [`VpnManager::plan_detach`] check the request against the
//! state and give the dataplane operations; [`VpnManager::commit`] applies the change once the
//! driver succeeded, [`VpnManager::abort`] forgets it (and gives what to undo) when it failed.

use super::allocator::IdAllocator;
use super::error::VpnError;
use super::instance::{
    dataplane_direction, port_conflict, Endpoint, EndpointKey, EndpointRouteSpec, Instance,
    InstanceIdentity, PluggedMac, RedirectChange, RouteOutcome,
};
use crate::api::{AttachRequest, DetachRequest};
use crate::config::VpnType;
use crate::dataplane::{Capabilities, LocalPort, Operation, TunnelId};
use crate::rib::codec::RouteAttributes;
use crate::rib::{InstanceEvent, InstanceId, Subscription};
use crate::speaker::outbound::DEFAULT_LOCAL_PREF;
use crate::speaker::Rib;
use crate::wire::nlri::FlowSpecRule;
use crate::wire::{Family, Label, RouteTarget};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Labels: 16 to 2^20-1 (reference §2.1; 0-15 are reserved, RFC 3032 §2.1).
const LABEL_MIN: u32 = 16;
const LABEL_MAX: u32 = (1 << 20) - 1;

/// Where the manager's instances live.
#[derive(Debug, Clone)]
pub struct VpnSettings {
    /// Our BGP address, IPv4 (RD administrator, originator).
    pub bgp_address: Ipv4Addr,
    /// The dataplane address per VPN type.
    pub dataplane_address: BTreeMap<VpnType, IpAddr>,
    /// The driver capabilities per VPN type.
    pub capabilities: BTreeMap<VpnType, Capabilities>,
    /// Seed of the per-instance tie-break salt.
    pub seed: u64,
}

/// Dataplane batches, by the VPN type whose driver carries them.
pub type Batches = Vec<(VpnType, Vec<Operation>)>;

/// An E-VPN instance plugged into a VRF (reference §2.1 "EVPN→IPVPN plug"): the E-VPN side of
/// the link, a gateway port of the E-VPN instance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GatewayPlug {
    evi: InstanceId,
    interface: String,
}

/// Linux interface names are at most 15 characters.
fn interface_name(name: String) -> String {
    name.chars().take(15).collect()
}

/// An accepted change waiting for the dataplane.
#[derive(Debug, Clone)]
pub struct PendingChange {
    kind: ChangeKind,
}

#[derive(Debug, Clone)]
enum ChangeKind {
    Attach {
        request: Box<AttachRequest>,
        /// The instance to create, when this attach creates it.
        new_instance: Option<Box<Instance>>,
        instance: InstanceId,
        /// A label allocated for a MAC new on this instance.
        new_mac_label: Option<Label>,
        /// An RD number allocated for the endpoint.
        endpoint_rd: Option<u16>,
        /// The endpoint is already there: only its route is refreshed.
        refresh: bool,
        /// The endpoint's interface.
        linuxif: String,
        /// The E-VPN instance plugged in by this attach.
        gateway: Option<GatewayPlug>,
    },
    Detach {
        instance: InstanceId,
        keys: Vec<EndpointKey>,
        /// The E-VPN instance unplugged by this detach.
        gateway_down: Option<GatewayPlug>,
    },
}

impl PendingChange {
    /// The VPN type whose driver carries the operations.
    pub fn vpn_type(&self, manager: &VpnManager) -> Option<VpnType> {
        match &self.kind {
            ChangeKind::Attach { request, .. } => Some(request.vpn_type),
            ChangeKind::Detach { instance, .. } => {
                manager.instances.get(instance).map(|i| i.identity.vpn_type)
            }
        }
    }
}

/// The VPN instances of the node.
#[derive(Debug, Clone)]
pub struct VpnManager {
    settings: VpnSettings,
    instances: BTreeMap<InstanceId, Instance>,
    by_external: BTreeMap<String, InstanceId>,
    next_instance: u32,
    labels: IdAllocator,
    rds: IdAllocator,
    /// Redirect VRFs (reference §2.1 "Redirect instances"), by redirect route target, with
    /// the (VRF, classifier) pairs that redirect to each.
    redirects: BTreeMap<RouteTarget, (InstanceId, BTreeSet<(InstanceId, FlowSpecRule)>)>,
}

impl VpnManager {
    /// A manager with no instance.
    pub fn new(settings: VpnSettings) -> Self {
        VpnManager {
            settings,
            instances: BTreeMap::new(),
            by_external: BTreeMap::new(),
            next_instance: 1,
            labels: IdAllocator::new(LABEL_MIN, LABEL_MAX),
            rds: IdAllocator::new(0, u32::from(u16::MAX)),
            redirects: BTreeMap::new(),
        }
    }

    /// The instances, by internal id.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    /// The instance with this internal id.
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(&id)
    }

    /// The instance with this external id.
    pub fn instance_by_external_id(&self, id: &str) -> Option<&Instance> {
        self.by_external.get(id).and_then(|i| self.instances.get(i))
    }

    /// The labels in use (looking glass `dataplane/ids`).
    pub fn labels_in_use(&self) -> impl Iterator<Item = u32> + '_ {
        self.labels.in_use()
    }

    /// Declares the driver of a VPN type.
    pub fn set_driver(&mut self, vpn_type: VpnType, address: IpAddr, capabilities: Capabilities) {
        self.settings.dataplane_address.insert(vpn_type, address);
        self.settings.capabilities.insert(vpn_type, capabilities);
    }

    /// The VPN type of an instance.
    pub fn vpn_type_of(&self, id: InstanceId) -> Option<VpnType> {
        self.instance(id).map(|i| i.identity.vpn_type)
    }

    /// The dataplane address of a VPN type's driver.
    pub fn dataplane_address(&self, vpn_type: VpnType) -> Option<IpAddr> {
        self.settings.dataplane_address.get(&vpn_type).copied()
    }

    /// Makes the next instance id `next` (tests of id exhaustion).
    #[cfg(test)]
    pub(crate) fn set_next_instance_id(&mut self, next: u32) {
        self.next_instance = next;
    }

    /// The driver capabilities of a VPN type.
    pub fn capabilities(&self, vpn_type: VpnType) -> Option<&Capabilities> {
        self.settings.capabilities.get(&vpn_type)
    }

    fn salt(&self, id: InstanceId) -> u64 {
        self.settings.seed ^ u64::from(id.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Checks an attach against the state and gives the dataplane operations it needs; nothing
    /// is changed but identifiers reserved for it (given back by [`VpnManager::abort`]).
    pub fn plan_attach(
        &mut self,
        request: AttachRequest,
    ) -> Result<(PendingChange, Batches), VpnError> {
        let vpn_type = request.vpn_type;
        let Some(capabilities) = self.settings.capabilities.get(&vpn_type).cloned() else {
            return Err(VpnError::Client(format!(
                "No dataplane driver for VPN type {}",
                vpn_type.name()
            )));
        };
        if let Some(attract) = &request.attract_traffic {
            // reference §2.2: one to_rt in all, the same in both places when given twice, and
            // static destinations with an attract_traffic.to_rt.
            let readvertise_to = request
                .readvertise
                .as_ref()
                .map(|r| r.to_rt.clone())
                .unwrap_or_default();
            if let (Some(to), Some(first)) = (attract.to_rt, readvertise_to.first()) {
                if to != *first {
                    return Err(VpnError::Client(
                        "attract_traffic.to_rt must be the readvertise to_rt".to_string(),
                    ));
                }
            }
            if readvertise_to.len() > 1 {
                return Err(VpnError::Client(
                    "attract_traffic needs exactly one to_rt".to_string(),
                ));
            }
            if attract.to_rt.is_some() && attract.static_destination_prefixes.is_empty() {
                return Err(VpnError::Client(
                    "attract_traffic.to_rt requires static_destination_prefixes".to_string(),
                ));
            }
            if vpn_type != VpnType::Ipvpn {
                return Err(VpnError::Client(
                    "attract_traffic applies to IP-VPN instances only".to_string(),
                ));
            }
        }
        if request.readvertise.is_some() && vpn_type != VpnType::Ipvpn {
            return Err(VpnError::Client(
                "readvertise applies to IP-VPN instances only".to_string(),
            ));
        }
        let mut gateway = None;
        let linuxif = match &request.local_port.evpn {
            Some(plug) => {
                // reference §2.1: the E-VPN instance must exist, be one, and not be plugged
                // into another VRF; the VRF side is a veth named after both instances, or the
                // pre-plugged OVS port given.
                if vpn_type != VpnType::Ipvpn {
                    return Err(VpnError::Client(
                        "local_port.evpn applies to IP-VPN attachments".to_string(),
                    ));
                }
                if request.local_port.linuxif.is_some() {
                    return Err(VpnError::Client(
                        "local_port.linuxif must be empty with local_port.evpn".to_string(),
                    ));
                }
                let evi = self
                    .instance_by_external_id(&plug.id)
                    .filter(|i| i.identity.vpn_type == VpnType::Evpn)
                    .ok_or_else(|| {
                        VpnError::Client(format!("E-VPN instance {} could not be found", plug.id))
                    })?;
                let vrf = self
                    .by_external
                    .get(request.vpn_instance_id.as_str())
                    .copied()
                    .unwrap_or(InstanceId(self.next_instance));
                if let Some((_, other)) = &evi.gateway_port {
                    if *other != vrf {
                        return Err(VpnError::Client(format!(
                            "E-VPN instance {} is already plugged into another IP-VPN",
                            plug.id
                        )));
                    }
                }
                let evi_id = evi.identity.id;
                gateway = Some(GatewayPlug {
                    evi: evi_id,
                    interface: interface_name(format!("evpn{}-ipvpn{}", evi_id.0, vrf.0)),
                });
                plug.ovs_port_name
                    .clone()
                    .unwrap_or_else(|| interface_name(format!("ipvpn{}-evpn{}", vrf.0, evi_id.0)))
            }
            None => request
                .local_port
                .linuxif
                .clone()
                .ok_or_else(|| VpnError::Client("Missing parameter: 'linuxif'".to_string()))?,
        };
        if !capabilities.supports_direction(dataplane_direction(request.direction)) {
            return Err(VpnError::Client(format!(
                "Unsupported direction: {} (the {} driver supports {:?})",
                request.direction.name(),
                capabilities.driver,
                capabilities.directions
            )));
        }
        if vpn_type == VpnType::Ipvpn && request.ip_address.is_none() {
            return Err(VpnError::Client(
                "Missing parameter: 'ip_address'".to_string(),
            ));
        }
        let external = request.vpn_instance_id.as_str().to_string();
        let mut reserved_label: Option<u32> = None;
        let mut ops = Vec::new();
        let (instance_id, new_instance) = match self.by_external.get(&external) {
            Some(&id) => {
                let existing = self.instances.get(&id).ok_or_else(|| {
                    VpnError::Client(format!("VPN {external} could not be found"))
                })?;
                if existing.identity.vpn_type != vpn_type {
                    return Err(VpnError::Client(format!(
                        "VPN instance {external} is of type {}, not {}",
                        existing.identity.vpn_type.name(),
                        vpn_type.name()
                    )));
                }
                (id, None)
            }
            None => {
                // reference §2.1: ids are never reused; past 2^32-1 no instance can be made.
                if self.next_instance == u32::MAX {
                    return Err(VpnError::Exhausted(
                        "no VPN instance id left (MaxInstanceIDReached)".to_string(),
                    ));
                }
                let id = InstanceId(self.next_instance);
                let tunnel = match request.vni {
                    Some(vni) => {
                        let used = self.instances.values().any(|i| {
                            i.identity.forced_vni && i.identity.tunnel == TunnelId::Vni(vni)
                        });
                        if used {
                            return Err(VpnError::Client(format!(
                                "VNI {} is already used by another VPN instance",
                                vni.value()
                            )));
                        }
                        TunnelId::Vni(vni)
                    }
                    None => {
                        let label = self
                            .labels
                            .allocate()
                            .map_err(|_| VpnError::Exhausted("no MPLS label left".to_string()))?;
                        reserved_label = Some(label);
                        let vxlan = capabilities
                            .encapsulations
                            .contains(&crate::dataplane::Encapsulation::VXLAN);
                        match (vxlan, crate::wire::Vni::new(label), Label::new(label)) {
                            (true, Some(vni), _) => TunnelId::Vni(vni),
                            (_, _, Some(l)) => TunnelId::Label(l),
                            _ => return Err(VpnError::Exhausted("no MPLS label left".to_string())),
                        }
                    }
                };
                let rd_number = match self.rds.allocate() {
                    Ok(n) => u16::try_from(n).unwrap_or(u16::MAX),
                    Err(_) => {
                        if let Some(l) = reserved_label {
                            self.labels.release(l);
                        }
                        return Err(VpnError::Exhausted("no RD number left".to_string()));
                    }
                };
                let dataplane_address = self
                    .settings
                    .dataplane_address
                    .get(&vpn_type)
                    .copied()
                    .unwrap_or(IpAddr::V4(self.settings.bgp_address));
                let identity = InstanceIdentity {
                    id,
                    external_id: external.clone(),
                    vpn_type,
                    tunnel,
                    forced_vni: request.vni.is_some(),
                    rd_number,
                    bgp_address: self.settings.bgp_address,
                    dataplane_address,
                    gateway_ip: request.gateway_ip,
                    subnet_len: request.ip_address.as_ref().map(|ip| ip.prefix.prefix()),
                    linuxbr: request.linuxbr.clone(),
                };
                let mut instance = Instance::new(identity, capabilities.clone(), self.salt(id));
                instance.import_rts = request.import_rt.clone();
                instance.export_rts = request.export_rt.clone();
                // Only the first attach's readvertise counts (reference §2.1).
                instance.readvertise = request.readvertise.clone();
                instance.attract = request.attract_traffic.clone();
                ops.push(instance.create_operation());
                (id, Some(Box::new(instance)))
            }
        };
        let mac = request.mac_address;
        let key: EndpointKey = (mac, request.ip_address.as_ref().map(|ip| ip.text.clone()));
        // What the attach meets in the instance, read once.
        let (error, refresh, existing_label, needs_endpoint_rd) = {
            let instance: &Instance = match &new_instance {
                Some(i) => i,
                None => self.instances.get(&instance_id).ok_or_else(|| {
                    VpnError::Client(format!("VPN {external} could not be found"))
                })?,
            };
            // A MAC is bound to one port; an IP to one MAC (reference §2.2 steps 1, 2).
            let conflict = instance
                .macs
                .get(&mac)
                .and_then(|plugged| port_conflict(plugged, &request.local_port));
            let ip_taken = request
                .ip_address
                .as_ref()
                .filter(|ip| {
                    instance
                        .endpoints
                        .keys()
                        .any(|(m, t)| t.as_deref() == Some(ip.text.as_str()) && *m != mac)
                })
                .map(|ip| {
                    VpnError::Client(format!(
                        "Inconsistent endpoint info: {} is bound to another MAC address",
                        ip.text
                    ))
                });
            let refresh = instance.endpoints.contains_key(&key);
            // Every IP-VPN endpoint that receives traffic has its own RD (reference §2.2
            // step 5): its subnet route and its readvertisements use it.
            let needs_endpoint_rd = !refresh
                && request.direction.forwards_to_port()
                && (vpn_type == VpnType::Ipvpn
                    || instance
                        .needs_endpoint_rd(request.ip_address.as_ref(), request.advertise_subnet));
            (
                conflict.or(ip_taken),
                refresh,
                instance.macs.get(&mac).map(|m| m.label),
                needs_endpoint_rd,
            )
        };
        if let Some(e) = error {
            self.release_reserved(reserved_label, new_instance.as_deref());
            return Err(e);
        }
        let new_mac_label = if existing_label.is_some() {
            None
        } else {
            match self.labels.allocate().ok().and_then(Label::new) {
                Some(l) => Some(l),
                None => {
                    self.release_reserved(reserved_label, new_instance.as_deref());
                    return Err(VpnError::Exhausted("no MPLS label left".to_string()));
                }
            }
        };
        let endpoint_rd = if needs_endpoint_rd {
            match self.rds.allocate() {
                Ok(n) => Some(u16::try_from(n).unwrap_or(u16::MAX)),
                Err(_) => {
                    if let Some(l) = new_mac_label {
                        self.labels.release(l.value());
                    }
                    self.release_reserved(reserved_label, new_instance.as_deref());
                    return Err(VpnError::Exhausted("no RD number left".to_string()));
                }
            }
        } else {
            None
        };
        if !refresh {
            let label = new_mac_label
                .or(existing_label)
                .ok_or_else(|| VpnError::Exhausted("no MPLS label left".to_string()))?;
            ops.push(Operation::VifPlugged {
                instance: instance_id,
                port: LocalPort {
                    interface: linuxif.clone(),
                    mac,
                    ip: request.ip_address.as_ref().map(|ip| ip.prefix),
                    label: Some(label),
                    direction: dataplane_direction(request.direction),
                },
            });
        }
        let mut batches: Batches = vec![(vpn_type, ops)];
        if let (Some(g), false) = (&gateway, refresh) {
            batches.push((
                VpnType::Evpn,
                vec![Operation::SetGatewayPort {
                    instance: g.evi,
                    interface: g.interface.clone(),
                    gateway_ip: request
                        .gateway_ip
                        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                }],
            ));
        }
        Ok((
            PendingChange {
                kind: ChangeKind::Attach {
                    request: Box::new(request),
                    new_instance,
                    instance: instance_id,
                    new_mac_label,
                    endpoint_rd,
                    refresh,
                    linuxif,
                    gateway: gateway.clone().filter(|_| !refresh),
                },
            },
            batches,
        ))
    }

    fn release_reserved(&mut self, label: Option<u32>, new_instance: Option<&Instance>) {
        if let Some(l) = label {
            self.labels.release(l);
        }
        if let Some(i) = new_instance {
            self.rds.release(u32::from(i.identity.rd_number));
        }
    }

    /// Checks a detach against the state and gives the dataplane operations it needs
    /// (reference §2.2 `vif_unplugged`, §3.3): without an IP on an E-VPN, every endpoint of the
    /// MAC goes.
    pub fn plan_detach(
        &self,
        request: DetachRequest,
    ) -> Result<(PendingChange, Batches), VpnError> {
        let external = request.vpn_instance_id.as_str();
        let not_found = || VpnError::Client(format!("VPN {external} could not be found"));
        let id = *self.by_external.get(external).ok_or_else(not_found)?;
        let instance = self.instances.get(&id).ok_or_else(not_found)?;
        if instance.identity.vpn_type != request.vpn_type {
            return Err(VpnError::Client(format!(
                "VPN instance {external} is of type {}, not {}",
                instance.identity.vpn_type.name(),
                request.vpn_type.name()
            )));
        }
        let mac = request.mac_address;
        let Some(plugged) = instance.macs.get(&mac) else {
            return Err(VpnError::Client(format!(
                "Endpoint {mac} not plugged yet in VPN {external}"
            )));
        };
        // The port of a detach is not compared with the attach's: the OVS agent attaches with
        // `ovs` details and detaches with `linuxif` alone (reference §3.4 a and e), and
        // BaGPipe-BGP's `vif_unplugged` looks at the MAC and IP only.
        let keys: Vec<EndpointKey> = match &request.ip_address {
            Some(ip) => {
                let key = (mac, Some(ip.text.clone()));
                if !instance.endpoints.contains_key(&key) {
                    let other = instance
                        .endpoints
                        .keys()
                        .any(|(m, t)| t.as_deref() == Some(ip.text.as_str()) && *m != mac);
                    return Err(VpnError::Client(if other {
                        format!(
                            "Inconsistent endpoint info: {} is bound to another MAC address",
                            ip.text
                        )
                    } else {
                        format!("Endpoint {mac} {} not plugged in VPN {external}", ip.text)
                    }));
                }
                vec![key]
            }
            None if request.vpn_type == VpnType::Ipvpn => {
                return Err(VpnError::Client(
                    "Missing parameter: 'ip_address'".to_string(),
                ))
            }
            None => instance
                .endpoints
                .keys()
                .filter(|(m, _)| *m == mac)
                .cloned()
                .collect(),
        };
        let mut ops = Vec::new();
        let remaining_on_port = |linuxif: &str, removed: &[EndpointKey]| {
            instance.endpoints.keys().any(|k| {
                !removed.contains(k)
                    && instance
                        .macs
                        .get(&k.0)
                        .is_some_and(|m| m.linuxif == linuxif)
            })
        };
        for (n, key) in keys.iter().enumerate() {
            let Some(endpoint) = instance.endpoints.get(key) else {
                continue;
            };
            let last_endpoint = !remaining_on_port(&plugged.linuxif, &keys[..=n]);
            ops.push(Operation::VifUnplugged {
                instance: id,
                port: LocalPort {
                    interface: plugged.linuxif.clone(),
                    mac,
                    ip: endpoint.ip.as_ref().map(|ip| ip.prefix),
                    label: Some(plugged.label),
                    direction: dataplane_direction(endpoint.direction),
                },
                last_endpoint,
            });
        }
        if instance.endpoints.len() == keys.len() {
            // The last endpoint: the instance goes.
            let mut copy = instance.clone();
            ops.extend(copy.withdraw_all());
            ops.push(Operation::CleanupInstance { instance: id });
        }
        // The E-VPN instance plugged through this port is unplugged when the VRF keeps no
        // endpoint on it (reference §2.1).
        let port_left = instance.endpoints.keys().any(|k| {
            !keys.contains(k)
                && instance
                    .macs
                    .get(&k.0)
                    .is_some_and(|m| m.linuxif == plugged.linuxif)
        });
        let gateway_down = if plugged.local_port.evpn.is_some() && !port_left {
            self.instances
                .values()
                .find_map(|evi| match &evi.gateway_port {
                    Some((interface, vrf)) if *vrf == id => Some(GatewayPlug {
                        evi: evi.identity.id,
                        interface: interface.clone(),
                    }),
                    _ => None,
                })
        } else {
            None
        };
        let mut batches: Batches = vec![(request.vpn_type, ops)];
        if let Some(g) = &gateway_down {
            batches.push((
                VpnType::Evpn,
                vec![Operation::GatewayPortDown {
                    instance: g.evi,
                    interface: g.interface.clone(),
                }],
            ));
        }
        Ok((
            PendingChange {
                kind: ChangeKind::Detach {
                    instance: id,
                    keys,
                    gateway_down,
                },
            },
            batches,
        ))
    }

    /// The dataplane accepted the change: apply it to the instances and the route table.
    /// Returns further dataplane operations (routes already received for a new instance arrive
    /// through the route table's events instead).
    pub fn commit(&mut self, rib: &mut Rib, change: PendingChange) -> Batches {
        match change.kind {
            ChangeKind::Attach {
                request,
                new_instance,
                instance,
                new_mac_label,
                endpoint_rd,
                refresh,
                linuxif,
                gateway,
            } => {
                if let Some(g) = gateway {
                    if let Some(evi) = self.instances.get_mut(&g.evi) {
                        evi.gateway_port = Some((g.interface, instance));
                    }
                }
                if let Some(new) = new_instance {
                    self.next_instance = self.next_instance.max(instance.0.saturating_add(1));
                    self.by_external
                        .insert(new.identity.external_id.clone(), instance);
                    self.instances.insert(instance, *new);
                    if let Some(i) = self.instances.get(&instance) {
                        subscribe_all(rib, i, &i.import_rts);
                        if let Some(r) = &i.readvertise {
                            subscribe_all(rib, i, &r.from_rt);
                        }
                        if let Some((nlri, attrs)) = i.multicast_route() {
                            let _ = rib.advertise(instance, nlri.clone(), Arc::new(attrs));
                            if let Some(i) = self.instances.get_mut(&instance) {
                                i.multicast_route = Some(nlri);
                            }
                        }
                    }
                }
                self.attach_endpoint(
                    rib,
                    instance,
                    *request,
                    (new_mac_label, endpoint_rd, refresh),
                    linuxif,
                );
                Vec::new()
            }
            ChangeKind::Detach {
                instance,
                keys,
                gateway_down,
            } => {
                if let Some(g) = gateway_down {
                    if let Some(evi) = self.instances.get_mut(&g.evi) {
                        evi.gateway_port = None;
                    }
                }
                let ops = self.detach_endpoints(rib, instance, &keys);
                if ops.is_empty() {
                    Vec::new()
                } else {
                    vec![(VpnType::Ipvpn, ops)]
                }
            }
        }
    }

    /// The dataplane refused the change: give back what was reserved; the operations undo what
    /// the driver may have done of it (a created instance).
    pub fn abort(&mut self, change: PendingChange) -> Batches {
        match change.kind {
            ChangeKind::Attach {
                new_instance,
                new_mac_label,
                endpoint_rd,
                instance,
                request,
                gateway,
                ..
            } => {
                let mut undo: Batches = Vec::new();
                if let Some(g) = gateway {
                    undo.push((
                        VpnType::Evpn,
                        vec![Operation::GatewayPortDown {
                            instance: g.evi,
                            interface: g.interface,
                        }],
                    ));
                }
                if let Some(l) = new_mac_label {
                    self.labels.release(l.value());
                }
                if let Some(n) = endpoint_rd {
                    self.rds.release(u32::from(n));
                }
                if let Some(new) = new_instance {
                    self.release_instance_ids(&new);
                    undo.push((
                        request.vpn_type,
                        vec![Operation::CleanupInstance { instance }],
                    ));
                }
                undo
            }
            ChangeKind::Detach { .. } => Vec::new(),
        }
    }

    fn release_instance_ids(&mut self, instance: &Instance) {
        self.rds.release(u32::from(instance.identity.rd_number));
        if !instance.identity.forced_vni {
            let value = match instance.identity.tunnel {
                TunnelId::Vni(v) => v.value(),
                TunnelId::Label(l) => l.value(),
            };
            self.labels.release(value);
        }
    }

    fn attach_endpoint(
        &mut self,
        rib: &mut Rib,
        id: InstanceId,
        request: AttachRequest,
        (new_mac_label, endpoint_rd, refresh): (Option<Label>, Option<u16>, bool),
        linuxif: String,
    ) {
        let Some(instance) = self.instances.get_mut(&id) else {
            return;
        };
        // Every attach re-applies the route targets and the description (reference §2.1).
        let old_imports = instance.import_rts.clone();
        let export_changed = instance.export_rts != request.export_rt;
        instance.description = request
            .instance_description
            .clone()
            .or(instance.description.take());
        instance.export_rts = request.export_rt.clone();
        instance.import_rts = request.import_rt.clone();
        let added: Vec<RouteTarget> = request
            .import_rt
            .iter()
            .filter(|rt| !old_imports.contains(rt))
            .copied()
            .collect();
        let removed: Vec<RouteTarget> = old_imports
            .iter()
            .filter(|rt| !request.import_rt.contains(rt))
            .copied()
            .collect();
        let family = instance.identity.family();
        for rt in &removed {
            rib.unsubscribe(id, Subscription::new(family, *rt));
            if family == Family::VPNV4 {
                rib.unsubscribe(id, Subscription::new(Family::VPNV6, *rt));
                rib.unsubscribe(id, Subscription::new(Family::FLOWSPEC_VPNV4, *rt));
            }
        }
        subscribe_all(rib, instance, &added);
        let mac = request.mac_address;
        if let Some(label) = new_mac_label {
            instance.macs.insert(
                mac,
                PluggedMac {
                    label,
                    local_port: request.local_port.clone(),
                    linuxif,
                    lb_order: request.lb_consistent_hash_order,
                },
            );
        }
        let key: EndpointKey = (mac, request.ip_address.as_ref().map(|ip| ip.text.clone()));
        let local_pref = request.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
        let rd_number = if refresh {
            instance.endpoints.get(&key).and_then(|e| e.rd_number)
        } else {
            endpoint_rd
        };
        let label = instance.macs.get(&mac).map(|m| m.label);
        // RFC 7432 §15.1: a MAC that peers advertise moved here; our route carries a higher
        // sequence number than theirs, so that it wins everywhere.
        let mobility = if refresh {
            instance.endpoints.get(&key).and_then(|e| e.mobility)
        } else if instance.identity.vpn_type == VpnType::Evpn {
            instance
                .remote_mac_sequence(mac)
                .map(|seq| seq.saturating_add(1))
        } else {
            None
        };
        let route = match (request.direction.forwards_to_port(), label) {
            (true, Some(label)) => instance.endpoint_route(&EndpointRouteSpec {
                mac,
                ip: request.ip_address.as_ref(),
                advertise_subnet: request.advertise_subnet,
                label,
                endpoint_rd: rd_number,
                lb_order: request.lb_consistent_hash_order,
                local_pref,
                mobility,
            }),
            _ => None,
        };
        let nlri = route.as_ref().map(|(n, _)| n.clone());
        if let Some((nlri, attrs)) = route {
            let _ = rib.advertise(id, nlri, Arc::new(attrs));
        }
        instance.endpoints.insert(
            key.clone(),
            Endpoint {
                ip: request.ip_address.clone(),
                route: nlri,
                rd_number,
                local_pref,
                direction: request.direction,
                description: request.description.clone(),
                mobility,
            },
        );
        if !refresh {
            for (nlri, attrs) in instance.readvertise_via(&key) {
                let _ = rib.advertise(id, nlri, Arc::new(attrs));
            }
        }
        // A MAC with an IP replaces its MAC-only endpoint (reference §2.2 step 6).
        if key.1.is_some() {
            let wildcard = (mac, None);
            if let Some(old) = instance.endpoints.remove(&wildcard) {
                if let Some(nlri) = &old.route {
                    rib.withdraw(id, nlri);
                }
                if let Some(n) = old.rd_number {
                    self.rds.release(u32::from(n));
                }
            }
        }
        if export_changed {
            self.readvertise_all(rib, id);
        }
    }

    /// Re-advertises every route of an instance with its current export route targets.
    fn readvertise_all(&mut self, rib: &mut Rib, id: InstanceId) {
        let Some(instance) = self.instances.get(&id) else {
            return;
        };
        if let Some((nlri, attrs)) = instance.multicast_route() {
            let _ = rib.advertise(id, nlri, Arc::new(attrs));
        }
        for ((mac, _), endpoint) in &instance.endpoints {
            let (Some(old), Some(plugged)) = (&endpoint.route, instance.macs.get(mac)) else {
                continue;
            };
            let Some((nlri, attrs)) = instance.endpoint_route(&EndpointRouteSpec {
                mac: *mac,
                ip: endpoint.ip.as_ref(),
                advertise_subnet: endpoint_advertises_subnet(endpoint, old),
                label: plugged.label,
                endpoint_rd: endpoint.rd_number,
                lb_order: plugged.lb_order,
                local_pref: endpoint.local_pref,
                mobility: endpoint.mobility,
            }) else {
                continue;
            };
            let _ = rib.advertise(id, nlri, Arc::new(attrs));
        }
    }

    fn detach_endpoints(
        &mut self,
        rib: &mut Rib,
        id: InstanceId,
        keys: &[EndpointKey],
    ) -> Vec<Operation> {
        let Some(instance) = self.instances.get_mut(&id) else {
            return Vec::new();
        };
        let mut released_rds = Vec::new();
        for key in keys {
            for nlri in instance.unreadvertise_via(key) {
                rib.withdraw(id, &nlri);
            }
            if let Some(endpoint) = instance.endpoints.remove(key) {
                if let Some(nlri) = &endpoint.route {
                    rib.withdraw(id, nlri);
                }
                released_rds.extend(endpoint.rd_number);
            }
            let mac_left = instance.endpoints.keys().any(|(m, _)| *m == key.0);
            if !mac_left {
                if let Some(plugged) = instance.macs.remove(&key.0) {
                    self.labels.release(plugged.label.value());
                }
            }
        }
        for n in released_rds {
            self.rds.release(u32::from(n));
        }
        let empty = self
            .instances
            .get(&id)
            .is_some_and(|i| i.endpoints.is_empty());
        if empty {
            if let Some(mut instance) = self.instances.remove(&id) {
                // Its remote state went with CleanupInstance.
                let _ = instance.withdraw_all();
                rib.remove_instance(id);
                self.by_external.remove(&instance.identity.external_id);
                self.release_instance_ids(&instance);
            }
            // Its redirections went with CleanupInstance; the redirect VRFs it alone used go.
            let used: Vec<(RouteTarget, FlowSpecRule)> = self
                .redirects
                .iter()
                .flat_map(|(rt, (_, users))| {
                    users
                        .iter()
                        .filter(|(from, _)| *from == id)
                        .map(|(_, rule)| (*rt, rule.clone()))
                })
                .collect();
            let mut ops = Vec::new();
            for (rt, rule) in used {
                ops.extend(self.redirect_stop(rib, id, rule, rt, false));
            }
            return ops;
        }
        Vec::new()
    }

    /// Traffic of `from` matching `rule` goes to the redirect VRF of `target`, created on first
    /// use: external id `redirect-to-ipvpn-<rt>`, importing `target` (reference §2.1).
    fn redirect_start(
        &mut self,
        rib: &mut Rib,
        from: InstanceId,
        rule: FlowSpecRule,
        target: RouteTarget,
    ) -> Vec<Operation> {
        let mut ops = Vec::new();
        let redirect_to = match self.redirects.get(&target) {
            Some((id, _)) => *id,
            None => {
                let Some(capabilities) = self.settings.capabilities.get(&VpnType::Ipvpn).cloned()
                else {
                    return ops;
                };
                let (Ok(label), Ok(rd)) = (self.labels.allocate(), self.rds.allocate()) else {
                    return ops;
                };
                if self.next_instance == u32::MAX {
                    return ops;
                }
                let id = InstanceId(self.next_instance);
                self.next_instance = self.next_instance.saturating_add(1);
                let identity = InstanceIdentity {
                    id,
                    external_id: format!(
                        "redirect-to-ipvpn-{}",
                        target.to_string().replace(':', "_")
                    ),
                    vpn_type: VpnType::Ipvpn,
                    tunnel: Label::new(label).map_or(
                        TunnelId::Label(Label::from_low_bits(label)),
                        TunnelId::Label,
                    ),
                    forced_vni: false,
                    rd_number: u16::try_from(rd).unwrap_or(u16::MAX),
                    bgp_address: self.settings.bgp_address,
                    dataplane_address: self
                        .settings
                        .dataplane_address
                        .get(&VpnType::Ipvpn)
                        .copied()
                        .unwrap_or(IpAddr::V4(self.settings.bgp_address)),
                    gateway_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    subnet_len: Some(24),
                    linuxbr: None,
                };
                let mut instance = Instance::new(identity, capabilities, self.salt(id));
                instance.import_rts = vec![target];
                ops.push(instance.create_operation());
                subscribe_all(rib, &instance, &[target]);
                self.by_external
                    .insert(instance.identity.external_id.clone(), id);
                self.instances.insert(id, instance);
                self.redirects.insert(target, (id, BTreeSet::new()));
                id
            }
        };
        if let Some((_, users)) = self.redirects.get_mut(&target) {
            users.insert((from, rule.clone()));
        }
        ops.push(Operation::AddTrafficRedirect {
            instance: from,
            rule,
            redirect_to,
        });
        ops
    }

    /// The redirection ends; the redirect VRF goes with its last user. `undo` tells whether the
    /// redirection itself is to be removed (not when its VRF is gone already).
    fn redirect_stop(
        &mut self,
        rib: &mut Rib,
        from: InstanceId,
        rule: FlowSpecRule,
        target: RouteTarget,
        undo: bool,
    ) -> Vec<Operation> {
        let mut ops = Vec::new();
        let Some((redirect_to, users)) = self.redirects.get_mut(&target) else {
            return ops;
        };
        let redirect_to = *redirect_to;
        users.remove(&(from, rule.clone()));
        let unused = users.is_empty();
        if undo {
            ops.push(Operation::RemoveTrafficRedirect {
                instance: from,
                rule,
                redirect_to,
            });
        }
        if unused {
            self.redirects.remove(&target);
            if let Some(mut instance) = self.instances.remove(&redirect_to) {
                ops.extend(instance.withdraw_all());
                ops.push(Operation::CleanupInstance {
                    instance: redirect_to,
                });
                rib.remove_instance(redirect_to);
                self.by_external.remove(&instance.identity.external_id);
                self.release_instance_ids(&instance);
            }
        }
        ops
    }

    /// A route event for an instance, from the route table.
    pub fn route_event(
        &mut self,
        rib: &mut Rib,
        event: InstanceEvent<crate::wire::nlri::Nlri, RouteAttributes>,
    ) -> Option<(VpnType, RouteOutcome)> {
        let id = event.instance;
        let instance = self.instances.get_mut(&id)?;
        let vpn_type = instance.identity.vpn_type;
        let mut outcome = instance.route_event(event.event);
        for (nlri, attrs) in std::mem::take(&mut outcome.advertise) {
            let _ = rib.advertise(id, nlri, Arc::new(attrs));
        }
        for nlri in std::mem::take(&mut outcome.withdraw) {
            rib.withdraw(id, &nlri);
        }
        for change in std::mem::take(&mut outcome.redirects) {
            let ops = match change {
                RedirectChange::Start { rule, target } => {
                    self.redirect_start(rib, id, rule, target)
                }
                RedirectChange::Stop { rule, target } => {
                    self.redirect_stop(rib, id, rule, target, true)
                }
            };
            outcome.ops.extend(ops);
        }
        Some((vpn_type, outcome))
    }
}

fn endpoint_advertises_subnet(endpoint: &Endpoint, route: &crate::wire::nlri::Nlri) -> bool {
    match (route, &endpoint.ip) {
        (crate::wire::nlri::Nlri::Vpn(v), Some(ip)) => {
            let host_len = if ip.prefix.is_ipv4() { 32 } else { 128 };
            v.prefix.len() != host_len
        }
        _ => false,
    }
}

/// Subscribes an instance to its family (and FlowSpec-VPN for a VRF) for each of `rts`
/// (reference §2.2 construction).
fn subscribe_all(rib: &mut Rib, instance: &Instance, rts: &[RouteTarget]) {
    let id = instance.identity.id;
    let family = instance.identity.family();
    for rt in rts {
        rib.subscribe(id, Subscription::new(family, *rt));
        if family == Family::VPNV4 {
            // A VRF carries VPN-IPv6 routes too (RFC 4659), and FlowSpec-VPN for redirects.
            rib.subscribe(id, Subscription::new(Family::VPNV6, *rt));
            rib.subscribe(id, Subscription::new(Family::FLOWSPEC_VPNV4, *rt));
        }
    }
}
