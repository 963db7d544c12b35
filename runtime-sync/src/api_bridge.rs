//! Between the HTTP server and the engine: API calls become engine inputs with a ticket, the
//! engine's answers go back to the waiting clients, and looking-glass requests are answered from
//! the engine's state at once. Shared by both runtimes.

use crate::engine::Engine;
use crate::http::{ApiCall as HttpCall, ApiReply, ApiServer, PendingRequest, ReplyHandle};
use bagpipe_core::config::VpnType;
use bagpipe_core::dataplane::Operation;
use bagpipe_core::looking_glass::{LookingGlassInfo, OperationLog};
use bagpipe_core::speaker::{ApiCall, ApiTicket};
use bagpipe_core::time::Instant;
use bagpipe_core::vpn::VpnError;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// The API side of a runtime.
pub struct ApiBridge {
    server: ApiServer,
    waiting: BTreeMap<ApiTicket, ReplyHandle>,
    next_ticket: u64,
    /// What the looking glass shows of the host.
    pub info: LookingGlassInfo,
    /// The operations the drivers applied.
    pub operations: OperationLog,
}

/// The socket address of `[API] host` and `port`: an address, `localhost`, or a name.
pub fn api_address(host: &str, port: u16) -> Result<SocketAddr, String> {
    if host == "localhost" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("API host {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("API host {host}: no address"))
}

impl ApiBridge {
    /// A bridge over a started server.
    pub fn new(server: ApiServer, info: LookingGlassInfo) -> Self {
        ApiBridge {
            server,
            waiting: BTreeMap::new(),
            next_ticket: 1,
            info,
            operations: OperationLog::default(),
        }
    }

    /// Where the API listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Hands every pending request to the engine (attach, detach) or answers it (looking glass).
    pub fn serve<E: Engine>(&mut self, engine: &mut E, now: Instant) {
        while let Some(PendingRequest { call, reply }) = self.server.poll_request() {
            let call = match call {
                HttpCall::Attach(r) => ApiCall::Attach(Box::new(r)),
                HttpCall::Detach(r) => ApiCall::Detach(Box::new(r)),
                HttpCall::LookingGlass { path, base_url } => {
                    let (logs, count) = crate::log_capture::captured();
                    self.info.logs = logs;
                    self.info.warnings_and_errors = count;
                    let answer =
                        engine.looking_glass(&path, &base_url, &self.info, &self.operations);
                    reply.send(match answer {
                        Ok(value) => ApiReply::json(value),
                        Err(not_found) => ApiReply::text(404, not_found.to_string()),
                    });
                    continue;
                }
            };
            let ticket = ApiTicket(self.next_ticket);
            self.next_ticket += 1;
            self.waiting.insert(ticket, reply);
            engine.api(now, ticket, call);
        }
    }

    /// The engine's answer to an API call.
    pub fn reply(&mut self, ticket: ApiTicket, result: Result<(), VpnError>) {
        let Some(handle) = self.waiting.remove(&ticket) else {
            return;
        };
        handle.send(match result {
            Ok(()) => ApiReply::ok(),
            Err(e) if e.http_status() == 400 => ApiReply::api_error(e),
            Err(e) => ApiReply::server_error(e.to_string()),
        });
    }

    /// Records operations a driver applied (the looking glass shows them).
    pub fn applied(&mut self, vpn_type: VpnType, ops: &[Operation]) {
        self.operations.record(vpn_type, ops);
    }
}

/// Starts the REST API of a loaded configuration, waking the runtime with `waker`.
pub fn start_api(
    loaded: &crate::host::LoadedConfig,
    waker: impl Fn() + Send + Sync + 'static,
) -> Result<ApiBridge, String> {
    let api = &loaded.daemon.api;
    let address = api_address(&api.host, api.port)?;
    let server = ApiServer::start(address, crate::http::ping_value(), waker)
        .map_err(|e| format!("cannot serve the REST API on {address}: {e}"))?;
    let info = LookingGlassInfo {
        start_time: utc_text(std::time::SystemTime::now()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        config: config_view(loaded),
        ..LookingGlassInfo::default()
    };
    Ok(ApiBridge::new(server, info))
}

/// The configuration as BaGPipe-BGP's looking glass shows it (`/looking-glass/config`): its
/// `bgp.conf` sections and option names, whatever file the daemon read.
pub fn config_view(loaded: &crate::host::LoadedConfig) -> serde_json::Value {
    let d = &loaded.daemon;
    let r = &loaded.resolved;
    let driver = |c: &bagpipe_core::config::DriverConfig, address: IpAddr| {
        let mut section = serde_json::Map::new();
        section.insert(
            "dataplane_driver".into(),
            serde_json::to_value(c.driver).unwrap_or(serde_json::Value::Null),
        );
        section.insert(
            "dataplane_local_address".into(),
            serde_json::Value::String(address.to_string()),
        );
        for (name, value) in &c.options {
            section.insert(
                name.clone(),
                serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            );
        }
        serde_json::Value::Object(section)
    };
    serde_json::json!({
        "COMMON": { "config_file": loaded.source },
        "API": { "host": d.api.host, "port": d.api.port },
        "BGP": {
            "local_address": r.speaker.local_address.to_string(),
            "router_id": r.speaker.router_id.to_string(),
            "my_as": d.local_as,
            "peers": r.speaker.peers.iter().map(|p| p.address.to_string()).collect::<Vec<_>>(),
            "enable_rtc": r.speaker.peers.iter().any(|p| p.families.contains(&bagpipe_core::wire::Family::RTC)),
            "bgp_port": r.speaker.peers.first().map_or(179, |p| p.port),
        },
        "DATAPLANE_DRIVER_IPVPN": driver(&d.dataplane.ipvpn, r.ipvpn_local_address),
        "DATAPLANE_DRIVER_EVPN": driver(&d.dataplane.evpn, r.evpn_local_address),
    })
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (the looking glass's `start_time`).
pub fn utc_text(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn utc_text_formats_civil_dates() {
        assert_eq!(utc_text(UNIX_EPOCH), "1970-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_186_096);
        assert_eq!(utc_text(t), "2026-12-02 04:34:56");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_text(leap), "2000-02-29 00:00:00");
    }

    #[test]
    fn api_host_names() {
        assert_eq!(
            api_address("localhost", 8082).map(|a| a.to_string()),
            Ok("127.0.0.1:8082".into())
        );
        assert_eq!(
            api_address("0.0.0.0", 1).map(|a| a.to_string()),
            Ok("0.0.0.0:1".into())
        );
    }
}
