//! From a captured frame to a TCP segment: the link header (Ethernet, Linux cooked v1/v2, raw
//! IP, BSD null/loop), then IPv4 or IPv6 and TCP, parsed by `etherparse`.

use super::capture::{LinkType, Packet};
use super::record::Timestamp;
use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};
use std::net::{IpAddr, SocketAddr};

/// What the reassembler needs of one TCP segment (RFC 9293 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// When it was captured.
    pub timestamp: Timestamp,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first octet (of the SYN when `syn`).
    pub seq: u32,
    /// SYN flag: the sequence number is the initial one, data starts at `seq + 1`.
    pub syn: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The segment's data.
    pub payload: &'a [u8],
}

/// Length of a Linux cooked v2 header (SLL2): protocol type comes first.
const SLL2_HEADER_LEN: usize = 20;

fn slice_by_family(family: u32, data: &[u8]) -> Option<SlicedPacket<'_>> {
    // BSD AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the system.
    match family {
        2 | 24 | 28 | 30 => SlicedPacket::from_ip(data).ok(),
        _ => None,
    }
}

/// The TCP segment a frame carries, or `None` for anything else (not IP, not TCP, a fragment,
/// a frame cut short by the snap length, a link type we do not read).
pub fn tcp_segment<'a>(packet: &Packet<'a>) -> Option<TcpSegment<'a>> {
    if packet.truncated {
        return None;
    }
    let data = packet.data;
    let sliced = match packet.link_type {
        LinkType::Ethernet => SlicedPacket::from_ethernet(data).ok()?,
        LinkType::LinuxSll => SlicedPacket::from_linux_sll(data).ok()?,
        LinkType::LinuxSll2 => {
            let (header, rest) = data.split_at_checked(SLL2_HEADER_LEN)?;
            let ether_type = u16::from_be_bytes([*header.first()?, *header.get(1)?]);
            SlicedPacket::from_ether_type(EtherType(ether_type), rest).ok()?
        }
        LinkType::RawIp => SlicedPacket::from_ip(data).ok()?,
        LinkType::Null => {
            let (family, rest) = data.split_first_chunk::<4>()?;
            // Host byte order of the capturing machine: accept either.
            let le = u32::from_le_bytes(*family);
            let be = u32::from_be_bytes(*family);
            slice_by_family(le, rest).or_else(|| slice_by_family(be, rest))?
        }
        LinkType::Loop => {
            let (family, rest) = data.split_first_chunk::<4>()?;
            slice_by_family(u32::from_be_bytes(*family), rest)?
        }
        LinkType::Other(_) => return None,
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match sliced.net? {
        NetSlice::Ipv4(ip) => {
            if ip.is_payload_fragmented() {
                return None;
            }
            (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            )
        }
        NetSlice::Ipv6(ip) => {
            if ip.is_payload_fragmented() {
                return None;
            }
            (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
            )
        }
        NetSlice::Arp(_) => return None,
    };
    let TransportSlice::Tcp(tcp) = sliced.transport? else {
        return None;
    };
    Some(TcpSegment {
        timestamp: packet.timestamp,
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
    })
}
