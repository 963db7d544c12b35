//! A transport-level engine for testing the runtimes' plumbing without the BGP core: it dials
//! (or accepts), sends a message, echoes what it receives, and says goodbye on shutdown. Every
//! input it gets is recorded so the tests can check what the runtime delivered, in order.

#![allow(dead_code)]

use bagpipe_core::looking_glass::{LookingGlassInfo, NotFound, OperationLog};
use bagpipe_core::speaker::{
    ApiCall, ApiTicket, BatchId, ConnectionId, Direction, NetInput, NetOutput, Output, PeerId,
};
use bagpipe_core::time::Instant;
use bagpipe_sync::Engine;
use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the engine does.
pub enum Role {
    /// Dial `remote` from `local` and send `message` once connected.
    Dialer {
        remote: SocketAddr,
        local: IpAddr,
        message: Vec<u8>,
    },
    /// Echo every received chunk back.
    Echo,
    /// Accept and drop everything received.
    Sink,
}

pub struct EchoEngine {
    pub log: Arc<Mutex<Vec<String>>>,
    role: Role,
    out: VecDeque<NetOutput>,
    open: BTreeSet<ConnectionId>,
    timer: Option<Instant>,
    received: Vec<u8>,
}

impl EchoEngine {
    pub fn new(role: Role) -> (Self, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let engine = EchoEngine {
            log: log.clone(),
            role,
            out: VecDeque::new(),
            open: BTreeSet::new(),
            timer: None,
            received: Vec::new(),
        };
        (engine, log)
    }

    fn record(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

impl Engine for EchoEngine {
    fn start(&mut self, now: Instant) {
        self.timer = Some(now + Duration::from_millis(300));
        if let Role::Dialer { remote, local, .. } = &self.role {
            self.out.push_back(NetOutput::Dial {
                peer: PeerId(0),
                remote: *remote,
                local: Some(*local),
            });
        }
    }

    fn handle_net(&mut self, _now: Instant, input: NetInput) {
        match input {
            NetInput::Connected {
                conn,
                direction,
                peer,
                local,
                remote,
            } => {
                self.record(format!(
                    "connected {direction:?} peer={peer:?} local={} remote={}",
                    local.ip(),
                    remote.ip()
                ));
                self.open.insert(conn);
                if let Role::Dialer { message, .. } = &self.role {
                    self.out.push_back(NetOutput::Send {
                        conn,
                        bytes: message.clone(),
                    });
                }
            }
            NetInput::DialFailed { peer, .. } => self.record(format!("dial failed {peer:?}")),
            NetInput::Received { conn, bytes } => match &self.role {
                Role::Echo => self.out.push_back(NetOutput::Send { conn, bytes }),
                Role::Sink => {}
                Role::Dialer { message, .. } => {
                    self.received.extend(bytes);
                    if self.received.starts_with(message) {
                        self.record("echo complete".into());
                        self.received.drain(..message.len());
                    }
                    if self.received.starts_with(b"bye") {
                        self.record("got bye".into());
                    }
                }
            },
            NetInput::Written { len, .. } => self.record(format!("written {len}")),
            NetInput::Closed { conn, .. } => {
                self.open.remove(&conn);
                self.record("closed".into());
            }
        }
    }

    fn handle_timeout(&mut self, _now: Instant) {
        self.timer = None;
        self.record("timer".into());
    }

    fn shutdown(&mut self, _now: Instant, message: &str) {
        self.record(format!("shutdown {message}"));
        for conn in std::mem::take(&mut self.open) {
            self.out.push_back(NetOutput::Send {
                conn,
                bytes: b"bye".to_vec(),
            });
            self.out.push_back(NetOutput::Close { conn });
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front().map(Output::Net)
    }

    fn dataplane_done(&mut self, _now: Instant, _batch: BatchId, _result: Result<(), String>) {}

    fn api(&mut self, _now: Instant, _ticket: ApiTicket, _call: ApiCall) {}

    fn looking_glass(
        &self,
        path: &[String],
        _base: &str,
        _info: &LookingGlassInfo,
        _operations: &OperationLog,
    ) -> Result<serde_json::Value, NotFound> {
        Err(NotFound {
            segment: path.first().cloned().unwrap_or_default(),
            prefix: "looking-glass".into(),
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }
}

/// Connect to `address` and write as fast as possible for `duration` (a peer flooding us).
pub fn flood(address: SocketAddr, duration: Duration) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let chunk = vec![0xffu8; 64 * 1024];
        let end = std::time::Instant::now() + duration;
        let mut sent = 0u64;
        while std::time::Instant::now() < end {
            match stream.write(&chunk) {
                Ok(n) => sent += n as u64,
                Err(_) => break,
            }
        }
        sent
    })
}

/// Wait until `log` has a line equal to `line`, up to `limit`.
pub fn wait_for(log: &Arc<Mutex<Vec<String>>>, line: &str, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if log.lock().unwrap().iter().any(|l| l == line) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

pub fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Outgoing => "Outgoing",
        Direction::Incoming => "Incoming",
    }
}
