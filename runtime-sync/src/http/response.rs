//! An HTTP response: status, body, and its encoding on the wire. Every response closes the
//! connection (BaGPipe-BGP's wsgiref server speaks HTTP/1.0, reference §3).

use super::call::{ApiReply, ReplyBody};
use std::io::{self, Write};

/// A response about to be written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Response {
    pub status: u16,
    pub body: ReplyBody,
    /// The `Allow` header of a 405 (RFC 9110 §15.5.6).
    pub allow: Option<&'static str>,
}

impl Response {
    pub fn json(value: serde_json::Value) -> Self {
        Response {
            status: 200,
            body: ReplyBody::Json(value),
            allow: None,
        }
    }

    pub fn text(status: u16, message: impl Into<String>) -> Self {
        Response {
            status,
            body: ReplyBody::Text(message.into()),
            allow: None,
        }
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Response {
            allow: Some(allow),
            ..Self::text(405, "Method Not Allowed")
        }
    }

    pub fn not_found() -> Self {
        Self::text(404, "The resource could not be found.")
    }

    /// The response's bytes; `head` leaves the body out (a HEAD request, RFC 9110 §9.3.2).
    pub fn encode(&self, head: bool) -> Vec<u8> {
        let status = if (200..=599).contains(&self.status) {
            self.status
        } else {
            500
        };
        let (content_type, body) = match &self.body {
            ReplyBody::Json(value) => match serde_json::to_vec(value) {
                Ok(bytes) => ("application/json", bytes),
                Err(_) => ("text/plain; charset=utf-8", b"Server error".to_vec()),
            },
            ReplyBody::Text(text) => ("text/plain; charset=utf-8", text.clone().into_bytes()),
        };
        let mut out = format!(
            "HTTP/1.1 {status} {}\r\nServer: bagpipe-rs\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            reason(status),
            body.len()
        )
        .into_bytes();
        if let Some(allow) = self.allow {
            out.extend_from_slice(format!("Allow: {allow}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !head {
            out.extend_from_slice(&body);
        }
        out
    }

    pub fn write_to(&self, head: bool, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.encode(head))?;
        out.flush()
    }
}

impl From<ApiReply> for Response {
    fn from(reply: ApiReply) -> Self {
        Response {
            status: reply.status,
            body: reply.body,
            allow: None,
        }
    }
}

/// The reason phrase of a status (RFC 9110 §15).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ if status < 300 => "Success",
        _ if status < 400 => "Redirection",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_with_length_and_close() {
        let text = String::from_utf8(Response::json(serde_json::json!({})).encode(false));
        assert_eq!(
            text.ok().as_deref(),
            Some(
                "HTTP/1.1 200 OK\r\nServer: bagpipe-rs\r\nContent-Type: application/json\r\n\
                 Content-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
        );
    }

    #[test]
    fn head_keeps_the_length_and_drops_the_body() {
        let bytes = Response::text(404, "gone").encode(true);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Content-Length: 4\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn status_out_of_range_is_500() {
        let bytes = Response::text(42, "x").encode(false);
        assert!(bytes.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    }

    #[test]
    fn method_not_allowed_says_what_is() {
        let bytes = Response::method_not_allowed("GET, HEAD").encode(false);
        assert!(String::from_utf8_lossy(&bytes).contains("\r\nAllow: GET, HEAD\r\n"));
    }
}
