//! Packing routes into as few UPDATE messages as fit the session's maximum message size
//! (RFC 4271 §4.1: 4096 octets; RFC 8654: 65535 with extended messages).

use super::Update;
use crate::wire::attr::{MpReach, MpUnreach, NextHop, PathAttribute, PathAttributes};
use crate::wire::context::DecodeContext;
use crate::wire::family::Family;
use crate::wire::nlri::{encoded_len, PathNlri};

/// Header (19), withdrawn routes length (2), total path attribute length (2).
const FIXED: usize = 19 + 2 + 2;

/// The routes cannot be sent because the attributes alone leave no room for one route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackError {
    /// The message size the attributes and one route would need.
    pub needed: usize,
    /// The session's maximum.
    pub max: usize,
}

impl core::fmt::Display for PackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "an UPDATE would need {} octets, over the maximum of {}",
            self.needed, self.max
        )
    }
}

impl std::error::Error for PackError {}

/// Length of an attribute header for a value of `len` octets (extended length over 255).
fn attr_header(len: usize) -> usize {
    if len > 255 {
        4
    } else {
        3
    }
}

/// Splits `routes` greedily, in order, into runs whose encoded length `fits`.
fn chunks(
    routes: &[PathNlri],
    fits: impl Fn(usize) -> bool,
    max: usize,
    base: usize,
) -> Result<Vec<&[PathNlri]>, PackError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut sum = 0;
    for (i, r) in routes.iter().enumerate() {
        let len = encoded_len(r);
        if fits(sum + len) {
            sum += len;
            continue;
        }
        if i == start {
            return Err(PackError {
                needed: base + len,
                max,
            });
        }
        out.push(&routes[start..i]);
        start = i;
        sum = len;
        if !fits(sum) {
            return Err(PackError {
                needed: base + len,
                max,
            });
        }
    }
    if start < routes.len() {
        out.push(&routes[start..]);
    }
    Ok(out)
}

/// Announces `routes` of `family` with `attributes` (which must not contain MP attributes; for
/// IPv4 unicast they carry NEXT_HOP) and, for other families, `next_hop` in MP_REACH_NLRI:
/// as few UPDATEs as fit, MP_REACH_NLRI first, every route in exactly one message.
pub fn pack_announcements(
    family: Family,
    attributes: &PathAttributes,
    next_hop: &NextHop,
    routes: &[PathNlri],
    ctx: &DecodeContext,
) -> Result<Vec<Vec<u8>>, PackError> {
    let max = ctx.max_message_len();
    let mut attr_bytes = Vec::new();
    attributes.encode(ctx, &mut attr_bytes);
    let base = FIXED + attr_bytes.len();
    let build = |run: &[PathNlri]| {
        let mut update = Update::default();
        if family == Family::IPV4_UNICAST {
            update.attributes = attributes.clone();
            update.nlri = run.to_vec();
        } else {
            let mut list = vec![PathAttribute::MpReach(MpReach {
                family,
                next_hop: next_hop.clone(),
                nlri: run.to_vec(),
                undecoded_nlri: Vec::new(),
            })];
            list.extend(attributes.list.iter().cloned());
            update.attributes = PathAttributes { list };
        }
        update.encode(ctx)
    };
    let runs = if family == Family::IPV4_UNICAST {
        chunks(routes, |sum| base + sum <= max, max, base)?
    } else {
        let mut nh = Vec::new();
        PathAttribute::MpReach(MpReach {
            family,
            next_hop: next_hop.clone(),
            nlri: Vec::new(),
            undecoded_nlri: Vec::new(),
        })
        .encode(ctx, &mut nh);
        // AFI, SAFI, next-hop length, next hop, reserved.
        let mp_fixed = nh.len() - 3;
        chunks(
            routes,
            |sum| base + attr_header(mp_fixed + sum) + mp_fixed + sum <= max,
            max,
            base,
        )?
    };
    Ok(runs.into_iter().map(build).collect())
}

/// Withdraws `routes` of `family`: as few UPDATEs as fit, in the withdrawn-routes field for
/// IPv4 unicast and in MP_UNREACH_NLRI for other families, with no other attribute.
pub fn pack_withdrawals(
    family: Family,
    routes: &[PathNlri],
    ctx: &DecodeContext,
) -> Result<Vec<Vec<u8>>, PackError> {
    let max = ctx.max_message_len();
    let runs = if family == Family::IPV4_UNICAST {
        chunks(routes, |sum| FIXED + sum <= max, max, FIXED)?
    } else {
        // AFI (2) and SAFI (1) in the attribute value.
        chunks(
            routes,
            |sum| FIXED + attr_header(3 + sum) + 3 + sum <= max,
            max,
            FIXED,
        )?
    };
    Ok(runs
        .into_iter()
        .map(|run| {
            let mut update = Update::default();
            if family == Family::IPV4_UNICAST {
                update.withdrawn = run.to_vec();
            } else {
                update
                    .attributes
                    .list
                    .push(PathAttribute::MpUnreach(MpUnreach {
                        family,
                        withdrawn: run.to_vec(),
                        undecoded_nlri: Vec::new(),
                    }));
            }
            update.encode(ctx)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::Origin;
    use crate::wire::label::{LabelStackEntry, Vni};
    use crate::wire::mac::MacAddress;
    use crate::wire::nlri::{Esi, EvpnRoute, Ipv4Prefix, Nlri};
    use crate::wire::update::{decode_update, Disposition};
    use proptest::prelude::*;

    fn ctx(extended: bool) -> DecodeContext {
        DecodeContext {
            four_octet_as: true,
            extended_message: extended,
            families: [Family::IPV4_UNICAST, Family::EVPN].into(),
            ..DecodeContext::default()
        }
    }

    fn mac_route(i: u32) -> PathNlri {
        let b = i.to_be_bytes();
        PathNlri::new(Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
            rd: "127.0.0.1:1".parse().unwrap(),
            esi: Esi::ZERO,
            ethernet_tag: 0,
            mac: MacAddress([2, 0, b[0], b[1], b[2], b[3]]),
            ip: Some(std::net::IpAddr::V4(b.into())),
            label1: LabelStackEntry::from_vni(Vni::new(100).unwrap()),
            label2: None,
        }))
    }

    fn attrs() -> PathAttributes {
        PathAttributes {
            list: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(Default::default()),
                PathAttribute::LocalPref(100),
            ],
        }
    }

    /// Decodes every message and returns the routes announced (or withdrawn), in order.
    fn routes_in(messages: &[Vec<u8>], c: &DecodeContext, max: usize) -> Vec<PathNlri> {
        let mut out = Vec::new();
        for m in messages {
            assert!(m.len() <= max, "message of {} octets over {max}", m.len());
            let d = decode_update(&m[19..], c);
            assert_eq!(d.disposition, Disposition::Accepted);
            out.extend(d.update.all_routes().into_iter().map(|(_, n)| n.clone()));
        }
        out
    }

    #[test]
    fn rfc4271_s4_1_packs_to_4096_and_rfc8654_to_65535() {
        let routes: Vec<_> = (0..1000).map(mac_route).collect();
        let nh = NextHop::Ipv4("10.0.0.1".parse().unwrap());
        for (extended, max) in [(false, 4096), (true, 65535)] {
            let c = ctx(extended);
            let msgs = pack_announcements(Family::EVPN, &attrs(), &nh, &routes, &c).unwrap();
            assert_eq!(routes_in(&msgs, &c, max), routes);
            // Each MAC/IP route takes 39 octets: greedy filling leaves less than one route free.
            for m in &msgs[..msgs.len() - 1] {
                assert!(
                    m.len() + 39 > max,
                    "a message of {} octets had room for another route",
                    m.len()
                );
            }
            let w = pack_withdrawals(Family::EVPN, &routes, &c).unwrap();
            assert_eq!(routes_in(&w, &c, max), routes);
        }
    }

    #[test]
    fn ipv4_unicast_uses_the_classic_fields() {
        let c = ctx(false);
        let routes: Vec<_> = (0..2000u32)
            .map(|i| {
                PathNlri::new(Nlri::Ipv4Unicast(
                    Ipv4Prefix::new(i.to_be_bytes().into(), 32).unwrap(),
                ))
            })
            .collect();
        let mut a = attrs();
        a.list
            .push(PathAttribute::NextHop("10.0.0.1".parse().unwrap()));
        let msgs =
            pack_announcements(Family::IPV4_UNICAST, &a, &NextHop::None, &routes, &c).unwrap();
        assert_eq!(routes_in(&msgs, &c, 4096), routes);
        assert_eq!(msgs.len(), 3, "5 octets a route, about 810 a message");
        let w = pack_withdrawals(Family::IPV4_UNICAST, &routes, &c).unwrap();
        assert_eq!(routes_in(&w, &c, 4096), routes);
    }

    #[test]
    fn attributes_too_large_for_one_route_are_an_error() {
        let c = ctx(false);
        let big = PathAttributes {
            list: vec![PathAttribute::Communities((0..1100).collect())],
        };
        let err = pack_announcements(Family::EVPN, &big, &NextHop::None, &[mac_route(1)], &c)
            .unwrap_err();
        assert_eq!(err.max, 4096);
        assert!(
            pack_announcements(Family::EVPN, &big, &NextHop::None, &[], &c)
                .unwrap()
                .is_empty()
        );
    }

    proptest! {
        #[test]
        fn every_route_in_exactly_one_message_within_the_maximum(ids in prop::collection::vec(any::<u32>(), 0..400), extended: bool) {
            let c = ctx(extended);
            let routes: Vec<_> = ids.into_iter().map(mac_route).collect();
            let nh = NextHop::Ipv4("10.0.0.1".parse().unwrap());
            let msgs = pack_announcements(Family::EVPN, &attrs(), &nh, &routes, &c).unwrap();
            prop_assert_eq!(routes_in(&msgs, &c, c.max_message_len()), routes.clone());
            let total: usize = routes.iter().map(encoded_len).sum();
            // Minimal within one: the payload could not fit in fewer messages.
            prop_assert!(msgs.len() <= total / (c.max_message_len() - 100) + 1);
        }
    }
}
