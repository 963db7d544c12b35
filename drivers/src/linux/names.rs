//! Device names, as BaGPipe-BGP's `linux_vxlan` driver chose them (reference §6.3), so that
//! `bagpipe-bgp-cleanup` and this driver's `cleanup_all` find each other's devices.

use bagpipe_core::dataplane::DriverError;

/// Prefix of the bridges the driver creates: `evpn---<external id>`.
pub const BRIDGE_PREFIX: &str = "evpn---";
/// Prefix of the VXLAN devices the driver creates: `vxlan--<external id>`.
pub const VXLAN_PREFIX: &str = "vxlan--";
/// The longest interface name (IFNAMSIZ - 1).
pub const MAX_NAME: usize = 15;

/// `prefix` + `external_id`, truncated to 15 octets at a character boundary.
pub fn device_name(prefix: &str, external_id: &str) -> String {
    let mut name = String::with_capacity(MAX_NAME);
    name.push_str(prefix);
    for c in external_id.chars() {
        if name.len() + c.len_utf8() > MAX_NAME {
            break;
        }
        name.push(c);
    }
    name
}

/// Whether the driver (or BaGPipe-BGP) created a device of that name.
pub fn is_ours(name: &str) -> bool {
    name.starts_with(BRIDGE_PREFIX) || name.starts_with(VXLAN_PREFIX)
}

/// Checks a name the kernel would accept (`dev_valid_name`): 1 to 15 octets, not `.` or `..`,
/// no `/`, `:` or white space.
pub fn validate(name: &str, what: &str) -> Result<(), DriverError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_NAME {
        Some("longer than 15 octets")
    } else if name == "." || name == ".." {
        Some("not a device name")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("contains '/', ':' or white space")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(DriverError::InvalidArgument {
            what: format!("{what} {name:?}"),
            reason: reason.to_string(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_truncated_like_bagpipe() {
        assert_eq!(
            device_name(BRIDGE_PREFIX, "3f1c6b2a-aaaa-bbbb"),
            "evpn---3f1c6b2a"
        );
        assert_eq!(device_name(VXLAN_PREFIX, "net1"), "vxlan--net1");
        assert_eq!(device_name(VXLAN_PREFIX, "réseau-bleu"), "vxlan--réseau-");
        assert!(device_name(VXLAN_PREFIX, "réseau-bleu").len() <= MAX_NAME);
        assert!(validate("vxlan--a b", "vxlan device").is_err());
        assert!(validate("br-ex", "bridge").is_ok());
        assert!(validate("", "bridge").is_err());
        assert!(is_ours("evpn---x") && is_ours("vxlan--x") && !is_ours("br-int"));
    }
}
