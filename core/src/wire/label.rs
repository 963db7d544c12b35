//! MPLS labels (RFC 3032), label stack entries in NLRI (RFC 8277), and VXLAN VNIs (RFC 7348).

use core::fmt;

/// A 20-bit MPLS label value (RFC 3032 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Label(u32);

impl Label {
    /// The largest label value, 2^20 - 1.
    pub const MAX: u32 = (1 << 20) - 1;
    /// Implicit NULL (RFC 3032 §2.1).
    pub const IMPLICIT_NULL: Label = Label(3);

    /// A label, or `None` when `value` does not fit in 20 bits.
    pub const fn new(value: u32) -> Option<Self> {
        if value <= Self::MAX {
            Some(Label(value))
        } else {
            None
        }
    }

    /// The low 20 bits of `value` as a label.
    pub const fn from_low_bits(value: u32) -> Self {
        Label(value & Self::MAX)
    }

    /// The label value.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 24-bit VXLAN Network Identifier (RFC 7348 §5), as carried in E-VPN label fields (RFC 8365 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Vni(u32);

impl Vni {
    /// The largest VNI, 2^24 - 1.
    pub const MAX: u32 = (1 << 24) - 1;

    /// A VNI, or `None` when `value` does not fit in 24 bits.
    pub const fn new(value: u32) -> Option<Self> {
        if value <= Self::MAX {
            Some(Vni(value))
        } else {
            None
        }
    }

    /// The VNI value.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One 3-octet label field as it stands in an NLRI (RFC 8277 §2): 20 bits of label, 3 bits of
/// traffic class, and the bottom-of-stack bit. The raw 24 bits are kept so that re-encoding is
/// exact; an E-VPN label field may also carry a whole 24-bit VNI (RFC 8365 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelStackEntry(u32);

/// Serialized with every reading of the field, so that a person sees the MPLS label of a VPN
/// route and the VNI of a VXLAN E-VPN route without arithmetic: `{"raw", "label",
/// "bottom_of_stack"}`, where `raw` is also the 24-bit VNI (RFC 8365 §5.1.3).
impl serde::Serialize for LabelStackEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LabelStackEntry", 3)?;
        st.serialize_field("raw", &self.raw())?;
        st.serialize_field("label", &self.label().value())?;
        st.serialize_field("bottom_of_stack", &self.bottom_of_stack())?;
        st.end()
    }
}

impl LabelStackEntry {
    /// The withdrawn-route label 0x800000 (RFC 8277 §2.4) and the "compatibility" value 0x000000.
    pub const WITHDRAW: LabelStackEntry = LabelStackEntry(0x80_0000);

    /// The entry from its 24 raw bits (higher bits are ignored).
    pub const fn from_raw(raw: u32) -> Self {
        LabelStackEntry(raw & 0x00ff_ffff)
    }

    /// An entry carrying `label`, with the bottom-of-stack bit as given and traffic class 0.
    pub const fn from_label(label: Label, bottom_of_stack: bool) -> Self {
        LabelStackEntry((label.value() << 4) | bottom_of_stack as u32)
    }

    /// An E-VPN label field carrying a whole VNI (RFC 8365 §5.1.3).
    pub const fn from_vni(vni: Vni) -> Self {
        LabelStackEntry(vni.value())
    }

    /// The raw 24 bits.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The three octets on the wire.
    pub const fn to_bytes(self) -> [u8; 3] {
        let b = self.0.to_be_bytes();
        [b[1], b[2], b[3]]
    }

    /// The 20-bit MPLS label (the high bits).
    pub const fn label(self) -> Label {
        Label(self.0 >> 4)
    }

    /// Whether the bottom-of-stack bit is set.
    pub const fn bottom_of_stack(self) -> bool {
        self.0 & 1 == 1
    }

    /// The whole field read as a 24-bit VNI (RFC 8365 §5.1.3).
    pub const fn vni(self) -> Vni {
        Vni(self.0)
    }
}

/// The label stack of a VPN route (RFC 8277 §2): 1 to [`LabelStack::CAPACITY`] entries held
/// inline, so that decoding a route allocates nothing. Reads as a slice
/// (`Deref<Target = [LabelStackEntry]>`); orders, hashes, prints and serializes as its entries.
#[derive(Clone, Copy)]
pub struct LabelStack {
    len: u8,
    entries: [LabelStackEntry; LabelStack::CAPACITY],
}

impl LabelStack {
    /// The most entries a stack holds: enough for any VPN use, and few enough that a VPN NLRI's
    /// length in bits always fits its octet (RFC 4364 §4.3.4).
    pub const CAPACITY: usize = 4;

    /// An empty stack.
    pub const fn new() -> Self {
        LabelStack {
            len: 0,
            entries: [LabelStackEntry(0); LabelStack::CAPACITY],
        }
    }

    /// A stack of `entries`, or `None` when there are more than [`LabelStack::CAPACITY`].
    pub fn from_slice(entries: &[LabelStackEntry]) -> Option<Self> {
        let mut stack = LabelStack::new();
        for e in entries {
            stack.push(*e).ok()?;
        }
        Some(stack)
    }

    /// Appends an entry, or gives it back when the stack is full.
    pub fn push(&mut self, entry: LabelStackEntry) -> Result<(), LabelStackEntry> {
        let slot = self.entries.get_mut(usize::from(self.len)).ok_or(entry)?;
        *slot = entry;
        self.len += 1;
        Ok(())
    }

    /// The entries.
    pub fn as_slice(&self) -> &[LabelStackEntry] {
        self.entries
            .get(..usize::from(self.len))
            .unwrap_or(&self.entries)
    }
}

impl Default for LabelStack {
    fn default() -> Self {
        LabelStack::new()
    }
}

impl core::ops::Deref for LabelStack {
    type Target = [LabelStackEntry];
    fn deref(&self) -> &[LabelStackEntry] {
        self.as_slice()
    }
}

impl PartialEq for LabelStack {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for LabelStack {}

impl PartialEq<Vec<LabelStackEntry>> for LabelStack {
    fn eq(&self, other: &Vec<LabelStackEntry>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialOrd for LabelStack {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LabelStack {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl core::hash::Hash for LabelStack {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for LabelStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl serde::Serialize for LabelStack {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_field_views() {
        let e = LabelStackEntry::from_label(Label::new(18).unwrap(), true);
        assert_eq!(e.to_bytes(), [0x00, 0x01, 0x21]);
        assert_eq!(e.label().value(), 18);
        assert!(e.bottom_of_stack());
        // VNI 3000 shows as MPLS label 187 when read as a label (3000 >> 4).
        let v = LabelStackEntry::from_vni(Vni::new(3000).unwrap());
        assert_eq!(v.label().value(), 187);
        assert_eq!(v.vni().value(), 3000);
        assert_eq!(Label::new(1 << 20), None);
        assert_eq!(Vni::new(1 << 24), None);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"raw":289,"label":18,"bottom_of_stack":true}"#
        );
    }

    #[test]
    fn label_stack_holds_up_to_four_entries_inline() {
        let e = LabelStackEntry::from_raw;
        let mut s = LabelStack::from_slice(&[e(16), e(33)]).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s, vec![e(16), e(33)]);
        assert!(s.push(e(48)).is_ok() && s.push(e(65)).is_ok());
        assert_eq!(s.push(e(81)), Err(e(81)));
        assert_eq!(LabelStack::from_slice(&[e(1); 5]), None);
        // Ordered as the entries are, whatever the unused slots hold.
        assert!(LabelStack::from_slice(&[e(1)]) < LabelStack::from_slice(&[e(1), e(0)]));
        assert_eq!(
            serde_json::to_string(&LabelStack::from_slice(&[e(0x80_0000)]).unwrap()).unwrap(),
            r#"[{"raw":8388608,"label":524288,"bottom_of_stack":false}]"#
        );
    }
}
