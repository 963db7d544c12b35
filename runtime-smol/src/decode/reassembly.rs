//! TCP reassembly of one direction of a connection (RFC 9293 §3.4, §3.10.7.4): octets are
//! delivered in sequence-number order, once each, whatever order the segments were captured in.
//!
//! - Retransmitted and overlapping segments: the octets already delivered are cut off.
//! - Out-of-order segments wait until the hole before them is filled.
//! - Memory is bounded: when more than `limit` octets wait behind a hole, the hole is given up
//!   (reported as a [`Delivery::Gap`]) and delivery goes on after it. The same happens for holes
//!   left at the end of the capture ([`Reassembler::finish`]).
//! - Sequence numbers wrap: positions are compared by signed 32-bit distance (RFC 9293 §3.4).

use std::collections::BTreeMap;

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The next octets of the stream.
    Data(Vec<u8>),
    /// `missing` octets were never captured; the next data comes after them.
    Gap {
        /// How many octets are lost.
        missing: u64,
    },
    /// A SYN started a new connection on the same addresses and ports: what follows is a new
    /// stream.
    NewConnection,
}

/// The octets that may wait behind a hole by default: a few maximal BGP messages.
pub const DEFAULT_LIMIT: usize = 4 << 20;

/// Reassembles one direction of one TCP connection.
#[derive(Debug, Clone)]
pub struct Reassembler {
    /// Sequence number of the next octet to deliver; `None` before the first segment.
    next_seq: Option<u32>,
    /// Sequence number of the first data octet, from the SYN, when one was seen.
    syn_data_seq: Option<u32>,
    /// Stream offset of the next octet to deliver.
    delivered: u64,
    /// Segments beyond a hole, by stream offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_octets: usize,
    limit: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(DEFAULT_LIMIT)
    }
}

impl Reassembler {
    /// A reassembler that lets at most `limit` octets wait behind a hole.
    pub fn new(limit: usize) -> Self {
        Reassembler {
            next_seq: None,
            syn_data_seq: None,
            delivered: 0,
            pending: BTreeMap::new(),
            pending_octets: 0,
            limit,
        }
    }

    /// Octets waiting behind a hole.
    pub fn pending_octets(&self) -> usize {
        self.pending_octets
    }

    /// Takes one segment; returns what can now be delivered, in order.
    pub fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) -> Vec<Delivery> {
        let mut out = Vec::new();
        let data_seq = if syn {
            let first = seq.wrapping_add(1);
            if self.syn_data_seq == Some(first) {
                // A retransmitted SYN of the connection we follow.
            } else if self.delivered == 0 && self.pending.is_empty() {
                self.next_seq = Some(first);
            } else {
                *self = Reassembler::new(self.limit);
                self.next_seq = Some(first);
                out.push(Delivery::NewConnection);
            }
            self.syn_data_seq = Some(first);
            first
        } else {
            seq
        };
        if payload.is_empty() {
            return out;
        }
        // A capture that starts mid-connection starts the stream at the first data seen.
        let next = *self.next_seq.get_or_insert(data_seq);
        // Signed distance, so that wrapped sequence numbers compare right (RFC 9293 §3.4).
        let distance = i64::from(data_seq.wrapping_sub(next) as i32);
        if distance <= 0 {
            let already = usize::try_from(-distance).unwrap_or(usize::MAX);
            if let Some(fresh) = payload.get(already..).filter(|f| !f.is_empty()) {
                self.deliver(fresh, &mut out);
            }
        } else {
            let offset = self.delivered + distance.unsigned_abs();
            let keep = match self.pending.get(&offset) {
                Some(old) => old.len() < payload.len(),
                None => true,
            };
            if keep {
                let old_len = self
                    .pending
                    .insert(offset, payload.to_vec())
                    .map_or(0, |o| o.len());
                self.pending_octets = self.pending_octets - old_len + payload.len();
            }
            while self.pending_octets > self.limit {
                self.skip_to_first_pending(&mut out);
            }
        }
        self.drain(&mut out);
        out
    }

    /// End of capture: gives up the holes that are left and delivers what waits behind them.
    pub fn finish(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        while !self.pending.is_empty() {
            self.skip_to_first_pending(&mut out);
        }
        out
    }

    fn deliver(&mut self, data: &[u8], out: &mut Vec<Delivery>) {
        let len = data.len() as u64;
        self.delivered += len;
        // Sequence numbers are modulo 2^32 (RFC 9293 §3.4): truncation is the point.
        self.next_seq = self.next_seq.map(|n| n.wrapping_add(len as u32));
        out.push(Delivery::Data(data.to_vec()));
    }

    fn skip_to_first_pending(&mut self, out: &mut Vec<Delivery>) {
        if let Some((&first, _)) = self.pending.first_key_value() {
            if first > self.delivered {
                let missing = first - self.delivered;
                self.delivered = first;
                self.next_seq = self.next_seq.map(|n| n.wrapping_add(missing as u32));
                out.push(Delivery::Gap { missing });
            }
            self.drain(out);
        }
    }

    fn drain(&mut self, out: &mut Vec<Delivery>) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > self.delivered {
                break;
            }
            let overlap = self.delivered - *entry.key();
            let data = entry.remove();
            self.pending_octets -= data.len();
            let already = usize::try_from(overlap).unwrap_or(usize::MAX);
            if let Some(fresh) = data.get(already..).filter(|f| !f.is_empty()) {
                self.deliver(fresh, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(out: &[Delivery]) -> Vec<u8> {
        out.iter()
            .flat_map(|d| match d {
                Delivery::Data(b) => b.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn rfc9293_in_order_segments_after_syn_are_delivered() {
        let mut r = Reassembler::default();
        assert!(r.push(1000, true, &[]).is_empty());
        assert_eq!(data(&r.push(1001, false, b"abc")), b"abc");
        assert_eq!(data(&r.push(1004, false, b"de")), b"de");
    }

    #[test]
    fn rfc9293_out_of_order_segment_waits_for_the_hole() {
        let mut r = Reassembler::default();
        r.push(0, true, &[]);
        assert!(r.push(4, false, b"def").is_empty());
        assert_eq!(r.pending_octets(), 3);
        assert_eq!(data(&r.push(1, false, b"abc")), b"abcdef");
        assert_eq!(r.pending_octets(), 0);
    }

    #[test]
    fn rfc9293_retransmission_and_overlap_are_delivered_once() {
        let mut r = Reassembler::default();
        r.push(0, true, &[]);
        assert_eq!(data(&r.push(1, false, b"abcd")), b"abcd");
        assert!(data(&r.push(1, false, b"abcd")).is_empty());
        // Overlaps the end of what was delivered.
        assert_eq!(data(&r.push(3, false, b"cdefg")), b"efg");
        // Out of order and overlapping each other.
        assert!(r.push(12, false, b"lmn").is_empty());
        assert!(r.push(10, false, b"jklm").is_empty());
        assert_eq!(data(&r.push(8, false, b"hij")), b"hijklmn");
    }

    #[test]
    fn rfc9293_s3_4_sequence_numbers_wrap_around() {
        let mut r = Reassembler::default();
        r.push(u32::MAX - 2, true, &[]);
        // "ab" takes u32::MAX - 1 and u32::MAX: "cd" starts at 0.
        assert!(r.push(0, false, b"cd").is_empty());
        assert_eq!(data(&r.push(u32::MAX - 1, false, b"ab")), b"abcd");
        assert_eq!(data(&r.push(2, false, b"e")), b"e");
    }

    #[test]
    fn capture_starting_mid_connection_starts_at_first_data() {
        let mut r = Reassembler::default();
        assert_eq!(data(&r.push(5000, false, b"xy")), b"xy");
        assert_eq!(data(&r.push(5002, false, b"z")), b"z");
    }

    #[test]
    fn hole_beyond_the_limit_is_given_up_as_a_gap() {
        let mut r = Reassembler::new(4);
        r.push(0, true, &[]);
        assert!(r.push(11, false, b"kl").is_empty());
        let out = r.push(13, false, b"mno");
        assert_eq!(out.first(), Some(&Delivery::Gap { missing: 10 }));
        assert_eq!(data(&out), b"klmno");
        assert_eq!(r.pending_octets(), 0);
        // The lost octets arriving late are old news.
        assert!(data(&r.push(1, false, b"abcdefghij")).is_empty());
    }

    #[test]
    fn finish_gives_up_remaining_holes() {
        let mut r = Reassembler::default();
        r.push(0, true, &[]);
        r.push(1, false, b"a");
        r.push(5, false, b"e");
        let out = r.finish();
        assert_eq!(
            out,
            vec![Delivery::Gap { missing: 3 }, Delivery::Data(b"e".to_vec())]
        );
    }

    #[test]
    fn new_syn_after_data_starts_a_new_connection() {
        let mut r = Reassembler::default();
        r.push(0, true, &[]);
        r.push(1, false, b"abc");
        let out = r.push(9000, true, &[]);
        assert_eq!(out, vec![Delivery::NewConnection]);
        assert_eq!(data(&r.push(9001, false, b"x")), b"x");
    }
}
