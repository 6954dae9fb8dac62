//! Calendar days and Europe/Paris wall-clock arithmetic, without a time-zone
//! database: the guest must stay small, and France has followed the EU rule
//! (CET +01:00, CEST +02:00 from the last Sunday of March 01:00 UTC to the
//! last Sunday of October 01:00 UTC) since 1996, the only range this serves.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt::{self, Write as _};

/// A calendar day (proleptic Gregorian), Europe/Paris local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(pub String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DateError {}

const SECONDS_PER_DAY: i64 = 86_400;

impl Date {
    /// A checked constructor: the day must exist.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date, DateError> {
        if !(1..=12).contains(&month) {
            return Err(DateError(format!("month {month} out of range")));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError(format!(
                "day {year:04}-{month:02}-{day:02} does not exist"
            )));
        }
        Ok(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let bad = || DateError(format!("{s:?} is not a date (YYYY-MM-DD)"));
        let mut parts = s.splitn(3, '-');
        let (y, m, d) = (parts.next(), parts.next(), parts.next());
        let (Some(y), Some(m), Some(d)) = (y, m, d) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        let day = d.parse().map_err(|_| bad())?;
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + n)
    }

    pub fn succ(self) -> Date {
        self.add_days(1)
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }

    pub fn first_of_month(self) -> Date {
        Date { day: 1, ..self }
    }

    pub fn last_of_month(self) -> Date {
        Date {
            day: days_in_month(self.year, self.month),
            ..self
        }
    }

    pub fn first_of_next_month(self) -> Date {
        self.last_of_month().succ()
    }

    /// The UTC offset in force at local midnight starting this day, in
    /// seconds (3600 or 7200). The switches happen at 02:00 and 03:00 local,
    /// so midnight of a switch day still has the previous offset.
    pub fn paris_midnight_offset(self) -> i32 {
        let spring = last_sunday(self.year, 3);
        let autumn = last_sunday(self.year, 10);
        if self > spring && self <= autumn {
            7200
        } else {
            3600
        }
    }

    /// Local midnight as seconds since the epoch (UTC).
    pub fn paris_midnight_utc(self) -> i64 {
        self.days_since_epoch() * SECONDS_PER_DAY - i64::from(self.paris_midnight_offset())
    }

    /// `2026-01-01T00:00:00+01:00`: the form the site's query strings use.
    pub fn paris_midnight_iso(self) -> String {
        let off = self.paris_midnight_offset() / 3600;
        format!("{self}T00:00:00+{off:02}:00")
    }

    /// Number of hours in this local day: 23, 24 or 25.
    pub fn paris_day_hours(self) -> i64 {
        (self.succ().paris_midnight_utc() - self.paris_midnight_utc()) / 3600
    }
}

/// The Europe/Paris offset (seconds) in force at a UTC instant.
pub fn paris_offset_at(utc: i64) -> i32 {
    let date = Date::from_days_since_epoch(utc.div_euclid(SECONDS_PER_DAY));
    // Only March and October hold a change (read per curve point: the
    // other ten months skip the two Sundays).
    match date.month {
        4..=9 => return 7200,
        1 | 2 | 11 | 12 => return 3600,
        _ => {}
    }
    let spring = last_sunday(date.year, 3).days_since_epoch() * SECONDS_PER_DAY + 3600;
    let autumn = last_sunday(date.year, 10).days_since_epoch() * SECONDS_PER_DAY + 3600;
    if utc >= spring && utc < autumn {
        7200
    } else {
        3600
    }
}

impl Date {
    /// The Europe/Paris day that contains a UTC instant.
    pub fn paris_day_of(utc: i64) -> Date {
        let local = utc + i64::from(paris_offset_at(utc));
        Date::from_days_since_epoch(local.div_euclid(SECONDS_PER_DAY))
    }
}

impl Date {
    /// The UTC instant of a Europe/Paris wall-clock time on this day. A time
    /// that happens twice (02:30 on the last Sunday of October) gives the
    /// first of the two; a time that does not exist (02:30 on the last
    /// Sunday of March) is read with the winter offset, landing at 03:30.
    pub fn paris_time_utc(self, hour: u8, minute: u8) -> i64 {
        let local = self.days_since_epoch() * SECONDS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60;
        // Earliest first: in an overlap the first occurrence wins.
        for offset in [7200, 3600] {
            let utc = local - offset;
            if i64::from(paris_offset_at(utc)) == offset {
                return utc;
            }
        }
        local - 3600
    }
}

/// Parses an ISO-8601 timestamp with an offset (`2026-01-05T00:00:00+01:00`,
/// `...Z`, fractional seconds allowed) into seconds since the epoch.
pub fn parse_timestamp(s: &str) -> Result<i64, DateError> {
    let bad = || DateError(format!("{s:?} is not a timestamp with an offset"));
    if s.len() < 20 || !s.is_char_boundary(10) || !s.is_char_boundary(19) {
        return Err(bad());
    }
    let date = Date::parse(&s[..10]).map_err(|_| bad())?;
    let rest = &s[10..];
    let bytes = rest.as_bytes();
    if bytes[0] != b'T' && bytes[0] != b' ' {
        return Err(bad());
    }
    let hms = &rest[1..9];
    let mut it = hms.split(':');
    let mut field = |max: i64| -> Result<i64, DateError> {
        let v: i64 = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if !(0..=max).contains(&v) {
            return Err(bad());
        }
        Ok(v)
    };
    let (h, m, sec) = (field(23)?, field(59)?, field(60)?);
    let mut tail = &rest[9..];
    if let Some(frac) = tail.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        tail = &frac[digits..];
    }
    let offset = match tail {
        "Z" | "z" => 0,
        _ => {
            let sign = match tail.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let body = &tail[1..];
            // An offset is ASCII digits; anything else (a multi-byte
            // character would split the slices below) is refused here.
            if !body.is_ascii() {
                return Err(bad());
            }
            let (oh, om) = match body.len() {
                5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
                4 => (&body[..2], &body[2..]),
                _ => return Err(bad()),
            };
            let oh: i64 = oh.parse().map_err(|_| bad())?;
            let om: i64 = om.parse().map_err(|_| bad())?;
            if oh > 18 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Ok(date.days_since_epoch() * SECONDS_PER_DAY + h * 3600 + m * 60 + sec - offset)
}

/// Formats a UTC instant as Europe/Paris local time with its offset.
pub fn paris_iso(utc: i64) -> String {
    let off = paris_offset_at(utc);
    let local = utc + i64::from(off);
    let date = Date::from_days_since_epoch(local.div_euclid(SECONDS_PER_DAY));
    let secs = local.rem_euclid(SECONDS_PER_DAY);
    let mut out = String::with_capacity(25);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+{:02}:00",
        date.year,
        date.month,
        date.day,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 3600
    );
    out
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn last_sunday(year: i32, month: u8) -> Date {
    let last = Date {
        year,
        month,
        day: days_in_month(year, month),
    };
    last.add_days(-i64::from((last.weekday() + 1) % 7))
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn epoch_round_trip() {
        for n in -800_000..800_000 {
            if n % 997 == 0 {
                assert_eq!(Date::from_days_since_epoch(n).days_since_epoch(), n);
            }
        }
        assert_eq!(d("1970-01-01").days_since_epoch(), 0);
        assert_eq!(d("2026-11-28").weekday(), 5); // a Saturday
    }

    /// The month shortcut of `paris_offset_at` agrees, hour by hour over
    /// twelve years, with the two-Sundays rule it skips.
    #[test]
    fn the_offset_shortcut_agrees_with_the_rule_every_hour() {
        let rule = |utc: i64| {
            let year = Date::from_days_since_epoch(utc.div_euclid(SECONDS_PER_DAY)).year;
            let spring = last_sunday(year, 3).days_since_epoch() * SECONDS_PER_DAY + 3600;
            let autumn = last_sunday(year, 10).days_since_epoch() * SECONDS_PER_DAY + 3600;
            if (spring..autumn).contains(&utc) {
                7200
            } else {
                3600
            }
        };
        let (from, to) = (
            Date::new(2019, 12, 31).unwrap().paris_midnight_utc(),
            Date::new(2032, 1, 1).unwrap().paris_midnight_utc(),
        );
        for utc in (from..to).step_by(1800) {
            assert_eq!(paris_offset_at(utc), rule(utc), "{utc}");
        }
        // Three hours after midnight on the 25-hour day: 02:00 in winter time.
        let midnight = Date::new(2026, 10, 25).unwrap().paris_midnight_utc();
        assert_eq!(paris_iso(midnight + 3 * 3600), "2026-10-25T02:00:00+01:00");
    }

    #[test]
    fn dst_switch_days_2026() {
        // 2026: spring forward on 29 March, fall back on 25 October.
        assert_eq!(last_sunday(2026, 3), d("2026-03-29"));
        assert_eq!(last_sunday(2026, 10), d("2026-10-25"));
        assert_eq!(
            d("2026-03-29").paris_midnight_iso(),
            "2026-03-29T00:00:00+01:00"
        );
        assert_eq!(
            d("2026-03-30").paris_midnight_iso(),
            "2026-03-30T00:00:00+02:00"
        );
        assert_eq!(
            d("2026-10-25").paris_midnight_iso(),
            "2026-10-25T00:00:00+02:00"
        );
        assert_eq!(
            d("2026-10-26").paris_midnight_iso(),
            "2026-10-26T00:00:00+01:00"
        );
        assert_eq!(d("2026-03-29").paris_day_hours(), 23);
        assert_eq!(d("2026-10-25").paris_day_hours(), 25);
        assert_eq!(d("2026-06-01").paris_day_hours(), 24);
    }

    #[test]
    fn timestamps_map_to_paris_days() {
        let t = parse_timestamp("2026-01-05T00:00:00+01:00").unwrap();
        assert_eq!(Date::paris_day_of(t), d("2026-01-05"));
        // The same instant written in UTC is still 5 January in Paris.
        let t = parse_timestamp("2026-01-04T23:00:00Z").unwrap();
        assert_eq!(Date::paris_day_of(t), d("2026-01-05"));
        let t = parse_timestamp("2026-07-01T23:30:00+02:00").unwrap();
        assert_eq!(Date::paris_day_of(t), d("2026-07-01"));
        assert_eq!(paris_iso(t), "2026-07-01T23:30:00+02:00");
        assert!(parse_timestamp("2026-07-01").is_err());
        assert!(parse_timestamp("2026-07-01T25:00:00+02:00").is_err());
        assert!(parse_timestamp("2026-07-01T10:00:00.123+0200").is_ok());
    }

    #[test]
    fn wall_clock_times_across_dst() {
        let spring = d("2026-03-29");
        assert_eq!(
            paris_iso(spring.paris_time_utc(1, 30)),
            "2026-03-29T01:30:00+01:00"
        );
        assert_eq!(
            paris_iso(spring.paris_time_utc(15, 0)),
            "2026-03-29T15:00:00+02:00"
        );
        assert_eq!(
            paris_iso(spring.paris_time_utc(2, 30)),
            "2026-03-29T03:30:00+02:00"
        );
        let autumn = d("2026-10-25");
        assert_eq!(
            paris_iso(autumn.paris_time_utc(2, 30)),
            "2026-10-25T02:30:00+02:00"
        );
        assert_eq!(
            paris_iso(autumn.paris_time_utc(15, 0)),
            "2026-10-25T15:00:00+01:00"
        );
        assert_eq!(
            paris_iso(d("2026-07-14").paris_time_utc(0, 0)),
            "2026-07-14T00:00:00+02:00"
        );
        assert_eq!(
            paris_iso(d("2026-01-14").paris_time_utc(23, 59)),
            "2026-01-14T23:59:00+01:00"
        );
    }

    #[test]
    fn rejects_impossible_days() {
        assert!(Date::parse("2026-02-29").is_err());
        assert!(Date::parse("2028-02-29").is_ok());
        assert!(Date::parse("2026-13-01").is_err());
        assert!(Date::parse("26-01-01").is_err());
    }
}
