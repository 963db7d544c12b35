//! `bagpipe-bgp-sync`: the same speaker as `bagpipe-bgp` on one thread and a poll loop, for
//! embedded hosts and tests. Same options; SIGTERM or SIGINT sends a Cease to every peer.

use bagpipe_sync::api_bridge::start_api;
use bagpipe_sync::dataplane::{start_daemon, Started};
use bagpipe_sync::host::CommonArgs;
use bagpipe_sync::http::Waker;
use bagpipe_sync::run_engine;
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The BGP VPN speaker on a single thread.
#[derive(Debug, Parser)]
#[command(name = "bagpipe-bgp-sync", version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Started {
        loaded,
        mut dataplane,
        mut speaker,
    } = match start_daemon("bagpipe-bgp-sync", "sync", &args.common) {
        Ok(started) => started,
        Err(code) => return ExitCode::from(code),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("bagpipe-bgp-sync: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    }
    let waker = match Waker::new() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("bagpipe-bgp-sync: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut bridge = match start_api(&loaded, waker.notifier()) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("bagpipe-bgp-sync: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(api = %bridge.local_addr(), "REST API and looking glass served");
    match run_engine(
        &mut speaker,
        loaded.resolved.listen,
        &stop,
        &mut dataplane,
        Some((&mut bridge, &waker)),
    ) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("bagpipe-bgp-sync: {e}");
            ExitCode::FAILURE
        }
    }
}
