//! Go `time.Duration` syntax for configuration values: `20s`, `1m30s`, `200ms`, `1.5h`,
//! `300us`/`300µs`, `10ns`, `0`.
//!
//! Pure: string in, [`Duration`] out (and back). Parsing follows Go's `time.ParseDuration`
//! (same units, same fraction handling, same 2⁶³−1 ns limit) except that negative durations
//! are refused, because [`Duration`] cannot hold them. Formatting follows Go's
//! `Duration.String()` (`1h0m0s`, `2.999s`, `200ms`), so the startup print matches Go.

use std::fmt::Write as _;
use std::time::Duration;

/// Why a string is not a Go duration. The message completes "expected a Go duration …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty, has no digits, or has a stray character.
    #[error("expected a duration such as 20s, 1m30s or 200ms")]
    Syntax,
    /// A number has no unit after it (Go accepts a bare number only for `0`).
    #[error("missing unit (ns, us, ms, s, m or h) in duration")]
    MissingUnit,
    /// The unit is not one of ns, us, µs, μs, ms, s, m, h.
    #[error("unknown unit {0:?} in duration (expected ns, us, ms, s, m or h)")]
    UnknownUnit(String),
    /// The value is larger than Go's maximum (about 292 years).
    #[error("duration is out of range")]
    Overflow,
    /// The value is below zero.
    #[error("negative durations are not allowed")]
    Negative,
}

/// Go's `1 << 63`: the largest magnitude a Go duration may reach.
const LIMIT: u64 = 1 << 63;

/// Parses a Go duration string (`time.ParseDuration` rules, negatives refused).
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(DurationError::Syntax);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = parse_component(rest)?;
        total = total.checked_add(nanos).ok_or(DurationError::Overflow)?;
        if total > LIMIT {
            return Err(DurationError::Overflow);
        }
        rest = tail;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative);
    }
    if total > LIMIT - 1 {
        return Err(DurationError::Overflow);
    }
    Ok(Duration::from_nanos(total))
}

/// Parses one `<number>[.<fraction>]<unit>` component; returns its nanoseconds and the rest.
fn parse_component(text: &str) -> Result<(u64, &str), DurationError> {
    let (whole, after_whole, has_whole) = leading_int(text)?;
    let (fraction, scale, after_fraction, has_fraction) = match after_whole.strip_prefix('.') {
        Some(tail) => {
            let (f, scale, rest) = leading_fraction(tail);
            (f, scale, rest, rest.len() != tail.len())
        }
        None => (0, 1.0, after_whole, false),
    };
    if !has_whole && !has_fraction {
        return Err(DurationError::Syntax);
    }
    let unit_len = after_fraction
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(after_fraction.len());
    if unit_len == 0 {
        return Err(DurationError::MissingUnit);
    }
    let (unit_text, rest) = after_fraction.split_at(unit_len);
    let unit = unit_nanos(unit_text)?;
    if whole > LIMIT / unit {
        return Err(DurationError::Overflow);
    }
    let mut nanos = whole * unit;
    if fraction > 0 {
        // Same float arithmetic as Go, so `1.5h` and friends round identically.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let extra = (fraction as f64 * (unit as f64 / scale)) as u64;
        nanos = nanos.checked_add(extra).ok_or(DurationError::Overflow)?;
        if nanos > LIMIT {
            return Err(DurationError::Overflow);
        }
    }
    Ok((nanos, rest))
}

/// Consumes leading ASCII digits: (value, rest, whether any digit was seen).
fn leading_int(text: &str) -> Result<(u64, &str, bool), DurationError> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let mut value: u64 = 0;
    for digit in text[..end].bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .filter(|v| *v <= LIMIT)
            .ok_or(DurationError::Overflow)?;
    }
    Ok((value, &text[end..], end > 0))
}

/// Consumes fraction digits after a `.`: (digits as integer, 10^kept digits, rest).
/// Digits that would overflow are dropped, as in Go.
fn leading_fraction(text: &str) -> (u64, f64, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (mut value, mut scale, mut overflow) = (0_u64, 1.0_f64, false);
    for digit in text[..end].bytes() {
        if overflow {
            continue;
        }
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
        {
            Some(v) if v <= LIMIT => {
                value = v;
                scale *= 10.0;
            }
            _ => overflow = true,
        }
    }
    (value, scale, &text[end..])
}

/// Nanoseconds per unit, with Go's unit names (both micro signs included).
fn unit_nanos(unit: &str) -> Result<u64, DurationError> {
    Ok(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        other => return Err(DurationError::UnknownUnit(other.to_owned())),
    })
}

/// Formats like Go's `Duration.String()`: `0s`, `10ns`, `1.5µs`, `200ms`, `2.999s`, `1m30s`,
/// `1h0m0s`.
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (digits, unit) = match nanos {
            n if n < 1_000 => (0, "ns"),
            n if n < 1_000_000 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        return format!("{}{unit}", decimal(nanos, digits));
    }
    let seconds = decimal(nanos % 60_000_000_000, 9);
    let minutes_total = nanos / 60_000_000_000;
    let (hours, minutes) = (minutes_total / 60, minutes_total % 60);
    let mut out = String::new();
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if minutes_total > 0 {
        let _ = write!(out, "{minutes}m");
    }
    let _ = write!(out, "{seconds}s");
    out
}

/// `value / 10^digits` written with its fraction, trailing zeros (and a bare point) dropped.
fn decimal(value: u128, digits: u32) -> String {
    let divisor = 10_u128.pow(digits);
    let (whole, fraction) = (value / divisor, value % divisor);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = digits as usize;
    let fraction = format!("{fraction:0width$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// `#[serde(with = "…::serde_go")]` for `Duration` fields: a Go-syntax string both ways.
pub mod serde_go {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Writes the duration as a Go-syntax string (`20s`).
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_go_duration(*value))
    }

    /// Reads a Go-syntax duration string (`1m30s`).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_go_duration(&text)
            .map_err(|e| D::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn go_duration_table_parses_like_go() {
        let table = [
            ("20s", ms(20_000)),
            ("1m30s", ms(90_000)),
            ("200ms", ms(200)),
            ("1.5h", ms(5_400_000)),
            ("1.5s", ms(1_500)),
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("+5s", ms(5_000)),
            ("300us", Duration::from_micros(300)),
            ("300\u{b5}s", Duration::from_micros(300)),
            ("300\u{3bc}s", Duration::from_micros(300)),
            ("10ns", Duration::from_nanos(10)),
            ("1h", ms(3_600_000)),
            (".5s", ms(500)),
            ("1.s", ms(1_000)),
            ("2h45m10.5s", ms(9_910_500)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in table {
            assert_eq!(parse_go_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_go_durations_are_refused_with_a_reason() {
        let table = [
            ("20x", DurationError::UnknownUnit("x".into())),
            ("-", DurationError::Syntax),
            ("", DurationError::Syntax),
            ("20", DurationError::MissingUnit),
            (".s", DurationError::Syntax),
            ("s", DurationError::Syntax),
            ("1s ", DurationError::UnknownUnit("s ".into())),
            ("-1s", DurationError::Negative),
            ("9999999999999999999h", DurationError::Overflow),
            ("3000000h", DurationError::Overflow),
        ];
        for (text, expected) in table {
            assert_eq!(parse_go_duration(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn formatting_matches_go_duration_string() {
        let table = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(10), "10ns"),
            (Duration::from_nanos(1_500), "1.5\u{b5}s"),
            (ms(200), "200ms"),
            (ms(2_999), "2.999s"),
            (ms(20_000), "20s"),
            (ms(90_000), "1m30s"),
            (ms(3_600_000), "1h0m0s"),
            (ms(3_601_000), "1h0m1s"),
        ];
        for (duration, expected) in table {
            assert_eq!(format_go_duration(duration), expected);
        }
    }

    #[test]
    fn formatted_durations_parse_back_to_the_same_value() {
        for nanos in [
            0,
            1,
            999,
            1_500,
            2_999_000_000,
            79_000_000_000,
            3_723_000_000_001,
        ] {
            let duration = Duration::from_nanos(nanos);
            assert_eq!(
                parse_go_duration(&format_go_duration(duration)),
                Ok(duration)
            );
        }
    }
}
