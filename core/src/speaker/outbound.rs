//! Turning the route table's per-peer updates into UPDATE and ROUTE-REFRESH messages
//! (RFC 4271 §9.2, RFC 4760, RFC 4724 §2 End-of-RIB, RFC 7313 §3 BoRR/EoRR).

use crate::rib::codec::RouteAttributes;
use crate::rib::PeerUpdate;
use crate::wire::attr::{
    code, AsPath, AsPathSegment, Origin, PathAttribute, PathAttributes, SegmentKind,
};
use crate::wire::message::{Message, RouteRefresh, RouteRefreshSubtype};
use crate::wire::nlri::{Nlri, PathNlri};
use crate::wire::update::Update;
use crate::wire::update::{pack_announcements, pack_withdrawals, PackError};
use crate::wire::{DecodeContext, Family};
use std::sync::Arc;

/// Default LOCAL_PREF sent to internal peers when a route has none (RFC 4271 §5.1.5).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// How the attributes of our routes change for one peer (RFC 4271 §5.1.2, §5.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerKind {
    /// Our AS, prepended for external peers.
    pub local_as: u32,
    /// Whether the peer is internal.
    pub ibgp: bool,
}

impl PeerKind {
    /// The attributes as sent to this peer: ORIGIN present; for an internal peer LOCAL_PREF
    /// present; for an external one our AS first in AS_PATH and no LOCAL_PREF.
    pub fn outgoing(&self, attrs: &PathAttributes) -> PathAttributes {
        let mut list: Vec<PathAttribute> = Vec::with_capacity(attrs.list.len() + 2);
        let mut has_origin = false;
        let mut has_as_path = false;
        let mut has_local_pref = false;
        for a in &attrs.list {
            match a {
                PathAttribute::Origin(_) => has_origin = true,
                PathAttribute::LocalPref(_) if !self.ibgp => continue,
                PathAttribute::LocalPref(_) => has_local_pref = true,
                PathAttribute::AsPath(path) if !self.ibgp => {
                    has_as_path = true;
                    let mut path = path.clone();
                    match path.segments.first_mut() {
                        Some(first)
                            if first.kind == SegmentKind::Sequence && first.asns.len() < 255 =>
                        {
                            first.asns.insert(0, self.local_as)
                        }
                        _ => path.segments.insert(
                            0,
                            AsPathSegment {
                                kind: SegmentKind::Sequence,
                                asns: vec![self.local_as],
                            },
                        ),
                    }
                    list.push(PathAttribute::AsPath(path));
                    continue;
                }
                PathAttribute::AsPath(_) => has_as_path = true,
                _ => {}
            }
            list.push(a.clone());
        }
        if !has_origin {
            list.push(PathAttribute::Origin(Origin::Igp));
        }
        if !has_as_path {
            let mut path = AsPath::default();
            if !self.ibgp {
                path.segments.push(AsPathSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![self.local_as],
                });
            }
            list.push(PathAttribute::AsPath(path));
        }
        if self.ibgp && !has_local_pref {
            list.push(PathAttribute::LocalPref(DEFAULT_LOCAL_PREF));
        }
        debug_assert!(list.iter().all(|a| a.code() != code::MP_REACH_NLRI));
        PathAttributes { list }
    }
}

type Updates = Vec<PeerUpdate<Nlri, RouteAttributes>>;

/// Encodes a batch of updates for one peer, in order: consecutive announcements of one family
/// sharing one set of attributes go in as few UPDATEs as fit, consecutive withdrawals of one
/// family likewise. A route whose attributes alone exceed the message size is skipped and
/// reported.
pub fn encode_updates(
    updates: Updates,
    kind: PeerKind,
    ctx: &DecodeContext,
) -> (Vec<Vec<u8>>, Vec<PackError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut i = 0;
    while i < updates.len() {
        match &updates[i] {
            PeerUpdate::Announce(first) => {
                let family = first.family();
                let attrs = Arc::clone(first.attributes());
                let mut routes = Vec::new();
                while let Some(PeerUpdate::Announce(r)) = updates.get(i) {
                    if r.family() != family || !Arc::ptr_eq(r.attributes(), &attrs) {
                        break;
                    }
                    routes.push(PathNlri {
                        path_id: None,
                        nlri: r.nlri().clone(),
                    });
                    i += 1;
                }
                let sent = kind.outgoing(&attrs.attributes);
                match pack_announcements(family, &sent, &attrs.next_hop, &routes, ctx) {
                    Ok(msgs) => out.extend(msgs),
                    Err(e) => errors.push(e),
                }
            }
            PeerUpdate::Withdraw(first) => {
                let family = first.family();
                let mut routes = Vec::new();
                while let Some(PeerUpdate::Withdraw(r)) = updates.get(i) {
                    if r.family() != family {
                        break;
                    }
                    routes.push(PathNlri {
                        path_id: None,
                        nlri: r.nlri().clone(),
                    });
                    i += 1;
                }
                match pack_withdrawals(family, &routes, ctx) {
                    Ok(msgs) => out.extend(msgs),
                    Err(e) => errors.push(e),
                }
            }
            PeerUpdate::EndOfRib(family) => {
                out.push(Update::end_of_rib(*family).encode(ctx));
                i += 1;
            }
            PeerUpdate::BeginRouteRefresh(family) => {
                out.push(refresh(
                    *family,
                    RouteRefreshSubtype::BeginningOfRouteRefresh,
                    ctx,
                ));
                i += 1;
            }
            PeerUpdate::EndRouteRefresh(family) => {
                out.push(refresh(
                    *family,
                    RouteRefreshSubtype::EndOfRouteRefresh,
                    ctx,
                ));
                i += 1;
            }
        }
    }
    (out, errors)
}

fn refresh(family: Family, subtype: RouteRefreshSubtype, ctx: &DecodeContext) -> Vec<u8> {
    Message::RouteRefresh(RouteRefresh { family, subtype }).encode(ctx)
}
