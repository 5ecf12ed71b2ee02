//! The front door of the HTTP server: a connection whose first request is `GET /api/watch`
//! (or `/watch`) is served here, by a minimal HTTP/1.1 writer; every other connection goes to
//! actix-web untouched (its first bytes are only peeked, never read).
//!
//! Why (docs/ARCHITECTURE.md §4, "The HTTP API and its watch streams"): actix-web's HTTP/1 dispatcher keeps an 8 KiB
//! read and an 8 KiB write buffer for each connection and copies every document into the
//! write buffer, which keeps the document's size for the life of the connection: about 14 KB
//! per idle watch stream with a 3.5 KB document, 23 KB with a 12 KB one. Here an idle stream
//! holds its `watch` receiver and a few hundred bytes of state, and writes the shared document
//! straight from the snapshot's `Bytes`. The decisions (parameters, `since`, the limit of
//! streams) are [`watch::open`]'s, the same as on actix-web's path, which still serves a watch
//! request that is not the first of its connection.
//!
//! Must not: answer anything but a watch request, or read from a connection it hands on.

use std::io;
use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::StatusCode;
use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::time::{Instant, sleep, timeout_at};

use super::state::ApiState;
use super::watch::{self, Refusal, Watcher};
use crate::clock::{Clock, SystemClock};

/// The two request lines served here, up to the end of the path.
const WATCH_PATHS: [&[u8]; 2] = [b"GET /api/watch", b"GET /watch"];
/// Longest request head a watch request may have.
const MAX_HEAD: usize = 8 * 1024;
/// How often the first bytes are looked at again while they are too few to decide.
const PEEK_AGAIN: Duration = Duration::from_millis(10);

/// What the first bytes of a connection ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FirstRequest {
    /// `GET /api/watch` or `GET /watch`, then a space or a query.
    Watch,
    /// Anything else: actix-web's.
    Other,
    /// Too few bytes to tell.
    Undecided,
}

/// Classifies the first bytes of a connection. Pure.
pub(super) fn classify(first: &[u8]) -> FirstRequest {
    let mut undecided = false;
    for path in WATCH_PATHS {
        let shared = first.len().min(path.len());
        if first[..shared] != path[..shared] {
            continue;
        }
        match first.get(path.len()) {
            Some(b' ' | b'?') => return FirstRequest::Watch,
            Some(_) => {}
            None => undecided = true,
        }
    }
    if undecided {
        FirstRequest::Undecided
    } else {
        FirstRequest::Other
    }
}

/// Peeks at the first bytes until they tell. `None` when the client sent too little to tell
/// by `deadline` (the end of its time for a request head), closed, or failed: the connection
/// is dropped.
pub(super) async fn first_request(io: &TcpStream, deadline: Instant) -> Option<FirstRequest> {
    let mut first = [0u8; 16];
    loop {
        let peeked = match timeout_at(deadline, io.peek(&mut first)).await {
            Ok(Ok(n)) if n > 0 => classify(&first[..n]),
            _ => return None,
        };
        if peeked != FirstRequest::Undecided {
            return Some(peeked);
        }
        timeout_at(deadline, sleep(PEEK_AGAIN)).await.ok()?;
    }
}

/// The parts of a watch request head that matter.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct WatchRequest {
    /// The matched route, for the metrics: `/api/watch` or `/watch`.
    pub(super) route: &'static str,
    /// The query string (without `?`).
    pub(super) query: String,
    /// HTTP/1.0: no chunked encoding, the end of the body is the end of the connection.
    pub(super) http10: bool,
}

/// Why a request head is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeadError {
    /// Not a well-formed HTTP/1.x head, or not a watch request (400).
    Malformed,
    /// Longer than [`MAX_HEAD`] (431).
    TooLarge,
}

/// Parses a complete request head; `Ok(None)` while it is incomplete. Pure.
pub(super) fn parse_head(head: &[u8]) -> Result<Option<WatchRequest>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if head.len() >= MAX_HEAD => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(HeadError::Malformed),
    }
    let target = request.path.unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let route = match path {
        "/api/watch" => "/api/watch",
        "/watch" => "/watch",
        _ => return Err(HeadError::Malformed),
    };
    Ok(Some(WatchRequest {
        route,
        query: query.to_owned(),
        http10: request.version == Some(0),
    }))
}

/// Serves one connection whose first request is a watch request, to its end.
pub(super) async fn serve(mut io: TcpStream, api: ApiState, deadline: Instant) {
    let started = Instant::now();
    let request = match read_head(&mut io, deadline).await {
        Ok(request) => request,
        Err(Some(error)) => return refuse_head(&mut io, error).await,
        Err(None) => return,
    };
    let opened = watch::open(&api, &request.query);
    let status = opened
        .as_ref()
        .map_or_else(Refusal::status, |_| StatusCode::OK);
    let written = match &opened {
        Ok(_) => write_stream_head(&mut io, request.http10).await,
        Err(refusal) => write_refusal(&mut io, refusal).await,
    };
    api.metrics()
        .http_request(request.route, "GET", status.as_u16(), started.elapsed());
    drop(api);
    if let (Ok(watcher), Ok(())) = (opened, written) {
        let _ = io.set_nodelay(true);
        stream(io, watcher, !request.http10).await;
    }
}

/// Reads the request head (at most [`MAX_HEAD`] bytes, by `deadline`). `Err(None)`: the
/// client went away or was too slow; nothing to answer.
async fn read_head(
    io: &mut TcpStream,
    deadline: Instant,
) -> Result<WatchRequest, Option<HeadError>> {
    let mut head = Vec::with_capacity(1024);
    let mut piece = [0u8; 1024];
    loop {
        let n = match timeout_at(deadline, io.read(&mut piece)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return Err(None),
        };
        head.extend_from_slice(&piece[..n.min(MAX_HEAD - head.len())]);
        if let Some(request) = parse_head(&head).map_err(Some)? {
            return Ok(request);
        }
    }
}

/// The current time as an HTTP date (`Date:`).
fn http_date() -> String {
    let now = SystemClock.now().unix_nanos();
    let since_epoch = Duration::from_nanos(u64::try_from(now).unwrap_or(0));
    httpdate::fmt_http_date(UNIX_EPOCH + since_epoch)
}

async fn write_stream_head(io: &mut TcpStream, http10: bool) -> io::Result<()> {
    let framing = if http10 {
        "connection: close"
    } else {
        "transfer-encoding: chunked"
    };
    let version = if http10 { "1.0" } else { "1.1" };
    let head = format!(
        "HTTP/{version} 200 OK\r\ncontent-type: application/json\r\n{framing}\r\ndate: {}\r\n\r\n",
        http_date()
    );
    io.write_all(head.as_bytes()).await
}

/// A whole answer with a body, then the end of the connection.
async fn write_answer(
    io: &mut TcpStream,
    status: StatusCode,
    extra: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\
         connection: close\r\ndate: {}\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
        http_date()
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body).await?;
    io.shutdown().await
}

async fn write_refusal(io: &mut TcpStream, refusal: &Refusal) -> io::Result<()> {
    let extra = refusal
        .retry_after()
        .map_or_else(String::new, |secs| format!("retry-after: {secs}\r\n"));
    write_answer(io, refusal.status(), &extra, &refusal.body()).await
}

async fn refuse_head(io: &mut TcpStream, error: HeadError) {
    let (status, message) = match error {
        HeadError::Malformed => (StatusCode::BAD_REQUEST, "Bad Request"),
        HeadError::TooLarge => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        ),
    };
    let body = serde_json::json!({"message": message, "status": "error"}).to_string();
    let _ = write_answer(io, status, "", body.as_bytes()).await;
}

/// Writes documents until the snapshots end (then the last chunk) or the client goes: a read
/// that ends or fails (a half-closed client has gone, as actix-web is set up to treat it).
async fn stream(mut io: TcpStream, watcher: Watcher, chunked: bool) {
    let (reader, writer) = io.split();
    tokio::select! {
        () = client_gone(reader) => {}
        () = write_documents(writer, watcher, chunked) => {}
    }
}

async fn client_gone(mut reader: ReadHalf<'_>) {
    let mut ignored = [0u8; 64];
    while let Ok(1..) = reader.read(&mut ignored).await {}
}

async fn write_documents(mut writer: WriteHalf<'_>, mut watcher: Watcher, chunked: bool) {
    while let Some(document) = watcher.next_document().await {
        let written = if chunked {
            let size = format!("{:X}\r\n", document.len());
            let mut chunk = Buf::chain(size.as_bytes(), document).chain(&b"\r\n"[..]);
            writer.write_all_buf(&mut chunk).await
        } else {
            writer.write_all(&document).await
        };
        if written.is_err() {
            return;
        }
    }
    if chunked {
        let _ = writer.write_all(b"0\r\n\r\n").await;
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_of_the_watch_paths_comes_in_by_the_front_door() {
        for watch in [
            "GET /api/watch HTTP/1.1",
            "GET /watch?by_service=false",
            "GET /api/watch?",
        ] {
            assert_eq!(classify(watch.as_bytes()), FirstRequest::Watch, "{watch}");
        }
        for other in [
            "GET /api/watcher HTTP/1.1",
            "GET /api/state.json",
            "POST /api/watch HTTP/1.1",
            "OPTIONS /api/watch",
            "GET /watch/ HTTP/1.1",
            "\x16\x03\x01",
        ] {
            assert_eq!(classify(other.as_bytes()), FirstRequest::Other, "{other}");
        }
        for short in ["", "G", "GET /", "GET /api/watch", "GET /wat"] {
            assert_eq!(
                classify(short.as_bytes()),
                FirstRequest::Undecided,
                "{short}"
            );
        }
    }

    #[test]
    fn a_watch_head_gives_its_route_query_and_version() {
        let head = b"GET /watch?by_service=false&since=x HTTP/1.0\r\nHost: a\r\n\r\n";
        let request = parse_head(head).unwrap().unwrap();
        assert_eq!(request.route, "/watch");
        assert_eq!(request.query, "by_service=false&since=x");
        assert!(request.http10);
        let head = b"GET /api/watch HTTP/1.1\r\nHost: a\r\n\r\n";
        let request = parse_head(head).unwrap().unwrap();
        assert_eq!((request.route, request.query.as_str()), ("/api/watch", ""));
        assert!(!request.http10);
    }

    #[test]
    fn an_incomplete_head_waits_and_a_bad_or_huge_one_is_refused() {
        assert_eq!(parse_head(b"GET /api/watch HTTP/1.1\r\nHost"), Ok(None));
        assert_eq!(
            parse_head(b"GET /api/watch HTTP/9\r\n\r\n"),
            Err(HeadError::Malformed)
        );
        let mut huge = b"GET /api/watch HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD, b'a');
        assert_eq!(parse_head(&huge), Err(HeadError::TooLarge));
    }
}
