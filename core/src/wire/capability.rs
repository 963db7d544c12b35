//! BGP capabilities (RFC 5492) carried in OPEN, and what two sets of them negotiate.
//!
//! A capability whose code we know but whose value does not parse is kept as
//! [`Capability::Malformed`] rather than failing the OPEN: the capability is then simply not in
//! force (RFC 5492 §4 lets a speaker ignore capabilities it does not understand, and a broken one
//! is not understood), and the session can still come up with what both sides agreed on.

use super::context::DecodeContext;
use super::family::{Afi, Family};
use super::reader::Reader;
use std::collections::BTreeSet;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// Multiprotocol Extensions (RFC 4760 §8).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918 §2).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Next Hop Encoding (RFC 8950 §3).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended Message (RFC 8654 §3).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful Restart (RFC 4724 §3).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS number (RFC 6793 §3).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911 §4).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh (RFC 7313 §3).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// FQDN / hostname (draft-walton-bgp-hostname-capability §3).
    pub const FQDN: u8 = 73;
}

/// The most octets a capability value can hold: its length field is one octet (RFC 5492 §4).
pub const MAX_VALUE_LEN: usize = 255;

/// One capability (RFC 5492 §4): code, length, value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Capability {
    /// 1: the sender can carry this family in MP_REACH/MP_UNREACH (RFC 4760 §8).
    Multiprotocol {
        /// The family (AFI, SAFI; the reserved octet is sent as 0 and ignored).
        family: Family,
    },
    /// 2: the sender accepts ROUTE-REFRESH messages (RFC 2918 §2).
    RouteRefresh,
    /// 70: the sender supports BoRR/EoRR demarcation of a refresh (RFC 7313 §3).
    EnhancedRouteRefresh,
    /// 65: the sender speaks 4-octet AS numbers, and this is its AS (RFC 6793 §3).
    FourOctetAs {
        /// The sender's 4-octet AS number.
        asn: u32,
    },
    /// 64: Graceful Restart (RFC 4724 §3, RFC 8538 §2 for the N bit).
    GracefulRestart(GracefulRestart),
    /// 69: ADD-PATH, per family send/receive (RFC 7911 §4).
    AddPath {
        /// One entry per family.
        families: Vec<AddPathFamily>,
    },
    /// 6: the sender accepts messages up to 65535 octets (RFC 8654 §3).
    ExtendedMessage,
    /// 5: the sender accepts next hops of another address family for these families (RFC 8950
    /// §3), e.g. IPv6 next hops for VPN-IPv4 or E-VPN routes.
    ExtendedNextHop {
        /// One entry per (family, next-hop AFI).
        tuples: Vec<ExtendedNextHopTuple>,
    },
    /// 73: the sender's host and domain name (draft-walton-bgp-hostname-capability §3).
    Fqdn {
        /// Host name (at most 255 octets of UTF-8).
        hostname: String,
        /// Domain name (at most 255 octets of UTF-8).
        domain: String,
    },
    /// A capability code we do not implement, kept as received (RFC 5492 §4).
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
    /// A capability we implement whose value does not parse; kept as received and not in force.
    Malformed {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// The Graceful Restart capability value (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted (RFC 4724 §3).
    pub restart_state: bool,
    /// N bit: the sender supports Graceful Restart for NOTIFICATIONs (RFC 8538 §2).
    pub notification: bool,
    /// Restart time in seconds (12 bits; larger values are sent modulo 4096).
    pub restart_time: u16,
    /// Families the sender preserves forwarding state for.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family of the Graceful Restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_state: bool,
}

/// What a speaker offers for one family in ADD-PATH (RFC 7911 §4, Send/Receive field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// The mode for its wire value; other values make the capability not understood (RFC 7911 §4).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
        }
    }

    /// Whether the speaker can receive multiple paths.
    pub const fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the speaker can send multiple paths.
    pub const fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One family of the ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct AddPathFamily {
    /// The family.
    pub family: Family,
    /// What the sender offers for it.
    pub mode: AddPathMode,
}

/// One entry of the Extended Next Hop Encoding capability (RFC 8950 §3): NLRI AFI (2 octets),
/// NLRI SAFI (2 octets; SAFIs are one octet, so the high one is zero), Nexthop AFI (2 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ExtendedNextHopTuple {
    /// The family of the NLRI.
    pub family: Family,
    /// The address family of the next hop the sender accepts for it.
    pub next_hop_afi: Afi,
}

/// Octets of one Extended Next Hop Encoding tuple (RFC 8950 §3).
const EXTENDED_NEXT_HOP_TUPLE_LEN: usize = 6;

/// Flags of the Graceful Restart capability header (RFC 4724 §3, RFC 8538 §2).
const GR_FLAG_RESTART: u16 = 0x8000;
const GR_FLAG_NOTIFICATION: u16 = 0x4000;
const GR_TIME_MASK: u16 = 0x0fff;
/// F bit of a Graceful Restart family (RFC 4724 §3).
const GR_FAMILY_FORWARDING: u8 = 0x80;

impl Capability {
    /// The capability code (RFC 5492 §4).
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs { .. } => code::FOUR_OCTET_AS,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::AddPath { .. } => code::ADD_PATH,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::ExtendedNextHop { .. } => code::EXTENDED_NEXT_HOP,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::Unknown { code, .. } | Capability::Malformed { code, .. } => *code,
        }
    }

    /// Decodes one capability value. Never fails: a value that does not parse for a known code
    /// gives [`Capability::Malformed`], an unknown code gives [`Capability::Unknown`].
    pub fn decode_value(code: u8, value: &[u8]) -> Capability {
        let parsed = match code {
            code::MULTIPROTOCOL => decode_multiprotocol(value),
            code::ROUTE_REFRESH => value.is_empty().then_some(Capability::RouteRefresh),
            code::ENHANCED_ROUTE_REFRESH => {
                value.is_empty().then_some(Capability::EnhancedRouteRefresh)
            }
            code::EXTENDED_MESSAGE => value.is_empty().then_some(Capability::ExtendedMessage),
            code::FOUR_OCTET_AS => {
                <[u8; 4]>::try_from(value)
                    .ok()
                    .map(|b| Capability::FourOctetAs {
                        asn: u32::from_be_bytes(b),
                    })
            }
            code::GRACEFUL_RESTART => decode_graceful_restart(value),
            code::ADD_PATH => decode_add_path(value),
            code::EXTENDED_NEXT_HOP => decode_extended_next_hop(value),
            code::FQDN => decode_fqdn(value),
            _ => {
                return Capability::Unknown {
                    code,
                    value: value.to_vec(),
                }
            }
        };
        parsed.unwrap_or_else(|| Capability::Malformed {
            code,
            value: value.to_vec(),
        })
    }

    /// The value octets (without code and length). Lists and names that would not fit in
    /// [`MAX_VALUE_LEN`] octets are cut to fit.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Capability::Multiprotocol { family } => {
                out.extend_from_slice(&family.afi.to_u16().to_be_bytes());
                out.push(0);
                out.push(family.safi.to_u8());
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs { asn } => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::GracefulRestart(gr) => {
                let mut header = gr.restart_time & GR_TIME_MASK;
                if gr.restart_state {
                    header |= GR_FLAG_RESTART;
                }
                if gr.notification {
                    header |= GR_FLAG_NOTIFICATION;
                }
                out.extend_from_slice(&header.to_be_bytes());
                for f in gr.families.iter().take((MAX_VALUE_LEN - 2) / 4) {
                    out.extend_from_slice(&f.family.afi.to_u16().to_be_bytes());
                    out.push(f.family.safi.to_u8());
                    out.push(if f.forwarding_state {
                        GR_FAMILY_FORWARDING
                    } else {
                        0
                    });
                }
            }
            Capability::AddPath { families } => {
                for f in families.iter().take(MAX_VALUE_LEN / 4) {
                    out.extend_from_slice(&f.family.afi.to_u16().to_be_bytes());
                    out.push(f.family.safi.to_u8());
                    out.push(f.mode.to_u8());
                }
            }
            Capability::ExtendedNextHop { tuples } => {
                for t in tuples
                    .iter()
                    .take(MAX_VALUE_LEN / EXTENDED_NEXT_HOP_TUPLE_LEN)
                {
                    out.extend_from_slice(&t.family.afi.to_u16().to_be_bytes());
                    out.extend_from_slice(&u16::from(t.family.safi.to_u8()).to_be_bytes());
                    out.extend_from_slice(&t.next_hop_afi.to_u16().to_be_bytes());
                }
            }
            Capability::Fqdn { hostname, domain } => {
                // Both names share the 255 octets with their two length octets.
                let host = truncate_utf8(hostname, MAX_VALUE_LEN - 2);
                let domain = truncate_utf8(domain, MAX_VALUE_LEN - 2 - host.len());
                push_short_string(&mut out, host);
                push_short_string(&mut out, domain);
            }
            Capability::Unknown { value, .. } | Capability::Malformed { value, .. } => {
                out.extend_from_slice(value.get(..MAX_VALUE_LEN).unwrap_or(value));
            }
        }
        out
    }

    /// Code, length and value as they appear in a Capabilities optional parameter (RFC 5492 §4).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let value = self.encode_value();
        out.push(self.code());
        out.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&value);
    }
}

/// Decodes the capabilities in the value of one Capabilities optional parameter (RFC 5492 §4),
/// or `None` when a capability's length runs past the parameter.
pub fn decode_capabilities(param: &[u8]) -> Option<Vec<Capability>> {
    let mut r = Reader::new(param);
    let mut caps = Vec::new();
    while !r.is_empty() {
        let code = r.u8().ok()?;
        let len = r.u8().ok()?;
        let value = r.take(usize::from(len)).ok()?;
        caps.push(Capability::decode_value(code, value));
    }
    Some(caps)
}

/// The longest prefix of `s` of at most `max` octets that ends on a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn push_short_string(out: &mut Vec<u8>, s: &str) {
    out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(s.as_bytes());
}

fn decode_family_afi_safi(r: &mut Reader<'_>) -> Option<Family> {
    let afi = r.u16().ok()?;
    let safi = r.u8().ok()?;
    Some(Family::from_wire(afi, safi))
}

/// RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
fn decode_multiprotocol(value: &[u8]) -> Option<Capability> {
    let [a0, a1, _reserved, safi] = <[u8; 4]>::try_from(value).ok()?;
    Some(Capability::Multiprotocol {
        family: Family::from_wire(u16::from_be_bytes([a0, a1]), safi),
    })
}

/// RFC 4724 §3: flags (4 bits) and restart time (12 bits), then (AFI, SAFI, flags) per family.
fn decode_graceful_restart(value: &[u8]) -> Option<Capability> {
    let mut r = Reader::new(value);
    let header = r.u16().ok()?;
    if !r.remaining().is_multiple_of(4) {
        return None;
    }
    let mut families = Vec::with_capacity(r.remaining() / 4);
    while !r.is_empty() {
        let family = decode_family_afi_safi(&mut r)?;
        let flags = r.u8().ok()?;
        families.push(GracefulRestartFamily {
            family,
            forwarding_state: flags & GR_FAMILY_FORWARDING != 0,
        });
    }
    Some(Capability::GracefulRestart(GracefulRestart {
        restart_state: header & GR_FLAG_RESTART != 0,
        notification: header & GR_FLAG_NOTIFICATION != 0,
        restart_time: header & GR_TIME_MASK,
        families,
    }))
}

/// RFC 7911 §4: (AFI, SAFI, Send/Receive) per family; a Send/Receive value other than 1..3
/// makes the whole capability not understood.
fn decode_add_path(value: &[u8]) -> Option<Capability> {
    if !value.len().is_multiple_of(4) {
        return None;
    }
    let mut r = Reader::new(value);
    let mut families = Vec::with_capacity(value.len() / 4);
    while !r.is_empty() {
        let family = decode_family_afi_safi(&mut r)?;
        let mode = AddPathMode::from_u8(r.u8().ok()?)?;
        families.push(AddPathFamily { family, mode });
    }
    Some(Capability::AddPath { families })
}

/// RFC 8950 §3: (NLRI AFI, NLRI SAFI, Nexthop AFI) tuples of 2 octets each. A SAFI above 255
/// cannot be a SAFI (IANA SAFIs are one octet): the capability is then not understood.
fn decode_extended_next_hop(value: &[u8]) -> Option<Capability> {
    if !value.len().is_multiple_of(EXTENDED_NEXT_HOP_TUPLE_LEN) {
        return None;
    }
    let mut r = Reader::new(value);
    let mut tuples = Vec::with_capacity(value.len() / EXTENDED_NEXT_HOP_TUPLE_LEN);
    while !r.is_empty() {
        let afi = r.u16().ok()?;
        let safi = u8::try_from(r.u16().ok()?).ok()?;
        let next_hop_afi = Afi::from_u16(r.u16().ok()?);
        tuples.push(ExtendedNextHopTuple {
            family: Family::from_wire(afi, safi),
            next_hop_afi,
        });
    }
    Some(Capability::ExtendedNextHop { tuples })
}

/// draft-walton-bgp-hostname-capability §3: hostname length, hostname, domain length, domain.
fn decode_fqdn(value: &[u8]) -> Option<Capability> {
    let mut r = Reader::new(value);
    let host_len = r.u8().ok()?;
    let host = r.take(usize::from(host_len)).ok()?;
    let domain_len = r.u8().ok()?;
    let domain = r.take(usize::from(domain_len)).ok()?;
    if !r.is_empty() {
        return None;
    }
    Some(Capability::Fqdn {
        hostname: core::str::from_utf8(host).ok()?.to_string(),
        domain: core::str::from_utf8(domain).ok()?.to_string(),
    })
}

/// What two OPENs' capabilities put in force for a session (RFC 5492 §3: a capability is in
/// force when both sides announced it, with direction-specific rules for ADD-PATH).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    /// How to decode what the peer sends: families, 4-octet AS, receive-side ADD-PATH, extended
    /// messages, iBGP.
    pub decode: DecodeContext,
    /// Families for which we send path identifiers (we said send, they said receive; RFC 7911 §5).
    pub add_path_send: BTreeSet<Family>,
    /// Both sides announced Route Refresh (RFC 2918 §3).
    pub route_refresh: bool,
    /// Both sides announced Enhanced Route Refresh (RFC 7313 §4).
    pub enhanced_route_refresh: bool,
    /// The peer's AS from its 4-octet AS capability (RFC 6793 §4.1), if it sent one.
    pub peer_four_octet_asn: Option<u32>,
    /// The peer's Graceful Restart capability (RFC 4724 §4), if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
}

impl Negotiated {
    /// The context to encode what we send: as [`Negotiated::decode`], but with our send-side
    /// ADD-PATH families.
    pub fn encode_context(&self) -> DecodeContext {
        DecodeContext {
            add_path: self.add_path_send.clone(),
            ..self.decode.clone()
        }
    }
}

/// The families a side announced; a side with no Multiprotocol capability supports IPv4 unicast
/// only (RFC 4760 §8, RFC 4271).
pub fn announced_families(caps: &[Capability]) -> BTreeSet<Family> {
    let families: BTreeSet<Family> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol { family } => Some(*family),
            _ => None,
        })
        .collect();
    if families.is_empty() {
        BTreeSet::from([Family::IPV4_UNICAST])
    } else {
        families
    }
}

/// The 4-octet AS number a side announced (RFC 6793 §3), if any.
pub fn four_octet_asn(caps: &[Capability]) -> Option<u32> {
    caps.iter().find_map(|c| match c {
        Capability::FourOctetAs { asn } => Some(*asn),
        _ => None,
    })
}

/// The ADD-PATH mode a side announced for `family` (RFC 7911 §4); the last entry wins when a
/// family is listed twice.
fn add_path_mode(caps: &[Capability], family: Family) -> Option<AddPathMode> {
    caps.iter()
        .filter_map(|c| match c {
            Capability::AddPath { families } => Some(families),
            _ => None,
        })
        .flatten()
        .filter(|f| f.family == family)
        .map(|f| f.mode)
        .next_back()
}

fn add_path_families(caps: &[Capability]) -> BTreeSet<Family> {
    caps.iter()
        .filter_map(|c| match c {
            Capability::AddPath { families } => Some(families),
            _ => None,
        })
        .flatten()
        .map(|f| f.family)
        .collect()
}

fn has(caps: &[Capability], wanted: &Capability) -> bool {
    caps.contains(wanted)
}

/// What `ours` and `theirs` put in force (RFC 5492 §3), for a session that is iBGP or not.
///
/// - families: those both announced (RFC 4760 §8);
/// - 4-octet AS and extended messages: when both announced them (RFC 6793 §4, RFC 8654 §3);
/// - ADD-PATH per family and direction (RFC 7911 §5): we receive path identifiers for a family
///   iff we said receive and they said send, and send them iff we said send and they said receive.
pub fn negotiate(ours: &[Capability], theirs: &[Capability], ibgp: bool) -> Negotiated {
    let families: BTreeSet<Family> = announced_families(ours)
        .intersection(&announced_families(theirs))
        .copied()
        .collect();
    let mut add_path_receive = BTreeSet::new();
    let mut add_path_send = BTreeSet::new();
    for family in add_path_families(ours) {
        let (Some(mine), Some(peer)) = (add_path_mode(ours, family), add_path_mode(theirs, family))
        else {
            continue;
        };
        if mine.can_receive() && peer.can_send() {
            add_path_receive.insert(family);
        }
        if mine.can_send() && peer.can_receive() {
            add_path_send.insert(family);
        }
    }
    let both_four_octet = four_octet_asn(ours).is_some() && four_octet_asn(theirs).is_some();
    Negotiated {
        decode: DecodeContext {
            four_octet_as: both_four_octet,
            add_path: add_path_receive,
            extended_message: has(ours, &Capability::ExtendedMessage)
                && has(theirs, &Capability::ExtendedMessage),
            families,
            ibgp,
        },
        add_path_send,
        route_refresh: has(ours, &Capability::RouteRefresh)
            && has(theirs, &Capability::RouteRefresh),
        enhanced_route_refresh: has(ours, &Capability::EnhancedRouteRefresh)
            && has(theirs, &Capability::EnhancedRouteRefresh),
        peer_four_octet_asn: four_octet_asn(theirs),
        peer_graceful_restart: theirs.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr.clone()),
            _ => None,
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::family::{Afi, Safi};
    use proptest::prelude::*;

    fn encoded(cap: &Capability) -> Vec<u8> {
        let mut out = Vec::new();
        cap.encode(&mut out);
        out
    }

    #[test]
    fn rfc4760_s8_multiprotocol_is_afi_reserved_safi() {
        let cap = Capability::Multiprotocol {
            family: Family::EVPN,
        };
        assert_eq!(encoded(&cap), [1, 4, 0, 25, 0, 70]);
        // The reserved octet is ignored on receipt.
        assert_eq!(Capability::decode_value(1, &[0, 25, 9, 70]), cap);
        assert_eq!(
            Capability::decode_value(1, &[0, 25, 0]),
            Capability::Malformed {
                code: 1,
                value: vec![0, 25, 0]
            }
        );
    }

    #[test]
    fn rfc4724_s3_graceful_restart_flags_time_and_families() {
        let cap = Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![
                GracefulRestartFamily {
                    family: Family::VPNV4,
                    forwarding_state: true,
                },
                GracefulRestartFamily {
                    family: Family::EVPN,
                    forwarding_state: false,
                },
            ],
        });
        let bytes = [64, 10, 0xc0, 0x78, 0, 1, 128, 0x80, 0, 25, 70, 0];
        assert_eq!(encoded(&cap), bytes);
        assert_eq!(decode_capabilities(&bytes), Some(vec![cap]));
        // A family list that is not a multiple of 4 octets does not parse.
        assert!(matches!(
            Capability::decode_value(64, &[0, 120, 0, 1, 128]),
            Capability::Malformed { code: 64, .. }
        ));
    }

    #[test]
    fn rfc7911_s4_send_receive_outside_1_to_3_is_not_understood() {
        assert_eq!(
            Capability::decode_value(69, &[0, 1, 128, 3]),
            Capability::AddPath {
                families: vec![AddPathFamily {
                    family: Family::VPNV4,
                    mode: AddPathMode::Both
                }]
            }
        );
        assert_eq!(
            Capability::decode_value(69, &[0, 1, 128, 4]),
            Capability::Malformed {
                code: 69,
                value: vec![0, 1, 128, 4]
            }
        );
    }

    #[test]
    fn rfc6793_s3_four_octet_as_capability() {
        assert_eq!(
            Capability::decode_value(65, &[0, 1, 0, 1]),
            Capability::FourOctetAs { asn: 65537 }
        );
        assert!(matches!(
            Capability::decode_value(65, &[0, 1]),
            Capability::Malformed { .. }
        ));
    }

    #[test]
    fn rfc5492_s4_unknown_capability_is_kept_raw() {
        assert_eq!(
            Capability::decode_value(9, &[1]),
            Capability::Unknown {
                code: 9,
                value: vec![1]
            }
        );
        assert_eq!(
            decode_capabilities(&[2, 0, 9, 1, 1, 6, 0]),
            Some(vec![
                Capability::RouteRefresh,
                Capability::Unknown {
                    code: 9,
                    value: vec![1]
                },
                Capability::ExtendedMessage
            ])
        );
        // A length that runs past the parameter.
        assert_eq!(decode_capabilities(&[2, 0, 9, 5, 1]), None);
    }

    #[test]
    fn rfc8950_s3_extended_next_hop_tuples() {
        // As GoBGP sends it: E-VPN, VPN-IPv4, FlowSpec and FlowSpec-VPN with IPv6 next hops.
        let value = [
            0, 25, 0, 70, 0, 2, 0, 1, 0, 128, 0, 2, 0, 1, 0, 133, 0, 2, 0, 1, 0, 134, 0, 2,
        ];
        let tuple = |family, next_hop_afi| ExtendedNextHopTuple {
            family,
            next_hop_afi,
        };
        let cap = Capability::ExtendedNextHop {
            tuples: vec![
                tuple(Family::EVPN, Afi::Ipv6),
                tuple(Family::VPNV4, Afi::Ipv6),
                tuple(Family::FLOWSPEC_V4, Afi::Ipv6),
                tuple(Family::FLOWSPEC_VPNV4, Afi::Ipv6),
            ],
        };
        assert_eq!(Capability::decode_value(5, &value), cap);
        assert_eq!(cap.encode_value(), value);
        // Not a multiple of 6 octets, or a SAFI that does not fit one octet.
        for bad in [&value[..5], &[0, 1, 1, 128, 0, 2][..]] {
            assert_eq!(
                Capability::decode_value(5, bad),
                Capability::Malformed {
                    code: 5,
                    value: bad.to_vec()
                }
            );
        }
    }

    #[test]
    fn fqdn_capability_hostname_and_domain() {
        let cap = Capability::Fqdn {
            hostname: "compute-1".into(),
            domain: "example.net".into(),
        };
        let mut bytes = vec![73, 22, 9];
        bytes.extend_from_slice(b"compute-1");
        bytes.push(11);
        bytes.extend_from_slice(b"example.net");
        assert_eq!(encoded(&cap), bytes);
        assert_eq!(decode_capabilities(&bytes), Some(vec![cap]));
        assert!(matches!(
            Capability::decode_value(73, &[1, 0xff, 0]),
            Capability::Malformed { code: 73, .. }
        ));
    }

    #[test]
    fn fqdn_longer_than_255_octets_is_cut_at_a_character_boundary() {
        let cap = Capability::Fqdn {
            hostname: "é".repeat(200),
            domain: "d".repeat(200),
        };
        let value = cap.encode_value();
        assert!(value.len() <= MAX_VALUE_LEN);
        let Capability::Fqdn { hostname, domain } = Capability::decode_value(73, &value) else {
            panic!("not an FQDN: {value:?}");
        };
        assert_eq!(hostname, "é".repeat(126));
        // 253 octets for both names: 252 for the host (126 two-octet characters), 1 left.
        assert_eq!(domain, "d");
    }

    #[test]
    fn rfc4760_s8_common_families_and_ipv4_unicast_without_multiprotocol() {
        let ours = [
            Capability::Multiprotocol {
                family: Family::VPNV4,
            },
            Capability::Multiprotocol {
                family: Family::EVPN,
            },
            Capability::Multiprotocol {
                family: Family::RTC,
            },
        ];
        let theirs = [
            Capability::Multiprotocol {
                family: Family::EVPN,
            },
            Capability::Multiprotocol {
                family: Family::RTC,
            },
            Capability::Multiprotocol {
                family: Family::VPNV6,
            },
        ];
        let n = negotiate(&ours, &theirs, true);
        assert_eq!(
            n.decode.families,
            BTreeSet::from([Family::EVPN, Family::RTC])
        );
        assert!(n.decode.ibgp);
        let n = negotiate(&ours, &[Capability::RouteRefresh], false);
        assert!(n.decode.families.is_empty());
        assert!(!n.decode.ibgp);
        let n = negotiate(&[], &[], true);
        assert_eq!(n.decode.families, BTreeSet::from([Family::IPV4_UNICAST]));
    }

    #[test]
    fn rfc6793_s4_rfc8654_s3_four_octet_as_and_extended_message_need_both_sides() {
        let ours = [
            Capability::FourOctetAs { asn: 64512 },
            Capability::ExtendedMessage,
        ];
        let theirs = [Capability::FourOctetAs { asn: 4_200_000_000 }];
        let n = negotiate(&ours, &theirs, false);
        assert!(n.decode.four_octet_as);
        assert!(!n.decode.extended_message);
        assert_eq!(n.peer_four_octet_asn, Some(4_200_000_000));
        let n = negotiate(&ours[1..], &[Capability::ExtendedMessage], false);
        assert!(!n.decode.four_octet_as);
        assert!(n.decode.extended_message);
        assert_eq!(n.decode.max_message_len(), 65535);
        assert_eq!(n.peer_four_octet_asn, None);
    }

    #[test]
    fn rfc7911_s5_path_ids_received_iff_we_receive_and_they_send() {
        let ap = |family, mode| AddPathFamily { family, mode };
        let ours = [Capability::AddPath {
            families: vec![
                ap(Family::VPNV4, AddPathMode::Receive),
                ap(Family::EVPN, AddPathMode::Both),
                ap(Family::RTC, AddPathMode::Send),
            ],
        }];
        let theirs = [Capability::AddPath {
            families: vec![
                ap(Family::VPNV4, AddPathMode::Send),
                ap(Family::EVPN, AddPathMode::Receive),
                ap(Family::RTC, AddPathMode::Both),
            ],
        }];
        let n = negotiate(&ours, &theirs, true);
        assert_eq!(n.decode.add_path, BTreeSet::from([Family::VPNV4]));
        assert_eq!(n.add_path_send, BTreeSet::from([Family::EVPN, Family::RTC]));
        assert_eq!(n.encode_context().add_path, n.add_path_send);
        assert!(negotiate(&ours, &[], true).decode.add_path.is_empty());
    }

    #[test]
    fn rfc2918_rfc7313_route_refresh_needs_both_sides() {
        let both = [Capability::RouteRefresh, Capability::EnhancedRouteRefresh];
        let n = negotiate(&both, &both[..1], true);
        assert!(n.route_refresh);
        assert!(!n.enhanced_route_refresh);
        let gr = GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 90,
            families: vec![],
        };
        let n = negotiate(&both, &[Capability::GracefulRestart(gr.clone())], true);
        assert!(!n.route_refresh);
        assert_eq!(n.peer_graceful_restart, Some(gr));
    }

    pub(crate) fn family_strategy() -> impl Strategy<Value = Family> {
        prop_oneof![
            Just(Family::IPV4_UNICAST),
            Just(Family::VPNV4),
            Just(Family::VPNV6),
            Just(Family::EVPN),
            Just(Family::RTC),
            Just(Family::FLOWSPEC_VPNV4),
            (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::from_wire(a, s)),
        ]
    }

    const KNOWN_CODES: [u8; 9] = [1, 2, 5, 6, 64, 65, 69, 70, 73];

    pub(crate) fn capability_strategy() -> impl Strategy<Value = Capability> {
        let mode = prop_oneof![
            Just(AddPathMode::Receive),
            Just(AddPathMode::Send),
            Just(AddPathMode::Both)
        ];
        let gr_family =
            (family_strategy(), any::<bool>()).prop_map(|(family, forwarding_state)| {
                GracefulRestartFamily {
                    family,
                    forwarding_state,
                }
            });
        prop_oneof![
            family_strategy().prop_map(|family| Capability::Multiprotocol { family }),
            Just(Capability::RouteRefresh),
            Just(Capability::EnhancedRouteRefresh),
            Just(Capability::ExtendedMessage),
            any::<u32>().prop_map(|asn| Capability::FourOctetAs { asn }),
            (
                any::<bool>(),
                any::<bool>(),
                0u16..4096,
                prop::collection::vec(gr_family, 0..10)
            )
                .prop_map(|(restart_state, notification, restart_time, families)| {
                    Capability::GracefulRestart(GracefulRestart {
                        restart_state,
                        notification,
                        restart_time,
                        families,
                    })
                }),
            prop::collection::vec(
                (family_strategy(), mode).prop_map(|(family, mode)| AddPathFamily { family, mode }),
                0..10
            )
            .prop_map(|families| Capability::AddPath { families }),
            prop::collection::vec(
                (family_strategy(), any::<u16>()).prop_map(|(family, afi)| ExtendedNextHopTuple {
                    family,
                    next_hop_afi: Afi::from_u16(afi)
                }),
                0..10
            )
            .prop_map(|tuples| Capability::ExtendedNextHop { tuples }),
            ("\\PC{0,30}", "\\PC{0,30}")
                .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..255))
                .prop_filter("unassigned code", |(c, _)| !KNOWN_CODES.contains(c))
                .prop_map(|(code, value)| Capability::Unknown { code, value }),
            // Values that cannot parse for their code.
            prop_oneof![
                // Not empty: an empty Extended Next Hop value is a valid empty list.
                prop::collection::vec(any::<u8>(), 1..4),
                prop::collection::vec(any::<u8>(), 5..6),
                prop::collection::vec(any::<u8>(), 7..9)
            ]
            .prop_flat_map(|value| {
                prop_oneof![Just(1u8), Just(5u8), Just(65u8)].prop_map(move |code| {
                    Capability::Malformed {
                        code,
                        value: value.clone(),
                    }
                })
            }),
            (
                prop_oneof![Just(2u8), Just(6u8), Just(70u8)],
                prop::collection::vec(any::<u8>(), 1..9)
            )
                .prop_map(|(code, value)| Capability::Malformed { code, value }),
        ]
    }

    proptest! {
        #[test]
        fn rfc5492_s4_every_capability_round_trips(cap in capability_strategy()) {
            let bytes = encoded(&cap);
            prop_assert_eq!(decode_capabilities(&bytes), Some(vec![cap]));
        }

        #[test]
        fn rfc5492_s4_decoding_any_parameter_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..300)
        ) {
            if let Some(caps) = decode_capabilities(&bytes) {
                // Whatever decodes re-encodes to the same number of capabilities.
                let mut again = Vec::new();
                caps.iter().for_each(|c| c.encode(&mut again));
                prop_assert_eq!(decode_capabilities(&again).map(|c| c.len()), Some(caps.len()));
            }
        }
    }

    #[test]
    fn afi_other_values_survive_the_family_fields() {
        let f = Family::new(Afi::Other(3), Safi::Other(9));
        let cap = Capability::Multiprotocol { family: f };
        assert_eq!(decode_capabilities(&encoded(&cap)), Some(vec![cap]));
    }
}
