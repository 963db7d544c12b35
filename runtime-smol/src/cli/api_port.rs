//! The REST API port the tools talk to: `[API] port` of the configuration file (reference §5),
//! as BaGPipe-BGP's tools read it from `/etc/bagpipe-bgp/bgp.conf`.

use bagpipe_core::config::{self, ConfigFormat};
use std::path::Path;

/// BaGPipe-BGP's configuration file, read when no `--config-file` is given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/bagpipe-bgp/bgp.conf";
/// `[API] port` default.
pub const DEFAULT_API_PORT: u16 = 8082;

/// The API port of `config_file`. Without one, the port of [`DEFAULT_CONFIG_FILE`] when that file
/// exists and is valid, else [`DEFAULT_API_PORT`] (a warning on standard error for an invalid
/// default file). A given file that cannot be read or parsed is an error.
pub fn api_port(config_file: Option<&Path>) -> Result<u16, String> {
    match config_file {
        Some(path) => port_of(path),
        None => {
            let default = Path::new(DEFAULT_CONFIG_FILE);
            if !default.exists() {
                return Ok(DEFAULT_API_PORT);
            }
            match port_of(default) {
                Ok(port) => Ok(port),
                Err(e) => {
                    eprintln!("warning: {e}; using API port {DEFAULT_API_PORT}");
                    Ok(DEFAULT_API_PORT)
                }
            }
        }
    }
}

fn port_of(path: &Path) -> Result<u16, String> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{source}: cannot read: {e}"))?;
    let format = ConfigFormat::detect(&source, &text);
    let daemon = config::parse(&text, &source, format).map_err(|e| e.to_string())?;
    Ok(daemon.api.port)
}
