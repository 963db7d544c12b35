//! A blocking rtnetlink client that sends requests in batches.
//!
//! A batch is sent as few datagrams as possible (up to [`MAX_DATAGRAM`] octets each, many
//! requests per datagram, which the kernel processes in order), without `NLM_F_ACK`: the kernel
//! answers a request without that flag only when it fails. Each datagram ends with an
//! acknowledged `NLMSG_NOOP` barrier, so reading up to the barrier's ACK collects every error of
//! the datagram. A batch of 20,000 FDB entries costs about 40 round trips instead of 20,000.
//!
//! When the kernel could not queue all its answers (`ENOBUFS`), the datagram's requests are sent
//! again one by one with an ACK each; every request the driver sends is idempotent, so sending
//! one twice is harmless.

use std::io;

use bagpipe_core::dataplane::DriverError;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The largest datagram sent: well under the default socket send buffer (212992 octets).
const MAX_DATAGRAM: usize = 32 * 1024;
/// The most requests in one datagram, so that even if every one fails, their error answers fit
/// in the receive buffer.
const MAX_REQUESTS_PER_DATAGRAM: usize = 256;
/// The receive buffer asked for (the kernel caps it at `net.core.rmem_max`).
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const HEADER_LEN: usize = 16;
/// recv(2) flag: return the real length of a datagram longer than the buffer.
const MSG_TRUNC: i32 = 0x20;

/// One request of a batch.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The message.
    pub message: RouteNetlinkMessage,
    /// `NLM_F_CREATE`, `NLM_F_REPLACE`, ... (`NLM_F_REQUEST` is added).
    pub flags: u16,
    /// What it does, in words, for error messages.
    pub what: String,
    /// Errnos that mean "already in the wanted state" (`ENOENT` for a removal, ...).
    pub tolerate: &'static [i32],
}

/// An error answer of the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelError {
    /// The errno, positive.
    pub errno: i32,
    /// The extended ack message, else strerror.
    pub message: String,
}

impl KernelError {
    /// The driver error for the request `what`.
    pub fn into_driver_error(self, what: &str) -> DriverError {
        DriverError::Kernel {
            request: what.to_string(),
            errno: self.errno,
            message: self.message,
        }
    }
}

/// One message read from the socket.
enum Answer {
    /// An error (or, with code 0, an ACK) for the request with that sequence number.
    Error {
        sequence: u32,
        code: i32,
        message: Option<String>,
    },
    /// The end of a dump.
    Done { sequence: u32 },
    /// A message of a dump or a reply to a get.
    Message {
        sequence: u32,
        message: Box<RouteNetlinkMessage>,
    },
}

/// A blocking rtnetlink socket, in the network namespace of the thread that opened it.
pub(crate) struct Netlink {
    socket: Socket,
    sequence: u32,
    receive: Vec<u8>,
    /// Datagrams sent and read, for tests and benchmarks.
    round_trips: u64,
}

impl Netlink {
    /// Opens a socket, asking for extended acks (error texts) and capped acks.
    pub fn open() -> Result<Self, DriverError> {
        let io_err = |context: &str| {
            let context = context.to_string();
            move |e: io::Error| DriverError::Io {
                context,
                message: e.to_string(),
            }
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io_err("open netlink socket"))?;
        socket.bind_auto().map_err(io_err("bind netlink socket"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(io_err("connect netlink socket"))?;
        // Both options are best effort: without them, errors carry strerror texts only and
        // error answers are larger.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER);
        Ok(Netlink {
            socket,
            sequence: 0,
            receive: Vec::with_capacity(64 * 1024),
            round_trips: 0,
        })
    }

    /// How many datagrams were sent so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    fn next_sequence(&mut self) -> u32 {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }

    /// Sends every request and returns one result per request, in order. Tolerated errnos are
    /// successes.
    pub fn execute(&mut self, requests: &[Request]) -> Vec<Result<(), KernelError>> {
        let mut results = Vec::with_capacity(requests.len());
        let mut start = 0;
        while start < requests.len() {
            let (end, datagram, first_sequence) = self.pack(requests, start);
            let barrier = self.next_sequence();
            let mut datagram = datagram;
            append_noop(&mut datagram, barrier);
            let mut chunk: Vec<Result<(), KernelError>> = vec![Ok(()); end - start];
            if self
                .send_and_collect(&datagram, barrier, first_sequence, &mut chunk)
                .is_err()
            {
                // Answers were lost (ENOBUFS) or the socket failed: send again one by one.
                for (slot, request) in chunk.iter_mut().zip(&requests[start..end]) {
                    *slot = self.execute_one(request);
                }
            }
            for (result, request) in chunk.into_iter().zip(&requests[start..end]) {
                results.push(match result {
                    Err(e) if request.tolerate.contains(&e.errno) => Ok(()),
                    other => other,
                });
            }
            start = end;
        }
        results
    }

    /// Serializes requests from `start` into one datagram; returns the end index, the datagram
    /// and the sequence number of its first request (the others follow).
    fn pack(&mut self, requests: &[Request], start: usize) -> (usize, Vec<u8>, u32) {
        let mut datagram = Vec::with_capacity(MAX_DATAGRAM + 64);
        let mut end = start;
        let mut first_sequence = 0;
        while end < requests.len() && end - start < MAX_REQUESTS_PER_DATAGRAM {
            let request = &requests[end];
            let mut message = NetlinkMessage::from(request.message.clone());
            message.header.flags = NLM_F_REQUEST | request.flags;
            message.finalize();
            let len = message.buffer_len();
            if end > start && datagram.len() + len > MAX_DATAGRAM {
                break;
            }
            let sequence = self.next_sequence();
            if end == start {
                first_sequence = sequence;
            }
            message.header.sequence_number = sequence;
            let offset = datagram.len();
            datagram.resize(offset + len, 0);
            message.serialize(&mut datagram[offset..]);
            end += 1;
        }
        (end, datagram, first_sequence)
    }

    /// Sends one datagram and reads until the barrier's ACK, storing errors in `chunk` (indexed
    /// from `first_sequence`). An `Err` means answers may have been lost.
    fn send_and_collect(
        &mut self,
        datagram: &[u8],
        barrier: u32,
        first_sequence: u32,
        chunk: &mut [Result<(), KernelError>],
    ) -> io::Result<()> {
        self.socket.send(datagram, 0)?;
        self.round_trips += 1;
        loop {
            for answer in self.read()? {
                if let Answer::Error {
                    sequence,
                    code,
                    message,
                } = answer
                {
                    if sequence == barrier {
                        return Ok(());
                    }
                    let index = sequence.wrapping_sub(first_sequence) as usize;
                    if code != 0 {
                        if let Some(slot) = chunk.get_mut(index) {
                            *slot = Err(kernel_error(code, message));
                        }
                    }
                }
            }
        }
    }

    /// Sends one request with an ACK and waits for it.
    fn execute_one(&mut self, request: &Request) -> Result<(), KernelError> {
        let sequence = self.next_sequence();
        let mut message = NetlinkMessage::from(request.message.clone());
        message.header.flags = NLM_F_REQUEST | NLM_F_ACK | request.flags;
        message.header.sequence_number = sequence;
        message.finalize();
        let mut buf = vec![0; message.buffer_len()];
        message.serialize(&mut buf);
        let io_error = |e: io::Error| KernelError {
            errno: e.raw_os_error().unwrap_or(0),
            message: e.to_string(),
        };
        self.socket.send(&buf, 0).map_err(io_error)?;
        self.round_trips += 1;
        loop {
            for answer in self.read().map_err(io_error)? {
                if let Answer::Error {
                    sequence: s,
                    code,
                    message,
                } = answer
                {
                    if s == sequence {
                        return if code == 0 {
                            Ok(())
                        } else {
                            Err(kernel_error(code, message))
                        };
                    }
                }
            }
        }
    }

    /// Sends a request that has a reply (a get, `NLM_F_ACK` not set) or a dump (`NLM_F_DUMP`)
    /// and returns the messages of the reply.
    pub fn query(
        &mut self,
        message: RouteNetlinkMessage,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>, KernelError> {
        let sequence = self.next_sequence();
        let mut message = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(message),
        );
        message.header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
        message.header.sequence_number = sequence;
        message.finalize();
        let mut buf = vec![0; message.buffer_len()];
        message.serialize(&mut buf);
        let io_error = |e: io::Error| KernelError {
            errno: e.raw_os_error().unwrap_or(0),
            message: e.to_string(),
        };
        self.socket.send(&buf, 0).map_err(io_error)?;
        self.round_trips += 1;
        let mut out = Vec::new();
        loop {
            for answer in self.read().map_err(io_error)? {
                match answer {
                    Answer::Message {
                        sequence: s,
                        message,
                    } if s == sequence => {
                        out.push(*message);
                        if !dump {
                            return Ok(out);
                        }
                    }
                    Answer::Done { sequence: s } if s == sequence => return Ok(out),
                    Answer::Error {
                        sequence: s,
                        code,
                        message,
                    } if s == sequence => {
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(kernel_error(code, message))
                        };
                    }
                    _ => {}
                }
            }
        }
    }

    /// Reads one datagram and splits it into answers. Messages that do not decode are skipped
    /// (a newer kernel's attribute the library does not know must not fail a dump).
    fn read(&mut self) -> io::Result<Vec<Answer>> {
        self.receive.clear();
        let n = self.socket.recv(&mut self.receive, MSG_TRUNC)?;
        if n > self.receive.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "netlink answer larger than the receive buffer",
            ));
        }
        let mut answers = Vec::new();
        let mut rest = &self.receive[..];
        while rest.len() >= HEADER_LEN {
            let len = u32_at(rest, 0) as usize;
            if len < HEADER_LEN || len > rest.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("netlink message length {len} out of bounds"),
                ));
            }
            let message = &rest[..len];
            let kind = u16_at(message, 4);
            let flags = u16_at(message, 6);
            let sequence = u32_at(message, 8);
            match kind {
                NLMSG_ERROR => {
                    if let Some(answer) = parse_error(message, flags, sequence) {
                        answers.push(answer);
                    }
                }
                NLMSG_DONE => answers.push(Answer::Done { sequence }),
                NLMSG_NOOP => {}
                _ => {
                    if let Ok(NetlinkMessage {
                        payload: NetlinkPayload::InnerMessage(inner),
                        ..
                    }) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(message)
                    {
                        answers.push(Answer::Message {
                            sequence,
                            message: Box::new(inner),
                        });
                    }
                }
            }
            let aligned = (len + 3) & !3;
            rest = rest.get(aligned..).unwrap_or(&[]);
        }
        Ok(answers)
    }
}

/// Appends an `NLMSG_NOOP` with `NLM_F_ACK`: the kernel acknowledges it after every message
/// before it in the datagram was processed.
fn append_noop(datagram: &mut Vec<u8>, sequence: u32) {
    datagram.extend_from_slice(&(HEADER_LEN as u32).to_ne_bytes());
    datagram.extend_from_slice(&NLMSG_NOOP.to_ne_bytes());
    datagram.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    datagram.extend_from_slice(&sequence.to_ne_bytes());
    datagram.extend_from_slice(&0u32.to_ne_bytes());
}

/// An `NLMSG_ERROR`: the code, the original header (or message, unless capped), then extended
/// ack attributes when `NLM_F_ACK_TLVS` is set (netlink(7)).
fn parse_error(message: &[u8], flags: u16, sequence: u32) -> Option<Answer> {
    let body = message.get(HEADER_LEN..)?;
    let code = i32::from_ne_bytes(body.get(..4)?.try_into().ok()?);
    let mut text = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let original = body.get(4..)?;
        let skip = if flags & NLM_F_CAPPED != 0 {
            HEADER_LEN
        } else {
            (u32_at(original, 0) as usize + 3) & !3
        };
        let mut tlvs = original.get(skip..).unwrap_or(&[]);
        while tlvs.len() >= 4 {
            let len = u16_at(tlvs, 0) as usize;
            let kind = u16_at(tlvs, 2) & 0x3fff;
            if len < 4 || len > tlvs.len() {
                break;
            }
            if kind == NLMSGERR_ATTR_MSG {
                let raw = &tlvs[4..len];
                let raw = raw.split(|&b| b == 0).next().unwrap_or(raw);
                text = Some(String::from_utf8_lossy(raw).into_owned());
            }
            tlvs = tlvs.get((len + 3) & !3..).unwrap_or(&[]);
        }
    }
    Some(Answer::Error {
        sequence,
        code,
        message: text,
    })
}

fn kernel_error(code: i32, extack: Option<String>) -> KernelError {
    let errno = code.saturating_abs();
    let strerror = io::Error::from_raw_os_error(errno).to_string();
    // "No such device (os error 19)": the errno is reported on its own.
    let strerror = match strerror.rfind(" (os error ") {
        Some(at) => strerror[..at].to_string(),
        None => strerror,
    };
    let message = match extack {
        Some(text) if !text.is_empty() => format!("{text} ({strerror})"),
        _ => strerror,
    };
    KernelError { errno, message }
}

fn u16_at(buf: &[u8], at: usize) -> u16 {
    buf.get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_ne_bytes)
        .unwrap_or(0)
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    buf.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

/// Sends the requests of a batch (each with the index of the operation it comes from) and
/// records one failure per operation: the first of its requests that failed.
pub(crate) fn flush(
    netlink: &mut Netlink,
    pending: &mut Vec<(usize, Request)>,
    failures: &mut Vec<bagpipe_core::dataplane::OperationFailure>,
    ops: &[bagpipe_core::dataplane::Operation],
) {
    if pending.is_empty() {
        return;
    }
    let requests: Vec<Request> = pending.iter().map(|(_, r)| r.clone()).collect();
    let results = netlink.execute(&requests);
    let mut failed = std::collections::BTreeSet::new();
    for ((index, request), result) in pending.iter().zip(results) {
        if let Err(e) = result {
            if failed.insert(*index) {
                if let Some(operation) = ops.get(*index) {
                    failures.push(bagpipe_core::dataplane::OperationFailure {
                        index: *index,
                        operation: operation.clone(),
                        error: e.into_driver_error(&request.what),
                    });
                }
            }
        }
    }
    pending.clear();
}
