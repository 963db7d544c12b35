//! BaGPipe-BGP's `bgp.conf` (oslo.config INI; reference §5), read into a [`DaemonConfig`] that
//! behaves like BaGPipe-BGP: every peer is dialled on `bgp_port` from `local_address`, iBGP with
//! `my_as` (2-octet), hold time 180 s, ConnectRetry 5 s, families E-VPN, VPN-IPv4, FlowSpec-VPNv4
//! and RT-Constraint iff `enable_rtc`; no listening socket.
//!
//! Like oslo.config, keys and sections this daemon does not use are accepted; each one becomes a
//! warning for the runtime to log, so that a typo does not go unnoticed.

use super::daemon::{
    ApiConfig, ConfigFormat, DaemonConfig, DataplaneConfig, DriverConfig, DriverKind, DriverOption,
    LogLevel, LoggingConfig, VpnType,
};
use super::error::{ConfigError, ConfigProblem};
use super::ini::{IniDocument, IniSection};
use super::speaker::PeerConfig;
use super::validate;
use crate::wire::Family;
use std::collections::BTreeSet;
use std::time::Duration;

/// BaGPipe-BGP's proposed hold time (reference §1.1).
pub const BAGPIPE_HOLD_TIME: Duration = Duration::from_secs(180);
/// BaGPipe-BGP's ConnectRetry (reference §1.2, CONNECT_RETRY_TIMER).
pub const BAGPIPE_CONNECT_RETRY: Duration = Duration::from_secs(5);

/// `[DEFAULT]` keys of oslo.log and oslo.config that are accepted without a warning.
const OSLO_DEFAULT_KEYS: &[&str] = &[
    "debug",
    "verbose",
    "log_file",
    "log_dir",
    "log_config_append",
    "use_stderr",
    "use_syslog",
    "use_journal",
    "syslog_log_facility",
    "log_date_format",
    "logging_context_format_string",
    "logging_default_format_string",
    "default_log_levels",
    "config_dir",
];

/// Reader of one section: values with their `SECTION.key` names.
struct Section<'a> {
    source: &'a str,
    section: Option<&'a IniSection>,
    written: &'a str,
}

impl<'a> Section<'a> {
    fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.written)
    }

    fn error(&self, key: &str, problem: ConfigProblem) -> ConfigError {
        ConfigError::new(self.source, self.key(key), problem)
    }

    /// The value of the first of `names` that is set (aliases, oslo `deprecated_name`).
    fn value(&self, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
        let section = self.section?;
        names
            .iter()
            .find_map(|name| section.get(name).map(|e| (*name, e.value.as_str())))
    }

    fn required(&self, name: &'a str) -> Result<&'a str, ConfigError> {
        match self.value(&[name]) {
            Some((_, v)) if !v.trim().is_empty() => Ok(v),
            _ => Err(self.error(name, ConfigProblem::Missing)),
        }
    }
}

/// Parse a `bgp.conf`. `source` names the file in errors.
pub fn parse(text: &str, source: &str) -> Result<DaemonConfig, ConfigError> {
    let doc = IniDocument::parse(text).map_err(|e| {
        ConfigError::new(
            source,
            "",
            ConfigProblem::Syntax {
                line: e.line,
                message: e.message.to_string(),
            },
        )
    })?;
    let section = |name: &'static str| {
        let found = doc.section(name);
        Section {
            source,
            section: found,
            written: found.map(|s| s.written_name.as_str()).unwrap_or(name),
        }
    };
    let mut warnings = Vec::new();

    let bgp = section("BGP");
    if bgp.section.is_none() {
        return Err(ConfigError::new(source, "BGP", ConfigProblem::Missing));
    }
    let local_address = validate::parse_local_address(bgp.required("local_address")?)
        .map_err(|p| bgp.error("local_address", p))?;
    let my_as_text = bgp.required("my_as")?;
    let my_as = validate::parse_int(my_as_text)
        .and_then(|v| validate::check_as(v, u32::from(u16::MAX), my_as_text))
        .map_err(|p| bgp.error("my_as", p))?;
    let enable_rtc = match bgp.value(&["enable_rtc"]) {
        Some((_, v)) => validate::parse_bool(v).map_err(|p| bgp.error("enable_rtc", p))?,
        None => true,
    };
    let bgp_port = match bgp.value(&["bgp_port"]) {
        Some((_, v)) => validate::parse_int(v)
            .and_then(|n| validate::check_port(n, v))
            .map_err(|p| bgp.error("bgp_port", p))?,
        None => 179,
    };
    let mut families = BTreeSet::from([Family::EVPN, Family::VPNV4, Family::FLOWSPEC_VPNV4]);
    if enable_rtc {
        families.insert(Family::RTC);
    }
    let mut peers = Vec::new();
    if let Some((_, list)) = bgp.value(&["peers"]) {
        for item in validate::parse_list(list) {
            let address =
                validate::parse_unicast_address(&item).map_err(|p| bgp.error("peers", p))?;
            let mut peer = PeerConfig::new(address, my_as);
            peer.port = bgp_port;
            peer.families = families.clone();
            peer.hold_time = BAGPIPE_HOLD_TIME;
            peer.connect_retry = BAGPIPE_CONNECT_RETRY;
            peers.push(peer);
        }
    }
    warn_unknown(
        &bgp,
        &["local_address", "peers", "my_as", "enable_rtc", "bgp_port"],
        &mut warnings,
    );

    let api_section = section("API");
    let mut api = ApiConfig::default();
    if let Some((name, host)) = api_section.value(&["host", "api_host"]) {
        if host.trim().is_empty() || host.contains(char::is_whitespace) {
            return Err(api_section.error(
                name,
                ConfigProblem::InvalidAddress {
                    value: host.to_string(),
                },
            ));
        }
        api.host = host.trim().to_string();
    }
    if let Some((name, port)) = api_section.value(&["port", "api_port"]) {
        api.port = validate::parse_int(port)
            .and_then(|n| validate::check_port(n, port))
            .map_err(|p| api_section.error(name, p))?;
    }
    warn_unknown(
        &api_section,
        &["host", "api_host", "port", "api_port"],
        &mut warnings,
    );

    let dataplane = DataplaneConfig {
        ipvpn: driver(
            &section("DATAPLANE_DRIVER_IPVPN"),
            VpnType::Ipvpn,
            &mut warnings,
        )?,
        evpn: driver(
            &section("DATAPLANE_DRIVER_EVPN"),
            VpnType::Evpn,
            &mut warnings,
        )?,
    };

    let default = section("DEFAULT");
    let mut logging = LoggingConfig::default();
    if let Some((_, debug)) = default.value(&["debug"]) {
        if validate::parse_bool(debug).map_err(|p| default.error("debug", p))? {
            logging.level = Some(LogLevel::Debug);
        }
    }
    if let Some((_, file)) = default.value(&["log_file"]) {
        if !file.trim().is_empty() {
            logging.file = Some(file.trim().to_string());
        }
    }
    if let Some(d) = default.section {
        for entry in &d.entries {
            if !OSLO_DEFAULT_KEYS.contains(&entry.key.as_str()) {
                warnings.push(format!(
                    "{source}: DEFAULT.{}: ignored (unknown key)",
                    entry.key
                ));
            }
        }
    }

    for s in &doc.sections {
        match s.name.as_str() {
            "DEFAULT" | "bgp" | "api" | "dataplane_driver_ipvpn" | "dataplane_driver_evpn" => {}
            // Used by BaGPipe-BGP for its helpers (root_helper, privsep); bagpipe-rs' drivers
            // do not shell out through them.
            "common" | "privsep" => {}
            "dataplane_driver" => warnings.push(format!(
                "{source}: [{}] is obsolete and ignored: use [DATAPLANE_DRIVER_IPVPN] and [DATAPLANE_DRIVER_EVPN]",
                s.written_name
            )),
            _ => warnings.push(format!("{source}: [{}]: ignored (unknown section)", s.written_name)),
        }
    }

    let config = DaemonConfig {
        format: ConfigFormat::BagpipeIni,
        local_as: my_as,
        router_id: None,
        local_address,
        listen: None,
        peers,
        api,
        dataplane,
        logging,
        warnings,
    };
    validate::check_consistency(&config, |_, _| bgp.key("peers"))
        .map_err(|(key, problem)| ConfigError::new(source, key, problem))?;
    Ok(config)
}

fn warn_unknown(section: &Section<'_>, known: &[&str], warnings: &mut Vec<String>) {
    if let Some(s) = section.section {
        for entry in &s.entries {
            if !known.contains(&entry.key.as_str()) {
                warnings.push(format!(
                    "{}: {}: ignored (unknown key)",
                    section.source,
                    section.key(&entry.key)
                ));
            }
        }
    }
}

fn driver(
    section: &Section<'_>,
    vpn_type: VpnType,
    warnings: &mut Vec<String>,
) -> Result<DriverConfig, ConfigError> {
    let kind = match section.value(&["dataplane_driver"]) {
        None => DriverKind::Dummy,
        Some((_, name)) => DriverKind::from_name(name.trim(), vpn_type).ok_or_else(|| {
            section.error(
                "dataplane_driver",
                ConfigProblem::UnknownDriver {
                    name: name.to_string(),
                    vpn_type: vpn_type.name(),
                },
            )
        })?,
    };
    let mut config = DriverConfig::new(kind);
    let Some(s) = section.section else {
        return Ok(config);
    };
    // The last value of each key wins, as in oslo.
    let mut seen = BTreeSet::new();
    for entry in s.entries.iter().rev() {
        if !seen.insert(entry.key.as_str()) {
            continue;
        }
        match entry.key.as_str() {
            "dataplane_driver" => {}
            "dataplane_local_address" => {
                config.local_address = Some(
                    validate::parse_local_address(&entry.value)
                        .map_err(|p| section.error(&entry.key, p))?,
                );
            }
            name => match validate::known_option(vpn_type, kind, name) {
                Some(option_kind) => {
                    let value = validate::option_from_text(option_kind, &entry.value)
                        .map_err(|p| section.error(name, p))?;
                    config.options.insert(name.to_string(), value);
                }
                None => {
                    warnings.push(format!(
                        "{}: {}: not an option of the {} {} driver; kept as text",
                        section.source,
                        section.key(name),
                        kind.name(),
                        vpn_type.name()
                    ));
                    config
                        .options
                        .insert(name.to_string(), DriverOption::Text(entry.value.clone()));
                }
            },
        }
    }
    Ok(config)
}
