//! The Linux E-VPN driver: one bridge and one VXLAN device per E-VPN instance, programmed over
//! rtnetlink (reference §6.3, RFC 8365).
//!
//! | operation | kernel state |
//! |---|---|
//! | create instance | bridge `evpn---<external id>` with a fixed address (or the API's `linuxbr`), VXLAN device `vxlan--<external id>` (VNI, local address, UDP port, `nolearning`) in it, `neigh_suppress` on its port |
//! | vif plugged | the port enslaved to the bridge (when the bridge is ours), a static bridge FDB entry for the VM's MAC |
//! | remote MAC | VXLAN FDB entry `<mac> dst <vtep> vni <vni> self permanent`, and a static bridge FDB entry on the VXLAN port so that the bridge does not flood |
//! | flood entry | VXLAN FDB entry `00:00:00:00:00:00 dst <vtep>`, appended (head-end replication) |
//! | neighbour | permanent neighbour entry on the bridge (ARP suppression by the bridge) |
//!
//! Restart-safe: creating an instance whose bridge and VXLAN device exist as wanted adopts them,
//! and every entry is added with replace semantics, so a restarted daemon leaves valid forwarding
//! in place; what nobody claims again is removed later by `remove_unclaimed` (see [`sweep`]).
//!
//! The driver works in the network namespace of the thread that creates it (its netlink socket
//! belongs there). It never runs `ip` or `bridge`. Operations that only add or remove entries are
//! batched into few netlink round trips (see [`netlink`]).

pub(crate) mod messages;
pub mod names;
pub(crate) mod netlink;
mod sweep;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::{
    ApplyError, Capabilities, DataplaneDriver, Destination, Direction, DriverError, Encapsulation,
    FloodEntry, InstanceSpec, LocalPort, NeighbourEntry, NextHop, Operation, OperationFailure,
    RemoteEndpoint,
};
use bagpipe_core::rib::InstanceId;
use bagpipe_core::wire::MacAddress;
use netlink_packet_route::link::InfoKind;

use messages::{Change, LinkView, NeighbourView, VxlanParams, ENODEV};
use netlink::{Netlink, Request};
use netlink_packet_route::AddressFamily;

/// The driver's name, in capabilities and errors.
pub const DRIVER_NAME: &str = "linux";
/// The IANA VXLAN port, BaGPipe-BGP's `vxlan_dst_port` default.
pub const DEFAULT_VXLAN_PORT: u16 = 4789;

/// The driver's configuration (`[DATAPLANE_DRIVER_EVPN]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinuxEvpnConfig {
    /// The local VTEP address (`dataplane_local_address`, else the BGP local address).
    pub local_address: IpAddr,
    /// The VXLAN UDP port (`vxlan_dst_port`).
    pub vxlan_dst_port: u16,
}

impl LinuxEvpnConfig {
    /// A configuration with the default UDP port.
    pub fn new(local_address: IpAddr) -> Self {
        LinuxEvpnConfig {
            local_address,
            vxlan_dst_port: DEFAULT_VXLAN_PORT,
        }
    }
}

/// What the driver holds for one instance: the devices it uses and every entry the core asked
/// for, which [`DataplaneDriver::reconcile`] programs again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceState {
    /// The instance as created.
    pub spec: InstanceSpec,
    /// The bridge (BaGPipe-BGP looking glass `linux_bridge`).
    pub linux_bridge: String,
    /// Whether the driver owns the bridge (created it, or it has the `evpn---` prefix).
    pub bridge_is_ours: bool,
    /// The VXLAN device (`vxlan_if`).
    pub vxlan_if: String,
    /// Whether the driver created the VXLAN device (else it reuses one found in the bridge).
    pub vxlan_is_ours: bool,
    /// The VXLAN device's interface index.
    #[serde(skip)]
    vxlan_index: u32,
    /// The bridge's interface index (neighbour entries live on the bridge).
    #[serde(skip)]
    bridge_index: u32,
    /// The VNI.
    pub vni: u32,
    /// Local ports.
    pub ports: BTreeSet<LocalPort>,
    /// Remote MACs and where they are.
    pub remote_macs: BTreeMap<MacAddress, RemoteEndpoint>,
    /// Flood list.
    pub flood: BTreeSet<FloodEntry>,
    /// ARP suppression entries, by IP.
    pub neighbours: BTreeMap<IpAddr, MacAddress>,
    /// Gateway ports, with their gateway address.
    pub gateway_ports: BTreeMap<String, IpAddr>,
}

/// The Linux E-VPN driver.
pub struct LinuxEvpnDriver {
    config: LinuxEvpnConfig,
    netlink: Netlink,
    instances: BTreeMap<InstanceId, InstanceState>,
}

/// A request waiting to be sent, with the index of the operation it comes from.
type Pending = Vec<(usize, Request)>;

impl LinuxEvpnDriver {
    /// Opens a netlink socket in the current thread's network namespace.
    pub fn new(config: LinuxEvpnConfig) -> Result<Self, DriverError> {
        Ok(LinuxEvpnDriver {
            config,
            netlink: Netlink::open()?,
            instances: BTreeMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LinuxEvpnConfig {
        &self.config
    }

    /// The instances and their entries (looking glass).
    pub fn instances(&self) -> &BTreeMap<InstanceId, InstanceState> {
        &self.instances
    }

    /// Netlink datagrams sent so far (each is one round trip), for benchmarks and tests.
    pub fn round_trips(&self) -> u64 {
        self.netlink.round_trips()
    }

    fn run(&mut self, request: Request) -> Result<(), DriverError> {
        let what = request.what.clone();
        match self.netlink.execute(std::slice::from_ref(&request)).pop() {
            Some(Err(e)) => Err(e.into_driver_error(&what)),
            _ => Ok(()),
        }
    }

    fn get_link(&mut self, name: &str) -> Result<Option<LinkView>, DriverError> {
        match self.netlink.query(messages::get_link(name), false) {
            Ok(answer) => Ok(answer.iter().find_map(messages::link_view)),
            Err(e) if e.errno == ENODEV => Ok(None),
            Err(e) => Err(e.into_driver_error(&format!("get link {name}"))),
        }
    }

    fn links(&mut self) -> Result<Vec<LinkView>, DriverError> {
        self.netlink
            .query(messages::dump_links(), true)
            .map(|answer| answer.iter().filter_map(messages::link_view).collect())
            .map_err(|e| e.into_driver_error("dump links"))
    }

    /// The entries of the bridge (FDB), inet and inet6 neighbour tables.
    fn neighbour_tables(&mut self) -> Result<Vec<NeighbourView>, DriverError> {
        let mut entries = Vec::new();
        for family in [
            AddressFamily::Bridge,
            AddressFamily::Inet,
            AddressFamily::Inet6,
        ] {
            let answer = self
                .netlink
                .query(messages::dump_neighbours(family), true)
                .map_err(|e| e.into_driver_error(&format!("dump {family:?} neighbours")))?;
            entries.extend(answer.iter().filter_map(messages::neighbour_view));
        }
        Ok(entries)
    }

    fn instance(&mut self, instance: InstanceId) -> Result<&mut InstanceState, DriverError> {
        self.instances
            .get_mut(&instance)
            .ok_or(DriverError::UnknownInstance { instance })
    }

    /// Creates (or checks) the bridge and the VXLAN device of an instance.
    fn create_instance(&mut self, spec: &InstanceSpec) -> Result<(), DriverError> {
        let vni = spec
            .id
            .vni()
            .ok_or_else(|| DriverError::InvalidArgument {
                what: format!("instance {} {}", spec.instance.0, spec.id),
                reason: "a VXLAN E-VPN instance needs a VNI".to_string(),
            })?
            .value();
        let bridge = match &spec.linuxbr {
            Some(name) => name.clone(),
            None => names::device_name(names::BRIDGE_PREFIX, &spec.external_id),
        };
        let vxlan = names::device_name(names::VXLAN_PREFIX, &spec.external_id);
        names::validate(&bridge, "bridge name")?;
        names::validate(&vxlan, "VXLAN device name")?;
        if let Some(existing) = self.instances.get(&spec.instance) {
            if existing.spec != *spec {
                return Err(DriverError::InvalidArgument {
                    what: format!("instance {}", spec.instance.0),
                    reason: "already created with other parameters".to_string(),
                });
            }
        }
        for (id, other) in &self.instances {
            if *id != spec.instance && (other.linux_bridge == bridge || other.vxlan_if == vxlan) {
                return Err(DriverError::InvalidArgument {
                    what: format!("external instance id {:?}", spec.external_id),
                    reason: format!(
                        "its devices {bridge}/{vxlan} are those of instance {}",
                        id.0
                    ),
                });
            }
        }

        // The bridge: reuse it when it exists and is a bridge, else create it.
        let (bridge_index, bridge_created) = match self.get_link(&bridge)? {
            Some(link) if link.kind == Some(InfoKind::Bridge) => (link.index, false),
            Some(_) => {
                return Err(DriverError::InvalidArgument {
                    what: format!("bridge {bridge}"),
                    reason: "a device of that name exists and is not a bridge".to_string(),
                })
            }
            None => {
                self.run(messages::add_bridge(&bridge))?;
                let link = self.get_link(&bridge)?.ok_or_else(|| vanished(&bridge))?;
                (link.index, true)
            }
        };
        let bridge_is_ours = bridge_created
            || bridge.starts_with(names::BRIDGE_PREFIX)
            || self
                .instances
                .get(&spec.instance)
                .is_some_and(|i| i.bridge_is_ours);

        // The VXLAN device: ours if it is as wanted; else a VXLAN port of the bridge with the
        // instance's VNI (reference §6.3); else (re)created.
        let params = VxlanParams {
            vni,
            local: self.config.local_address,
            port: self.config.vxlan_dst_port,
        };
        let mut vxlan_name = vxlan.clone();
        let mut vxlan_is_ours = true;
        let vxlan_index = match self.get_link(&vxlan)? {
            Some(link)
                if link.master == Some(bridge_index)
                    && link.vxlan.as_ref().is_some_and(|v| v.matches(params)) =>
            {
                self.run(messages::set_master(&vxlan, Some((bridge_index, &bridge))))?;
                link.index
            }
            existing => {
                let foreign = if existing.is_none() {
                    self.links()?.into_iter().find(|l| {
                        l.master == Some(bridge_index)
                            && l.vxlan.as_ref().is_some_and(|v| v.vni == Some(vni))
                    })
                } else {
                    None
                };
                match foreign {
                    Some(link) => {
                        vxlan_name = link.name;
                        vxlan_is_ours = false;
                        link.index
                    }
                    None => {
                        if existing.is_some() {
                            // Stale (other VNI, address or port): replace it.
                            self.run(messages::delete_link(&vxlan))?;
                        }
                        self.run(messages::add_vxlan(&vxlan, params, bridge_index))?;
                        self.get_link(&vxlan)?
                            .ok_or_else(|| vanished(&vxlan))?
                            .index
                    }
                }
            }
        };

        // ARP suppression by the bridge (see `messages::add_vxlan`), also on a reused device.
        self.run(messages::neigh_suppress(&vxlan_name))?;

        let state = self
            .instances
            .entry(spec.instance)
            .or_insert_with(|| InstanceState {
                spec: spec.clone(),
                linux_bridge: bridge.clone(),
                bridge_is_ours,
                vxlan_if: vxlan_name.clone(),
                vxlan_is_ours,
                vxlan_index,
                bridge_index,
                vni,
                ports: BTreeSet::new(),
                remote_macs: BTreeMap::new(),
                flood: BTreeSet::new(),
                neighbours: BTreeMap::new(),
                gateway_ports: BTreeMap::new(),
            });
        state.bridge_is_ours = bridge_is_ours;
        state.vxlan_if = vxlan_name;
        state.vxlan_is_ours = vxlan_is_ours;
        state.vxlan_index = vxlan_index;
        state.bridge_index = bridge_index;
        Ok(())
    }

    /// Removes what the driver programmed for an instance, then the devices it owns.
    fn cleanup_instance(&mut self, instance: InstanceId) -> Result<(), DriverError> {
        let state = self
            .instances
            .get(&instance)
            .cloned()
            .ok_or(DriverError::UnknownInstance { instance })?;
        let mut requests = Vec::new();
        let vxlan = (state.vxlan_index, state.vxlan_if.as_str());
        if state.vxlan_is_ours {
            // Deleting the device deletes its FDB and neighbour entries.
            requests.push(messages::delete_link(&state.vxlan_if));
        } else {
            for (mac, endpoint) in &state.remote_macs {
                requests.extend(remote_mac_requests(
                    Change::Remove,
                    vxlan,
                    *mac,
                    &endpoint.next_hop,
                ));
            }
            for entry in &state.flood {
                requests.push(flood_request(Change::Remove, vxlan, entry));
            }
            let bridge = (state.bridge_index, state.linux_bridge.as_str());
            for (ip, mac) in &state.neighbours {
                requests.push(messages::neighbour(Change::Remove, bridge, *ip, *mac));
            }
        }
        if state.bridge_is_ours {
            requests.push(messages::delete_link(&state.linux_bridge));
        } else {
            let mut port_requests = Vec::new();
            for port in &state.ports {
                if let Some(link) = self.get_link(&port.interface)? {
                    port_requests.push(messages::bridge_fdb(
                        Change::Remove,
                        (link.index, &port.interface),
                        port.mac,
                    ));
                }
            }
            requests.extend(port_requests);
        }
        let results = self.netlink.execute(&requests);
        self.instances.remove(&instance);
        for (request, result) in requests.iter().zip(results) {
            result.map_err(|e| e.into_driver_error(&request.what))?;
        }
        Ok(())
    }

    fn vif_plugged(&mut self, instance: InstanceId, port: &LocalPort) -> Result<(), DriverError> {
        let state = self.instance(instance)?;
        let bridge = state.linux_bridge.clone();
        let enslave = state.bridge_is_ours;
        state
            .ports
            .retain(|p| (&p.interface, p.mac) != (&port.interface, port.mac));
        state.ports.insert(port.clone());
        names::validate(&port.interface, "port name")?;
        if enslave {
            let bridge_index = self
                .get_link(&bridge)?
                .ok_or_else(|| vanished(&bridge))?
                .index;
            self.run(messages::set_master(
                &port.interface,
                Some((bridge_index, &bridge)),
            ))?;
        }
        let link = self
            .get_link(&port.interface)?
            .ok_or_else(|| DriverError::Kernel {
                request: format!("plug {} into {bridge}", port.interface),
                errno: ENODEV,
                message: "No such device".to_string(),
            })?;
        self.run(messages::bridge_fdb(
            Change::Add,
            (link.index, &port.interface),
            port.mac,
        ))
    }

    fn vif_unplugged(
        &mut self,
        instance: InstanceId,
        port: &LocalPort,
        last_endpoint: bool,
    ) -> Result<(), DriverError> {
        let state = self.instance(instance)?;
        let release = state.bridge_is_ours && last_endpoint;
        state
            .ports
            .retain(|p| (&p.interface, p.mac) != (&port.interface, port.mac));
        // The port may be gone already (the VM was deleted): nothing left to remove then.
        let Some(link) = self.get_link(&port.interface)? else {
            return Ok(());
        };
        self.run(messages::bridge_fdb(
            Change::Remove,
            (link.index, &port.interface),
            port.mac,
        ))?;
        if release {
            self.run(messages::set_master(&port.interface, None))?;
        }
        Ok(())
    }

    fn set_gateway_port(
        &mut self,
        instance: InstanceId,
        interface: &str,
        gateway_ip: IpAddr,
    ) -> Result<(), DriverError> {
        names::validate(interface, "gateway port name")?;
        let state = self.instance(instance)?;
        state
            .gateway_ports
            .insert(interface.to_string(), gateway_ip);
        let bridge = state.linux_bridge.clone();
        let bridge_index = self
            .get_link(&bridge)?
            .ok_or_else(|| vanished(&bridge))?
            .index;
        self.run(messages::set_master(
            interface,
            Some((bridge_index, &bridge)),
        ))
    }

    fn gateway_port_down(
        &mut self,
        instance: InstanceId,
        interface: &str,
    ) -> Result<(), DriverError> {
        let state = self.instance(instance)?;
        state.gateway_ports.remove(interface);
        self.run(messages::set_master(interface, None))
    }

    /// The requests of an operation that only adds or removes entries (batched), after updating
    /// the instance's state.
    fn entry_requests(&mut self, op: &Operation) -> Result<Vec<Request>, DriverError> {
        let state = self.instance(op.instance())?;
        let vxlan = (state.vxlan_index, state.vxlan_if.as_str());
        let bridge = (state.bridge_index, state.linux_bridge.as_str());
        let requests = match op {
            Operation::SetupRemoteEndpoint { endpoint, .. } => {
                let Destination::Mac(mac) = endpoint.destination else {
                    return Err(unsupported("IP prefix routes (E-VPN driver)"));
                };
                state.remote_macs.insert(mac, *endpoint);
                remote_mac_requests(Change::Add, vxlan, mac, &endpoint.next_hop)
            }
            Operation::RemoveRemoteEndpoint { endpoint, .. } => {
                let Destination::Mac(mac) = endpoint.destination else {
                    return Err(unsupported("IP prefix routes (E-VPN driver)"));
                };
                // Only the next hop in place is removed: a removal that comes after the MAC moved
                // elsewhere must not remove the new entry.
                if state.remote_macs.get(&mac).map(|e| e.next_hop) != Some(endpoint.next_hop) {
                    return Ok(Vec::new());
                }
                state.remote_macs.remove(&mac);
                remote_mac_requests(Change::Remove, vxlan, mac, &endpoint.next_hop)
            }
            Operation::AddFloodEntry { entry, .. } => {
                state.flood.insert(*entry);
                vec![flood_request(Change::Add, vxlan, entry)]
            }
            Operation::RemoveFloodEntry { entry, .. } => {
                state.flood.remove(entry);
                vec![flood_request(Change::Remove, vxlan, entry)]
            }
            Operation::AddNeighbour { entry, .. } => {
                state.neighbours.insert(entry.ip, entry.mac);
                vec![messages::neighbour(
                    Change::Add,
                    bridge,
                    entry.ip,
                    entry.mac,
                )]
            }
            Operation::RemoveNeighbour { entry, .. } => {
                if state.neighbours.get(&entry.ip) != Some(&entry.mac) {
                    return Ok(Vec::new());
                }
                state.neighbours.remove(&entry.ip);
                vec![messages::neighbour(
                    Change::Remove,
                    bridge,
                    entry.ip,
                    entry.mac,
                )]
            }
            _ => Vec::new(),
        };
        Ok(requests)
    }

    /// The operations that rebuild everything the driver holds.
    fn desired_operations(&self) -> Vec<Operation> {
        let mut ops = Vec::new();
        for (instance, state) in &self.instances {
            let instance = *instance;
            ops.push(Operation::CreateInstance(state.spec.clone()));
            for port in &state.ports {
                ops.push(Operation::VifPlugged {
                    instance,
                    port: port.clone(),
                });
            }
            for (interface, gateway_ip) in &state.gateway_ports {
                ops.push(Operation::SetGatewayPort {
                    instance,
                    interface: interface.clone(),
                    gateway_ip: *gateway_ip,
                });
            }
            for endpoint in state.remote_macs.values() {
                ops.push(Operation::SetupRemoteEndpoint {
                    instance,
                    endpoint: *endpoint,
                });
            }
            for entry in &state.flood {
                ops.push(Operation::AddFloodEntry {
                    instance,
                    entry: *entry,
                });
            }
            for (ip, mac) in &state.neighbours {
                ops.push(Operation::AddNeighbour {
                    instance,
                    entry: NeighbourEntry { ip: *ip, mac: *mac },
                });
            }
        }
        ops
    }
}

impl DataplaneDriver for LinuxEvpnDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            driver: DRIVER_NAME.to_string(),
            vpn_type: VpnType::Evpn,
            encapsulations: vec![Encapsulation::VXLAN],
            ecmp: false,
            directions: vec![Direction::Both],
            // Cleaning up an instance removes its entries itself, even from a reused device.
            needs_cleanup_assist: false,
        }
    }

    fn apply(&mut self, ops: &[Operation]) -> Result<(), ApplyError> {
        let capabilities = self.capabilities();
        let mut failures = Vec::new();
        let mut pending: Pending = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            let batched = matches!(
                op,
                Operation::SetupRemoteEndpoint { .. }
                    | Operation::RemoveRemoteEndpoint { .. }
                    | Operation::AddFloodEntry { .. }
                    | Operation::RemoveFloodEntry { .. }
                    | Operation::AddNeighbour { .. }
                    | Operation::RemoveNeighbour { .. }
            );
            if !batched {
                // Keep the order: entries queued before this operation go first.
                netlink::flush(&mut self.netlink, &mut pending, &mut failures, ops);
            }
            let result = capabilities.check(op).and_then(|()| match op {
                Operation::CreateInstance(spec) => self.create_instance(spec),
                Operation::CleanupInstance { instance } => self.cleanup_instance(*instance),
                Operation::VifPlugged { instance, port } => self.vif_plugged(*instance, port),
                Operation::VifUnplugged {
                    instance,
                    port,
                    last_endpoint,
                } => self.vif_unplugged(*instance, port, *last_endpoint),
                Operation::SetGatewayPort {
                    instance,
                    interface,
                    gateway_ip,
                } => self.set_gateway_port(*instance, interface, *gateway_ip),
                Operation::GatewayPortDown {
                    instance,
                    interface,
                } => self.gateway_port_down(*instance, interface),
                _ => self
                    .entry_requests(op)
                    .map(|requests| pending.extend(requests.into_iter().map(|r| (index, r)))),
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
        let ops = self.desired_operations();
        self.apply(&ops)
    }

    fn cleanup_all(&mut self) -> Result<(), DriverError> {
        self.instances.clear();
        let links = self.links()?;
        // VXLAN devices first, then the bridges they are in.
        let mut requests: Vec<Request> = links
            .iter()
            .filter(|l| l.name.starts_with(names::VXLAN_PREFIX))
            .map(|l| messages::delete_link(&l.name))
            .collect();
        requests.extend(
            links
                .iter()
                .filter(|l| l.name.starts_with(names::BRIDGE_PREFIX))
                .map(|l| messages::delete_link(&l.name)),
        );
        let results = self.netlink.execute(&requests);
        for (request, result) in requests.iter().zip(results) {
            result.map_err(|e| e.into_driver_error(&request.what))?;
        }
        Ok(())
    }

    fn has_earlier_state(&mut self) -> Result<bool, DriverError> {
        Ok(self.links()?.iter().any(|l| names::is_ours(&l.name)))
    }

    fn remove_unclaimed(&mut self) -> Result<Vec<String>, DriverError> {
        let links = self.links()?;
        let entries = self.neighbour_tables()?;
        let requests = sweep::plan(&self.instances, &links, &entries);
        let results = self.netlink.execute(&requests);
        let mut removed = Vec::with_capacity(requests.len());
        let mut first_error = None;
        for (request, result) in requests.iter().zip(results) {
            match result {
                Ok(()) => removed.push(request.what.clone()),
                Err(e) => {
                    first_error.get_or_insert_with(|| e.into_driver_error(&request.what));
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(removed),
        }
    }
}

/// The two entries of a remote MAC: the VXLAN device's (where to tunnel) and the bridge's (send
/// it to the VXLAN port rather than flood).
fn remote_mac_requests(
    change: Change,
    vxlan: (u32, &str),
    mac: MacAddress,
    next_hop: &NextHop,
) -> Vec<Request> {
    let vni = next_hop.id.vni().map_or(0, |v| v.value());
    vec![
        messages::vxlan_fdb(change, vxlan, mac, next_hop.remote_pe, vni, false),
        messages::bridge_fdb(change, vxlan, mac),
    ]
}

fn flood_request(change: Change, vxlan: (u32, &str), entry: &FloodEntry) -> Request {
    let vni = entry.id.vni().map_or(0, |v| v.value());
    messages::vxlan_fdb(
        change,
        vxlan,
        MacAddress::ZERO,
        entry.remote_vtep,
        vni,
        true,
    )
}

fn unsupported(what: &str) -> DriverError {
    DriverError::Unsupported {
        driver: DRIVER_NAME.to_string(),
        what: what.to_string(),
    }
}

fn vanished(name: &str) -> DriverError {
    DriverError::Io {
        context: format!("look up {name}"),
        message: "device not found right after creating it".to_string(),
    }
}
