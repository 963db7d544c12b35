//! BGP messages (RFC 4271 §4): the 19-octet header, framing of a byte stream into messages, and
//! every message type.
//!
//! A byte stream goes through [`Framer`], which checks the header (RFC 4271 §6.1) and yields
//! [`Frame`]s; [`decode_message`] turns a frame's body into a [`Message`]. [`Message::encode`]
//! gives the bytes of a whole message, header included.

pub mod framer;
pub mod notification;
pub mod open;
pub mod route_refresh;

pub use framer::{Frame, FrameRef, Framer};
pub use notification::{Notification, NotificationData};
pub use open::{Open, BGP_VERSION};
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};

use super::context::DecodeContext;
use super::error::{header_subcode, BgpError};

/// Length of the message header: marker (16), length (2), type (1) (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// The largest OPEN, even when extended messages are in force (RFC 8654 §4).
pub const MAX_OPEN_LEN: usize = 4096;
/// The marker: 16 octets of all ones (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];

/// The message type octet of the header (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// 1: OPEN.
    Open,
    /// 2: UPDATE.
    Update,
    /// 3: NOTIFICATION.
    Notification,
    /// 4: KEEPALIVE.
    Keepalive,
    /// 5: ROUTE-REFRESH (RFC 2918).
    RouteRefresh,
}

impl MessageType {
    /// The type for its wire value, `None` for a type we do not know (RFC 4271 §6.1: Bad
    /// Message Type).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(MessageType::Open),
            2 => Some(MessageType::Update),
            3 => Some(MessageType::Notification),
            4 => Some(MessageType::Keepalive),
            5 => Some(MessageType::RouteRefresh),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// Whether a whole message of `len` octets (header included) is long enough, and not too
    /// long, for this type (RFC 4271 §6.1). ROUTE-REFRESH is checked by its decoder instead,
    /// because RFC 7313 §5 gives its wrong length its own error.
    const fn length_fits(self, len: usize) -> bool {
        match self {
            // RFC 8654 §4: extended messages never apply to OPEN.
            MessageType::Open => len >= 29 && len <= MAX_OPEN_LEN,
            MessageType::Update => len >= 23,
            MessageType::Notification => len >= 21,
            MessageType::Keepalive => len == HEADER_LEN,
            MessageType::RouteRefresh => true,
        }
    }
}

/// Checks the length and type fields of a header whose marker is valid (RFC 4271 §6.1), in the
/// RFC's order: length first, then type.
pub fn check_header(
    length: u16,
    msg_type: u8,
    ctx: &DecodeContext,
) -> Result<MessageType, BgpError> {
    let len = usize::from(length);
    let bad_length = || BgpError::header(header_subcode::BAD_MESSAGE_LENGTH, length.to_be_bytes());
    if len < HEADER_LEN || len > ctx.max_message_len() {
        return Err(bad_length());
    }
    let Some(t) = MessageType::from_u8(msg_type) else {
        return Err(BgpError::header(
            header_subcode::BAD_MESSAGE_TYPE,
            [msg_type],
        ));
    };
    if !t.length_fits(len) {
        return Err(bad_length());
    }
    Ok(t)
}

use super::update::{decode_update, DecodedUpdate};

/// A decoded BGP message (RFC 4271 §4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "message", rename_all = "snake_case")]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3) with its RFC 7606 disposition; returned even when the
    /// disposition is a session reset, so that the session decides and tools can print it.
    Update(DecodedUpdate),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3).
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The type octet of this message.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// The body (everything after the header).
    pub fn encode_body(&self, ctx: &DecodeContext) -> Vec<u8> {
        match self {
            Message::Open(open) => open.encode_body(),
            Message::Update(decoded) => decoded.update.encode_body(ctx),
            Message::Notification(n) => n.encode_body(),
            Message::Keepalive => Vec::new(),
            Message::RouteRefresh(rr) => rr.encode_body().to_vec(),
        }
    }

    /// The whole message, header included (RFC 4271 §4.1).
    pub fn encode(&self, ctx: &DecodeContext) -> Vec<u8> {
        frame(self.message_type(), &self.encode_body(ctx))
    }
}

/// A whole message from its type and body: marker, length, type, body (RFC 4271 §4.1). The
/// length field saturates at 65535; callers keep bodies within the negotiated maximum.
pub fn frame(msg_type: MessageType, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(msg_type.to_u8());
    out.extend_from_slice(body);
    out
}

/// Decodes the body of a message of type `msg_type` (RFC 4271 §4). The header rules that depend
/// on type and length (RFC 4271 §6.1) are checked again here, so a body that did not come through
/// a [`Framer`] gets the same errors.
pub fn decode_message(msg_type: u8, body: &[u8], ctx: &DecodeContext) -> Result<Message, BgpError> {
    let Ok(length) = u16::try_from(HEADER_LEN + body.len()) else {
        // Longer than any length field can say: report the largest length.
        return Err(BgpError::header(
            header_subcode::BAD_MESSAGE_LENGTH,
            u16::MAX.to_be_bytes(),
        ));
    };
    let t = check_header(length, msg_type, ctx)?;
    match t {
        MessageType::Open => Open::decode(body).map(Message::Open),
        MessageType::Update => Ok(Message::Update(decode_update(body, ctx))),
        MessageType::Notification => Ok(Message::Notification(Notification::decode(body))),
        MessageType::Keepalive => Ok(Message::Keepalive),
        MessageType::RouteRefresh => RouteRefresh::decode(body).map(Message::RouteRefresh),
    }
}

#[cfg(test)]
mod tests;
