//! Real BGP peers for tests: GoBGP, FRR bgpd and ExaBGP, started on loopback addresses.
//!
//! Each peer runs as a [`Daemon`]: its own temporary directory (configuration, sockets, log), its
//! own process group, stopped by PID (SIGTERM, then SIGKILL) when dropped — also when the test
//! panics, in which case the tail of its log is printed. All waiting is bounded polling
//! ([`wait_until`]), never a fixed sleep.
//!
//! The recipes follow `shared/design/testbed.md` (GoBGP §2, ExaBGP §3, FRR §4a). Gotchas that
//! shape tests:
//! - GoBGP treats an UPDATE whose NEXT_HOP *attribute* (type 3) is a loopback address as
//!   withdraw; FRR drops routes whose MP_REACH next hop is 127.x ("martian"). Use 10.99.0.x
//!   values as route next hops (they are only values inside BGP).
//! - With RTC negotiated GoBGP sends VPN routes only for RTs the peer asked for.
//! - GoBGP dialling GoBGP takes ~5 s to reach Established; a passive side makes it faster.
//!
//! Skipping: start each interop test with [`require_binary`]; it skips (or panics under
//! `BAGPIPE_REQUIRE_PEERS=1`, which `scripts/test` sets when the peers are installed).
//!
//! ```no_run
//! use bagpipe_conformance::peers::*;
//!
//! if !require_binaries(&["gobgpd", "gobgp"]) {
//!     return;
//! }
//! let a_addr = unique_loopback();
//! let b_addr = unique_loopback();
//! let a_cfg = GobgpConfig::new(64512, a_addr).unwrap();
//! let b_cfg = GobgpConfig::new(64512, b_addr).unwrap();
//! let a = Gobgp::start(a_cfg.clone().neighbor(
//!     GobgpNeighbor::new(b_addr, 64512, &GobgpFamily::VPN).passive(),
//! ))
//! .unwrap();
//! let b = Gobgp::start(b_cfg.neighbor(
//!     GobgpNeighbor::new(a_addr, 64512, &GobgpFamily::VPN).remote_port(a_cfg.port),
//! ))
//! .unwrap();
//! a.wait_established(b_addr, SESSION_TIMEOUT).unwrap();
//! b.cli(&["global", "rib", "-a", "vpnv4", "add", "10.1.1.0/24", "label", "1234",
//!         "rd", "64512:200", "rt", "64512:200", "nexthop", "10.99.0.2"]).unwrap();
//! a.wait_rib_contains(GobgpFamily::Vpnv4, "10.1.1.0/24", ROUTE_TIMEOUT).unwrap();
//! ```

mod env;
mod exabgp;
mod frr;
mod gobgp;
mod net;
mod process;
mod wait;

pub use env::{
    find_binary, report_skip, require_binaries, require_binary, require_netns,
    REQUIRE_NETNS_ENV, REQUIRE_PEERS_ENV, SKIP_LOG_ENV,
};
pub use exabgp::{Exabgp, ExabgpConfig, ExabgpFamily};
pub use frr::{FrrBgpd, FrrConfig, FrrFamily, FrrNeighbor};
pub use gobgp::{Gobgp, GobgpConfig, GobgpFamily, GobgpNeighbor};
pub use net::{free_port, unique_loopback};
pub use process::{Daemon, KEEP_DIRS_ENV};
pub use wait::{wait_until, Poll, POLL_INTERVAL, ROUTE_TIMEOUT, SESSION_TIMEOUT};

use std::time::Duration;

/// Why a harness operation failed. Tests usually `unwrap()` these; the message includes the
/// daemon's output.
#[derive(Debug)]
pub enum HarnessError {
    /// An I/O error while doing `context`.
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A helper command (CLI, vtysh, config check) exited unsuccessfully.
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stdout and stderr.
        output: String,
    },
    /// A daemon exited on its own.
    Exited {
        /// The daemon's name.
        name: String,
        /// Its exit status.
        status: String,
        /// Its log.
        log: String,
    },
    /// A bounded wait ran out.
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// What the last poll saw.
        last_seen: String,
    },
    /// A command printed something that is not the JSON expected.
    Json {
        /// The command line.
        command: String,
        /// The parse error.
        error: String,
        /// What it printed.
        output: String,
    },
}

impl HarnessError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::Io { context, source } => write!(f, "{context}: {source}"),
            HarnessError::CommandFailed {
                command,
                status,
                output,
            } => write!(f, "`{command}` failed ({status}):\n{output}"),
            HarnessError::Exited { name, status, log } => {
                write!(f, "{name} exited ({status}); its log:\n{log}")
            }
            HarnessError::Timeout {
                what,
                waited,
                last_seen,
            } => write!(f, "timed out after {waited:?} waiting for {what}; last seen: {last_seen}"),
            HarnessError::Json {
                command,
                error,
                output,
            } => write!(f, "`{command}` printed invalid JSON ({error}):\n{output}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// A BGP session's FSM state as a peer reports it (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerState {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl PeerState {
    /// Parses the state names the peers print (`Established`, `ESTABLISHED`, `Establ`,
    /// `OpenSent`, `OPENSENT`, ...).
    pub fn from_name(s: &str) -> Option<PeerState> {
        let l = s.to_ascii_lowercase().replace(['_', '-', ' '], "");
        Some(match l.as_str() {
            "idle" => PeerState::Idle,
            "connect" => PeerState::Connect,
            "active" => PeerState::Active,
            "opensent" => PeerState::OpenSent,
            "openconfirm" => PeerState::OpenConfirm,
            "established" | "establ" => PeerState::Established,
            _ => return None,
        })
    }
}

/// Runs a helper command to completion and returns its stdout; fails with stdout+stderr.
fn run_command(mut cmd: std::process::Command) -> Result<String, HarnessError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| HarnessError::io(format!("running {shown}"), e))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(HarnessError::CommandFailed {
            command: shown,
            status: out.status.to_string(),
            output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        })
    }
}

fn parse_json(command: &str, text: &str) -> Result<serde_json::Value, HarnessError> {
    serde_json::from_str(text).map_err(|e| HarnessError::Json {
        command: command.to_string(),
        error: e.to_string(),
        output: text.to_string(),
    })
}

#[cfg(test)]
mod selftest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_state_names_from_all_three_peers_parse() {
        assert_eq!(
            PeerState::from_name("Established"),
            Some(PeerState::Established)
        );
        assert_eq!(PeerState::from_name("Establ"), Some(PeerState::Established));
        assert_eq!(PeerState::from_name("OPEN_SENT"), Some(PeerState::OpenSent));
        assert_eq!(PeerState::from_name("bogus"), None);
    }
}
