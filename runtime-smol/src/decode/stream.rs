//! Cutting one direction of a BGP stream into messages (RFC 4271 §4.1), tolerant of what a
//! session would not tolerate: after a bad marker, an impossible length or lost octets, the
//! cutter looks for the next marker and goes on, reporting what it skipped.
//!
//! Unlike the session's `Framer`, which ends the stream at the first header error as RFC 4271
//! §6.1 requires, a decoding tool must show everything the capture holds.

use bagpipe_core::wire::message::{HEADER_LEN, MARKER};

/// What the cutter found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// A whole message: the header fields and the body. The type and the length against the
    /// negotiated maximum are not checked here (the decoder reports them), only that the length
    /// covers the header.
    Message {
        /// Type octet.
        msg_type: u8,
        /// Length field.
        length: u16,
        /// Everything after the header.
        body: Vec<u8>,
    },
    /// A header whose marker is not all ones (RFC 4271 §6.1, Connection Not Synchronized):
    /// `skipped` octets were dropped up to the next plausible header.
    BadMarker {
        /// Octets dropped.
        skipped: usize,
    },
    /// A header whose length is below 19 (RFC 4271 §6.1, Bad Message Length): dropped up to the
    /// next plausible header.
    BadLength {
        /// The length field.
        length: u16,
        /// Octets dropped.
        skipped: usize,
    },
    /// The capture lost `missing` octets of the stream; the cutter looks for the next header.
    Gap {
        /// Octets lost.
        missing: u64,
    },
    /// The stream ended with `octets` that are not a whole message.
    Incomplete {
        /// Octets left over.
        octets: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// At a message boundary.
    InSync,
    /// Looking for a header; when one is found, report what was dropped as `why`.
    Searching(SearchReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchReason {
    /// The start of a capture that may begin mid-message: skipped octets are not reported.
    Start,
    BadMarker,
    BadLength(u16),
    /// After a gap (already reported).
    Gap,
}

/// Cuts one direction of a stream into messages.
#[derive(Debug, Clone)]
pub struct MessageCutter {
    buf: Vec<u8>,
    /// Octets of `buf` already cut; dropped on the next push.
    start: usize,
    sync: Sync,
    /// Octets dropped since the search started.
    dropped: usize,
}

/// A header that could start a message: all-ones marker, a length of at least 19, a known type.
fn plausible_header(h: &[u8]) -> bool {
    let (Some(marker), Some(&[l0, l1]), Some(&t)) = (h.get(..16), h.get(16..18), h.get(18)) else {
        return false;
    };
    marker == MARKER
        && usize::from(u16::from_be_bytes([l0, l1])) >= HEADER_LEN
        && (1..=5).contains(&t)
}

impl MessageCutter {
    /// A cutter for a stream whose start must be a message (raw input, an MRT record).
    pub fn strict() -> Self {
        MessageCutter {
            buf: Vec::new(),
            start: 0,
            sync: Sync::InSync,
            dropped: 0,
        }
    }

    /// A cutter for a captured stream that may start mid-message: octets before the first
    /// header are skipped silently (they belong to a message sent before the capture started).
    pub fn lenient() -> Self {
        MessageCutter {
            sync: Sync::Searching(SearchReason::Start),
            ..MessageCutter::strict()
        }
    }

    /// Whether the cutter has found a message boundary (it may still be looking for the first).
    pub fn in_sync(&self) -> bool {
        self.sync == Sync::InSync
    }

    /// Octets buffered and not yet cut.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends octets and returns everything now complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Cut> {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(cut) = self.next_cut() {
            out.push(cut);
        }
        out
    }

    /// Octets were lost: what is buffered cannot be completed, look for the next header.
    pub fn gap(&mut self, missing: u64) -> Vec<Cut> {
        self.buf.clear();
        self.start = 0;
        self.dropped = 0;
        self.sync = Sync::Searching(SearchReason::Gap);
        vec![Cut::Gap { missing }]
    }

    /// A new connection starts: forget the old stream.
    pub fn restart(&mut self) {
        *self = MessageCutter::lenient();
    }

    /// The end of the stream: reports octets left over that make no whole message.
    pub fn finish(&mut self) -> Vec<Cut> {
        let left = self.buffered();
        self.buf.clear();
        self.start = 0;
        let reported = match self.sync {
            Sync::InSync => left,
            // Skipped octets of a search that never found a header.
            Sync::Searching(SearchReason::Start) => 0,
            Sync::Searching(_) => left + self.dropped,
        };
        if reported > 0 {
            vec![Cut::Incomplete { octets: reported }]
        } else {
            Vec::new()
        }
    }

    fn next_cut(&mut self) -> Option<Cut> {
        loop {
            let pending = self.buf.get(self.start..).unwrap_or(&[]);
            match self.sync {
                Sync::Searching(reason) => {
                    // Find a plausible header; keep a possible partial one at the end.
                    let found = (0..pending.len()).find(|&i| {
                        pending
                            .get(i..)
                            .is_some_and(|p| p.len() < HEADER_LEN || plausible_header(p))
                    });
                    let skip = found.unwrap_or(pending.len());
                    self.start += skip;
                    self.dropped += skip;
                    if self.buffered() < HEADER_LEN {
                        return None;
                    }
                    let skipped = core::mem::take(&mut self.dropped);
                    self.sync = Sync::InSync;
                    match reason {
                        SearchReason::Start | SearchReason::Gap => {}
                        SearchReason::BadMarker => return Some(Cut::BadMarker { skipped }),
                        SearchReason::BadLength(length) => {
                            return Some(Cut::BadLength { length, skipped })
                        }
                    }
                }
                Sync::InSync => {
                    let (Some(marker), Some(&[l0, l1]), Some(&msg_type)) =
                        (pending.get(..16), pending.get(16..18), pending.get(18))
                    else {
                        return None;
                    };
                    if marker != MARKER {
                        self.sync = Sync::Searching(SearchReason::BadMarker);
                        // Drop one octet so that the search does not find this header again.
                        self.start += 1;
                        self.dropped = 1;
                        continue;
                    }
                    let length = u16::from_be_bytes([l0, l1]);
                    if usize::from(length) < HEADER_LEN {
                        self.sync = Sync::Searching(SearchReason::BadLength(length));
                        self.start += 1;
                        self.dropped = 1;
                        continue;
                    }
                    let body = pending.get(HEADER_LEN..usize::from(length))?.to_vec();
                    self.start += usize::from(length);
                    return Some(Cut::Message {
                        msg_type,
                        length,
                        body,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepalive() -> Vec<u8> {
        let mut m = MARKER.to_vec();
        m.extend_from_slice(&[0, 19, 4]);
        m
    }

    fn lengths(cuts: &[Cut]) -> Vec<u16> {
        cuts.iter()
            .filter_map(|c| match c {
                Cut::Message { length, .. } => Some(*length),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn rfc4271_s4_1_message_split_across_pushes_is_cut_once_whole() {
        let mut c = MessageCutter::strict();
        let mut open = MARKER.to_vec();
        open.extend_from_slice(&[0, 29, 1, 4, 0, 1, 0, 90, 1, 2, 3, 4, 0]);
        assert!(c.push(&open[..5]).is_empty());
        assert!(c.push(&open[5..20]).is_empty());
        let cuts = c.push(&open[20..]);
        assert_eq!(
            cuts,
            vec![Cut::Message {
                msg_type: 1,
                length: 29,
                body: open[19..].to_vec()
            }]
        );
    }

    #[test]
    fn rfc4271_s6_1_bad_marker_is_reported_and_decoding_resumes_at_next_header() {
        let mut c = MessageCutter::strict();
        let mut bytes = keepalive();
        bytes.extend_from_slice(&[0u8; 7]);
        bytes.extend(keepalive());
        let cuts = c.push(&bytes);
        assert_eq!(cuts.get(1), Some(&Cut::BadMarker { skipped: 7 }));
        assert_eq!(lengths(&cuts), vec![19, 19]);
    }

    #[test]
    fn rfc4271_s6_1_length_below_header_is_reported_and_skipped() {
        let mut c = MessageCutter::strict();
        let mut bad = MARKER.to_vec();
        bad.extend_from_slice(&[0, 3, 4]);
        bad.extend(keepalive());
        let cuts = c.push(&bad);
        assert_eq!(
            cuts.first(),
            Some(&Cut::BadLength {
                length: 3,
                skipped: 19
            })
        );
        assert_eq!(lengths(&cuts), vec![19]);
    }

    #[test]
    fn capture_starting_mid_message_skips_silently_to_first_header() {
        let mut c = MessageCutter::lenient();
        let mut bytes = vec![0xff, 0x00, 0x12, 0xff, 0xff];
        bytes.extend(keepalive());
        let cuts = c.push(&bytes);
        assert_eq!(cuts.len(), 1);
        assert_eq!(lengths(&cuts), vec![19]);
        assert!(c.in_sync());
    }

    #[test]
    fn gap_drops_the_partial_message_and_resyncs() {
        let mut c = MessageCutter::strict();
        let ka = keepalive();
        assert!(c.push(&ka[..10]).is_empty());
        assert_eq!(c.gap(100), vec![Cut::Gap { missing: 100 }]);
        let mut after = vec![1, 2, 3];
        after.extend(keepalive());
        assert_eq!(lengths(&c.push(&after)), vec![19]);
    }

    #[test]
    fn stream_ending_inside_a_message_is_reported() {
        let mut c = MessageCutter::strict();
        c.push(&keepalive()[..12]);
        assert_eq!(c.finish(), vec![Cut::Incomplete { octets: 12 }]);
    }
}
