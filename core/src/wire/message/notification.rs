//! NOTIFICATION (RFC 4271 §4.5) and the shutdown communication of Cease subcodes 2 and 4
//! (RFC 8203, RFC 9003).

use crate::wire::capability::truncate_utf8;
use crate::wire::error::{
    cease_subcode, fsm_subcode, header_subcode, open_subcode, route_refresh_subcode,
    update_subcode, BgpError, ErrorCode,
};
use core::fmt;

/// The longest shutdown communication: its length is one octet (RFC 9003 §2).
pub const MAX_SHUTDOWN_MESSAGE_LEN: usize = 255;

/// A NOTIFICATION message (RFC 4271 §4.5).
///
/// Decoding never fails: RFC 4271 §6.4 leaves no way to report an error in a NOTIFICATION, so
/// anything after code and subcode is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode.
    pub subcode: u8,
    /// The data field.
    pub data: NotificationData,
}

/// The data field of a NOTIFICATION.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationData {
    /// A well-formed shutdown communication of a Cease/Administrative Shutdown or
    /// Cease/Administrative Reset (RFC 9003 §2): length octet, then that many octets of UTF-8,
    /// and nothing after.
    Shutdown(String),
    /// Any other data, as received.
    Raw(Vec<u8>),
}

/// Whether `code`/`subcode` may carry a shutdown communication (RFC 9003 §2).
fn carries_shutdown_communication(code: ErrorCode, subcode: u8) -> bool {
    code == ErrorCode::Cease
        && (subcode == cease_subcode::ADMINISTRATIVE_SHUTDOWN
            || subcode == cease_subcode::ADMINISTRATIVE_RESET)
}

/// The shutdown communication in `data`, if `data` is exactly a length octet and that many
/// octets of UTF-8 (RFC 9003 §2).
fn parse_shutdown_communication(data: &[u8]) -> Option<String> {
    let (&len, text) = data.split_first()?;
    if usize::from(len) != text.len() {
        return None;
    }
    core::str::from_utf8(text).ok().map(str::to_string)
}

impl Notification {
    /// A NOTIFICATION with `data` read as a shutdown communication where the code allows one
    /// and it is well-formed, kept raw otherwise.
    pub fn new(code: ErrorCode, subcode: u8, data: Vec<u8>) -> Self {
        let data = if carries_shutdown_communication(code, subcode) {
            match parse_shutdown_communication(&data) {
                Some(text) => NotificationData::Shutdown(text),
                None => NotificationData::Raw(data),
            }
        } else {
            NotificationData::Raw(data)
        };
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// Cease/Administrative Shutdown with a shutdown communication (RFC 9003 §2), cut at a
    /// character boundary to fit in 255 octets.
    pub fn cease_shutdown(message: &str) -> Self {
        Self::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, message)
    }

    /// Cease/Administrative Reset with a shutdown communication (RFC 9003 §2), cut at a
    /// character boundary to fit in 255 octets.
    pub fn cease_reset(message: &str) -> Self {
        Self::cease_with_message(cease_subcode::ADMINISTRATIVE_RESET, message)
    }

    fn cease_with_message(subcode: u8, message: &str) -> Self {
        Notification {
            code: ErrorCode::Cease,
            subcode,
            data: NotificationData::Shutdown(
                truncate_utf8(message, MAX_SHUTDOWN_MESSAGE_LEN).to_string(),
            ),
        }
    }

    /// Decodes the body of a NOTIFICATION (RFC 4271 §4.5). The framer guarantees two octets;
    /// missing ones read as 0.
    pub fn decode(body: &[u8]) -> Notification {
        let code = body.first().copied().unwrap_or(0);
        let subcode = body.get(1).copied().unwrap_or(0);
        let data = body.get(2..).unwrap_or(&[]).to_vec();
        Notification::new(ErrorCode::from_u8(code), subcode, data)
    }

    /// The data octets as sent.
    pub fn data_bytes(&self) -> Vec<u8> {
        match &self.data {
            NotificationData::Shutdown(text) => {
                let text = truncate_utf8(text, MAX_SHUTDOWN_MESSAGE_LEN);
                let mut out = Vec::with_capacity(1 + text.len());
                out.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(text.as_bytes());
                out
            }
            NotificationData::Raw(bytes) => bytes.clone(),
        }
    }

    /// The shutdown communication, if there is one.
    pub fn shutdown_message(&self) -> Option<&str> {
        match &self.data {
            NotificationData::Shutdown(text) => Some(text),
            NotificationData::Raw(_) => None,
        }
    }

    /// The body: code, subcode, data (RFC 4271 §4.5).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut out = vec![self.code.to_u8(), self.subcode];
        out.extend_from_slice(&self.data_bytes());
        out
    }

    /// The error this NOTIFICATION reports.
    pub fn to_error(&self) -> BgpError {
        BgpError::new(self.code, self.subcode, self.data_bytes())
    }
}

impl From<BgpError> for Notification {
    fn from(e: BgpError) -> Self {
        Notification::new(e.code, e.subcode, e.data)
    }
}

impl From<&Notification> for BgpError {
    fn from(n: &Notification) -> Self {
        n.to_error()
    }
}

/// A readable name for an error code (RFC 4271 §4.5, IANA registry).
pub fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::MessageHeader => "Message Header Error",
        ErrorCode::Open => "OPEN Message Error",
        ErrorCode::Update => "UPDATE Message Error",
        ErrorCode::HoldTimerExpired => "Hold Timer Expired",
        ErrorCode::Fsm => "Finite State Machine Error",
        ErrorCode::Cease => "Cease",
        ErrorCode::RouteRefresh => "ROUTE-REFRESH Message Error",
        ErrorCode::SendHoldTimerExpired => "Send Hold Timer Expired",
        ErrorCode::Other(_) => "Unknown Error",
    }
}

/// A readable name for a subcode of `code` (IANA "BGP Error Subcodes"), if it has one.
pub fn subcode_name(code: ErrorCode, subcode: u8) -> Option<&'static str> {
    let name = match (code, subcode) {
        (ErrorCode::MessageHeader, header_subcode::CONNECTION_NOT_SYNCHRONIZED) => {
            "Connection Not Synchronized"
        }
        (ErrorCode::MessageHeader, header_subcode::BAD_MESSAGE_LENGTH) => "Bad Message Length",
        (ErrorCode::MessageHeader, header_subcode::BAD_MESSAGE_TYPE) => "Bad Message Type",
        (ErrorCode::Open | ErrorCode::Update | ErrorCode::RouteRefresh, 0) => "Unspecific",
        (ErrorCode::Open, open_subcode::UNSUPPORTED_VERSION) => "Unsupported Version Number",
        (ErrorCode::Open, open_subcode::BAD_PEER_AS) => "Bad Peer AS",
        (ErrorCode::Open, open_subcode::BAD_BGP_IDENTIFIER) => "Bad BGP Identifier",
        (ErrorCode::Open, open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER) => {
            "Unsupported Optional Parameter"
        }
        (ErrorCode::Open, open_subcode::UNACCEPTABLE_HOLD_TIME) => "Unacceptable Hold Time",
        (ErrorCode::Open, open_subcode::UNSUPPORTED_CAPABILITY) => "Unsupported Capability",
        (ErrorCode::Open, open_subcode::ROLE_MISMATCH) => "Role Mismatch",
        (ErrorCode::Update, update_subcode::MALFORMED_ATTRIBUTE_LIST) => "Malformed Attribute List",
        (ErrorCode::Update, update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE) => {
            "Unrecognized Well-known Attribute"
        }
        (ErrorCode::Update, update_subcode::MISSING_WELL_KNOWN_ATTRIBUTE) => {
            "Missing Well-known Attribute"
        }
        (ErrorCode::Update, update_subcode::ATTRIBUTE_FLAGS_ERROR) => "Attribute Flags Error",
        (ErrorCode::Update, update_subcode::ATTRIBUTE_LENGTH_ERROR) => "Attribute Length Error",
        (ErrorCode::Update, update_subcode::INVALID_ORIGIN_ATTRIBUTE) => "Invalid ORIGIN Attribute",
        (ErrorCode::Update, update_subcode::INVALID_NEXT_HOP_ATTRIBUTE) => {
            "Invalid NEXT_HOP Attribute"
        }
        (ErrorCode::Update, update_subcode::OPTIONAL_ATTRIBUTE_ERROR) => "Optional Attribute Error",
        (ErrorCode::Update, update_subcode::INVALID_NETWORK_FIELD) => "Invalid Network Field",
        (ErrorCode::Update, update_subcode::MALFORMED_AS_PATH) => "Malformed AS_PATH",
        (ErrorCode::Fsm, fsm_subcode::UNSPECIFIED) => "Unspecified Error",
        (ErrorCode::Fsm, fsm_subcode::UNEXPECTED_IN_OPEN_SENT) => {
            "Receive Unexpected Message in OpenSent State"
        }
        (ErrorCode::Fsm, fsm_subcode::UNEXPECTED_IN_OPEN_CONFIRM) => {
            "Receive Unexpected Message in OpenConfirm State"
        }
        (ErrorCode::Fsm, fsm_subcode::UNEXPECTED_IN_ESTABLISHED) => {
            "Receive Unexpected Message in Established State"
        }
        (ErrorCode::Cease, cease_subcode::MAXIMUM_PREFIXES) => "Maximum Number of Prefixes Reached",
        (ErrorCode::Cease, cease_subcode::ADMINISTRATIVE_SHUTDOWN) => "Administrative Shutdown",
        (ErrorCode::Cease, cease_subcode::PEER_DECONFIGURED) => "Peer De-configured",
        (ErrorCode::Cease, cease_subcode::ADMINISTRATIVE_RESET) => "Administrative Reset",
        (ErrorCode::Cease, cease_subcode::CONNECTION_REJECTED) => "Connection Rejected",
        (ErrorCode::Cease, cease_subcode::OTHER_CONFIGURATION_CHANGE) => {
            "Other Configuration Change"
        }
        (ErrorCode::Cease, cease_subcode::CONNECTION_COLLISION_RESOLUTION) => {
            "Connection Collision Resolution"
        }
        (ErrorCode::Cease, cease_subcode::OUT_OF_RESOURCES) => "Out of Resources",
        (ErrorCode::Cease, cease_subcode::HARD_RESET) => "Hard Reset",
        (ErrorCode::RouteRefresh, route_refresh_subcode::INVALID_MESSAGE_LENGTH) => {
            "Invalid Message Length"
        }
        _ => return None,
    };
    Some(name)
}

impl fmt::Display for Notification {
    /// `Cease/Administrative Shutdown: "maintenance"`, `OPEN Message Error/Bad Peer AS
    /// (data 0064)`; unknown codes and subcodes are shown as numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            ErrorCode::Other(v) => write!(f, "Unknown Error {v}")?,
            code => f.write_str(code_name(code))?,
        }
        match subcode_name(self.code, self.subcode) {
            Some(name) => write!(f, "/{name}")?,
            // Codes without subcodes (Hold Timer Expired) send 0: nothing worth printing.
            None if self.subcode == 0 => {}
            None => write!(f, "/Unknown Subcode {}", self.subcode)?,
        }
        match &self.data {
            NotificationData::Shutdown(text) => write!(f, ": {text:?}"),
            NotificationData::Raw(bytes) if bytes.is_empty() => Ok(()),
            NotificationData::Raw(bytes) => {
                f.write_str(" (data ")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
                f.write_str(")")
            }
        }
    }
}
