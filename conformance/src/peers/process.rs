//! A daemon started by a test, stopped by its PID when dropped.
//!
//! Each daemon runs in its own process group (so helper processes it forks, such as ExaBGP's API
//! scripts, are stopped with it) and in its own temporary directory (configuration, sockets, log).
//! On drop — also while a test panics — the group gets SIGTERM, then SIGKILL after a grace
//! period, and the directory is removed. If the test process itself is killed (a test timeout),
//! the kernel sends the daemon SIGKILL (`PR_SET_PDEATHSIG`), so nothing outlives the test.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::HarnessError;

/// How long a daemon gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(3);

/// Environment variable: when `1`, daemons' temporary directories are kept (their path is
/// printed) for debugging.
pub const KEEP_DIRS_ENV: &str = "BAGPIPE_KEEP_PEER_DIRS";

/// A running daemon process with its working directory and log file.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    dir: tempfile::TempDir,
    log_path: PathBuf,
    stopped: bool,
}

impl Daemon {
    /// Creates an empty working directory for a daemon called `name`.
    pub fn make_dir(name: &str) -> Result<tempfile::TempDir, HarnessError> {
        tempfile::Builder::new()
            .prefix(&format!("bagpipe-{name}-"))
            .tempdir()
            .map_err(|e| HarnessError::io(format!("creating a temp dir for {name}"), e))
    }

    /// Starts `command` with stdout and stderr going to `dir/<name>.log`, stdin closed, in a new
    /// process group, and with SIGKILL as its parent-death signal.
    ///
    /// The parent-death signal fires when the *thread* that spawned the daemon exits: start
    /// daemons on the test's own thread.
    pub fn spawn(
        name: &str,
        mut command: Command,
        dir: tempfile::TempDir,
    ) -> Result<Daemon, HarnessError> {
        use std::os::unix::process::CommandExt;
        let log_path = dir.path().join(format!("{name}.log"));
        let log = File::create(&log_path)
            .map_err(|e| HarnessError::io(format!("creating {}", log_path.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| HarnessError::io("cloning the log file handle", e))?;
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        // SAFETY: the closure only calls prctl(2), which is async-signal-safe, between fork and
        // exec; it touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let child = command
            .spawn()
            .map_err(|e| HarnessError::io(format!("starting {name} ({command:?})"), e))?;
        Ok(Daemon {
            name: name.to_string(),
            child,
            dir,
            log_path,
            stopped: false,
        })
    }

    /// The daemon's name, as given to [`Daemon::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The daemon's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the daemon wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Fails with the log when the daemon has exited (e.g. a configuration error).
    pub fn check_running(&mut self) -> Result<(), HarnessError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(HarnessError::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log(),
            }),
            Err(e) => Err(HarnessError::io(format!("waiting for {}", self.name), e)),
        }
    }

    /// Stops the daemon: SIGTERM to its process group, SIGKILL after a grace period. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let Ok(raw) = i32::try_from(self.child.id()) else {
            return;
        };
        let group = Pid::from_raw(-raw);
        let _ = kill(group, Signal::SIGTERM);
        let deadline = Instant::now() + TERM_GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Also catches helpers still in the group after the leader exited.
        let _ = kill(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "---- last lines of {} ({}) ----",
                self.name,
                self.log_path.display()
            );
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        if std::env::var(KEEP_DIRS_ENV).map(|v| v == "1").unwrap_or(false) {
            let dir = std::mem::replace(
                &mut self.dir,
                match tempfile::tempdir() {
                    Ok(d) => d,
                    Err(_) => return,
                },
            );
            eprintln!("kept {} dir: {}", self.name, dir.keep().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_stops_the_whole_process_group() {
        let dir = Daemon::make_dir("sleeper").unwrap();
        let mut cmd = Command::new("sh");
        // A child of the daemon that ignores nothing: it must die with the group.
        cmd.args(["-c", "sleep 300 & echo $! > child.pid; wait"]);
        let mut d = Daemon::spawn("sleeper", cmd, dir).unwrap();
        let pid_file = d.dir().join("child.pid");
        let child_pid = super::super::wait_until("child pid file", Duration::from_secs(5), || {
            match std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                Some(p) => super::super::Poll::Ready(p),
                None => super::super::Poll::Pending("no pid yet".into()),
            }
        })
        .unwrap();
        assert!(d.is_running());
        let dir = d.dir().to_path_buf();
        drop(d);
        // kill(pid, 0) fails with ESRCH once the process is gone (it was reaped by init).
        let gone = super::super::wait_until("child gone", Duration::from_secs(5), || {
            match kill(Pid::from_raw(child_pid), None) {
                Err(_) => super::super::Poll::Ready(()),
                Ok(()) => super::super::Poll::Pending("still there".into()),
            }
        });
        assert!(gone.is_ok(), "the daemon's child survived the drop");
        assert!(!dir.exists(), "the temp dir was not removed");
    }
}
