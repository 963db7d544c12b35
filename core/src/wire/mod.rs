//! The BGP wire format: typed values, `decode(bytes, &DecodeContext)` and `encode`.
//!
//! Decoding is total: any input gives a value or an error value, never a panic, and nothing is
//! allocated in proportion to a length field before the bytes behind it have been checked.
//! Encoding a valid value never fails.

pub mod attr;
pub mod capability;
pub mod context;
pub mod error;
pub mod extcomm;
pub mod family;
pub mod label;
pub mod mac;
pub mod message;
pub mod nlri;
pub mod rd;
pub mod reader;
pub mod route_target;
pub mod update;

pub use context::DecodeContext;
pub use error::{BgpError, ErrorCode};
pub use family::{Afi, Family, Safi};
pub use label::{Label, LabelStack, LabelStackEntry, Vni};
pub use mac::MacAddress;
pub use rd::RouteDistinguisher;
pub use reader::{Reader, Truncated};
pub use route_target::RouteTarget;
