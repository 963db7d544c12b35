//! What can be wrong with an attach or detach request, and where: every error names the JSON
//! field (`local_port.ovs.vlan`, `import_rt[2]`; empty for the body itself) and the problem.
//!
//! Every problem found here is the client's: [`ApiError::class`] is always
//! [`ErrorClass::Client`], answered with HTTP 400. BaGPipe-BGP answers some of these same inputs
//! with a 500 because the fault only surfaces as a Python exception deep in the plug code
//! (reference §3.1 "any other exception → 500", §9 item 14); [`ApiError::reference`] records what
//! it does, so that every place where we answer differently is written down and testable.

use core::fmt;

/// The JSON type of a value, named in "expected X, got Y" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `value`.
    pub fn of(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => JsonKind::Null,
            serde_json::Value::Bool(_) => JsonKind::Boolean,
            serde_json::Value::Number(_) => JsonKind::Number,
            serde_json::Value::String(_) => JsonKind::String,
            serde_json::Value::Array(_) => JsonKind::Array,
            serde_json::Value::Object(_) => JsonKind::Object,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        })
    }
}

/// Whose fault an error is, which decides the HTTP status (reference §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request is wrong: HTTP 400, body "API error: <message>" (BaGPipe-BGP's
    /// `APIException` family, reference §3.1).
    Client,
}

impl ErrorClass {
    /// The HTTP status for this class.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorClass::Client => 400,
        }
    }
}

/// How BaGPipe-BGP answers the same input (reference §3.1, §3.2): the Python exception class
/// raised and the HTTP status it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceAnswer {
    /// The exception class (`APIException`, `APIMissingParameterException`, ...), or the name of
    /// the pecan abort for a body that is not JSON.
    pub exception: &'static str,
    /// 400 for the `APIException` family and an unreadable body, 500 for anything else.
    pub http_status: u16,
}

/// An attach or detach request that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The field at fault, as a path in the request (`local_port.ovs.vlan`, `import_rt[2]`,
    /// `attract_traffic.classifier`); empty when the body as a whole is at fault.
    pub field: String,
    /// What is wrong.
    pub problem: ApiProblem,
}

/// The problem itself (reference §3.1 error list, §3.2 field table, §2.2 attract_traffic rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiProblem {
    /// The body is empty or not JSON (reference §3.1: 400 "No local port details received").
    NotJson {
        /// The JSON parser's explanation.
        detail: String,
    },
    /// `vpn_type` is absent (reference §3.1: "missing instance_type").
    MissingVpnType,
    /// `vpn_type` is neither `ipvpn` nor `evpn` (reference §3.1: "unknown vpn_type: x").
    UnknownVpnType {
        /// The value given, as JSON text.
        value: String,
    },
    /// A required field is absent (reference §3.1: "Missing parameter: '<name>'").
    Missing,
    /// The value has the wrong JSON type.
    WrongType {
        /// What was expected (`a string`, `an integer`, ...).
        expected: &'static str,
        /// What was given.
        found: JsonKind,
    },
    /// A number outside the range the field allows (a negative VNI, a VLAN above 4095, a number
    /// too large for any integer type).
    OutOfRange {
        /// The value given, as JSON text.
        value: String,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// Not a MAC address in any of the EUI-48 text forms netaddr accepts (reference §3.2).
    MalformedMacAddress {
        /// The text given.
        value: String,
    },
    /// Not an IP address, or an address with a prefix length or netmask (reference §3.2).
    MalformedIpAddress {
        /// The text given.
        value: String,
    },
    /// Not a route target `ASN:NN`, `A.B.C.D:NN` or `ASNL:NN` (reference §3.2, RFC 4360 §4).
    MalformedRouteTarget {
        /// The text given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A string that does not have the form the field needs (a port range, a protocol name, a
    /// number written as a string).
    Malformed {
        /// The text given.
        value: String,
        /// The form expected.
        expected: &'static str,
    },
    /// `local_port` has neither `linuxif` nor `evpn` (reference §2.2, §3.2).
    LocalPortWithoutInterface,
    /// `direction` is not one of `both`, `to-port`, `from-port` (reference §3.2).
    InvalidDirection {
        /// The value given, as JSON text.
        value: String,
    },
    /// An E-VPN attachment names no `local_port.linuxif`: only an IP-VPN can be plugged into an
    /// E-VPN (reference §2.1 "EVPN→IPVPN plug").
    EvpnAttachWithoutLinuxif,
    /// An IP-VPN attachment plugging an E-VPN (`local_port.evpn`) also names a `linuxif`
    /// (reference §2.1: "`linuxif` must be empty").
    EvpnPlugWithLinuxif,
    /// `local_port.evpn.ovs_port_name` without a pre-plugged OVS port
    /// (`local_port.ovs.plugged` and `port_name` or `port_number`, reference §2.1).
    EvpnPlugPortNotPreplugged,
    /// `attract_traffic.to_rt` and `readvertise.to_rt` are both given and differ (reference
    /// §2.2).
    AttractToRtMismatch,
    /// `attract_traffic` needs exactly one target RT overall (reference §2.2).
    AttractToRtCount {
        /// How many were given.
        count: usize,
    },
    /// A port range whose minimum is above its maximum.
    EmptyPortRange {
        /// The text given.
        value: String,
    },
    /// A classifier field given both in camelCase and in snake_case spelling, which BaGPipe-BGP
    /// treats as the same key (reference §2.6).
    DuplicateField {
        /// The other spelling.
        other: &'static str,
    },
    /// A classifier key BaGPipe-BGP's `TrafficClassifier` does not have (reference §2.6).
    UnknownField,
}

impl ApiError {
    /// An error at `field`.
    pub fn new(field: impl Into<String>, problem: ApiProblem) -> Self {
        ApiError {
            field: field.into(),
            problem,
        }
    }

    /// Whose fault it is: always the client's for a request that fails to parse or validate.
    pub const fn class(&self) -> ErrorClass {
        ErrorClass::Client
    }

    /// The HTTP status to answer with (400).
    pub const fn http_status(&self) -> u16 {
        self.class().http_status()
    }

    /// How BaGPipe-BGP answers the same input (reference §3.1); where its status is 500 we
    /// deliberately answer 400 instead (the input is the client's fault, reference §9 item 14).
    pub fn reference(&self) -> ReferenceAnswer {
        let (exception, http_status) = match &self.problem {
            ApiProblem::NotJson { .. } => ("pecan.abort(400)", 400),
            ApiProblem::MissingVpnType
            | ApiProblem::UnknownVpnType { .. }
            | ApiProblem::LocalPortWithoutInterface
            | ApiProblem::InvalidDirection { .. }
            | ApiProblem::AttractToRtMismatch
            | ApiProblem::AttractToRtCount { .. } => ("APIException", 400),
            ApiProblem::Missing => match self.field.as_str() {
                "vpn_instance_id" | "mac_address" | "local_port" | "import_rt" | "export_rt"
                | "ip_address" | "gateway_ip" => ("APIMissingParameterException", 400),
                "attract_traffic.classifier" | "attract_traffic.static_destination_prefixes" => {
                    ("APIException", 400)
                }
                // readvertise.from_rt/to_rt, attract_traffic.redirect_rts: KeyError re-raised as
                // a plain Exception; local_port.evpn.id: plain Exception.
                _ => ("Exception", 500),
            },
            ApiProblem::WrongType { .. } if self.field == "advertise_subnet" => {
                ("APIException", 400)
            }
            // `**params` on a list, a string, a number or null.
            ApiProblem::WrongType { .. } if self.field.is_empty() => ("TypeError", 500),
            // netaddr's EUI() also takes EUI-64 text, which then fails when a 48-bit MAC is
            // needed.
            ApiProblem::MalformedMacAddress { value }
                if self.field == "mac_address" && !looks_like_eui64(value) =>
            {
                ("MalformedMACAddress", 400)
            }
            ApiProblem::MalformedMacAddress { .. } => ("Exception", 500),
            ApiProblem::MalformedIpAddress { .. } if self.field == "ip_address" => {
                ("MalformedIPAddress", 400)
            }
            ApiProblem::MalformedRouteTarget { .. } => ("Exception", 500),
            ApiProblem::EvpnAttachWithoutLinuxif => ("KeyError", 500),
            ApiProblem::EvpnPlugWithLinuxif | ApiProblem::EvpnPlugPortNotPreplugged => {
                ("Exception", 500)
            }
            // The value is stored unchecked and breaks later (TypeError, AddrFormatError,
            // struct.error in a driver or in ExaBGP), or is accepted and misbehaves.
            ApiProblem::WrongType { .. }
            | ApiProblem::OutOfRange { .. }
            | ApiProblem::MalformedIpAddress { .. }
            | ApiProblem::Malformed { .. }
            | ApiProblem::EmptyPortRange { .. }
            | ApiProblem::DuplicateField { .. }
            | ApiProblem::UnknownField => ("Exception", 500),
        };
        ReferenceAnswer {
            exception,
            http_status,
        }
    }
}

/// EUI-64 text in netaddr's main forms: 8 groups of 1-2 hex digits separated by `:` or `-`, or
/// 16 bare hex digits.
fn looks_like_eui64(text: &str) -> bool {
    let hex = |g: &str, max: usize| {
        !g.is_empty() && g.len() <= max && g.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let groups = |sep: char| {
        let parts: Vec<&str> = text.split(sep).collect();
        parts.len() == 8 && parts.iter().all(|g| hex(g, 2))
    };
    groups(':') || groups('-') || (text.len() == 16 && hex(text, 16))
}

impl fmt::Display for ApiError {
    /// BaGPipe-BGP's wording where it has one (reference §3.1), followed by the detail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        match &self.problem {
            ApiProblem::NotJson { detail } => {
                write!(
                    f,
                    "No local port details received (body is not JSON: {detail})"
                )
            }
            ApiProblem::MissingVpnType => f.write_str("missing instance_type ('vpn_type')"),
            ApiProblem::UnknownVpnType { value } => {
                write!(
                    f,
                    "unknown vpn_type: {value} (expected \"ipvpn\" or \"evpn\")"
                )
            }
            ApiProblem::Missing => write!(f, "Missing parameter: '{field}'"),
            ApiProblem::WrongType { expected, found } if field.is_empty() => {
                write!(f, "the request body must be {expected}, got {found}")
            }
            ApiProblem::WrongType { expected, found } => {
                write!(f, "'{field}' must be {expected}, got {found}")
            }
            ApiProblem::OutOfRange { value, min, max } => {
                write!(f, "'{field}' is {value}, outside {min}..={max}")
            }
            ApiProblem::MalformedMacAddress { value } => {
                write!(f, "MAC address {value} is not valid ('{field}')")
            }
            ApiProblem::MalformedIpAddress { value } => {
                write!(f, "IP address {value} is not valid ('{field}')")
            }
            ApiProblem::MalformedRouteTarget { value, reason } => {
                write!(f, "Malformed route target: '{value}' ('{field}': {reason})")
            }
            ApiProblem::Malformed { value, expected } => {
                write!(f, "'{field}' is {value:?}, expected {expected}")
            }
            ApiProblem::LocalPortWithoutInterface => {
                f.write_str("Mandatory key is missing in local_port parameter (linuxif, or evpn)")
            }
            ApiProblem::InvalidDirection { value } => write!(
                f,
                "direction should be one of: both, to-port, from-port (got {value})"
            ),
            ApiProblem::EvpnAttachWithoutLinuxif => f.write_str(
                "an evpn attachment needs 'local_port.linuxif' (only an ipvpn can plug an evpn)",
            ),
            ApiProblem::EvpnPlugWithLinuxif => {
                f.write_str("Cannot specify an attachment with both a linuxif and an evpn")
            }
            ApiProblem::EvpnPlugPortNotPreplugged => f.write_str(
                "Using ovs_port_name in EVPN/IPVPN attachment requires specifying the \
                 corresponding OVS port, which must also be pre-plugged \
                 ('local_port.ovs.plugged' and 'port_name' or 'port_number')",
            ),
            ApiProblem::AttractToRtMismatch => f.write_str(
                "if both are set, then 'attract_traffic/to_rt' and 'readvertise/to_rt' have to \
                 be equal",
            ),
            ApiProblem::AttractToRtCount { count } => write!(
                f,
                "attract_traffic requires exactly one RT to be provided in 'readvertise/to_rt' \
                 and 'attract_traffic/to_rt' (got {count})"
            ),
            ApiProblem::EmptyPortRange { value } => {
                write!(
                    f,
                    "'{field}' is the empty port range {value:?} (min above max)"
                )
            }
            ApiProblem::DuplicateField { other } => {
                write!(f, "'{field}' is also given as '{other}'")
            }
            ApiProblem::UnknownField => write!(
                f,
                "'{field}' is not a classifier field (sourcePrefix, destinationPrefix, \
                 sourcePort, destinationPort, protocol)"
            ),
        }
    }
}

impl std::error::Error for ApiError {}
