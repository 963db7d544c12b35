//! bagpipe-rs' own configuration format (TOML). Strict: an unknown key is an error naming it.
//! Every key is documented in the README's "Configuration" section.

use super::daemon::{
    ApiConfig, ConfigFormat, DaemonConfig, DataplaneConfig, DriverConfig, DriverKind, DriverOption,
    ListenConfig, LogFormat, LogLevel, LoggingConfig, VpnType,
};
use super::error::{ConfigError, ConfigProblem};
use super::speaker::PeerConfig;
use super::validate::{self, OptionKind};
use crate::wire::Family;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use toml::{Table, Value};

/// The configuration the daemon runs when given no file: local address 127.0.0.1, AS 64512,
/// dummy drivers, REST API on 127.0.0.1:8082, no peers, not listening.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");

/// Keys of one TOML table, read with their full dotted names; unknown keys are errors.
struct TableReader<'a> {
    source: &'a str,
    path: String,
    table: &'a Table,
    used: BTreeSet<&'a str>,
}

impl<'a> TableReader<'a> {
    fn new(source: &'a str, path: String, table: &'a Table) -> Self {
        TableReader {
            source,
            path,
            table,
            used: BTreeSet::new(),
        }
    }

    fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, problem: ConfigProblem) -> ConfigError {
        ConfigError::new(self.source, self.key(key), problem)
    }

    fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        let (name, value) = self.table.get_key_value(key)?;
        self.used.insert(name.as_str());
        Some(value)
    }

    fn wrong_type(&self, key: &str, expected: &'static str, value: &Value) -> ConfigError {
        self.error(
            key,
            ConfigProblem::WrongType {
                expected,
                found: value.to_string(),
            },
        )
    }

    fn string(&mut self, key: &'a str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    fn integer(&mut self, key: &'a str) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(*i)),
            Some(other) => Err(self.wrong_type(key, "an integer", other)),
        }
    }

    fn boolean(&mut self, key: &'a str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "a boolean", other)),
        }
    }

    fn strings(&mut self, key: &'a str) -> Result<Option<Vec<&'a str>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.as_str()),
                        other => return Err(self.wrong_type(key, "an array of strings", other)),
                    }
                }
                Ok(Some(out))
            }
            Some(other) => Err(self.wrong_type(key, "an array of strings", other)),
        }
    }

    fn table(&mut self, key: &'a str) -> Result<Option<&'a Table>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(other) => Err(self.wrong_type(key, "a table", other)),
        }
    }

    /// Every key must have been read.
    fn finish(self) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(unknown) => Err(self.error(unknown, ConfigProblem::Unknown)),
            None => Ok(()),
        }
    }
}

/// Parse the native TOML format. `source` names the file in errors.
pub fn parse(text: &str, source: &str) -> Result<DaemonConfig, ConfigError> {
    let root: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        ConfigError::new(
            source,
            "",
            ConfigProblem::Syntax {
                line,
                message: e.message().to_string(),
            },
        )
    })?;
    let mut top = TableReader::new(source, String::new(), &root);
    let mut warnings = Vec::new();

    let bgp_table = top
        .table("bgp")?
        .ok_or_else(|| ConfigError::new(source, "bgp", ConfigProblem::Missing))?;
    let mut bgp = TableReader::new(source, "bgp".into(), bgp_table);
    let local_as = match bgp.integer("local_as")? {
        Some(v) => {
            validate::check_as(v, u32::MAX, &v.to_string()).map_err(|p| bgp.error("local_as", p))?
        }
        None => return Err(bgp.error("local_as", ConfigProblem::Missing)),
    };
    let local_address = match bgp.string("local_address")? {
        Some(v) => validate::parse_local_address(v).map_err(|p| bgp.error("local_address", p))?,
        None => return Err(bgp.error("local_address", ConfigProblem::Missing)),
    };
    let router_id = match bgp.string("router_id")? {
        None => None,
        Some(v) => Some(parse_router_id(v).map_err(|p| bgp.error("router_id", p))?),
    };
    let listen_address = match bgp.string("listen_address")? {
        None => None,
        Some(v) => {
            Some(validate::parse_unicast_address(v).map_err(|p| bgp.error("listen_address", p))?)
        }
    };
    let listen_port = match bgp.integer("listen_port")? {
        None => None,
        Some(v) => {
            Some(validate::check_port(v, &v.to_string()).map_err(|p| bgp.error("listen_port", p))?)
        }
    };
    let listen = match (listen_address, listen_port) {
        (None, None) => None,
        (address, port) => Some(ListenConfig {
            address,
            port: port.unwrap_or(179),
        }),
    };
    bgp.finish()?;

    let mut peers = Vec::new();
    match top.get("peers") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("peers[{i}]");
                let Value::Table(table) = item else {
                    return Err(ConfigError::new(
                        source,
                        path,
                        ConfigProblem::WrongType {
                            expected: "a table ([[peers]])",
                            found: item.to_string(),
                        },
                    ));
                };
                peers.push(peer(TableReader::new(source, path, table), local_as)?);
            }
        }
        Some(other) => {
            return Err(top.wrong_type("peers", "an array of tables ([[peers]])", other));
        }
    }

    let mut api = ApiConfig::default();
    if let Some(table) = top.table("api")? {
        let mut reader = TableReader::new(source, "api".into(), table);
        if let Some(host) = reader.string("host")? {
            if host.trim().is_empty() || host.contains(char::is_whitespace) {
                return Err(reader.error(
                    "host",
                    ConfigProblem::InvalidAddress {
                        value: host.to_string(),
                    },
                ));
            }
            api.host = host.to_string();
        }
        if let Some(port) = reader.integer("port")? {
            api.port = validate::check_port(port, &port.to_string())
                .map_err(|p| reader.error("port", p))?;
        }
        reader.finish()?;
    }

    let mut dataplane = DataplaneConfig::default();
    if let Some(table) = top.table("dataplane")? {
        let mut reader = TableReader::new(source, "dataplane".into(), table);
        if let Some(t) = reader.table("ipvpn")? {
            dataplane.ipvpn = driver(
                TableReader::new(source, "dataplane.ipvpn".into(), t),
                VpnType::Ipvpn,
                &mut warnings,
            )?;
        }
        if let Some(t) = reader.table("evpn")? {
            dataplane.evpn = driver(
                TableReader::new(source, "dataplane.evpn".into(), t),
                VpnType::Evpn,
                &mut warnings,
            )?;
        }
        reader.finish()?;
    }

    let mut logging = LoggingConfig::default();
    if let Some(table) = top.table("logging")? {
        let mut reader = TableReader::new(source, "logging".into(), table);
        if let Some(level) = reader.string("level")? {
            logging.level = Some(LogLevel::from_name(level).ok_or_else(|| {
                reader.error(
                    "level",
                    ConfigProblem::InvalidChoice {
                        value: level.to_string(),
                        allowed: LogLevel::NAMES,
                    },
                )
            })?);
        }
        if let Some(format) = reader.string("format")? {
            logging.format = Some(LogFormat::from_name(format).ok_or_else(|| {
                reader.error(
                    "format",
                    ConfigProblem::InvalidChoice {
                        value: format.to_string(),
                        allowed: LogFormat::NAMES,
                    },
                )
            })?);
        }
        if let Some(file) = reader.string("file")? {
            logging.file = Some(file.to_string());
        }
        reader.finish()?;
    }
    top.finish()?;

    let config = DaemonConfig {
        format: ConfigFormat::Toml,
        local_as,
        router_id,
        local_address,
        listen,
        peers,
        api,
        dataplane,
        logging,
        warnings,
    };
    validate::check_consistency(&config, |i, field| format!("peers[{i}].{field}"))
        .map_err(|(key, problem)| ConfigError::new(source, key, problem))?;
    Ok(config)
}

/// RFC 6286 §2.1: a non-zero 32-bit identifier, written as an IPv4 address.
fn parse_router_id(text: &str) -> Result<Ipv4Addr, ConfigProblem> {
    let id: Ipv4Addr = text.parse().map_err(|_| ConfigProblem::InvalidAddress {
        value: text.to_string(),
    })?;
    if id.is_unspecified() {
        return Err(ConfigProblem::UnusableAddress {
            address: IpAddr::V4(id),
            reason: "the BGP identifier must not be zero (RFC 6286)",
        });
    }
    Ok(id)
}

fn peer(mut r: TableReader<'_>, local_as: u32) -> Result<PeerConfig, ConfigError> {
    let address = match r.string("address")? {
        Some(v) => validate::parse_unicast_address(v).map_err(|p| r.error("address", p))?,
        None => return Err(r.error("address", ConfigProblem::Missing)),
    };
    let remote_as = match r.integer("remote_as")? {
        Some(v) => {
            validate::check_as(v, u32::MAX, &v.to_string()).map_err(|p| r.error("remote_as", p))?
        }
        None => local_as,
    };
    let mut peer = PeerConfig::new(address, remote_as);
    if let Some(port) = r.integer("port")? {
        peer.port =
            validate::check_port(port, &port.to_string()).map_err(|p| r.error("port", p))?;
    }
    if let Some(passive) = r.boolean("passive")? {
        peer.passive = passive;
    }
    if let Some(names) = r.strings("families")? {
        let mut families = BTreeSet::new();
        for name in names {
            let family = Family::from_name(name).ok_or_else(|| {
                r.error(
                    "families",
                    ConfigProblem::UnknownFamily {
                        name: name.to_string(),
                    },
                )
            })?;
            families.insert(family);
        }
        peer.families = families;
    }
    if let Some(hold) = r.integer("hold_time")? {
        peer.hold_time = validate::check_hold_time(hold).map_err(|p| r.error("hold_time", p))?;
    }
    if let Some(retry) = r.integer("connect_retry")? {
        peer.connect_retry =
            validate::check_seconds(retry, 1, 65535).map_err(|p| r.error("connect_retry", p))?;
    }
    if let Some(local) = r.string("local_address")? {
        peer.local_address =
            Some(validate::parse_unicast_address(local).map_err(|p| r.error("local_address", p))?);
    }
    match r.get("graceful_restart") {
        None | Some(Value::Boolean(false)) => {}
        // RFC 4724 §3: the Restart Time is a 12-bit number of seconds.
        Some(Value::Integer(seconds)) => {
            peer.graceful_restart = Some(
                validate::check_seconds(*seconds, 1, 4095)
                    .map_err(|p| r.error("graceful_restart", p))?,
            );
        }
        Some(other) => {
            return Err(r.wrong_type(
                "graceful_restart",
                "a restart time in seconds (1..=4095) or false",
                other,
            ))
        }
    }
    if let Some(description) = r.string("description")? {
        peer.description = Some(description.to_string());
    }
    r.finish()?;
    Ok(peer)
}

fn driver(
    mut r: TableReader<'_>,
    vpn_type: VpnType,
    warnings: &mut Vec<String>,
) -> Result<DriverConfig, ConfigError> {
    let kind = match r.string("driver")? {
        None => DriverKind::Dummy,
        Some(name) => DriverKind::from_name(name, vpn_type).ok_or_else(|| {
            r.error(
                "driver",
                ConfigProblem::UnknownDriver {
                    name: name.to_string(),
                    vpn_type: vpn_type.name(),
                },
            )
        })?,
    };
    let mut config = DriverConfig::new(kind);
    if let Some(local) = r.string("local_address")? {
        config.local_address =
            Some(validate::parse_local_address(local).map_err(|p| r.error("local_address", p))?);
    }
    let table = r.table;
    for (name, value) in table {
        if name == "driver" || name == "local_address" {
            continue;
        }
        r.used.insert(name.as_str());
        let option = match validate::known_option(vpn_type, kind, name) {
            Some(option_kind) => typed_option(&r, name, option_kind, value)?,
            None => {
                warnings.push(format!(
                    "{}: {}: not an option of the {} {} driver; kept as written",
                    r.source,
                    r.key(name),
                    kind.name(),
                    vpn_type.name()
                ));
                untyped_option(&r, name, value)?
            }
        };
        config.options.insert(name.clone(), option);
    }
    r.finish()?;
    Ok(config)
}

fn typed_option(
    r: &TableReader<'_>,
    name: &str,
    kind: OptionKind,
    value: &Value,
) -> Result<DriverOption, ConfigError> {
    let wrong = |expected| r.wrong_type(name, expected, value);
    match (kind, value) {
        (OptionKind::Bool, Value::Boolean(b)) => Ok(DriverOption::Bool(*b)),
        (OptionKind::Bool, _) => Err(wrong("a boolean")),
        (OptionKind::Integer { min, max }, Value::Integer(i)) => {
            let v = u64::try_from(*i).map_err(|_| wrong("a non-negative integer"))?;
            validate::check_range(v, min, max, &i.to_string()).map_err(|p| r.error(name, p))
        }
        (OptionKind::Integer { .. }, _) => Err(wrong("an integer")),
        (OptionKind::Text, Value::String(s)) => Ok(DriverOption::Text(s.clone())),
        (OptionKind::Text, _) => Err(wrong("a string")),
        (OptionKind::Choice(_), Value::String(s)) => {
            validate::option_from_text(kind, s).map_err(|p| r.error(name, p))
        }
        (OptionKind::Choice(_), Value::Boolean(b)) => {
            validate::option_from_text(kind, if *b { "true" } else { "false" })
                .map_err(|p| r.error(name, p))
        }
        (OptionKind::Choice(_), _) => Err(wrong("a string")),
        (OptionKind::List, Value::Array(_)) => match untyped_option(r, name, value)? {
            list @ DriverOption::List(_) => Ok(list),
            _ => Err(wrong("an array of strings")),
        },
        (OptionKind::List, _) => Err(wrong("an array of strings")),
    }
}

fn untyped_option(
    r: &TableReader<'_>,
    name: &str,
    value: &Value,
) -> Result<DriverOption, ConfigError> {
    let wrong = || {
        r.wrong_type(
            name,
            "a boolean, a non-negative integer, a string or an array of strings",
            value,
        )
    };
    match value {
        Value::Boolean(b) => Ok(DriverOption::Bool(*b)),
        Value::Integer(i) => u64::try_from(*i)
            .map(DriverOption::Integer)
            .map_err(|_| wrong()),
        Value::String(s) => Ok(DriverOption::Text(s.clone())),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(wrong()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(DriverOption::List),
        _ => Err(wrong()),
    }
}
