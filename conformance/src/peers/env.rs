//! Which peers and facilities a test can use here, and how a test that cannot run says so.
//!
//! The rule: a test that needs something missing (a peer binary, root, network namespaces) prints
//! `SKIPPED: ...` and returns, *unless* the run declared that the thing must be there
//! (`BAGPIPE_REQUIRE_PEERS=1`, `BAGPIPE_REQUIRE_NETNS=1`, set by `scripts/test` when it is), in
//! which case it panics. So an interop test can skip on a laptop but never silently in CI.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable: when `1`, a missing peer binary fails the test instead of skipping it.
pub const REQUIRE_PEERS_ENV: &str = "BAGPIPE_REQUIRE_PEERS";
/// Environment variable: when `1`, missing root/network-namespace support fails the test.
pub const REQUIRE_NETNS_ENV: &str = "BAGPIPE_REQUIRE_NETNS";
/// Environment variable: a file to which every skip appends one `SKIPPED: ...` line, so that
/// `scripts/test` can list what did not run (test output is hidden when tests pass).
pub const SKIP_LOG_ENV: &str = "BAGPIPE_SKIP_LOG";

/// Directories searched after `PATH`: Debian installs FRR's daemons in `/usr/lib/frr` and
/// ExaBGP in `/usr/sbin`, which are not on a non-root `PATH`.
const EXTRA_DIRS: &[&str] = &["/usr/lib/frr", "/usr/sbin", "/sbin", "/usr/local/sbin"];

fn env_is_one(name: &str) -> bool {
    std::env::var(name).map(|v| v == "1").unwrap_or(false)
}

/// Records that a check did not run: prints `SKIPPED: {reason}` and appends it to the file named
/// by [`SKIP_LOG_ENV`] when that is set.
pub fn report_skip(reason: &str) {
    let line = format!("SKIPPED: {reason}");
    println!("{line}");
    eprintln!("{line}");
    if let Ok(path) = std::env::var(SKIP_LOG_ENV) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Finds an executable by name on `PATH` or in the usual sbin/FRR directories, without
/// checking whether it is required.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Returns the path of a peer binary (`gobgpd`, `gobgp`, `bgpd`, `vtysh`, `exabgp`, `tshark`).
///
/// When it is missing: panics if `BAGPIPE_REQUIRE_PEERS=1`, else prints `SKIPPED: ...` and
/// returns `None`, so the test can return early:
///
/// ```
/// use bagpipe_conformance::peers::require_binary;
/// let Some(_gobgpd) = require_binary("gobgpd") else { return };
/// // ... the test body that runs gobgpd ...
/// ```
pub fn require_binary(name: &str) -> Option<PathBuf> {
    match find_binary(name) {
        Some(p) => Some(p),
        None if env_is_one(REQUIRE_PEERS_ENV) => {
            panic!("{name} is not installed but {REQUIRE_PEERS_ENV}=1 (run scripts/install-deps)")
        }
        None => {
            report_skip(&format!(
                "{name} is not installed (scripts/install-deps installs it)"
            ));
            None
        }
    }
}

/// [`require_binary`] for several binaries at once: `true` when all are there.
pub fn require_binaries(names: &[&str]) -> bool {
    // Check every name so that the skip report lists all that are missing.
    names
        .iter()
        .map(|n| require_binary(n).is_some())
        .fold(true, |all, ok| all && ok)
}

/// Whether this process may create network namespaces (root and `unshare -n` works).
///
/// When it may not: panics if `BAGPIPE_REQUIRE_NETNS=1`, else reports a skip and returns
/// `false`.
pub fn require_netns() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let unshare_ok = root
        && std::process::Command::new("unshare")
            .args(["-n", "true"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if unshare_ok {
        return true;
    }
    let why = if root {
        "unshare -n failed (no network namespaces here)"
    } else {
        "not root"
    };
    if env_is_one(REQUIRE_NETNS_ENV) {
        panic!("network namespaces are unavailable ({why}) but {REQUIRE_NETNS_ENV}=1");
    }
    report_skip(&format!("network-namespace test: {why}"));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_binary_finds_sh_and_not_a_made_up_name() {
        assert!(find_binary("sh").is_some());
        assert!(find_binary("bagpipe-no-such-binary-x9").is_none());
    }
}
