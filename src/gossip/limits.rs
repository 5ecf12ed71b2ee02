//! How much one gossip frame may carry, sized from the largest catalogue the protocol is
//! built for (docs/PROTOCOL.md, "Limits"): 1,000 hosts × 50 services.
//!
//! A frame over a limit is refused whole at decode ([`super::wire::DecodeError::OverLimit`],
//! counted as `over_limit`); the record or host count is read from the body's leading length
//! before anything is decoded, so a lying count allocates nothing.
//!
//! # The arithmetic
//!
//! - A record on the wire (postcard, [`super::records::WireService`]): id 12 B, name ~30 B,
//!   image ~60 B, hostname ~30 B, two timestamps 9 B each, two ports ~21 B each, proxy mode
//!   ~5 B, status 1 B, length prefixes ~8 B: about 205 B; 256 B leaves room for longer
//!   names.
//! - A whole catalogue (a join's one `Records` frame): 1,000 × 50 = 50,000 records;
//!   [`MAX_RECORDS`] allows 28 % more (64,000) for tombstones not yet expired.
//! - So the largest frame after the hello is 64,000 × 256 B = 16.4 MB:
//!   [`MAX_SESSION_FRAME`] = 16 MiB (against 32 MiB before).
//! - One host runs ~50 services; with tombstones of replaced containers (kept 3 h) a busy
//!   host may hold a few hundred: [`MAX_RECORDS_PER_HOST`] = 1,000.
//! - [`MAX_HOSTS`] = 2,000 hosts per frame (records or digest entries): twice the design
//!   size; a digest entry is ~50 B, so a full digest is ~100 KB.
//!
//! Decoded, a record costs about 200 B of structs besides its strings, so the largest
//! accepted frame decodes to at most 16 MiB + 64,000 × 200 B ≈ 29 MB. Frames over
//! [`SMALL_FRAME`] are read one session at a time (the exchange's bulk gate), which bounds
//! what any number of peers sending maximal frames at once can make a node hold.
//!
//! Pure: no I/O.

use std::collections::HashMap;

use super::records::WireService;

/// The largest frame a TCP session carries after its hello (see the module docs).
pub const MAX_SESSION_FRAME: usize = 16 * 1024 * 1024;
/// The most records one frame may carry.
pub const MAX_RECORDS: usize = 64_000;
/// The most records of one host one frame may carry.
pub const MAX_RECORDS_PER_HOST: usize = 1_000;
/// The most hosts one frame may name (records or digest entries).
pub const MAX_HOSTS: usize = 2_000;
/// Frames up to this size are read by any number of sessions at once; larger ones by one
/// session at a time.
pub const SMALL_FRAME: usize = 256 * 1024;

/// What went over a limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {count} over the limit of {max}")]
pub struct OverLimit {
    /// `records`, `records of one host` or `hosts`.
    pub what: &'static str,
    /// How many the frame had (or claimed).
    pub count: u64,
    /// The limit.
    pub max: usize,
}

/// Checks the leading length of a postcard sequence `body` (its element count) against
/// `max`, before decoding it. A body too short to hold a length passes: decoding refuses it.
pub fn check_count(body: &[u8], what: &'static str, max: usize) -> Result<(), OverLimit> {
    match leading_varint(body) {
        Some(count) if count > max as u64 => Err(OverLimit { what, count, max }),
        _ => Ok(()),
    }
}

/// Checks decoded `records` against the per-host and host limits.
pub fn check_records(records: &[WireService]) -> Result<(), OverLimit> {
    let mut per_host: HashMap<&str, usize> = HashMap::new();
    for record in records {
        let count = per_host.entry(record.hostname.as_str()).or_insert(0);
        *count += 1;
        if *count > MAX_RECORDS_PER_HOST {
            return Err(over("records of one host", *count, MAX_RECORDS_PER_HOST));
        }
        if per_host.len() > MAX_HOSTS {
            return Err(over("hosts", per_host.len(), MAX_HOSTS));
        }
    }
    Ok(())
}

fn over(what: &'static str, count: usize, max: usize) -> OverLimit {
    OverLimit {
        what,
        count: count as u64,
        max,
    }
}

/// postcard's varint (LEB128) at the start of `bytes`, if complete and at most 64 bits.
fn leading_varint(bytes: &[u8]) -> Option<u64> {
    let mut value = 0_u64;
    for (i, byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(host: &str) -> WireService {
        WireService {
            hostname: host.into(),
            ..WireService::default()
        }
    }

    #[test]
    fn a_sequence_claiming_more_elements_than_the_limit_is_refused_before_decoding() {
        let body = postcard::to_stdvec(&vec![0_u8; 70_000]).unwrap();
        let err = check_count(&body[..3], "records", MAX_RECORDS).unwrap_err();
        assert_eq!((err.count, err.max), (70_000, MAX_RECORDS));
        let ok = postcard::to_stdvec(&vec![0_u8; 64_000]).unwrap();
        assert_eq!(check_count(&ok, "records", MAX_RECORDS), Ok(()));
        assert_eq!(check_count(&[], "records", 1), Ok(()));
        assert_eq!(check_count(&[0xff; 12], "records", 1), Ok(()));
    }

    #[test]
    fn too_many_records_of_one_host_or_too_many_hosts_are_refused() {
        let one_host = vec![record("a"); MAX_RECORDS_PER_HOST + 1];
        assert_eq!(
            check_records(&one_host).unwrap_err().what,
            "records of one host"
        );
        assert_eq!(check_records(&one_host[1..]), Ok(()));
        let hosts: Vec<WireService> = (0..=MAX_HOSTS).map(|i| record(&i.to_string())).collect();
        assert_eq!(check_records(&hosts).unwrap_err().what, "hosts");
        assert_eq!(check_records(&hosts[1..]), Ok(()));
    }

    #[test]
    fn the_largest_frame_holds_a_full_catalogue_of_typical_records() {
        let typical = WireService {
            id: "0123456789ab".into(),
            name: "payments-api-production-v2".into(),
            image: "registry.example.com/team/payments-api:1.24.3-abcdef".into(),
            hostname: "ip-10-0-12-34.ec2.internal".into(),
            ports: Some(vec![
                super::super::records::WirePort {
                    kind: "tcp".into(),
                    port: 32768,
                    service_port: 10001,
                    ip: "10.0.12.34".into(),
                };
                2
            ]),
            proxy_mode: "http".into(),
            ..WireService::default()
        };
        let size = postcard::to_stdvec(&typical).unwrap().len() + 18;
        assert!(size <= 256, "{size}");
        assert!(50_000 * size < MAX_SESSION_FRAME);
    }
}
