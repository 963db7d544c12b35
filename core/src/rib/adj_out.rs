//! Adj-RIB-Out of one peer (RFC 4271 §3.2): what was really sent to it, so that every withdraw
//! is exact and nothing stale survives a change of filter (peer-bug-history rows 3, 6, 16).

use super::route::{RibNlri, Route};
use crate::wire::Family;
use serde::Serialize;
use std::collections::BTreeMap;

/// One thing to tell a peer; the speaker turns runs of these into UPDATE messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum PeerUpdate<N, A> {
    /// Advertise this route (its NLRI with its attributes), replacing what was sent for its key.
    Announce(Route<N, A>),
    /// Withdraw this route, the one that was last announced for its key.
    Withdraw(Route<N, A>),
    /// End-of-RIB marker for the family (RFC 4724 §2), after the initial table.
    EndOfRib(Family),
    /// Beginning of a route refresh (RFC 7313 §3, ROUTE-REFRESH subtype 1).
    BeginRouteRefresh(Family),
    /// End of a route refresh (RFC 7313 §3, ROUTE-REFRESH subtype 2).
    EndRouteRefresh(Family),
}

/// What was sent to one peer, by route key.
#[derive(Debug, Clone)]
pub(crate) struct AdjRibOut<N: RibNlri, A> {
    sent: BTreeMap<N::Key, Route<N, A>>,
}

impl<N: RibNlri, A> Default for AdjRibOut<N, A> {
    fn default() -> Self {
        AdjRibOut {
            sent: BTreeMap::new(),
        }
    }
}

impl<N: RibNlri, A: Eq> AdjRibOut<N, A> {
    /// Makes what was sent for `key` equal `desired`, pushing the one update needed, if any.
    pub(crate) fn reconcile(
        &mut self,
        key: &N::Key,
        desired: Option<&Route<N, A>>,
        out: &mut Vec<PeerUpdate<N, A>>,
    ) {
        match (desired, self.sent.get_mut(key)) {
            (Some(want), Some(sent)) => {
                if !(sent.ptr_eq(want)
                    || sent.nlri() == want.nlri() && sent.attributes() == want.attributes())
                {
                    *sent = want.clone();
                    out.push(PeerUpdate::Announce(want.clone()));
                }
            }
            (Some(want), None) => {
                self.sent.insert(key.clone(), want.clone());
                out.push(PeerUpdate::Announce(want.clone()));
            }
            (None, Some(_)) => {
                if let Some(sent) = self.sent.remove(key) {
                    out.push(PeerUpdate::Withdraw(sent));
                }
            }
            (None, None) => {}
        }
    }

    /// Forgets everything (the session is gone, and with it what the peer held).
    pub(crate) fn clear(&mut self) {
        self.sent.clear();
    }

    /// Every key sent in a family selected by `families`.
    pub(crate) fn keys_where(&self, mut families: impl FnMut(Family) -> bool) -> Vec<N::Key> {
        self.sent
            .iter()
            .filter(|(_, r)| families(r.family()))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// What was sent, in key order.
    pub(crate) fn routes(&self) -> impl Iterator<Item = &Route<N, A>> {
        self.sent.values()
    }

    /// How many routes were sent.
    pub(crate) fn len(&self) -> usize {
        self.sent.len()
    }
}
