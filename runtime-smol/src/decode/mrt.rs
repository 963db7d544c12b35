//! Reading MRT files (RFC 6396): the BGP4MP and BGP4MP_ET records that carry BGP messages
//! (RFC 6396 §4.4, with the ADD-PATH subtypes of RFC 8050 §3). Other record types (table dumps,
//! state changes) carry no BGP message and are counted, not decoded.

use super::record::Timestamp;
use bagpipe_core::wire::Reader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the MRT common header (RFC 6396 §2).
pub const HEADER_LEN: usize = 12;
/// MRT type BGP4MP (RFC 6396 §4.4).
pub const TYPE_BGP4MP: u16 = 16;
/// MRT type BGP4MP_ET: BGP4MP with a microsecond timestamp field (RFC 6396 §3).
pub const TYPE_BGP4MP_ET: u16 = 17;
/// The MRT types RFC 6396 defines that are still in use (§4): OSPFv2, TABLE_DUMP,
/// TABLE_DUMP_V2, BGP4MP, BGP4MP_ET, ISIS, ISIS_ET, OSPFv3, OSPFv3_ET.
const KNOWN_TYPES: [u16; 9] = [11, 12, 13, 16, 17, 32, 33, 48, 49];

/// A BGP message of a BGP4MP record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtMessage<'a> {
    /// When it was recorded (microseconds only for BGP4MP_ET).
    pub timestamp: Timestamp,
    /// The BGP4MP subtype (RFC 6396 §4.4, RFC 8050 §3).
    pub subtype: u16,
    /// The peer's AS.
    pub peer_as: u32,
    /// The recording speaker's AS.
    pub local_as: u32,
    /// The peer's address.
    pub peer_ip: IpAddr,
    /// The recording speaker's address.
    pub local_ip: IpAddr,
    /// The AS numbers of the record, and the AS_PATH of the message, are 4 octets
    /// (`*_AS4` subtypes, RFC 6396 §4.4.3).
    pub as4: bool,
    /// The message was sent by the recording speaker, not received (`*_LOCAL`, RFC 6396 §4.4.6).
    pub local: bool,
    /// NLRI carry path identifiers (`*_ADDPATH`, RFC 8050 §3).
    pub add_path: bool,
    /// The whole BGP message, header included.
    pub message: &'a [u8],
}

/// One MRT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrtRecord<'a> {
    /// A BGP4MP record carrying a BGP message.
    Message(MrtMessage<'a>),
    /// Any other record (type and subtype), skipped.
    Skipped {
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
    },
    /// A BGP4MP message record whose fields do not parse; the file goes on after it.
    Malformed {
        /// Offset of the record in the file.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Why an MRT file could not be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrtError {
    /// The file ends inside a record.
    Truncated {
        /// Offset of the unfinished record.
        offset: usize,
    },
}

impl std::fmt::Display for MrtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MrtError::Truncated { offset } => {
                write!(f, "MRT file cut short in the record at offset {offset}")
            }
        }
    }
}

impl std::error::Error for MrtError {}

/// Whether `bytes` start like an MRT file: a known type and a length that fits the file.
pub fn looks_like_mrt(bytes: &[u8]) -> bool {
    let mut r = Reader::new(bytes);
    let (Ok(_), Ok(mrt_type), Ok(_), Ok(len)) = (r.u32(), r.u16(), r.u16(), r.u32()) else {
        return false;
    };
    KNOWN_TYPES.contains(&mrt_type) && usize::try_from(len).is_ok_and(|l| l <= r.remaining())
}

/// Reads every record of an MRT file in order. On an error, the records before it were given to
/// `each`.
pub fn read_mrt<'a>(file: &'a [u8], mut each: impl FnMut(MrtRecord<'a>)) -> Result<(), MrtError> {
    let mut r = Reader::new(file);
    while !r.is_empty() {
        let offset = file.len() - r.remaining();
        let truncated = |_| MrtError::Truncated { offset };
        let seconds = r.u32().map_err(truncated)?;
        let mrt_type = r.u16().map_err(truncated)?;
        let subtype = r.u16().map_err(truncated)?;
        let len = r.u32().map_err(truncated)?;
        let body = r
            .take(usize::try_from(len).unwrap_or(usize::MAX))
            .map_err(truncated)?;
        let record = match (mrt_type, subtype) {
            (TYPE_BGP4MP | TYPE_BGP4MP_ET, 1 | 4 | 6..=11) => {
                match parse_message(seconds, mrt_type == TYPE_BGP4MP_ET, subtype, body) {
                    Ok(m) => MrtRecord::Message(m),
                    Err(reason) => MrtRecord::Malformed { offset, reason },
                }
            }
            _ => MrtRecord::Skipped { mrt_type, subtype },
        };
        each(record);
    }
    Ok(())
}

/// The fields of a BGP4MP_MESSAGE* record (RFC 6396 §4.4.2, §4.4.3; RFC 8050 §3).
fn parse_message(
    seconds: u32,
    extended_time: bool,
    subtype: u16,
    body: &[u8],
) -> Result<MrtMessage<'_>, String> {
    let as4 = matches!(subtype, 4 | 7 | 9 | 11);
    let local = matches!(subtype, 6 | 7 | 10 | 11);
    let add_path = matches!(subtype, 8..=11);
    let mut r = Reader::new(body);
    let short = |e: bagpipe_core::wire::Truncated| format!("BGP4MP record {e}");
    let micros = if extended_time {
        r.u32().map_err(short)?
    } else {
        0
    };
    let (peer_as, local_as) = if as4 {
        (r.u32().map_err(short)?, r.u32().map_err(short)?)
    } else {
        (
            u32::from(r.u16().map_err(short)?),
            u32::from(r.u16().map_err(short)?),
        )
    };
    let _interface_index = r.u16().map_err(short)?;
    let afi = r.u16().map_err(short)?;
    let (peer_ip, local_ip): (IpAddr, IpAddr) = match afi {
        1 => (
            Ipv4Addr::from(r.array::<4>().map_err(short)?).into(),
            Ipv4Addr::from(r.array::<4>().map_err(short)?).into(),
        ),
        2 => (
            Ipv6Addr::from(r.array::<16>().map_err(short)?).into(),
            Ipv6Addr::from(r.array::<16>().map_err(short)?).into(),
        ),
        other => return Err(format!("BGP4MP record with unknown address family {other}")),
    };
    Ok(MrtMessage {
        timestamp: Timestamp::new(u64::from(seconds), u64::from(micros).saturating_mul(1000)),
        subtype,
        peer_as,
        local_as,
        peer_ip,
        local_ip,
        as4,
        local,
        add_path,
        message: r.take_rest(),
    })
}
