//! Gossip frames: a small versioned header, then a compact postcard body, optionally sealed
//! with XChaCha20-Poly1305 ([`super::crypto`]).
//!
//! ```text
//!  0      2     3      4                        12     13
//!  +------+-----+------+------------------------+------+------------------------------+
//!  | "SC" | ver | flags| cluster id (u64 BE)    | kind | body                         |
//!  +------+-----+------+------------------------+------+------------------------------+
//!  plaintext body: postcard of the kind's payload (Swim: the raw foca bytes)
//!  sealed body (flags bit 0): sender (u64 BE) ‖ nonce (24) ‖ ciphertext ‖ tag (16)
//!  associated data: the 13-byte header ‖ sender ‖ session binding (32 bytes, TCP frames
//!  after the hellos only)
//! ```
//!
//! The sender is the FNV-1a 64 of the sealing node's name: it is authenticated, so a sealed
//! frame cannot be passed off as another node's (a hello or busy answer must name the node
//! whose hash sealed it). The session binding is the two hellos' challenges; with it, the
//! frames of a recorded TCP session do not open in any other session (docs/PROTOCOL.md,
//! "Sessions").
//!
//! Version 2 (this one) added the sender, the binding, the hellos' challenges, the busy
//! answer and XChaCha20-Poly1305 in place of AES-GCM; version 1 frames are refused.
//!
//! Every [`DecodeError`] means the frame was dropped and no state was touched; the caller
//! counts them by [`DecodeError::kind`]. Decoding never panics, whatever the bytes, and
//! allocates at most the input's size plus serde's capped preallocation (1 MiB per
//! sequence being read) before a lying length runs out of input; record and host counts
//! over [`super::limits`] are refused before decoding.
//!
//! Pure: no sockets, no clock. The only randomness is the encryption nonce.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::crypto::{KeyRing, OVERHEAD};
use super::digest::{Digest, Summary};
use super::hash::fnv1a64;
use super::limits::{MAX_HOSTS, MAX_RECORDS, OverLimit, check_count, check_records};
use super::node_id::NodeId;
pub use super::records::{BadStatus, Packed, WirePort, WireService, nanos, split_services};

/// The first two bytes of every frame.
pub const MAGIC: [u8; 2] = *b"SC";
/// The protocol version this build speaks.
pub const VERSION: u8 = 2;
/// Bytes of the sender field of a sealed body.
pub const SENDER_LEN: usize = 8;
/// What sealing adds to a body: the sender, the nonce and the tag.
pub const SEALING: usize = SENDER_LEN + OVERHEAD;
/// Bytes of a TCP session's binding: the initiator's then the responder's challenge.
pub const BINDING_LEN: usize = 2 * CHALLENGE_LEN;
/// Bytes of a hello's challenge.
pub const CHALLENGE_LEN: usize = 16;

/// A hello's challenge: random bytes the peer must send back.
pub type Challenge = [u8; CHALLENGE_LEN];
/// Bytes of the header.
pub const HEADER_LEN: usize = 13;
/// Flags bit: the body is sealed with the key ring.
pub const FLAG_ENCRYPTED: u8 = 0b0000_0001;
/// Default largest datagram frame (memberlist's UDP buffer size).
pub const MAX_DATAGRAM: usize = 1400;
/// Default largest TCP frame: what a catalogue of 1,000 hosts × 50 services needs
/// ([`super::limits`], where the arithmetic is).
pub const MAX_TCP_FRAME: usize = super::limits::MAX_SESSION_FRAME;

/// The 8-byte digest of a cluster name carried by every frame (FNV-1a 64 of its UTF-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClusterId(pub u64);

impl ClusterId {
    /// The id of cluster `name` (`SIDECAR_CLUSTER_NAME`).
    pub fn of(name: &str) -> ClusterId {
        ClusterId(fnv1a64(name.as_bytes()))
    }
}

/// What frames are checked against and sealed with: whose they must be, the keys, the size
/// limit, who seals, and the TCP session they belong to.
#[derive(Clone, Copy, Debug)]
pub struct FrameContext<'a> {
    /// This node's cluster; frames of another are refused.
    pub cluster: ClusterId,
    /// With keys every frame is sealed and plaintext is refused; without, the reverse.
    pub keys: Option<&'a KeyRing>,
    /// Largest whole frame, header included.
    pub max_size: usize,
    /// The sealing node ([`sender_of`] its name); 0 when this context only opens.
    pub sender: u64,
    /// The TCP session's binding (both challenges), authenticated with every frame after
    /// the hellos; `None` for datagrams and the hellos.
    pub binding: Option<[u8; BINDING_LEN]>,
}

impl<'a> FrameContext<'a> {
    /// A context for datagrams ([`MAX_DATAGRAM`]).
    pub fn datagram(cluster: ClusterId, keys: Option<&'a KeyRing>) -> FrameContext<'a> {
        FrameContext {
            cluster,
            keys,
            max_size: MAX_DATAGRAM,
            sender: 0,
            binding: None,
        }
    }

    /// A context for TCP frames ([`MAX_TCP_FRAME`]).
    pub fn stream(cluster: ClusterId, keys: Option<&'a KeyRing>) -> FrameContext<'a> {
        FrameContext {
            max_size: MAX_TCP_FRAME,
            ..FrameContext::datagram(cluster, keys)
        }
    }

    /// This context, sealing as the node named `name`.
    pub fn sealed_by(self, name: &str) -> FrameContext<'a> {
        FrameContext {
            sender: sender_of(name),
            ..self
        }
    }

    /// This context, for the frames after the hellos of the session of `initiator`'s and
    /// `responder`'s challenges.
    pub fn bound(self, initiator: &Challenge, responder: &Challenge) -> FrameContext<'a> {
        let mut binding = [0_u8; BINDING_LEN];
        binding[..CHALLENGE_LEN].copy_from_slice(initiator);
        binding[CHALLENGE_LEN..].copy_from_slice(responder);
        FrameContext {
            binding: Some(binding),
            ..self
        }
    }

    /// Body bytes a frame can carry: the size limit less the header and, with keys, the
    /// sealing. The budget for [`split_services`].
    pub fn body_budget(&self) -> usize {
        let sealing = if self.keys.is_some() { SEALING } else { 0 };
        self.max_size.saturating_sub(HEADER_LEN + sealing)
    }

    /// The associated data of a sealed frame with `header` from `sender`.
    fn aad(&self, header: &[u8; HEADER_LEN], sender: [u8; SENDER_LEN]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(HEADER_LEN + SENDER_LEN + BINDING_LEN);
        aad.extend_from_slice(header);
        aad.extend_from_slice(&sender);
        if let Some(binding) = &self.binding {
            aad.extend_from_slice(binding);
        }
        aad
    }
}

/// The sender field of a node named `name`: FNV-1a 64 of its UTF-8.
pub fn sender_of(name: &str) -> u64 {
    fnv1a64(name.as_bytes())
}

/// A decoded frame and, when it was sealed, who sealed it ([`sender_of`] a name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The message.
    pub message: Message,
    /// The authenticated sender of a sealed frame; `None` for plaintext.
    pub sender: Option<u64>,
}

/// One gossip message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// An opaque foca (SWIM) payload.
    Swim(Vec<u8>),
    /// Service changes being disseminated.
    Services(Vec<WireService>),
    /// Anti-entropy: this node's per-host digest.
    Digest(Digest),
    /// Anti-entropy: the whole catalogue in one hash, sent first; equal summaries end the
    /// session at once.
    Summary(Summary),
    /// Anti-entropy: records answering a digest.
    Records(Vec<WireService>),
    /// The sender is leaving the cluster gracefully.
    Leave {
        /// The leaving node's name.
        name: String,
    },
    /// The first frame of each TCP session, both ways: who is speaking, and whether an
    /// anti-entropy exchange follows (`false`: a direct liveness check, nothing follows).
    /// A node that is not an active member answers none.
    Hello {
        /// The speaker's identity (the joiner needs the seed's name to announce to it).
        node: NodeId,
        /// Whether the push/pull session follows.
        exchange: bool,
        /// Fresh random bytes the answer must carry back, and that every later frame of
        /// the session authenticates: a recorded session does not replay.
        challenge: Challenge,
        /// In the answer: the caller's challenge; `None` in the caller's hello.
        answer: Option<Challenge>,
    },
    /// The answer, instead of a hello, of a node that has no room for the connection (too
    /// many from one IP, waiting, or in sessions): it is alive, only busy. Then it closes.
    Busy {
        /// The busy node's identity.
        node: NodeId,
        /// The caller's challenge, when its hello had arrived; `None` when refused before.
        answer: Option<Challenge>,
        /// The busy node's clock, in Unix seconds: an answer without the challenge counts
        /// only when this is recent.
        at: u64,
    },
}

impl Message {
    fn kind(&self) -> u8 {
        match self {
            Message::Swim(_) => 1,
            Message::Services(_) => 2,
            Message::Digest(_) => 3,
            Message::Summary(_) => 4,
            Message::Records(_) => 5,
            Message::Leave { .. } => 6,
            Message::Hello { .. } => 7,
            Message::Busy { .. } => 8,
        }
    }

    /// The message's name, for logs and counters.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Swim(_) => "swim",
            Message::Services(_) => "services",
            Message::Digest(_) => "digest",
            Message::Summary(_) => "summary",
            Message::Records(_) => "records",
            Message::Leave { .. } => "leave",
            Message::Hello { .. } => "hello",
            Message::Busy { .. } => "busy",
        }
    }
}

/// Why a message could not be framed. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The frame would be `len` bytes, over the context's `max`.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Size of the frame.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The body could not be serialised.
    #[error("can't serialise the body: {0}")]
    Serialize(String),
    /// The body could not be sealed.
    #[error(transparent)]
    Encrypt(#[from] super::crypto::SealError),
}

/// Why a frame was dropped. Every variant: dropped, state unaffected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the header.
    #[error("frame of {0} bytes is shorter than the header")]
    TooShort(usize),
    /// Longer than the context allows.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Size of the frame.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a Sidecar frame.
    #[error("bad magic")]
    BadMagic,
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// The frame belongs to another cluster.
    #[error("frame from another cluster")]
    OtherCluster,
    /// Sealed, but no key of the ring authenticates it (wrong key or tampered).
    #[error("can't decrypt the frame (wrong key or tampered)")]
    Decrypt,
    /// Plaintext, but keys are configured: unauthenticated traffic is refused.
    #[error("plaintext frame refused: gossip keys are configured")]
    PlaintextRefused,
    /// Sealed, but this node has no keys (SIDECAR_GOSSIP_KEYS unset).
    #[error("encrypted frame refused: no gossip keys configured")]
    NoKeys,
    /// A message kind this build does not know.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The header or body does not parse.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The body holds more records or hosts than one frame may ([`super::limits`]).
    #[error(transparent)]
    OverLimit(#[from] OverLimit),
}

impl DecodeError {
    /// A short stable name for counters (`too_short`, `other_cluster`, `decrypt`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::TooShort(_) => "too_short",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::BadMagic => "bad_magic",
            DecodeError::UnsupportedVersion(_) => "unsupported_version",
            DecodeError::OtherCluster => "other_cluster",
            DecodeError::Decrypt => "decrypt",
            DecodeError::PlaintextRefused => "plaintext_refused",
            DecodeError::NoKeys => "no_keys",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::OverLimit(_) => "over_limit",
        }
    }
}

/// Frames `message` for `ctx`: header, body, sealed when `ctx` has keys.
pub fn encode(message: &Message, ctx: &FrameContext<'_>) -> Result<Vec<u8>, EncodeError> {
    let flags = if ctx.keys.is_some() {
        FLAG_ENCRYPTED
    } else {
        0
    };
    let header = header(ctx.cluster, flags, message.kind());
    let body = body_of(message)?;
    let mut frame = Vec::with_capacity(HEADER_LEN + SEALING + body.len());
    frame.extend_from_slice(&header);
    match ctx.keys {
        Some(keys) => {
            let sender = ctx.sender.to_be_bytes();
            frame.extend_from_slice(&sender);
            frame.extend_from_slice(&keys.seal(&ctx.aad(&header, sender), &body)?);
        }
        None => frame.extend_from_slice(&body),
    }
    if frame.len() > ctx.max_size {
        return Err(EncodeError::TooLarge {
            len: frame.len(),
            max: ctx.max_size,
        });
    }
    Ok(frame)
}

/// Checks and opens one frame. See [`DecodeError`] for what is refused.
pub fn decode(frame: &[u8], ctx: &FrameContext<'_>) -> Result<Message, DecodeError> {
    open(frame, ctx).map(|opened| opened.message)
}

/// [`decode`], telling who sealed the frame.
pub fn open(frame: &[u8], ctx: &FrameContext<'_>) -> Result<Opened, DecodeError> {
    let (header, rest) = check_header(frame, ctx)?;
    let kind = header[HEADER_LEN - 1];
    let encrypted = header[3] & FLAG_ENCRYPTED != 0;
    match (ctx.keys, encrypted) {
        (Some(keys), true) => {
            let (sender, sealed) = rest
                .split_first_chunk::<SENDER_LEN>()
                .ok_or(DecodeError::Decrypt)?;
            let aad = ctx.aad(header, *sender);
            let body = keys.open(&aad, sealed).map_err(|_| DecodeError::Decrypt)?;
            Ok(Opened {
                message: message_of(kind, &body)?,
                sender: Some(u64::from_be_bytes(*sender)),
            })
        }
        (Some(_), false) => Err(DecodeError::PlaintextRefused),
        (None, true) => Err(DecodeError::NoKeys),
        (None, false) => Ok(Opened {
            message: message_of(kind, rest)?,
            sender: None,
        }),
    }
}

/// The header's checks: size, magic, version, cluster, flags.
fn check_header<'f>(
    frame: &'f [u8],
    ctx: &FrameContext<'_>,
) -> Result<(&'f [u8; HEADER_LEN], &'f [u8]), DecodeError> {
    if frame.len() > ctx.max_size {
        return Err(DecodeError::TooLarge {
            len: frame.len(),
            max: ctx.max_size,
        });
    }
    let (header, rest) = frame
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(DecodeError::TooShort(frame.len()))?;
    let [m0, m1, version, flags, c0, c1, c2, c3, c4, c5, c6, c7, _] = *header;
    if [m0, m1] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    if u64::from_be_bytes([c0, c1, c2, c3, c4, c5, c6, c7]) != ctx.cluster.0 {
        return Err(DecodeError::OtherCluster);
    }
    if flags & !FLAG_ENCRYPTED != 0 {
        return Err(DecodeError::Malformed(format!(
            "unknown flags {flags:#04x}"
        )));
    }
    Ok((header, rest))
}

fn header(cluster: ClusterId, flags: u8, kind: u8) -> [u8; HEADER_LEN] {
    let [c0, c1, c2, c3, c4, c5, c6, c7] = cluster.0.to_be_bytes();
    let [m0, m1] = MAGIC;
    [m0, m1, VERSION, flags, c0, c1, c2, c3, c4, c5, c6, c7, kind]
}

fn body_of(message: &Message) -> Result<Vec<u8>, EncodeError> {
    fn post<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
        postcard::to_stdvec(value).map_err(|e| EncodeError::Serialize(e.to_string()))
    }
    match message {
        Message::Swim(bytes) => Ok(bytes.clone()),
        Message::Services(records) | Message::Records(records) => post(records),
        Message::Digest(digest) => post(digest),
        Message::Summary(summary) => post(summary),
        Message::Leave { name } => post(name),
        Message::Hello {
            node,
            exchange,
            challenge,
            answer,
        } => post(&(node, exchange, challenge, answer)),
        Message::Busy { node, answer, at } => post(&(node, answer, at)),
    }
}

fn message_of(kind: u8, body: &[u8]) -> Result<Message, DecodeError> {
    Ok(match kind {
        1 => Message::Swim(body.to_vec()),
        2 => Message::Services(parse_records(body)?),
        3 => {
            check_count(body, "hosts", MAX_HOSTS)?;
            Message::Digest(parse(body)?)
        }
        4 => Message::Summary(parse(body)?),
        5 => Message::Records(parse_records(body)?),
        6 => Message::Leave { name: parse(body)? },
        7 => {
            let (node, exchange, challenge, answer) = parse(body)?;
            Message::Hello {
                node,
                exchange,
                challenge,
                answer,
            }
        }
        8 => {
            let (node, answer, at) = parse(body)?;
            Message::Busy { node, answer, at }
        }
        other => return Err(DecodeError::UnknownKind(other)),
    })
}

/// A record list within the limits: the count is checked before decoding, the hosts after.
fn parse_records(body: &[u8]) -> Result<Vec<WireService>, DecodeError> {
    check_count(body, "records", MAX_RECORDS)?;
    let records: Vec<WireService> = parse(body)?;
    check_records(&records)?;
    Ok(records)
}

/// The whole body as one postcard value: trailing bytes are malformed too.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        ))),
        Err(e) => Err(DecodeError::Malformed(e.to_string())),
    }
}

#[cfg(test)]
#[path = "tests/wire.rs"]
mod tests;
