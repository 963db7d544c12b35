//! The sync runtime's plumbing on loopback: dial from a bound local address, accept, deliver
//! bytes in order, fire deadlines, report dial failures, and flush the last words on stop.

#[path = "support/echo_engine.rs"]
mod echo_engine;

use bagpipe_sync::dataplane::DataplaneHost;
use bagpipe_sync::run_engine;
use echo_engine::{flood, wait_for, EchoEngine, Role};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn dial_accept_echo_timer_and_flush_on_stop() {
    let listen: SocketAddr = "127.0.0.41:17941".parse().unwrap();
    let (mut echo, echo_log) = EchoEngine::new(Role::Echo);
    let (mut dialer, dialer_log) = EchoEngine::new(Role::Dialer {
        remote: listen,
        local: "127.0.0.42".parse().unwrap(),
        message: b"hello".to_vec(),
    });
    let stop_echo = Arc::new(AtomicBool::new(false));
    let stop_dialer = Arc::new(AtomicBool::new(false));
    let echo_thread = {
        let stop = stop_echo.clone();
        std::thread::spawn(move || {
            run_engine(
                &mut echo,
                Some(listen),
                &stop,
                &mut DataplaneHost::empty(),
                None,
            )
            .map(|_| echo)
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let dialer_thread = {
        let stop = stop_dialer.clone();
        std::thread::spawn(move || {
            run_engine(&mut dialer, None, &stop, &mut DataplaneHost::empty(), None).map(|_| dialer)
        })
    };
    assert!(
        wait_for(&dialer_log, "echo complete", LIMIT),
        "{:?}",
        dialer_log.lock().unwrap()
    );
    // The runtime reports every write (RFC 9687 send-hold progress): "hello" is 5 octets.
    assert!(wait_for(&dialer_log, "written 5", LIMIT));
    assert!(wait_for(&dialer_log, "timer", LIMIT));
    {
        let echo_lines = echo_log.lock().unwrap();
        assert_eq!(
            echo_lines
                .iter()
                .filter(|l| l.starts_with("connected Incoming"))
                .count(),
            1
        );
        assert!(echo_lines.contains(
            &"connected Incoming peer=None local=127.0.0.41 remote=127.0.0.42".to_string()
        ));
        let dialer_lines = dialer_log.lock().unwrap();
        assert!(dialer_lines.contains(
            &"connected Outgoing peer=Some(PeerId(0)) local=127.0.0.42 remote=127.0.0.41"
                .to_string()
        ));
    }
    // Stopping the echo side: its engine says "bye" and closes; the dialer must get both.
    stop_echo.store(true, Ordering::Relaxed);
    echo_thread.join().unwrap().unwrap();
    assert!(
        wait_for(&dialer_log, "got bye", LIMIT),
        "{:?}",
        dialer_log.lock().unwrap()
    );
    assert!(wait_for(&dialer_log, "closed", LIMIT));
    stop_dialer.store(true, Ordering::Relaxed);
    dialer_thread.join().unwrap().unwrap();
    assert!(echo_log
        .lock()
        .unwrap()
        .contains(&"shutdown administrative shutdown".to_string()));
}

#[test]
fn refused_dial_is_reported() {
    // A port nobody listens on: bind and drop to find one.
    let port = TcpListener::bind("127.0.0.43:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut dialer, log) = EchoEngine::new(Role::Dialer {
        remote: SocketAddr::new("127.0.0.43".parse().unwrap(), port),
        local: "127.0.0.44".parse().unwrap(),
        message: b"x".to_vec(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            run_engine(&mut dialer, None, &stop, &mut DataplaneHost::empty(), None)
        })
    };
    assert!(
        wait_for(&log, "dial failed PeerId(0)", LIMIT),
        "{:?}",
        log.lock().unwrap()
    );
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap().unwrap();
}

#[test]
fn listen_on_a_busy_port_is_an_error() {
    let taken = TcpListener::bind("127.0.0.45:0").unwrap();
    let (mut engine, _) = EchoEngine::new(Role::Echo);
    let stop = AtomicBool::new(true);
    let err = run_engine(
        &mut engine,
        Some(taken.local_addr().unwrap()),
        &stop,
        &mut DataplaneHost::empty(),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("cannot listen on 127.0.0.45:"),
        "{err}"
    );
}

/// peer-bug-history row 12: a deadline (keepalive, hold timer) must not wait behind a peer
/// that floods us with bytes.
#[test]
fn deadline_fires_while_a_peer_floods() {
    let listen: SocketAddr = "127.0.0.46:17946".parse().unwrap();
    let (mut sink, log) = EchoEngine::new(Role::Sink);
    let stop = Arc::new(AtomicBool::new(false));
    let started = std::time::Instant::now();
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            run_engine(
                &mut sink,
                Some(listen),
                &stop,
                &mut DataplaneHost::empty(),
                None,
            )
        })
    };
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
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap().unwrap();
}
