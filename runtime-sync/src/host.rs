//! What both runtimes do on the host around the core: read the configuration file, resolve
//! interface names, set up logging, map the monotonic clock to the core's [`Instant`], and
//! the command-line options they share.

use bagpipe_core::config::{self, ConfigFormat, DaemonConfig, LogFormat, LogLevel, ResolvedConfig};
use bagpipe_core::time::Instant;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Command-line options of both daemons (`bagpipe-bgp`, `bagpipe-bgp-sync`); the names follow
/// BaGPipe-BGP's (oslo.config's `--config-file`, `--debug`, `--log-file`).
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Configuration file: BaGPipe-BGP's bgp.conf (INI) or bagpipe-rs' TOML. Without it, the
    /// embedded default configuration runs (127.0.0.1, AS 64512, no peers, dummy drivers).
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Force the configuration syntax instead of choosing it by extension and content.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub config_format: Option<FormatArg>,
    /// Log line format (overrides the file's logging.format).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Log level: error, warn, info, debug, trace, or a tracing filter such as
    /// `bagpipe=debug` (overrides the file's setting and RUST_LOG).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log at debug level (BaGPipe-BGP's --debug).
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Append logs to this file instead of standard error (BaGPipe-BGP's --log-file).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// `--config-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// bagpipe-rs' TOML.
    Toml,
    /// BaGPipe-BGP's bgp.conf.
    Ini,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A configuration ready to run.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file it came from, or `<embedded default>`.
    pub source: String,
    /// True when no file was given.
    pub embedded: bool,
    /// The configuration as written.
    pub daemon: DaemonConfig,
    /// With addresses resolved.
    pub resolved: ResolvedConfig,
}

/// Why a configuration could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not a valid configuration.
    Invalid(config::ConfigError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            LoadError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Read, parse and resolve the configuration (`path`, or the embedded default).
pub fn load_config(
    path: Option<&Path>,
    format: Option<FormatArg>,
) -> Result<LoadedConfig, LoadError> {
    let (source, daemon, embedded) = match path {
        None => {
            let daemon = config::embedded_default().map_err(LoadError::Invalid)?;
            ("<embedded default>".to_string(), daemon, true)
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
                path: path.to_path_buf(),
                error,
            })?;
            let source = path.display().to_string();
            let format = match format {
                Some(FormatArg::Toml) => ConfigFormat::Toml,
                Some(FormatArg::Ini) => ConfigFormat::BagpipeIni,
                None => ConfigFormat::detect(&source, &text),
            };
            let daemon = config::parse(&text, &source, format).map_err(LoadError::Invalid)?;
            (source, daemon, false)
        }
    };
    let resolved = daemon
        .resolve(&source, interface_addresses)
        .map_err(LoadError::Invalid)?;
    Ok(LoadedConfig {
        source,
        embedded,
        daemon,
        resolved,
    })
}

/// The addresses of the interface `name`, in the order the kernel lists them.
pub fn interface_addresses(name: &str) -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .into_iter()
            .filter(|i| i.name == name)
            .map(|i| i.ip())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Install the global `tracing` subscriber. The command line wins over the file; `RUST_LOG`
/// is used when neither sets a level.
pub fn init_logging(args: &CommonArgs, file_config: &config::LoggingConfig) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let level = if args.debug {
        Some(LogLevel::Debug.name().to_string())
    } else {
        args.log_level
            .clone()
            .or_else(|| file_config.level.map(|l| l.name().to_string()))
    };
    let filter = match level {
        Some(level) => {
            EnvFilter::try_new(&level).map_err(|e| format!("--log-level {level:?}: {e}"))?
        }
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let json = match args.log_format {
        Some(LogFormatArg::Json) => true,
        Some(LogFormatArg::Text) => false,
        None => file_config.format == Some(LogFormat::Json),
    };
    let file = args
        .log_file
        .clone()
        .or_else(|| file_config.file.as_ref().map(PathBuf::from));
    let writer = match file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("{}: cannot open log file: {e}", path.display()))?;
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        None => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(false);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(crate::log_capture::LogCapture);
    let result = if json {
        registry.with(fmt.json().flatten_event(true)).try_init()
    } else {
        registry.with(fmt).try_init()
    };
    result.map_err(|e| format!("cannot install the logger: {e}"))
}

/// The runtime's monotonic clock, as the core's [`Instant`] (time since the runtime started).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Self {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    /// Now, for the core.
    pub fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    /// The host instant of a core deadline.
    pub fn to_host(&self, instant: Instant) -> std::time::Instant {
        self.epoch + instant.since_epoch()
    }
}

/// Log what is about to run: the file, the peers, listening, the API address, warnings.
pub fn log_startup(runtime: &str, loaded: &LoadedConfig) {
    let speaker = &loaded.resolved.speaker;
    tracing::info!(
        runtime,
        config = %loaded.source,
        local_as = speaker.local_as,
        router_id = %speaker.router_id,
        local_address = %speaker.local_address,
        "bagpipe-bgp {} starting",
        env!("CARGO_PKG_VERSION")
    );
    for warning in &loaded.daemon.warnings {
        tracing::warn!("{warning}");
    }
    match loaded.resolved.listen {
        Some(listen) => tracing::info!(%listen, "accepting BGP connections"),
        None => tracing::info!("not listening for BGP connections (active sessions only)"),
    }
    if speaker.peers.is_empty() {
        tracing::info!("no BGP peer configured");
    }
    for (index, peer) in speaker.peers.iter().enumerate() {
        let families: Vec<String> = peer.families.iter().map(|f| f.name()).collect();
        tracing::info!(
            peer = %peer.address,
            index,
            port = peer.port,
            remote_as = peer.remote_as,
            passive = peer.passive,
            hold_time = peer.hold_time.as_secs(),
            families = %families.join(","),
            "peer configured"
        );
    }
    let api = &loaded.daemon.api;
    if loaded.embedded {
        tracing::info!(
            "running the embedded default configuration (no --config-file). Attach a port with: \
             curl -X POST http://{}:{}/attach_localport \
             -H 'Content-Type: application/json' -d '{{\"vpn_type\":\"evpn\",\"vpn_instance_id\":\"test\",\
             \"mac_address\":\"02:00:00:00:00:01\",\"ip_address\":\"10.0.0.1/24\",\"local_port\":{{\"linuxif\":\"tap1\"}},\
             \"import_rt\":[\"64512:100\"],\"export_rt\":[\"64512:100\"]}}' \
             (or bagpipe-rest-attach --attach --network-type evpn --port tap1 --mac 02:00:00:00:00:01 \
             --ip 10.0.0.1), then look with bagpipe-looking-glass vpns instances",
            api.host,
            api.port
        );
    }
}

/// A seed for the core's generator (reconnect jitter): differs between runs and processes, so
/// that speakers restarted together do not retry in lockstep.
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bagpipe-host-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn embedded_default_runs_without_a_file() {
        let loaded = load_config(None, None).unwrap();
        assert!(loaded.embedded);
        assert_eq!(loaded.resolved.speaker.local_as, 64512);
        assert_eq!(
            loaded.resolved.speaker.local_address,
            IpAddr::from([127, 0, 0, 1])
        );
        assert!(loaded.resolved.speaker.peers.is_empty());
    }

    #[test]
    fn interface_name_resolves_through_the_host() {
        // The loopback interface exists on every Linux host, with 127.0.0.1.
        let path = temp_file(
            "lo.conf",
            "[BGP]\nlocal_address = lo\nmy_as = 64512\npeers = 127.0.0.9\n",
        );
        let loaded = load_config(Some(&path), None).unwrap();
        assert_eq!(
            loaded.resolved.speaker.local_address,
            IpAddr::from([127, 0, 0, 1])
        );
        assert_eq!(loaded.resolved.speaker.router_id.to_string(), "127.0.0.1");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn errors_name_the_file() {
        let missing = Path::new("/nonexistent/bgp.conf");
        let err = load_config(Some(missing), None).unwrap_err().to_string();
        assert!(
            err.starts_with("/nonexistent/bgp.conf: cannot read"),
            "{err}"
        );

        let path = temp_file(
            "bad.toml",
            "[bgp]\nlocal_as = 0\nlocal_address = \"127.0.0.1\"\n",
        );
        let err = load_config(Some(&path), None).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: bgp.local_as: invalid AS number \"0\": must be 1..=4294967295 and not 23456 (AS_TRANS)",
                path.display()
            )
        );
        // Forcing the other syntax reads the same text as INI: [bgp] is [BGP] there, without my_as.
        let err = load_config(Some(&path), Some(FormatArg::Ini))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(": bgp.my_as: required key is missing"),
            "{err}"
        );
        let _ = std::fs::remove_file(path);

        let path = temp_file(
            "eth.conf",
            "[BGP]\nlocal_address = nosuchif0\nmy_as = 64512\n",
        );
        let err = load_config(Some(&path), None).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "BGP.local_address: interface \"nosuchif0\" not found or has no usable address"
            ),
            "{err}"
        );
        let _ = std::fs::remove_file(path);
    }
}
