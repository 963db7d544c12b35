//! The dataplane drivers a daemon runs, built from the configuration (reference §6):
//! `dummy` and `linux` for both VPN types. A driver the configuration names but this version does
//! not have (`ovs`) is refused at start with a message naming the configuration key.

use bagpipe_core::config::{DriverKind, ResolvedConfig, VpnType};
use bagpipe_core::dataplane::{ApplyError, Capabilities, DataplaneDriver, Operation};
use bagpipe_core::speaker::Speaker;
use bagpipe_drivers::dummy::DummyDriver;
use bagpipe_drivers::linux::{LinuxEvpnConfig, LinuxEvpnDriver};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A driver that can move to its own thread.
pub type BoxedDriver = Box<dyn DataplaneDriver + Send>;

/// The drivers of a daemon, one per VPN type, with their dataplane addresses.
pub struct DataplaneHost {
    drivers: BTreeMap<VpnType, (IpAddr, BoxedDriver)>,
}

impl DataplaneHost {
    /// No driver: every attach is refused (tests of the transport).
    pub fn empty() -> Self {
        DataplaneHost {
            drivers: BTreeMap::new(),
        }
    }

    /// The drivers the configuration asks for. A daemon that starts a driver removes what an
    /// earlier run of it left (BaGPipe-BGP `reset_state` on first use).
    pub fn from_config(
        daemon: &bagpipe_core::config::DaemonConfig,
        resolved: &ResolvedConfig,
    ) -> Result<Self, String> {
        let mut drivers: BTreeMap<VpnType, (IpAddr, BoxedDriver)> = BTreeMap::new();
        for (vpn_type, config, address) in [
            (
                VpnType::Ipvpn,
                &daemon.dataplane.ipvpn,
                resolved.ipvpn_local_address,
            ),
            (
                VpnType::Evpn,
                &daemon.dataplane.evpn,
                resolved.evpn_local_address,
            ),
        ] {
            let driver: BoxedDriver = match (vpn_type, config.driver) {
                (_, DriverKind::Dummy) => Box::new(DummyDriver::new(vpn_type)),
                (VpnType::Evpn, DriverKind::Linux) => {
                    let mut linux_config = LinuxEvpnConfig::new(address);
                    if let Some(bagpipe_core::config::DriverOption::Integer(port)) =
                        config.options.get("vxlan_dst_port")
                    {
                        linux_config.vxlan_dst_port = u16::try_from(*port).map_err(|_| {
                            format!("DATAPLANE_DRIVER_EVPN.vxlan_dst_port: {port} is not a UDP port")
                        })?;
                    }
                    let mut driver = LinuxEvpnDriver::new(linux_config)
                        .map_err(|e| format!("the linux E-VPN driver cannot start: {e}"))?;
                    driver
                        .cleanup_all()
                        .map_err(|e| format!("the linux E-VPN driver cannot clean up: {e}"))?;
                    Box::new(driver)
                }
                (VpnType::Ipvpn, DriverKind::Linux) => {
                    let mut ipvpn_config = bagpipe_drivers::linux_ipvpn::LinuxIpvpnConfig::default();
                    match config.options.get("mpls_interface") {
                        Some(bagpipe_core::config::DriverOption::Text(name)) if !name.is_empty() => {
                            ipvpn_config.mpls_interface = Some(name.clone());
                        }
                        None | Some(bagpipe_core::config::DriverOption::Text(_)) => {}
                        Some(other) => {
                            return Err(format!(
                                "DATAPLANE_DRIVER_IPVPN.mpls_interface: {other:?} is not an interface name"
                            ))
                        }
                    }
                    let mut driver =
                        bagpipe_drivers::linux_ipvpn::LinuxIpvpnDriver::new(ipvpn_config)
                            .map_err(|e| format!("the linux IP-VPN driver cannot start: {e}"))?;
                    driver
                        .cleanup_all()
                        .map_err(|e| format!("the linux IP-VPN driver cannot clean up: {e}"))?;
                    Box::new(driver)
                }
                (_, kind) => {
                    return Err(format!(
                        "DATAPLANE_DRIVER_{}.dataplane_driver: the {kind:?} driver for {} is not available in this version (use dummy or linux)",
                        vpn_type.name().to_uppercase(),
                        vpn_type.name(),
                    ))
                }
            };
            drivers.insert(vpn_type, (address, driver));
        }
        Ok(DataplaneHost { drivers })
    }

    /// Tells the speaker what each driver can do and where it is.
    pub fn register(&self, speaker: &mut Speaker) {
        for (vpn_type, (address, driver)) in &self.drivers {
            speaker.register_driver(*vpn_type, *address, driver.capabilities());
        }
    }

    /// The capabilities of each driver.
    pub fn capabilities(&self) -> Vec<Capabilities> {
        self.drivers
            .values()
            .map(|(_, d)| d.capabilities())
            .collect()
    }

    /// Applies a batch with the driver of `vpn_type`.
    pub fn apply(&mut self, vpn_type: VpnType, ops: &[Operation]) -> Result<(), String> {
        let Some((_, driver)) = self.drivers.get_mut(&vpn_type) else {
            return Err(format!("no {} driver", vpn_type.name()));
        };
        driver.apply(ops).map_err(|e| describe(&e))
    }

    /// The drivers, to run each on its own thread.
    pub fn into_drivers(self) -> BTreeMap<VpnType, BoxedDriver> {
        self.drivers.into_iter().map(|(t, (_, d))| (t, d)).collect()
    }
}

/// One line for every failed operation.
pub fn describe(error: &ApplyError) -> String {
    error.to_string()
}

/// What both daemons have once started: the configuration, the drivers, and the speaker that
/// knows them.
pub struct Started {
    /// The configuration.
    pub loaded: crate::host::LoadedConfig,
    /// The drivers.
    pub dataplane: DataplaneHost,
    /// The speaker.
    pub speaker: Speaker,
}

/// Loads the configuration, sets up logging, starts the drivers and makes the speaker, for the
/// daemon `program` on `runtime`; on failure, prints why (naming `program`) and gives the exit
/// code (2: bad configuration or logging; 1: a driver cannot start).
pub fn start_daemon(
    program: &str,
    runtime: &str,
    args: &crate::host::CommonArgs,
) -> Result<Started, u8> {
    let loaded = crate::host::load_config(args.config_file.as_deref(), args.config_format)
        .map_err(|e| {
            eprintln!("{program}: configuration refused: {e}");
            2u8
        })?;
    crate::host::init_logging(args, &loaded.daemon.logging).map_err(|e| {
        eprintln!("{program}: cannot set up logging: {e}");
        2u8
    })?;
    crate::host::log_startup(runtime, &loaded);
    let dataplane = DataplaneHost::from_config(&loaded.daemon, &loaded.resolved).map_err(|e| {
        tracing::error!("{e}");
        eprintln!("{program}: {}: {e}", loaded.source);
        2u8
    })?;
    let mut speaker = Speaker::new(loaded.resolved.speaker.clone(), crate::host::seed());
    dataplane.register(&mut speaker);
    Ok(Started {
        loaded,
        dataplane,
        speaker,
    })
}
