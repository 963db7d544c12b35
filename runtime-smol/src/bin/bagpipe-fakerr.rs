//! `bagpipe-fakerr`: a fake BGP route reflector (reference §7). Not a BGP speaker: it splices
//! two TCP clients together, so that two bagpipe-bgp speakers of the same AS that both peer with
//! it see each other's OPEN, KEEPALIVE and UPDATE messages as if they came from a reflector.
//!
//! - the first client's bytes are kept until a second client connects, then sent to it;
//! - from then on, bytes from one client go to the other;
//! - a third client is refused: its connection is closed at once, the two others go on
//!   (BaGPipe-BGP's guard against a third client never fired and it silently reset the
//!   buffering state instead);
//! - when a client leaves, the other is disconnected too, and the next two clients start over.
//!
//! BaGPipe-BGP's fakerr always listened on port 179 of all addresses; `--listen-address` and
//! `--port` default to that.

use clap::Parser;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

/// Relay BGP between exactly two speakers, as a crude route reflector.
#[derive(Debug, Parser)]
#[command(name = "bagpipe-fakerr", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    listen_address: IpAddr,
    /// TCP port to listen on (BGP's).
    #[arg(long, default_value_t = 179)]
    port: u16,
}

/// A connected client.
struct Client {
    id: u64,
    stream: Arc<TcpStream>,
}

/// The relay's state, shared by the connection threads.
#[derive(Default)]
struct Relay {
    clients: Vec<Client>,
    /// What the first client sent before the second arrived.
    buffer: Vec<Vec<u8>>,
    /// Two clients are connected and the buffer was flushed.
    ready: bool,
}

type Shared = Arc<Mutex<Relay>>;

fn lock(relay: &Shared) -> MutexGuard<'_, Relay> {
    // A panicking connection thread leaves a usable state behind (every update is complete).
    relay
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match TcpListener::bind((args.listen_address, args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "bagpipe-fakerr: cannot listen on {}: {e}",
                std::net::SocketAddr::from((args.listen_address, args.port))
            );
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("Fake route reflector listening on {addr}"),
        Err(_) => println!("Fake route reflector listening"),
    }
    let relay: Shared = Arc::default();
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                next_id += 1;
                accept(&relay, stream, next_id);
            }
            Err(e) => eprintln!("bagpipe-fakerr: accept: {e}"),
        }
    }
    ExitCode::SUCCESS
}

fn peer_host(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.ip().to_string())
}

fn accept(relay: &Shared, stream: TcpStream, id: u64) {
    let host = peer_host(&stream);
    let stream = Arc::new(stream);
    {
        let mut state = lock(relay);
        if state.clients.len() >= 2 {
            println!("Have already 2 peers, not accepting {host}");
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        println!("Got new peer: {host}");
        state.clients.push(Client {
            id,
            stream: Arc::clone(&stream),
        });
        if state.clients.len() == 2 {
            println!("{host} is second peer, sending buffered data...");
            for data in std::mem::take(&mut state.buffer) {
                println!(
                    "   sending buffered data to peer {host} ({} bytes)",
                    data.len()
                );
                let _ = (&*stream).write_all(&data);
            }
            state.ready = true;
            println!("now ready");
        } else {
            println!("{host} is first peer, will buffer data until second peer arrives...");
            state.ready = false;
            state.buffer.clear();
        }
    }
    let relay = Arc::clone(relay);
    thread::spawn(move || serve(&relay, &stream, id, &host));
}

/// Reads a client until it leaves, relaying or buffering what it sends.
fn serve(relay: &Shared, stream: &TcpStream, id: u64, host: &str) {
    let mut chunk = vec![0u8; 65536];
    let mut reader = stream;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &chunk[..n];
        let targets: Vec<Arc<TcpStream>> = {
            let mut state = lock(relay);
            if !state.clients.iter().any(|c| c.id == id) {
                // Refused or already dropped with its partner.
                break;
            }
            if state.ready {
                state
                    .clients
                    .iter()
                    .filter(|c| c.id != id)
                    .map(|c| Arc::clone(&c.stream))
                    .collect()
            } else {
                println!("buffering received data ({n} bytes)");
                state.buffer.push(data.to_vec());
                Vec::new()
            }
        };
        // Only this thread writes to the partner once ready, so the order of bytes is kept.
        for target in targets {
            let _ = (&*target).write_all(data);
        }
    }
    println!("Lost peer {host}");
    let mut state = lock(relay);
    if let Some(pos) = state.clients.iter().position(|c| c.id == id) {
        state.clients.remove(pos);
        for other in state.clients.drain(..) {
            let _ = other.stream.shutdown(Shutdown::Both);
        }
        state.ready = false;
        state.buffer.clear();
    }
    let _ = stream.shutdown(Shutdown::Both);
}
