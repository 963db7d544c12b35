//! The single-threaded run loop: nonblocking std sockets and poll(2), one thread, no executor.
//!
//! Each turn: deadlines first (so a keepalive or hold-timer expiry never waits behind reads,
//! peer-bug-history row 12), then at most one read per ready connection (fairness), then
//! pending writes; every input is followed by draining all of the engine's outputs.

use crate::api_bridge::ApiBridge;
use crate::dataplane::DataplaneHost;
use crate::engine::{log_event, Engine};
use crate::host::Clock;
use crate::http::Waker;
use bagpipe_core::speaker::{
    BatchId, ConnectionId, Direction, NetInput, NetOutput, Output, PeerId,
};
use rustix::event::{PollFd, PollFlags, Timespec};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Largest read handed to the engine at once (both runtimes).
pub const READ_CHUNK: usize = 64 * 1024;
/// How often the stop flag is looked at when nothing else happens.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// A dial that has not completed by then fails (the core's ConnectRetry then retries).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a clean stop waits for the final messages (the Cease) to be written.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);
/// How long a closed connection is drained for the peer's end of stream. Closing a socket
/// with unread bytes sends a reset, and a reset can make the peer drop our last message
/// (the NOTIFICATION) unread; so we half-close, read until the peer closes, then let go.
pub const LINGER: Duration = Duration::from_secs(2);

/// Why the loop could not run.
#[derive(Debug)]
pub enum RunError {
    /// The listening socket could not be opened.
    Listen {
        /// Where.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// poll(2) failed.
    Poll(std::io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Listen { address, error } => write!(f, "cannot listen on {address}: {error}"),
            RunError::Poll(error) => write!(f, "poll failed: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

struct Connection {
    stream: TcpStream,
    /// Bytes the engine asked to send that the socket has not taken yet.
    out: VecDeque<u8>,
    /// The engine asked to close once `out` is written.
    closing: bool,
}

struct PendingDial {
    socket: Socket,
    peer: PeerId,
    remote: SocketAddr,
    deadline: std::time::Instant,
}

/// A connection the engine closed: written out and half-closed, drained until the peer's end.
struct Lingering {
    stream: TcpStream,
    deadline: std::time::Instant,
    /// The peer closed (or the socket failed): nothing left to wait for.
    done: bool,
}

#[derive(Clone, Copy)]
enum Slot {
    Listener,
    ApiWaker,
    Dial(PeerId),
    Conn(ConnectionId),
    Lingering(usize),
}

struct Loop<'e, E: Engine> {
    engine: &'e mut E,
    clock: Clock,
    listener: Option<TcpListener>,
    conns: BTreeMap<ConnectionId, Connection>,
    dials: BTreeMap<PeerId, PendingDial>,
    next_conn: u64,
    /// Inputs found while carrying out outputs (a dial failing at once, a write error).
    inputs: VecDeque<NetInput>,
    /// The drivers, applied inline (this runtime has one thread).
    dataplane: &'e mut DataplaneHost,
    /// Driver answers to hand back.
    done: VecDeque<(BatchId, Result<(), String>)>,
    /// The REST API, woken through its waker's file descriptor.
    api: Option<(&'e mut ApiBridge, &'e Waker)>,
    read_buffer: Vec<u8>,
    lingering: Vec<Lingering>,
}

/// Run `engine` until `stop` is set, listening on `listen` when given; then shut the engine
/// down (a Cease to every peer), flush for at most two seconds and return.
pub fn run_engine<E: Engine>(
    engine: &mut E,
    listen: Option<SocketAddr>,
    stop: &AtomicBool,
    dataplane: &mut DataplaneHost,
    api: Option<(&mut ApiBridge, &Waker)>,
) -> Result<(), RunError> {
    let listener = match listen {
        None => None,
        Some(address) => {
            let listener =
                TcpListener::bind(address).map_err(|error| RunError::Listen { address, error })?;
            listener
                .set_nonblocking(true)
                .map_err(|error| RunError::Listen { address, error })?;
            Some(listener)
        }
    };
    let clock = Clock::start();
    let mut l = Loop {
        engine,
        clock,
        listener,
        conns: BTreeMap::new(),
        dials: BTreeMap::new(),
        next_conn: 1,
        inputs: VecDeque::new(),
        dataplane,
        done: VecDeque::new(),
        api,
        read_buffer: vec![0; READ_CHUNK],
        lingering: Vec::new(),
    };
    l.dataplane
        .schedule_stale_cleanup(std::time::Instant::now());
    l.engine.start(l.clock.now());
    l.drain();
    while !stop.load(Ordering::Relaxed) {
        l.turn()?;
    }
    l.stop();
    Ok(())
}

impl<E: Engine> Loop<'_, E> {
    fn feed(&mut self, input: NetInput) {
        self.engine.handle_net(self.clock.now(), input);
        self.drain();
    }

    /// Carry out every output, then feed back whatever that produced, until quiet.
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.engine.poll_output() {
                match output {
                    Output::Net(net) => self.carry_out(net),
                    Output::Event(event) => log_event(&event),
                    Output::Dataplane {
                        batch,
                        vpn_type,
                        ops,
                    } => {
                        let result = self.dataplane.apply(vpn_type, &ops);
                        if result.is_ok() {
                            if let Some((bridge, _)) = self.api.as_mut() {
                                bridge.applied(vpn_type, &ops);
                            }
                        }
                        self.done.push_back((batch, result));
                    }
                    Output::ApiReply { ticket, result } => {
                        if let Some((bridge, _)) = self.api.as_mut() {
                            bridge.reply(ticket, result);
                        }
                    }
                }
            }
            if let Some((batch, result)) = self.done.pop_front() {
                self.engine.dataplane_done(self.clock.now(), batch, result);
                continue;
            }
            match self.inputs.pop_front() {
                Some(input) => self.engine.handle_net(self.clock.now(), input),
                None => break,
            }
        }
    }

    fn carry_out(&mut self, output: NetOutput) {
        match output {
            NetOutput::Dial {
                peer,
                remote,
                local,
            } => self.dial(peer, remote, local),
            NetOutput::Send { conn, bytes } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    if !c.closing {
                        c.out.extend(bytes);
                        self.flush(conn);
                    }
                }
            }
            NetOutput::Close { conn } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.closing = true;
                    self.flush(conn);
                }
            }
        }
    }

    fn dial(&mut self, peer: PeerId, remote: SocketAddr, local: Option<IpAddr>) {
        match start_dial(remote, local) {
            Ok(socket) => {
                let deadline = std::time::Instant::now() + DIAL_TIMEOUT;
                tracing::debug!(peer = peer.0, %remote, "dialling");
                self.dials.insert(
                    peer,
                    PendingDial {
                        socket,
                        peer,
                        remote,
                        deadline,
                    },
                );
            }
            Err(error) => self.inputs.push_back(NetInput::DialFailed {
                peer,
                reason: error.to_string(),
            }),
        }
    }

    /// Write what the socket takes; finish a requested close once everything is written.
    fn flush(&mut self, id: ConnectionId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        while !c.out.is_empty() {
            let (front, _) = c.out.as_slices();
            match c.stream.write(front) {
                Ok(0) => break,
                Ok(n) => {
                    c.out.drain(..n);
                    self.inputs
                        .push_back(NetInput::Written { conn: id, len: n });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let closing = c.closing;
                    self.conns.remove(&id);
                    if !closing {
                        self.inputs.push_back(NetInput::Closed {
                            conn: id,
                            reason: format!("write failed: {e}"),
                        });
                    }
                    return;
                }
            }
        }
        if c.closing && c.out.is_empty() {
            if let Some(c) = self.conns.remove(&id) {
                let _ = c.stream.shutdown(Shutdown::Write);
                self.lingering.push(Lingering {
                    stream: c.stream,
                    deadline: std::time::Instant::now() + LINGER,
                    done: false,
                });
            }
        }
    }

    fn turn(&mut self) -> Result<(), RunError> {
        let now = std::time::Instant::now();
        let mut wake = now + STOP_CHECK;
        if let Some(deadline) = self.engine.poll_timeout() {
            wake = wake.min(self.clock.to_host(deadline));
        }
        for dial in self.dials.values() {
            wake = wake.min(dial.deadline);
        }
        if let Some(at) = self.dataplane.next_stale_cleanup() {
            wake = wake.min(at);
        }
        for l in &self.lingering {
            wake = wake.min(l.deadline);
        }
        let timeout = Timespec::try_from(wake.saturating_duration_since(now)).unwrap_or_default();

        let mut slots = Vec::with_capacity(1 + self.dials.len() + self.conns.len());
        let ready: Vec<(Slot, PollFlags)> = {
            let mut fds = Vec::with_capacity(slots.capacity());
            if let Some(listener) = &self.listener {
                fds.push(PollFd::new(listener, PollFlags::IN));
                slots.push(Slot::Listener);
            }
            if let Some((_, waker)) = &self.api {
                fds.push(PollFd::new(*waker, PollFlags::IN));
                slots.push(Slot::ApiWaker);
            }
            for (peer, dial) in &self.dials {
                fds.push(PollFd::new(&dial.socket, PollFlags::OUT));
                slots.push(Slot::Dial(*peer));
            }
            for (id, c) in &self.conns {
                let mut flags = PollFlags::IN;
                if !c.out.is_empty() {
                    flags |= PollFlags::OUT;
                }
                fds.push(PollFd::new(&c.stream, flags));
                slots.push(Slot::Conn(*id));
            }
            for (index, l) in self.lingering.iter().enumerate() {
                fds.push(PollFd::new(&l.stream, PollFlags::IN));
                slots.push(Slot::Lingering(index));
            }
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(RunError::Poll(e.into())),
            }
            slots
                .iter()
                .zip(fds.iter())
                .filter(|(_, fd)| !fd.revents().is_empty())
                .map(|(slot, fd)| (*slot, fd.revents()))
                .collect()
        };

        // Deadlines first: keepalives and hold-timer expiry never wait behind reads.
        self.fire_timers();

        for (slot, revents) in ready {
            match slot {
                Slot::Listener => self.accept(),
                Slot::ApiWaker => self.serve_api(),
                Slot::Dial(peer) => self.finish_dial(peer),
                Slot::Lingering(index) => self.drain_lingering(index),
                Slot::Conn(id) => {
                    if revents.intersects(PollFlags::OUT) {
                        self.flush(id);
                    }
                    if revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                        self.read(id);
                    }
                }
            }
            self.fire_timers();
        }

        let now = std::time::Instant::now();
        self.dataplane.run_due_stale_cleanups(now);
        self.lingering.retain(|l| !l.done && l.deadline > now);
        let expired: Vec<PeerId> = self
            .dials
            .values()
            .filter(|d| d.deadline <= now)
            .map(|d| d.peer)
            .collect();
        for peer in expired {
            if let Some(dial) = self.dials.remove(&peer) {
                self.feed(NetInput::DialFailed {
                    peer,
                    reason: format!("connecting to {} timed out", dial.remote),
                });
            }
        }
        Ok(())
    }

    /// Hands the API's pending requests to the engine.
    fn serve_api(&mut self) {
        let now = self.clock.now();
        if let Some((bridge, waker)) = self.api.as_mut() {
            waker.drain();
            bridge.serve(&mut *self.engine, now);
        }
        self.drain();
    }

    /// Read and drop what a closed connection still receives; done at the peer's end.
    fn drain_lingering(&mut self, index: usize) {
        let Some(l) = self.lingering.get_mut(index) else {
            return;
        };
        loop {
            match l.stream.read(&mut self.read_buffer) {
                Ok(0) => break l.done = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break l.done = true,
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = self.clock.now();
        if self
            .engine
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            self.engine.handle_timeout(now);
            self.drain();
        }
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, remote)) => {
                    let local = match stream.local_addr() {
                        Ok(local) => local,
                        Err(_) => continue,
                    };
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let conn = self.register(stream);
                    tracing::debug!(conn = conn.0, %remote, "accepted connection");
                    self.feed(NetInput::Connected {
                        conn,
                        direction: Direction::Incoming,
                        peer: None,
                        local,
                        remote,
                    });
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }

    fn register(&mut self, stream: TcpStream) -> ConnectionId {
        let conn = ConnectionId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            conn,
            Connection {
                stream,
                out: VecDeque::new(),
                closing: false,
            },
        );
        conn
    }

    fn finish_dial(&mut self, peer: PeerId) {
        let Some(dial) = self.dials.remove(&peer) else {
            return;
        };
        let failure = match dial.socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e.to_string()),
            Ok(None) => None,
        };
        let stream: TcpStream = dial.socket.into();
        let addresses = stream
            .local_addr()
            .and_then(|l| stream.peer_addr().map(|r| (l, r)));
        match (failure, addresses) {
            (None, Ok((local, remote))) => {
                let _ = stream.set_nodelay(true);
                let conn = self.register(stream);
                tracing::debug!(conn = conn.0, %remote, "connected");
                self.feed(NetInput::Connected {
                    conn,
                    direction: Direction::Outgoing,
                    peer: Some(peer),
                    local,
                    remote,
                });
            }
            (Some(reason), _) => self.feed(NetInput::DialFailed { peer, reason }),
            (None, Err(e)) => self.feed(NetInput::DialFailed {
                peer,
                reason: e.to_string(),
            }),
        }
    }

    fn read(&mut self, id: ConnectionId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        match c.stream.read(&mut self.read_buffer) {
            Ok(0) => {
                let closing = c.closing;
                self.conns.remove(&id);
                if !closing {
                    self.feed(NetInput::Closed {
                        conn: id,
                        reason: "connection closed by the peer".into(),
                    });
                }
            }
            Ok(n) => {
                let bytes = self.read_buffer.get(..n).unwrap_or_default().to_vec();
                if !c.closing {
                    self.feed(NetInput::Received { conn: id, bytes });
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => {
                let closing = c.closing;
                self.conns.remove(&id);
                if !closing {
                    self.feed(NetInput::Closed {
                        conn: id,
                        reason: format!("read failed: {e}"),
                    });
                }
            }
        }
    }

    /// A clean stop: the engine sends its Ceases and closes; the writes and the peers' ends of
    /// stream get a bounded time.
    fn stop(&mut self) {
        self.engine
            .shutdown(self.clock.now(), "administrative shutdown");
        self.drain();
        self.dials.clear();
        let deadline = std::time::Instant::now() + SHUTDOWN_FLUSH;
        loop {
            let now = std::time::Instant::now();
            self.lingering.retain(|l| !l.done);
            let ids: Vec<ConnectionId> = self
                .conns
                .iter()
                .filter(|(_, c)| !c.out.is_empty())
                .map(|(id, _)| *id)
                .collect();
            if ids.is_empty() && self.lingering.is_empty() {
                break;
            }
            if now >= deadline {
                if !ids.is_empty() {
                    tracing::warn!(connections = ids.len(), "stopping with unsent data");
                }
                break;
            }
            let timeout = Timespec::try_from(deadline - now).unwrap_or_default();
            {
                let mut fds: Vec<PollFd<'_>> = ids
                    .iter()
                    .filter_map(|id| self.conns.get(id))
                    .map(|c| PollFd::new(&c.stream, PollFlags::OUT))
                    .chain(
                        self.lingering
                            .iter()
                            .map(|l| PollFd::new(&l.stream, PollFlags::IN)),
                    )
                    .collect();
                match rustix::event::poll(&mut fds, Some(&timeout)) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(_) => break,
                }
            }
            for id in ids {
                self.flush(id);
            }
            for index in 0..self.lingering.len() {
                self.drain_lingering(index);
            }
            self.inputs.clear();
        }
        for (_, c) in std::mem::take(&mut self.conns) {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        self.lingering.clear();
    }
}

/// Start a nonblocking TCP connect from `local` (when given) to `remote`; the socket becomes
/// writable when the connect completes (then `take_error` tells whether it failed).
pub fn start_dial(remote: SocketAddr, local: Option<IpAddr>) -> std::io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    if let Some(local) = local {
        socket.bind(&SocketAddr::new(local, 0).into())?;
    }
    match socket.connect(&remote.into()) {
        Ok(()) => Ok(socket),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {
            Ok(socket)
        }
        Err(e) => Err(e),
    }
}
