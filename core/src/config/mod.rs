//! Configuration of the core: what the speaker is and whom it peers with, and the daemon's
//! configuration files (native TOML, BaGPipe-BGP's `bgp.conf`), parsed from text (no file I/O
//! here: the runtime reads the file and resolves interface names).

pub mod bagpipe_conf;
pub mod daemon;
pub mod error;
pub mod ini;
pub mod native;
pub mod speaker;
pub mod validate;

pub use daemon::{
    ApiConfig, ConfigFormat, DaemonConfig, DataplaneConfig, DriverConfig, DriverKind, DriverOption,
    ListenConfig, LocalAddress, LogFormat, LogLevel, LoggingConfig, ResolvedConfig, VpnType,
};
pub use error::{ConfigError, ConfigProblem};
pub use native::EMBEDDED_DEFAULT;
pub use speaker::{PeerConfig, SpeakerConfig};

/// Parse a configuration `text` in `format`; `source` (the file name) is named in errors.
pub fn parse(text: &str, source: &str, format: ConfigFormat) -> Result<DaemonConfig, ConfigError> {
    match format {
        ConfigFormat::Toml => native::parse(text, source),
        ConfigFormat::BagpipeIni => bagpipe_conf::parse(text, source),
    }
}

/// The embedded default configuration (see [`EMBEDDED_DEFAULT`]).
pub fn embedded_default() -> Result<DaemonConfig, ConfigError> {
    native::parse(EMBEDDED_DEFAULT, "<embedded default>")
}

#[cfg(test)]
mod tests;
