//! A checked cursor over received bytes: every read is bounds-checked and returns an error value.

/// Fewer bytes were left than a field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    /// Bytes the field needed.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

impl core::fmt::Display for Truncated {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "truncated: needed {} bytes, {} left",
            self.needed, self.available
        )
    }
}

/// A read cursor over a byte slice. Reads never panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Bytes not read yet.
    pub const fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Whether everything was read.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub const fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// Consumes and returns the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if n > self.bytes.len() {
            return Err(Truncated {
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Consumes everything left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Consumes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Consumes one octet.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    /// Consumes a big-endian 16-bit integer.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Consumes a big-endian 24-bit integer.
    pub fn u24(&mut self) -> Result<u32, Truncated> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// Consumes a big-endian 32-bit integer.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Consumes a big-endian 64-bit integer.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(
            r.u16(),
            Err(Truncated {
                needed: 2,
                available: 1
            })
        );
        assert_eq!(r.u8(), Ok(3));
        assert!(r.is_empty());
        assert_eq!(
            r.take(usize::MAX),
            Err(Truncated {
                needed: usize::MAX,
                available: 0
            })
        );
    }
}
