//! Service-chaining options of an attachment: `readvertise`, `attract_traffic` and its traffic
//! classifier (reference §2.2 construction rules, §2.3 "Readvertise"/"attract_traffic", §2.6;
//! draft-ietf-bess-service-chaining).

use super::address::prefix;
use super::error::{ApiError, ApiProblem};
use super::read::{array, integer, is_falsy, object, show, string, wrong_type, Obj};
use super::route_targets::rt_list;
use crate::wire::RouteTarget;
use ipnetwork::IpNetwork;
use serde_json::Value;

/// `readvertise` (reference §2.3): re-advertise the routes carrying a `from_rt` towards `to_rt`,
/// through every local endpoint ("route leaking"). Both keys are required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readvertise {
    /// `from_rt`: routes carrying one of these RTs are readvertised.
    pub from_rt: Vec<RouteTarget>,
    /// `to_rt`: the RTs the readvertised routes carry.
    pub to_rt: Vec<RouteTarget>,
}

/// `attract_traffic` (reference §2.2, §2.3): instead of readvertising prefixes, advertise a
/// default route per endpoint and FlowSpec routes redirecting the classified traffic. Present
/// only when BaGPipe-BGP would enable it: a non-empty `attract_traffic` together with
/// `readvertise` or `attract_traffic.to_rt`; otherwise BaGPipe-BGP ignores the object (after
/// checking `redirect_rts`) and so does the parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttractTraffic {
    /// `redirect_rts`: the RTs of the generated FlowSpec routes.
    pub redirect_rts: Vec<RouteTarget>,
    /// `classifier`: the traffic to attract.
    pub classifier: TrafficClassifier,
    /// `to_rt`: the one RT to advertise to when `readvertise` is absent; equal to
    /// `readvertise.to_rt` when both are given. Either way exactly one target RT exists.
    pub to_rt: Option<RouteTarget>,
    /// `static_destination_prefixes`: prefixes advertised (and redirected) even before any route
    /// is readvertised; required with `to_rt`, ignored (empty here) without it.
    pub static_destination_prefixes: Vec<IpNetwork>,
}

/// A traffic classifier (reference §2.6 `TrafficClassifier`), mapped to FlowSpec components
/// (RFC 8955 §4.2.2) when routes are advertised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficClassifier {
    /// `sourcePrefix`.
    pub source_prefix: Option<IpNetwork>,
    /// `destinationPrefix` (replaced by each readvertised prefix when redirecting).
    pub destination_prefix: Option<IpNetwork>,
    /// `sourcePort`.
    pub source_port: Option<PortMatch>,
    /// `destinationPort`.
    pub destination_port: Option<PortMatch>,
    /// `protocol`: `tcp` when the key is absent; `None` (any protocol) when it is `null` or `""`.
    pub protocol: Option<IpProtocol>,
}

/// A port match: `"80"` or a range `"min:max"` (reference §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMatch {
    /// One port.
    Port(u16),
    /// `min..=max`.
    Range {
        /// Lowest port matched.
        min: u16,
        /// Highest port matched.
        max: u16,
    },
}

/// The IP protocols a classifier can name: ExaBGP's `Protocol` names, which BaGPipe-BGP uses
/// (IANA protocol numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    /// `icmp` (1).
    Icmp,
    /// `igmp` (2).
    Igmp,
    /// `tcp` (6).
    Tcp,
    /// `egp` (8).
    Egp,
    /// `udp` (17).
    Udp,
    /// `rsvp` (46).
    Rsvp,
    /// `gre` (47).
    Gre,
    /// `esp` (50).
    Esp,
    /// `ah` (51).
    Ah,
    /// `ospf` (89).
    Ospf,
    /// `ipip` (94).
    Ipip,
    /// `pim` (103).
    Pim,
    /// `sctp` (132).
    Sctp,
}

impl IpProtocol {
    const ALL: [(&'static str, IpProtocol, u8); 13] = [
        ("icmp", IpProtocol::Icmp, 1),
        ("igmp", IpProtocol::Igmp, 2),
        ("tcp", IpProtocol::Tcp, 6),
        ("egp", IpProtocol::Egp, 8),
        ("udp", IpProtocol::Udp, 17),
        ("rsvp", IpProtocol::Rsvp, 46),
        ("gre", IpProtocol::Gre, 47),
        ("esp", IpProtocol::Esp, 50),
        ("ah", IpProtocol::Ah, 51),
        ("ospf", IpProtocol::Ospf, 89),
        ("ipip", IpProtocol::Ipip, 94),
        ("pim", IpProtocol::Pim, 103),
        ("sctp", IpProtocol::Sctp, 132),
    ];

    /// The protocol named `name` (ASCII case ignored).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, p, _)| p)
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p, _)| *p == self)
            .map_or("", |&(n, _, _)| n)
    }

    /// The IANA protocol number.
    pub fn number(self) -> u8 {
        Self::ALL
            .iter()
            .find(|(_, p, _)| *p == self)
            .map_or(0, |&(_, _, n)| n)
    }
}

/// Parses `readvertise`; any falsy value (`null`, `{}`, ...) means none, as BaGPipe-BGP's
/// `if readvertise:`.
pub(crate) fn readvertise(v: &Value) -> Result<Option<Readvertise>, ApiError> {
    const FIELD: &str = "readvertise";
    if is_falsy(v) {
        return Ok(None);
    }
    let obj = object(v, FIELD)?;
    let from_rt = rt_list(obj.required("from_rt")?, &obj.field("from_rt"))?;
    let to_rt = rt_list(obj.required("to_rt")?, &obj.field("to_rt"))?;
    Ok(Some(Readvertise { from_rt, to_rt }))
}

/// Parses `attract_traffic` given the parsed `readvertise`, with BaGPipe-BGP's checks in its
/// order (reference §2.2 construction).
pub(crate) fn attract_traffic(
    v: &Value,
    readvertise: Option<&Readvertise>,
) -> Result<Option<AttractTraffic>, ApiError> {
    const FIELD: &str = "attract_traffic";
    if is_falsy(v) {
        return Ok(None);
    }
    let obj = object(v, FIELD)?;
    let redirect_rts = rt_list(obj.required("redirect_rts")?, &obj.field("redirect_rts"))?;
    let own_to_rt = obj.get("to_rt").filter(|v| !is_falsy(v));
    if readvertise.is_none() && own_to_rt.is_none() {
        return Ok(None);
    }
    let mut static_destination_prefixes = Vec::new();
    let targets = match own_to_rt {
        Some(raw) => {
            let to_rt = rt_list(raw, &obj.field("to_rt"))?;
            if let Some(readv) = readvertise {
                if to_rt != readv.to_rt {
                    return Err(ApiError::new(
                        obj.field("to_rt"),
                        ApiProblem::AttractToRtMismatch,
                    ));
                }
            }
            let field = obj.field("static_destination_prefixes");
            let prefixes = array(obj.required("static_destination_prefixes")?, &field)?;
            for (i, p) in prefixes.iter().enumerate() {
                let at = format!("{field}[{i}]");
                static_destination_prefixes.push(prefix(string(p, &at)?, &at)?);
            }
            to_rt
        }
        None => readvertise.map(|r| r.to_rt.clone()).unwrap_or_default(),
    };
    let [target] = targets.as_slice() else {
        return Err(ApiError::new(
            obj.field("to_rt"),
            ApiProblem::AttractToRtCount {
                count: targets.len(),
            },
        ));
    };
    let classifier = classifier(obj)?;
    Ok(Some(AttractTraffic {
        redirect_rts,
        classifier,
        to_rt: own_to_rt.map(|_| *target),
        static_destination_prefixes,
    }))
}

/// The classifier's keys: BaGPipe-BGP converts camelCase to snake_case before use, so both
/// spellings name the same field.
const CLASSIFIER_KEYS: [(&str, &str); 5] = [
    ("sourcePrefix", "source_prefix"),
    ("destinationPrefix", "destination_prefix"),
    ("sourcePort", "source_port"),
    ("destinationPort", "destination_port"),
    ("protocol", "protocol"),
];

fn classifier(attract: Obj<'_>) -> Result<TrafficClassifier, ApiError> {
    let field = attract.field("classifier");
    let obj = object(attract.required("classifier")?, &field)?;
    for key in obj.map.keys() {
        if !CLASSIFIER_KEYS
            .iter()
            .any(|(camel, snake)| key == camel || key == snake)
        {
            return Err(ApiError::new(obj.field(key), ApiProblem::UnknownField));
        }
    }
    // The value of a classifier field, whichever spelling it was given in.
    let get = |camel: &'static str| -> Result<Option<(&Value, String)>, ApiError> {
        let snake = CLASSIFIER_KEYS
            .iter()
            .find(|(c, _)| *c == camel)
            .map_or(camel, |(_, s)| s);
        match (obj.get(camel), obj.get(snake).filter(|_| snake != camel)) {
            (Some(_), Some(_)) => Err(ApiError::new(
                obj.field(camel),
                ApiProblem::DuplicateField { other: snake },
            )),
            (Some(v), None) => Ok(Some((v, obj.field(camel)))),
            (None, Some(v)) => Ok(Some((v, obj.field(snake)))),
            (None, None) => Ok(None),
        }
    };
    let prefix_field = |camel| -> Result<Option<IpNetwork>, ApiError> {
        match get(camel)? {
            Some((v, at)) if !is_falsy(v) => Ok(Some(prefix(string(v, &at)?, &at)?)),
            _ => Ok(None),
        }
    };
    let port_field = |camel| -> Result<Option<PortMatch>, ApiError> {
        match get(camel)? {
            Some((v, at)) if !is_falsy(v) => port_match(v, &at).map(Some),
            _ => Ok(None),
        }
    };
    let protocol = match get("protocol")? {
        None => Some(IpProtocol::Tcp),
        Some((v, _)) if is_falsy(v) => None,
        Some((v, at)) => {
            let name = string(v, &at)?;
            Some(IpProtocol::from_name(name).ok_or_else(|| {
                ApiError::new(
                    at.clone(),
                    ApiProblem::Malformed {
                        value: name.to_string(),
                        expected: "an IP protocol name (tcp, udp, icmp, sctp, gre, ...)",
                    },
                )
            })?)
        }
    };
    Ok(TrafficClassifier {
        source_prefix: prefix_field("sourcePrefix")?,
        destination_prefix: prefix_field("destinationPrefix")?,
        source_port: port_field("sourcePort")?,
        destination_port: port_field("destinationPort")?,
        protocol,
    })
}

/// `"80"`, `"1000:2000"`, or (tolerated) a JSON integer.
fn port_match(v: &Value, field: &str) -> Result<PortMatch, ApiError> {
    let text = match v {
        Value::Number(_) => return Ok(PortMatch::Port(integer(v, field, 0, 65535)? as u16)),
        Value::String(s) => s,
        other => return Err(wrong_type(field, "a port number or range string", other)),
    };
    let malformed = || {
        ApiError::new(
            field,
            ApiProblem::Malformed {
                value: text.clone(),
                expected: "a port \"N\" or a range \"MIN:MAX\", 0..=65535",
            },
        )
    };
    let port = |s: &str| s.trim().parse::<u16>().map_err(|_| malformed());
    match text.split_once(':') {
        None => Ok(PortMatch::Port(port(text)?)),
        Some((min, max)) => {
            let (min, max) = (port(min)?, port(max)?);
            if min > max {
                return Err(ApiError::new(
                    field,
                    ApiProblem::EmptyPortRange { value: show(v) },
                ));
            }
            Ok(PortMatch::Range { min, max })
        }
    }
}
