//! The decode context of each stream, taken from the OPENs seen in it (RFC 5492 §3: what both
//! sides announced is in force).

use bagpipe_core::wire::capability::{announced_families, negotiate, Capability};
use bagpipe_core::wire::message::Open;
use bagpipe_core::wire::nlri::DECODED_FAMILIES;
use bagpipe_core::wire::DecodeContext;
use std::collections::BTreeSet;

/// The context for a stream whose OPENs were not seen: every known family, 4-octet AS (every
/// current implementation negotiates RFC 6793), no ADD-PATH, extended messages allowed so that
/// no length is refused for want of knowing.
pub fn unknown_session_context() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        add_path: BTreeSet::new(),
        extended_message: true,
        families: DECODED_FAMILIES.into_iter().collect(),
        ibgp: true,
    }
}

/// The context when only one side's OPEN was seen: its capabilities are taken as the negotiated
/// ones. ADD-PATH applies to the families where that side sends path identifiers (when it is the
/// sender) or receives them (when it is the receiver) (RFC 7911 §5).
fn one_sided_context(caps: &[Capability], is_sender: bool) -> DecodeContext {
    let add_path = caps
        .iter()
        .filter_map(|c| match c {
            Capability::AddPath { families } => Some(families),
            _ => None,
        })
        .flatten()
        .filter(|f| {
            if is_sender {
                f.mode.can_send()
            } else {
                f.mode.can_receive()
            }
        })
        .map(|f| f.family)
        .collect();
    DecodeContext {
        four_octet_as: caps
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs { .. })),
        add_path,
        extended_message: caps.contains(&Capability::ExtendedMessage),
        families: announced_families(caps),
        ibgp: true,
    }
}

/// The OPENs seen on one connection, by side.
#[derive(Debug, Clone, Default)]
pub struct Session {
    opens: [Option<Open>; 2],
}

impl Session {
    /// Records the OPEN `side` sent.
    pub fn set_open(&mut self, side: usize, open: Open) {
        if let Some(slot) = self.opens.get_mut(side) {
            *slot = Some(open);
        }
    }

    /// Forgets the OPEN of `side` (a new connection starts).
    pub fn clear(&mut self, side: usize) {
        if let Some(slot) = self.opens.get_mut(side) {
            *slot = None;
        }
    }

    /// How the receiver decodes what `sender` sends.
    pub fn context(&self, sender: usize) -> DecodeContext {
        let theirs = self.opens.get(sender).and_then(Option::as_ref);
        let ours = self.opens.get(1 - sender.min(1)).and_then(Option::as_ref);
        match (ours, theirs) {
            (Some(ours), Some(theirs)) => {
                negotiate(
                    &ours.capabilities,
                    &theirs.capabilities,
                    ours.asn() == theirs.asn(),
                )
                .decode
            }
            (None, Some(theirs)) => one_sided_context(&theirs.capabilities, true),
            (Some(ours), None) => one_sided_context(&ours.capabilities, false),
            (None, None) => unknown_session_context(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bagpipe_core::wire::capability::{AddPathFamily, AddPathMode};
    use bagpipe_core::wire::Family;
    use std::net::Ipv4Addr;

    fn open(asn: u32, caps: Vec<Capability>) -> Open {
        Open::new(asn, 90, Ipv4Addr::new(1, 1, 1, 1), caps)
    }

    #[test]
    fn rfc5492_s3_both_opens_negotiate_the_common_families() {
        let mut s = Session::default();
        s.set_open(
            0,
            open(
                65001,
                vec![
                    Capability::Multiprotocol {
                        family: Family::EVPN,
                    },
                    Capability::Multiprotocol {
                        family: Family::VPNV4,
                    },
                    Capability::FourOctetAs { asn: 65001 },
                ],
            ),
        );
        s.set_open(
            1,
            open(
                65002,
                vec![Capability::Multiprotocol {
                    family: Family::EVPN,
                }],
            ),
        );
        let ctx = s.context(0);
        assert_eq!(ctx.families, BTreeSet::from([Family::EVPN]));
        assert!(!ctx.four_octet_as);
        assert!(!ctx.ibgp);
    }

    #[test]
    fn rfc7911_one_sided_open_is_taken_as_negotiated() {
        let mut s = Session::default();
        s.set_open(
            0,
            open(
                65001,
                vec![
                    Capability::Multiprotocol {
                        family: Family::VPNV4,
                    },
                    Capability::FourOctetAs { asn: 65001 },
                    Capability::AddPath {
                        families: vec![AddPathFamily {
                            family: Family::VPNV4,
                            mode: AddPathMode::Send,
                        }],
                    },
                ],
            ),
        );
        let sent = s.context(0);
        assert!(sent.four_octet_as);
        assert_eq!(sent.add_path, BTreeSet::from([Family::VPNV4]));
        assert_eq!(sent.families, BTreeSet::from([Family::VPNV4]));
        // What the other side sends: side 0 only said "send", so it receives no path ids.
        assert!(s.context(1).add_path.is_empty());
    }

    #[test]
    fn no_open_seen_allows_every_known_family() {
        let ctx = Session::default().context(0);
        assert!(ctx.families.contains(&Family::EVPN));
        assert!(ctx.four_octet_as);
    }
}
