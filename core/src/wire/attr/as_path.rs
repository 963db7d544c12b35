//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793 §3, RFC 5065 confederation segments).

use core::fmt;

/// AS_TRANS (RFC 6793 §9): stands for a 4-octet AS in 2-octet fields.
pub const AS_TRANS: u16 = 23456;

/// The kind of an AS_PATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// 1: AS_SET.
    Set,
    /// 2: AS_SEQUENCE.
    Sequence,
    /// 3: AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence,
    /// 4: AS_CONFED_SET (RFC 5065).
    ConfedSet,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct AsPathSegment {
    /// The segment type.
    pub kind: SegmentKind,
    /// The AS numbers, in order.
    pub asns: Vec<u32>,
}

/// An AS path: its segments in order. Empty for routes originated inside the AS.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct AsPath {
    /// The segments.
    pub segments: Vec<AsPathSegment>,
}

impl AsPath {
    /// Decodes a path with 4-octet ASNs when `four_octet`. A malformed path (RFC 7606 §7.2:
    /// unknown segment type, zero-length segment, overrun) is an error with the reason.
    pub fn decode(value: &[u8], four_octet: bool) -> Result<Self, String> {
        let width = if four_octet { 4 } else { 2 };
        let mut segments = Vec::new();
        let mut rest = value;
        while let [kind, count, tail @ ..] = rest {
            let kind = match kind {
                1 => SegmentKind::Set,
                2 => SegmentKind::Sequence,
                3 => SegmentKind::ConfedSequence,
                4 => SegmentKind::ConfedSet,
                other => return Err(format!("AS_PATH segment type {other}")),
            };
            if *count == 0 {
                return Err("AS_PATH segment of zero length".to_string());
            }
            let n = usize::from(*count) * width;
            let Some((body, after)) = tail.split_at_checked(n) else {
                return Err(format!(
                    "AS_PATH segment of {count} ASNs overruns the attribute"
                ));
            };
            let asns = body
                .chunks_exact(width)
                .map(|c| match c {
                    [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
                    [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
                    _ => 0,
                })
                .collect();
            segments.push(AsPathSegment { kind, asns });
            rest = after;
        }
        if !rest.is_empty() {
            return Err("AS_PATH ends inside a segment header".to_string());
        }
        Ok(AsPath { segments })
    }

    /// Encodes with 4-octet ASNs when `four_octet` (otherwise ASNs over 65535 become AS_TRANS,
    /// RFC 6793 §4.2.2); segments longer than 255 ASNs are split.
    pub fn encode(&self, four_octet: bool, out: &mut Vec<u8>) {
        for seg in &self.segments {
            let kind = match seg.kind {
                SegmentKind::Set => 1,
                SegmentKind::Sequence => 2,
                SegmentKind::ConfedSequence => 3,
                SegmentKind::ConfedSet => 4,
            };
            for chunk in seg.asns.chunks(255) {
                out.push(kind);
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        out.extend_from_slice(
                            &u16::try_from(*asn).unwrap_or(AS_TRANS).to_be_bytes(),
                        );
                    }
                }
            }
        }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let list: Vec<String> = seg.asns.iter().map(u32::to_string).collect();
            match seg.kind {
                SegmentKind::Sequence => write!(f, "{}", list.join(" "))?,
                SegmentKind::Set => write!(f, "{{{}}}", list.join(","))?,
                SegmentKind::ConfedSequence => write!(f, "({})", list.join(" "))?,
                SegmentKind::ConfedSet => write!(f, "[{}]", list.join(","))?,
            }
        }
        Ok(())
    }
}
