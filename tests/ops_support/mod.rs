//! Shared by the operators' tools tests (`tests/metrics.rs`, `tests/client.rs`): a node of the
//! built binary on 127.0.0.100–119 with one static service checked on a target the test
//! controls, and a Prometheus text parser.
#![allow(dead_code, reason = "each test binary uses a part")]

use std::collections::BTreeMap;

use crate::common::{Sidecar, Target, env_on, static_file};

/// A node on `ip` (HTTP on any port, gossip on `gossip_port`) with the static service `web`
/// checked every 300 ms on a fresh target, plus `extra` environment.
pub(crate) fn ops_node(
    ip: &str,
    gossip_port: u16,
    extra: &[(&str, &str)],
) -> (Sidecar, Target, tempfile::TempDir) {
    let target = Target::start_on(ip, "ok");
    let dir = tempfile::tempdir().unwrap();
    let file = static_file(dir.path(), "web", target.addr);
    let mut env: BTreeMap<String, String> = env_on(ip);
    env.insert("SIDECAR_BIND_PORT".into(), gossip_port.to_string());
    env.insert("STATIC_CONFIG_FILE".into(), file.display().to_string());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    (Sidecar::start(&env, &[]), target, dir)
}

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Parses the whole text format strictly: every line is a `# HELP`, `# TYPE`, `# UNIT` or
/// `# EOF` comment or a sample with a valid name, well-formed labels and a number, and the
/// text ends with `# EOF`. Panics with the offending line otherwise.
pub(crate) fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end:\n{text}");
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&kind),
                "bad comment: {line}"
            );
            continue;
        }
        samples.push(parse_sample(line).unwrap_or_else(|| panic!("bad sample line: {line}")));
    }
    samples
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, rest) = match series.find('{') {
        Some(i) => (&series[..i], Some(series[i + 1..].strip_suffix('}')?)),
        None => (series, None),
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid_name {
        return None;
    }
    let mut labels = BTreeMap::new();
    let mut rest = rest.unwrap_or_default();
    while !rest.is_empty() {
        let (key, after) = rest.trim_start_matches(',').split_once("=\"")?;
        let mut value = String::new();
        let mut end = None;
        let mut chars = after.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i);
                    break;
                }
                '\\' => value.push(chars.next()?.1),
                c => value.push(c),
            }
        }
        labels.insert(key.to_owned(), value);
        rest = &after[end? + 1..];
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The value of the sample `name` whose labels include `labels`.
pub(crate) fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// Scrapes `/metrics` of `node` and parses it.
pub(crate) fn scrape(node: &Sidecar) -> Vec<Sample> {
    let (status, body) = node.get("/metrics");
    assert_eq!(status, 200, "{body}");
    parse_exposition(&body)
}
