//! A stable 64-bit hash (FNV-1a): the same bytes give the same value on every node, build and
//! release, unlike std's `DefaultHasher`. Used for cluster ids and digests; not a MAC.
//!
//! Pure: no I/O.

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental FNV-1a 64 hasher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Fnv64 {
        Fnv64(OFFSET_BASIS)
    }
}

impl Fnv64 {
    /// A hasher in its initial state.
    pub fn new() -> Fnv64 {
        Fnv64::default()
    }

    /// Feeds raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Fnv64 {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(PRIME);
        }
        self
    }

    /// Feeds a string with its length first, so that ("ab","c") and ("a","bc") differ.
    pub fn write_str(&mut self, text: &str) -> &mut Fnv64 {
        self.write(&(text.len() as u64).to_le_bytes());
        self.write(text.as_bytes())
    }

    /// The hash of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    Fnv64::new().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn length_prefixed_strings_do_not_collide_across_boundaries() {
        let ab_c = Fnv64::new().write_str("ab").write_str("c").finish();
        let a_bc = Fnv64::new().write_str("a").write_str("bc").finish();
        assert_ne!(ab_c, a_bc);
    }
}
