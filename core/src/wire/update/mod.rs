//! The UPDATE message (RFC 4271 §4.3) and its error handling (RFC 7606): decoding gives the
//! routes together with a [`Disposition`], the strongest action any error in the message asks
//! for (RFC 7606 §3(h)).

mod pack;

pub use pack::{pack_announcements, pack_withdrawals, PackError};

use super::attr::{
    code, decode_attribute, flags, AttributeAction, MpUnreach, PathAttribute, PathAttributes,
};
use super::context::DecodeContext;
use super::error::{update_subcode as sub, BgpError};
use super::family::Family;
use super::nlri::{decode_nlri, encode_nlri, PathNlri};
use super::reader::Reader;

/// An UPDATE: IPv4 unicast routes in the classic fields, other families inside the
/// MP_REACH_NLRI and MP_UNREACH_NLRI attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<PathNlri>,
    /// Path attributes.
    pub attributes: PathAttributes,
    /// Reachable IPv4 unicast routes.
    pub nlri: Vec<PathNlri>,
}

/// A malformed attribute that was dropped or that withdrew the routes (RFC 7606 §2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttributeProblem {
    /// The attribute's type code.
    pub code: u8,
    /// Why.
    pub reason: String,
}

/// What the receiver must do with an UPDATE (RFC 7606 §2, §3(h)), weakest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Disposition {
    /// Everything is well-formed.
    Accepted,
    /// Some attributes were malformed and dropped; the routes stand.
    AttributeDiscard {
        /// The dropped attributes.
        discarded: Vec<AttributeProblem>,
    },
    /// Every route of the UPDATE is to be withdrawn (RFC 7606 §2); the session stays up.
    TreatAsWithdraw {
        /// The errors that asked for it.
        reasons: Vec<AttributeProblem>,
    },
    /// The session must be reset with this NOTIFICATION.
    SessionReset {
        /// The NOTIFICATION to send.
        error: BgpError,
        /// Why, for logs.
        reason: String,
    },
}

impl Disposition {
    fn rank(&self) -> u8 {
        match self {
            Disposition::Accepted => 0,
            Disposition::AttributeDiscard { .. } => 1,
            Disposition::TreatAsWithdraw { .. } => 2,
            Disposition::SessionReset { .. } => 3,
        }
    }

    /// Raises to `other` when it is stronger; problems of equal strength are merged.
    fn raise(&mut self, other: Disposition) {
        match (&mut *self, other) {
            (
                Disposition::AttributeDiscard { discarded },
                Disposition::AttributeDiscard { discarded: more },
            ) => discarded.extend(more),
            (
                Disposition::TreatAsWithdraw { reasons },
                Disposition::TreatAsWithdraw { reasons: more },
            ) => reasons.extend(more),
            (current, other) => {
                if other.rank() > current.rank() {
                    *current = other;
                }
            }
        }
    }
}

/// A decoded UPDATE and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecodedUpdate {
    /// What could be decoded. Under treat-as-withdraw, its routes are the ones to withdraw.
    pub update: Update,
    /// The action.
    pub disposition: Disposition,
    /// Families whose MP attributes were ignored because they were not negotiated (logged, not
    /// a reset: RFC 4760 §7 and peer-bug-history row 14).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_families: Vec<Family>,
}

fn reset(subcode: u8, data: Vec<u8>, reason: String) -> Disposition {
    Disposition::SessionReset {
        error: BgpError::update(subcode, data),
        reason,
    }
}

/// The bytes of one attribute as received (for NOTIFICATION data, RFC 4271 §6.3).
fn attribute_bytes(flags: u8, code: u8, len: usize, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, code];
    if flags & flags::EXTENDED_LENGTH != 0 {
        v.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    } else {
        v.push(u8::try_from(len).unwrap_or(u8::MAX));
    }
    v.extend_from_slice(value);
    v
}

/// The flags RFC 4271 §4.3 prescribes for a recognised attribute (optional, transitive bits).
fn expected_flags(code: u8) -> Option<u8> {
    use flags::{OPTIONAL, TRANSITIVE};
    Some(match code {
        code::ORIGIN
        | code::AS_PATH
        | code::NEXT_HOP
        | code::LOCAL_PREF
        | code::ATOMIC_AGGREGATE => TRANSITIVE,
        code::MED
        | code::ORIGINATOR_ID
        | code::CLUSTER_LIST
        | code::MP_REACH_NLRI
        | code::MP_UNREACH_NLRI => OPTIONAL,
        code::AGGREGATOR
        | code::COMMUNITIES
        | code::EXTENDED_COMMUNITIES
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::PMSI_TUNNEL
        | code::TUNNEL_ENCAPSULATION
        | code::LARGE_COMMUNITIES => OPTIONAL | TRANSITIVE,
        _ => return None,
    })
}

/// How many attributes the path attribute field holds by its length fields, up to 16 (more
/// grow the list as they come): what to allocate for. A field cut short ends the count; the
/// decoding loop reports it.
fn count_attributes(attrs: &[u8]) -> usize {
    let (mut at, mut count) = (0usize, 0usize);
    while count < 16 {
        let Some(&attr_flags) = attrs.get(at) else {
            break;
        };
        let len = if attr_flags & flags::EXTENDED_LENGTH != 0 {
            attrs
                .get(at + 2..at + 4)
                .and_then(|l| <[u8; 2]>::try_from(l).ok())
                .map(|l| (4, usize::from(u16::from_be_bytes(l))))
        } else {
            attrs.get(at + 2).map(|&l| (3, usize::from(l)))
        };
        let Some((header, len)) = len else {
            break;
        };
        at += header + len;
        count += 1;
    }
    count
}

/// Decodes an UPDATE body (after the 19-octet header) under the session's context.
pub fn decode_update(body: &[u8], ctx: &DecodeContext) -> DecodedUpdate {
    let mut update = Update::default();
    let mut disposition = Disposition::Accepted;
    let mut ignored_families = Vec::new();
    let malformed_list = |reason: &str| {
        reset(
            sub::MALFORMED_ATTRIBUTE_LIST,
            Vec::new(),
            reason.to_string(),
        )
    };
    let done = |update, disposition, ignored_families| DecodedUpdate {
        update,
        disposition,
        ignored_families,
    };

    let mut r = Reader::new(body);
    // RFC 4271 §6.3 / RFC 7606 §4: lengths that overrun the message leave nothing to trust.
    let Ok(withdrawn_len) = r.u16() else {
        return done(
            update,
            malformed_list("UPDATE shorter than its withdrawn routes length"),
            ignored_families,
        );
    };
    let Ok(withdrawn) = r.take(usize::from(withdrawn_len)) else {
        return done(
            update,
            malformed_list("withdrawn routes length overruns the UPDATE"),
            ignored_families,
        );
    };
    let Ok(attrs_len) = r.u16() else {
        return done(
            update,
            malformed_list("UPDATE shorter than its total path attribute length"),
            ignored_families,
        );
    };
    let Ok(attrs) = r.take(usize::from(attrs_len)) else {
        return done(
            update,
            malformed_list("total path attribute length overruns the UPDATE"),
            ignored_families,
        );
    };
    let nlri = r.take_rest();
    // UPDATEs of the VPN families leave both classic NLRI fields empty: nothing to decode.
    if !withdrawn.is_empty() || !nlri.is_empty() {
        let add_path_v4 = ctx.has_add_path(Family::IPV4_UNICAST);
        // RFC 7606 §5.3: NLRI that cannot be parsed reset the session.
        match decode_nlri(Family::IPV4_UNICAST, withdrawn, add_path_v4) {
            Ok(list) => update.withdrawn = list,
            Err(e) => {
                return done(
                    update,
                    reset(sub::INVALID_NETWORK_FIELD, Vec::new(), e.to_string()),
                    ignored_families,
                )
            }
        }
        match decode_nlri(Family::IPV4_UNICAST, nlri, add_path_v4) {
            Ok(list) => update.nlri = list,
            Err(e) => {
                return done(
                    update,
                    reset(sub::INVALID_NETWORK_FIELD, Vec::new(), e.to_string()),
                    ignored_families,
                )
            }
        }
    }

    // One allocation of the size the list will have, so that the routes, which keep the list,
    // keep no spare room (RouteAttributes::take_from).
    update.attributes.list = Vec::with_capacity(count_attributes(attrs));
    // Attribute codes seen so far: a 256-bit set (zeroing 32 octets, not 256, per UPDATE).
    let mut seen = [0u64; 4];
    let mut saw = |code: u8| {
        let (word, bit) = (usize::from(code >> 6), 1u64 << (code & 63));
        let before = seen[word] & bit != 0;
        seen[word] |= bit;
        before
    };
    let mut a = Reader::new(attrs);
    while !a.is_empty() {
        let header = (a.u8(), a.u8());
        let (Ok(attr_flags), Ok(attr_code)) = header else {
            // RFC 7606 §4: an attribute header cut short by the total length.
            disposition.raise(Disposition::TreatAsWithdraw {
                reasons: vec![AttributeProblem {
                    code: 0,
                    reason: "attribute header overruns the total attribute length".into(),
                }],
            });
            break;
        };
        let len = if attr_flags & flags::EXTENDED_LENGTH != 0 {
            a.u16().map(usize::from)
        } else {
            a.u8().map(usize::from)
        };
        let Some(value) = len.ok().and_then(|len| a.take(len).ok()) else {
            // RFC 7606 §4: an attribute overrunning the total length: withdraw, or reset when the
            // overrunning attribute is an MP one (its routes cannot be found).
            if matches!(attr_code, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                disposition.raise(malformed_list(
                    "MP attribute overruns the total attribute length",
                ));
            } else {
                disposition.raise(Disposition::TreatAsWithdraw {
                    reasons: vec![AttributeProblem {
                        code: attr_code,
                        reason: "attribute overruns the total attribute length".into(),
                    }],
                });
            }
            break;
        };
        let full = || attribute_bytes(attr_flags, attr_code, value.len(), value);
        // RFC 7606 §3(g): duplicates are discarded, except MP ones, which reset.
        if saw(attr_code) {
            if matches!(attr_code, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                disposition.raise(reset(
                    sub::MALFORMED_ATTRIBUTE_LIST,
                    Vec::new(),
                    format!("duplicate attribute {attr_code}"),
                ));
            }
            continue;
        }
        // RFC 4271 §6.3: an unrecognised well-known attribute.
        if attr_flags & flags::OPTIONAL == 0 && expected_flags(attr_code).is_none() {
            disposition.raise(reset(
                sub::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                full(),
                format!("unrecognised well-known attribute {attr_code}"),
            ));
            continue;
        }
        // RFC 7606 §3(c): flags that conflict with the type make the attribute malformed.
        if let Some(expected) = expected_flags(attr_code) {
            if attr_flags & (flags::OPTIONAL | flags::TRANSITIVE) != expected {
                let reason = format!("attribute {attr_code} with flags {attr_flags:#04x}");
                if matches!(attr_code, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                    disposition.raise(reset(sub::ATTRIBUTE_FLAGS_ERROR, full(), reason));
                } else if attr_code == code::TUNNEL_ENCAPSULATION {
                    // RFC 9012 §13: attribute discard rather than treat-as-withdraw.
                    disposition.raise(Disposition::AttributeDiscard {
                        discarded: vec![AttributeProblem {
                            code: attr_code,
                            reason,
                        }],
                    });
                } else {
                    disposition.raise(Disposition::TreatAsWithdraw {
                        reasons: vec![AttributeProblem {
                            code: attr_code,
                            reason,
                        }],
                    });
                }
                continue;
            }
        }
        match decode_attribute(attr_flags, attr_code, value, ctx) {
            Ok(attr) => {
                // Routes were decoded only for a negotiated family: then there is no need to
                // look the family up again.
                let ignored = |family, routes: &[PathNlri], undecoded: &[u8]| {
                    routes.is_empty() && (!undecoded.is_empty() || !ctx.families.contains(&family))
                };
                match &attr {
                    PathAttribute::MpReach(m) if ignored(m.family, &m.nlri, &m.undecoded_nlri) => {
                        ignored_families.push(m.family)
                    }
                    PathAttribute::MpUnreach(m)
                        if ignored(m.family, &m.withdrawn, &m.undecoded_nlri) =>
                    {
                        ignored_families.push(m.family)
                    }
                    _ => {}
                }
                update.attributes.list.push(attr);
            }
            Err(e) => {
                let problem = AttributeProblem {
                    code: e.code,
                    reason: e.reason.clone(),
                };
                disposition.raise(match e.action {
                    AttributeAction::Discard => Disposition::AttributeDiscard {
                        discarded: vec![problem],
                    },
                    AttributeAction::TreatAsWithdraw => Disposition::TreatAsWithdraw {
                        reasons: vec![problem],
                    },
                    AttributeAction::SessionReset => reset(e.subcode, full(), e.reason),
                });
            }
        }
    }

    // RFC 7606 §3(d): a missing well-known mandatory attribute, only when there is reachable
    // NLRI. NEXT_HOP is mandatory only for classic IPv4 NLRI (RFC 4760 §3).
    let reachable = !update.nlri.is_empty()
        || update
            .attributes
            .mp_reach()
            .is_some_and(|m| !m.nlri.is_empty());
    if reachable && disposition.rank() < 3 {
        let mandatory = [
            (code::ORIGIN, true),
            (code::AS_PATH, true),
            (code::NEXT_HOP, !update.nlri.is_empty()),
            (code::LOCAL_PREF, ctx.ibgp),
        ];
        for (c, required) in mandatory {
            if required && seen[usize::from(c >> 6)] & (1u64 << (c & 63)) == 0 {
                disposition.raise(Disposition::TreatAsWithdraw {
                    reasons: vec![AttributeProblem {
                        code: c,
                        reason: format!("missing well-known attribute {c}"),
                    }],
                });
            }
        }
    }
    done(update, disposition, ignored_families)
}

/// Fills the 2-octet length field at `at` with the number of octets written after it
/// (saturating: callers keep fields within the negotiated message size).
fn patch_len(out: &mut [u8], at: usize) {
    let len = out.len().saturating_sub(at + 2);
    if let Some(field) = out.get_mut(at..at + 2) {
        field.copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
}

impl Update {
    /// End-of-RIB for `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast, otherwise an
    /// UPDATE with only an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(family: Family) -> Update {
        let mut update = Update::default();
        if family != Family::IPV4_UNICAST {
            update
                .attributes
                .list
                .push(PathAttribute::MpUnreach(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                    undecoded_nlri: Vec::new(),
                }));
        }
        update
    }

    /// The family this UPDATE marks the End-of-RIB of, if it is one (RFC 4724 §2).
    pub fn as_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.list.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [PathAttribute::MpUnreach(m)]
                if m.withdrawn.is_empty() && m.undecoded_nlri.is_empty() =>
            {
                Some(m.family)
            }
            _ => None,
        }
    }

    /// Every route the UPDATE withdraws, and under treat-as-withdraw every route it carries:
    /// (family, route) pairs.
    pub fn all_routes(&self) -> Vec<(Family, &PathNlri)> {
        let mut out: Vec<(Family, &PathNlri)> = Vec::new();
        out.extend(
            self.withdrawn
                .iter()
                .chain(&self.nlri)
                .map(|n| (Family::IPV4_UNICAST, n)),
        );
        if let Some(m) = self.attributes.mp_reach() {
            out.extend(m.nlri.iter().map(|n| (m.family, n)));
        }
        if let Some(m) = self.attributes.mp_unreach() {
            out.extend(m.withdrawn.iter().map(|n| (m.family, n)));
        }
        out
    }

    /// The whole message, header included (RFC 4271 §4.1, §4.3).
    pub fn encode(&self, ctx: &DecodeContext) -> Vec<u8> {
        super::message::frame(super::message::MessageType::Update, &self.encode_body(ctx))
    }

    /// The body (after the header): MP attributes first (RFC 7606 §5.1).
    ///
    /// Written into one buffer: each length field is reserved, then filled in once the field it
    /// counts is written.
    pub fn encode_body(&self, ctx: &DecodeContext) -> Vec<u8> {
        let routes = self.withdrawn.len()
            + self.nlri.len()
            + self.attributes.mp_reach().map_or(0, |m| m.nlri.len())
            + self
                .attributes
                .mp_unreach()
                .map_or(0, |m| m.withdrawn.len());
        let mut out = Vec::with_capacity(128 + 32 * routes);
        out.extend_from_slice(&[0, 0]);
        self.withdrawn.iter().for_each(|n| encode_nlri(n, &mut out));
        patch_len(&mut out, 0);
        let attrs_at = out.len();
        out.extend_from_slice(&[0, 0]);
        self.attributes.encode(ctx, &mut out);
        patch_len(&mut out, attrs_at);
        self.nlri.iter().for_each(|n| encode_nlri(n, &mut out));
        out
    }
}

#[cfg(test)]
mod tests;
