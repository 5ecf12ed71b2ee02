//! Time as the daemon sees it: [`Timestamp`] (Go-compatible RFC3339 with nanoseconds) and the
//! [`Clock`] that supplies "now".
//!
//! This is the only module allowed to read the system clock. Pure cores take a `now:
//! Timestamp` argument instead, so tests control time.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds from 0001-01-01T00:00:00Z (Go's zero `time.Time`) to the Unix epoch.
const GO_ZERO_SECS: i64 = -62_135_596_800;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z, the last instant RFC3339 can write.
const MAX_SECS: i64 = 253_402_300_799;
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// An instant with nanosecond precision, written as Go writes `time.Time` in JSON.
///
/// Ordered by instant. The range is Go's zero time (`0001-01-01T00:00:00Z`, the
/// [`Default`]) to the end of year 9999; arithmetic saturates at both ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Nanoseconds since Go's zero time; never negative.
    nanos_since_zero: i128,
}

/// Why a string is not an RFC3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC3339 timestamp {text:?}: {reason}")]
pub struct ParseTimestampError {
    text: String,
    reason: &'static str,
}

impl Timestamp {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const ZERO: Timestamp = Timestamp {
        nanos_since_zero: 0,
    };
    /// The Unix epoch, `1970-01-01T00:00:00Z` (Go Sidecar's initial `LastUpdated`/`LastChanged`).
    pub const EPOCH: Timestamp = Timestamp {
        nanos_since_zero: -(GO_ZERO_SECS as i128) * NANOS_PER_SEC,
    };

    /// The instant `nanos` nanoseconds after the Unix epoch (negative: before it).
    pub fn from_unix_nanos(nanos: i128) -> Timestamp {
        Timestamp::clamped(nanos.saturating_sub((GO_ZERO_SECS as i128) * NANOS_PER_SEC))
    }

    /// The instant `secs` whole seconds after the Unix epoch.
    pub fn from_unix_secs(secs: i64) -> Timestamp {
        Timestamp::from_unix_nanos(i128::from(secs) * NANOS_PER_SEC)
    }

    /// Nanoseconds since the Unix epoch (negative before it).
    pub fn unix_nanos(self) -> i128 {
        self.nanos_since_zero + (GO_ZERO_SECS as i128) * NANOS_PER_SEC
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(self) -> bool {
        self.nanos_since_zero == 0
    }

    /// This instant moved `d` later, saturating at the end of year 9999.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp::clamped(self.nanos_since_zero.saturating_add(d.as_nanos() as i128))
    }

    /// This instant moved `d` earlier, saturating at Go's zero time.
    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp::clamped(self.nanos_since_zero.saturating_sub(d.as_nanos() as i128))
    }

    /// How long after `earlier` this instant is; zero when it is not later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        let nanos = (self.nanos_since_zero - earlier.nanos_since_zero).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn clamped(nanos_since_zero: i128) -> Timestamp {
        let max = (i128::from(MAX_SECS) - i128::from(GO_ZERO_SECS) + 1) * NANOS_PER_SEC - 1;
        Timestamp {
            nanos_since_zero: nanos_since_zero.clamp(0, max),
        }
    }

    /// Parses RFC3339 with any offset and up to nanosecond precision (more digits are
    /// truncated). Only years 0001–9999 are representable.
    pub fn parse(text: &str) -> Result<Timestamp, ParseTimestampError> {
        let fail = |reason| ParseTimestampError {
            text: text.chars().take(64).collect(),
            reason,
        };
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
        }
        if !matches!(b[10], b'T' | b't') {
            return Err(fail("expected 'T' between date and time"));
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let s = text.get(range)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let fields = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        );
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = fields else {
            return Err(fail("non-digit in date or time"));
        };
        if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("date out of range"));
        }
        if hour > 23 || min > 59 || sec > 59 {
            return Err(fail("time out of range"));
        }
        let (nanos, rest) = parse_fraction(&b[19..]).ok_or_else(|| fail("bad fraction"))?;
        let offset = parse_offset(rest).ok_or_else(|| fail("bad zone offset"))?;
        let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
        let unix = i128::from(secs - offset) * NANOS_PER_SEC + i128::from(nanos);
        let ts = Timestamp::from_unix_nanos(unix);
        if ts.unix_nanos() != unix {
            return Err(fail("instant out of range"));
        }
        Ok(ts)
    }
}

/// Parses `.ddddddddd` (optional) and returns the nanoseconds and what follows.
fn parse_fraction(b: &[u8]) -> Option<(u32, &[u8])> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        let digit = rest
            .get(i)
            .filter(|_| i < digits)
            .map_or(0, |c| u32::from(c - b'0'));
        nanos = nanos * 10 + digit;
    }
    Some((nanos, &rest[digits..]))
}

/// Parses `Z` or `±HH:MM` (the whole remainder) into seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    match b {
        b"Z" | b"z" => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let mins = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || mins > 59 {
                return None;
            }
            let secs = hours * 3600 + mins * 60;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if month <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        month,
        day,
    )
}

impl fmt::Display for Timestamp {
    /// Go's `RFC3339Nano`: UTC as `Z`, fraction with trailing zeros trimmed, none when zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unix = self.unix_nanos();
        let secs = unix.div_euclid(NANOS_PER_SEC) as i64;
        let nanos = unix.rem_euclid(NANOS_PER_SEC) as u32;
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let tod = secs.rem_euclid(86_400);
        let (h, m, s) = (tod / 3600, tod % 3600 / 60, tod % 60);
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}")?;
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl Timestamp {
    /// Go's `time.Time.String()` form for UTC, e.g. `2026-11-23 08:00:32.419415309 +0000 UTC`
    /// (used by the Envoy v1 API and the HAProxy template header).
    pub fn go_string(self) -> String {
        let rfc = self.to_string();
        let body = rfc.trim_end_matches('Z').replacen('T', " ", 1);
        format!("{body} +0000 UTC")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    /// Accepts an RFC3339 string, or `null` for the zero time (as Go does).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = Option::deserialize(deserializer)?;
        match text {
            None => Ok(Timestamp::ZERO),
            Some(text) => Timestamp::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// The source of "now" for actors. Pure code never calls it; it takes `now` as an argument.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned reader of the wall clock
    fn now(&self) -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(UNIX_EPOCH);
        since.map_or(Timestamp::EPOCH, |d| {
            Timestamp::from_unix_nanos(d.as_nanos() as i128)
        })
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock `d` forward.
    pub fn advance(&self, d: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.plus(d);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The shared clock handle actors hold.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(
            ts("2026-11-23T08:00:09.419929456Z").to_string(),
            "2026-11-23T08:00:09.419929456Z"
        );
        assert_eq!(
            ts("2022-11-07T13:18:03.419929000Z").to_string(),
            "2022-11-07T13:18:03.419929Z"
        );
        assert_eq!(
            ts("2022-11-07T13:18:03.000Z").to_string(),
            "2022-11-07T13:18:03Z"
        );
        assert_eq!(Timestamp::ZERO.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn offsets_are_converted_to_the_same_instant() {
        assert_eq!(ts("1970-01-01T01:00:00+01:00"), Timestamp::EPOCH);
        assert_eq!(
            ts("2016-03-05T02:26:14Z"),
            Timestamp::from_unix_secs(1_457_144_774)
        );
        assert_eq!(
            ts("2016-03-04T21:26:14.5-05:00").unix_nanos(),
            1_457_144_774_500_000_000
        );
    }

    #[test]
    fn nanosecond_steps_are_kept_and_ordered() {
        let a = ts("2026-11-23T08:00:09.419929456Z");
        let b = a.plus(Duration::from_nanos(50));
        assert!(b > a);
        assert_eq!(b.to_string(), "2026-11-23T08:00:09.419929506Z");
        assert_eq!(b.since(a), Duration::from_nanos(50));
        assert_eq!(a.since(b), Duration::ZERO);
    }

    #[test]
    fn garbage_is_rejected_with_the_text() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+1:00",
            "0000-01-01T00:00:00Z",
            "+026-01-01T00:00:00Z",
        ] {
            let err = Timestamp::parse(bad).unwrap_err();
            assert!(err.to_string().contains("invalid RFC3339"), "{bad}: {err}");
        }
    }

    #[test]
    fn arithmetic_saturates_at_the_ends_of_the_range() {
        assert_eq!(
            Timestamp::ZERO.minus(Duration::from_secs(5)),
            Timestamp::ZERO
        );
        let end = ts("9999-12-31T23:59:59.999999999Z");
        assert_eq!(end.plus(Duration::from_secs(5)), end);
    }

    #[test]
    fn extreme_unix_nanos_saturate_instead_of_overflowing() {
        assert_eq!(Timestamp::from_unix_nanos(i128::MIN), Timestamp::ZERO);
        let end = Timestamp::parse("9999-12-31T23:59:59.999999999Z").unwrap();
        assert_eq!(Timestamp::from_unix_nanos(i128::MAX), end);
    }

    #[test]
    fn json_round_trip_and_null_is_zero() {
        let t = ts("2026-11-23T07:59:37.419536457Z");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-23T07:59:37.419536457Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<Timestamp>("null").unwrap(),
            Timestamp::ZERO
        );
    }

    #[test]
    fn go_string_matches_time_string() {
        let t = ts("2026-11-23T08:00:32.419415309Z");
        assert_eq!(t.go_string(), "2026-11-23 08:00:32.419415309 +0000 UTC");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::EPOCH);
        assert_eq!(clock.now(), Timestamp::EPOCH);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), Timestamp::from_unix_secs(2));
    }
}
