//! `bagpipe-impex2dot`: draws which VPN instances import and export which route targets, on one
//! or more speakers, as a Graphviz digraph read from their looking glasses (reference §4.3).
//!
//! ```text
//! bagpipe-impex2dot --server s1 --server s2 | dot -Tpdf > impex.pdf
//! bagpipe-impex2dot --server s1 --svg impex.svg
//! ```
//!
//! Exit status: 0 when the graph was printed (or rendered), 1 when a looking glass could not be
//! read or the SVG could not be made, 2 for a usage error.

use bagpipe_smol::cli::api_port::api_port;
use bagpipe_smol::cli::http_client::{self, authority, quote};
use bagpipe_smol::cli::impex_graph::{self, Instance, DEFAULT_SERVER};
use bagpipe_smol::cli::ordered_json::Json;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

/// Draw the import/export relations of VPN instances as a Graphviz digraph.
#[derive(Debug, Parser)]
#[command(
    name = "bagpipe-impex2dot",
    version,
    after_help = "Example: bagpipe-impex2dot --server s1 --server s2 | dot -Tpdf > impex.pdf"
)]
struct Args {
    /// Address of a BaGPipe BGP instance (repeatable) [default: localhost].
    #[arg(long = "server", value_name = "SERVER")]
    servers: Vec<String>,
    /// Port of BaGPipe BGP [default: the API port of the configuration file, else 8082].
    #[arg(long)]
    port: Option<u16>,
    /// Looking-glass URL prefix.
    #[arg(long, default_value = "looking-glass")]
    prefix: String,
    /// Write the graph as SVG to this file (needs Graphviz's `dot`) instead of printing it.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Configuration file to read the API port from [default: /etc/bagpipe-bgp/bgp.conf when it
    /// exists].
    #[arg(long, value_name = "PATH")]
    config_file: Option<PathBuf>,
}

struct LookingGlass {
    server: String,
    base: String,
}

impl LookingGlass {
    /// GET `<prefix>/<segments>`; a 404 is an empty object, as BaGPipe-BGP's tool treats it.
    fn get(&self, segments: &[&str]) -> Result<Json, String> {
        let path: Vec<String> = segments.iter().map(|s| quote(s)).collect();
        let url = format!("{}/{}", self.base, path.join("/"));
        let response =
            http_client::get(&url).map_err(|e| format!("Error requesting {url}: {e}"))?;
        match response.status {
            200 => Json::parse(&response.body)
                .map_err(|e| format!("Error requesting {url}: not JSON: {e}")),
            404 => Ok(Json::Object(Vec::new())),
            code => Err(format!(
                "Error requesting {url}: {code} {}",
                response.body_text()
            )),
        }
    }

    fn instances(&self) -> Result<Vec<Instance>, String> {
        let listing = self.get(&["vpns", "instances"])?;
        let mut instances = Vec::new();
        for summary in listing.as_array().unwrap_or(&[]) {
            let Some(id) = summary.get("id").map(Json::python_str) else {
                continue;
            };
            let object = self.get(&["vpns", "instances", &id])?;
            // `ports` is a subtree: the instance shows a link to it.
            let ports = match object.get("ports") {
                Some(p) if p.get("href").is_some() => {
                    Some(self.get(&["vpns", "instances", &id, "ports"])?)
                }
                _ => None,
            };
            if let Some(instance) =
                Instance::from_looking_glass(&self.server, summary, &object, ports.as_ref())
            {
                instances.push(instance);
            }
        }
        Ok(instances)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let port = match args.port {
        Some(port) => port,
        None => match api_port(args.config_file.as_deref()) {
            Ok(port) => port,
            Err(e) => {
                eprintln!("bagpipe-impex2dot: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let servers = if args.servers.is_empty() {
        vec![DEFAULT_SERVER.to_string()]
    } else {
        args.servers.clone()
    };
    let mut instances = Vec::new();
    for server in servers {
        let lg = LookingGlass {
            base: format!("http://{}/{}", authority(&server, port), args.prefix),
            server,
        };
        match lg.instances() {
            Ok(found) => instances.extend(found),
            Err(e) => {
                eprintln!("bagpipe-impex2dot: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let dot = impex_graph::render(&instances);
    match &args.svg {
        None => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(dot.as_bytes())
                .and_then(|()| stdout.flush());
            ExitCode::SUCCESS
        }
        Some(file) => match render_svg(&dot, file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bagpipe-impex2dot: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// Runs `dot -Tsvg -o <file>` on the graph.
fn render_svg(dot: &str, file: &std::path::Path) -> Result<(), String> {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(file)
        .stdin(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "cannot write {}: Graphviz is not installed (no `dot` command); run without \
                 --svg and render the printed graph elsewhere",
                file.display()
            ))
        }
        Err(e) => return Err(format!("cannot run dot: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| format!("cannot write to dot: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("dot: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("dot failed ({status})"))
    }
}
