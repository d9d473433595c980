//! Dates and times as the two systems hold them: OneFile's UTC instants and date-only values
//! (read in Europe/London), PICS's local UK times (R3, R22; see the OneFile client's crate page,
//! "Conventions").
//!
//! OneFile stores date-only values as local midnight and serves them in UTC, so 1 June reads
//! as `2024-05-31T23:00:00Z` in summer: every date-only value is read by converting to
//! Europe/London before taking the date ([`london_date`]). PICS date-times are local UK time
//! without a zone ([`london_to_utc`], [`utc_to_london`]).

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Europe::London;

/// The first year a date from either system may fall in (§7: anything earlier is malformed).
///
/// **Decision**: dates outside 1900–2200 are refused as malformed input. No apprenticeship
/// record needs them, and the limits keep every conversion and `+60 minutes` far from chrono's
/// range, where arithmetic would overflow.
pub const FIRST_YEAR: i32 = 1900;
/// The last year a date from either system may fall in.
pub const LAST_YEAR: i32 = 2200;

/// Whether a year lies in the range the sync reads ([`FIRST_YEAR`]..=[`LAST_YEAR`]).
pub fn sane_year(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// The Europe/London calendar date of an instant.
pub fn london_date(t: DateTime<Utc>) -> NaiveDate {
    utc_to_london(t).date()
}

/// The last millisecond of a Europe/London day, as an instant (the end of time for a day
/// chrono cannot follow).
pub fn last_instant_of(day: NaiveDate) -> DateTime<Utc> {
    day.succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MAX_UTC, |midnight| {
            london_to_utc(midnight) - chrono::Duration::milliseconds(1)
        })
}

/// The Europe/London wall-clock time of an instant. Total: at the very edge of chrono's range,
/// where adding London's offset would overflow, the UTC wall-clock time is returned instead of
/// panicking (such instants are refused on input, see [`sane_year`]).
pub fn utc_to_london(t: DateTime<Utc>) -> NaiveDateTime {
    let utc = t.naive_utc();
    let offset = London.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc)
}

/// An instant cut to whole seconds: the precision PICS stores (R22/R40). OneFile sends
/// milliseconds; comparing or writing them would make every comparison a change.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

/// The earliest and the latest instant a Europe/London wall-clock time can name: the same
/// instant twice except in the autumn overlap, where the repeated hour names two instants
/// (the BST one first). A time in the spring gap reads as [`london_to_utc`] reads it.
pub fn london_to_utc_bounds(t: NaiveDateTime) -> (DateTime<Utc>, DateTime<Utc>) {
    match London.from_local_datetime(&t) {
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            (a.min(b), a.max(b))
        }
        _ => {
            let x = london_to_utc(t);
            (x, x)
        }
    }
}

/// The instant of a Europe/London wall-clock time. In the autumn overlap the earlier instant is
/// taken; in the spring gap (01:00–02:00 does not exist) the time is moved an hour on, as a
/// clock would be.
pub fn london_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    match London.from_local_datetime(&t) {
        LocalResult::Single(x) => x.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let Some(later) = t.checked_add_signed(chrono::Duration::hours(1)) else {
                return Utc.from_utc_datetime(&t);
            };
            match London.from_local_datetime(&later) {
                LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
                // London has no two-hour gaps; fall back to reading the time as UTC.
                LocalResult::None => Utc.from_utc_datetime(&t),
            }
        }
    }
}

/// A date-only value as OneFile is sent it: midnight UTC of that date.
pub fn date_to_onefile(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
}

/// Parses a OneFile date-time leniently: with or without a zone (`Z` or `±hh:mm`), with 0–7
/// fractional digits, or a bare date. A value without a zone is read as UTC. Returns `None`
/// for anything else, and for a year outside [`FIRST_YEAR`]..=[`LAST_YEAR`] (§7: such a value
/// is malformed input, and chrono's arithmetic overflows near the edges of its range).
pub fn parse_onefile_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            // RFC 3339 without seconds fraction limits: try a zone suffix by hand.
            let (body, zone_secs) = split_zone(s)?;
            let naive = parse_naive(body)?;
            if !sane_year(naive.year()) {
                return None;
            }
            let utc = naive.checked_sub_signed(chrono::Duration::seconds(i64::from(zone_secs)))?;
            Utc.from_utc_datetime(&utc)
        }
    };
    sane_year(t.year()).then_some(t)
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

/// A OneFile date-only field: the UTC instant read as a Europe/London date (OneFile stores
/// local midnight, which is 23:00Z the day before in summer).
pub fn parse_onefile_date(s: &str) -> Option<NaiveDate> {
    parse_onefile_datetime(s).map(london_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_instant_of_a_london_day_follows_its_offset() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // GMT: the day ends at midnight UTC; BST: an hour earlier
        assert_eq!(
            last_instant_of(day(2026, 1, 15)),
            utc("2026-01-15T23:59:59.999Z")
        );
        assert_eq!(
            last_instant_of(day(2026, 7, 1)),
            utc("2026-07-01T22:59:59.999Z")
        );
        // the day before the clocks go forward ends in GMT, the day they go back in GMT
        assert_eq!(
            last_instant_of(day(2026, 3, 28)),
            utc("2026-03-28T23:59:59.999Z")
        );
        assert_eq!(
            last_instant_of(day(2026, 10, 25)),
            utc("2026-10-25T23:59:59.999Z")
        );
        assert_eq!(
            london_date(last_instant_of(day(2026, 7, 1))),
            day(2026, 7, 1)
        );
    }

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
    fn extreme_dates_are_refused_not_panicking() {
        // B4: chrono's `%Y` accepts signed six-digit years; near the edge of its range the zone
        // and London-offset arithmetic overflowed
        for s in [
            "-262143-01-01T00:00:00+01:00",
            "-262143-01-01T00:00:00Z",
            "+262142-12-31T23:30:00",
            "+262142-12-31T23:59:59-01:00",
            "1899-12-31T23:59:59Z",
            "2201-01-01T00:00:00Z",
            "0000-01-01",
        ] {
            assert_eq!(parse_onefile_datetime(s), None, "{s}");
            assert_eq!(parse_onefile_date(s), None, "{s}");
        }
        // the edges of the sane range are read
        assert!(parse_onefile_datetime("1900-01-01T00:00:00Z").is_some());
        assert!(parse_onefile_datetime("2200-12-31T23:59:59Z").is_some());
        // the conversions themselves are total
        let _ = utc_to_london(DateTime::<Utc>::MIN_UTC);
        let _ = london_date(DateTime::<Utc>::MAX_UTC);
        let _ = london_to_utc(NaiveDateTime::MAX);
        let _ = london_to_utc(NaiveDateTime::MIN);
    }

    #[test]
    fn whole_seconds_and_overlap_bounds() {
        let t = Utc.with_ymd_and_hms(2024, 6, 3, 9, 31, 12).unwrap();
        assert_eq!(
            whole_seconds(t + chrono::Duration::milliseconds(347)),
            t,
            "R22: PICS keeps whole seconds"
        );
        // 01:10 on 25 Oct 2026 happens twice: 00:10Z (BST) and 01:10Z (GMT)
        let overlap = d(2026, 10, 25).and_hms_opt(1, 10, 0).unwrap();
        assert_eq!(
            london_to_utc_bounds(overlap),
            (
                Utc.with_ymd_and_hms(2026, 10, 25, 0, 10, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 10, 25, 1, 10, 0).unwrap()
            )
        );
        let plain = d(2026, 10, 25).and_hms_opt(3, 0, 0).unwrap();
        let x = Utc.with_ymd_and_hms(2026, 10, 25, 3, 0, 0).unwrap();
        assert_eq!(london_to_utc_bounds(plain), (x, x));
    }

    #[test]
    fn dates_go_to_onefile_as_midnight_utc() {
        assert_eq!(
            date_to_onefile(d(2024, 6, 1)).to_rfc3339(),
            "2024-06-01T00:00:00+00:00"
        );
    }
}
