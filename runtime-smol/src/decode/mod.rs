//! `bagpipe-decode`: BGP messages out of a packet capture (pcap, pcapng), an MRT file
//! (RFC 6396 BGP4MP) or a raw stream of BGP messages, one [`Record`] per message.
//!
//! Layers, each in its own module:
//! - [`capture`]: pcap/pcapng files into timestamped frames;
//! - [`link`]: a frame into a TCP segment (Ethernet, Linux cooked v1/v2, raw IP, null/loop);
//! - [`reassembly`]: TCP segments of one direction into an ordered byte stream;
//! - [`stream`]: a byte stream into messages, resynchronizing after errors;
//! - [`session`]: the decode context of a stream from the OPENs seen in it;
//! - [`mrt`]: BGP4MP records;
//! - [`record`]: the output record and its JSON and text forms.
//!
//! [`decode_input`] ties them: it detects (or is told) the format and hands each record to a
//! sink as soon as it is decoded, in stream order.

pub mod capture;
pub mod link;
pub mod mrt;
pub mod reassembly;
pub mod record;
pub mod session;
pub mod stream;

use bagpipe_core::wire::message::{decode_message, Message, MessageType};
use bagpipe_core::wire::{BgpError, DecodeContext};
use capture::CaptureError;
use link::TcpSegment;
use mrt::{MrtError, MrtMessage, MrtRecord};
use reassembly::{Delivery, Reassembler};
use record::{Disposition, ErrorView, Record, Timestamp};
use serde_json::value::RawValue;
use serde_json::Value;
use session::Session;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use stream::{Cut, MessageCutter};

/// The kinds of input the tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Classic libpcap file, either byte order, micro- or nanosecond timestamps.
    Pcap,
    /// pcapng file.
    Pcapng,
    /// MRT file (RFC 6396), BGP4MP records.
    Mrt,
    /// BGP messages back to back, as sent on a TCP connection.
    Raw,
}

impl InputFormat {
    /// The name used by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Pcap => "pcap",
            InputFormat::Pcapng => "pcapng",
            InputFormat::Mrt => "mrt",
            InputFormat::Raw => "raw",
        }
    }
}

/// The format `bytes` start with, by magic number: pcap (`a1b2c3d4`, `a1b23c4d` in either byte
/// order), pcapng (`0a0d0d0a` section header), a BGP marker (raw), or an MRT common header with a
/// known type and a length that fits (MRT has no magic number).
pub fn detect_format(bytes: &[u8]) -> Option<InputFormat> {
    let magic = bytes.first_chunk::<4>()?;
    match magic {
        [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0x4d, 0x3c, 0xb2, 0xa1] => Some(InputFormat::Pcap),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(InputFormat::Pcapng),
        _ if bytes.get(..16) == Some(&bagpipe_core::wire::message::MARKER[..]) => {
            Some(InputFormat::Raw)
        }
        _ if mrt::looks_like_mrt(bytes) => Some(InputFormat::Mrt),
        _ => None,
    }
}

/// Why the input could not be decoded (further). Records decoded before the error have been
/// given to the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The input is empty.
    Empty,
    /// The input is none of the formats the tool reads.
    UnknownFormat,
    /// The capture file is unreadable from some point on.
    Capture(CaptureError),
    /// The MRT file is unreadable from some point on.
    Mrt(MrtError),
    /// The input was read to its end but held no whole BGP message (its records, if any,
    /// report skipped octets).
    NoMessage(InputFormat),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Empty => f.write_str("the input is empty"),
            InputError::UnknownFormat => f.write_str(
                "unrecognized input: not a pcap, pcapng or MRT file, nor a stream of BGP messages \
                 (use --format to force one)",
            ),
            InputError::Capture(e) => write!(f, "unreadable capture: {e}"),
            InputError::Mrt(e) => write!(f, "unreadable MRT file: {e}"),
            InputError::NoMessage(format) => {
                write!(f, "no BGP message found in the {} input", format.name())
            }
        }
    }
}

impl std::error::Error for InputError {}

/// Counts of what was decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records given to the sink.
    pub records: u64,
    /// Records of a whole BGP message (decoded or not); the others report skipped octets.
    pub messages: u64,
    /// Records that carry an error.
    pub errors: u64,
    /// MRT records that carry no BGP message and were skipped.
    pub skipped_mrt_records: u64,
}

/// Decodes `input` (of `format`, detected when `None`) and gives each record to `sink`.
pub fn decode_input(
    input: &[u8],
    format: Option<InputFormat>,
    sink: &mut dyn FnMut(&Record),
) -> Result<Summary, InputError> {
    if input.is_empty() {
        return Err(InputError::Empty);
    }
    let format = match format {
        Some(f) => f,
        None => detect_format(input).ok_or(InputError::UnknownFormat)?,
    };
    let mut decoder = Decoder::new(sink);
    let result = match format {
        InputFormat::Pcap => {
            capture::read_pcap(input, |p| decoder.packet(&p)).map_err(InputError::Capture)
        }
        InputFormat::Pcapng => {
            capture::read_pcapng(input, |p| decoder.packet(&p)).map_err(InputError::Capture)
        }
        InputFormat::Mrt => {
            mrt::read_mrt(input, |r| decoder.mrt_record(r)).map_err(InputError::Mrt)
        }
        InputFormat::Raw => {
            decoder.raw(input);
            Ok(())
        }
    };
    decoder.finish();
    result?;
    if decoder.summary.messages == 0 {
        return Err(InputError::NoMessage(format));
    }
    Ok(decoder.summary)
}

/// Where the messages of one stream come from.
#[derive(Debug, Clone, Default)]
struct Origin {
    timestamp: Option<Timestamp>,
    src: Option<String>,
    dst: Option<String>,
    src_as: Option<u32>,
    dst_as: Option<u32>,
    /// For MRT: the record says how AS numbers and path identifiers are encoded.
    mrt_as4: Option<bool>,
    mrt_add_path: bool,
}

impl Origin {
    /// The session key (both endpoints, in a fixed order) and the side of the sender.
    fn session_key(&self) -> ((String, String), usize) {
        let src = self.src.clone().unwrap_or_default();
        let dst = self.dst.clone().unwrap_or_default();
        if src <= dst {
            ((src, dst), 0)
        } else {
            ((dst, src), 1)
        }
    }
}

/// One direction of a captured TCP connection.
#[derive(Debug)]
struct Direction {
    reassembler: Reassembler,
    cutter: MessageCutter,
    last_timestamp: Timestamp,
}

struct Decoder<'s> {
    sink: &'s mut dyn FnMut(&Record),
    summary: Summary,
    sessions: BTreeMap<(String, String), Session>,
    directions: BTreeMap<(SocketAddr, SocketAddr), Direction>,
    /// The raw input's stream.
    raw_cutter: Option<MessageCutter>,
}

impl<'s> Decoder<'s> {
    fn new(sink: &'s mut dyn FnMut(&Record)) -> Self {
        Decoder {
            sink,
            summary: Summary::default(),
            sessions: BTreeMap::new(),
            directions: BTreeMap::new(),
            raw_cutter: None,
        }
    }

    fn emit(&mut self, record: Record) {
        self.summary.records += 1;
        if record.msg_type.is_some() {
            self.summary.messages += 1;
        }
        if record.error.is_some() {
            self.summary.errors += 1;
        }
        (self.sink)(&record);
    }

    fn packet(&mut self, packet: &capture::Packet<'_>) {
        if let Some(segment) = link::tcp_segment(packet) {
            self.segment(&segment);
        }
    }

    fn segment(&mut self, seg: &TcpSegment<'_>) {
        let key = (seg.src, seg.dst);
        let direction = self.directions.entry(key).or_insert_with(|| Direction {
            reassembler: Reassembler::default(),
            cutter: MessageCutter::lenient(),
            last_timestamp: seg.timestamp,
        });
        direction.last_timestamp = seg.timestamp;
        let deliveries = direction.reassembler.push(seg.seq, seg.syn, seg.payload);
        let origin = Origin {
            timestamp: Some(seg.timestamp),
            src: Some(seg.src.to_string()),
            dst: Some(seg.dst.to_string()),
            ..Origin::default()
        };
        self.deliver(key, &origin, deliveries);
    }

    fn deliver(
        &mut self,
        key: (SocketAddr, SocketAddr),
        origin: &Origin,
        deliveries: Vec<Delivery>,
    ) {
        for delivery in deliveries {
            let Some(direction) = self.directions.get_mut(&key) else {
                return;
            };
            let cuts = match delivery {
                Delivery::Data(bytes) => direction.cutter.push(&bytes),
                Delivery::Gap { missing } => direction.cutter.gap(missing),
                Delivery::NewConnection => {
                    direction.cutter.restart();
                    let (session, side) = origin.session_key();
                    if let Some(s) = self.sessions.get_mut(&session) {
                        s.clear(side);
                    }
                    Vec::new()
                }
            };
            self.cuts(origin, cuts);
        }
    }

    fn raw(&mut self, input: &[u8]) {
        let mut cutter = MessageCutter::strict();
        let cuts = cutter.push(input);
        self.raw_cutter = Some(cutter);
        self.cuts(&Origin::default(), cuts);
    }

    fn mrt_record(&mut self, record: MrtRecord<'_>) {
        match record {
            MrtRecord::Message(m) => self.mrt_message(&m),
            MrtRecord::Skipped { .. } => self.summary.skipped_mrt_records += 1,
            MrtRecord::Malformed { offset, reason } => {
                let record = Record {
                    error: Some(ErrorView::stream(format!(
                        "MRT record at offset {offset}: {reason}"
                    ))),
                    disposition: to_value(Disposition::Skipped),
                    ..self.blank(&Origin::default())
                };
                self.emit(record);
            }
        }
    }

    fn mrt_message(&mut self, m: &MrtMessage<'_>) {
        let (src, dst, src_as, dst_as) = if m.local {
            (m.local_ip, m.peer_ip, m.local_as, m.peer_as)
        } else {
            (m.peer_ip, m.local_ip, m.peer_as, m.local_as)
        };
        let origin = Origin {
            timestamp: Some(m.timestamp),
            src: Some(src.to_string()),
            dst: Some(dst.to_string()),
            src_as: Some(src_as),
            dst_as: Some(dst_as),
            mrt_as4: Some(m.as4),
            mrt_add_path: m.add_path,
        };
        // A record holds exactly one message: cut it strictly, and report leftovers.
        let mut cutter = MessageCutter::strict();
        let mut cuts = cutter.push(m.message);
        cuts.extend(cutter.finish());
        self.cuts(&origin, cuts);
    }

    fn finish(&mut self) {
        let keys: Vec<(SocketAddr, SocketAddr)> = self.directions.keys().copied().collect();
        for key in keys {
            let Some(direction) = self.directions.get_mut(&key) else {
                continue;
            };
            let origin = Origin {
                timestamp: Some(direction.last_timestamp),
                src: Some(key.0.to_string()),
                dst: Some(key.1.to_string()),
                ..Origin::default()
            };
            let deliveries = direction.reassembler.finish();
            self.deliver(key, &origin, deliveries);
            if let Some(direction) = self.directions.get_mut(&key) {
                let cuts = direction.cutter.finish();
                self.cuts(&origin, cuts);
            }
        }
        if let Some(mut cutter) = self.raw_cutter.take() {
            let cuts = cutter.finish();
            self.cuts(&Origin::default(), cuts);
        }
    }

    fn blank(&self, origin: &Origin) -> Record {
        Record {
            index: self.summary.records,
            timestamp: origin.timestamp,
            src: origin.src.clone(),
            dst: origin.dst.clone(),
            src_as: origin.src_as,
            dst_as: origin.dst_as,
            msg_type: None,
            type_code: None,
            length: None,
            message: None,
            error: None,
            disposition: to_value(Disposition::Accepted),
        }
    }

    fn cuts(&mut self, origin: &Origin, cuts: Vec<Cut>) {
        for cut in cuts {
            let record = match cut {
                Cut::Message {
                    msg_type,
                    length,
                    body,
                } => self.message(origin, msg_type, length, &body),
                Cut::BadMarker { skipped } => Record {
                    error: Some(ErrorView::from_bgp(
                        &BgpError::header(1, Vec::new()),
                        format!("marker is not all ones: skipped {skipped} octets to the next header"),
                    )),
                    disposition: to_value(Disposition::Skipped),
                    ..self.blank(origin)
                },
                Cut::BadLength { length, skipped } => Record {
                    length: Some(length),
                    error: Some(ErrorView::from_bgp(
                        &BgpError::header(2, length.to_be_bytes()),
                        format!("length {length} is shorter than the header: skipped {skipped} octets to the next header"),
                    )),
                    disposition: to_value(Disposition::Skipped),
                    ..self.blank(origin)
                },
                Cut::Gap { missing } => Record {
                    error: Some(ErrorView::stream(format!(
                        "{missing} octets of the TCP stream were not captured"
                    ))),
                    disposition: to_value(Disposition::Skipped),
                    ..self.blank(origin)
                },
                Cut::Incomplete { octets } => Record {
                    error: Some(ErrorView::stream(format!(
                        "the stream ends with {octets} octets that make no whole message"
                    ))),
                    disposition: to_value(Disposition::Skipped),
                    ..self.blank(origin)
                },
            };
            self.emit(record);
        }
    }

    fn context(&self, origin: &Origin) -> DecodeContext {
        let (key, side) = origin.session_key();
        let mut ctx = self
            .sessions
            .get(&key)
            .map(|s| s.context(side))
            .unwrap_or_else(session::unknown_session_context);
        if let Some(as4) = origin.mrt_as4 {
            // RFC 6396 §4.4.3: the subtype says how AS_PATH is encoded.
            ctx.four_octet_as = as4;
        }
        if origin.mrt_add_path {
            // RFC 8050 §3: every NLRI of an ADDPATH record carries a path identifier.
            ctx.add_path = ctx.families.iter().copied().collect();
        }
        ctx
    }

    fn message(&mut self, origin: &Origin, msg_type: u8, length: u16, body: &[u8]) -> Record {
        let ctx = self.context(origin);
        let decoded = decode_body(msg_type, body, &ctx);
        if let Some(open) = decoded.open {
            let (key, side) = origin.session_key();
            self.sessions.entry(key).or_default().set_open(side, open);
        }
        Record {
            msg_type: Some(
                MessageType::from_u8(msg_type)
                    .map(type_name)
                    .unwrap_or("unknown")
                    .to_string(),
            ),
            type_code: Some(msg_type),
            length: Some(length),
            message: decoded.message,
            error: decoded.error,
            disposition: decoded.disposition,
            ..self.blank(origin)
        }
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The name of a message type, as in the JSON output.
pub fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Open => "open",
        MessageType::Update => "update",
        MessageType::Notification => "notification",
        MessageType::Keepalive => "keepalive",
        MessageType::RouteRefresh => "route_refresh",
    }
}

/// What decoding one message body gave.
struct DecodedBody {
    message: Option<Box<RawValue>>,
    error: Option<ErrorView>,
    disposition: Value,
    /// An OPEN, to update the session's context.
    open: Option<bagpipe_core::wire::message::Open>,
}

/// Decodes a message body with the codec of `bagpipe_core::wire`.
fn decode_body(msg_type: u8, body: &[u8], ctx: &DecodeContext) -> DecodedBody {
    match decode_message(msg_type, body, ctx) {
        Ok(message) => {
            let open = match &message {
                Message::Open(o) => Some(o.clone()),
                _ => None,
            };
            let content = message_content(&message);
            DecodedBody {
                message: content,
                error: None,
                disposition: to_value(Disposition::Accepted),
                open,
            }
        }
        Err(e) => DecodedBody {
            message: None,
            error: Some(ErrorView::from_bgp(
                &e,
                format!("message does not decode: {e}"),
            )),
            disposition: to_value(Disposition::SessionReset),
            open: None,
        },
    }
}

/// The content of a message as JSON text: `Message` serializes as `{"type": ..., "message": ...}`
/// and the record carries the type itself. `None` for a message without content (KEEPALIVE).
fn message_content<T: serde::Serialize>(message: &T) -> Option<Box<RawValue>> {
    #[derive(serde::Deserialize)]
    struct Tagged<'a> {
        #[serde(borrow)]
        message: Option<&'a RawValue>,
    }
    let json = serde_json::to_string(message).ok()?;
    let tagged: Tagged<'_> = serde_json::from_str(&json).ok()?;
    tagged.message.map(RawValue::to_owned)
}
