//! Runs a bagpipe-bgp binary as a child process for tests: a TOML configuration in a fresh
//! directory, JSON logs in a file, peer states read from the `peer state changed` lines,
//! SIGTERM by PID, and SIGKILL plus cleanup when dropped (also when a test fails).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct OurDaemon {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
}

impl OurDaemon {
    /// Start `binary` with `config` (TOML) in a new directory named after `name`.
    pub fn start(binary: &Path, name: &str, config: &str) -> OurDaemon {
        Self::start_with_file(binary, name, "bagpipe.toml", config)
    }

    /// Start `binary` with `config` written to `file_name` (its extension chooses the syntax:
    /// `.conf` is BaGPipe-BGP's INI).
    pub fn start_with_file(binary: &Path, name: &str, file_name: &str, config: &str) -> OurDaemon {
        let dir = std::env::temp_dir().join(format!("bagpipe-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config_path = dir.join(file_name);
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("bagpipe.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg("--config-file")
            .arg(&config_path)
            .args(["--log-format", "json", "--log-level", "debug"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        OurDaemon { child, dir, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log lines.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.log()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Every state `peer` went through, in order.
    pub fn states(&self, peer: &str) -> Vec<String> {
        self.lines()
            .iter()
            .filter(|l| l["message"] == "peer state changed" && l["peer"] == peer)
            .filter_map(|l| l["to"].as_str().map(str::to_string))
            .collect()
    }

    /// The current state of `peer`, as last logged.
    pub fn state(&self, peer: &str) -> Option<String> {
        self.states(peer).pop()
    }

    /// Wait until `peer` is in `state`; panics with the log when it is not within `limit`.
    pub fn wait_state(&mut self, peer: &str, state: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.state(peer).as_deref() == Some(state) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "daemon exited ({status}) before {peer} was {state}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{peer} not {state} within {limit:?} (states {:?}); log:\n{}",
            self.states(peer),
            self.log()
        );
    }

    /// Wait until `peer` has gone through `state` `count` times.
    pub fn wait_state_count(&mut self, peer: &str, state: &str, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.states(peer).iter().filter(|s| *s == state).count() >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{peer} not {state} {count} times within {limit:?} (states {:?}); log:\n{}",
            self.states(peer),
            self.log()
        );
    }

    /// Send `signal` (e.g. "STOP", "CONT", "TERM") to the daemon, by PID.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// SIGTERM, then wait for the exit (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit {limit:?} after SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OurDaemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.dir.display(), self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The configuration of a speaker at `local` with AS 64512; `extra` is appended (peers, listen).
pub fn config(local: &str, extra: &str) -> String {
    // The API on the speaker's own address: tests run side by side.
    format!("[bgp]\nlocal_as = 64512\nlocal_address = \"{local}\"\n{extra}\n[api]\nhost = \"{local}\"\nport = 18082\n")
}
