//! Checks real HTTP answers against `docs/openapi.json` (used by `tests/openapi.rs`): finds the
//! documented answer for a path, method and status, and checks the headers it declares, the
//! content type and the body against the schema, with JSON Schema 2020-12 (OpenAPI 3.1's
//! dialect) for JSON bodies. Also a small HTTP client that keeps the headers and reads at most
//! one document of a stream.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most a test reads of one answer.
const MAX_BODY: usize = 4 << 20;
/// The CORS headers: a documented answer declares them, or must not carry them.
const CORS_HEADERS: [&str; 2] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
];

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
    if !body.is_empty() || ["POST", "PUT"].contains(&method) {
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

/// The document.
pub(crate) struct Spec {
    doc: Value,
}

impl Spec {
    pub(crate) fn new(doc: Value) -> Spec {
        Spec { doc }
    }

    /// `(path template, method)` of every documented operation.
    pub(crate) fn operations(&self) -> Vec<(String, String)> {
        let methods = ["get", "put", "post", "delete", "options", "head", "patch"];
        let paths = self.doc["paths"].as_object().expect("paths");
        let mut all = Vec::new();
        for (path, item) in paths {
            for method in methods.iter().filter(|m| item.get(**m).is_some()) {
                all.push((path.clone(), (*method).to_owned()));
            }
        }
        all
    }

    /// The statuses documented for an operation.
    pub(crate) fn statuses(&self, template: &str, method: &str) -> Vec<String> {
        let responses = &self.doc["paths"][template][method]["responses"];
        responses
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `answer` to `method path` is as documented under `template`.
    pub(crate) fn check(
        &self,
        template: &str,
        method: &str,
        path: &str,
        answer: &Answer,
    ) -> Result<(), String> {
        if !matches_template(template, path) {
            return Err(format!("{path} is not an instance of {template}"));
        }
        let operation = &self.doc["paths"][template][method];
        let status = answer.status.to_string();
        let response = operation["responses"].get(&status).map(|r| self.resolve(r));
        let response = response.ok_or_else(|| format!("status {status} not documented"))?;
        self.check_headers(response, answer)?;
        self.check_content(response, answer)
    }

    fn check_headers(&self, response: &Value, answer: &Answer) -> Result<(), String> {
        let declared = response["headers"].as_object().cloned().unwrap_or_default();
        for (name, header) in &declared {
            let header = self.resolve(header);
            match answer.headers.get(&name.to_ascii_lowercase()) {
                Some(value) => self
                    .validate(&header["schema"], &Value::String(value.clone()))
                    .map_err(|e| format!("header {name}: {e}"))?,
                None if header["required"] == true => return Err(format!("no header {name}")),
                None => {}
            }
        }
        let undeclared = CORS_HEADERS.iter().find(|name| {
            answer.headers.contains_key(**name)
                && !declared.keys().any(|d| d.eq_ignore_ascii_case(name))
        });
        match undeclared {
            Some(name) => Err(format!("header {name} sent but not documented")),
            None => Ok(()),
        }
    }

    fn check_content(&self, response: &Value, answer: &Answer) -> Result<(), String> {
        let Some(content) = response["content"].as_object() else {
            return match answer.body.is_empty() {
                true => Ok(()),
                false => Err("a body where none is documented".to_owned()),
            };
        };
        let content_type = answer
            .headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or("");
        let media = content
            .get(content_type)
            .ok_or_else(|| format!("content type {content_type:?} not documented"))?;
        let text = std::str::from_utf8(&answer.body).map_err(|e| format!("body: {e}"))?;
        let body = match content_type.starts_with("application/json") {
            true => serde_json::from_str(text).map_err(|e| format!("body is not JSON: {e}"))?,
            false => Value::String(text.to_owned()),
        };
        self.validate(&media["schema"], &body)
    }

    /// Validates `instance` against `schema`, a part of the document: its `#/components/...`
    /// references resolve in a copy that carries the document's components.
    pub(crate) fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut schema = schema.clone();
        if let Value::Object(map) = &mut schema {
            map.insert("components".to_owned(), self.doc["components"].clone());
        }
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        }
    }

    /// `value`, or what its `$ref` points to in the document.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => self.doc.pointer(pointer).unwrap_or(&Value::Null),
            None => value,
        }
    }
}

/// Whether `path` (its query left out) is an instance of the path template `template`:
/// every `{name}` stands for a non-empty text without `/`.
pub(crate) fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let mut pattern = String::from("^");
    for (i, part) in template.split(['{', '}']).enumerate() {
        match i % 2 {
            0 => pattern.push_str(&regex::escape(part)),
            _ => pattern.push_str("[^/]+"),
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(path))
}
