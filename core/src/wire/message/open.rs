//! OPEN (RFC 4271 §4.2), with Capabilities optional parameters (RFC 5492 §4) and the extended
//! optional parameters length (RFC 9072 §2).

use crate::wire::capability::{decode_capabilities, four_octet_asn, Capability};
use crate::wire::error::{header_subcode, open_subcode, BgpError};
use crate::wire::reader::Reader;
use std::net::Ipv4Addr;

/// The only BGP version: 4 (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;
/// The 2-octet AS sent by a speaker whose AS does not fit in 2 octets (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;
/// Optional parameter type of Capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type value announcing extended optional parameters (RFC 9072 §2).
const PARAM_EXTENDED_LENGTH: u8 = 255;
/// Length of the fixed part of the body: version, my AS, hold time, identifier, opt. length.
const FIXED_BODY_LEN: usize = 10;

/// An OPEN message (RFC 4271 §4.2). The version is always [`BGP_VERSION`]: decoding rejects
/// any other. Every Capabilities parameter is flattened into one list, in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Open {
    /// My Autonomous System: the sender's AS, or [`AS_TRANS`] when it needs 4 octets.
    pub my_as: u16,
    /// Proposed hold time in seconds: 0 or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    /// BGP Identifier (RFC 4271 §4.2, RFC 6286).
    pub bgp_identifier: Ipv4Addr,
    /// The capabilities of every Capabilities optional parameter (RFC 5492 §4).
    pub capabilities: Vec<Capability>,
}

fn malformed() -> BgpError {
    // RFC 4271 §6.2: a recognized but malformed optional parameter is subcode 0 (Unspecific).
    BgpError::open(0, Vec::new())
}

impl Open {
    /// An OPEN for AS `asn`: the 2-octet field carries `asn` when it fits and [`AS_TRANS`]
    /// otherwise (RFC 6793 §4.1). The 4-octet AS capability must be among `capabilities` when
    /// `asn` does not fit.
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_identifier: Ipv4Addr,
        capabilities: Vec<Capability>,
    ) -> Self {
        Open {
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_identifier,
            capabilities,
        }
    }

    /// The sender's AS: from its 4-octet AS capability when present, else My AS (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        four_octet_asn(&self.capabilities).unwrap_or(u32::from(self.my_as))
    }

    /// Decodes the body of an OPEN (RFC 4271 §4.2, §6.2; RFC 9072 §2).
    ///
    /// Errors: Unsupported Version Number (data: 2-octet version 4), Unacceptable Hold Time
    /// (1 or 2), Bad BGP Identifier (0), Unsupported Optional Parameter (any parameter other
    /// than Capabilities), Unspecific for inconsistent parameter lengths, and Bad Message Length
    /// for a body shorter than the fixed part.
    pub fn decode(body: &[u8]) -> Result<Open, BgpError> {
        if body.len() < FIXED_BODY_LEN {
            let length = u16::try_from(super::HEADER_LEN + body.len()).unwrap_or(u16::MAX);
            return Err(BgpError::header(
                header_subcode::BAD_MESSAGE_LENGTH,
                length.to_be_bytes(),
            ));
        }
        let mut r = Reader::new(body);
        let version = r.u8().map_err(|_| malformed())?;
        if version != BGP_VERSION {
            return Err(BgpError::open(
                open_subcode::UNSUPPORTED_VERSION,
                u16::from(BGP_VERSION).to_be_bytes(),
            ));
        }
        let my_as = r.u16().map_err(|_| malformed())?;
        let hold_time = r.u16().map_err(|_| malformed())?;
        if hold_time == 1 || hold_time == 2 {
            return Err(BgpError::open(
                open_subcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
            ));
        }
        let bgp_identifier = Ipv4Addr::from(r.array::<4>().map_err(|_| malformed())?);
        if bgp_identifier.is_unspecified() {
            return Err(BgpError::open(open_subcode::BAD_BGP_IDENTIFIER, Vec::new()));
        }
        let capabilities = decode_optional_parameters(&mut r)?;
        Ok(Open {
            my_as,
            hold_time,
            bgp_identifier,
            capabilities,
        })
    }

    /// The body of the OPEN. Parameters use the RFC 4271 format when they fit in 255 octets
    /// and the RFC 9072 extended format otherwise; each capability gets its own parameter.
    pub fn encode_body(&self) -> Vec<u8> {
        let caps: Vec<Vec<u8>> = self
            .capabilities
            .iter()
            .map(|c| {
                let mut v = Vec::new();
                c.encode(&mut v);
                v
            })
            .collect();
        let short_len: usize = caps.iter().map(|c| 2 + c.len()).sum();
        let mut out = Vec::with_capacity(FIXED_BODY_LEN + 4 + short_len + caps.len());
        out.push(BGP_VERSION);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_identifier.octets());
        // RFC 9072 §2: the extended format is only used when the short one cannot hold it;
        // a short length of exactly 255 would be read as the extended marker when the first
        // parameter type is 255, which never happens since we only send type 2.
        if let Ok(len) = u8::try_from(short_len) {
            out.push(len);
            for cap in &caps {
                out.push(PARAM_CAPABILITIES);
                out.push(u8::try_from(cap.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(cap);
            }
        } else {
            let ext_len: usize = caps.iter().map(|c| 3 + c.len()).sum();
            out.push(255);
            out.push(PARAM_EXTENDED_LENGTH);
            out.extend_from_slice(&u16::try_from(ext_len).unwrap_or(u16::MAX).to_be_bytes());
            for cap in &caps {
                out.push(PARAM_CAPABILITIES);
                out.extend_from_slice(&u16::try_from(cap.len()).unwrap_or(u16::MAX).to_be_bytes());
                out.extend_from_slice(cap);
            }
        }
        out
    }

    /// Checks that make sense only for this session (RFC 4271 §6.2, RFC 6286 §2.2, RFC 6793
    /// §4.1): the peer's AS is the one configured (Bad Peer AS, data: the 2-octet My AS field),
    /// and when the peer is internal (its AS is `local_as`) its identifier differs from ours,
    /// `local_identifier` (Bad BGP Identifier). Zero identifiers and hold times of 1 or 2 are
    /// already refused by [`Open::decode`], and checked again here for OPENs built by hand.
    pub fn validate(
        &self,
        expected_peer_as: u32,
        local_as: u32,
        local_identifier: Ipv4Addr,
    ) -> Result<(), BgpError> {
        if self.asn() != expected_peer_as {
            return Err(BgpError::open(
                open_subcode::BAD_PEER_AS,
                self.my_as.to_be_bytes(),
            ));
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(BgpError::open(
                open_subcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
            ));
        }
        let ibgp = self.asn() == local_as;
        if self.bgp_identifier.is_unspecified() || (ibgp && self.bgp_identifier == local_identifier)
        {
            return Err(BgpError::open(open_subcode::BAD_BGP_IDENTIFIER, Vec::new()));
        }
        Ok(())
    }
}

/// The hold time of a session: the smaller of both proposals (RFC 4271 §4.2).
pub fn negotiated_hold_time(ours: u16, theirs: u16) -> u16 {
    ours.min(theirs)
}

/// Reads the optional parameters length and parameters that end the body (RFC 4271 §4.2,
/// RFC 9072 §2) and returns their capabilities.
fn decode_optional_parameters(r: &mut Reader<'_>) -> Result<Vec<Capability>, BgpError> {
    let short_len = r.u8().map_err(|_| malformed())?;
    let extended = short_len == 255 && r.rest().first() == Some(&PARAM_EXTENDED_LENGTH);
    let params_len = if extended {
        r.u8().map_err(|_| malformed())?;
        usize::from(r.u16().map_err(|_| malformed())?)
    } else {
        usize::from(short_len)
    };
    // The parameters must fill the rest of the message exactly (RFC 4271 §4.2).
    if params_len != r.remaining() {
        return Err(malformed());
    }
    let mut caps = Vec::new();
    while !r.is_empty() {
        let param_type = r.u8().map_err(|_| malformed())?;
        let len = if extended {
            usize::from(r.u16().map_err(|_| malformed())?)
        } else {
            usize::from(r.u8().map_err(|_| malformed())?)
        };
        let value = r.take(len).map_err(|_| malformed())?;
        if param_type != PARAM_CAPABILITIES {
            return Err(BgpError::open(
                open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Vec::new(),
            ));
        }
        caps.extend(decode_capabilities(value).ok_or_else(malformed)?);
    }
    Ok(caps)
}
