//! Network namespaces for tests: created with a unique name, always deleted (guard with `Drop`),
//! and a way to run code inside one on a thread of its own (`setns`).

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A named network namespace (`ip netns add`), deleted when dropped.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Netns {
    /// Creates `bgpt-<tag>-<pid>-<n>` with `lo` up, or `None` (with the skip message printed)
    /// when this process cannot (not root, no netns support).
    pub fn new(tag: &str) -> Option<Netns> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("bgpt-{tag}-{}-{n}", std::process::id());
        let created = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !created {
            eprintln!("skipped: needs root and netns (could not create network namespace {name})");
            return None;
        }
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result
    /// (a panic in `f` is a panic here).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("open netns file");
                rustix::thread::move_into_link_name_space(
                    std::os::fd::AsFd::as_fd(&file),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("setns");
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// `ip -n <ns> <args>`; panics with the command's error output when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        run_tool("ip", &self.name, args)
    }

    /// `bridge -n <ns> <args>`.
    pub fn bridge(&self, args: &[&str]) -> String {
        run_tool("bridge", &self.name, args)
    }

    /// `ip -n <ns> <args>`, without failing.
    pub fn ip_status(&self, args: &[&str]) -> bool {
        Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run_tool(tool: &str, ns: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(["-n", ns])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} -n {ns} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
