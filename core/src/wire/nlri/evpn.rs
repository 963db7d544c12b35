//! E-VPN NLRI (RFC 7432 §7, RFC 9136 §3): a route type, a length, and the route.

use super::prefix::{IpPrefix, Ipv4Prefix, Ipv6Prefix};
use super::NlriErrorKind;
use crate::wire::label::LabelStackEntry;
use crate::wire::mac::MacAddress;
use crate::wire::rd::RouteDistinguisher;
use crate::wire::reader::Reader;
use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An Ethernet Segment Identifier (RFC 7432 §5): a type octet and nine value octets. All zero
/// means a single-homed site, which is what BaGPipe-BGP always sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Esi(pub [u8; 10]);

impl Esi {
    /// The zero ESI (single-homed).
    pub const ZERO: Esi = Esi([0; 10]);
}

impl fmt::Display for Esi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Esi {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An E-VPN route (RFC 7432 §7.1 to §7.4, RFC 9136 §3.1); other route types kept raw.
///
/// Label fields are [`LabelStackEntry`] values: read as an MPLS label, or as a 24-bit VNI for
/// VXLAN (RFC 8365 §5.1.3). They are not part of the route's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(tag = "route_type", rename_all = "snake_case")]
pub enum EvpnRoute {
    /// Type 1, Ethernet Auto-Discovery (RFC 7432 §7.1).
    EthernetAutoDiscovery {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Ethernet segment.
        esi: Esi,
        /// Ethernet tag.
        ethernet_tag: u32,
        /// MPLS label (or VNI).
        label: LabelStackEntry,
    },
    /// Type 2, MAC/IP Advertisement (RFC 7432 §7.2).
    MacIpAdvertisement {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Ethernet segment.
        esi: Esi,
        /// Ethernet tag.
        ethernet_tag: u32,
        /// The MAC address.
        mac: MacAddress,
        /// The IP address bound to the MAC, if any.
        ip: Option<IpAddr>,
        /// MPLS label 1 (or VNI): the L2 label.
        label1: LabelStackEntry,
        /// MPLS label 2 (or L3 VNI), when present.
        label2: Option<LabelStackEntry>,
    },
    /// Type 3, Inclusive Multicast Ethernet Tag (RFC 7432 §7.3).
    InclusiveMulticast {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Ethernet tag.
        ethernet_tag: u32,
        /// The originating router's IP address.
        originator: IpAddr,
    },
    /// Type 4, Ethernet Segment (RFC 7432 §7.4).
    EthernetSegment {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Ethernet segment.
        esi: Esi,
        /// The originating router's IP address.
        originator: IpAddr,
    },
    /// Type 5, IP Prefix (RFC 9136 §3.1).
    IpPrefix {
        /// Route distinguisher.
        rd: RouteDistinguisher,
        /// Ethernet segment.
        esi: Esi,
        /// Ethernet tag.
        ethernet_tag: u32,
        /// The prefix.
        prefix: IpPrefix,
        /// Gateway IP address (overlay index), of the prefix's family.
        gateway: IpAddr,
        /// MPLS label (or VNI).
        label: LabelStackEntry,
    },
    /// Any other route type, kept as received (RFC 7432 §7: unknown types are ignored).
    Unknown {
        /// The route type.
        code: u8,
        /// The route's octets.
        value: Vec<u8>,
    },
}

fn read_ip(r: &mut Reader<'_>, bits: u8) -> Result<IpAddr, NlriErrorKind> {
    match bits {
        32 => Ok(IpAddr::V4(Ipv4Addr::from(
            r.array::<4>().map_err(NlriErrorKind::Truncated)?,
        ))),
        128 => Ok(IpAddr::V6(Ipv6Addr::from(
            r.array::<16>().map_err(NlriErrorKind::Truncated)?,
        ))),
        other => Err(NlriErrorKind::IpLength(other)),
    }
}

fn write_ip(ip: &IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

fn ip_bits(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn label(r: &mut Reader<'_>) -> Result<LabelStackEntry, NlriErrorKind> {
    Ok(LabelStackEntry::from_raw(
        r.u24().map_err(NlriErrorKind::Truncated)?,
    ))
}

impl EvpnRoute {
    /// The route type code.
    pub fn route_type(&self) -> u8 {
        match self {
            EvpnRoute::EthernetAutoDiscovery { .. } => 1,
            EvpnRoute::MacIpAdvertisement { .. } => 2,
            EvpnRoute::InclusiveMulticast { .. } => 3,
            EvpnRoute::EthernetSegment { .. } => 4,
            EvpnRoute::IpPrefix { .. } => 5,
            EvpnRoute::Unknown { code, .. } => *code,
        }
    }

    #[inline(always)]
    pub(super) fn decode(r: &mut Reader<'_>) -> Result<Self, NlriErrorKind> {
        let route_type = r.u8().map_err(NlriErrorKind::Truncated)?;
        let len = r.u8().map_err(NlriErrorKind::Truncated)?;
        let body = r.take(usize::from(len)).map_err(NlriErrorKind::Truncated)?;
        let bad_len = NlriErrorKind::EvpnLength { route_type, len };
        if route_type == 2 {
            // The route of most E-VPN UPDATEs, on its own path (see `decode_mac_ip`).
            return Self::decode_mac_ip(body, bad_len);
        }
        let mut b = Reader::new(body);
        // Inside the route, running short means the length octet was wrong for the type.
        let route = Self::decode_body(route_type, &mut b).map_err(|e| match e {
            NlriErrorKind::Truncated(_) => bad_len.clone(),
            other => other,
        })?;
        if !b.is_empty() {
            return Err(bad_len);
        }
        Ok(route)
    }

    /// Type 2, MAC/IP Advertisement (RFC 7432 §7.2), with the errors of [`Self::decode_body`]
    /// but the fields read at fixed offsets once the lengths are checked: RD (8), ESI (10),
    /// Ethernet tag (4), MAC length (1, must be 48), MAC (6), IP length (1: 0, 32 or 128), IP,
    /// label 1 (3), optional label 2 (3).
    #[inline(always)]
    fn decode_mac_ip(body: &[u8], bad_len: NlriErrorKind) -> Result<Self, NlriErrorKind> {
        if let Some(&mac_len) = body.get(22) {
            if mac_len != 48 {
                return Err(NlriErrorKind::MacLength(mac_len));
            }
        }
        let Some((head, rest)) = body.split_first_chunk::<30>() else {
            return Err(bad_len);
        };
        let [r0, r1, r2, r3, r4, r5, r6, r7, e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, t0, t1, t2, t3, _, m0, m1, m2, m3, m4, m5, ip_bits] =
            *head;
        let (ip, labels) = match ip_bits {
            0 => (None, rest),
            32 => match rest.split_first_chunk::<4>() {
                Some((a, labels)) => (Some(IpAddr::V4(Ipv4Addr::from(*a))), labels),
                None => return Err(bad_len),
            },
            128 => match rest.split_first_chunk::<16>() {
                Some((a, labels)) => (Some(IpAddr::V6(Ipv6Addr::from(*a))), labels),
                None => return Err(bad_len),
            },
            other => return Err(NlriErrorKind::IpLength(other)),
        };
        let entry =
            |a: u8, b: u8, c: u8| LabelStackEntry::from_raw(u32::from_be_bytes([0, a, b, c]));
        let (label1, label2) = match *labels {
            [a, b, c] => (entry(a, b, c), None),
            [a, b, c, d, e, f] => (entry(a, b, c), Some(entry(d, e, f))),
            _ => return Err(bad_len),
        };
        Ok(EvpnRoute::MacIpAdvertisement {
            rd: RouteDistinguisher::from_bytes([r0, r1, r2, r3, r4, r5, r6, r7]),
            esi: Esi([e0, e1, e2, e3, e4, e5, e6, e7, e8, e9]),
            ethernet_tag: u32::from_be_bytes([t0, t1, t2, t3]),
            mac: MacAddress([m0, m1, m2, m3, m4, m5]),
            ip,
            label1,
            label2,
        })
    }

    #[inline(always)]
    fn decode_body(route_type: u8, b: &mut Reader<'_>) -> Result<Self, NlriErrorKind> {
        let t = NlriErrorKind::Truncated;
        let rd = |b: &mut Reader<'_>| b.array().map(RouteDistinguisher::from_bytes).map_err(t);
        let esi = |b: &mut Reader<'_>| b.array().map(Esi).map_err(t);
        Ok(match route_type {
            1 => EvpnRoute::EthernetAutoDiscovery {
                rd: rd(b)?,
                esi: esi(b)?,
                ethernet_tag: b.u32().map_err(t)?,
                label: label(b)?,
            },
            2 => {
                let rd = rd(b)?;
                let esi = esi(b)?;
                let ethernet_tag = b.u32().map_err(t)?;
                let mac_len = b.u8().map_err(t)?;
                if mac_len != 48 {
                    return Err(NlriErrorKind::MacLength(mac_len));
                }
                let mac = MacAddress(b.array().map_err(t)?);
                let ip = match b.u8().map_err(t)? {
                    0 => None,
                    bits => Some(read_ip(b, bits)?),
                };
                let label1 = label(b)?;
                let label2 = if b.is_empty() { None } else { Some(label(b)?) };
                EvpnRoute::MacIpAdvertisement {
                    rd,
                    esi,
                    ethernet_tag,
                    mac,
                    ip,
                    label1,
                    label2,
                }
            }
            3 => {
                let rd = rd(b)?;
                let ethernet_tag = b.u32().map_err(t)?;
                let bits = b.u8().map_err(t)?;
                EvpnRoute::InclusiveMulticast {
                    rd,
                    ethernet_tag,
                    originator: read_ip(b, bits)?,
                }
            }
            4 => {
                let rd = rd(b)?;
                let esi = esi(b)?;
                let bits = b.u8().map_err(t)?;
                EvpnRoute::EthernetSegment {
                    rd,
                    esi,
                    originator: read_ip(b, bits)?,
                }
            }
            5 => {
                let v6 = match b.remaining() {
                    34 => false, // RFC 9136 §3.1: route length 34 for IPv4, 58 for IPv6
                    58 => true,
                    _ => {
                        return Err(NlriErrorKind::Truncated(crate::wire::reader::Truncated {
                            needed: 32,
                            available: b.remaining(),
                        }))
                    }
                };
                let rd = rd(b)?;
                let esi = esi(b)?;
                let ethernet_tag = b.u32().map_err(t)?;
                let plen = b.u8().map_err(t)?;
                let addr_bits = if v6 { 128 } else { 32 };
                if plen > addr_bits {
                    return Err(NlriErrorKind::PrefixLengthTooLong {
                        len: plen,
                        max: addr_bits,
                    });
                }
                let prefix_addr = read_ip(b, addr_bits)?;
                let gateway = read_ip(b, addr_bits)?;
                let prefix = match prefix_addr {
                    IpAddr::V4(a) => Ipv4Prefix::new(a, plen).map(IpPrefix::V4),
                    IpAddr::V6(a) => Ipv6Prefix::new(a, plen).map(IpPrefix::V6),
                }
                .ok_or(NlriErrorKind::PrefixLengthTooLong {
                    len: plen,
                    max: addr_bits,
                })?;
                EvpnRoute::IpPrefix {
                    rd,
                    esi,
                    ethernet_tag,
                    prefix,
                    gateway,
                    label: label(b)?,
                }
            }
            code => EvpnRoute::Unknown {
                code,
                value: b.take_rest().to_vec(),
            },
        })
    }

    fn body_len(&self) -> usize {
        match self {
            EvpnRoute::EthernetAutoDiscovery { .. } => 25,
            EvpnRoute::MacIpAdvertisement { ip, label2, .. } => {
                33 + ip.as_ref().map_or(0, |ip| usize::from(ip_bits(ip) / 8))
                    + if label2.is_some() { 3 } else { 0 }
            }
            EvpnRoute::InclusiveMulticast { originator, .. } => {
                13 + usize::from(ip_bits(originator) / 8)
            }
            EvpnRoute::EthernetSegment { originator, .. } => {
                19 + usize::from(ip_bits(originator) / 8)
            }
            EvpnRoute::IpPrefix { prefix, .. } => match prefix {
                IpPrefix::V4(_) => 34,
                IpPrefix::V6(_) => 58,
            },
            EvpnRoute::Unknown { value, .. } => value.len().min(255),
        }
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.route_type());
        out.push(u8::try_from(self.body_len()).unwrap_or(u8::MAX));
        match self {
            EvpnRoute::EthernetAutoDiscovery {
                rd,
                esi,
                ethernet_tag,
                label,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                out.extend_from_slice(&label.to_bytes());
            }
            EvpnRoute::MacIpAdvertisement {
                rd,
                esi,
                ethernet_tag,
                mac,
                ip,
                label1,
                label2,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                out.push(48);
                out.extend_from_slice(&mac.0);
                match ip {
                    None => out.push(0),
                    Some(ip) => {
                        out.push(ip_bits(ip));
                        write_ip(ip, out);
                    }
                }
                out.extend_from_slice(&label1.to_bytes());
                if let Some(l) = label2 {
                    out.extend_from_slice(&l.to_bytes());
                }
            }
            EvpnRoute::InclusiveMulticast {
                rd,
                ethernet_tag,
                originator,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                out.push(ip_bits(originator));
                write_ip(originator, out);
            }
            EvpnRoute::EthernetSegment {
                rd,
                esi,
                originator,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&esi.0);
                out.push(ip_bits(originator));
                write_ip(originator, out);
            }
            EvpnRoute::IpPrefix {
                rd,
                esi,
                ethernet_tag,
                prefix,
                gateway,
                label,
            } => {
                out.extend_from_slice(&rd.to_bytes());
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                out.push(prefix.len());
                write_ip(&prefix.addr(), out);
                // The gateway has the prefix's family (RFC 9136 §3.1); a mismatched one is sent
                // as zero rather than corrupting the length.
                match (prefix, gateway) {
                    (IpPrefix::V4(_), IpAddr::V4(g)) => out.extend_from_slice(&g.octets()),
                    (IpPrefix::V6(_), IpAddr::V6(g)) => out.extend_from_slice(&g.octets()),
                    (IpPrefix::V4(_), _) => out.extend_from_slice(&[0; 4]),
                    (IpPrefix::V6(_), _) => out.extend_from_slice(&[0; 16]),
                }
                out.extend_from_slice(&label.to_bytes());
            }
            EvpnRoute::Unknown { value, .. } => {
                out.extend_from_slice(&value[..value.len().min(255)])
            }
        }
    }

    pub(super) fn encoded_len(&self) -> usize {
        2 + self.body_len()
    }
}
