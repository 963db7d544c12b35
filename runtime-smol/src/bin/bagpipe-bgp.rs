//! `bagpipe-bgp`: the BGP VPN speaker daemon on smol. Reads BaGPipe-BGP's `bgp.conf` or a TOML
//! file (`--config-file`), or runs the embedded default configuration; on SIGTERM or SIGINT it
//! sends a Cease (Administrative Shutdown, RFC 8203) to every peer before it exits.

use bagpipe_smol::daemon::run_engine;
use bagpipe_sync::api_bridge::start_api;
use bagpipe_sync::dataplane::{start_daemon, Started};
use bagpipe_sync::host::CommonArgs;
use clap::Parser;
use smol::stream::StreamExt;
use std::process::ExitCode;

/// The BGP VPN speaker (a drop-in for BaGPipe-BGP).
#[derive(Debug, Parser)]
#[command(name = "bagpipe-bgp", version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Started {
        loaded,
        dataplane,
        mut speaker,
    } = match start_daemon("bagpipe-bgp", "smol", &args.common) {
        Ok(started) => started,
        Err(code) => return ExitCode::from(code),
    };
    let result = smol::block_on(async {
        let (stop_tx, stop_rx) = smol::channel::bounded::<String>(1);
        let mut signals =
            async_signal::Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])
                .map_err(|e| format!("cannot handle signals: {e}"))?;
        let _signal_task = smol::spawn(async move {
            if let Some(Ok(signal)) = signals.next().await {
                tracing::info!(?signal, "signal received");
                let _ = stop_tx
                    .send("bagpipe-bgp is shutting down".to_string())
                    .await;
            }
        });
        let (wake_tx, wake_rx) = smol::channel::bounded::<()>(1);
        let bridge = start_api(&loaded, move || {
            let _ = wake_tx.try_send(());
        })?;
        tracing::info!(api = %bridge.local_addr(), "REST API and looking glass served");
        run_engine(
            &mut speaker,
            loaded.resolved.listen,
            stop_rx,
            dataplane,
            Some((bridge, wake_rx)),
        )
        .await
        .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("bagpipe-bgp: {e}");
            ExitCode::FAILURE
        }
    }
}
