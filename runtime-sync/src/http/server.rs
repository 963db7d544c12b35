//! The listening socket and its threads: one accepting thread, one thread per connection up to
//! [`Limits::max_connections`] (BaGPipe-BGP's wsgiref server is threaded too, reference §3).
//! Each connection carries one request and one response.

use super::call::{ApiCall, ApiReply, PendingRequest, ReplyHandle};
use super::request::{read_request, ReadError, Request};
use super::response::Response;
use super::route::{route, Route};
use bagpipe_core::api::{parse_attach, parse_detach, ApiError, ApiProblem};
use rustix::event::{PollFd, PollFlags, Timespec};
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the accepting thread looks at the stop flag while idle.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// How long, at most, a closing connection reads what the client still sends, so that closing
/// with unread data does not reset the connection before the client read the response.
const LINGER: Duration = Duration::from_secs(2);
/// How many bytes, at most, a closing connection reads and discards.
const LINGER_BYTES: usize = 4 << 20;

/// The server's bounds. [`Limits::default`] suits the daemon; tests shorten the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body accepted; a larger one is answered 413.
    pub max_body: usize,
    /// The time a client has to send its whole request (line, headers, body); then 408.
    pub read_timeout: Duration,
    /// The time a client may take to read the response.
    pub write_timeout: Duration,
    /// The time the engine has to answer a call; then 503.
    pub engine_timeout: Duration,
    /// The most connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 1 MiB bodies, 10 s to send a request or read a response, 30 s for the engine,
    /// 64 connections.
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            engine_timeout: Duration::from_secs(30),
            max_connections: 64,
        }
    }
}

/// The REST API server (reference §3.1). Dropping it stops accepting connections; those
/// already accepted are still answered.
pub struct ApiServer {
    local_addr: SocketAddr,
    requests: Receiver<PendingRequest>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// What every connection thread shares.
struct Shared {
    limits: Limits,
    ping: u64,
    requests: Sender<PendingRequest>,
    waker: Box<dyn Fn() + Send + Sync>,
    /// Connections being served.
    active: Mutex<usize>,
    slot_freed: Condvar,
}

impl ApiServer {
    /// Listens on `bind` with [`Limits::default`] and serves on its own threads. `ping` is the
    /// value `/ping` answers (see [`ping_value`](super::ping_value)); `waker` is called once
    /// after each call queued for [`ApiServer::poll_request`], from an HTTP thread.
    pub fn start(
        bind: SocketAddr,
        ping: u64,
        waker: impl Fn() + Send + Sync + 'static,
    ) -> io::Result<ApiServer> {
        Self::start_with_limits(bind, ping, Limits::default(), waker)
    }

    /// [`ApiServer::start`] with other limits.
    pub fn start_with_limits(
        bind: SocketAddr,
        ping: u64,
        limits: Limits,
        waker: impl Fn() + Send + Sync + 'static,
    ) -> io::Result<ApiServer> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let (sender, requests) = mpsc::channel();
        let shared = Arc::new(Shared {
            limits,
            ping,
            requests: sender,
            waker: Box::new(waker),
            active: Mutex::new(0),
            slot_freed: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("api-accept".into())
                .spawn(move || accept_loop(&listener, &shared, &stop))?
        };
        tracing::info!(%local_addr, "REST API listening");
        Ok(ApiServer {
            local_addr,
            requests,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The address the server listens on (the port chosen when `bind` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next call waiting for the engine, if any. Call it until `None` each time the waker
    /// fired.
    pub fn poll_request(&self) -> Option<PendingRequest> {
        self.requests.try_recv().ok()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if !wait_for_slot(shared, stop) {
            return;
        }
        let mut fds = [PollFd::new(listener, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: STOP_CHECK.subsec_nanos().into(),
        };
        if let Err(e) = rustix::event::poll(&mut fds, Some(&timeout)) {
            if e != rustix::io::Errno::INTR {
                tracing::warn!(error = %e, "REST API: poll failed");
                std::thread::sleep(STOP_CHECK);
            }
            continue;
        }
        match listener.accept() {
            Ok((stream, peer)) => spawn_connection(stream, peer, shared),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors, most likely: let connections finish before retrying.
                tracing::warn!(error = %e, "REST API: accept failed");
                std::thread::sleep(STOP_CHECK);
            }
        }
    }
}

/// Waits until fewer than `max_connections` are served; false when stopping.
fn wait_for_slot(shared: &Shared, stop: &AtomicBool) -> bool {
    let mut active = match shared.active.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    while *active >= shared.limits.max_connections.max(1) {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        active = match shared.slot_freed.wait_timeout(active, STOP_CHECK) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
    true
}

/// Counts a connection as served until dropped, even if its thread panics.
struct Slot(Arc<Shared>);

impl Slot {
    fn take(shared: &Arc<Shared>) -> Slot {
        *lock(&shared.active) += 1;
        Slot(Arc::clone(shared))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut active = lock(&self.0.active);
        *active = active.saturating_sub(1);
        self.0.slot_freed.notify_one();
    }
}

fn lock(mutex: &Mutex<usize>) -> std::sync::MutexGuard<'_, usize> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn spawn_connection(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let slot = Slot::take(shared);
    let spawned = std::thread::Builder::new()
        .name("api-conn".into())
        .spawn(move || serve(stream, &slot.0));
    if let Err(e) = spawned {
        // The closure, the stream and the slot with it, is dropped: the client sees a close.
        tracing::warn!(%peer, error = %e, "REST API: cannot start a connection thread");
    }
}

/// Serves one connection: one request, one response, close.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let limits = &shared.limits;
    // An accepted socket does not inherit O_NONBLOCK on Linux, but other systems differ.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + limits.read_timeout;
    let (response, head) = match read_request(&mut stream, limits.max_body, deadline) {
        Ok(request) => {
            let head = request.method == "HEAD";
            (answer(&request, &stream, shared), head)
        }
        Err(ReadError::Gone) => return,
        Err(ReadError::Refuse(status, message)) => {
            tracing::debug!(status, message, "REST API: request refused");
            (Response::text(status, message), false)
        }
    };
    let _ = stream.set_write_timeout(Some(limits.write_timeout));
    if response.write_to(head, &mut stream).is_ok() {
        linger(&mut stream);
    }
}

/// The response to a request read whole.
fn answer(request: &Request, stream: &TcpStream, shared: &Shared) -> Response {
    let call = match route(&request.method, &request.target) {
        Route::Answer(response) => return response,
        Route::Ping => {
            return Response::json(serde_json::Value::from(shared.ping));
        }
        Route::Attach => match parse_attach(&request.body) {
            Ok(attach) => ApiCall::Attach(attach),
            Err(e) => return refusal(&e),
        },
        Route::Detach => match parse_detach(&request.body) {
            Ok(detach) => ApiCall::Detach(detach),
            Err(e) => return refusal(&e),
        },
        Route::LookingGlass(path) => ApiCall::LookingGlass {
            path,
            base_url: base_url(request, stream),
        },
    };
    forward(call, shared)
}

/// A body that fails to parse (reference §3.1): not JSON → 400 "No local port details
/// received"; anything else → "API error: <message>".
fn refusal(error: &ApiError) -> Response {
    let message = match error.problem {
        // Its message starts with "No local port details received".
        ApiProblem::NotJson { .. } => error.to_string(),
        _ => format!("API error: {error}"),
    };
    tracing::warn!(%message, "REST API: request refused");
    Response::text(error.http_status(), message)
}

/// `http://<Host>`, or `http://<local address>` without a usable Host (HTTP/1.0).
fn base_url(request: &Request, stream: &TcpStream) -> String {
    match (&request.host, stream.local_addr()) {
        (Some(host), _) => format!("http://{host}"),
        (None, Ok(local)) => format!("http://{local}"),
        (None, Err(_)) => "http://localhost".to_string(),
    }
}

/// Queues `call` for the engine and waits for its answer.
fn forward(call: ApiCall, shared: &Shared) -> Response {
    let (sender, receiver) = mpsc::sync_channel::<ApiReply>(1);
    let pending = PendingRequest {
        call,
        reply: ReplyHandle { sender },
    };
    if shared.requests.send(pending).is_err() {
        return Response::text(503, "The BGP VPN engine is not running");
    }
    (shared.waker)();
    match receiver.recv_timeout(shared.limits.engine_timeout) {
        Ok(reply) => Response::from(reply),
        Err(RecvTimeoutError::Timeout) => {
            tracing::warn!(
                timeout = ?shared.limits.engine_timeout,
                "REST API: the engine did not answer in time"
            );
            Response::text(
                503,
                format!(
                    "The BGP VPN engine did not answer within {} s",
                    shared.limits.engine_timeout.as_secs_f64()
                ),
            )
        }
        Err(RecvTimeoutError::Disconnected) => Response::text(500, "Server error"),
    }
}

/// Half-closes, then reads and discards what the client still sends until it closes, for at
/// most [`LINGER`] and [`LINGER_BYTES`] (RFC 9112 §9.6: closing with unread input would send a
/// reset that can destroy the response in flight, e.g. a 413 before the body was read).
fn linger(stream: &mut TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let end = Instant::now() + LINGER;
    let mut discarded = 0;
    let mut buf = [0u8; 8192];
    while discarded < LINGER_BYTES {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
