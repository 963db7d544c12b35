//! RT-Constraint membership (RFC 4684): which route targets a peer asked for, and whether a
//! route matches.

use crate::wire::RouteTarget;
use std::collections::BTreeMap;

/// A route-target membership prefix, the part of an RT-Constraint NLRI that decides what is sent
/// (RFC 4684 §4). The origin AS tells who is interested; matching ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RtMembership {
    /// The zero-length prefix: the default membership, "send me every route" (RFC 4684 §4).
    Default,
    /// Origin AS plus the first `route_target_bits` bits (0..=64) of a route-target extended
    /// community (NLRI prefix length = 32 + `route_target_bits`, RFC 4684 §4).
    Prefix {
        /// The AS of the speaker that originated the membership.
        origin_as: u32,
        /// How many leading bits of `route_target` are significant (0..=64).
        route_target_bits: u8,
        /// The extended community (type, subtype, value); bits past `route_target_bits` are zero.
        route_target: [u8; 8],
    },
}

impl RtMembership {
    /// A membership for exactly `route_target` (a 96-bit prefix).
    pub fn exact(origin_as: u32, route_target: RouteTarget) -> Self {
        RtMembership::Prefix {
            origin_as,
            route_target_bits: 64,
            route_target: route_target.to_extended_community_bytes(),
        }
    }

    /// A membership from an NLRI prefix length (0 or 32..=96, RFC 4684 §4) and the bytes behind
    /// it; `None` for lengths 1..=31 or above 96, which RFC 4684 §4 does not allow. Bits past the
    /// length are cleared so that equal prefixes compare equal.
    pub fn from_prefix(prefix_len: u8, origin_as: u32, route_target: [u8; 8]) -> Option<Self> {
        match prefix_len {
            0 => Some(RtMembership::Default),
            32..=96 => {
                let bits = prefix_len - 32;
                Some(RtMembership::Prefix {
                    origin_as,
                    route_target_bits: bits,
                    route_target: mask(route_target, bits),
                })
            }
            _ => None,
        }
    }

    /// The NLRI prefix length in bits (RFC 4684 §4).
    pub fn prefix_len(&self) -> u8 {
        match self {
            RtMembership::Default => 0,
            RtMembership::Prefix {
                route_target_bits, ..
            } => 32 + route_target_bits,
        }
    }

    /// Whether a route carrying `route_target` matches this membership (RFC 4684 §4: the route
    /// target falls under the prefix).
    pub fn matches(&self, route_target: RouteTarget) -> bool {
        match *self {
            RtMembership::Default => true,
            RtMembership::Prefix {
                route_target_bits,
                route_target: prefix,
                ..
            } => {
                mask(
                    route_target.to_extended_community_bytes(),
                    route_target_bits,
                ) == prefix
            }
        }
    }
}

/// `bytes` with every bit after the first `bits` cleared.
fn mask(bytes: [u8; 8], bits: u8) -> [u8; 8] {
    let bits = u64::from(bits.min(64));
    let value = u64::from_be_bytes(bytes);
    let masked = if bits == 0 {
        0
    } else {
        value & (u64::MAX << (64 - bits))
    };
    masked.to_be_bytes()
}

/// Which local routes a change of membership can affect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MembershipScope {
    /// Only routes carrying this route target.
    RouteTarget(RouteTarget),
    /// No local route (an exact membership for something that is not a route target).
    Nothing,
    /// Any route (default or partial prefix).
    Everything,
}

/// The memberships one peer advertised, counted (several origin ASes may ask for the same route
/// target), indexed for the common case of exact route targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MembershipFilter {
    default: u32,
    exact: BTreeMap<[u8; 8], u32>,
    partial: BTreeMap<(u8, [u8; 8]), u32>,
}

impl MembershipFilter {
    /// Records one membership route.
    pub(crate) fn add(&mut self, m: &RtMembership) -> MembershipScope {
        match *m {
            RtMembership::Default => {
                self.default += 1;
                MembershipScope::Everything
            }
            RtMembership::Prefix {
                route_target_bits: 64,
                route_target,
                ..
            } => {
                *self.exact.entry(route_target).or_insert(0) += 1;
                scope_of(route_target)
            }
            RtMembership::Prefix {
                route_target_bits,
                route_target,
                ..
            } => {
                *self
                    .partial
                    .entry((route_target_bits, route_target))
                    .or_insert(0) += 1;
                MembershipScope::Everything
            }
        }
    }

    /// Forgets one membership route recorded with [`MembershipFilter::add`].
    pub(crate) fn remove(&mut self, m: &RtMembership) -> MembershipScope {
        fn decrement<K: Ord>(map: &mut BTreeMap<K, u32>, key: K) {
            if let Some(n) = map.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        match *m {
            RtMembership::Default => {
                self.default = self.default.saturating_sub(1);
                MembershipScope::Everything
            }
            RtMembership::Prefix {
                route_target_bits: 64,
                route_target,
                ..
            } => {
                decrement(&mut self.exact, route_target);
                scope_of(route_target)
            }
            RtMembership::Prefix {
                route_target_bits,
                route_target,
                ..
            } => {
                decrement(&mut self.partial, (route_target_bits, route_target));
                MembershipScope::Everything
            }
        }
    }

    /// Whether a route with these route targets is wanted (RFC 4684 §4). Only the default
    /// membership asks for routes without any route target.
    pub(crate) fn matches(&self, route_targets: &[RouteTarget]) -> bool {
        if self.default > 0 {
            return true;
        }
        route_targets.iter().any(|rt| {
            let bytes = rt.to_extended_community_bytes();
            self.exact.contains_key(&bytes)
                || self
                    .partial
                    .keys()
                    .any(|&(bits, prefix)| mask(bytes, bits) == prefix)
        })
    }

    /// Whether no membership is recorded.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.default == 0 && self.exact.is_empty() && self.partial.is_empty()
    }
}

fn scope_of(bytes: [u8; 8]) -> MembershipScope {
    let [t, subtype, a, b, c, d, e, f] = bytes;
    match RouteTarget::from_parts(t, [a, b, c, d, e, f]) {
        Some(rt) if subtype == RouteTarget::SUBTYPE => MembershipScope::RouteTarget(rt),
        _ => MembershipScope::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> RouteTarget {
        s.parse().unwrap()
    }

    #[test]
    fn rfc4684_s4_prefix_lengths_1_to_31_are_invalid() {
        assert_eq!(
            RtMembership::from_prefix(0, 7, [9; 8]),
            Some(RtMembership::Default)
        );
        for len in 1..32 {
            assert_eq!(RtMembership::from_prefix(len, 64512, [0; 8]), None, "{len}");
        }
        assert!(RtMembership::from_prefix(32, 64512, [0; 8]).is_some());
        assert!(RtMembership::from_prefix(96, 64512, [0; 8]).is_some());
        assert_eq!(RtMembership::from_prefix(97, 64512, [0; 8]), None);
    }

    #[test]
    fn rfc4684_s4_exact_default_and_partial_prefixes_match() {
        let rt10 = rt("64512:10");
        let rt20 = rt("64512:20");
        let exact = RtMembership::exact(64513, rt10);
        assert_eq!(exact.prefix_len(), 96);
        assert!(exact.matches(rt10));
        assert!(!exact.matches(rt20));
        assert!(RtMembership::Default.matches(rt20));
        // 32 + 16 bits: type, subtype: every 2-octet-AS route target.
        let bytes = rt10.to_extended_community_bytes();
        let type_only = RtMembership::from_prefix(48, 64513, bytes).unwrap();
        assert!(type_only.matches(rt20));
        assert!(!type_only.matches(rt("10.0.0.1:5")));
        // 32 + 32 bits: type, subtype and ASN 64512.
        let asn = RtMembership::from_prefix(64, 64513, bytes).unwrap();
        assert!(asn.matches(rt("64512:99")));
        assert!(!asn.matches(rt("64511:10")));
        // Origin AS only (length 32): every route target.
        assert!(RtMembership::from_prefix(32, 1, [0xff; 8])
            .unwrap()
            .matches(rt20));
    }

    #[test]
    fn rfc4684_s4_filter_counts_memberships_and_needs_default_for_routes_without_targets() {
        let rt10 = rt("64512:10");
        let mut f = MembershipFilter::default();
        assert!(!f.matches(&[rt10]));
        let a = RtMembership::exact(64513, rt10);
        let b = RtMembership::exact(64514, rt10);
        assert_eq!(f.add(&a), MembershipScope::RouteTarget(rt10));
        f.add(&b);
        assert!(f.matches(&[rt10]));
        f.remove(&a);
        assert!(f.matches(&[rt10]), "still asked for by the other origin");
        f.remove(&b);
        assert!(!f.matches(&[rt10]));
        assert!(f.is_empty());
        let all = RtMembership::from_prefix(32, 1, [0; 8]).unwrap();
        assert_eq!(f.add(&all), MembershipScope::Everything);
        assert!(f.matches(&[rt10]));
        assert!(!f.matches(&[]));
        f.add(&RtMembership::Default);
        assert!(f.matches(&[]));
    }
}
