//! The TCP side of the protocol: length-prefixed frames over any async stream, and the
//! push/pull anti-entropy session (tokio only, no actix; the caller owns the socket).
//!
//! The session's logic is [`PushPull`], a pure state machine; [`initiate`] and [`respond`]
//! only carry its frames over the stream (the cluster simulation carries them over its
//! modelled TCP).
//!
//! A stream frame is a u32 big-endian length followed by that many bytes of a
//! [`super::wire`] frame. Every read has a size limit (checked before anything is allocated)
//! and a timeout, so a peer that sends garbage, a huge length or nothing ends the session
//! with an error, never a panic, a hang or an unbounded allocation.
//!
//! # The session: two frames when in sync, five when not
//!
//! ```text
//!  initiator                                   responder
//!     ── Summary(S_i) ────────────────────────────►   S_r == S_i: answer Summary(S_r), done
//!     ◄──────────────────────────── Summary(S_r) | Digest(D_r)
//!  on a Summary: done. On a Digest:
//!     ── Digest(D_i) ─────────────────────────────►   plan_r = compare(local_r, D_i)
//!     ◄────────── Records(records_for(local_r, plan_r.send))
//!  plan_i = compare(local_i, D_r)
//!     ── Records(records_for(local_i, plan_i.send)) ►
//! ```
//!
//! Most exchanges of a steady cluster end after the summaries, a few dozen bytes each way.
//! Each side reads before it writes again, so two large frames never wait on each other. No
//! `Want` is needed: [`compare`] is symmetric, so `plan_i.send` is exactly what the responder
//! lacks (`plan_r.want`). Both sides return the records they received; the caller merges them
//! with `Catalog::apply` (a join, so the two catalogues agree afterwards on every host that
//! differed). A join is the same session, started by the joiner.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::digest::{Digest, compare, records_for};
use super::limits::SMALL_FRAME;
use super::wire::{
    BadStatus, DecodeError, EncodeError, FrameContext, Message, WireService, decode, encode,
};
use crate::catalog::{Service, ServicesState};

/// Default timeout of each read and write (memberlist's TCP timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a stream read, write or session failed. The session ended; nothing was merged (the
/// caller only merges what a successful session returns).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the stream in the middle of the session.
    #[error("peer closed the connection")]
    Closed,
    /// A read or write took longer than the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The peer announced a frame longer than the limit; nothing was read past the length.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A frame was refused (other cluster, wrong key, malformed…).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Our own frame could not be built (too large for the limit).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The peer sent a valid message out of turn.
    #[error("expected {expected}, got {got}")]
    Unexpected {
        /// What the protocol called for.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
    /// The peer answered "busy": it is alive but has no room for this session now.
    #[error("peer busy")]
    Busy,
    /// The answer to our hello did not carry our challenge back (a recorded answer).
    #[error("the answer does not carry our challenge (replayed)")]
    Replayed,
    /// A sealed hello named another node than the one whose key hash sealed it.
    #[error("hello sealed by another node than it names")]
    Impostor,
    /// A received record has an unknown status code.
    #[error(transparent)]
    BadRecord(#[from] BadStatus),
}

impl ExchangeError {
    /// A short stable name for counters (`timeout`, `too_large`, `decode.other_cluster`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ExchangeError::Io(_) => "io",
            ExchangeError::Closed => "closed",
            ExchangeError::Timeout(_) => "timeout",
            ExchangeError::TooLarge { .. } => "too_large",
            ExchangeError::Decode(e) => e.kind(),
            ExchangeError::Encode(_) => "encode",
            ExchangeError::Unexpected { .. } => "unexpected",
            ExchangeError::BadRecord(_) => "bad_record",
            ExchangeError::Busy => "peer_busy",
            ExchangeError::Replayed => "replayed",
            ExchangeError::Impostor => "impostor",
        }
    }
}

fn io_error(error: std::io::Error) -> ExchangeError {
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof => ExchangeError::Closed,
        _ => ExchangeError::Io(error),
    }
}

/// Reads one length-prefixed frame of at most `max` bytes within `timeout`.
pub async fn read_frame<R: AsyncRead + Unpin>(
    stream: &mut R,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, ExchangeError> {
    read_gated(stream, max, timeout, None).await
}

/// The gate that frames over [`SMALL_FRAME`] pass one session at a time, and the pass this
/// session holds (kept until the session ends, as its records are).
pub type BulkGate<'g, 'p> = (&'g Semaphore, &'p mut Option<SemaphorePermit<'g>>);

/// [`read_frame`], where a frame over [`SMALL_FRAME`] first waits (within the same
/// timeout) for the `gate`'s one pass.
async fn read_gated<R: AsyncRead + Unpin>(
    stream: &mut R,
    max: usize,
    timeout: Duration,
    gate: Option<BulkGate<'_, '_>>,
) -> Result<Vec<u8>, ExchangeError> {
    let read = async {
        let mut prefix = [0_u8; 4];
        stream.read_exact(&mut prefix).await.map_err(io_error)?;
        let len = u32::from_be_bytes(prefix);
        let too_large = || ExchangeError::TooLarge {
            len: u64::from(len),
            max,
        };
        let len = usize::try_from(len).map_err(|_| too_large())?;
        if len > max {
            return Err(too_large());
        }
        if let Some((gate, held)) = gate.filter(|(_, held)| len > SMALL_FRAME && held.is_none()) {
            *held = Some(gate.acquire().await.map_err(|_| ExchangeError::Closed)?);
        }
        read_body(stream, len).await
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ExchangeError::Timeout(timeout))?
}

/// Reads `len` bytes, growing the buffer as they arrive (never by more than what has come
/// already, nor past `len`): a peer that announces a large frame and sends little makes
/// this node hold little.
async fn read_body<R: AsyncRead + Unpin>(
    stream: &mut R,
    len: usize,
) -> Result<Vec<u8>, ExchangeError> {
    const FIRST: usize = 16 * 1024;
    let mut frame = Vec::new();
    while frame.len() < len {
        let remaining = len - frame.len();
        if frame.len() == frame.capacity() {
            frame.reserve_exact(remaining.min(frame.len().max(FIRST)));
        }
        let limit = u64::try_from(remaining).unwrap_or(u64::MAX);
        let read = (&mut *stream).take(limit).read_buf(&mut frame).await?;
        if read == 0 {
            return Err(ExchangeError::Closed);
        }
    }
    Ok(frame)
}

/// Writes `frame` with its length prefix and flushes, within `timeout`.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    stream: &mut W,
    frame: &[u8],
    timeout: Duration,
) -> Result<(), ExchangeError> {
    let len = u32::try_from(frame.len()).map_err(|_| ExchangeError::TooLarge {
        len: frame.len() as u64,
        max: u32::MAX as usize,
    })?;
    let write = async {
        stream.write_all(&len.to_be_bytes()).await?;
        stream.write_all(frame).await?;
        stream.flush().await
    };
    tokio::time::timeout(timeout, write)
        .await
        .map_err(|_| ExchangeError::Timeout(timeout))?
        .map_err(io_error)
}

/// How a session frames and bounds its traffic.
#[derive(Clone, Copy, Debug)]
pub struct Session<'a> {
    /// Cluster, keys and the per-frame size limit (normally [`FrameContext::stream`]).
    pub frame: FrameContext<'a>,
    /// Timeout of each read and write; a session takes at most six of them.
    pub timeout: Duration,
    /// Frames over [`SMALL_FRAME`] wait for this gate's one pass (`None`: no gate), which
    /// the session then keeps to its end.
    pub bulk: Option<&'a Semaphore>,
}

/// What a successful session did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records the peer sent: merge them with `Catalog::apply`.
    pub received: Vec<Service>,
    /// How many records we sent.
    pub sent: usize,
}

/// Runs the session as the side that opened the connection. See the module docs.
pub async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: &ServicesState,
    session: &Session<'_>,
) -> Result<Outcome, ExchangeError> {
    let (machine, first) = PushPull::initiator(local);
    send(stream, &first, session).await?;
    drive(stream, machine, local, session).await
}

/// Runs the session as the side that accepted the connection. See the module docs.
pub async fn respond<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    local: &ServicesState,
    session: &Session<'_>,
) -> Result<Outcome, ExchangeError> {
    drive(stream, PushPull::responder(), local, session).await
}

/// Feeds `machine` every frame the peer sends and sends what it answers, until it is done.
async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mut machine: PushPull,
    local: &ServicesState,
    session: &Session<'_>,
) -> Result<Outcome, ExchangeError> {
    let mut held = None;
    loop {
        let received = recv(stream, session, &mut held).await?;
        let step = machine.step(received, local)?;
        if let Some(message) = &step.send {
            send(stream, message, session).await?;
        }
        if let Some(outcome) = step.done {
            return Ok(outcome);
        }
    }
}

/// The push/pull session of the module docs as a pure state machine: what one side sends
/// for each frame it receives, and what it received in the end. [`initiate`] and
/// [`respond`] drive it over a stream; the cluster simulation (`tests/sim.rs`) drives it
/// over its modelled TCP.
#[derive(Clone, Debug)]
pub struct PushPull {
    stage: Stage,
}

#[derive(Clone, Debug)]
enum Stage {
    /// Initiator: sent its summary; awaits a summary (done) or the responder's digest.
    SentSummary(Digest),
    /// Initiator: sent its digest; awaits the responder's records.
    SentDigest(Digest),
    /// Responder: awaits the initiator's summary.
    AwaitSummary,
    /// Responder: sent its digest; awaits the initiator's.
    SentOwnDigest,
    /// Responder: sent this many records; awaits the initiator's.
    SentRecords(usize),
    /// Finished (or failed): nothing more is accepted.
    Over,
}

/// What one side does with a frame it received: send `send` (if any), then stop with
/// `done` (if any), or else wait for the next frame.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// The frame to send now.
    pub send: Option<Message>,
    /// The session is over: what it brought.
    pub done: Option<Outcome>,
}

impl PushPull {
    /// The side that opened the connection, and its first frame (its summary), for the
    /// catalogue `local`.
    pub fn initiator(local: &ServicesState) -> (PushPull, Message) {
        let digest = Digest::of(local);
        let first = Message::Summary(digest.summary());
        let stage = Stage::SentSummary(digest);
        (PushPull { stage }, first)
    }

    /// The side that accepted the connection: it waits for the initiator's summary.
    pub fn responder() -> PushPull {
        PushPull {
            stage: Stage::AwaitSummary,
        }
    }

    /// The frame `received` arrived; `local` is the catalogue this side serves the
    /// session from (the same one every step). A frame out of turn ends the session.
    pub fn step(
        &mut self,
        received: Message,
        local: &ServicesState,
    ) -> Result<Step, ExchangeError> {
        let stage = std::mem::replace(&mut self.stage, Stage::Over);
        let (next, step) = match (stage, received) {
            (Stage::SentSummary(_), Message::Summary(_)) => {
                (Stage::Over, finished(None, 0, vec![]))
            }
            (Stage::SentSummary(digest), Message::Digest(remote)) => {
                (Stage::SentDigest(remote), sending(Message::Digest(digest)))
            }
            (Stage::SentSummary(_), other) => return Err(unexpected("summary or digest", &other)),
            (Stage::SentDigest(remote), Message::Records(records)) => {
                let received = services_of(records)?;
                let ours = records_for(local, &compare(local, &remote).send);
                let sent = ours.len();
                (
                    Stage::Over,
                    finished(Some(Message::Records(ours)), sent, received),
                )
            }
            (Stage::AwaitSummary, Message::Summary(theirs)) => {
                let digest = Digest::of(local);
                let ours = digest.summary();
                if ours == theirs {
                    (
                        Stage::Over,
                        finished(Some(Message::Summary(ours)), 0, vec![]),
                    )
                } else {
                    (Stage::SentOwnDigest, sending(Message::Digest(digest)))
                }
            }
            (Stage::AwaitSummary, other) => return Err(unexpected("summary", &other)),
            (Stage::SentOwnDigest, Message::Digest(remote)) => {
                let records = records_for(local, &compare(local, &remote).send);
                let sent = records.len();
                (Stage::SentRecords(sent), sending(Message::Records(records)))
            }
            (Stage::SentOwnDigest, other) => return Err(unexpected("digest", &other)),
            (Stage::SentRecords(sent), Message::Records(records)) => {
                (Stage::Over, finished(None, sent, services_of(records)?))
            }
            (Stage::SentDigest(_) | Stage::SentRecords(_) | Stage::Over, other) => {
                return Err(unexpected("records", &other));
            }
        };
        self.stage = next;
        Ok(step)
    }
}

fn sending(message: Message) -> Step {
    Step {
        send: Some(message),
        done: None,
    }
}

fn finished(send: Option<Message>, sent: usize, received: Vec<Service>) -> Step {
    Step {
        send,
        done: Some(Outcome { received, sent }),
    }
}

fn services_of(records: Vec<WireService>) -> Result<Vec<Service>, ExchangeError> {
    records
        .into_iter()
        .map(|r| Service::try_from(r).map_err(ExchangeError::from))
        .collect()
}

fn unexpected(expected: &'static str, got: &Message) -> ExchangeError {
    ExchangeError::Unexpected {
        expected,
        got: got.name(),
    }
}

async fn send<W: AsyncWrite + Unpin>(
    stream: &mut W,
    message: &Message,
    session: &Session<'_>,
) -> Result<(), ExchangeError> {
    let frame = encode(message, &session.frame)?;
    write_frame(stream, &frame, session.timeout).await
}

async fn recv<'g, R: AsyncRead + Unpin>(
    stream: &mut R,
    session: &Session<'g>,
    held: &mut Option<SemaphorePermit<'g>>,
) -> Result<Message, ExchangeError> {
    let gate = session.bulk.map(|gate| (gate, held));
    let (max, timeout) = (session.frame.max_size, session.timeout);
    let frame = read_gated(stream, max, timeout, gate).await?;
    Ok(decode(&frame, &session.frame)?)
}

#[cfg(test)]
#[path = "tests/exchange.rs"]
mod tests;
