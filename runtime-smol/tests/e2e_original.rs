//! End to end with the original: BaGPipe-BGP itself (networking-bagpipe 23.0.0 with exabgp
//! 4.2.25, dummy dataplane drivers, shared/design/testbed.md §9) and our daemon, both clients of
//! one GoBGP route reflector with RT-Constraint on. An E-VPN port and an IP-VPN port attached
//! over REST on each node are imported by the other: seen in both looking glasses as best routes
//! (and, on ours, as dummy-driver operations); a detach on each side withdraws them from the
//! other.
//!
//! The original runs from a Python virtualenv, found (or built once and then reused) at
//! `$BAGPIPE_ORIGINAL_VENV`, `/var/cache/bagpipe-rs-test-venv` or `target/bagpipe-venv`
//! (`scripts/install-deps` builds the first one). When it cannot be built (no python3-venv, no
//! network for pip) the test prints `skipped: <why>` and returns.

#[path = "../../runtime-sync/tests/support/daemon_support.rs"]
mod daemon_support;
#[path = "support/peers.rs"]
mod peers;

use daemon_support::OurDaemon;
use peers::{http, installed, looking_glass, spawn_process, wait_until, Gobgp, TestDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const PINS: [&str; 2] = ["networking-bagpipe==23.0.0", "exabgp==4.2.25"];
/// Written last into a venv whose install succeeded (the name scripts/install-deps uses).
const MARKER: &str = ".bagpipe-rs-complete";

fn venv_candidates() -> Vec<PathBuf> {
    let mut list = Vec::new();
    if let Some(dir) = std::env::var_os("BAGPIPE_ORIGINAL_VENV") {
        list.push(PathBuf::from(dir));
    }
    list.push(PathBuf::from("/var/cache/bagpipe-rs-test-venv"));
    // <workspace>/target/bagpipe-venv, next to the test binaries.
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_bagpipe-bgp"));
    if let Some(target) = ours.parent().and_then(Path::parent) {
        list.push(target.join("bagpipe-venv"));
    }
    list
}

fn complete(venv: &Path) -> bool {
    venv.join(MARKER).is_file() && venv.join("bin/bagpipe-bgp").is_file()
}

/// The venv of the original BaGPipe-BGP: an existing complete one, or a new one built at the
/// first location where that works. Err says why there is none.
fn original_venv() -> Result<PathBuf, String> {
    let candidates = venv_candidates();
    if let Some(found) = candidates.iter().find(|v| complete(v)) {
        return Ok(found.clone());
    }
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| installed(p))
        .ok_or("no python3")?;
    let has_venv = Command::new(python)
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_venv {
        return Err(format!(
            "{python} has no venv/ensurepip (install python3-venv: scripts/install-deps)"
        ));
    }
    let mut why = Vec::new();
    for venv in &candidates {
        // Only ever remove an earlier, incomplete venv: never another directory.
        let empty = std::fs::read_dir(venv).map_or(true, |mut d| d.next().is_none());
        if !empty && !venv.join("pyvenv.cfg").is_file() {
            why.push(format!("{} exists and is not a venv", venv.display()));
            continue;
        }
        let _ = std::fs::remove_dir_all(venv);
        if let Some(parent) = venv.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                why.push(format!("{}: {e}", parent.display()));
                continue;
            }
        }
        eprintln!(
            "building the original BaGPipe-BGP venv in {} ({})",
            venv.display(),
            PINS.join(" ")
        );
        let made = Command::new(python)
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .output()
            .map_err(|e| e.to_string())
            .and_then(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&o.stderr).into_owned())
                }
            });
        if let Err(e) = made {
            why.push(format!("python3 -m venv {}: {}", venv.display(), e.trim()));
            let _ = std::fs::remove_dir_all(venv);
            continue;
        }
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--timeout", "30", "--retries", "1"])
            .args(PINS)
            .output();
        match pip {
            Ok(o) if o.status.success() && venv.join("bin/bagpipe-bgp").is_file() => {
                std::fs::write(venv.join(MARKER), PINS.join("\n") + "\n")
                    .map_err(|e| e.to_string())?;
                return Ok(venv.clone());
            }
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err.lines().rev().find(|l| !l.trim().is_empty());
                let _ = std::fs::remove_dir_all(venv);
                // pip without network fails the same way everywhere: stop there.
                return Err(format!(
                    "pip install {} failed: {}",
                    PINS.join(" "),
                    last.unwrap_or("no output")
                ));
            }
            Err(e) => {
                why.push(format!("pip: {e}"));
                let _ = std::fs::remove_dir_all(venv);
            }
        }
    }
    Err(format!("no venv could be built: {}", why.join("; ")))
}

/// BaGPipe-BGP's bgp.conf: dummy drivers, RT-Constraint, dialling `rr`:`rr_port`.
fn original_config(local: &str, rr: &str, rr_port: u16, api_port: u16) -> String {
    format!(
        "[BGP]\nlocal_address = {local}\npeers = {rr}\nmy_as = 64512\nenable_rtc = True\nbgp_port = {rr_port}\n\n\
         [API]\nhost = {local}\nport = {api_port}\n\n\
         [DATAPLANE_DRIVER_IPVPN]\ndataplane_driver = dummy\n\n\
         [DATAPLANE_DRIVER_EVPN]\ndataplane_driver = dummy\n"
    )
}

fn our_config(local: &str, rr: &str, rr_port: u16, api_port: u16) -> String {
    format!(
        "[bgp]\nlocal_as = 64512\nlocal_address = \"{local}\"\n\n\
         [[peers]]\naddress = \"{rr}\"\nport = {rr_port}\nhold_time = 9\nconnect_retry = 1\n\n\
         [api]\nhost = \"{local}\"\nport = {api_port}\n"
    )
}

fn evpn_attach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{mac}", "ip_address": "{ip}",
            "gateway_ip": "10.100.0.254", "advertise_subnet": false, "vni": 100,
            "local_port": {{"linuxif": "{port}"}}, "import_rt": ["64512:100"], "export_rt": ["64512:100"]}}"#
    )
}

fn ipvpn_attach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "{mac}", "ip_address": "{ip}",
            "gateway_ip": "10.50.0.1", "advertise_subnet": false, "local_port": {{"linuxif": "{port}"}},
            "import_rt": ["64512:200"], "export_rt": ["64512:200"]}}"#
    )
}

fn evpn_detach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "evpn", "vpn_instance_id": "net1", "mac_address": "{mac}", "ip_address": "{ip}",
            "local_port": {{"linuxif": "{port}"}}}}"#
    )
}

fn ipvpn_detach(mac: &str, ip: &str, port: &str) -> String {
    format!(
        r#"{{"vpn_type": "ipvpn", "vpn_instance_id": "vrf1", "mac_address": "{mac}", "ip_address": "{ip}",
            "local_port": {{"linuxif": "{port}"}}}}"#
    )
}

fn operations(api: &str, vpn_type: &str) -> Vec<Value> {
    looking_glass(
        api,
        &format!("vpns/dataplane/drivers/{vpn_type}/operations"),
    )
    .as_array()
    .cloned()
    .unwrap_or_default()
}

fn has_operation(api: &str, vpn_type: &str, name: &str, needles: &[&str]) -> bool {
    operations(api, vpn_type).iter().any(|op| {
        let text = op.to_string();
        op["operation"] == name && needles.iter().all(|n| text.contains(n))
    })
}

/// The best routes of instance `id` in a looking glass (ours or the original's), as lower-case
/// text (the original writes MAC addresses in upper case).
fn best_routes(api: &str, id: &str) -> String {
    looking_glass(api, &format!("vpns/instances/{id}/best_routes"))
        .to_string()
        .to_lowercase()
}

fn attach(api: &str, path: &str, body: &str) {
    let (status, answer) = http(api, "POST", path, body);
    assert_eq!(status, 200, "{path} on {api}: {answer}\nrequest: {body}");
}

#[test]
fn original_bagpipe_and_ours_behind_gobgp() {
    if ["gobgpd", "gobgp"].iter().any(|p| !installed(p)) {
        eprintln!("skipped: gobgpd not installed (run scripts/install-deps)");
        return;
    }
    let venv = match original_venv() {
        Ok(venv) => venv,
        Err(why) => {
            eprintln!("skipped: the original BaGPipe-BGP is not available: {why}");
            return;
        }
    };
    let dir = TestDir::new("e2e-original");
    let rr = "127.0.7.21";
    let orig_addr = "127.0.7.22";
    let our_addr = "127.0.7.23";
    let (rr_port, orig_api_port, our_api_port, grpc) = (11836, 11837, 11838, 11839);
    let orig_api = format!("{orig_addr}:{orig_api_port}");
    let our_api = format!("{our_addr}:{our_api_port}");

    let gobgp = Gobgp::start_reflector(&dir.0, rr, rr_port, grpc);
    std::thread::sleep(Duration::from_millis(500));

    let conf = dir.0.join("bgp.conf");
    std::fs::write(
        &conf,
        original_config(orig_addr, rr, rr_port, orig_api_port),
    )
    .expect("bgp.conf");
    let mut command = Command::new(venv.join("bin/bagpipe-bgp"));
    // Without --debug: exabgp 4.2.25 drops the session when it formats its debug log of an
    // RTC update (testbed.md §9).
    command.arg("--config-file").arg(&conf);
    let original = spawn_process("original-bagpipe-bgp", &dir.0, command);
    let mut ours = OurDaemon::start(
        Path::new(env!("CARGO_BIN_EXE_bagpipe-bgp")),
        "original-ours",
        &our_config(our_addr, rr, rr_port, our_api_port),
    );
    ours.wait_state(rr, "Established", LIMIT);
    assert!(
        wait_until(LIMIT, || gobgp.is_established(orig_addr)),
        "the original is not Established with GoBGP: {}\n{}",
        gobgp.cli(&["neighbor"]),
        original.log()
    );
    let (status, ping) = http(&orig_api, "GET", "/ping", "");
    assert_eq!(status, 200, "the original's /ping: {ping}");

    // One E-VPN port and one IP-VPN port on each side.
    attach(
        &orig_api,
        "/attach_localport",
        &evpn_attach("02:00:00:00:0c:01", "10.100.0.31/24", "tapo1"),
    );
    attach(
        &our_api,
        "/attach_localport",
        &evpn_attach("02:00:00:00:0d:01", "10.100.0.41/24", "tapr1"),
    );
    attach(
        &orig_api,
        "/attach_localport",
        &ipvpn_attach("02:00:00:00:0c:02", "10.50.0.31/24", "tapo2"),
    );
    attach(
        &our_api,
        "/attach_localport",
        &ipvpn_attach("02:00:00:00:0d:02", "10.50.0.41/24", "tapr2"),
    );
    let rib = || {
        format!(
            "evpn:\n{}vpnv4:\n{}rtc:\n{}",
            gobgp.cli(&["global", "rib", "-a", "evpn"]),
            gobgp.cli(&["global", "rib", "-a", "vpnv4"]),
            gobgp.cli(&["global", "rib", "-a", "rtc"])
        )
    };
    // Both sides' routes reach the reflector.
    assert!(
        wait_until(LIMIT, || {
            let rib = rib();
            ["02:00:00:00:0c:01", "02:00:00:00:0d:01"]
                .iter()
                .all(|mac| rib.contains(&format!("[mac:{mac}]")))
                && rib.contains("10.50.0.31/32")
                && rib.contains("10.50.0.41/32")
        }),
        "{}",
        rib()
    );

    // Ours imports the original's routes: best routes and dummy-driver operations (the
    // original's MAC and host route via the original's address, its flood entry).
    assert!(
        wait_until(LIMIT, || best_routes(&our_api, "net1")
            .contains("02:00:00:00:0c:01")),
        "ours, net1: {}\nreflector:\n{}",
        best_routes(&our_api, "net1"),
        rib()
    );
    assert!(
        wait_until(LIMIT, || has_operation(
            &our_api,
            "evpn",
            "setup_remote_endpoint",
            &["02:00:00:00:0c:01", orig_addr]
        )),
        "{:?}",
        operations(&our_api, "evpn")
    );
    assert!(
        wait_until(LIMIT, || has_operation(
            &our_api,
            "evpn",
            "add_flood_entry",
            &[orig_addr]
        )),
        "{:?}",
        operations(&our_api, "evpn")
    );
    assert!(
        wait_until(LIMIT, || best_routes(&our_api, "vrf1")
            .contains("10.50.0.31/32")),
        "ours, vrf1: {}\nreflector:\n{}",
        best_routes(&our_api, "vrf1"),
        rib()
    );
    assert!(
        wait_until(LIMIT, || has_operation(
            &our_api,
            "ipvpn",
            "setup_remote_endpoint",
            &["10.50.0.31/32", orig_addr]
        )),
        "{:?}",
        operations(&our_api, "ipvpn")
    );

    // The original imports ours: its looking glass shows our MAC and host route as best routes.
    assert!(
        wait_until(LIMIT, || best_routes(&orig_api, "net1")
            .contains("02:00:00:00:0d:01")),
        "original, net1: {}\nreflector:\n{}\noriginal's log:\n{}",
        best_routes(&orig_api, "net1"),
        rib(),
        original.log()
    );
    assert!(
        wait_until(LIMIT, || best_routes(&orig_api, "vrf1")
            .contains("10.50.0.41/32")),
        "original, vrf1: {}\nreflector:\n{}\noriginal's log:\n{}",
        best_routes(&orig_api, "vrf1"),
        rib(),
        original.log()
    );

    // Withdrawals both ways, each checked in an instance that still has a local port: ours
    // detaches its E-VPN port and the original loses our MAC; the original detaches its IP-VPN
    // port and ours loses its host route.
    attach(
        &our_api,
        "/detach_localport",
        &evpn_detach("02:00:00:00:0d:01", "10.100.0.41/24", "tapr1"),
    );
    assert!(
        wait_until(LIMIT, || {
            // The original lists only routes from BGP here; "null" would be a missing instance.
            let best = best_routes(&orig_api, "net1");
            best.starts_with('{') && !best.contains("02:00:00:00:0d:01")
        }),
        "original, net1: {}",
        best_routes(&orig_api, "net1")
    );
    attach(
        &orig_api,
        "/detach_localport",
        &ipvpn_detach("02:00:00:00:0c:02", "10.50.0.31/24", "tapo2"),
    );
    assert!(
        wait_until(LIMIT, || has_operation(
            &our_api,
            "ipvpn",
            "remove_remote_endpoint",
            &["10.50.0.31/32"]
        )),
        "{:?}",
        operations(&our_api, "ipvpn")
    );
    let best = best_routes(&our_api, "vrf1");
    assert!(
        best.starts_with('{') && !best.contains("10.50.0.31/32"),
        "ours, vrf1: {best}"
    );

    // The original handled our routes without errors (oslo.log lines: date time pid LEVEL).
    let log = original.log();
    let level = |line: &str, wanted: &str| line.split_whitespace().nth(3) == Some(wanted);
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| level(l, "ERROR") || level(l, "CRITICAL") || l.starts_with("Traceback"))
        .collect();
    assert!(
        errors.is_empty(),
        "errors in the original's log:\n{}",
        errors.join("\n")
    );
    let warnings: Vec<&str> = log.lines().filter(|l| level(l, "WARNING")).collect();
    eprintln!("the original's warnings:\n{}", warnings.join("\n"));

    assert!(ours.terminate(Duration::from_secs(10)).success());
    drop(original);
}
