//! A small HTTP/1.0 client that keeps the headers, undoes chunking, bounds what it reads, and
//! reads at most one document of a stream that does not end.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most a test reads of one answer.
const MAX_BODY: usize = 4 << 20;

/// An HTTP answer: status, headers (names lower-cased), body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

/// One HTTP/1.0 request; the whole answer (the server closes the connection).
pub(crate) fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> Answer {
    let mut stream = connect(addr, method, path, headers, body);
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_BODY as u64)
        .read_to_end(&mut raw)
        .expect("an answer");
    let (head, body) = split_head(&raw).expect("a complete head");
    Answer { body, ..head }
}

/// `GET path` of a stream that does not end: the answer with only its first JSON document
/// as the body, read within 10 s.
pub(crate) fn first_document(addr: SocketAddr, path: &str) -> Answer {
    let mut stream = connect(addr, "GET", path, &[], "");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16_384];
    while Instant::now() < deadline && raw.len() < MAX_BODY {
        let n = stream.read(&mut chunk).expect("the stream is open");
        assert!(n > 0, "the stream ended: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&chunk[..n]);
        let Some((head, body)) = split_head(&raw) else {
            continue;
        };
        let mut documents = serde_json::Deserializer::from_slice(&body).into_iter::<Value>();
        if let Some(Ok(_)) = documents.next() {
            let body = body[..documents.byte_offset()].to_vec();
            return Answer { body, ..head };
        }
    }
    panic!("no document from {path}: {}", String::from_utf8_lossy(&raw));
}

fn connect(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> TcpStream {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: test\r\n");
    for header in headers {
        request.push_str(&format!("{header}\r\n"));
    }
    // actix refuses an HTTP/1.0 POST or PUT without a length (400).
    let has_length = headers.iter().any(|h| h.starts_with("Content-Length:"));
    if !has_length && (!body.is_empty() || ["POST", "PUT"].contains(&method)) {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

/// The status and headers of `raw`, and the body received so far (the data of its complete
/// chunks if it is chunked); `None` until the head is complete.
fn split_head(raw: &[u8]) -> Option<(Answer, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers.get("transfer-encoding").map(String::as_str) == Some("chunked");
    let body = match chunked {
        true => dechunk(&raw[end + 4..]),
        false => raw[end + 4..].to_vec(),
    };
    let answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    Some((answer, body))
}

/// The data of the complete chunks at the start of `body` (`<hex length>\r\n<data>\r\n`…).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end]).ok();
        let Some(size) = size.and_then(|s| usize::from_str_radix(s.trim(), 16).ok()) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || body.len() < start + size + 2 {
            break;
        }
        data.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
    data
}
