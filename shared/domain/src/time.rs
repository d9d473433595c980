//! Dates and times as the two systems hold them, read the way SPEC says.
//!
//! OneFile stores date-only values as local midnight and serves them in UTC, so 1 June reads
//! as `2024-05-31T23:00:00Z` in summer: every date-only value is read by converting to
//! Europe/London before taking the date ([`london_date`]). PICS date-times are local UK time
//! without a zone ([`london_to_utc`], [`utc_to_london`]).

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

/// The Europe/London calendar date of an instant.
pub fn london_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&London).date_naive()
}

/// The Europe/London wall-clock time of an instant.
pub fn utc_to_london(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&London).naive_local()
}

/// The instant of a Europe/London wall-clock time. In the autumn overlap the earlier instant is
/// taken; in the spring gap (01:00–02:00 does not exist) the time is moved an hour on, as a
/// clock would be.
pub fn london_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    match London.from_local_datetime(&t) {
        LocalResult::Single(x) => x.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let later = t + chrono::Duration::hours(1);
            match London.from_local_datetime(&later) {
                LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
                // London has no two-hour gaps; fall back to reading the time as UTC.
                LocalResult::None => Utc.from_utc_datetime(&t),
            }
        }
    }
}

/// A date-only value as OneFile is sent it: midnight UTC of that date (onefile-api.md).
pub fn date_to_onefile(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
}

/// Parses a OneFile date-time leniently: with or without a zone (`Z` or `±hh:mm`), with 0–7
/// fractional digits, or a bare date. A value without a zone is read as UTC. Returns `None`
/// for anything else.
pub fn parse_onefile_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 3339 without seconds fraction limits: try a zone suffix by hand.
    let (body, zone_secs) = split_zone(s)?;
    let naive = parse_naive(body)?;
    let utc = naive - chrono::Duration::seconds(i64::from(zone_secs));
    Some(Utc.from_utc_datetime(&utc))
}

fn split_zone(s: &str) -> Option<(&str, i32)> {
    if let Some(b) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((b, 0));
    }
    // "+hh:mm" / "-hh:mm" / "+hhmm" after the time part
    if let Some(tpos) = s.find('T') {
        let time = &s[tpos..];
        if let Some(p) = time.rfind(['+', '-']) {
            let zone = &time[p..];
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
                let h: i32 = digits[..2].parse().ok()?;
                let m: i32 = digits[2..].parse().ok()?;
                return Some((&s[..tpos + p], sign * (h * 3600 + m * 60)));
            }
        }
    }
    Some((s, 0))
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 3] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ];
    for f in FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    let s2 = s.replacen(' ', "T", 1);
    for f in FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s2, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// A OneFile date-only field, read as SPEC says (UTC instant → Europe/London date).
pub fn parse_onefile_date(s: &str) -> Option<NaiveDate> {
    parse_onefile_datetime(s).map(london_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn summer_midnight_reads_as_next_day_in_london() {
        // OneFile stores local midnight: 1 June 2024 00:00 BST = 31 May 23:00Z
        assert_eq!(
            parse_onefile_date("2024-05-31T23:00:00Z"),
            Some(d(2024, 6, 1))
        );
        assert_eq!(
            parse_onefile_date("2024-05-31T23:00:00.000Z"),
            Some(d(2024, 6, 1))
        );
        // in winter UTC and London agree
        assert_eq!(
            parse_onefile_date("2024-01-15T00:00:00Z"),
            Some(d(2024, 1, 15))
        );
    }

    #[test]
    fn lenient_forms() {
        let want = Utc.with_ymd_and_hms(2022, 2, 23, 12, 49, 33).unwrap();
        for s in [
            "2022-02-23T12:49:33Z",
            "2022-02-23T12:49:33.150Z",
            "2022-02-23T12:49:33.1234567Z",
            "2022-02-23T12:49:33.1",
            "2022-02-23T12:49:33",
            "2022-02-23T12:49:33+00:00",
            "2022-02-23T13:49:33+01:00",
            "2022-02-23T13:49:33.1234567+01:00",
            "2022-02-23 12:49:33",
        ] {
            let got = parse_onefile_datetime(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(got.with_nanosecond_zero(), want, "{s}");
        }
        assert_eq!(
            parse_onefile_datetime("2022-02-23"),
            Some(Utc.with_ymd_and_hms(2022, 2, 23, 0, 0, 0).unwrap())
        );
        assert_eq!(parse_onefile_datetime(""), None);
        assert_eq!(parse_onefile_datetime("yesterday"), None);
        assert_eq!(parse_onefile_datetime("2022-13-40T00:00:00Z"), None);
    }

    trait Trunc {
        fn with_nanosecond_zero(self) -> Self;
    }
    impl Trunc for DateTime<Utc> {
        fn with_nanosecond_zero(self) -> Self {
            use chrono::Timelike;
            self.with_nanosecond(0).unwrap()
        }
    }

    #[test]
    fn london_round_trip_across_bst() {
        let summer = NaiveDate::from_ymd_opt(2024, 7, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let u = london_to_utc(summer);
        assert_eq!(u, Utc.with_ymd_and_hms(2024, 7, 1, 9, 0, 0).unwrap());
        assert_eq!(utc_to_london(u), summer);
        let winter = NaiveDate::from_ymd_opt(2024, 12, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(
            london_to_utc(winter),
            Utc.with_ymd_and_hms(2024, 12, 1, 10, 0, 0).unwrap()
        );
        // spring gap: 01:30 on 31 March 2024 does not exist → 02:30 BST = 01:30Z
        let gap = NaiveDate::from_ymd_opt(2024, 3, 31)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(
            london_to_utc(gap),
            Utc.with_ymd_and_hms(2024, 3, 31, 1, 30, 0).unwrap()
        );
        // autumn overlap: 01:30 on 27 Oct 2024 happens twice → the earlier (BST) one
        let overlap = NaiveDate::from_ymd_opt(2024, 10, 27)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(
            london_to_utc(overlap),
            Utc.with_ymd_and_hms(2024, 10, 27, 0, 30, 0).unwrap()
        );
    }

    #[test]
    fn dates_go_to_onefile_as_midnight_utc() {
        assert_eq!(
            date_to_onefile(d(2024, 6, 1)).to_rfc3339(),
            "2024-06-01T00:00:00+00:00"
        );
    }
}
