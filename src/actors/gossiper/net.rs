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
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::catalog::{Service, Snapshot};
use crate::gossip::crypto::KeyRing;
use crate::gossip::exchange::{self, ExchangeError, Session};
use crate::gossip::node_id::NodeId;
use crate::gossip::wire::{ClusterId, FrameContext, MAX_DATAGRAM, Message, decode, encode};

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
    pub(super) keys: Option<Arc<KeyRing>>,
    pub(super) timeout: Duration,
    /// Bytes through every TCP session, shared by all of them.
    pub(super) tcp: Arc<TcpBytes>,
}

/// Bytes sent and received over the gossip TCP sessions, failed ones included.
#[derive(Debug, Default)]
pub(super) struct TcpBytes {
    pub(super) sent: AtomicU64,
    pub(super) received: AtomicU64,
}

/// A stream that adds the bytes through it to [`TcpBytes`].
struct Counted<'a, S> {
    inner: S,
    bytes: &'a TcpBytes,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<'_, S> {
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<'_, S> {
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
    fn session(&self) -> Session<'_> {
        Session {
            frame: FrameContext::stream(self.cluster, self.keys.as_deref()),
            timeout: self.timeout,
        }
    }

    /// A datagram frame of `message`.
    pub(super) fn datagram(&self, message: &Message) -> Option<Vec<u8>> {
        encode(
            message,
            &FrameContext::datagram(self.cluster, self.keys.as_deref()),
        )
        .ok()
    }

    /// Decodes a datagram frame.
    pub(super) fn open_datagram(
        &self,
        frame: &[u8],
    ) -> Result<Message, crate::gossip::wire::DecodeError> {
        decode(
            frame,
            &FrameContext::datagram(self.cluster, self.keys.as_deref()),
        )
    }
}

/// What one exchange brought: the peer's identity and its records.
pub(super) struct Exchanged {
    pub(super) peer: NodeId,
    pub(super) received: Vec<Service>,
    /// How many records we sent.
    pub(super) sent: usize,
}

async fn send_hello<S: AsyncWrite + Unpin>(
    stream: &mut S,
    me: &NodeId,
    exchange: bool,
    wire: &Wire,
) -> Result<(), ExchangeError> {
    let session = wire.session();
    let hello = Message::Hello {
        node: me.clone(),
        exchange,
    };
    let frame = encode(&hello, &session.frame)?;
    exchange::write_frame(stream, &frame, session.timeout).await
}

/// The largest hello frame: an unauthenticated peer can make us allocate only this much
/// before the session proves to be of this cluster (the exchange's frames may be 32 MiB).
const MAX_HELLO: usize = 4096;

async fn recv_hello<S: AsyncRead + Unpin>(
    stream: &mut S,
    wire: &Wire,
) -> Result<(NodeId, bool), ExchangeError> {
    let mut session = wire.session();
    session.frame.max_size = MAX_HELLO;
    let frame = exchange::read_frame(stream, MAX_HELLO, session.timeout).await?;
    match decode(&frame, &session.frame)? {
        Message::Hello { node, exchange } => Ok((node, exchange)),
        other => Err(ExchangeError::Unexpected {
            expected: "hello",
            got: other.name(),
        }),
    }
}

/// Opens a session to `addr` and runs the push/pull exchange as the initiator.
pub(super) async fn initiate(
    addr: SocketAddr,
    me: NodeId,
    local: Arc<Snapshot>,
    wire: Wire,
) -> Result<Exchanged, ExchangeError> {
    let connect = TcpStream::connect(addr);
    let stream = tokio::time::timeout(wire.timeout, connect)
        .await
        .map_err(|_| ExchangeError::Timeout(wire.timeout))??;
    let mut stream = Counted {
        inner: stream,
        bytes: &wire.tcp,
    };
    send_hello(&mut stream, &me, true, &wire).await?;
    let (peer, _) = recv_hello(&mut stream, &wire).await?;
    let outcome = exchange::initiate(&mut stream, local.state(), &wire.session()).await?;
    Ok(Exchanged {
        peer,
        received: outcome.received,
        sent: outcome.sent,
    })
}

/// Serves one accepted connection: answers the hello when `active`, then the exchange if
/// one was asked for. `None` for a liveness check.
pub(super) async fn respond(
    stream: TcpStream,
    me: NodeId,
    active: bool,
    local: Arc<Snapshot>,
    wire: Wire,
) -> Result<Option<Exchanged>, ExchangeError> {
    let mut stream = Counted {
        inner: stream,
        bytes: &wire.tcp,
    };
    let (peer, wants_exchange) = recv_hello(&mut stream, &wire).await?;
    if !active {
        return Ok(None);
    }
    send_hello(&mut stream, &me, wants_exchange, &wire).await?;
    if !wants_exchange {
        return Ok(None);
    }
    let outcome = exchange::respond(&mut stream, local.state(), &wire.session()).await?;
    Ok(Some(Exchanged {
        peer,
        received: outcome.received,
        sent: outcome.sent,
    }))
}

/// The direct liveness check of `node`: alive when it answers a hello as itself within
/// `timeout`; refused, silent, closed or someone else means dead.
pub(super) async fn probe(node: NodeId, me: NodeId, wire: Wire, timeout: Duration) -> bool {
    let check = async {
        let stream = TcpStream::connect(node.addr).await.ok()?;
        let mut stream = Counted {
            inner: stream,
            bytes: &wire.tcp,
        };
        send_hello(&mut stream, &me, false, &wire).await.ok()?;
        let (peer, _) = recv_hello(&mut stream, &wire).await.ok()?;
        Some(peer.name == node.name)
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(true)))
}
