//! Why an attach or detach was refused or failed (reference §3.1 error mapping).

use crate::api::ApiError;
use core::fmt;

/// An attach or detach that did not happen; nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpnError {
    /// The request itself is malformed.
    Request(ApiError),
    /// A client error that depends on the current state (HTTP 400): unknown VPN, MAC bound to
    /// another port, VNI in use, endpoint not plugged, unsupported direction...
    Client(String),
    /// The dataplane could not carry out the change (HTTP 500).
    Dataplane(String),
    /// An identifier space is exhausted (HTTP 500).
    Exhausted(String),
}

impl VpnError {
    /// The HTTP status BaGPipe-BGP's API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            VpnError::Request(e) => e.http_status(),
            VpnError::Client(_) => 400,
            VpnError::Dataplane(_) | VpnError::Exhausted(_) => 500,
        }
    }
}

impl fmt::Display for VpnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VpnError::Request(e) => write!(f, "{e}"),
            VpnError::Client(m) => f.write_str(m),
            VpnError::Dataplane(m) => write!(f, "dataplane error: {m}"),
            VpnError::Exhausted(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for VpnError {}
