//! Timestamps on the wire: UTC, ISO 8601 without offset, as the book's
//! Python services emit them (`2019-05-07T13:47:34[.123456]`).

use chrono::{NaiveDateTime, SubsecRound, Timelike, Utc};

/// Now, in UTC, truncated to microseconds (what both databases store).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Format like Python's `datetime.isoformat()`: microseconds only when non-zero.
pub fn iso(t: &NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
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
        let s = String::deserialize(d)?;
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
    fn fractions_have_six_digits_like_python() {
        let t = NaiveDate::from_ymd_opt(2019, 5, 7)
            .and_then(|d| d.and_hms_micro_opt(13, 47, 34, 1230))
            .expect("valid date");
        assert_eq!(iso(&t), "2019-05-07T13:47:34.001230");
    }
}
