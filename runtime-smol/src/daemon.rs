//! The daemon's run loop on smol: the engine lives on one task that does nothing but feed it
//! and route its outputs; every socket has a reader task and a writer task, every dial its own
//! task. Deadlines are checked after every input, so keepalives and hold-timer expiry never
//! wait behind a backlog of received bytes (peer-bug-history row 12).

use async_io::{Async, Timer};
use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::Operation;
use bagpipe_core::speaker::{
    BatchId, ConnectionId, Direction, NetInput, NetOutput, Output, PeerId,
};
use bagpipe_sync::api_bridge::ApiBridge;
use bagpipe_sync::dataplane::{describe, remove_unclaimed, DataplaneHost};
use bagpipe_sync::engine::log_event;
use bagpipe_sync::host::Clock;
use bagpipe_sync::run::{DIAL_TIMEOUT, LINGER, READ_CHUNK, SHUTDOWN_FLUSH};
use bagpipe_sync::Engine;
use smol::channel::{self, Receiver, Sender};
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::Task;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Received chunks queued towards the engine before readers wait (backpressure on peers).
const EVENT_QUEUE: usize = 1024;

/// Why the daemon could not run.
#[derive(Debug)]
pub enum RunError {
    /// The listening socket could not be opened.
    Listen {
        /// Where.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Listen { address, error } => write!(f, "cannot listen on {address}: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

/// What the I/O tasks tell the engine task.
enum Event {
    Connected {
        stream: Arc<Async<TcpStream>>,
        direction: Direction,
        peer: Option<PeerId>,
        local: SocketAddr,
        remote: SocketAddr,
    },
    DialFailed {
        peer: PeerId,
        reason: String,
    },
    Received {
        conn: ConnectionId,
        bytes: Vec<u8>,
    },
    Written {
        conn: ConnectionId,
        len: usize,
    },
    /// A driver applied a batch; its operations come back for the looking glass.
    DataplaneDone {
        batch: BatchId,
        vpn_type: VpnType,
        ops: Vec<Operation>,
        result: Result<(), String>,
    },
    /// The API server has requests.
    ApiWake,
    Closed {
        conn: ConnectionId,
        reason: String,
    },
    Stop(String),
}

enum WriteCommand {
    Send(Vec<u8>),
    Close,
}

struct Connection {
    writer: Sender<WriteCommand>,
    writer_task: Task<()>,
    _reader_task: Task<()>,
}

struct EngineTask<'e, E: Engine> {
    engine: &'e mut E,
    clock: Clock,
    events: Sender<Event>,
    conns: BTreeMap<ConnectionId, Connection>,
    dials: BTreeMap<PeerId, Task<()>>,
    /// One thread per driver, fed batches in order (drivers are synchronous and may be slow:
    /// they never run on the executor, so keepalives are not delayed).
    drivers: BTreeMap<VpnType, std::sync::mpsc::Sender<(BatchId, Vec<Operation>)>>,
    api: Option<ApiBridge>,
    /// Writers of closed connections finishing their last writes (a NOTIFICATION, usually);
    /// awaited on stop so that a Cease is not lost when the process exits.
    closing: Vec<Task<()>>,
    next_conn: u64,
}

/// Run `engine` until a message arrives on `stop` (its text is the shutdown reason), listening
/// on `listen` when given; then shut the engine down (a Cease to every peer), give the writes
/// at most two seconds and return.
pub async fn run_engine<E: Engine>(
    engine: &mut E,
    listen: Option<SocketAddr>,
    stop: Receiver<String>,
    dataplane: DataplaneHost,
    api: Option<(ApiBridge, Receiver<()>)>,
) -> Result<(), RunError> {
    let (events_tx, events) = channel::bounded(EVENT_QUEUE);
    let (api, _api_task) = match api {
        None => (None, None),
        Some((bridge, wake)) => {
            let tx = events_tx.clone();
            let task = smol::spawn(async move {
                while wake.recv().await.is_ok() {
                    if tx.send(Event::ApiWake).await.is_err() {
                        return;
                    }
                }
            });
            (Some(bridge), Some(task))
        }
    };
    let drivers = spawn_drivers(dataplane, &events_tx);
    let _accept_task = match listen {
        None => None,
        Some(address) => {
            let listener = Async::<TcpListener>::bind(address)
                .map_err(|error| RunError::Listen { address, error })?;
            Some(smol::spawn(accept_loop(listener, events_tx.clone())))
        }
    };
    let stop_tx = events_tx.clone();
    let _stop_task = smol::spawn(async move {
        let reason = stop
            .recv()
            .await
            .unwrap_or_else(|_| "administrative shutdown".to_string());
        let _ = stop_tx.send(Event::Stop(reason)).await;
    });
    let mut task = EngineTask {
        engine,
        clock: Clock::start(),
        events: events_tx,
        conns: BTreeMap::new(),
        dials: BTreeMap::new(),
        drivers,
        api,
        closing: Vec::new(),
        next_conn: 1,
    };
    task.engine.start(task.clock.now());
    task.drain();
    loop {
        let next = match task.engine.poll_timeout() {
            Some(deadline) => {
                let at = task.clock.to_host(deadline);
                async { events.recv().await.ok() }
                    .or(async {
                        Timer::at(at).await;
                        None
                    })
                    .await
            }
            None => events.recv().await.ok(),
        };
        match next {
            None => {}
            Some(Event::Stop(reason)) => {
                task.stop(&reason).await;
                return Ok(());
            }
            Some(event) => task.handle(event),
        }
        task.fire_timers();
    }
}

impl<E: Engine> EngineTask<'_, E> {
    fn feed(&mut self, input: NetInput) {
        self.engine.handle_net(self.clock.now(), input);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Net(net) => self.carry_out(net),
                Output::Event(event) => log_event(&event),
                Output::Dataplane {
                    batch,
                    vpn_type,
                    ops,
                } => {
                    let sent = self
                        .drivers
                        .get(&vpn_type)
                        .is_some_and(|d| d.send((batch, ops)).is_ok());
                    if !sent {
                        let result = Err(format!("no {} driver running", vpn_type.name()));
                        self.engine.dataplane_done(self.clock.now(), batch, result);
                    }
                }
                Output::ApiReply { ticket, result } => {
                    if let Some(bridge) = self.api.as_mut() {
                        bridge.reply(ticket, result);
                    }
                }
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

    fn handle(&mut self, event: Event) {
        match event {
            Event::Connected {
                stream,
                direction,
                peer,
                local,
                remote,
            } => {
                if let Some(peer) = peer {
                    self.dials.remove(&peer);
                }
                let conn = ConnectionId(self.next_conn);
                self.next_conn += 1;
                let (writer, commands) = channel::unbounded();
                let writer_task = smol::spawn(write_loop(
                    conn,
                    stream.clone(),
                    commands,
                    self.events.clone(),
                ));
                let reader_task = smol::spawn(read_loop(conn, stream, self.events.clone()));
                self.conns.insert(
                    conn,
                    Connection {
                        writer,
                        writer_task,
                        _reader_task: reader_task,
                    },
                );
                tracing::debug!(conn = conn.0, %remote, ?direction, "connection up");
                self.feed(NetInput::Connected {
                    conn,
                    direction,
                    peer,
                    local,
                    remote,
                });
            }
            Event::DialFailed { peer, reason } => {
                self.dials.remove(&peer);
                self.feed(NetInput::DialFailed { peer, reason });
            }
            Event::Received { conn, bytes } => {
                // Bytes still in flight on a connection the engine closed are dropped.
                if self.conns.contains_key(&conn) {
                    self.feed(NetInput::Received { conn, bytes });
                }
            }
            Event::DataplaneDone {
                batch,
                vpn_type,
                ops,
                result,
            } => {
                if let (Ok(()), Some(bridge)) = (&result, self.api.as_mut()) {
                    bridge.applied(vpn_type, &ops);
                }
                self.engine.dataplane_done(self.clock.now(), batch, result);
                self.drain();
            }
            Event::ApiWake => {
                if let Some(bridge) = self.api.as_mut() {
                    bridge.serve(&mut *self.engine, self.clock.now());
                }
                self.drain();
            }
            Event::Written { conn, len } => {
                if self.conns.contains_key(&conn) {
                    self.feed(NetInput::Written { conn, len });
                }
            }
            Event::Closed { conn, reason } => {
                if self.conns.remove(&conn).is_some() {
                    self.feed(NetInput::Closed { conn, reason });
                }
            }
            Event::Stop(_) => {}
        }
    }

    fn carry_out(&mut self, output: NetOutput) {
        match output {
            NetOutput::Dial {
                peer,
                remote,
                local,
            } => {
                tracing::debug!(peer = peer.0, %remote, "dialling");
                let task = smol::spawn(dial(peer, remote, local, self.events.clone()));
                // A new dial for the same peer replaces (cancels) an older one.
                self.dials.insert(peer, task);
            }
            NetOutput::Send { conn, bytes } => {
                if let Some(c) = self.conns.get(&conn) {
                    let _ = c.writer.try_send(WriteCommand::Send(bytes));
                }
            }
            NetOutput::Close { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    let _ = c.writer.try_send(WriteCommand::Close);
                    // The writer finishes what is queued, then closes; the reader ends with it.
                    self.closing.retain(|t| !t.is_finished());
                    self.closing.push(c.writer_task);
                }
            }
        }
    }

    async fn stop(&mut self, reason: &str) {
        tracing::info!(reason, "stopping");
        self.engine.shutdown(self.clock.now(), reason);
        self.drain();
        self.dials.clear();
        let mut writers: Vec<Task<()>> = std::mem::take(&mut self.conns)
            .into_values()
            .map(|c| {
                let _ = c.writer.try_send(WriteCommand::Close);
                c.writer_task
            })
            .collect();
        writers.append(&mut self.closing);
        let flushed = async {
            for writer in writers {
                writer.await;
            }
            true
        }
        .or(async {
            Timer::after(SHUTDOWN_FLUSH).await;
            false
        })
        .await;
        if !flushed {
            tracing::warn!("stopping with unsent data");
        }
    }
}

/// Starts one thread per driver; each applies its batches in order and reports to the engine.
fn spawn_drivers(
    dataplane: DataplaneHost,
    events: &Sender<Event>,
) -> BTreeMap<VpnType, std::sync::mpsc::Sender<(BatchId, Vec<Operation>)>> {
    let mut senders = BTreeMap::new();
    for (vpn_type, hosted) in dataplane.into_drivers() {
        let (tx, rx) = std::sync::mpsc::channel::<(BatchId, Vec<Operation>)>();
        let events = events.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("driver-{}", vpn_type.name()))
            .spawn(move || {
                let mut driver = hosted.driver;
                // What an earlier run left is removed once, after the delay, between batches.
                let mut stale_cleanup_at =
                    Some(std::time::Instant::now() + hosted.stale_cleanup_delay);
                loop {
                    let received = match stale_cleanup_at {
                        Some(at) => {
                            let wait = at.saturating_duration_since(std::time::Instant::now());
                            match rx.recv_timeout(wait) {
                                Ok(job) => job,
                                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                                    stale_cleanup_at = None;
                                    remove_unclaimed(vpn_type, driver.as_mut());
                                    continue;
                                }
                                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                            }
                        }
                        None => match rx.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        },
                    };
                    let (batch, ops) = received;
                    let result = driver.apply(&ops).map_err(|e| describe(&e));
                    let done = Event::DataplaneDone {
                        batch,
                        vpn_type,
                        ops,
                        result,
                    };
                    if events.send_blocking(done).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => {
                senders.insert(vpn_type, tx);
            }
            Err(e) => tracing::error!(
                vpn_type = vpn_type.name(),
                "cannot start the driver thread: {e}"
            ),
        }
    }
    senders
}

async fn accept_loop(listener: Async<TcpListener>, events: Sender<Event>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let Ok(local) = stream.get_ref().local_addr() else {
                    continue;
                };
                let _ = stream.get_ref().set_nodelay(true);
                let connected = Event::Connected {
                    stream: Arc::new(stream),
                    direction: Direction::Incoming,
                    peer: None,
                    local,
                    remote,
                };
                if events.send(connected).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                Timer::after(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn dial(peer: PeerId, remote: SocketAddr, local: Option<IpAddr>, events: Sender<Event>) {
    let attempt = async {
        let socket = bagpipe_sync::run::start_dial(remote, local)?;
        let stream = Async::new(TcpStream::from(socket))?;
        stream.writable().await?;
        if let Some(e) = stream.get_ref().take_error()? {
            return Err(e);
        }
        let local = stream.get_ref().local_addr()?;
        let remote = stream.get_ref().peer_addr()?;
        let _ = stream.get_ref().set_nodelay(true);
        Ok((stream, local, remote))
    };
    let timeout = async {
        Timer::after(DIAL_TIMEOUT).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("connecting to {remote} timed out"),
        ))
    };
    let event = match attempt.or(timeout).await {
        Ok((stream, local, remote)) => Event::Connected {
            stream: Arc::new(stream),
            direction: Direction::Outgoing,
            peer: Some(peer),
            local,
            remote,
        },
        Err(e) => Event::DialFailed {
            peer,
            reason: e.to_string(),
        },
    };
    let _ = events.send(event).await;
}

async fn read_loop(conn: ConnectionId, stream: Arc<Async<TcpStream>>, events: Sender<Event>) {
    let mut buffer = vec![0u8; READ_CHUNK];
    let reason = loop {
        match (&*stream).read(&mut buffer).await {
            Ok(0) => break "connection closed by the peer".to_string(),
            Ok(n) => {
                let bytes = buffer.get(..n).unwrap_or_default().to_vec();
                if events.send(Event::Received { conn, bytes }).await.is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break format!("read failed: {e}"),
        }
    };
    let _ = events.send(Event::Closed { conn, reason }).await;
}

async fn write_loop(
    conn: ConnectionId,
    stream: Arc<Async<TcpStream>>,
    commands: Receiver<WriteCommand>,
    events: Sender<Event>,
) {
    while let Ok(command) = commands.recv().await {
        match command {
            WriteCommand::Send(bytes) => {
                if let Err(e) = (&*stream).write_all(&bytes).await {
                    let _ = events
                        .send(Event::Closed {
                            conn,
                            reason: format!("write failed: {e}"),
                        })
                        .await;
                    return;
                }
                let written = Event::Written {
                    conn,
                    len: bytes.len(),
                };
                if events.send(written).await.is_err() {
                    return;
                }
            }
            WriteCommand::Close => break,
        }
    }
    let _ = (&*stream).flush().await;
    // Half-close, then read until the peer's end of stream: closing with unread bytes would
    // send a reset, which can make the peer drop our last message (the NOTIFICATION) unread.
    let _ = stream.get_ref().shutdown(Shutdown::Write);
    let drain = async {
        let mut buffer = vec![0u8; READ_CHUNK];
        loop {
            match (&*stream).read(&mut buffer).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    };
    drain
        .or(async {
            Timer::after(LINGER).await;
        })
        .await;
}
