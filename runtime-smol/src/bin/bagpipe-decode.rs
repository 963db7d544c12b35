//! `bagpipe-decode`: prints the BGP messages of a pcap/pcapng capture, an MRT file (RFC 6396
//! BGP4MP) or a raw stream of BGP messages, one JSON object per line (or `--text` for people).
//!
//! Exit status: 0 when the input was read to its end (malformed messages are part of the
//! output), 1 when it is unreadable (message on standard error), 2 for a usage error.

use bagpipe_smol::decode::{decode_input, InputFormat};
use clap::{Parser, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Pcap,
    Pcapng,
    Mrt,
    Raw,
}

impl From<FormatArg> for InputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Pcap => InputFormat::Pcap,
            FormatArg::Pcapng => InputFormat::Pcapng,
            FormatArg::Mrt => InputFormat::Mrt,
            FormatArg::Raw => InputFormat::Raw,
        }
    }
}

/// Decode the BGP messages of a capture, an MRT file or a raw BGP stream.
#[derive(Debug, Parser)]
#[command(name = "bagpipe-decode", version)]
struct Args {
    /// Input file; `-` or nothing reads standard input.
    input: Option<PathBuf>,
    /// Input format; detected from the first octets when not given.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Print indented text for people instead of one JSON object per line.
    #[arg(long)]
    text: bool,
}

fn read_input(path: Option<&PathBuf>) -> std::io::Result<Vec<u8>> {
    match path {
        Some(p) if p.as_os_str() != "-" => std::fs::read(p),
        _ => {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf)?;
            Ok(buf)
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let name = args
        .input
        .as_ref()
        .map_or_else(|| "-".to_string(), |p| p.display().to_string());
    let input = match read_input(args.input.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bagpipe-decode: {name}: {e}");
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_failed = false;
    let mut broken_pipe = false;
    let text = args.text;
    let mut sink = |record: &bagpipe_smol::decode::record::Record| {
        if write_failed {
            return;
        }
        let line = if text {
            record.to_text()
        } else {
            let mut l = record.to_json_line();
            l.push('\n');
            l
        };
        // A closed pipe (e.g. `| head`) ends the output quietly; other write errors fail.
        if let Err(e) = out.write_all(line.as_bytes()) {
            write_failed = true;
            broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        }
    };
    let result = decode_input(&input, args.format.map(InputFormat::from), &mut sink);
    let flushed = match out.flush() {
        Ok(()) => true,
        Err(e) => {
            broken_pipe |= e.kind() == std::io::ErrorKind::BrokenPipe;
            false
        }
    };
    match result {
        Ok(summary) => {
            if summary.skipped_mrt_records > 0 {
                eprintln!(
                    "bagpipe-decode: {name}: skipped {} MRT records that carry no BGP message",
                    summary.skipped_mrt_records
                );
            }
            if (write_failed || !flushed) && !broken_pipe {
                eprintln!("bagpipe-decode: cannot write the output");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bagpipe-decode: {name}: {e}");
            ExitCode::from(1)
        }
    }
}
