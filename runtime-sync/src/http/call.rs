//! What crosses from the HTTP threads to the engine and back: an [`ApiCall`] with its
//! [`ReplyHandle`], answered with an [`ApiReply`].

use bagpipe_core::api::{AttachRequest, DetachRequest};
use core::fmt;
use std::sync::mpsc::SyncSender;

/// A request only the engine can answer.
// One value per HTTP request, moved once through a channel: boxing the attach request would
// only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCall {
    /// `POST /attach_localport`, its body already validated (reference §3.2).
    Attach(AttachRequest),
    /// `POST /detach_localport`, its body already validated (reference §3.3).
    Detach(DetachRequest),
    /// `GET /looking-glass[/<path...>]` (reference §4.1).
    LookingGlass {
        /// The path below `/looking-glass`, one entry per segment, percent-decoded, empty
        /// segments and the query string left out: `GET /looking-glass/vpns/instances` gives
        /// `["vpns", "instances"]`, `GET /looking-glass` gives `[]`.
        path: Vec<String>,
        /// `http://<Host header>` (or `http://<local address>` when the client sent no Host),
        /// without a trailing slash: hrefs are `<base_url>/looking-glass/...` (reference §4.1).
        base_url: String,
    },
}

/// A call waiting for the engine's answer.
#[derive(Debug)]
pub struct PendingRequest {
    /// What the client asked for.
    pub call: ApiCall,
    /// Where the answer goes.
    pub reply: ReplyHandle,
}

/// Carries one answer back to the client's connection. Dropping it unanswered answers 500
/// "Server error"; answering after [`Limits::engine_timeout`](super::Limits::engine_timeout)
/// is too late (the client already got 503) and is ignored.
pub struct ReplyHandle {
    pub(super) sender: SyncSender<ApiReply>,
}

impl ReplyHandle {
    /// Answers the client. Returns false when nobody waits any more (the client timed out or
    /// hung up), which the engine may ignore: the state change it made stands.
    pub fn send(self, reply: ApiReply) -> bool {
        self.sender.try_send(reply).is_ok()
    }
}

impl fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyHandle")
    }
}

/// The body of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBody {
    /// Sent as `application/json`.
    Json(serde_json::Value),
    /// Sent as `text/plain; charset=utf-8`: error messages, as BaGPipe-BGP's error pages carry
    /// a message and its clients only look at the status (reference §3.1).
    Text(String),
}

/// The engine's answer to an [`ApiCall`].
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    /// The HTTP status; anything outside 200..=599 is sent as 500.
    pub status: u16,
    /// The body.
    pub body: ReplyBody,
}

impl ApiReply {
    /// A successful attach or detach: 200 with the body `null` (reference §3.1).
    pub fn ok() -> Self {
        Self::json(serde_json::Value::Null)
    }

    /// 200 with a JSON body: a looking-glass object.
    pub fn json(value: serde_json::Value) -> Self {
        ApiReply {
            status: 200,
            body: ReplyBody::Json(value),
        }
    }

    /// An error with a text body, sent as is: a looking-glass 404 "No such looking glass
    /// object: <segment> at <prefix>" (reference §4.1) is `ApiReply::text(404, ...)`.
    pub fn text(status: u16, message: impl Into<String>) -> Self {
        ApiReply {
            status,
            body: ReplyBody::Text(message.into()),
        }
    }

    /// BaGPipe-BGP's `APIException` answer: 400 "API error: <message>" (reference §3.1), e.g.
    /// "VPN <id> could not be found" on a detach.
    pub fn api_error(message: impl fmt::Display) -> Self {
        Self::text(400, format!("API error: {message}"))
    }

    /// BaGPipe-BGP's answer to any other failure: 500 with `message` ("An error occurred
    /// during local port plug to VPN", "Server error", reference §3.1, §4.1).
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::text(500, message)
    }
}
