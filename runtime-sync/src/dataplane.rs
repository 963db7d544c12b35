//! The dataplane drivers a daemon runs, built from the configuration (reference §6):
//! `dummy` and `linux` for both VPN types. A driver the configuration names but this version does
//! not have (`ovs`) is refused at start with a message naming the configuration key.
//!
//! Restart safety: the Linux drivers start on what an earlier run left (they adopt devices,
//! VRFs and entries instead of removing them as BaGPipe-BGP's `reset_state` did, so VMs keep
//! their forwarding while the daemon restarts); `stale_cleanup_delay` seconds after start (option of the
//! driver's section, default [`DEFAULT_STALE_CLEANUP_DELAY`]) the runtime calls
//! [`DataplaneDriver::remove_unclaimed`], which removes what no instance claimed again by then.

use bagpipe_core::config::{DriverKind, ResolvedConfig, VpnType};
use bagpipe_core::dataplane::{ApplyError, Capabilities, DataplaneDriver, Operation};
use bagpipe_core::speaker::Speaker;
use bagpipe_drivers::dummy::DummyDriver;
use bagpipe_drivers::linux::{LinuxEvpnConfig, LinuxEvpnDriver};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// How long after start a driver keeps what an earlier run left before removing what no
/// instance claimed again: long enough for the BGP sessions to re-learn the routes (including
/// a graceful-restart or RT-Constraint wait) and for the agent to re-attach its ports.
pub const DEFAULT_STALE_CLEANUP_DELAY: Duration = Duration::from_secs(120);

/// The key of [`DEFAULT_STALE_CLEANUP_DELAY`] in a driver's section.
pub const STALE_CLEANUP_DELAY_KEY: &str = "stale_cleanup_delay";

/// A driver that can move to its own thread.
pub type BoxedDriver = Box<dyn DataplaneDriver + Send>;

/// A driver with its dataplane address and how long after start it removes unclaimed state.
pub struct HostedDriver {
    /// The tunnel endpoint address of its routes.
    pub address: IpAddr,
    /// The driver.
    pub driver: BoxedDriver,
    /// When, counted from the daemon's start, [`DataplaneDriver::remove_unclaimed`] runs.
    pub stale_cleanup_delay: Duration,
}

/// The drivers of a daemon, one per VPN type, with their dataplane addresses.
pub struct DataplaneHost {
    drivers: BTreeMap<VpnType, HostedDriver>,
    /// For the one-thread runtime: when each driver's unclaimed state is due for removal.
    stale_cleanup_at: BTreeMap<VpnType, std::time::Instant>,
}

impl DataplaneHost {
    /// No driver: every attach is refused (tests of the transport).
    pub fn empty() -> Self {
        DataplaneHost {
            drivers: BTreeMap::new(),
            stale_cleanup_at: BTreeMap::new(),
        }
    }

    /// The drivers the configuration asks for. The Linux drivers adopt what an earlier run left
    /// instead of removing it (BaGPipe-BGP `reset_state` on first use): see the module's comment.
    pub fn from_config(
        daemon: &bagpipe_core::config::DaemonConfig,
        resolved: &ResolvedConfig,
    ) -> Result<Self, String> {
        let mut drivers: BTreeMap<VpnType, HostedDriver> = BTreeMap::new();
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
                    let driver = LinuxEvpnDriver::new(linux_config)
                        .map_err(|e| format!("the linux E-VPN driver cannot start: {e}"))?;
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
                    let driver = bagpipe_drivers::linux_ipvpn::LinuxIpvpnDriver::new(ipvpn_config)
                        .map_err(|e| format!("the linux IP-VPN driver cannot start: {e}"))?;
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
            let stale_cleanup_delay = stale_cleanup_delay(vpn_type, config)?;
            drivers.insert(
                vpn_type,
                HostedDriver {
                    address,
                    driver,
                    stale_cleanup_delay,
                },
            );
        }
        Ok(DataplaneHost {
            drivers,
            stale_cleanup_at: BTreeMap::new(),
        })
    }

    /// When an earlier run left forwarding state that a driver adopts: the shortest stale
    /// cleanup delay among those drivers (how long ports have to be attached again), which the
    /// speaker uses as its End-of-RIB deferral (RFC 4724 §4.1). `None` on a clean start.
    pub fn earlier_state(&mut self) -> Option<Duration> {
        let mut delay: Option<Duration> = None;
        for (vpn_type, hosted) in &mut self.drivers {
            match hosted.driver.has_earlier_state() {
                Ok(true) => {
                    tracing::info!(
                        vpn_type = vpn_type.name(),
                        "the dataplane holds an earlier run's state: adopted, unclaimed parts removed after {} s",
                        hosted.stale_cleanup_delay.as_secs()
                    );
                    delay = Some(delay.map_or(hosted.stale_cleanup_delay, |d| {
                        d.min(hosted.stale_cleanup_delay)
                    }));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    vpn_type = vpn_type.name(),
                    "cannot tell whether an earlier run left dataplane state: {e}"
                ),
            }
        }
        delay
    }

    /// Starts counting the drivers' stale cleanup delays from `now` (one-thread runtime).
    pub fn schedule_stale_cleanup(&mut self, now: std::time::Instant) {
        self.stale_cleanup_at = self
            .drivers
            .iter()
            .map(|(vpn_type, hosted)| (*vpn_type, now + hosted.stale_cleanup_delay))
            .collect();
    }

    /// When the next scheduled stale cleanup is due.
    pub fn next_stale_cleanup(&self) -> Option<std::time::Instant> {
        self.stale_cleanup_at.values().min().copied()
    }

    /// Runs the stale cleanups due at `now`, each once.
    pub fn run_due_stale_cleanups(&mut self, now: std::time::Instant) {
        let due: Vec<VpnType> = self
            .stale_cleanup_at
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(vpn_type, _)| *vpn_type)
            .collect();
        for vpn_type in due {
            self.stale_cleanup_at.remove(&vpn_type);
            if let Some(hosted) = self.drivers.get_mut(&vpn_type) {
                remove_unclaimed(vpn_type, hosted.driver.as_mut());
            }
        }
    }

    /// Tells the speaker what each driver can do and where it is.
    pub fn register(&self, speaker: &mut Speaker) {
        for (vpn_type, hosted) in &self.drivers {
            speaker.register_driver(*vpn_type, hosted.address, hosted.driver.capabilities());
        }
    }

    /// The capabilities of each driver.
    pub fn capabilities(&self) -> Vec<Capabilities> {
        self.drivers
            .values()
            .map(|hosted| hosted.driver.capabilities())
            .collect()
    }

    /// Applies a batch with the driver of `vpn_type`.
    pub fn apply(&mut self, vpn_type: VpnType, ops: &[Operation]) -> Result<(), String> {
        let Some(hosted) = self.drivers.get_mut(&vpn_type) else {
            return Err(format!("no {} driver", vpn_type.name()));
        };
        hosted.driver.apply(ops).map_err(|e| describe(&e))
    }

    /// The drivers, to run each on its own thread.
    pub fn into_drivers(self) -> BTreeMap<VpnType, HostedDriver> {
        self.drivers
    }
}

/// The `stale_cleanup_delay` of a driver's section, in seconds.
fn stale_cleanup_delay(
    vpn_type: VpnType,
    config: &bagpipe_core::config::DriverConfig,
) -> Result<Duration, String> {
    match config.options.get(STALE_CLEANUP_DELAY_KEY) {
        None => Ok(DEFAULT_STALE_CLEANUP_DELAY),
        Some(bagpipe_core::config::DriverOption::Integer(seconds)) => {
            Ok(Duration::from_secs(*seconds))
        }
        Some(other) => Err(format!(
            "DATAPLANE_DRIVER_{}.{STALE_CLEANUP_DELAY_KEY}: {other:?} is not a number of seconds",
            vpn_type.name().to_uppercase()
        )),
    }
}

/// Removes what an earlier run left and no instance claimed, and logs what was removed.
pub fn remove_unclaimed(vpn_type: VpnType, driver: &mut (dyn DataplaneDriver + Send)) {
    match driver.remove_unclaimed() {
        Ok(removed) if removed.is_empty() => tracing::info!(
            vpn_type = vpn_type.name(),
            "stale cleanup: nothing left by an earlier run is unclaimed"
        ),
        Ok(removed) => {
            tracing::info!(
                vpn_type = vpn_type.name(),
                "stale cleanup: removed {} things an earlier run left and no instance claimed",
                removed.len()
            );
            for what in removed {
                tracing::info!(vpn_type = vpn_type.name(), "stale cleanup: {what}");
            }
        }
        Err(e) => tracing::warn!(
            vpn_type = vpn_type.name(),
            "stale cleanup failed (the rest was attempted): {e}"
        ),
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
    let mut dataplane =
        DataplaneHost::from_config(&loaded.daemon, &loaded.resolved).map_err(|e| {
            tracing::error!("{e}");
            eprintln!("{program}: {}: {e}", loaded.source);
            2u8
        })?;
    let mut speaker = Speaker::new(loaded.resolved.speaker.clone(), crate::host::seed());
    dataplane.register(&mut speaker);
    if let Some(deferral) = dataplane.earlier_state() {
        // Peers with graceful restart keep our routes while we restart and learn that the
        // forwarding state survived (RFC 4724 §4.1).
        speaker.forwarding_preserved(deferral);
    }
    Ok(Started {
        loaded,
        dataplane,
        speaker,
    })
}
