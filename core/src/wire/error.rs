//! NOTIFICATION error codes and subcodes (RFC 4271 §4.5, §6; IANA "BGP Error (Notification)
//! Codes" and "BGP Error Subcodes"), and [`BgpError`], the one value every fatal protocol error
//! becomes.

use core::fmt;

/// A NOTIFICATION error code (RFC 4271 §4.5, RFC 7313 §5, RFC 9687 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum ErrorCode {
    /// 1: Message Header Error.
    MessageHeader,
    /// 2: OPEN Message Error.
    Open,
    /// 3: UPDATE Message Error.
    Update,
    /// 4: Hold Timer Expired.
    HoldTimerExpired,
    /// 5: Finite State Machine Error.
    Fsm,
    /// 6: Cease.
    Cease,
    /// 7: ROUTE-REFRESH Message Error (RFC 7313).
    RouteRefresh,
    /// 8: Send Hold Timer Expired (RFC 9687).
    SendHoldTimerExpired,
    /// Any other code, kept as received.
    Other(u8),
}

impl ErrorCode {
    /// The code for its wire value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => ErrorCode::MessageHeader,
            2 => ErrorCode::Open,
            3 => ErrorCode::Update,
            4 => ErrorCode::HoldTimerExpired,
            5 => ErrorCode::Fsm,
            6 => ErrorCode::Cease,
            7 => ErrorCode::RouteRefresh,
            8 => ErrorCode::SendHoldTimerExpired,
            other => ErrorCode::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            ErrorCode::MessageHeader => 1,
            ErrorCode::Open => 2,
            ErrorCode::Update => 3,
            ErrorCode::HoldTimerExpired => 4,
            ErrorCode::Fsm => 5,
            ErrorCode::Cease => 6,
            ErrorCode::RouteRefresh => 7,
            ErrorCode::SendHoldTimerExpired => 8,
            ErrorCode::Other(v) => v,
        }
    }
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_subcode {
    /// Connection Not Synchronized (bad marker).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length; data is the erroneous length field.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Bad Message Type; data is the erroneous type field.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5, RFC 9234).
pub mod open_subcode {
    /// Unsupported Version Number; data is the largest supported version (2 octets).
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// Unsupported Capability (RFC 5492 §5); data lists the capabilities.
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_subcode {
    /// Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    /// Missing Well-known Attribute; data is the missing type code.
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// Attribute Length Error.
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608 §3).
pub mod fsm_subcode {
    /// Unspecified Error.
    pub const UNSPECIFIED: u8 = 0;
    /// Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
    /// Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
    /// Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486 §4, RFC 8538 §5).
pub mod cease_subcode {
    /// Maximum Number of Prefixes Reached.
    pub const MAXIMUM_PREFIXES: u8 = 1;
    /// Administrative Shutdown (may carry an RFC 8203/9003 shutdown communication).
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Reset (may carry an RFC 8203/9003 shutdown communication).
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
pub mod route_refresh_subcode {
    /// Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// A fatal protocol error: what a NOTIFICATION says (RFC 4271 §4.5). Every error that resets a
/// session becomes one of these, and the session sends it before it closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BgpError {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode (meaning depends on the code).
    pub subcode: u8,
    /// Diagnostic data.
    pub data: Vec<u8>,
}

impl BgpError {
    /// An error with the given code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        BgpError {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Message Header Error (RFC 4271 §6.1).
    pub fn header(subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Self::new(ErrorCode::MessageHeader, subcode, data)
    }

    /// An OPEN Message Error (RFC 4271 §6.2).
    pub fn open(subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Self::new(ErrorCode::Open, subcode, data)
    }

    /// An UPDATE Message Error (RFC 4271 §6.3).
    pub fn update(subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Self::new(ErrorCode::Update, subcode, data)
    }

    /// A Cease (RFC 4486).
    pub fn cease(subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Self::new(ErrorCode::Cease, subcode, data)
    }
}

impl fmt::Display for BgpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} (code {}, subcode {})",
            self.code,
            self.code.to_u8(),
            self.subcode
        )?;
        if !self.data.is_empty() {
            f.write_str(", data ")?;
            self.data.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        }
        Ok(())
    }
}

impl std::error::Error for BgpError {}
