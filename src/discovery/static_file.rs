//! The static discovery file (`STATIC_CONFIG_FILE`, docs/COMPATIBILITY.md §9): a JSON array of
//! targets `{Service, Check{Type,Args}, ListenPort}` turned into [`Discovered`] services.
//!
//! Pure apart from [`load`], which only reads the file: no clock (the caller passes `now`), no
//! randomness. Unlike Go, IDs are not random: each is a hash of the entry's content, its hostname
//! and its position among identical entries (docs/COMPATIBILITY.md §13.23), so an unchanged entry
//! keeps its ID across re-reads and restarts, and a changed one gets a new ID.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess};

use super::{CheckDefinition, Discovered, ListenerDefinition};
use crate::catalog::go_json::{self, GoObject};
use crate::catalog::{Port, Service};
use crate::clock::Timestamp;

/// Files larger than this are refused (16 MiB).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// What the parser needs to know about this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticContext {
    /// The OS hostname: the default `Hostname` and the host of listener URLs.
    pub hostname: String,
    /// The published (advertise) IP: the default `IP` of every port.
    pub published_ip: String,
    /// Stamped as `Created` (a watcher keeps the `Created` of unchanged IDs).
    pub now: Timestamp,
}

/// Why a static file could not be used. Nothing is loaded when any error is returned.
#[derive(Debug, thiserror::Error)]
pub enum StaticFileError {
    /// The file could not be read.
    #[error("static file {path:?}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    #[error("static file {path:?}: larger than {MAX_FILE_SIZE} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The text is not valid JSON of the expected shape.
    #[error("line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What was wrong there.
        message: String,
    },
    /// The top level is not a JSON array.
    #[error("expected a JSON array of targets at the top level")]
    NotAnArray,
    /// One target is well-formed JSON but unusable.
    #[error("target #{index} (0-based): {message}")]
    Target {
        /// Position of the target in the array.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A parse error in a named file.
    #[error("static file {path:?}: {error}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// The parse error ([`StaticFileError::Json`], `NotAnArray` or `Target`).
        error: Box<StaticFileError>,
    },
}

/// One target of the file, as written.
#[derive(Debug, Default)]
struct RawTarget {
    service: Option<Service>,
    check: RawCheck,
    listen_port: i64,
}

#[derive(Debug, Default)]
struct RawCheck {
    kind: String,
    args: String,
}

/// Reads and parses the static file at `path` (at most [`MAX_FILE_SIZE`] bytes).
pub fn load(path: &Path, ctx: &StaticContext) -> Result<Vec<Discovered>, StaticFileError> {
    let read_err = |source| StaticFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(StaticFileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8: {e}"),
        ))
    })?;
    parse(&text, ctx).map_err(|error| StaticFileError::InFile {
        path: path.to_path_buf(),
        error: Box::new(error),
    })
}

/// Parses the text of a static file into services with their check and listener.
pub fn parse(text: &str, ctx: &StaticContext) -> Result<Vec<Discovered>, StaticFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start_matches([' ', '\t', '\r', '\n']);
    if !trimmed.is_empty() && !trimmed.starts_with('[') {
        return Err(StaticFileError::NotAnArray);
    }
    let targets: Vec<RawTarget> =
        serde_json::from_str(text).map_err(|e| StaticFileError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
    let mut seen: Vec<u64> = Vec::with_capacity(targets.len());
    targets
        .into_iter()
        .enumerate()
        .map(|(index, target)| {
            let discovered = resolve(target, ctx)
                .map_err(|message| StaticFileError::Target { index, message })?;
            Ok(with_id(discovered, &mut seen, &ctx.hostname))
        })
        .collect()
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Applies the defaults of docs/COMPATIBILITY.md §9 to one target; the ID is filled in by
/// [`with_id`].
fn resolve(target: RawTarget, ctx: &StaticContext) -> Result<(Discovered, i64), String> {
    let Some(mut service) = target.service else {
        return Err("missing \"Service\"".to_string());
    };
    if service.name.trim().is_empty() {
        return Err("the service has no \"Name\"".to_string());
    }
    if !(0..=65_535).contains(&target.listen_port) {
        return Err(format!("ListenPort {} is not a port", target.listen_port));
    }
    if service.hostname.is_empty() {
        service.hostname = ctx.hostname.clone();
    }
    for port in service.ports.iter_mut().flatten() {
        if port.ip.is_empty() {
            port.ip = ctx.published_ip.clone();
        }
    }
    service.id = String::new();
    service.created = ctx.now;
    service.updated = Timestamp::ZERO;
    service.status = Default::default();
    let check = (!target.check.kind.is_empty()).then_some(CheckDefinition {
        kind: target.check.kind,
        args: target.check.args,
    });
    let discovered = Discovered {
        service,
        check,
        listener: None,
    };
    Ok((discovered, target.listen_port))
}

/// Gives a resolved target its deterministic ID and, for `ListenPort > 0`, its listener.
fn with_id(resolved: (Discovered, i64), seen: &mut Vec<u64>, os_hostname: &str) -> Discovered {
    let (mut discovered, listen_port) = resolved;
    let content = content_hash(&discovered, listen_port);
    let occurrence = seen.iter().filter(|&&h| h == content).count() as u64;
    seen.push(content);
    let mut hasher = Fnv1a::new();
    hasher.u64(content).u64(occurrence);
    discovered.service.id = format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff);
    if listen_port > 0 {
        discovered.listener = Some(ListenerDefinition {
            name: discovered.service.listener_name(),
            url: format!("http://{os_hostname}:{listen_port}/sidecar/update"),
        });
    }
    discovered
}

/// Hash of everything that makes an entry what it is (not ID, Created, Updated, Status).
fn content_hash(d: &Discovered, listen_port: i64) -> u64 {
    let s = &d.service;
    let mut h = Fnv1a::new();
    h.str(&s.hostname)
        .str(&s.name)
        .str(&s.image)
        .str(&s.proxy_mode);
    match &s.ports {
        None => h.u64(0),
        Some(ports) => h.u64(1).u64(ports.len() as u64),
    };
    for Port {
        kind,
        port,
        service_port,
        ip,
    } in s.ports()
    {
        h.str(kind)
            .u64(*port as u64)
            .u64(*service_port as u64)
            .str(ip);
    }
    match &d.check {
        None => h.u64(0),
        Some(check) => h.u64(1).str(&check.kind).str(&check.args),
    };
    h.u64(listen_port as u64).finish()
}

/// FNV-1a, 64 bit: written out so IDs never change with the Rust version.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv1a {
        Fnv1a(Self::OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Fnv1a {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self
    }

    /// A length-prefixed string, so field boundaries cannot shift.
    fn str(&mut self, s: &str) -> &mut Fnv1a {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }

    fn u64(&mut self, n: u64) -> &mut Fnv1a {
        self.bytes(&n.to_le_bytes())
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

// Targets and checks are decoded case-insensitively, as Go's `encoding/json` does.

impl GoObject for RawTarget {
    const EXPECTING: &'static str = "a target object {\"Service\", \"Check\", \"ListenPort\"}";
    const FIELDS: &'static [&'static str] = &["Service", "Check", "ListenPort"];

    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.service = map.next_value()?,
            1 => self.check = map.next_value::<Option<_>>()?.unwrap_or_default(),
            _ => self.listen_port = map.next_value::<Option<_>>()?.unwrap_or(0),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

impl GoObject for RawCheck {
    const EXPECTING: &'static str = "a check object {\"Type\", \"Args\"}";
    const FIELDS: &'static [&'static str] = &["Type", "Args"];

    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.kind = map.next_value::<Option<_>>()?.unwrap_or_default(),
            _ => self.args = map.next_value::<Option<_>>()?.unwrap_or_default(),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for RawCheck {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests;
