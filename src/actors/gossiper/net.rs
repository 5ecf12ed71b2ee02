//! The Gossiper's I/O, free of actor state: binding the gossip ports, the datagram and
//! connection streams, and the TCP sessions (join/anti-entropy and the direct liveness check).
//!
//! Every read is bounded in size and time (the exchange's limits); nothing here panics on
//! what a peer sends.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

use super::keys::GossipKeys;
use crate::catalog::{Service, Snapshot};
use crate::gossip::crypto::KeyRing;
use crate::gossip::datagram::{DatagramCodec, DatagramRefused};
use crate::gossip::exchange::{self, ExchangeError, Session};
use crate::gossip::handshake;
use crate::gossip::membership::Checked;
use crate::gossip::node_id::NodeId;
use crate::gossip::wire::{
    CHALLENGE_LEN, Challenge, ClusterId, FrameContext, MAX_DATAGRAM, Message, encode,
};

/// The bound gossip ports (TCP and UDP on the same port number), shared by every instance
/// of the Gossiper so that a restart keeps them.
#[derive(Debug)]
pub struct GossipSockets {
    /// The TCP listener (joins, anti-entropy, liveness checks).
    pub tcp: std::net::TcpListener,
    /// The UDP socket (SWIM).
    pub udp: std::net::UdpSocket,
}

impl GossipSockets {
    /// Binds TCP on `ip:port` first, then UDP on the port TCP got. With `port` 0 a port
    /// whose UDP twin is taken is given up and another one tried (a few times).
    pub fn bind(ip: IpAddr, port: u16) -> io::Result<GossipSockets> {
        let mut last = None;
        for _ in 0..8 {
            let tcp = std::net::TcpListener::bind(SocketAddr::new(ip, port))?;
            let actual = tcp.local_addr()?;
            match std::net::UdpSocket::bind(actual) {
                Ok(udp) => {
                    tcp.set_nonblocking(true)?;
                    udp.set_nonblocking(true)?;
                    return Ok(GossipSockets { tcp, udp });
                }
                Err(e) if port == 0 => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free gossip port")))
    }

    /// The bound port.
    pub fn port(&self) -> io::Result<u16> {
        Ok(self.tcp.local_addr()?.port())
    }

    /// Tokio handles on duplicates of both sockets (for one Gossiper instance).
    pub(super) fn tokio(&self) -> io::Result<(Arc<UdpSocket>, TcpListener)> {
        let udp = UdpSocket::from_std(self.udp.try_clone()?)?;
        let tcp = TcpListener::from_std(self.tcp.try_clone()?)?;
        Ok((Arc::new(udp), tcp))
    }
}

/// One datagram as received (at most one byte over the limit, so oversize is detected).
pub(super) struct Datagram(pub(super) Vec<u8>);

/// One accepted TCP connection.
pub(super) struct Accepted(pub(super) TcpStream);

/// The datagrams arriving on `socket`, forever.
pub(super) fn datagrams(socket: Arc<UdpSocket>) -> impl Stream<Item = Datagram> {
    futures_util::stream::unfold(socket, |socket| async move {
        loop {
            let mut buf = vec![0_u8; MAX_DATAGRAM + 1];
            match socket.recv_from(&mut buf).await {
                Ok((n, _)) => {
                    buf.truncate(n);
                    return Some((Datagram(buf), socket));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
}

/// The connections accepted on `listener`, forever.
pub(super) fn connections(listener: TcpListener) -> impl Stream<Item = Accepted> {
    futures_util::stream::unfold(listener, |listener| async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => return Some((Accepted(stream), listener)),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
}

/// What a TCP session needs, owned so that it can run on its own task.
#[derive(Clone)]
pub(super) struct Wire {
    pub(super) cluster: ClusterId,
    /// The key ring in force (replaceable at run time).
    pub(super) keys: GossipKeys,
    /// This node's name: what sealed frames name as their sender.
    pub(super) name: Arc<str>,
    pub(super) timeout: Duration,
    /// The IP outgoing connections are made from (the bound gossip IP, unless unspecified),
    /// so that peers count them against this node's IP and not whichever the kernel picks.
    pub(super) source: Option<IpAddr>,
    /// Bytes through every TCP session, shared by all of them.
    pub(super) tcp: Arc<TcpBytes>,
    /// Frames over [`crate::gossip::limits::SMALL_FRAME`] are read by one session at a
    /// time: one permit, shared by every session of this Gossiper.
    pub(super) bulk: Arc<tokio::sync::Semaphore>,
}

/// Bytes sent and received over the gossip TCP sessions, failed ones included.
#[derive(Debug, Default)]
pub(super) struct TcpBytes {
    pub(super) sent: AtomicU64,
    pub(super) received: AtomicU64,
}

/// A stream that adds the bytes through it to [`TcpBytes`].
pub(super) struct Counted<S> {
    inner: S,
    bytes: Arc<TcpBytes>,
}

/// A gossip TCP connection.
pub(super) type Conn = Counted<TcpStream>;

impl Conn {
    /// The socket.
    pub(super) fn stream(&self) -> &TcpStream {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        (self.bytes.received).fetch_add(read as u64, Ordering::Relaxed);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &poll {
            (self.bytes.sent).fetch_add(*n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Wire {
    /// The context of this node's TCP frames under `ring`.
    fn stream_ctx<'a>(&'a self, ring: Option<&'a KeyRing>) -> FrameContext<'a> {
        FrameContext::stream(self.cluster, ring).sealed_by(&self.name)
    }

    /// The exchange's session after the hellos of challenges `initiator` and `responder`.
    fn session<'a>(
        &'a self,
        ring: Option<&'a KeyRing>,
        initiator: &Challenge,
        responder: &Challenge,
    ) -> Session<'a> {
        Session {
            frame: self.stream_ctx(ring).bound(initiator, responder),
            timeout: self.timeout,
            bulk: Some(&self.bulk),
        }
    }

    /// `stream`, counted.
    pub(super) fn conn(&self, stream: TcpStream) -> Conn {
        Counted {
            inner: stream,
            bytes: Arc::clone(&self.tcp),
        }
    }

    /// A connection to `addr` from [`Wire::source`], within the timeout.
    async fn connect(&self, addr: SocketAddr) -> Result<Conn, ExchangeError> {
        let connect = async {
            let socket = match addr {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if let Some(ip) = self.source.filter(|ip| ip.is_ipv4() == addr.is_ipv4()) {
                socket.bind(SocketAddr::new(ip, 0))?;
            }
            socket.connect(addr).await
        };
        let stream = tokio::time::timeout(self.timeout, connect)
            .await
            .map_err(|_| ExchangeError::Timeout(self.timeout))??;
        Ok(self.conn(stream))
    }

    /// The datagram carrying the SWIM payload `swim` ([`DatagramCodec::seal`]).
    pub(super) fn datagram(&self, swim: Vec<u8>) -> Option<Vec<u8>> {
        let ring = self.keys.current();
        let codec = DatagramCodec::new(self.cluster, ring.as_deref(), &self.name);
        codec.seal(swim).ok()
    }

    /// The SWIM payload of a received datagram ([`DatagramCodec::open`]).
    pub(super) fn open_datagram(&self, frame: &[u8]) -> Result<Vec<u8>, DatagramRefused> {
        let ring = self.keys.current();
        DatagramCodec::new(self.cluster, ring.as_deref(), &self.name).open(frame)
    }

    /// Tells the peer on `stream` that this node (`me`) is busy, carrying back its
    /// challenge when its hello was read, stamped `now` (Unix seconds); without waiting for
    /// anything. Best effort: a full socket buffer just closes it.
    pub(super) fn refuse(
        &self,
        stream: &TcpStream,
        me: &NodeId,
        answer: Option<Challenge>,
        now: u64,
    ) {
        let ring = self.keys.current();
        let busy = handshake::busy(me, answer, now);
        if let Ok(frame) = encode(&busy, &self.stream_ctx(ring.as_deref())) {
            let mut prefixed = u32::try_from(frame.len())
                .unwrap_or(0)
                .to_be_bytes()
                .to_vec();
            prefixed.extend_from_slice(&frame);
            let _ = stream.try_write(&prefixed);
        }
    }
}

/// What one exchange brought: the peer's identity and its records.
pub(super) struct Exchanged {
    pub(super) peer: NodeId,
    pub(super) received: Vec<Service>,
    /// How many records we sent.
    pub(super) sent: usize,
}

/// A fresh random challenge for a hello.
fn challenge() -> Challenge {
    let mut challenge = [0_u8; CHALLENGE_LEN];
    rand::fill(&mut challenge[..]);
    challenge
}

async fn send_hello<S: AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &FrameContext<'_>,
    (me, exchange): (&NodeId, bool),
    challenge: Challenge,
    answer: Option<Challenge>,
    timeout: Duration,
) -> Result<(), ExchangeError> {
    let frame = encode(&handshake::hello(me, exchange, challenge, answer), ctx)?;
    exchange::write_frame(stream, &frame, timeout).await
}

/// Reads the first frame of a connection ([`handshake::greeting`]).
async fn recv_greeting<S: AsyncRead + Unpin>(
    stream: &mut S,
    ctx: &FrameContext<'_>,
    timeout: Duration,
) -> Result<Message, ExchangeError> {
    let frame = exchange::read_frame(stream, handshake::MAX_HELLO, timeout).await?;
    handshake::greeting(&frame, ctx)
}

/// Opens a session to `addr` and runs the push/pull exchange as the initiator.
pub(super) async fn initiate(
    addr: SocketAddr,
    me: NodeId,
    local: Arc<Snapshot>,
    wire: Wire,
) -> Result<Exchanged, ExchangeError> {
    let ring = wire.keys.current();
    let ctx = wire.stream_ctx(ring.as_deref());
    let mut stream = wire.connect(addr).await?;
    let mine = challenge();
    send_hello(&mut stream, &ctx, (&me, true), mine, None, wire.timeout).await?;
    let greeting = recv_greeting(&mut stream, &ctx, wire.timeout).await?;
    let (peer, theirs) = handshake::answer_to_caller(greeting, &mine)?;
    let session = wire.session(ring.as_deref(), &mine, &theirs);
    let outcome = exchange::initiate(&mut stream, local.state(), &session).await?;
    Ok(Exchanged {
        peer,
        received: outcome.received,
        sent: outcome.sent,
    })
}

/// An accepted connection whose hello arrived.
pub(super) struct Greeted {
    pub(super) conn: Conn,
    pub(super) peer: NodeId,
    /// Whether the peer asks for an exchange (else it is a liveness check).
    pub(super) exchange: bool,
    /// The peer's challenge, to carry back.
    pub(super) challenge: Challenge,
}

/// Waits up to `deadline` for the hello of an accepted connection.
pub(super) async fn await_hello(
    mut conn: Conn,
    wire: Wire,
    deadline: Duration,
) -> Result<Greeted, ExchangeError> {
    let ring = wire.keys.current();
    let ctx = wire.stream_ctx(ring.as_deref());
    let hello = handshake::caller_hello(recv_greeting(&mut conn, &ctx, deadline).await?)?;
    Ok(Greeted {
        conn,
        peer: hello.node,
        exchange: hello.exchange,
        challenge: hello.challenge,
    })
}

/// Answers a liveness check with this node's hello, when `active` (a node that is leaving
/// or was declared down answers nothing, so the checker counts it gone).
pub(super) async fn answer_check(greeted: Greeted, me: NodeId, active: bool, wire: Wire) {
    let Greeted {
        mut conn,
        challenge: theirs,
        ..
    } = greeted;
    if active {
        let ring = wire.keys.current();
        let ctx = wire.stream_ctx(ring.as_deref());
        let hello = send_hello(
            &mut conn,
            &ctx,
            (&me, false),
            challenge(),
            Some(theirs),
            wire.timeout,
        );
        let _ = hello.await;
    }
}

/// Runs the exchange a greeted peer asked for, as the responder; `None` when not `active`
/// (nothing is answered).
pub(super) async fn respond(
    greeted: Greeted,
    me: NodeId,
    active: bool,
    local: Arc<Snapshot>,
    wire: Wire,
) -> Result<Option<Exchanged>, ExchangeError> {
    let Greeted {
        mut conn,
        peer,
        challenge: theirs,
        ..
    } = greeted;
    if !active {
        return Ok(None);
    }
    let ring = wire.keys.current();
    let ctx = wire.stream_ctx(ring.as_deref());
    let mine = challenge();
    send_hello(
        &mut conn,
        &ctx,
        (&me, true),
        mine,
        Some(theirs),
        wire.timeout,
    )
    .await?;
    let session = wire.session(ring.as_deref(), &theirs, &mine);
    let outcome = exchange::respond(&mut conn, local.state(), &session).await?;
    Ok(Some(Exchanged {
        peer,
        received: outcome.received,
        sent: outcome.sent,
    }))
}

/// The direct liveness check of `node` at `now` (Unix seconds), within `timeout`: alive when
/// it answers this check's hello as itself, or says it is busy as itself
/// ([`handshake::check_says_alive`]); refused when its host refuses the connection (nothing
/// listens: the process is gone); silent, closed, someone else or a stale answer is no answer.
pub(super) async fn probe(
    node: NodeId,
    me: NodeId,
    wire: Wire,
    timeout: Duration,
    now: u64,
) -> Checked {
    let check = async {
        let ring = wire.keys.current();
        let ctx = wire.stream_ctx(ring.as_deref());
        let mut stream = match wire.connect(node.addr).await {
            Ok(stream) => stream,
            Err(ExchangeError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Checked::Refused;
            }
            Err(_) => return Checked::NoAnswer,
        };
        let mine = challenge();
        let hello = send_hello(&mut stream, &ctx, (&me, false), mine, None, timeout);
        let greeting = match hello.await {
            Ok(()) => recv_greeting(&mut stream, &ctx, timeout).await,
            Err(e) => Err(e),
        };
        match greeting {
            Ok(g) if handshake::check_says_alive(&g, &node.name, &mine, now) => Checked::Alive,
            _ => Checked::NoAnswer,
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or(Checked::NoAnswer)
}
