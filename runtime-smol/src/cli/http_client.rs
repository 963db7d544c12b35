//! A blocking HTTP/1.0 client for the tools: one request per connection, `GET` or `POST` of a
//! JSON body, status and body back. BaGPipe-BGP's API server speaks HTTP/1.0 and closes the
//! connection after each answer; so does this client (it also accepts a `Content-Length` or
//! chunked answer from a newer server).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long to wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the server at each read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest header block accepted.
const MAX_HEADER_LEN: usize = 64 * 1024;

/// An `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port (80 when the URL has none).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an `http://` URL; other schemes are refused.
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let bad = |reason: &str| HttpError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("junk after the IPv6 address")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None => 80,
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// `host:port`, IPv6 hosts in brackets.
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port` for a URL, with an IPv6 literal in brackets.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Percent-encodes a path segment as Python's `urllib.parse.quote` does (letters, digits,
/// `_.-~` and `/` kept).
pub fn quote(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum HttpError {
    /// The URL cannot be used.
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing accepted the connection (refused, unreachable, timed out, unknown host).
    Connect {
        /// `host:port`.
        authority: String,
        /// The last error.
        error: io::Error,
    },
    /// The connection broke during the exchange.
    Io {
        /// The URL.
        url: String,
        /// The error.
        error: io::Error,
    },
    /// The answer is not HTTP.
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadUrl { url, reason } => write!(f, "{url}: {reason}"),
            HttpError::Connect { authority, error } => {
                write!(f, "cannot connect to {authority}: {error}")
            }
            HttpError::Io { url, error } => write!(f, "{url}: {error}"),
            HttpError::BadResponse { url, reason } => write!(f, "{url}: bad answer: {reason}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    request("GET", url, None)
}

/// `POST url` with a JSON body.
pub fn post_json(url: &str, body: &[u8]) -> Result<Response, HttpError> {
    request("POST", url, Some(body))
}

fn request(method: &str, url: &str, body: Option<&[u8]>) -> Result<Response, HttpError> {
    let parsed = Url::parse(url)?;
    let mut stream = connect(&parsed)?;
    let io_err = |error: io::Error| HttpError::Io {
        url: url.to_string(),
        error,
    };
    let mut head = format!(
        "{method} {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: bagpipe-rs\r\nAccept: application/json\r\n",
        parsed.path,
        parsed.authority()
    );
    if let Some(body) = body {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&message).map_err(io_err)?;
    stream.flush().map_err(io_err)?;
    read_response(&mut stream, url)
}

fn connect(url: &Url) -> Result<TcpStream, HttpError> {
    let authority = url.authority();
    let addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|error| HttpError::Connect {
            authority: authority.clone(),
            error,
        })?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for this host");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let timeouts = stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)));
                return match timeouts {
                    Ok(()) => Ok(stream),
                    Err(error) => Err(HttpError::Connect { authority, error }),
                };
            }
            Err(error) => last = error,
        }
    }
    Err(HttpError::Connect {
        authority,
        error: last,
    })
}

fn read_response(stream: &mut TcpStream, url: &str) -> Result<Response, HttpError> {
    let bad = |reason: String| HttpError::BadResponse {
        url: url.to_string(),
        reason,
    };
    let io_err = |error: io::Error| HttpError::Io {
        url: url.to_string(),
        error,
    };
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i + 4;
        }
        if data.len() > MAX_HEADER_LEN {
            return Err(bad("header block too long".to_string()));
        }
        let n = stream.read(&mut chunk).map_err(io_err)?;
        if n == 0 {
            return Err(bad(
                "connection closed before the end of the headers".to_string()
            ));
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(bad(format!("not an HTTP status line: {status_line:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("no status code in {status_line:?}")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = data.split_off(header_end);
    match content_length {
        Some(len) if !chunked => {
            while body.len() < len {
                let n = stream.read(&mut chunk).map_err(io_err)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        _ => {
            stream.read_to_end(&mut body).map_err(io_err)?;
        }
    }
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("malformed chunked body".to_string()))?;
    }
    Ok(Response {
        status,
        reason,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Removes chunked transfer coding (RFC 9112 §7.1); `None` when malformed.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let u = Url::parse("http://127.0.0.1:8082/looking-glass/vpns").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8082, "/looking-glass/vpns")
        );
        let u = Url::parse("http://[::1]:8082").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8082, "/")
        );
        assert_eq!(u.authority(), "[::1]:8082");
        let u = Url::parse("http://localhost/x").unwrap();
        assert_eq!(u.port, 80);
        assert!(Url::parse("https://x/").is_err());
        assert!(Url::parse("http://:80/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
    }

    #[test]
    fn quote_like_urllib() {
        assert_eq!(quote("vpns"), "vpns");
        assert_eq!(quote("a b/c:d"), "a%20b/c%3Ad");
        assert_eq!(quote("é"), "%C3%A9");
    }

    #[test]
    fn dechunk_body() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert!(dechunk(b"5\r\nab").is_none());
    }
}
