//! A lab of network namespaces for end-to-end tests: namespaces with unique names
//! (`bpe-<pid>-<tag>-<name>`), processes started inside them with `ip netns exec` (which execs,
//! so the child's PID is the program's), and one guard that, when dropped (also when a test
//! fails), kills every process still running by PID, prints their logs on failure, and deletes
//! the namespaces and the lab's directory. Only addresses inside the namespaces are used.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A process started in a namespace, owned by the [`Lab`].
struct NsProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

/// A process of the lab, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc(usize);

/// The guard: namespaces, processes and a directory.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    processes: Vec<NsProcess>,
    pub dir: PathBuf,
}

impl Lab {
    /// A lab whose namespace names start with `bpe-<pid>-<tag>-`, or `None` (with
    /// "skipped: needs root and netns" printed) when namespaces cannot be created here.
    pub fn new(tag: &str) -> Option<Lab> {
        let prefix = format!("bpe-{}-{tag}-", std::process::id());
        let dir = std::env::temp_dir().join(format!("bagpipe-{prefix}lab"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab directory");
        let mut lab = Lab {
            prefix,
            namespaces: Vec::new(),
            processes: Vec::new(),
            dir,
        };
        let probe = format!("{}probe", lab.prefix);
        let created = Command::new("ip")
            .args(["netns", "add", &probe])
            .output()
            .is_ok_and(|o| o.status.success());
        if !created {
            eprintln!("skipped: needs root and netns (could not create network namespace {probe})");
            return None;
        }
        lab.namespaces.push(probe);
        Some(lab)
    }

    /// Like [`Lab::new`], with namespace names starting with `<root>-<pid>-<tag>-` instead of
    /// `bpe-<pid>-<tag>-` (tests that want their namespaces told apart by name).
    pub fn with_root(root: &str, tag: &str) -> Option<Lab> {
        let prefix = format!("{root}-{}-{tag}-", std::process::id());
        let dir = std::env::temp_dir().join(format!("bagpipe-{prefix}lab"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab directory");
        let mut lab = Lab {
            prefix,
            namespaces: Vec::new(),
            processes: Vec::new(),
            dir,
        };
        let probe = format!("{}probe", lab.prefix);
        let created = Command::new("ip")
            .args(["netns", "add", &probe])
            .output()
            .is_ok_and(|o| o.status.success());
        if !created {
            eprintln!("skipped: needs root and netns (could not create network namespace {probe})");
            return None;
        }
        lab.namespaces.push(probe);
        Some(lab)
    }

    /// Creates namespace `<prefix><short>` with `lo` up and returns its full name.
    pub fn add_ns(&mut self, short: &str) -> String {
        let name = format!("{}{short}", self.prefix);
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.namespaces.push(name.clone());
        self.ip(&name, &["link", "set", "lo", "up"]);
        name
    }

    /// `ip -n <ns> <args>`; panics with the error output when it fails.
    pub fn ip(&self, ns: &str, args: &[&str]) -> String {
        checked("ip", &["-n", ns], args)
    }

    /// `bridge -n <ns> <args>`; panics with the error output when it fails.
    pub fn bridge(&self, ns: &str, args: &[&str]) -> String {
        checked("bridge", &["-n", ns], args)
    }

    /// `ip netns exec <ns> <program> <args>`, whatever its exit status.
    pub fn exec(&self, ns: &str, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {ns} {program}: {e}"))
    }

    /// Starts `ip netns exec <ns> <program> <args>` logging to `<dir>/<name>.log`.
    pub fn spawn(&mut self, ns: &str, name: &str, program: &Path, args: &[&str]) -> Proc {
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.processes.push(NsProcess {
            name: name.to_string(),
            child,
            log,
        });
        Proc(self.processes.len() - 1)
    }

    /// The log of a process so far.
    pub fn log(&self, p: Proc) -> String {
        std::fs::read_to_string(&self.processes[p.0].log).unwrap_or_default()
    }

    /// The PID of a process.
    pub fn pid(&self, p: Proc) -> u32 {
        self.processes[p.0].child.id()
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self, p: Proc) -> Option<ExitStatus> {
        self.processes[p.0].child.try_wait().ok().flatten()
    }

    /// SIGTERM by PID, then waits at most `limit` for the exit (`None`: still running).
    pub fn terminate(&mut self, p: Proc, limit: Duration) -> Option<ExitStatus> {
        if self.exited(p).is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid(p).to_string()])
                .status();
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited(p) {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in &mut self.processes {
            if matches!(p.child.try_wait(), Ok(None)) {
                let _ = p.child.kill();
                let _ = p.child.wait();
            }
        }
        if std::thread::panicking() {
            for p in &self.processes {
                eprintln!(
                    "--- log of {} ---\n{}",
                    p.name,
                    std::fs::read_to_string(&p.log).unwrap_or_default()
                );
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn checked(tool: &str, pre: &[&str], args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(pre)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {} {}: {}",
        pre.join(" "),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
