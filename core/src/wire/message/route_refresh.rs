//! ROUTE-REFRESH (RFC 2918 §3) with the message subtypes of Enhanced Route Refresh (RFC 7313 §3).

use super::{frame, MessageType};
use crate::wire::error::{route_refresh_subcode, BgpError, ErrorCode};
use crate::wire::family::Family;

/// The body length of every ROUTE-REFRESH: AFI (2), subtype (1), SAFI (1) (RFC 2918 §3).
pub const BODY_LEN: usize = 4;

/// The octet between AFI and SAFI (RFC 7313 §3; reserved and 0 in RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteRefreshSubtype {
    /// 0: a route refresh request (RFC 2918).
    Normal,
    /// 1: Beginning of Route Refresh (RFC 7313 §3).
    BeginningOfRouteRefresh,
    /// 2: End of Route Refresh (RFC 7313 §3).
    EndOfRouteRefresh,
    /// Any other value: RFC 7313 §5 says to ignore the message; kept so the session can.
    Other(u8),
}

impl RouteRefreshSubtype {
    /// The subtype for its wire value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => RouteRefreshSubtype::Normal,
            1 => RouteRefreshSubtype::BeginningOfRouteRefresh,
            2 => RouteRefreshSubtype::EndOfRouteRefresh,
            other => RouteRefreshSubtype::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            RouteRefreshSubtype::Normal => 0,
            RouteRefreshSubtype::BeginningOfRouteRefresh => 1,
            RouteRefreshSubtype::EndOfRouteRefresh => 2,
            RouteRefreshSubtype::Other(v) => v,
        }
    }
}

/// A ROUTE-REFRESH message (RFC 2918 §3, RFC 7313 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Message subtype.
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefresh {
    /// A refresh request for `family` (RFC 2918).
    pub const fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: RouteRefreshSubtype::Normal,
        }
    }

    /// Decodes the body of a ROUTE-REFRESH. A body that is not 4 octets is ROUTE-REFRESH
    /// Message Error/Invalid Message Length with the whole message as data (RFC 7313 §5).
    pub fn decode(body: &[u8]) -> Result<RouteRefresh, BgpError> {
        let Ok([a0, a1, subtype, safi]) = <[u8; BODY_LEN]>::try_from(body) else {
            return Err(BgpError::new(
                ErrorCode::RouteRefresh,
                route_refresh_subcode::INVALID_MESSAGE_LENGTH,
                frame(MessageType::RouteRefresh, body),
            ));
        };
        Ok(RouteRefresh {
            family: Family::from_wire(u16::from_be_bytes([a0, a1]), safi),
            subtype: RouteRefreshSubtype::from_u8(subtype),
        })
    }

    /// The body: AFI, subtype, SAFI.
    pub fn encode_body(&self) -> [u8; BODY_LEN] {
        let [a0, a1] = self.family.afi.to_u16().to_be_bytes();
        [a0, a1, self.subtype.to_u8(), self.family.safi.to_u8()]
    }
}
