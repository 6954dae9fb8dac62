//! The measure window: `startDate`/`endDate` decoded and read as DRF
//! does (ISO-8601 with an offset, naive times as Europe/Paris wall time),
//! turned into the Paris days it covers, and DRF's 400 when they are
//! wrong.
//!
//! It owns the rules listed under "`startDate`/`endDate`" in `site.rs`'s
//! doc. It must never look at a home or a session: the routes that use a
//! window are the demo site's and the scenario's.

use hellowatt_snapshot::{Date, paris_offset_at, parse_timestamp};
use serde_json::{Value, json};

use super::wire::{Reply, decode_pairs, last_value};

/// `[start, end)` in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start: i64,
    pub end: i64,
}

/// The longest window served, in days (a guard of the simulation).
const MAX_WINDOW_DAYS: i64 = 3_700;

impl Window {
    /// The days d with start <= local midnight of d < end.
    pub fn days(&self) -> Vec<Date> {
        if self.start >= self.end {
            return Vec::new();
        }
        let first = Date::paris_day_of(self.start).add_days(-1);
        let last = Date::paris_day_of(self.end).add_days(1);
        let mut days = Vec::new();
        let mut d = first;
        while d <= last {
            let midnight = d.paris_midnight_utc();
            if self.start <= midnight && midnight < self.end {
                days.push(d);
            }
            d = d.succ();
        }
        days
    }
}

pub(crate) const DRF_DATETIME_FORMAT: &str = "Datetime has wrong format. Use one of these formats instead: \
     YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/// A query timestamp: with an offset, or without one read as Europe/Paris
/// wall time.
pub(crate) fn parse_query_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = parse_timestamp(s) {
        return Some(t);
    }
    // Naive: `YYYY-MM-DDThh:mm:ss[.f]` and nothing after.
    let naive = s.len() >= 19
        && s.is_char_boundary(19)
        && s[19..]
            .strip_prefix('.')
            .is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        && (s.len() == 19 || s.as_bytes()[19] == b'.');
    if !naive {
        return None;
    }
    let wall = parse_timestamp(&format!("{s}Z")).ok()?;
    // The offset in force at that wall time (the earlier one when ambiguous).
    [7200, 3600]
        .into_iter()
        .map(|off| wall - off)
        .find(|&utc| i64::from(paris_offset_at(utc)) == wall - utc)
        .or(Some(wall - 3600))
}

/// What a route makes of a query without `endDate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingEnd {
    /// DRF's "This field is required." (the load curve).
    Required,
    /// The rest of the month `startDate` falls in: `conso_daily`, which a
    /// public client (zotot's `hellowatt-ha`) asks with `startDate` alone,
    /// the first of a month, and reads that month from the answer.
    EndOfMonth,
}

/// What a query says of one bound.
enum Bound {
    Missing,
    Bad,
    At(i64),
}

fn bound(pairs: &[(String, String)], name: &str) -> Bound {
    match last_value(pairs, name) {
        None => Bound::Missing,
        Some(v) => parse_query_timestamp(&v).map_or(Bound::Bad, Bound::At),
    }
}

/// The window, or the 400 of the simulation's own length guard.
fn checked(start: i64, end: i64) -> Result<Window, Reply> {
    if (end - start) / 86_400 > MAX_WINDOW_DAYS {
        return Err(Reply::json(
            400,
            &json!({"non_field_errors": [format!(
                "The period is too long (at most {MAX_WINDOW_DAYS} days)."
            )]}),
        ));
    }
    Ok(Window { start, end })
}

/// `startDate` and `endDate` of a raw query, or DRF's 400.
pub(crate) fn parse_window(query: &str, missing_end: MissingEnd) -> Result<Window, Reply> {
    let pairs = decode_pairs(query);
    let mut errors = serde_json::Map::new();
    let start = match bound(&pairs, "startDate") {
        Bound::At(t) => Some(t),
        Bound::Missing => {
            errors.insert("startDate".into(), json!(["This field is required."]));
            None
        }
        Bound::Bad => {
            errors.insert("startDate".into(), json!([DRF_DATETIME_FORMAT]));
            None
        }
    };
    let end = match (bound(&pairs, "endDate"), missing_end) {
        (Bound::At(t), _) => Some(t),
        (Bound::Missing, MissingEnd::EndOfMonth) => start.map(|start| {
            Date::paris_day_of(start)
                .last_of_month()
                .succ()
                .paris_midnight_utc()
        }),
        (Bound::Missing, MissingEnd::Required) => {
            errors.insert("endDate".into(), json!(["This field is required."]));
            None
        }
        (Bound::Bad, _) => {
            errors.insert("endDate".into(), json!([DRF_DATETIME_FORMAT]));
            None
        }
    };
    match (start, end) {
        (Some(start), Some(end)) if errors.is_empty() => checked(start, end),
        _ => Err(Reply::json(400, &Value::Object(errors))),
    }
}

/// `startDate` and `endDate` of a raw query where both are optional: a
/// missing one is `default`'s (the temperatures, which answer the last year
/// without a query). A malformed one is DRF's 400.
pub(crate) fn parse_window_or(query: &str, default: Window) -> Result<Window, Reply> {
    let pairs = decode_pairs(query);
    let mut errors = serde_json::Map::new();
    let mut read = |name: &str, fallback: i64| match bound(&pairs, name) {
        Bound::At(t) => t,
        Bound::Missing => fallback,
        Bound::Bad => {
            errors.insert(name.into(), json!([DRF_DATETIME_FORMAT]));
            fallback
        }
    };
    let (start, end) = (
        read("startDate", default.start),
        read("endDate", default.end),
    );
    if errors.is_empty() {
        checked(start, end)
    } else {
        Err(Reply::json(400, &Value::Object(errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn windows_on_both_sides_of_dst() {
        let w = |a: &str, b: &str| {
            parse_window(
                &format!(
                    "startDate={}&endDate={}",
                    super::super::testing::encode(a),
                    super::super::testing::encode(b)
                ),
                MissingEnd::Required,
            )
            .unwrap()
            .days()
        };
        let march = w("2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00");
        assert_eq!(march.len(), 31);
        assert_eq!(march[0], d("2026-03-01"));
        assert_eq!(march[30], d("2026-03-31"));
        let october = w("2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00");
        assert_eq!(october.len(), 31);
        assert_eq!(october[30], d("2026-10-31"));
        // The same instants in UTC.
        assert_eq!(w("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"), march);
        // Exclusive end; a single day; an empty window.
        assert_eq!(
            w("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
            vec![d("2026-03-29")]
        );
        assert!(w("2026-03-29T00:00:00+01:00", "2026-03-29T00:00:00+01:00").is_empty());
        assert!(w("2026-04-01T00:00:00+02:00", "2026-03-01T00:00:00+01:00").is_empty());
        // A start one second after midnight leaves that day out.
        assert_eq!(
            w("2026-03-01T00:00:01+01:00", "2026-03-03T00:00:00+01:00"),
            vec![d("2026-03-02")]
        );
        // A wrong offset (CET in summer) is an hour later: the window takes
        // in 1 April, and in June it loses the first day.
        assert_eq!(
            w("2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+01:00").len(),
            32
        );
        let june = w("2026-06-01T00:00:00+01:00", "2026-07-01T00:00:00+01:00");
        assert_eq!(june.first(), Some(&d("2026-06-02")));
        assert_eq!(june.last(), Some(&d("2026-07-01")));
        // Naive timestamps read as Paris wall time.
        assert_eq!(w("2026-03-01T00:00:00", "2026-04-01T00:00:00"), march);
    }

    /// `conso_daily` with `startDate` alone answers the rest of that month;
    /// the curve still wants both.
    #[test]
    fn start_alone_is_the_rest_of_its_month() {
        let q = |s: &str| format!("startDate={}", super::super::testing::encode(s));
        let march = parse_window(&q("2026-03-01T00:00:00+01:00"), MissingEnd::EndOfMonth)
            .unwrap()
            .days();
        assert_eq!(march.len(), 31);
        assert_eq!(march[0], d("2026-03-01"));
        assert_eq!(march[30], d("2026-03-31"));
        let rest = parse_window(&q("2026-02-20T00:00:00+01:00"), MissingEnd::EndOfMonth)
            .unwrap()
            .days();
        assert_eq!((rest[0], rest.len()), (d("2026-02-20"), 9));
        let e = parse_window(&q("2026-03-01T00:00:00+01:00"), MissingEnd::Required).unwrap_err();
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["endDate"][0], "This field is required.");
        // Neither bound: startDate is still required.
        let e = parse_window("", MissingEnd::EndOfMonth).unwrap_err();
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["startDate"][0], "This field is required.");
        assert!(v.get("endDate").is_none());
    }

    /// The temperatures' window: each bound optional, a missing one the
    /// default's; a malformed one still DRF's 400.
    #[test]
    fn optional_bounds_fall_back_to_the_default() {
        let default = Window {
            start: d("2025-11-28").paris_midnight_utc(),
            end: d("2026-11-28").paris_midnight_utc(),
        };
        let enc = |s: &str| super::super::testing::encode(s);
        assert_eq!(parse_window_or("", default).unwrap(), default);
        let w = parse_window_or(
            &format!("startDate={}", enc("2026-06-01T00:00:00+02:00")),
            default,
        )
        .unwrap();
        assert_eq!(w.start, d("2026-06-01").paris_midnight_utc());
        assert_eq!(w.end, default.end);
        let w = parse_window_or(
            &format!("endDate={}", enc("2026-01-01T00:00:00+01:00")),
            default,
        )
        .unwrap();
        assert_eq!((w.start, w.days().len()), (default.start, 34));
        let e = parse_window_or("startDate=2026-06-01&endDate=x", default).unwrap_err();
        assert_eq!(e.status, 400);
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["startDate"][0], DRF_DATETIME_FORMAT);
        assert_eq!(v["endDate"][0], DRF_DATETIME_FORMAT);
    }

    #[test]
    fn window_errors_are_drf_style() {
        let e = parse_window(
            "startDate=2026-03-01T00:00:00+01:00&endDate=2026-04-01T00:00:00+02:00",
            MissingEnd::Required,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["startDate"][0], DRF_DATETIME_FORMAT);
        assert_eq!(v["endDate"][0], DRF_DATETIME_FORMAT);
        let e = parse_window(
            "endDate=2026-04-01T00%3A00%3A00%2B02%3A00",
            MissingEnd::Required,
        )
        .unwrap_err();
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["startDate"][0], "This field is required.");
        assert!(v.get("endDate").is_none());
        assert!(
            parse_window(
                "startDate=2026-01-01&endDate=2026-02-01",
                MissingEnd::Required
            )
            .is_err()
        );
        assert!(
            parse_window(
                "startDate=2000-01-01T00%3A00%3A00Z&endDate=2026-01-01T00%3A00%3A00Z",
                MissingEnd::Required
            )
            .is_err()
        );
    }
}
