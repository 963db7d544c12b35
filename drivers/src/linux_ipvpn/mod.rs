//! The Linux IP-VPN driver: one VRF device and routing table per VRF, kernel MPLS routes for
//! local labels, MPLS-encapsulated (multipath) routes for remote prefixes, programmed over
//! rtnetlink (reference §6.5, BaGPipe-BGP `mpls_linux_dataplane.py`).
//!
//! | operation | kernel state |
//! |---|---|
//! | first instance | `net.mpls.platform_labels` = 2^20 - 1, `net.mpls.conf.<mpls_interface>.input` and `net.mpls.conf.lo.input` = 1, `net.ipv4.ip_forward` = 1 |
//! | create instance | VRF device `bvrf-<n>` bound to table `1000 + n` (`n` the instance id, or the next free one), aliased `bagpipe:<vpn_instance_id>`, up; or the VRF with that alias an earlier run left, adopted with its routes; for IPv4 and IPv6 the rules `prio 100 iif/oif <vrf> lookup <table>` and `prio 101 iif/oif <vrf> unreachable` |
//! | vif plugged | the interface enslaved to the VRF device and up; the gateway address `<gateway>/<plen>` on it; `ip neigh replace <vm ip> lladdr <mac> dev <port> nud permanent`; `proxy_arp` and `proxy_arp_pvlan` on; `ip -f mpls route replace <port label> via inet <vm ip> dev <port>` (or `dev <vrf>`, a lookup in the VRF, for a port without an address) |
//! | vif unplugged | the MPLS route and the neighbour removed; proxy ARP off; for the port's last endpoint the gateway address removed and the interface down and out of the VRF |
//! | remote prefix | `ip route replace <prefix> table <table> encap mpls <label> via <remote PE> dev <mpls_interface>`; several next hops for a prefix make one multipath route (ECMP); removing the last one removes the route |
//! | cleanup instance | routes, ports, rules, VRF device removed |
//! | cleanup all | every `bvrf-*` device and every MPLS route removed |
//! | remove unclaimed | `bvrf-*` devices no instance uses, the driver's routes for prefixes no instance holds, foreign ports in adopted VRFs, MPLS routes of labels no port holds |
//!
//! Every request is built by a pure function ([`messages`], [`plan`], [`create_requests`],
//! [`cleanup_requests`]); the driver keeps the state and sends the requests through the same
//! batching netlink client as the E-VPN driver. It never runs `ip`.
//!
//! Differences from BaGPipe-BGP, known and accepted: FlowSpec traffic redirection is not
//! supported; a VRF is found again after a restart by its alias (see [`placement`]).

pub mod messages;
pub mod placement;
mod sweep;
pub mod sysctl;

use std::collections::{BTreeMap, BTreeSet};

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    ApplyError, Capabilities, DataplaneDriver, Destination, Direction, DriverError, Encapsulation,
    InstanceSpec, LocalPort, Operation, OperationFailure, RemoteEndpoint,
};
use bagpipe_core::rib::InstanceId;
use netlink_packet_route::AddressFamily;

use crate::linux::netlink::{self, Netlink, Request};
use messages::{Change, IpvpnRequest, MplsNextHop, MplsTarget, Prefix, ENODEV};
use placement::{ExistingVrf, VrfChoice, VrfPlacement};

/// The driver's name, in capabilities and errors.
pub const DRIVER_NAME: &str = "linux";
/// Prefix of the VRF devices: `bvrf-<instance id>`, as BaGPipe-BGP names them.
pub const VRF_PREFIX: &str = "bvrf-";
/// The routing table of instance `n` is `TABLE_BASE + n`.
pub const TABLE_BASE: u32 = 1000;

/// The driver's configuration (`[DATAPLANE_DRIVER_IPVPN]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinuxIpvpnConfig {
    /// The interface MPLS packets leave by (`mpls_interface`); without it the kernel chooses by
    /// the remote PE's address.
    pub mpls_interface: Option<String>,
}

/// The VRF device of an instance.
pub fn vrf_name(instance: InstanceId) -> String {
    format!("{VRF_PREFIX}{}", instance.0)
}

/// The routing table of an instance.
pub fn vrf_table(instance: InstanceId) -> u32 {
    TABLE_BASE.saturating_add(instance.0)
}

/// What the driver holds for one instance, which [`DataplaneDriver::reconcile`] programs again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceState {
    /// The instance as created.
    pub spec: InstanceSpec,
    /// The VRF device (looking glass `vrf_if`).
    pub vrf_if: String,
    /// Its interface index.
    pub vrf_index: u32,
    /// Its routing table.
    pub table: u32,
    /// Local ports.
    pub ports: BTreeSet<LocalPort>,
    /// Remote prefixes and their next hops, by load-balancing order.
    pub routes: BTreeMap<Prefix, BTreeSet<(u32, MplsNextHop)>>,
}

impl InstanceState {
    /// The state of a freshly created (or adopted) instance whose VRF device is at `placement`
    /// with index `vrf_index`.
    pub fn new(spec: InstanceSpec, placement: VrfPlacement, vrf_index: u32) -> Self {
        InstanceState {
            vrf_if: placement.name,
            table: placement.table,
            spec,
            vrf_index,
            ports: BTreeSet::new(),
            routes: BTreeMap::new(),
        }
    }

    /// Where its VRF is.
    pub fn placement(&self) -> VrfPlacement {
        VrfPlacement {
            name: self.vrf_if.clone(),
            table: self.table,
        }
    }

    fn hops(&self, prefix: &Prefix) -> Vec<MplsNextHop> {
        self.routes
            .get(prefix)
            .map(|set| set.iter().map(|(_, nh)| *nh).collect())
            .unwrap_or_default()
    }
}

/// The requests creating an instance's VRF device at `placement` (aliased with its VPN's id) and
/// its rules.
pub fn create_requests(spec: &InstanceSpec, placement: &VrfPlacement) -> Vec<IpvpnRequest> {
    let VrfPlacement { name, table } = placement;
    let alias = placement::vrf_alias(&spec.external_id);
    let mut out = vec![messages::add_vrf(name, *table, &alias)];
    out.extend(rule_requests(placement));
    out
}

/// The rules of a VRF (adding one that exists is tolerated).
fn rule_requests(placement: &VrfPlacement) -> Vec<IpvpnRequest> {
    let mut out = messages::vrf_rules(Change::Add, &placement.name, placement.table, false);
    out.extend(messages::vrf_rules(
        Change::Add,
        &placement.name,
        placement.table,
        true,
    ));
    out
}

/// The requests removing everything of an instance: its routes, its ports' labels and
/// enslavement, its rules, its VRF device.
pub fn cleanup_requests(state: &InstanceState) -> Vec<IpvpnRequest> {
    let mut out: Vec<IpvpnRequest> = state
        .routes
        .keys()
        .map(|p| messages::remote_route(state.table, *p, &[], None))
        .collect();
    for port in &state.ports {
        if let Some(label) = port.label {
            out.push(messages::mpls_route(
                Change::Remove,
                label.value(),
                MplsTarget::Vrf((state.vrf_index, &state.vrf_if)),
            ));
        }
        out.push(messages::set_master(&port.interface, None));
    }
    out.extend(messages::vrf_rules(
        Change::Remove,
        &state.vrf_if,
        state.table,
        false,
    ));
    out.extend(messages::vrf_rules(
        Change::Remove,
        &state.vrf_if,
        state.table,
        true,
    ));
    out.push(messages::delete_link(&state.vrf_if));
    out
}

/// The interfaces a plan refers to by index, looked up by the driver beforehand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interfaces<'a> {
    /// The MPLS interface's index and name, when configured.
    pub mpls: Option<(u32, &'a str)>,
    /// The index of the operation's port (plug, unplug), when it exists.
    pub port: Option<u32>,
}

/// The requests plugging `port` into the instance's VRF (reference §6.5 `vif_plugged`): the port
/// enslaved and up, the subnet's gateway address on it (the VM's ARP for its gateway is
/// answered, its traffic routed in the VRF), a permanent neighbour entry for the VM, and the
/// MPLS route popping the port's label straight to the VM. Without the port's index (the
/// interface is missing) only what needs no index is sent; without the VM's address the label
/// pops into the VRF.
fn plug_requests(state: &InstanceState, port: &LocalPort, index: Option<u32>) -> Vec<IpvpnRequest> {
    let vrf = (state.vrf_index, state.vrf_if.as_str());
    let mut out = vec![messages::set_master(&port.interface, Some(vrf))];
    let port_link = index.map(|i| (i, port.interface.as_str()));
    if let Some(link) = port_link {
        if let Some(gateway) = state.spec.gateway {
            out.push(messages::gateway_address(
                Change::Add,
                link,
                gateway.ip(),
                gateway.prefix(),
            ));
        }
        if let Some(ip) = port.ip {
            out.push(messages::port_neighbour(
                Change::Add,
                link,
                ip.ip(),
                port.mac.0,
            ));
        }
    }
    if let Some(label) = port.label {
        let target = match (port.ip, port_link) {
            (Some(ip), Some(link)) => MplsTarget::Vm {
                ip: ip.ip(),
                port: link,
            },
            _ => MplsTarget::Vrf(vrf),
        };
        out.push(messages::mpls_route(Change::Add, label.value(), target));
    }
    out
}

/// The requests programming again an instance's ports and routes (after its VRF device and
/// rules): what [`DataplaneDriver::reconcile`] sends. `port_index` gives each port's index.
pub fn restore_requests(
    state: &InstanceState,
    mpls_interface: Option<(u32, &str)>,
    port_index: impl Fn(&str) -> Option<u32>,
) -> Vec<IpvpnRequest> {
    let mut out = Vec::new();
    for port in &state.ports {
        out.extend(plug_requests(state, port, port_index(&port.interface)));
    }
    for prefix in state.routes.keys() {
        out.push(messages::remote_route(
            state.table,
            *prefix,
            &state.hops(prefix),
            mpls_interface,
        ));
    }
    out
}

fn apply_settings(settings: &[sysctl::Setting]) -> Result<(), DriverError> {
    settings.iter().try_for_each(sysctl::Setting::apply)
}

fn unsupported(what: &str) -> DriverError {
    DriverError::Unsupported {
        driver: DRIVER_NAME.to_string(),
        what: what.to_string(),
    }
}

fn route_parts(endpoint: &RemoteEndpoint) -> Result<(Prefix, MplsNextHop), DriverError> {
    let Destination::Prefix(network) = endpoint.destination else {
        return Err(unsupported("MAC destinations (E-VPN only)"));
    };
    let label = endpoint
        .next_hop
        .id
        .label()
        .ok_or_else(|| DriverError::InvalidArgument {
            what: endpoint.next_hop.id.to_string(),
            reason: "an IP-VPN route needs an MPLS label".to_string(),
        })?;
    Ok((
        Prefix {
            addr: network.network(),
            len: network.prefix(),
        },
        MplsNextHop {
            remote_pe: endpoint.next_hop.remote_pe,
            label: label.value(),
        },
    ))
}

/// The requests for one operation on an existing instance, updating its state. `CreateInstance`
/// and `CleanupInstance` are the driver's ([`create_requests`], [`cleanup_requests`]).
pub fn plan(
    state: &mut InstanceState,
    op: &Operation,
    interfaces: Interfaces<'_>,
) -> Result<Vec<IpvpnRequest>, DriverError> {
    let mpls_interface = interfaces.mpls;
    let vrf = (state.vrf_index, state.vrf_if.as_str());
    match op {
        Operation::VifPlugged { port, .. } => {
            let out = plug_requests(state, port, interfaces.port);
            state.ports.insert(port.clone());
            Ok(out)
        }
        Operation::VifUnplugged {
            port,
            last_endpoint,
            ..
        } => {
            let mut out = Vec::new();
            if let Some(label) = port.label {
                out.push(messages::mpls_route(
                    Change::Remove,
                    label.value(),
                    MplsTarget::Vrf(vrf),
                ));
            }
            let port_link = interfaces.port.map(|i| (i, port.interface.as_str()));
            if let (Some(link), Some(ip)) = (port_link, port.ip) {
                out.push(messages::port_neighbour(
                    Change::Remove,
                    link,
                    ip.ip(),
                    port.mac.0,
                ));
            }
            state.ports.remove(port);
            let still_used = state.ports.iter().any(|p| p.interface == port.interface);
            if *last_endpoint || !still_used {
                if let (Some(link), Some(gateway)) = (port_link, state.spec.gateway) {
                    out.push(messages::gateway_address(
                        Change::Remove,
                        link,
                        gateway.ip(),
                        gateway.prefix(),
                    ));
                }
                out.push(messages::set_master(&port.interface, None));
            }
            Ok(out)
        }
        Operation::SetupRemoteEndpoint { endpoint, .. } => {
            let (prefix, hop) = route_parts(endpoint)?;
            let set = state.routes.entry(prefix).or_default();
            set.retain(|(_, h)| *h != hop);
            set.insert((endpoint.lb_consistent_hash_order, hop));
            let hops = state.hops(&prefix);
            Ok(vec![messages::remote_route(
                state.table,
                prefix,
                &hops,
                mpls_interface,
            )])
        }
        Operation::RemoveRemoteEndpoint { endpoint, .. } => {
            let (prefix, hop) = route_parts(endpoint)?;
            let Some(set) = state.routes.get_mut(&prefix) else {
                return Ok(Vec::new());
            };
            let before = set.len();
            set.retain(|(_, h)| *h != hop);
            if set.len() == before {
                return Ok(Vec::new());
            }
            if set.is_empty() {
                state.routes.remove(&prefix);
            }
            let hops = state.hops(&prefix);
            Ok(vec![messages::remote_route(
                state.table,
                prefix,
                &hops,
                mpls_interface,
            )])
        }
        Operation::AddFloodEntry { .. } | Operation::RemoveFloodEntry { .. } => {
            Err(unsupported("flood entries (E-VPN only)"))
        }
        Operation::AddNeighbour { .. } | Operation::RemoveNeighbour { .. } => {
            Err(unsupported("neighbour entries (E-VPN only)"))
        }
        Operation::SetGatewayPort { .. } | Operation::GatewayPortDown { .. } => {
            Err(unsupported("gateway ports (E-VPN only)"))
        }
        Operation::AddTrafficRedirect { .. } | Operation::RemoveTrafficRedirect { .. } => {
            Err(unsupported("traffic redirection"))
        }
        Operation::CreateInstance(_) | Operation::CleanupInstance { .. } => Ok(Vec::new()),
    }
}

fn to_request(r: IpvpnRequest) -> Request {
    Request {
        message: r.message,
        flags: r.flags,
        what: r.what,
        tolerate: r.tolerate,
    }
}

/// The Linux IP-VPN driver.
pub struct LinuxIpvpnDriver {
    config: LinuxIpvpnConfig,
    netlink: Netlink,
    instances: BTreeMap<InstanceId, InstanceState>,
    mpls_interface_index: Option<u32>,
    /// Whether the kernel settings of [`sysctl::initial`] were written.
    initialized: bool,
}

impl LinuxIpvpnDriver {
    /// Opens a netlink socket in the current thread's network namespace. An `mpls_interface`
    /// with `gre` in its name is refused, as BaGPipe-BGP does (MPLS over GRE is not supported).
    pub fn new(config: LinuxIpvpnConfig) -> Result<Self, DriverError> {
        if let Some(name) = &config.mpls_interface {
            if name.contains("gre") {
                return Err(DriverError::InvalidArgument {
                    what: format!("mpls_interface {name:?}"),
                    reason: "MPLS over GRE is not supported".to_string(),
                });
            }
        }
        Ok(LinuxIpvpnDriver {
            config,
            netlink: Netlink::open()?,
            instances: BTreeMap::new(),
            mpls_interface_index: None,
            initialized: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LinuxIpvpnConfig {
        &self.config
    }

    /// The instances and their entries (looking glass).
    pub fn instances(&self) -> &BTreeMap<InstanceId, InstanceState> {
        &self.instances
    }

    fn execute(&mut self, requests: Vec<IpvpnRequest>) -> Result<(), DriverError> {
        let requests: Vec<Request> = requests.into_iter().map(to_request).collect();
        let results = self.netlink.execute(&requests);
        for (request, result) in requests.iter().zip(results) {
            result.map_err(|e| e.into_driver_error(&request.what))?;
        }
        Ok(())
    }

    fn link_index(&mut self, name: &str) -> Result<Option<u32>, DriverError> {
        match self
            .netlink
            .query(crate::linux::messages::get_link(name), false)
        {
            Ok(answer) => Ok(answer
                .iter()
                .find_map(messages::link_index_name)
                .map(|(i, _)| i)),
            Err(e) if e.errno == ENODEV => Ok(None),
            Err(e) => Err(e.into_driver_error(&format!("ip link show {name}"))),
        }
    }

    fn mpls_interface(&mut self) -> Result<Option<(u32, String)>, DriverError> {
        let Some(name) = self.config.mpls_interface.clone() else {
            return Ok(None);
        };
        if let Some(index) = self.mpls_interface_index {
            return Ok(Some((index, name)));
        }
        let index = self
            .link_index(&name)?
            .ok_or_else(|| DriverError::InvalidArgument {
                what: format!("mpls_interface {name:?}"),
                reason: "no such interface".to_string(),
            })?;
        self.mpls_interface_index = Some(index);
        Ok(Some((index, name)))
    }

    /// The VRF devices in the kernel.
    fn existing_vrfs(&mut self) -> Result<Vec<ExistingVrf>, DriverError> {
        let links = self
            .netlink
            .query(crate::linux::messages::dump_links(), true)
            .map_err(|e| e.into_driver_error("ip link show"))?;
        Ok(links.iter().filter_map(messages::existing_vrf).collect())
    }

    fn create_instance(&mut self, spec: &InstanceSpec) -> Result<(), DriverError> {
        if let Some(existing) = self.instances.get(&spec.instance) {
            if existing.spec == *spec {
                return Ok(());
            }
        }
        if !self.initialized {
            // BaGPipe-BGP `initialize`, before the first VRF.
            apply_settings(&sysctl::initial(self.config.mpls_interface.as_deref()))?;
            self.initialized = true;
        }
        let in_use: Vec<VrfPlacement> = self
            .instances
            .iter()
            .filter(|(id, _)| **id != spec.instance)
            .map(|(_, s)| s.placement())
            .collect();
        let existing = self.existing_vrfs()?;
        let (placement, requests) = match placement::choose(spec, &existing, &in_use) {
            // A VRF an earlier run made for this VPN: its routes stay (restart safety); what
            // is not claimed again goes with `remove_unclaimed`.
            VrfChoice::Adopt { placement, .. } => {
                let requests = rule_requests(&placement);
                (placement, requests)
            }
            VrfChoice::Create(placement) => {
                let requests = create_requests(spec, &placement);
                (placement, requests)
            }
        };
        self.execute(requests)?;
        let index = self.vrf_index(&placement.name)?;
        let mut state = InstanceState::new(spec.clone(), placement, index);
        if let Some(old) = self.instances.remove(&spec.instance) {
            state.ports = old.ports;
            state.routes = old.routes;
        }
        self.instances.insert(spec.instance, state);
        Ok(())
    }

    fn vrf_index(&mut self, name: &str) -> Result<u32, DriverError> {
        self.link_index(name)?.ok_or_else(|| DriverError::Io {
            context: format!("look up {name}"),
            message: "device not found right after creating it".to_string(),
        })
    }

    fn cleanup_instance(&mut self, instance: InstanceId) -> Result<(), DriverError> {
        let state = self
            .instances
            .remove(&instance)
            .ok_or(DriverError::UnknownInstance { instance })?;
        self.execute(cleanup_requests(&state))
    }

    fn entry(&mut self, op: &Operation) -> Result<Vec<IpvpnRequest>, DriverError> {
        let instance = op.instance();
        if !self.instances.contains_key(&instance) {
            return Err(DriverError::UnknownInstance { instance });
        }
        let needs_mpls_if = matches!(
            op,
            Operation::SetupRemoteEndpoint { .. } | Operation::RemoveRemoteEndpoint { .. }
        );
        let mpls_if = if needs_mpls_if {
            self.mpls_interface()?
        } else {
            None
        };
        // A plugged port gets proxy ARP, an unplugged one loses it; a port already gone with
        // its VM has nothing to turn off.
        let port = match op {
            Operation::VifPlugged { port, .. } => Some((port, true)),
            Operation::VifUnplugged { port, .. } => Some((port, false)),
            _ => None,
        };
        let port_index = match port {
            Some((port, plugged)) => {
                crate::linux::names::validate(&port.interface, "port name")?;
                let index = self.link_index(&port.interface)?;
                if index.is_some() {
                    apply_settings(&sysctl::proxy_arp(&port.interface, plugged))?;
                }
                index
            }
            None => None,
        };
        let state = self
            .instances
            .get_mut(&instance)
            .ok_or(DriverError::UnknownInstance { instance })?;
        let interfaces = Interfaces {
            mpls: mpls_if.as_ref().map(|(i, n)| (*i, n.as_str())),
            port: port_index,
        };
        plan(state, op, interfaces)
    }

    /// Programs an instance again: its VRF device (created if missing), rules, ports and routes.
    fn restore_instance(&mut self, spec: &InstanceSpec) -> Result<(), DriverError> {
        let Some(placement) = self.instances.get(&spec.instance).map(|s| s.placement()) else {
            return Ok(());
        };
        let requests = if self.link_index(&placement.name)?.is_some() {
            rule_requests(&placement)
        } else {
            create_requests(spec, &placement)
        };
        self.execute(requests)?;
        let index = self.vrf_index(&placement.name)?;
        let mpls_if = if self
            .instances
            .get(&spec.instance)
            .is_some_and(|s| !s.routes.is_empty())
        {
            self.mpls_interface()?
        } else {
            None
        };
        let mut port_indexes = BTreeMap::new();
        let interfaces: Vec<String> = self
            .instances
            .get(&spec.instance)
            .map(|s| s.ports.iter().map(|p| p.interface.clone()).collect())
            .unwrap_or_default();
        for interface in interfaces {
            if let Some(port_index) = self.link_index(&interface)? {
                apply_settings(&sysctl::proxy_arp(&interface, true))?;
                port_indexes.insert(interface, port_index);
            }
        }
        let Some(state) = self.instances.get_mut(&spec.instance) else {
            return Ok(());
        };
        state.vrf_index = index;
        let requests = restore_requests(
            state,
            mpls_if.as_ref().map(|(i, n)| (*i, n.as_str())),
            |name| port_indexes.get(name).copied(),
        );
        self.execute(requests)
    }
}

impl DataplaneDriver for LinuxIpvpnDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            driver: DRIVER_NAME.to_string(),
            vpn_type: VpnType::Ipvpn,
            encapsulations: vec![Encapsulation::MPLS, Encapsulation::Default],
            ecmp: true,
            directions: vec![Direction::Both],
            // Cleaning up an instance removes its routes itself.
            needs_cleanup_assist: false,
        }
    }

    fn apply(&mut self, ops: &[Operation]) -> Result<(), ApplyError> {
        let capabilities = self.capabilities();
        let mut failures = Vec::new();
        // Requests of consecutive entry operations, sent together.
        let mut pending: Vec<(usize, Request)> = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            let batched = !matches!(
                op,
                Operation::CreateInstance(_) | Operation::CleanupInstance { .. }
            );
            if !batched {
                netlink::flush(&mut self.netlink, &mut pending, &mut failures, ops);
            }
            let result = capabilities.check(op).and_then(|()| match op {
                Operation::CreateInstance(spec) => self.create_instance(spec),
                Operation::CleanupInstance { instance } => self.cleanup_instance(*instance),
                _ => self.entry(op).map(|requests| {
                    pending.extend(requests.into_iter().map(|r| (index, to_request(r))))
                }),
            });
            if let Err(error) = result {
                failures.push(OperationFailure {
                    index,
                    operation: op.clone(),
                    error,
                });
            }
        }
        netlink::flush(&mut self.netlink, &mut pending, &mut failures, ops);
        failures.sort_by_key(|f| f.index);
        ApplyError::into_result(failures)
    }

    fn reconcile(&mut self) -> Result<(), ApplyError> {
        let specs: Vec<InstanceSpec> = self.instances.values().map(|s| s.spec.clone()).collect();
        let mut failures = Vec::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let result = self.restore_instance(&spec);
            if let Err(error) = result {
                failures.push(OperationFailure {
                    index,
                    operation: Operation::CreateInstance(spec),
                    error,
                });
            }
        }
        ApplyError::into_result(failures)
    }

    fn cleanup_all(&mut self) -> Result<(), DriverError> {
        let states: Vec<InstanceState> =
            std::mem::take(&mut self.instances).into_values().collect();
        let mut requests: Vec<IpvpnRequest> = states.iter().flat_map(cleanup_requests).collect();
        requests.extend(self.unclaimed_vrf_requests()?);
        // Every MPLS route, as BaGPipe-BGP's reset_state; a kernel without MPLS has none.
        if let Ok(routes) = self.netlink.query(messages::dump_mpls_routes(), true) {
            requests.extend(routes.iter().filter_map(messages::delete_dumped_route));
        }
        self.execute(requests)
    }

    fn has_earlier_state(&mut self) -> Result<bool, DriverError> {
        Ok(self.existing_vrfs()?.iter().any(|v| {
            v.name.starts_with(VRF_PREFIX)
                && v.alias
                    .as_deref()
                    .is_some_and(|a| a.starts_with(placement::ALIAS_PREFIX))
        }))
    }

    fn remove_unclaimed(&mut self) -> Result<Vec<String>, DriverError> {
        let links = self
            .netlink
            .query(crate::linux::messages::dump_links(), true)
            .map_err(|e| e.into_driver_error("ip link show"))?;
        let vrfs: Vec<ExistingVrf> = links.iter().filter_map(messages::existing_vrf).collect();
        let views: Vec<_> = links
            .iter()
            .filter_map(crate::linux::messages::link_view)
            .collect();
        let mut routes = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let dump = self
                .netlink
                .query(messages::dump_routes(family), true)
                .map_err(|e| e.into_driver_error(&format!("dump {family:?} routes")))?;
            routes.extend(dump.iter().filter_map(messages::our_route));
        }
        let mut requests = sweep::plan(&self.instances, &vrfs, &views, &routes);
        // MPLS routes of labels no plugged port holds (a kernel without MPLS has none).
        let claimed: BTreeSet<u32> = self
            .instances
            .values()
            .flat_map(|s| s.ports.iter().filter_map(|p| p.label.map(|l| l.value())))
            .collect();
        if let Ok(dump) = self.netlink.query(messages::dump_mpls_routes(), true) {
            requests.extend(
                dump.iter()
                    .filter(|r| {
                        messages::dumped_route_label(r).is_some_and(|l| !claimed.contains(&l))
                    })
                    .filter_map(messages::delete_dumped_route),
            );
        }
        let removed = requests.iter().map(|r| r.what.clone()).collect();
        self.execute(requests)?;
        Ok(removed)
    }
}

impl LinuxIpvpnDriver {
    /// The requests removing every `bvrf-*` device no instance uses, with its rules.
    fn unclaimed_vrf_requests(&mut self) -> Result<Vec<IpvpnRequest>, DriverError> {
        let vrfs = self.existing_vrfs()?;
        Ok(sweep::unclaimed_vrfs(&self.instances, &vrfs))
    }
}

#[cfg(test)]
mod tests;
