//! Payload bytes as the driver holds them. The core slices and counts payloads but never copies
//! them, so in the browser they stay in JS memory; it copies only frame headers and small
//! control texts, through [`Payload::to_vec`].

use std::ops::Range;
use std::rc::Rc;

/// Bytes owned by the driver: a JS `Uint8Array` view in the browser, [`SharedBytes`] natively.
pub trait Payload: Clone {
    /// Length in bytes.
    fn len(&self) -> u64;

    /// Whether it holds no byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A view of `range` (within `0..len()`), without copying.
    fn slice(&self, range: Range<u64>) -> Self;

    /// A copy of the bytes in Rust memory.
    fn to_vec(&self) -> Vec<u8>;

    /// Copies the bytes into `dst`, which is exactly [`Payload::len`] long.
    fn copy_into(&self, dst: &mut [u8]);
}

/// Reference-counted bytes and a range of them: the native [`Payload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedBytes {
    bytes: Rc<[u8]>,
    range: Range<usize>,
}

impl SharedBytes {
    /// The bytes it views.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[self.range.clone()]
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        let range = 0..bytes.len();
        Self { bytes: bytes.into(), range }
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(bytes: &[u8]) -> Self {
        bytes.to_vec().into()
    }
}

impl Payload for SharedBytes {
    fn len(&self) -> u64 {
        self.range.len() as u64
    }

    fn slice(&self, range: Range<u64>) -> Self {
        let start = self.range.start + range.start as usize;
        let end = self.range.start + range.end as usize;
        assert!(start <= end && end <= self.range.end, "slice out of range");
        Self { bytes: self.bytes.clone(), range: start..end }
    }

    fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }

    fn copy_into(&self, dst: &mut [u8]) {
        dst.copy_from_slice(self.as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_view_the_same_bytes() {
        let bytes = SharedBytes::from(b"hello world".to_vec());
        let world = bytes.slice(6..11);
        assert_eq!(world.as_slice(), b"world");
        assert_eq!(world.slice(1..3).to_vec(), b"or");
        assert_eq!(world.len(), 5);
        assert!(bytes.slice(3..3).is_empty());
    }
}
