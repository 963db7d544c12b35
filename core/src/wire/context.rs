//! What a decoder must know about the session a message came on.

use super::family::Family;
use std::collections::BTreeSet;

/// The negotiated state of a session that changes how its messages are decoded and encoded
/// (RFC 6793 4-octet AS, RFC 7911 add-path, RFC 8654 extended message, RFC 4760 families).
///
/// A default context is the one in force before OPENs are exchanged: 2-octet AS, no add-path,
/// 4096-octet messages, only IPv4 unicast, iBGP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecodeContext {
    /// Both sides announced the 4-octet AS capability (RFC 6793): AS_PATH carries 4-octet ASNs.
    pub four_octet_as: bool,
    /// Families for which path identifiers are present in NLRI (RFC 7911 §3).
    pub add_path: BTreeSet<Family>,
    /// Both sides announced extended messages (RFC 8654): up to 65535 octets.
    pub extended_message: bool,
    /// The families negotiated with multiprotocol capabilities (RFC 4760 §8).
    pub families: BTreeSet<Family>,
    /// The peer is in our AS: RFC 7606 §7 treats some attribute errors differently for iBGP.
    pub ibgp: bool,
}

impl Default for DecodeContext {
    fn default() -> Self {
        DecodeContext {
            four_octet_as: false,
            add_path: BTreeSet::new(),
            extended_message: false,
            families: BTreeSet::from([Family::IPV4_UNICAST]),
            ibgp: true,
        }
    }
}

impl DecodeContext {
    /// The largest message the session accepts (RFC 4271 §4.1, RFC 8654 §4).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            65535
        } else {
            4096
        }
    }

    /// Whether NLRI of `family` carry a path identifier.
    pub fn has_add_path(&self, family: Family) -> bool {
        self.add_path.contains(&family)
    }
}
