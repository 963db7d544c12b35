//! `bagpipe-looking-glass`: prints a part of a speaker's looking glass as an indented tree
//! (reference §4.3), e.g. `bagpipe-looking-glass vpns instances`.
//!
//! Exit status: 0 when the object was printed, 1 when there is no such path, no server or an
//! error answer, 2 for a usage error.

use bagpipe_smol::cli::api_port::api_port;
use bagpipe_smol::cli::http_client::{self, authority, quote, HttpError};
use bagpipe_smol::cli::lg_tree::{self, FetchError};
use bagpipe_smol::cli::ordered_json::Json;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print an object of a BaGPipe looking glass.
#[derive(Debug, Parser)]
#[command(
    name = "bagpipe-looking-glass",
    version,
    after_help = "e.g.: bagpipe-looking-glass vpns instances"
)]
struct Args {
    /// IP address of BaGPipe BGP.
    #[arg(long, default_value = "127.0.0.1")]
    server: String,
    /// Port of BaGPipe BGP [default: the API port of the configuration file, else 8082].
    #[arg(long)]
    port: Option<u16>,
    /// Looking-glass URL prefix.
    #[arg(long, default_value = "looking-glass")]
    prefix: String,
    /// Recurse down into the whole looking glass below the path.
    #[arg(short = 'r', long)]
    recurse: bool,
    /// Configuration file to read the API port from [default: /etc/bagpipe-bgp/bgp.conf when it
    /// exists].
    #[arg(long, value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// Path to the object in the looking glass (e.g. `vpns instances`).
    path: Vec<String>,
}

/// Why a GET gave no tree.
enum GetError {
    Status { code: u16, body: String },
    Http(HttpError),
    NotJson(String),
}

fn get_json(url: &str) -> Result<Json, GetError> {
    let response = http_client::get(url).map_err(GetError::Http)?;
    if response.status != 200 {
        return Err(GetError::Status {
            code: response.status,
            body: response.body_text(),
        });
    }
    Json::parse(&response.body).map_err(|e| GetError::NotJson(format!("{url}: not JSON: {e}")))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let port = match args.port {
        Some(port) => port,
        None => match api_port(args.config_file.as_deref()) {
            Ok(port) => port,
            Err(e) => {
                eprintln!("bagpipe-looking-glass: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let quoted: Vec<String> = args.path.iter().map(|s| quote(s)).collect();
    let base = format!("http://{}", authority(&args.server, port));
    let mut target_url = format!("{base}/{}/{}", args.prefix, quoted.join("/"));

    let result = get_json(&target_url).and_then(|data| {
        // A link at the top (e.g. `bgp peers 10.0.0.1`'s answer is an href) is followed once.
        match data.get("href").and_then(Json::as_str) {
            Some(href) if matches!(data, Json::Object(_)) => {
                let href = href.to_string();
                let followed = get_json(&href)?;
                target_url = href;
                Ok(followed)
            }
            _ => Ok(data),
        }
    });
    match result {
        Ok(data) => {
            let mut fetch = |url: &str| match get_json(url) {
                Ok(json) => Ok(json),
                Err(GetError::Status { code, .. }) => Err(FetchError::Status(code)),
                Err(GetError::Http(e)) => Err(FetchError::Failed(e.to_string())),
                Err(GetError::NotJson(e)) => Err(FetchError::Failed(e)),
            };
            let text = lg_tree::render(&data, &target_url, args.recurse, &mut fetch);
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(GetError::Status { code: 404, .. }) => {
            println!(
                "No such looking glass path: {}\n({target_url})",
                quoted.join(" ")
            );
            ExitCode::from(1)
        }
        Err(GetError::Status { code, body }) => {
            println!("Error code {code}: {body}");
            ExitCode::from(1)
        }
        Err(GetError::Http(HttpError::Connect { error, .. })) => {
            println!("No server at {base} : {error}");
            ExitCode::from(1)
        }
        Err(GetError::Http(e)) => {
            println!("Error requesting {target_url}: {e}");
            ExitCode::from(1)
        }
        Err(GetError::NotJson(e)) => {
            println!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
