//! Who wants which routes: local instances subscribe to (AFI, SAFI, route target), each part
//! possibly a wildcard (reference §1.5 `Match`).

use super::route::InstanceId;
use crate::wire::{Afi, Family, RouteTarget, Safi};
use std::collections::{BTreeMap, BTreeSet};

/// A subscription key: routes of this AFI and SAFI carrying this route target; `None` matches any
/// (reference §1.5; a route with route targets R matches 4·(|R|+1) keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Subscription {
    /// AFI, or any.
    pub afi: Option<Afi>,
    /// SAFI, or any.
    pub safi: Option<Safi>,
    /// Route target, or any (also matches routes without route targets).
    pub route_target: Option<RouteTarget>,
}

impl Subscription {
    /// Routes of `family` carrying `route_target`.
    pub const fn new(family: Family, route_target: RouteTarget) -> Self {
        Subscription {
            afi: Some(family.afi),
            safi: Some(family.safi),
            route_target: Some(route_target),
        }
    }

    /// Every route of `family`.
    pub const fn any_route_target(family: Family) -> Self {
        Subscription {
            afi: Some(family.afi),
            safi: Some(family.safi),
            route_target: None,
        }
    }

    /// Whether a route of `family` with `route_targets` falls under this subscription.
    pub fn matches(&self, family: Family, route_targets: &[RouteTarget]) -> bool {
        self.afi.is_none_or(|a| a == family.afi)
            && self.safi.is_none_or(|s| s == family.safi)
            && self
                .route_target
                .is_none_or(|rt| route_targets.binary_search(&rt).is_ok())
    }

    /// Whether local interest in this subscription is announced with RT-Constraint: only for the
    /// VPN families (reference §1.7: IP-VPN and E-VPN, not FlowSpec).
    pub(crate) fn wants_membership(&self) -> bool {
        matches!(self.safi, Some(Safi::MplsVpn) | Some(Safi::Evpn))
    }
}

/// The subscriptions of every instance, and the reverse index used to dispatch a route.
///
/// A subscription is a set member: subscribing twice is subscribing once (reference §9 item 5).
#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions {
    by_instance: BTreeMap<InstanceId, BTreeSet<Subscription>>,
    by_key: BTreeMap<Subscription, BTreeSet<InstanceId>>,
    /// For each route target (or `None` for the wildcard), how many VPN-family subscriptions
    /// ask for it: the RT-Constraint interest (RFC 4684 §4).
    interest: BTreeMap<Option<RouteTarget>, u32>,
}

/// How the RT-Constraint interest changed after a subscription change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InterestChange {
    None,
    First(Option<RouteTarget>),
    Last(Option<RouteTarget>),
}

impl Subscriptions {
    /// Adds `sub` for `instance`; `false` when it was already there.
    pub(crate) fn add(
        &mut self,
        instance: InstanceId,
        sub: Subscription,
    ) -> (bool, InterestChange) {
        if !self.by_instance.entry(instance).or_default().insert(sub) {
            return (false, InterestChange::None);
        }
        self.by_key.entry(sub).or_default().insert(instance);
        let mut change = InterestChange::None;
        if sub.wants_membership() {
            let n = self.interest.entry(sub.route_target).or_insert(0);
            *n += 1;
            if *n == 1 {
                change = InterestChange::First(sub.route_target);
            }
        }
        (true, change)
    }

    /// Removes `sub` for `instance`; `false` when it was not there.
    pub(crate) fn remove(
        &mut self,
        instance: InstanceId,
        sub: Subscription,
    ) -> (bool, InterestChange) {
        let Some(set) = self.by_instance.get_mut(&instance) else {
            return (false, InterestChange::None);
        };
        if !set.remove(&sub) {
            return (false, InterestChange::None);
        }
        if set.is_empty() {
            self.by_instance.remove(&instance);
        }
        if let Some(set) = self.by_key.get_mut(&sub) {
            set.remove(&instance);
            if set.is_empty() {
                self.by_key.remove(&sub);
            }
        }
        let mut change = InterestChange::None;
        if sub.wants_membership() {
            if let Some(n) = self.interest.get_mut(&sub.route_target) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.interest.remove(&sub.route_target);
                    change = InterestChange::Last(sub.route_target);
                }
            }
        }
        (true, change)
    }

    /// The subscriptions of `instance`.
    pub(crate) fn of(&self, instance: InstanceId) -> impl Iterator<Item = &Subscription> {
        self.by_instance.get(&instance).into_iter().flatten()
    }

    /// Every instance with at least one subscription, and its subscriptions.
    pub(crate) fn all(&self) -> &BTreeMap<InstanceId, BTreeSet<Subscription>> {
        &self.by_instance
    }

    /// Whether any subscription of `instance` matches the route.
    pub(crate) fn instance_matches(
        &self,
        instance: InstanceId,
        family: Family,
        route_targets: &[RouteTarget],
    ) -> bool {
        self.of(instance).any(|s| s.matches(family, route_targets))
    }

    /// Fills `out` (sorted, without duplicates) with every instance subscribed to a key the
    /// route matches.
    pub(crate) fn collect_subscribers(
        &self,
        family: Family,
        route_targets: &[RouteTarget],
        out: &mut Vec<InstanceId>,
    ) {
        if self.by_key.is_empty() {
            return;
        }
        // A route can match 4 × (1 + its route targets) keys (each part exact or wildcard).
        // While there are fewer subscriptions than that (one or two per attached instance),
        // testing each is cheaper than looking each key up: this runs for every received route.
        if self.by_key.len() <= 4 * (1 + route_targets.len()) {
            for (key, set) in &self.by_key {
                let matches = key.afi.is_none_or(|a| a == family.afi)
                    && key.safi.is_none_or(|s| s == family.safi)
                    && key
                        .route_target
                        .is_none_or(|rt| route_targets.contains(&rt));
                if matches {
                    out.extend(set.iter().copied());
                }
            }
        } else {
            let rts = core::iter::once(None).chain(route_targets.iter().copied().map(Some));
            for route_target in rts {
                for afi in [None, Some(family.afi)] {
                    for safi in [None, Some(family.safi)] {
                        let key = Subscription {
                            afi,
                            safi,
                            route_target,
                        };
                        if let Some(set) = self.by_key.get(&key) {
                            out.extend(set.iter().copied());
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The route targets (`None`: every route target) with local RT-Constraint interest.
    pub(crate) fn interest(&self) -> impl Iterator<Item = Option<RouteTarget>> + '_ {
        self.interest.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether scanning the subscriptions or looking the keys up, the subscribers are the
    /// instances with a matching subscription, sorted, once each.
    #[test]
    fn subscribers_are_the_matching_instances_with_few_or_many_subscriptions() {
        let rt = |n: u32| RouteTarget::As2 {
            asn: 64512,
            number: n,
        };
        let route_targets = [rt(0), rt(3)];
        for instances in [2u32, 40] {
            let mut subs = Subscriptions::default();
            for i in 0..instances {
                let family = if i % 2 == 0 {
                    Family::EVPN
                } else {
                    Family::VPNV4
                };
                subs.add(InstanceId(i), Subscription::new(family, rt(i % 4)));
            }
            subs.add(
                InstanceId(instances),
                Subscription::any_route_target(Family::EVPN),
            );
            let mut out = vec![];
            subs.collect_subscribers(Family::EVPN, &route_targets, &mut out);
            let expected: Vec<InstanceId> = (0..instances)
                .filter(|i| i % 2 == 0 && route_targets.contains(&rt(i % 4)))
                .chain([instances])
                .map(InstanceId)
                .collect();
            assert_eq!(out, expected, "{instances} instances");
        }
    }
}
