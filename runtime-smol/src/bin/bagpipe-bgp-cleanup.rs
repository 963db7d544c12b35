//! `bagpipe-bgp-cleanup`: removes everything the configured dataplane drivers could have created
//! (BaGPipe-BGP's `reset_state()`, reference §4.3), then exits. Run it with the configuration the
//! daemon runs with (`--config-file`), while the daemon is stopped.
//!
//! Exit status: 0 when every configured driver was cleaned up or has nothing this version could
//! have created, 1 when the configuration cannot be loaded or a cleanup failed.

use bagpipe_core::config::{DriverConfig, DriverKind, DriverOption, VpnType};
use bagpipe_core::dataplane::{DataplaneDriver, DriverError};
use bagpipe_drivers::dummy::DummyDriver;
use bagpipe_drivers::linux::{LinuxEvpnConfig, LinuxEvpnDriver};
use bagpipe_sync::host::{init_logging, load_config, CommonArgs};
use clap::Parser;
use std::net::IpAddr;
use std::process::ExitCode;

/// Remove the dataplane state of BaGPipe BGP's drivers.
#[derive(Debug, Parser)]
#[command(name = "bagpipe-bgp-cleanup", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

/// What happened to one VPN type's driver.
enum Outcome {
    Cleaned(&'static str),
    Skipped(&'static str),
    Failed(DriverError),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let loaded = match load_config(
        args.common.config_file.as_deref(),
        args.common.config_format,
    ) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("bagpipe-bgp-cleanup: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = init_logging(&args.common, &loaded.daemon.logging) {
        eprintln!("bagpipe-bgp-cleanup: {e}");
        return ExitCode::from(1);
    }
    println!("configuration: {}", loaded.source);
    let dataplane = &loaded.daemon.dataplane;
    let mut failed = false;
    for (vpn_type, driver, local_address) in [
        (
            VpnType::Ipvpn,
            &dataplane.ipvpn,
            loaded.resolved.ipvpn_local_address,
        ),
        (
            VpnType::Evpn,
            &dataplane.evpn,
            loaded.resolved.evpn_local_address,
        ),
    ] {
        let kind = driver.driver.name();
        match cleanup(vpn_type, driver, local_address) {
            Outcome::Cleaned(what) => println!("{}: {kind} driver: {what}", vpn_type.name()),
            Outcome::Skipped(why) => println!("{}: {kind} driver: skipped: {why}", vpn_type.name()),
            Outcome::Failed(e) => {
                failed = true;
                println!("{}: {kind} driver: cleanup failed: {e}", vpn_type.name());
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn cleanup(vpn_type: VpnType, driver: &DriverConfig, local_address: IpAddr) -> Outcome {
    match (driver.driver, vpn_type) {
        (DriverKind::Dummy, _) => match DummyDriver::new(vpn_type).cleanup_all() {
            Ok(()) => Outcome::Cleaned("nothing to remove (it programs nothing)"),
            Err(e) => Outcome::Failed(e),
        },
        (DriverKind::Linux, VpnType::Evpn) => {
            let mut config = LinuxEvpnConfig::new(local_address);
            if let Some(DriverOption::Integer(port)) = driver.options.get("vxlan_dst_port") {
                if let Ok(port) = u16::try_from(*port) {
                    config.vxlan_dst_port = port;
                }
            }
            match LinuxEvpnDriver::new(config).and_then(|mut d| d.cleanup_all()) {
                Ok(()) => Outcome::Cleaned("removed the bridges and VXLAN devices it created"),
                Err(e) => Outcome::Failed(e),
            }
        }
        (DriverKind::Linux, VpnType::Ipvpn) => Outcome::Skipped(
            "the Linux IP-VPN driver (VRF and MPLS routes) is not implemented in bagpipe-rs yet, \
             so there is nothing of it to remove",
        ),
        (DriverKind::Ovs, _) => Outcome::Skipped(
            "the OVS driver is not implemented in bagpipe-rs yet, so there is nothing of it to \
             remove",
        ),
    }
}
