//! MAC addresses in every EUI-48 text form BaGPipe-BGP accepts: it validates `mac_address`
//! with Python netaddr's `EUI()` (reference §3.2 "any netaddr EUI format"), whose forms are,
//! hex digits in either case:
//!
//! | form | example |
//! |---|---|
//! | 6 groups of 1-2 digits, `:` or `-` | `fa:16:3e:1:22:33`, `FA-16-3E-11-22-33` |
//! | 3 groups of 1-4 digits, `:`, `-` or `.` (Cisco) | `fa16.3e11.2233` |
//! | 2 groups of 5-6 digits, `:` or `-` (PostgreSQL) | `fa163e:112233` |
//! | 11 or 12 digits, bare | `fa163e112233` |
//!
//! netaddr also accepts EUI-64 text and integers; a MAC is 48 bits, so those are refused here.

use crate::wire::MacAddress;

/// The MAC address `s` denotes, or `None`.
pub(crate) fn parse_mac(s: &str) -> Option<MacAddress> {
    let hex = |g: &str, min: usize, max: usize| -> Option<u64> {
        if g.len() < min || g.len() > max || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(g, 16).ok()
    };
    let groups = |sep: char, count: usize, min: usize, max: usize| -> Option<u64> {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != count {
            return None;
        }
        let bits = 48 / count;
        parts
            .iter()
            .try_fold(0u64, |acc, g| hex(g, min, max).map(|v| (acc << bits) | v))
    };
    let value = groups(':', 6, 1, 2)
        .or_else(|| groups('-', 6, 1, 2))
        .or_else(|| groups(':', 3, 1, 4))
        .or_else(|| groups('-', 3, 1, 4))
        .or_else(|| groups('.', 3, 1, 4))
        .or_else(|| groups('-', 2, 5, 6))
        .or_else(|| groups(':', 2, 5, 6))
        .or_else(|| hex(s, 11, 12))?;
    let b = value.to_be_bytes();
    Some(MacAddress([b[2], b[3], b[4], b[5], b[6], b[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netaddr_eui48_forms() {
        let want = MacAddress([0xfa, 0x16, 0x3e, 0x01, 0x22, 0x33]);
        for text in [
            "fa:16:3e:01:22:33",
            "fa:16:3e:1:22:33",
            "FA-16-3E-01-22-33",
            "fa16:3e01:2233",
            "fa16-3e01-2233",
            "fa16.3e01.2233",
            "fa163e:012233",
            "fa163e-012233",
            "fa163e012233",
        ] {
            assert_eq!(parse_mac(text), Some(want), "{text}");
        }
        assert_eq!(
            parse_mac("a163e012233"),
            Some(MacAddress([0x0a, 0x16, 0x3e, 0x01, 0x22, 0x33]))
        );
        for bad in [
            "",
            "fa:16:3e:01:22",
            "fa:16:3e:01:22:33:44",
            "fa:16-3e:01:22:33",
            "fa:16:3e:01:22:3g",
            "fa:16:3e:01:22:333",
            "fa163e0122334",
            "fa:16:3e:01:22:33:44:55",
            " fa:16:3e:01:22:33",
            "+a:16:3e:01:22:33",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad:?}");
        }
    }
}
