//! The smol runtime's plumbing on loopback (same checks as the sync runtime's): dial from a
//! bound local address, accept, deliver bytes in order, fire deadlines, report dial failures,
//! and flush the last words on stop.

#[path = "../../runtime-sync/tests/support/echo_engine.rs"]
mod echo_engine;

use bagpipe_smol::daemon::run_engine;
use bagpipe_sync::dataplane::DataplaneHost;
use echo_engine::{flood, wait_for, EchoEngine, Role};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn dial_accept_echo_timer_and_flush_on_stop() {
    let listen: SocketAddr = "127.0.0.51:17951".parse().unwrap();
    let (mut echo, echo_log) = EchoEngine::new(Role::Echo);
    let (mut dialer, dialer_log) = EchoEngine::new(Role::Dialer {
        remote: listen,
        local: "127.0.0.52".parse().unwrap(),
        message: b"hello".to_vec(),
    });
    let (stop_echo, stop_echo_rx) = smol::channel::bounded::<String>(1);
    let (stop_dialer, stop_dialer_rx) = smol::channel::bounded::<String>(1);
    let echo_thread = std::thread::spawn(move || {
        smol::block_on(run_engine(
            &mut echo,
            Some(listen),
            stop_echo_rx,
            DataplaneHost::empty(),
            None,
        ))
        .map(|_| echo)
    });
    std::thread::sleep(Duration::from_millis(100));
    let dialer_thread = std::thread::spawn(move || {
        smol::block_on(run_engine(
            &mut dialer,
            None,
            stop_dialer_rx,
            DataplaneHost::empty(),
            None,
        ))
        .map(|_| dialer)
    });
    assert!(
        wait_for(&dialer_log, "echo complete", LIMIT),
        "{:?}",
        dialer_log.lock().unwrap()
    );
    // The runtime reports every write (RFC 9687 send-hold progress): "hello" is 5 octets.
    assert!(wait_for(&dialer_log, "written 5", LIMIT));
    assert!(wait_for(&dialer_log, "timer", LIMIT));
    assert!(echo_log
        .lock()
        .unwrap()
        .contains(&"connected Incoming peer=None local=127.0.0.51 remote=127.0.0.52".to_string()));
    assert!(dialer_log.lock().unwrap().contains(
        &"connected Outgoing peer=Some(PeerId(0)) local=127.0.0.52 remote=127.0.0.51".to_string()
    ));
    stop_echo.send_blocking("test stop".into()).unwrap();
    echo_thread.join().unwrap().unwrap();
    assert!(
        wait_for(&dialer_log, "got bye", LIMIT),
        "{:?}",
        dialer_log.lock().unwrap()
    );
    assert!(wait_for(&dialer_log, "closed", LIMIT));
    stop_dialer.send_blocking("test stop".into()).unwrap();
    dialer_thread.join().unwrap().unwrap();
    assert!(echo_log
        .lock()
        .unwrap()
        .contains(&"shutdown test stop".to_string()));
}

#[test]
fn refused_dial_is_reported() {
    let port = TcpListener::bind("127.0.0.53:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut dialer, log) = EchoEngine::new(Role::Dialer {
        remote: SocketAddr::new("127.0.0.53".parse().unwrap(), port),
        local: "127.0.0.54".parse().unwrap(),
        message: b"x".to_vec(),
    });
    let (stop, stop_rx) = smol::channel::bounded::<String>(1);
    let thread = std::thread::spawn(move || {
        smol::block_on(run_engine(
            &mut dialer,
            None,
            stop_rx,
            DataplaneHost::empty(),
            None,
        ))
    });
    assert!(
        wait_for(&log, "dial failed PeerId(0)", LIMIT),
        "{:?}",
        log.lock().unwrap()
    );
    stop.send_blocking("test stop".into()).unwrap();
    thread.join().unwrap().unwrap();
}

#[test]
fn listen_on_a_busy_port_is_an_error() {
    let taken = TcpListener::bind("127.0.0.55:0").unwrap();
    let (mut engine, _) = EchoEngine::new(Role::Echo);
    let (_stop, stop_rx) = smol::channel::bounded::<String>(1);
    let err = smol::block_on(run_engine(
        &mut engine,
        Some(taken.local_addr().unwrap()),
        stop_rx,
        DataplaneHost::empty(),
        None,
    ))
    .unwrap_err();
    assert!(
        err.to_string().starts_with("cannot listen on 127.0.0.55:"),
        "{err}"
    );
}

/// peer-bug-history row 12: a deadline (keepalive, hold timer) must not wait behind a peer
/// that floods us with bytes.
#[test]
fn deadline_fires_while_a_peer_floods() {
    let listen: SocketAddr = "127.0.0.56:17956".parse().unwrap();
    let (mut sink, log) = EchoEngine::new(Role::Sink);
    let (stop, stop_rx) = smol::channel::bounded::<String>(1);
    let started = std::time::Instant::now();
    let thread = std::thread::spawn(move || {
        smol::block_on(run_engine(
            &mut sink,
            Some(listen),
            stop_rx,
            DataplaneHost::empty(),
            None,
        ))
    });
    std::thread::sleep(Duration::from_millis(50));
    let flooder = flood(listen, Duration::from_secs(2));
    assert!(
        wait_for(&log, "timer", Duration::from_millis(900)),
        "{:?}",
        log.lock().unwrap()
    );
    assert!(started.elapsed() < Duration::from_millis(1500));
    let sent = flooder.join().unwrap();
    assert!(
        sent > 1 << 20,
        "the flood was too small to matter: {sent} bytes"
    );
    stop.send_blocking("test stop".into()).unwrap();
    thread.join().unwrap().unwrap();
}
