//! `bagpipe-rest-attach --port netns[:<if>]`: a network namespace plugged into the VPN through a
//! veth pair, built with `ip` as BaGPipe-BGP's tool does (reference §4.3). This is an operator
//! helper run by hand; the daemon and its drivers never run commands.
//!
//! ```text
//! host: <if2netns> (ns-<netns>, MTU 9000)  <== veth ==>  netns: <if2vpn> (tovpn, MTU 1420)
//!                                                         [or ns2vpn-raw + VLAN <if2vpn>]
//!                                                         address <ip>, default via <gateway>
//! ```

use std::process::Command;

/// Interface name inside the namespace, by default.
pub const NS2VPN_DEFAULT_IFNAME: &str = "tovpn";
/// The veth end in the namespace when a VLAN subinterface is made on it.
pub const NS2VPN_RAW_IFNAME: &str = "ns2vpn-raw";
/// MTU of the host side, high enough for an OVS bridge's kernel interface.
pub const HOST_SIDE_MTU: u32 = 9000;
/// MTU of the namespace side, leaving room for encapsulation.
pub const NETNS_SIDE_MTU: u32 = 1420;

/// Runs commands, or only prints them (`--dry-run`).
#[derive(Debug, Clone, Copy)]
pub struct Runner {
    /// Print `would run: …` on standard error instead of running.
    pub dry_run: bool,
}

impl Runner {
    /// Runs `argv`. A failure is an error when `check`, else ignored (BaGPipe-BGP's
    /// `raise_on_error=False` steps: deleting what may not exist, adding what may exist).
    /// Returns standard output (empty in a dry run).
    pub fn run(&self, argv: &[&str], check: bool) -> Result<String, String> {
        let line = argv.join(" ");
        if self.dry_run {
            eprintln!("would run: {line}");
            return Ok(String::new());
        }
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "empty command".to_string())?;
        match Command::new(program).args(args).output() {
            Ok(output) if output.status.success() => {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
            Ok(output) if check => Err(format!(
                "{line}: {} ({})",
                String::from_utf8_lossy(&output.stderr).trim(),
                output.status
            )),
            Err(error) if check => Err(format!("{line}: {error}")),
            Ok(_) | Err(_) => Ok(String::new()),
        }
    }
}

/// What to build for `--port netns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsPort {
    /// The namespace (`--netns`, default the VPN instance id).
    pub netns: String,
    /// Host side of the veth pair (`netns:<if>`, default `ns-<netns>` capped at 15 characters).
    pub if2netns: String,
    /// Interface in the namespace (`--if2vpn`, default `tovpn`).
    pub if2vpn: String,
    /// VLAN subinterface to make in the namespace (`--ovs-vlan`).
    pub vlan: Option<u16>,
    /// MAC to set on `if2vpn` (`--mac`).
    pub mac: Option<String>,
    /// `addr/len` to give `if2vpn`.
    pub ip: String,
    /// Default route's gateway.
    pub gateway: String,
}

impl NetnsPort {
    /// Creates the namespace, the veth pair (re-created if it exists), the optional VLAN
    /// subinterface, the address and the default route.
    pub fn create(&self, runner: &Runner) -> Result<(), String> {
        let ns = self.netns.as_str();
        let vpn_if = self.if2vpn.as_str();
        runner.run(&["ip", "netns", "add", ns], false)?;
        match self.vlan {
            Some(vlan) => {
                self.create_veth_pair(runner, NS2VPN_RAW_IFNAME)?;
                let vlan = vlan.to_string();
                let raw = NS2VPN_RAW_IFNAME;
                #[rustfmt::skip]
                runner.run(&["ip", "netns", "exec", ns, "ip", "link", "add", "link", raw, "name", vpn_if, "type", "vlan", "id", &vlan], true)?;
                runner.run(
                    &["ip", "netns", "exec", ns, "ip", "link", "set", vpn_if, "up"],
                    true,
                )?;
            }
            None => self.create_veth_pair(runner, vpn_if)?,
        }
        if let Some(mac) = &self.mac {
            #[rustfmt::skip]
            runner.run(&["ip", "netns", "exec", ns, "ip", "link", "set", vpn_if, "address", mac], true)?;
        }
        #[rustfmt::skip]
        runner.run(&["ip", "netns", "exec", ns, "ip", "addr", "add", &self.ip, "dev", vpn_if], false)?;
        #[rustfmt::skip]
        runner.run(&["ip", "netns", "exec", ns, "ip", "route", "add", "default", "dev", vpn_if, "via", &self.gateway], false)?;
        let mtu = NETNS_SIDE_MTU.to_string();
        #[rustfmt::skip]
        runner.run(&["ip", "netns", "exec", ns, "ip", "link", "set", vpn_if, "mtu", &mtu], false)?;
        Ok(())
    }

    fn create_veth_pair(&self, runner: &Runner, ns_if: &str) -> Result<(), String> {
        let ns = self.netns.as_str();
        let host_if = self.if2netns.as_str();
        runner.run(
            &["ip", "netns", "exec", ns, "ip", "link", "delete", ns_if],
            false,
        )?;
        // An interface once attached to OVS is taken back by OVS when re-created.
        runner.run(&["ovs-vsctl", "del-port", host_if], false)?;
        runner.run(&["ip", "link", "delete", host_if], false)?;
        #[rustfmt::skip]
        runner.run(&["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns, "mtu", "65535"], false)?;
        runner.run(&["ip", "link", "set", "dev", host_if, "up"], true)?;
        let mtu = HOST_SIDE_MTU.to_string();
        runner.run(&["ip", "link", "set", "dev", host_if, "mtu", &mtu], true)?;
        #[rustfmt::skip]
        runner.run(&["ip", "netns", "exec", ns, "ip", "link", "set", "dev", ns_if, "up"], true)?;
        Ok(())
    }
}

/// The MAC address of `ifname` in `netns` (from `ip -o link show`).
pub fn device_mac(runner: &Runner, netns: &str, ifname: &str) -> Result<String, String> {
    #[rustfmt::skip]
    let out = runner.run(&["ip", "netns", "exec", netns, "ip", "-o", "link", "show", "dev", ifname], true)?;
    parse_link_mac(&out).ok_or_else(|| format!("no MAC address for {ifname} in netns {netns}"))
}

/// The `link/ether <mac>` of an `ip link show` line.
pub fn parse_link_mac(output: &str) -> Option<String> {
    let mut words = output.split_whitespace();
    while let Some(word) = words.next() {
        if word == "link/ether" {
            return words.next().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_from_ip_link_show() {
        let out = "7: tovpn@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1420 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:aa:bb:cc brd ff:ff:ff:ff:ff:ff link-netnsid 0";
        assert_eq!(parse_link_mac(out).as_deref(), Some("52:54:00:aa:bb:cc"));
        assert_eq!(
            parse_link_mac("1: lo: <LOOPBACK> link/loopback 00:00"),
            None
        );
    }
}
