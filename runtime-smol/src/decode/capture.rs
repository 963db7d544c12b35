//! Reading packet captures: the classic pcap format (both byte orders, microsecond and nanosecond
//! timestamps) and pcapng (draft-ietf-opsawg-pcapng), into packets with their link type and time.
//!
//! The block parsing is done by `pcap-parser` (rusticata: zero-copy over a slice, fuzzed); this
//! module keeps the per-section interface table pcapng needs (link type and timestamp resolution
//! of each interface) and turns timestamps into [`Timestamp`]s without overflow.

use super::record::Timestamp;
use pcap_parser::pcapng::{Block, EnhancedPacketBlock};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{nom, PcapError};

/// Link-layer header types we decode (tcpdump.org LINKTYPE_ values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// 0: BSD loopback / null: a 4-octet address family in host byte order.
    Null,
    /// 1: Ethernet II (with 802.1Q tags).
    Ethernet,
    /// 12, 14 and 101: raw IPv4 or IPv6, no link header.
    RawIp,
    /// 108: OpenBSD loopback: a 4-octet address family in network byte order.
    Loop,
    /// 113: Linux cooked capture v1 (`tcpdump -i any`).
    LinuxSll,
    /// 276: Linux cooked capture v2.
    LinuxSll2,
    /// Anything else: packets are skipped.
    Other(u32),
}

impl LinkType {
    /// The link type for its LINKTYPE_ value.
    pub fn from_value(v: u32) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// When it was captured.
    pub timestamp: Timestamp,
    /// How to read `data`.
    pub link_type: LinkType,
    /// The captured octets (possibly fewer than were on the wire, see `truncated`).
    pub data: &'a [u8],
    /// The capture kept fewer octets than the frame had (snap length).
    pub truncated: bool,
}

/// Why a capture could not be read (further).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// The file header is not one of a pcap or pcapng file.
    BadHeader,
    /// The file ends inside a record: `offset` is where the unfinished record starts.
    Truncated {
        /// Offset in the file of the incomplete record.
        offset: usize,
    },
    /// A record that does not parse, at `offset`.
    Malformed {
        /// Offset in the file of the bad record.
        offset: usize,
    },
    /// A pcapng packet names an interface no Interface Description Block declared.
    UnknownInterface {
        /// Offset in the file of the packet block.
        offset: usize,
        /// The interface id it names.
        interface: u32,
    },
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureError::BadHeader => f.write_str("not a pcap or pcapng file header"),
            CaptureError::Truncated { offset } => {
                write!(f, "capture cut short in a record at offset {offset}")
            }
            CaptureError::Malformed { offset } => {
                write!(f, "malformed capture record at offset {offset}")
            }
            CaptureError::UnknownInterface { offset, interface } => write!(
                f,
                "packet block at offset {offset} names undeclared interface {interface}"
            ),
        }
    }
}

impl std::error::Error for CaptureError {}

fn record_error<I>(e: nom::Err<PcapError<I>>, offset: usize) -> CaptureError {
    match e {
        nom::Err::Incomplete(_) => CaptureError::Truncated { offset },
        nom::Err::Error(PcapError::Incomplete(_) | PcapError::UnexpectedEof)
        | nom::Err::Failure(PcapError::Incomplete(_) | PcapError::UnexpectedEof) => {
            CaptureError::Truncated { offset }
        }
        _ => CaptureError::Malformed { offset },
    }
}

/// Reads every packet of a classic pcap file, in file order. On an error, the packets read before
/// it are still given to `each`.
pub fn read_pcap<'a>(file: &'a [u8], mut each: impl FnMut(Packet<'a>)) -> Result<(), CaptureError> {
    let (mut rest, header) =
        pcap_parser::parse_pcap_header(file).map_err(|_| CaptureError::BadHeader)?;
    let link_type = LinkType::from_value(u32::try_from(header.network.0).unwrap_or(u32::MAX));
    let nanos = header.is_nanosecond_precision();
    let big_endian = header.is_bigendian();
    while !rest.is_empty() {
        let offset = file.len() - rest.len();
        let parsed = if big_endian {
            pcap_parser::parse_pcap_frame_be(rest)
        } else {
            pcap_parser::parse_pcap_frame(rest)
        };
        let (next, frame) = parsed.map_err(|e| record_error(e, offset))?;
        let frac_nanos = if nanos {
            frame.ts_usec
        } else {
            frame.ts_usec.saturating_mul(1000)
        };
        each(Packet {
            timestamp: Timestamp::new(u64::from(frame.ts_sec), u64::from(frac_nanos)),
            link_type,
            data: frame.data,
            truncated: frame.caplen < frame.origlen,
        });
        rest = next;
    }
    Ok(())
}

/// An interface of the current pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second (if_tsresol), `None` when the option is invalid.
    units_per_second: Option<u64>,
    /// Seconds added to every timestamp (if_tsoffset).
    offset_seconds: i64,
}

impl Interface {
    fn timestamp(&self, epb: &EnhancedPacketBlock<'_>) -> Timestamp {
        let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
        let per_second = self.units_per_second.unwrap_or(1_000_000).max(1);
        let secs = (units / per_second).saturating_add_signed(self.offset_seconds);
        let frac = units % per_second;
        // frac < per_second, so frac * 1e9 fits in u128 and the quotient is below 1e9.
        let nanos = u128::from(frac) * 1_000_000_000 / u128::from(per_second);
        Timestamp::new(secs, u64::try_from(nanos).unwrap_or(0))
    }
}

/// Reads every packet of a pcapng file, in file order, across sections. On an error, the packets
/// read before it are still given to `each`.
pub fn read_pcapng<'a>(
    file: &'a [u8],
    mut each: impl FnMut(Packet<'a>),
) -> Result<(), CaptureError> {
    let (mut rest, shb) =
        pcap_parser::pcapng::parse_sectionheaderblock(file).map_err(|_| CaptureError::BadHeader)?;
    let mut big_endian = shb.big_endian();
    let mut interfaces: Vec<Interface> = Vec::new();
    while !rest.is_empty() {
        let offset = file.len() - rest.len();
        // A new section may change the byte order: its header block is recognised in either.
        let parsed = if rest.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
            pcap_parser::pcapng::parse_sectionheaderblock(rest)
                .map(|(r, b)| (r, Block::SectionHeader(b)))
        } else if big_endian {
            pcap_parser::pcapng::parse_block_be(rest)
        } else {
            pcap_parser::pcapng::parse_block_le(rest)
        };
        let (next, block) = parsed.map_err(|e| record_error(e, offset))?;
        match block {
            Block::SectionHeader(shb) => {
                big_endian = shb.big_endian();
                interfaces.clear();
            }
            Block::InterfaceDescription(idb) => interfaces.push(Interface {
                link_type: LinkType::from_value(u32::try_from(idb.linktype.0).unwrap_or(u32::MAX)),
                units_per_second: idb.ts_resolution(),
                offset_seconds: idb.ts_offset(),
            }),
            Block::EnhancedPacket(epb) => {
                let interface = usize::try_from(epb.if_id)
                    .ok()
                    .and_then(|i| interfaces.get(i))
                    .ok_or(CaptureError::UnknownInterface {
                        offset,
                        interface: epb.if_id,
                    })?;
                each(Packet {
                    timestamp: interface.timestamp(&epb),
                    link_type: interface.link_type,
                    data: epb
                        .data
                        .get(..usize::try_from(epb.caplen).unwrap_or(usize::MAX))
                        .unwrap_or(epb.data),
                    truncated: epb.truncated(),
                });
            }
            Block::SimplePacket(spb) => {
                // A simple packet block belongs to interface 0 and has no timestamp.
                let interface = interfaces.first().ok_or(CaptureError::UnknownInterface {
                    offset,
                    interface: 0,
                })?;
                each(Packet {
                    timestamp: Timestamp::new(0, 0),
                    link_type: interface.link_type,
                    // The data is padded to 32 bits: the original length says how much is packet.
                    data: spb
                        .data
                        .get(..usize::try_from(spb.origlen).unwrap_or(usize::MAX))
                        .unwrap_or(spb.data),
                    truncated: usize::try_from(spb.origlen).unwrap_or(usize::MAX) > spb.data.len(),
                });
            }
            _ => {}
        }
        rest = next;
    }
    Ok(())
}
