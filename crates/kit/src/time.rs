//! Timestamps on the wire: UTC, ISO 8601 without offset, as the book's
//! Python services emit them (`2019-05-07T13:47:34[.123456]`).

use chrono::{NaiveDateTime, SubsecRound, Timelike, Utc};

/// Now, in UTC, truncated to microseconds (what both databases store).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Format like Python's `datetime.isoformat()`: microseconds only when non-zero.
/// Written directly for four-digit years: chrono parses a format string on
/// every call, and a list of 100 thoughts formats 100 timestamps.
pub fn iso(t: &NaiveDateTime) -> String {
    use chrono::Datelike as _;
    use std::fmt::Write as _;
    // Other years and leap seconds (written as second 60): chrono's way.
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        let format = if t.nanosecond() == 0 {
            "%Y-%m-%dT%H:%M:%S"
        } else {
            "%Y-%m-%dT%H:%M:%S%.6f"
        };
        return t.format(format).to_string();
    }
    let mut out = String::with_capacity(26);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() != 0 {
        // `%.6f`: six digits, truncated.
        let _ = write!(out, ".{:06}", t.nanosecond() / 1000);
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS` (or a space for the `T`) with an optional fraction
/// of 1 to 9 digits and no offset, read without chrono's format machinery;
/// `None` for anything else (other shapes, leap seconds, invalid dates),
/// which callers hand to chrono's general parser, so that both readings
/// agree wherever this one answers.
pub fn parse_plain(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(20..b.len())? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let (second, minute, hour) = (digits(17..19)?, digits(14..16)?, digits(11..13)?);
    if second > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    Some(date.and_time(chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?))
}

/// Serde helper: serialize a `NaiveDateTime` with [`iso`].
pub mod serde_iso {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize with [`super::iso`].
    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso(t))
    }

    /// Accept the book's format, with or without fractional seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        if s.as_bytes().get(10) == Some(&b'T')
            && let Some(t) = super::parse_plain(&s)
        {
            return Ok(t);
        }
        NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn whole_seconds_have_no_fraction_like_python() {
        let t = NaiveDate::from_ymd_opt(2019, 5, 7)
            .and_then(|d| d.and_hms_opt(13, 47, 34))
            .expect("valid date");
        assert_eq!(iso(&t), "2019-05-07T13:47:34");
    }

    #[test]
    fn iso_writes_what_chrono_writes() {
        let now = Utc::now().naive_utc();
        for t in [
            now,
            now.trunc_subsecs(0),
            now.trunc_subsecs(3),
            NaiveDate::from_ymd_opt(1, 1, 1)
                .and_then(|d| d.and_hms_nano_opt(0, 0, 0, 1))
                .expect("valid"),
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 999_999_999))
                .expect("valid"),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .expect("leap second"),
            NaiveDate::from_ymd_opt(12345, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("valid"),
            NaiveDate::from_ymd_opt(-5, 1, 1)
                .and_then(|d| d.and_hms_micro_opt(0, 0, 0, 7))
                .expect("valid"),
        ] {
            let chrono = if t.nanosecond() == 0 {
                t.format("%Y-%m-%dT%H:%M:%S").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            };
            assert_eq!(iso(&t), chrono, "{t:?}");
        }
    }

    /// What chrono's general parser makes of `text` with either separator.
    fn chrono_reads(text: &str) -> Option<NaiveDateTime> {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    }

    #[test]
    fn plain_timestamps_read_as_chrono_reads_them() {
        for text in [
            "2026-12-03 10:00:00",
            "2026-12-03T10:00:00",
            "2026-12-03 10:00:00.1",
            "2026-12-03T10:00:00.123",
            "2026-12-03 10:00:00.123456",
            "2026-12-03T23:59:59.999999999",
            "2024-02-29 00:00:00.000001",
            "0001-01-01T00:00:00",
            "9999-12-31 23:59:59.5",
        ] {
            let fast = parse_plain(text);
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, chrono_reads(text), "{text}");
        }
        let now = now();
        assert_eq!(parse_plain(&iso(&now)), Some(now));
        assert_eq!(
            parse_plain(&now.format("%F %T%.f").to_string()),
            Some(now),
            "sqlx's SQLite text"
        );
    }

    #[test]
    fn other_or_invalid_timestamps_are_left_to_chrono() {
        for text in [
            "",
            "2026-12-03",
            "2026-12-03 10:00",
            "2026-12-03 10:00:00Z",
            "2026-12-03T10:00:00+02:00",
            "2026-12-03 10:00:00.",
            "2026-12-03 10:00:00.1234567890",
            "2026-02-30 10:00:00",
            "2026-12-03 24:00:00",
            "2026-12-03 10:60:00",
            "2026-12-03 23:59:60",
            "2026/12/03 10:00:00",
            "2026-12-03 1a:00:00",
            "+2026-12-03 10:00:00",
            "2026-12-03 10:00:00 ",
            "2026-12-03x10:00:00",
        ] {
            assert_eq!(parse_plain(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_wire_format_reads_back_and_a_space_is_not_the_wire_format() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(with = "serde_iso")]
            at: NaiveDateTime,
        }
        let now = now();
        let json = format!("{{\"at\":\"{}\"}}", iso(&now));
        let back: T = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back.at, now);
        let leap: T = serde_json::from_str(r#"{"at":"2016-12-31T23:59:60"}"#).expect("chrono reads a leap second");
        assert_eq!(leap.at.nanosecond(), 1_000_000_000);
        assert!(serde_json::from_str::<T>(r#"{"at":"2026-12-03 10:00:00"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"at":"2026-02-30T10:00:00"}"#).is_err());
    }

    #[test]
    fn fractions_have_six_digits_like_python() {
        let t = NaiveDate::from_ymd_opt(2019, 5, 7)
            .and_then(|d| d.and_hms_micro_opt(13, 47, 34, 1230))
            .expect("valid date");
        assert_eq!(iso(&t), "2019-05-07T13:47:34.001230");
    }
}
