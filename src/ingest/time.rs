//! Time stamps as they appear in bills and logs, read as UTC instants.
//!
//! Accepted: RFC 3339 with `Z` or an offset (converted to UTC), the same without a zone and
//! with a space or `T` (taken as UTC), a bare date (midnight UTC), the compact CUR manifest
//! form `20191201T000000.000Z`, and Unix seconds or milliseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};

/// Zone-less spellings, read as UTC.
const NAIVE: [&str; 5] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y%m%dT%H%M%S%.fZ",
];

/// Parses a time stamp into UTC, or `None` when it is none of the accepted forms.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    if let Ok(instant) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(instant.with_timezone(&Utc));
    }
    for format in NAIVE {
        if let Ok(naive) =
            NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), format.trim_end_matches('Z'))
        {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(crate::settings::midnight(day));
    }
    parse_epoch(text)
}

/// Unix seconds (10 digits or fewer) or milliseconds (13 digits).
fn parse_epoch(text: &str) -> Option<DateTime<Utc>> {
    let number: i64 = text.parse().ok()?;
    if text.trim_start_matches('-').len() >= 13 {
        Utc.timestamp_millis_opt(number).single()
    } else {
        Utc.timestamp_opt(number, 0).single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> String {
        parse_instant(text).unwrap().to_rfc3339()
    }

    #[test]
    fn every_spelling_is_utc() {
        let want = "2023-11-01T00:00:00+00:00";
        for text in [
            "2023-11-01T00:00:00Z",
            "2023-11-01T00:00:00.000Z",
            "2023-11-01 00:00:00",
            "2023-11-01 00:00:00.000",
            "2023-11-01T00:00:00",
            "2023-11-01",
            "20231101T000000.000Z",
            "1698796800",
        ] {
            assert_eq!(iso(text), want, "{text}");
        }
    }

    #[test]
    fn offsets_are_converted() {
        assert_eq!(iso("2025-02-01T08:30:00+09:00"), "2025-01-31T23:30:00+00:00");
        assert_eq!(iso("2025-01-31T20:00:00-05:00"), "2025-02-01T01:00:00+00:00");
        assert_eq!(parse_instant("yesterday"), None);
    }
}
