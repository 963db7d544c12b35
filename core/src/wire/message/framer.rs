//! Cutting a TCP byte stream into BGP messages (RFC 4271 §4.1) and checking their headers
//! (RFC 4271 §6.1).

use super::{check_header, decode_message, Message, MessageType, HEADER_LEN, MARKER};
use crate::wire::context::DecodeContext;
use crate::wire::error::{header_subcode, BgpError};

/// One message cut from the stream, header checked: its type and its body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    /// Message type.
    pub msg_type: MessageType,
    /// Everything after the 19-octet header.
    pub body: Vec<u8>,
}

impl Frame {
    /// Decodes the body (see [`decode_message`]).
    pub fn decode(&self, ctx: &DecodeContext) -> Result<Message, BgpError> {
        decode_message(self.msg_type.to_u8(), &self.body, ctx)
    }
}

/// A [`Frame`] whose body is borrowed from the [`Framer`]'s buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// Message type.
    pub msg_type: MessageType,
    /// Everything after the 19-octet header.
    pub body: &'a [u8],
}

impl FrameRef<'_> {
    /// Decodes the body (see [`decode_message`]).
    pub fn decode(&self, ctx: &DecodeContext) -> Result<Message, BgpError> {
        decode_message(self.msg_type.to_u8(), self.body, ctx)
    }
}

/// Splits a byte stream, fed in chunks of any size, into [`Frame`]s.
///
/// After every complete message has been taken out, fewer than one maximal message is left
/// buffered, so the buffer never holds more than one maximal message plus the chunk being fed.
/// The first header error ends the stream: it is returned once, the buffer is dropped, and later
/// input is ignored (RFC 4271 §6.1: the connection is closed after the NOTIFICATION).
#[derive(Debug, Clone, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Octets of `buf` already handed out; dropped on the next feed.
    start: usize,
    failed: bool,
}

impl Framer {
    /// A framer at the start of a stream.
    pub fn new() -> Self {
        Framer::default()
    }

    /// Octets received but not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether a header error ended the stream.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Appends received bytes. Take frames out with [`Framer::next_frame`] until it returns
    /// `None` before feeding more, or use [`Framer::push`] which does both.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, a header error, or `None` when more bytes are needed.
    pub fn next_frame(&mut self, ctx: &DecodeContext) -> Option<Result<Frame, BgpError>> {
        self.next_frame_ref(ctx).map(|frame| {
            frame.map(|f| Frame {
                msg_type: f.msg_type,
                body: f.body.to_vec(),
            })
        })
    }

    /// [`Framer::next_frame`] with the body borrowed from the buffer, for a caller that decodes
    /// it at once: no copy and no allocation per message.
    pub fn next_frame_ref(
        &mut self,
        ctx: &DecodeContext,
    ) -> Option<Result<FrameRef<'_>, BgpError>> {
        if self.failed {
            return None;
        }
        let pending = self.buf.get(self.start..).unwrap_or(&[]);
        // RFC 4271 §6.1: the marker is checked first. A wrong marker octet is reported as soon
        // as it arrives, which gives the same error as waiting for the whole header.
        let marker_seen = pending.len().min(MARKER.len());
        if pending.iter().take(marker_seen).any(|&b| b != 0xff) {
            return Some(Err(self.fail(BgpError::header(
                header_subcode::CONNECTION_NOT_SYNCHRONIZED,
                Vec::new(),
            ))));
        }
        let (Some(&[l0, l1]), Some(&msg_type)) = (pending.get(16..18), pending.get(18)) else {
            return None;
        };
        let length = u16::from_be_bytes([l0, l1]);
        let msg_type = match check_header(length, msg_type, ctx) {
            Ok(t) => t,
            Err(e) => return Some(Err(self.fail(e))),
        };
        let end = self.start + usize::from(length);
        let body = self.buf.get(self.start + HEADER_LEN..end)?;
        self.start = end;
        Some(Ok(FrameRef { msg_type, body }))
    }

    /// Feeds `bytes` and takes out everything now complete, in order; an error is always last.
    pub fn push(&mut self, bytes: &[u8], ctx: &DecodeContext) -> Vec<Result<Frame, BgpError>> {
        self.feed(bytes);
        core::iter::from_fn(|| self.next_frame(ctx)).collect()
    }

    fn fail(&mut self, e: BgpError) -> BgpError {
        self.failed = true;
        self.buf = Vec::new();
        self.start = 0;
        e
    }
}
