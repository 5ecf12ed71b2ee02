//! Gossip encryption: the [`KeyRing`] of `SIDECAR_GOSSIP_KEYS` and XChaCha20-Poly1305
//! sealing of frame bodies (docs/PROTOCOL.md, "Encryption").
//!
//! # Why XChaCha20-Poly1305
//!
//! One cluster-wide AES-GCM key with random 96-bit nonces may seal only about 2^32 messages
//! before the chance of a repeated nonce (which leaks the authentication key) passes NIST's
//! 2^-32 bound; 1,000 nodes gossiping reach that within days. The two fixes were per-sender
//! AES-GCM subkeys (HKDF of the key and the sender's name) or XChaCha20-Poly1305. We chose
//! XChaCha20-Poly1305: its 192-bit random nonces make a repeat negligible at any message
//! count (2^-64 after 2^64 messages), with no state at all (per-sender subkeys still cap
//! each sender at 2^32 messages, and every receiver must derive and cache a key per sender,
//! a cache an outsider can churn with made-up names). It costs 12 more bytes per frame.
//!
//! Keys are 16, 24 or 32 bytes (the sizes the Go Sidecar's AES keys had, so existing
//! configurations stay valid); each is stretched with HKDF-SHA256 into the 32-byte cipher
//! key. The FIRST key seals; every key is tried to open, so a cluster rotates keys without
//! downtime: add the new key second on every node, then move it first, then drop the old
//! one (the list can be replaced at run time, `PUT /api/admin/gossip/keys`). Each sealed
//! body is a fresh random 24-byte nonce, the ciphertext and its 16-byte tag; the caller
//! passes what must be authenticated with it (the frame header, the sender's name and, in a
//! TCP session, both sides' challenges) as associated data.
//!
//! Must not: log or print key material ([`KeyRing`]'s `Debug` shows only the count), or read
//! the environment. The nonce comes from the thread-local CSPRNG (`rand::rng()`): it is the
//! only randomness here and never changes what a frame decodes to.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Bytes of the random nonce in front of every sealed body.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag at the end of every sealed body.
pub const TAG_LEN: usize = 16;
/// What sealing adds to a body: nonce plus tag.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// HKDF salt and info: a configured key yields this protocol's cipher key and no other.
const KDF_SALT: &[u8] = b"sidecar gossip";
const KDF_INFO: &[u8] = b"xchacha20poly1305 frame key v2";

/// The cipher of one configured key.
fn cipher_of(key: &[u8]) -> Option<XChaCha20Poly1305> {
    if ![16, 24, 32].contains(&key.len()) {
        return None;
    }
    let mut derived = [0_u8; 32];
    Hkdf::<Sha256>::new(Some(KDF_SALT), key)
        .expand(KDF_INFO, &mut derived)
        .ok()?;
    XChaCha20Poly1305::new_from_slice(&derived).ok()
}

/// Why a key list was refused. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The list holds no key.
    #[error("no key given")]
    Empty,
    /// Key number `position` (1-based) is not standard base64.
    #[error("key {position} is not valid base64")]
    Base64 {
        /// 1-based position in the list.
        position: usize,
    },
    /// Key number `position` (1-based) decodes to `len` bytes.
    #[error("key {position} is {len} bytes (expected 16, 24 or 32)")]
    Length {
        /// 1-based position in the list.
        position: usize,
        /// Its decoded length.
        len: usize,
    },
}

/// Why a body could not be sealed. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("encryption failed (body too large)")]
pub struct SealError;

/// Why a sealed body could not be opened: no key authenticates it (wrong key, tampered
/// bytes or header, or shorter than nonce plus tag). Nothing was decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no key authenticates the frame")]
pub struct OpenError;

/// The cluster's keys: the first seals, all open.
#[derive(Clone)]
pub struct KeyRing {
    /// Never empty.
    ciphers: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing({} keys)", self.ciphers.len())
    }
}

impl KeyRing {
    /// A ring of raw keys (16, 24 or 32 bytes each), the first one sealing.
    pub fn new<K: AsRef<[u8]>>(keys: &[K]) -> Result<KeyRing, KeyError> {
        let ciphers = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let key = key.as_ref();
                cipher_of(key).ok_or(KeyError::Length {
                    position: i + 1,
                    len: key.len(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ciphers.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(KeyRing { ciphers })
    }

    /// The ring of `SIDECAR_GOSSIP_KEYS`: standard base64 keys; `Ok(None)` for an empty list
    /// (encryption off).
    pub fn from_base64<S: AsRef<str>>(keys: &[S]) -> Result<Option<KeyRing>, KeyError> {
        if keys.is_empty() {
            return Ok(None);
        }
        let raw = keys
            .iter()
            .enumerate()
            .map(|(i, text)| {
                STANDARD
                    .decode(text.as_ref().trim())
                    .map_err(|_| KeyError::Base64 { position: i + 1 })
            })
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new(&raw).map(Some)
    }

    /// How many keys the ring holds (at least one).
    pub fn len(&self) -> usize {
        self.ciphers.len()
    }

    /// Always false: a ring holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.ciphers.is_empty()
    }

    /// Seals `plaintext` with the first key: `nonce ‖ ciphertext ‖ tag`, authenticating `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let cipher = self.ciphers.first().ok_or(SealError)?;
        let mut nonce = [0_u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens `nonce ‖ ciphertext ‖ tag` with whichever key authenticates it and `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < OVERHEAD {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::from_slice(nonce);
        self.ciphers
            .iter()
            .find_map(|cipher| {
                let payload = Payload {
                    msg: ciphertext,
                    aad,
                };
                cipher.decrypt(nonce, payload).ok()
            })
            .ok_or(OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    #[test]
    fn keys_of_16_24_and_32_bytes_seal_and_open() {
        for len in [16, 24, 32] {
            let ring = KeyRing::new(&[vec![7_u8; len]]).unwrap();
            let sealed = ring.seal(b"header", b"body").unwrap();
            assert_eq!(sealed.len(), b"body".len() + OVERHEAD);
            assert_eq!(ring.open(b"header", &sealed).unwrap(), b"body");
        }
    }

    #[test]
    fn other_lengths_and_bad_base64_are_refused_without_echoing_the_key() {
        let err = KeyRing::from_base64(&[b64(&[1; 16]), b64(&[1; 20])]).unwrap_err();
        assert_eq!(
            err,
            KeyError::Length {
                position: 2,
                len: 20
            }
        );
        let err = KeyRing::from_base64(&["not base64!"]).unwrap_err();
        assert_eq!(err.to_string(), "key 1 is not valid base64");
        assert_eq!(KeyRing::new::<Vec<u8>>(&[]).unwrap_err(), KeyError::Empty);
        assert!(KeyRing::from_base64::<String>(&[]).unwrap().is_none());
    }

    #[test]
    fn a_different_aad_or_key_fails_to_open() {
        let ring = KeyRing::new(&[[1_u8; 32]]).unwrap();
        let other = KeyRing::new(&[[2_u8; 32]]).unwrap();
        let sealed = ring.seal(b"aad", b"secret").unwrap();
        assert_eq!(ring.open(b"aaX", &sealed), Err(OpenError));
        assert_eq!(other.open(b"aad", &sealed), Err(OpenError));
        assert_eq!(ring.open(b"aad", &sealed[..OVERHEAD - 1]), Err(OpenError));
    }

    #[test]
    fn a_rotated_ring_opens_old_frames_and_seals_with_the_new_key() {
        let old = KeyRing::new(&[[1_u8; 16]]).unwrap();
        let new_only = KeyRing::new(&[[2_u8; 32]]).unwrap();
        let rotated = KeyRing::new(&[vec![2_u8; 32], vec![1_u8; 16]]).unwrap();
        let from_old = old.seal(b"h", b"x").unwrap();
        assert_eq!(rotated.open(b"h", &from_old).unwrap(), b"x");
        let from_rotated = rotated.seal(b"h", b"y").unwrap();
        assert_eq!(new_only.open(b"h", &from_rotated).unwrap(), b"y");
        assert!(old.open(b"h", &from_rotated).is_err());
    }

    #[test]
    fn every_seal_draws_a_fresh_24_byte_nonce() {
        let ring = KeyRing::new(&[[3_u8; 16]]).unwrap();
        let nonces: std::collections::BTreeSet<Vec<u8>> = (0..1000)
            .map(|_| ring.seal(b"h", b"same body").unwrap()[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 1000);
        let sealed = ring.seal(b"h", b"same body").unwrap();
        assert_eq!(sealed.len(), b"same body".len() + NONCE_LEN + TAG_LEN);
    }

    #[test]
    fn the_cipher_key_is_derived_so_a_raw_key_used_directly_opens_nothing() {
        let raw = [9_u8; 32];
        let ring = KeyRing::new(&[raw]).unwrap();
        let sealed = ring.seal(b"h", b"body").unwrap();
        let direct = XChaCha20Poly1305::new_from_slice(&raw).unwrap();
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: body,
            aad: b"h",
        };
        assert!(direct.decrypt(XNonce::from_slice(nonce), payload).is_err());
        let derived = cipher_of(&raw).unwrap();
        let payload = Payload {
            msg: body,
            aad: b"h",
        };
        assert_eq!(
            derived.decrypt(XNonce::from_slice(nonce), payload).unwrap(),
            b"body"
        );
    }

    #[test]
    fn a_flipped_nonce_byte_fails_to_open() {
        let ring = KeyRing::new(&[[4_u8; 24]]).unwrap();
        let mut sealed = ring.seal(b"h", b"body").unwrap();
        sealed[NONCE_LEN - 1] ^= 1;
        assert_eq!(ring.open(b"h", &sealed), Err(OpenError));
    }

    #[test]
    fn debug_shows_the_key_count_only() {
        let ring = KeyRing::new(&[[0xAB_u8; 16], [0xCD_u8; 16]]).unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing(2 keys)");
    }
}
