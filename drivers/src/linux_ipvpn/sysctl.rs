//! The kernel settings the IP-VPN dataplane needs, written under `/proc/sys` of the driver's
//! network namespace (reference §6.5 `initialize` and `vif_plugged`). These are files, not
//! netlink: the driver writes them itself and never runs `sysctl`.

use bagpipe_core::dataplane::DriverError;

/// The largest MPLS label plus one (`net.mpls.platform_labels`): every 20-bit label usable.
pub const PLATFORM_LABELS: u32 = (1 << 20) - 1;

/// One setting: a path under `/proc/sys` (`net/ipv4/ip_forward`) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The path under `/proc/sys`.
    pub path: String,
    /// The value written.
    pub value: String,
}

impl Setting {
    fn new(path: String, value: impl ToString) -> Self {
        Setting {
            path,
            value: value.to_string(),
        }
    }

    /// Writes the setting.
    pub fn apply(&self) -> Result<(), DriverError> {
        let path = format!("/proc/sys/{}", self.path);
        std::fs::write(&path, &self.value).map_err(|e| DriverError::Io {
            context: format!("write {} to {path}", self.value),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{e} (a kernel without MPLS routing, or an interface that is gone?)")
            } else {
                e.to_string()
            },
        })
    }
}

/// What the dataplane needs before its first VRF: MPLS labels, MPLS input on the MPLS
/// interface (when configured) and on `lo`, IPv4 forwarding.
pub fn initial(mpls_interface: Option<&str>) -> Vec<Setting> {
    let mut out = vec![Setting::new(
        "net/mpls/platform_labels".to_string(),
        PLATFORM_LABELS,
    )];
    if let Some(interface) = mpls_interface {
        out.push(Setting::new(format!("net/mpls/conf/{interface}/input"), 1));
    }
    out.push(Setting::new("net/mpls/conf/lo/input".to_string(), 1));
    out.push(Setting::new("net/ipv4/ip_forward".to_string(), 1));
    out
}

/// Proxy ARP on a plugged port (on) or an unplugged one (off): the port answers the VM's ARP
/// requests for addresses behind other ports or other PEs.
pub fn proxy_arp(interface: &str, on: bool) -> Vec<Setting> {
    let value = u8::from(on);
    vec![
        Setting::new(format!("net/ipv4/conf/{interface}/proxy_arp"), value),
        Setting::new(format!("net/ipv4/conf/{interface}/proxy_arp_pvlan"), value),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_bagpipes() {
        let paths: Vec<String> = initial(Some("eth1"))
            .into_iter()
            .map(|s| format!("{}={}", s.path, s.value))
            .collect();
        assert_eq!(
            paths,
            [
                "net/mpls/platform_labels=1048575",
                "net/mpls/conf/eth1/input=1",
                "net/mpls/conf/lo/input=1",
                "net/ipv4/ip_forward=1"
            ]
        );
        assert_eq!(
            proxy_arp("tap1", false)[1].path,
            "net/ipv4/conf/tap1/proxy_arp_pvlan"
        );
        assert_eq!(proxy_arp("tap1", true)[0].value, "1");
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let err = Setting::new("net/no-such-setting".to_string(), 1)
            .apply()
            .expect_err("missing");
        assert!(
            err.to_string().contains("/proc/sys/net/no-such-setting"),
            "{err}"
        );
    }
}
