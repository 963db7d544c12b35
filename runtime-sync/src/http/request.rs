//! Reading one HTTP/1.0 or HTTP/1.1 request (RFC 9112) from a connection, within a size limit
//! and a deadline. The request line and headers are parsed by `httparse`; the body is framed by
//! `Content-Length` only.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;
/// The most bytes the request line and headers may take.
const MAX_HEAD: usize = 64 * 1024;

/// A request, read whole.
#[derive(Debug)]
pub(super) struct Request {
    pub method: String,
    pub target: String,
    /// The `Host` header, when given and well formed.
    pub host: Option<String>,
    pub body: Vec<u8>,
}

/// Why no request could be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadError {
    /// The client closed the connection, or it failed: nobody to answer.
    Gone,
    /// Answer with this status and message, then close.
    Refuse(u16, &'static str),
}

/// Reads a request from `stream` before `deadline`, refusing a body over `max_body` bytes.
pub(super) fn read_request(
    stream: &mut TcpStream,
    max_body: usize,
    deadline: Instant,
) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(4096);
    let head = loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => break Head::of(&req, len)?,
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(ReadError::Refuse(431, "Too many request header fields"));
                }
                Err(_) => return Err(ReadError::Refuse(400, "Malformed HTTP request")),
            }
            if buf.len() >= MAX_HEAD {
                return Err(ReadError::Refuse(431, "Request header fields too large"));
            }
        }
        if read_some(stream, &mut buf, MAX_HEAD, deadline)? == 0 {
            return Err(ReadError::Gone);
        }
    };
    if head.content_length > max_body {
        return Err(ReadError::Refuse(413, "Request body too large"));
    }
    let mut body = buf.split_off(head.len);
    if head.expect_continue && body.len() < head.content_length {
        // RFC 9110 §10.1.1: curl waits for this before sending a body over 1 KiB.
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Gone)?;
    }
    while body.len() < head.content_length {
        if read_some(stream, &mut body, head.content_length, deadline)? == 0 {
            return Err(ReadError::Gone);
        }
    }
    body.truncate(head.content_length);
    Ok(Request {
        method: head.method,
        target: head.target,
        host: head.host,
        body,
    })
}

/// Appends to `buf` what one read gives, up to `limit` bytes in `buf`; 0 at end of stream.
fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limit: usize,
    deadline: Instant,
) -> Result<usize, ReadError> {
    let timeout = deadline.saturating_duration_since(Instant::now());
    if timeout.is_zero() {
        return Err(ReadError::Refuse(408, "Request timeout"));
    }
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|_| ReadError::Gone)?;
    let mut chunk = [0u8; 8192];
    let want = chunk.len().min(limit.saturating_sub(buf.len())).max(1);
    loop {
        match stream.read(&mut chunk[..want]) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadError::Refuse(408, "Request timeout"));
            }
            Err(_) => return Err(ReadError::Gone),
        }
    }
}

/// What the request line and headers say.
struct Head {
    method: String,
    target: String,
    host: Option<String>,
    content_length: usize,
    expect_continue: bool,
    /// The bytes the request line and headers took.
    len: usize,
}

impl Head {
    fn of(req: &httparse::Request<'_, '_>, len: usize) -> Result<Head, ReadError> {
        let mut content_length: Option<usize> = None;
        let mut host = None;
        let mut expect_continue = false;
        for header in req.headers.iter() {
            let value = header.value;
            if header.name.eq_ignore_ascii_case("content-length") {
                let n = parse_length(value)
                    .ok_or(ReadError::Refuse(400, "Malformed Content-Length"))?;
                // RFC 9112 §6.3: differing lengths make the framing unknowable.
                if content_length.is_some_and(|m| m != n) {
                    return Err(ReadError::Refuse(400, "Conflicting Content-Length"));
                }
                content_length = Some(n);
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                // RFC 9112 §6.1: a server MAY answer 411 to a body it cannot frame by length.
                return Err(ReadError::Refuse(
                    411,
                    "Transfer-Encoding is not supported: send a Content-Length",
                ));
            } else if header.name.eq_ignore_ascii_case("host") {
                host = std::str::from_utf8(value)
                    .ok()
                    .filter(|h| is_host(h))
                    .map(str::to_string);
            } else if header.name.eq_ignore_ascii_case("expect") {
                expect_continue = value.eq_ignore_ascii_case(b"100-continue");
            }
        }
        Ok(Head {
            method: req.method.unwrap_or("").to_string(),
            target: req.path.unwrap_or("/").to_string(),
            host,
            // A request without Content-Length has no body (RFC 9112 §6.3).
            content_length: content_length.unwrap_or(0),
            expect_continue: expect_continue && req.version == Some(1),
            len,
        })
    }
}

/// A Content-Length value: decimal digits only. A value too large for `usize` is `usize::MAX`,
/// which is over any body limit.
fn parse_length(value: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(usize::MAX))
}

/// A Host header that can go into an href as is: a name or an address, an optional port
/// (RFC 9110 §7.2). Anything else is ignored, and the local address used instead.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]%".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_forms() {
        assert_eq!(parse_length(b"12"), Some(12));
        assert_eq!(parse_length(b" 0 "), Some(0));
        assert_eq!(parse_length(b"99999999999999999999999"), Some(usize::MAX));
        assert_eq!(parse_length(b"-1"), None);
        assert_eq!(parse_length(b"1e3"), None);
        assert_eq!(parse_length(b""), None);
    }

    #[test]
    fn host_forms() {
        assert!(is_host("127.0.0.1:8082"));
        assert!(is_host("[::1]:8082"));
        assert!(is_host("localhost"));
        assert!(!is_host("evil/path"));
        assert!(!is_host("a b"));
        assert!(!is_host(""));
    }
}
