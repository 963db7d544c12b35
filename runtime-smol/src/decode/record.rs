//! One output record per BGP message (or per stream event), its JSON shape and its text form.

use bagpipe_core::wire::message::notification::{code_name, subcode_name};
use bagpipe_core::wire::{BgpError, ErrorCode};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt::Write as _;

/// A capture or record time: seconds since the Unix epoch and nanoseconds. Serialized as a
/// decimal string, `"1700000000.123456789"`, so that no precision is lost to a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds.
    pub secs: u64,
    /// Nanoseconds, below 1e9.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp; `nanos` of a second or more carry into `secs`.
    pub fn new(secs: u64, nanos: u64) -> Self {
        Timestamp {
            secs: secs.saturating_add(nanos / 1_000_000_000),
            nanos: u32::try_from(nanos % 1_000_000_000).unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An error met while decoding a message or cutting the stream into messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// The NOTIFICATION error code the error maps to (RFC 4271 §4.5), when it is a BGP error.
    pub code: Option<ErrorCode>,
    /// Its wire value.
    pub code_value: Option<u8>,
    /// The error subcode.
    pub subcode: Option<u8>,
    /// Readable names of code and subcode (IANA "BGP Error (Notification) Codes").
    pub name: Option<String>,
    /// The NOTIFICATION data, in hexadecimal.
    pub data: String,
    /// A sentence saying what went wrong.
    pub text: String,
}

impl ErrorView {
    /// The view of a BGP error, with `text` saying where it came from.
    pub fn from_bgp(e: &BgpError, text: impl Into<String>) -> Self {
        let mut name = code_name(e.code).to_string();
        if let Some(sub) = subcode_name(e.code, e.subcode) {
            name.push_str(" / ");
            name.push_str(sub);
        }
        ErrorView {
            code: Some(e.code),
            code_value: Some(e.code.to_u8()),
            subcode: Some(e.subcode),
            name: Some(name),
            data: hex(&e.data),
            text: text.into(),
        }
    }

    /// An error about the capture itself (lost octets, a stream cut short).
    pub fn stream(text: impl Into<String>) -> Self {
        ErrorView {
            code: None,
            code_value: None,
            subcode: None,
            name: None,
            data: String::new(),
            text: text.into(),
        }
    }
}

/// What happens to a message, or to the octets of a stream event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The message decoded without error.
    Accepted,
    /// An error that resets the session: the receiver sends a NOTIFICATION and closes (RFC 4271
    /// §6). The tool goes on with the next message.
    SessionReset,
    /// Octets that are not (whole) messages were skipped.
    Skipped,
}

/// One output record.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Position in the output, from 0.
    pub index: u64,
    /// When the message was captured (the segment that completed it) or recorded; `null` for
    /// raw input.
    pub timestamp: Option<Timestamp>,
    /// Sender: `address:port` from a capture, `address` from MRT, `null` for raw input.
    pub src: Option<String>,
    /// Receiver, as `src`.
    pub dst: Option<String>,
    /// Sender's AS (MRT only).
    pub src_as: Option<u32>,
    /// Receiver's AS (MRT only).
    pub dst_as: Option<u32>,
    /// Message type name (`open`, `update`, `notification`, `keepalive`, `route_refresh`,
    /// `unknown`), `null` for a stream event that is no message.
    #[serde(rename = "type")]
    pub msg_type: Option<String>,
    /// Message type code from the header.
    pub type_code: Option<u8>,
    /// Length field of the header (whole message, header included).
    pub length: Option<u16>,
    /// The decoded message, `null` when it did not decode. Kept as JSON text so that fields stay
    /// in the order the core's types declare them.
    pub message: Option<Box<RawValue>>,
    /// What went wrong, `null` when nothing did.
    pub error: Option<ErrorView>,
    /// What a receiver does with the message: `accepted`, `session_reset`, `skipped`, or for an
    /// UPDATE the disposition of the RFC 7606 error handling.
    pub disposition: Value,
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Record {
    /// The record as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The record for people: a header line, then the message's fields indented.
    pub fn to_text(&self) -> String {
        let mut s = format!("#{}", self.index);
        if let Some(t) = &self.timestamp {
            let _ = write!(s, " {t}");
        }
        if let (Some(src), Some(dst)) = (&self.src, &self.dst) {
            let _ = write!(s, " {src}");
            if let Some(a) = self.src_as {
                let _ = write!(s, " (AS{a})");
            }
            let _ = write!(s, " > {dst}");
            if let Some(a) = self.dst_as {
                let _ = write!(s, " (AS{a})");
            }
        }
        match &self.msg_type {
            Some(t) => {
                let _ = write!(s, " {}", t.to_uppercase());
            }
            None => s.push_str(" STREAM"),
        }
        if let Some(l) = self.length {
            let _ = write!(s, " length {l}");
        }
        s.push('\n');
        let message: Option<Value> = self
            .message
            .as_ref()
            .and_then(|m| serde_json::from_str(m.get()).ok());
        if let Some(m) = message.as_ref().filter(|m| !m.is_null()) {
            write_value(&mut s, m, 1);
        }
        if let Some(e) = &self.error {
            let _ = write!(s, "  error: {}", e.text);
            if let Some(n) = &e.name {
                let _ = write!(s, " ({n}");
                if !e.data.is_empty() {
                    let _ = write!(s, ", data {}", e.data);
                }
                s.push(')');
            }
            s.push('\n');
        }
        if self.error.is_some() || !matches!(&self.disposition, Value::String(d) if d == "accepted")
        {
            let _ = writeln!(s, "  disposition: {}", scalar(&self.disposition));
        }
        s
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `v` fits on one line: a scalar, or an array of scalars (shown as `[a, b]`).
fn is_inline(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a
            .iter()
            .all(|i| !matches!(i, Value::Object(_) | Value::Array(_))),
        _ => true,
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(scalar).collect();
            format!("[{}]", items.join(", "))
        }
        other => scalar(other),
    }
}

/// Writes a JSON value as indented `key: value` lines; objects in a list start with `- `.
fn write_value(s: &mut String, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if is_inline(v) {
                    let _ = writeln!(s, "{pad}{k}: {}", inline(v));
                } else {
                    let _ = writeln!(s, "{pad}{k}:");
                    write_value(s, v, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_inline(item) {
                    let _ = writeln!(s, "{pad}- {}", inline(item));
                } else {
                    // The item's lines, indented under a dash on the first one.
                    let mut inner = String::new();
                    write_value(&mut inner, item, depth + 1);
                    let inner = inner.replacen(&format!("{pad}  "), &format!("{pad}- "), 1);
                    s.push_str(&inner);
                }
            }
        }
        other => {
            let _ = writeln!(s, "{pad}{}", scalar(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_keeps_nanoseconds_in_a_decimal_string() {
        let t = Timestamp::new(1_700_000_000, 1_000_000_123);
        assert_eq!(t.secs, 1_700_000_001);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"1700000001.000000123\""
        );
    }

    #[test]
    fn error_view_names_code_and_subcode() {
        let e = BgpError::header(2, vec![0, 10]);
        let v = ErrorView::from_bgp(&e, "bad");
        assert_eq!(v.code_value, Some(1));
        assert_eq!(v.data, "000a");
        assert_eq!(
            v.name.as_deref(),
            Some("Message Header Error / Bad Message Length")
        );
    }
}
