//! Both daemons run their drivers' stale cleanup (`remove_unclaimed`, issue 7 restart safety)
//! once, `stale_cleanup_delay` seconds after start, and log what it did; without the option it
//! waits the default 120 s.

#[path = "../../runtime-sync/tests/support/daemon_support.rs"]
mod daemon_support;
#[path = "support/peers.rs"]
mod peers;

use daemon_support::OurDaemon;
use peers::wait_until;
use std::path::PathBuf;
use std::time::Duration;

const DONE: &str = "stale cleanup: nothing left by an earlier run is unclaimed";

fn config(local: &str, delay: Option<u64>) -> String {
    let option = delay.map_or(String::new(), |d| format!("stale_cleanup_delay = {d}\n"));
    format!(
        "[bgp]\nlocal_as = 64512\nlocal_address = \"{local}\"\n\n\
         [api]\nhost = \"{local}\"\nport = 18083\n\n\
         [dataplane.evpn]\ndriver = \"dummy\"\n{option}\n\
         [dataplane.ipvpn]\ndriver = \"dummy\"\n{option}"
    )
}

fn runs_once_after_the_delay(binary: PathBuf, name: &str, local: &str) {
    let mut daemon = OurDaemon::start(&binary, name, &config(local, Some(1)));
    assert!(
        wait_until(Duration::from_secs(10), || daemon
            .log()
            .matches(DONE)
            .count()
            == 2),
        "{}",
        daemon.log()
    );
    for vpn_type in ["evpn", "ipvpn"] {
        assert!(
            daemon
                .lines()
                .iter()
                .any(|l| l["message"] == DONE && l["vpn_type"] == vpn_type),
            "no stale cleanup for {vpn_type}:\n{}",
            daemon.log()
        );
    }
    // Once only.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(daemon.log().matches(DONE).count(), 2, "{}", daemon.log());
    assert!(daemon.terminate(Duration::from_secs(10)).success());

    // Without the option: not before the default delay.
    let mut daemon = OurDaemon::start(&binary, &format!("{name}-default"), &config(local, None));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!daemon.log().contains(DONE), "{}", daemon.log());
    assert!(daemon.terminate(Duration::from_secs(10)).success());
}

#[test]
fn smol_daemon_runs_the_stale_cleanup_once_after_the_delay() {
    runs_once_after_the_delay(
        PathBuf::from(env!("CARGO_BIN_EXE_bagpipe-bgp")),
        "stale-smol",
        "127.0.11.1",
    );
}

#[test]
fn sync_daemon_runs_the_stale_cleanup_once_after_the_delay() {
    runs_once_after_the_delay(peers::sync_daemon_binary(), "stale-sync", "127.0.11.2");
}
