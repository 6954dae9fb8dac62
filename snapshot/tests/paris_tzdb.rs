//! The Europe/Paris rule of `date.rs` (the EU rule: summer time from the
//! last Sunday of March to the last Sunday of October, switching at 01:00
//! UTC) is written by hand, so that host and guests share it without a time
//! zone database. Here it is held to the IANA database (jiff's bundled
//! copy) for every day, and every hour of the months that switch, from 1996,
//! when the EU rule began, to 2099.

use hellowatt_snapshot::{Date, paris_iso, paris_offset_at};
use jiff::civil;
use jiff::tz::TimeZone;

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").expect("jiff's bundled database has Europe/Paris")
}

fn days() -> impl Iterator<Item = Date> {
    let first = Date::parse("1996-01-01").unwrap();
    let last = Date::parse("2099-12-31").unwrap();
    (0..=last.days_since_epoch() - first.days_since_epoch()).map(move |i| first.add_days(i))
}

fn civil_date(d: Date) -> civil::Date {
    civil::date(d.year as i16, d.month as i8, d.day as i8)
}

#[test]
fn every_midnight_and_day_length_matches_the_database() {
    let tz = paris();
    let mut checked = 0;
    for d in days() {
        let midnight = civil_date(d).to_zoned(tz.clone()).unwrap();
        assert_eq!(
            d.paris_midnight_utc(),
            midnight.timestamp().as_second(),
            "{d}"
        );
        assert_eq!(
            d.paris_midnight_offset(),
            midnight.offset().seconds(),
            "{d}"
        );
        let next = civil_date(d.succ()).to_zoned(tz.clone()).unwrap();
        let hours = (next.timestamp().as_second() - midnight.timestamp().as_second()) / 3600;
        assert_eq!(d.paris_day_hours(), hours, "{d}");
        checked += 1;
    }
    assert_eq!(checked, 37_986);
}

#[test]
fn the_hours_have_the_databases_offset_day_and_text() {
    let tz = paris();
    let start = Date::parse("1996-01-01").unwrap().paris_midnight_utc();
    let end = Date::parse("2100-01-01").unwrap().paris_midnight_utc();
    // Every hour, and the last second of each, in March and October (the
    // switches and the days around them); every six hours elsewhere.
    let mut t = start;
    while t < end {
        let month = Date::paris_day_of(t).month;
        let step = if matches!(month, 3 | 10) {
            3600
        } else {
            6 * 3600
        };
        for probe in [t, t + 3599] {
            let ts = jiff::Timestamp::from_second(probe).unwrap();
            let zoned = ts.to_zoned(tz.clone());
            assert_eq!(paris_offset_at(probe), zoned.offset().seconds(), "{probe}");
            assert_eq!(
                Date::paris_day_of(probe).to_string(),
                zoned.date().to_string(),
                "{probe}"
            );
            assert_eq!(
                paris_iso(probe),
                zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                "{probe}"
            );
        }
        t += step;
    }
}

#[test]
fn wall_clock_times_resolve_as_the_database_does() {
    // `paris_time_utc`: the earlier instant in the autumn fold, the time
    // after the gap in spring: jiff's "compatible" disambiguation.
    let tz = paris();
    for d in days().filter(|d| d.paris_day_hours() != 24 || d.day == 15) {
        for minutes in (0..24 * 60).step_by(15) {
            let (h, m) = ((minutes / 60) as u8, (minutes % 60) as u8);
            let wall = civil_date(d).at(h as i8, m as i8, 0, 0);
            let expected = tz.to_ambiguous_zoned(wall).compatible().unwrap();
            assert_eq!(
                d.paris_time_utc(h, m),
                expected.timestamp().as_second(),
                "{d} {h:02}:{m:02}"
            );
        }
    }
}
