//! A loopback HTTP receiver for listener tests: records every request (head, body, arrival
//! time) and answers with a status after a delay chosen per request. Real sockets, no mocks.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How a receiver answers its n-th request (0-based): status and delay.
pub type Answer = Arc<dyn Fn(usize) -> (u16, Duration) + Send + Sync>;

/// One request as a receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

/// A loopback HTTP server that records every request; `answer(n)` gives the status and the
/// delay before answering the n-th request (0-based).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(
        answer: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Receiver {
        Receiver::start_on("127.0.0.1:0", answer).await
    }

    /// A receiver bound to `addr` (e.g. `0.0.0.0:0` to be reached through the host's name).
    pub async fn start_on(
        addr: &str,
        answer: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Receiver {
        let socket = TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}/sidecar/update", socket.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Answer = Arc::new(answer);
        let sink = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&sink), Arc::clone(&answer)));
            }
        });
        Receiver { url, seen }
    }

    pub fn ok() -> impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static {
        |_| (200, Duration::ZERO)
    }

    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` body), records it, answers and closes.
async fn serve(mut stream: TcpStream, sink: Arc<Mutex<Vec<Received>>>, answer: Answer) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 65536];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let n = {
        let mut seen = sink.lock().unwrap();
        seen.push(Received {
            head,
            body,
            at: Instant::now(),
        });
        seen.len() - 1
    };
    let (status, delay) = answer(n);
    tokio::time::sleep(delay).await;
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A URL where nothing listens (connections are refused).
pub async fn dead_url() -> String {
    let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = socket.local_addr().unwrap();
    drop(socket);
    format!("http://{addr}/sidecar/update")
}
