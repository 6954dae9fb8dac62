//! RTE's EcoWatt signals payload (v5) to typed days.
//!
//! The shape, as the public clients have seen it (sim/src/ecowatt.rs says
//! which parts are seen and which inferred): `{"signals": [day, …]}`, each
//! day `{"GenerationFichier", "jour", "dvalue", "message", "values":
//! [{"pas", "hvalue"}, …]}`, `jour` the Paris midnight with its offset,
//! `pas` the hour (0 = 00:00), `hvalue` 0 to 3, `dvalue` 1 to 3.
//!
//! What it tolerates, because the evidence shows it or cannot rule it out:
//! days in any order, a day twice (the first kept), hours missing or out of
//! order (RTE's sandbox has both), 23 or 25 hours on the days the clocks
//! change (counted as elapsed hours from midnight: the clients disagree and
//! nothing shows RTE's choice), `jour` as a bare `YYYY-MM-DD`, numbers
//! written as strings, unknown fields, any `message` (it is never read: its
//! wording and spaces vary). An hour or a level it cannot read is left out
//! and logged; the day stays. What it refuses, as a site change: a payload
//! that is not JSON, without a `signals` list, or whose every day lacks a
//! readable `jour`.
//!
//! It must never return a day outside the asked window, an hour outside its
//! day, or a level outside 0..=3 (1..=3 for a day).

use crate::logging::Log;
use hellowatt_snapshot::{Date, EcoWattDay, EcoWattHour, parse_timestamp};
use serde_json::{Map, Value};

/// The largest answer read: four days of 25 hours are about 5 KiB.
pub const SIGNALS_MAX_BODY: usize = 256 * 1024;

/// What did not match, for a `site-changed` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// A number, or a string holding one (`"2"`).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `jour`: an instant with its offset (its Paris day), or a bare day.
fn day_of(v: &Value) -> Option<Date> {
    let s = v.as_str()?.trim();
    if let Ok(instant) = parse_timestamp(s) {
        return Some(Date::paris_day_of(instant));
    }
    Date::parse(s.get(..10)?).ok()
}

/// One day's hours: `(start, level)` in order, one per hour.
fn hours(values: Option<&Value>, day: Date, log: &mut dyn Log) -> Vec<EcoWattHour> {
    let Some(list) = values.and_then(Value::as_array) else {
        log.warn(&format!(
            "EcoWatt {day}: no `values` list: the day has no hours"
        ));
        return Vec::new();
    };
    let (midnight, next) = (day.paris_midnight_utc(), day.succ().paris_midnight_utc());
    let mut out: Vec<EcoWattHour> = Vec::with_capacity(list.len());
    let mut skipped = 0;
    for v in list {
        let hour = v.get("pas").and_then(integer);
        let level = v.get("hvalue").and_then(integer);
        let start = hour.and_then(|h| h.checked_mul(3600)?.checked_add(midnight));
        match (start, level) {
            (Some(start), Some(level))
                if (midnight..next).contains(&start) && (0..=3).contains(&level) =>
            {
                if !out.iter().any(|h| h.start == start) {
                    out.push(EcoWattHour {
                        start,
                        level: level as u8,
                    });
                }
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        log.warn(&format!(
            "EcoWatt {day}: {skipped} hour(s) without a readable `pas` in the day and an \
             `hvalue` from 0 to 3, left out"
        ));
    }
    out.sort_by_key(|h| h.start);
    out
}

/// The days of `start..=end` in the payload, in order.
pub fn signals(
    body: &[u8],
    start: Date,
    end: Date,
    log: &mut dyn Log,
) -> Result<Vec<EcoWattDay>, ParseError> {
    if body.len() > SIGNALS_MAX_BODY {
        return Err(ParseError(format!(
            "the answer is larger than {SIGNALS_MAX_BODY} bytes"
        )));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("the answer is not JSON ({e})")))?;
    let list = v
        .as_object()
        .and_then(|o| o.get("signals"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            let keys: Vec<&str> = v
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            ParseError(format!(
                "no `signals` list in the answer (its keys: {})",
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ))
        })?;
    let mut out: Vec<EcoWattDay> = Vec::new();
    let mut unreadable = 0;
    for item in list {
        let empty = Map::new();
        let o = item.as_object().unwrap_or(&empty);
        let Some(date) = o.get("jour").and_then(day_of) else {
            unreadable += 1;
            continue;
        };
        if date < start || date > end || out.iter().any(|d| d.date == date) {
            continue;
        }
        let level = o.get("dvalue").and_then(integer);
        let level = match level {
            Some(l @ 1..=3) => Some(l as u8),
            other => {
                log.warn(&format!(
                    "EcoWatt {date}: a day's `dvalue` of {other:?} (1 to 3 expected): left empty"
                ));
                None
            }
        };
        out.push(EcoWattDay {
            date,
            level,
            hours: hours(o.get("values"), date, log),
            generated_at: o
                .get("GenerationFichier")
                .and_then(Value::as_str)
                .and_then(|s| parse_timestamp(s.trim()).ok()),
        });
    }
    if !list.is_empty() && unreadable == list.len() {
        return Err(ParseError(format!(
            "none of the {} day(s) has a readable `jour`",
            list.len()
        )));
    }
    if unreadable > 0 {
        log.warn(&format!(
            "EcoWatt: {unreadable} day(s) without a readable `jour`, left out"
        ));
    }
    out.sort_by_key(|d| d.date);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{Collect, NoLog};
    use serde_json::json;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn day(jour: &str, dvalue: Value, values: Vec<Value>) -> Value {
        json!({
            "GenerationFichier": "2026-10-23T23:00:00+02:00",
            "jour": jour,
            "dvalue": dvalue,
            "message": " Pas d\u{2019}alerte. ",
            "values": values,
        })
    }

    fn hours_of(levels: &[i64]) -> Vec<Value> {
        levels
            .iter()
            .enumerate()
            .map(|(pas, h)| json!({"pas": pas, "hvalue": h}))
            .collect()
    }

    fn parse(v: Value, start: &str, end: &str) -> Result<Vec<EcoWattDay>, ParseError> {
        signals(v.to_string().as_bytes(), d(start), d(end), &mut NoLog)
    }

    /// Four days as RTE sends them, the 25-hour day among them: each
    /// day's level, its hours at Paris midnight plus `pas` hours.
    #[test]
    fn four_days_with_the_25_hour_day() {
        let mut levels = vec![1; 24];
        levels[19] = 2;
        let v = json!({"signals": [
            day("2026-10-24T00:00:00+02:00", json!(2), hours_of(&levels)),
            day("2026-10-25T00:00:00+02:00", json!(1), hours_of(&[0; 25])),
            day("2026-10-26T00:00:00+01:00", json!(1), hours_of(&[1; 24])),
            day("2026-10-27T00:00:00+01:00", json!(3), hours_of(&[3; 24])),
        ]});
        let days = parse(v, "2026-10-24", "2026-10-27").unwrap();
        assert_eq!(days.len(), 4);
        assert_eq!((days[0].date, days[0].level), (d("2026-10-24"), Some(2)));
        assert_eq!(days[0].hours.len(), 24);
        assert_eq!(days[0].hours[19].level, 2);
        assert_eq!(
            days[0].hours[19].start,
            d("2026-10-24").paris_midnight_utc() + 19 * 3600
        );
        assert_eq!(days[1].hours.len(), 25, "the 25-hour day");
        assert_eq!(
            days[1].hours[24].start,
            d("2026-10-26").paris_midnight_utc() - 3600
        );
        assert_eq!(
            days[0].generated_at,
            Some(d("2026-10-23").paris_time_utc(23, 0))
        );
        assert_eq!(days[3].level, Some(3));
    }

    /// The sandbox's ways: days out of order, hours missing or shuffled, a
    /// day twice, numbers as strings, a bare `jour`, days outside the
    /// window left out.
    #[test]
    fn what_the_sandbox_does_is_tolerated() {
        let gappy: Vec<Value> = (7..24)
            .rev()
            .map(|pas| json!({"pas": pas.to_string(), "hvalue": "1"}))
            .collect();
        let v = json!({"signals": [
            day("2022-06-06T00:00:00+02:00", json!(1), hours_of(&[1; 24])),
            day("2022-06-04", json!("2"), hours_of(&[2; 24])),
            day("2022-06-03T00:00:00+02:00", json!(1), gappy),
            day("2022-06-04T00:00:00+02:00", json!(3), hours_of(&[3; 24])),
            day("2022-06-09T00:00:00+02:00", json!(1), hours_of(&[1; 24])),
        ]});
        let days = parse(v, "2022-06-03", "2022-06-06").unwrap();
        let dates: Vec<Date> = days.iter().map(|x| x.date).collect();
        assert_eq!(dates, [d("2022-06-03"), d("2022-06-04"), d("2022-06-06")]);
        assert_eq!(days[0].hours.len(), 17);
        assert_eq!(
            days[0].hours[0].start,
            d("2022-06-03").paris_midnight_utc() + 7 * 3600
        );
        assert_eq!(days[1].level, Some(2), "the first of a day given twice");
    }

    /// An hour or a level that cannot be read is left out and logged; the
    /// day stays.
    #[test]
    fn unreadable_parts_are_left_out_not_fatal() {
        let v = json!({"signals": [
            day("2026-11-28T00:00:00+01:00", json!(0), vec![
                json!({"pas": 0, "hvalue": 1}),
                json!({"pas": 1, "hvalue": 7}),
                json!({"pas": 30, "hvalue": 1}),
                json!({"pas": -1, "hvalue": 1}),
                json!({"hvalue": 1}),
                json!("nonsense"),
                json!({"pas": 0, "hvalue": 2}),
            ]),
            json!({"dvalue": 1}),
        ]});
        let mut log = Collect::default();
        let days = signals(
            v.to_string().as_bytes(),
            d("2026-11-28"),
            d("2026-11-28"),
            &mut log,
        )
        .unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].level, None, "a dvalue of 0 is no day level");
        assert_eq!(days[0].hours.len(), 1);
        assert_eq!(
            days[0].hours[0].level, 1,
            "the first of an hour given twice"
        );
        let text: Vec<&str> = log.0.iter().map(|(_, m)| m.as_str()).collect();
        assert!(text.iter().any(|m| m.contains("5 hour(s)")), "{text:?}");
        assert!(
            text.iter().any(|m| m.contains("1 day(s) without")),
            "{text:?}"
        );
    }

    #[test]
    fn another_shape_is_a_site_change() {
        let e = parse(json!({"signaux": []}), "2026-11-28", "2026-11-28").unwrap_err();
        assert!(
            e.0.contains("no `signals` list") && e.0.contains("signaux"),
            "{}",
            e.0
        );
        let e = parse(json!([1, 2]), "2026-11-28", "2026-11-28").unwrap_err();
        assert!(e.0.contains("keys: none"), "{}", e.0);
        let e = signals(b"<html>", d("2026-11-28"), d("2026-11-28"), &mut NoLog).unwrap_err();
        assert!(e.0.contains("not JSON"), "{}", e.0);
        let e = parse(
            json!({"signals": [{"date": "2026-11-28"}]}),
            "2026-11-28",
            "2026-11-28",
        )
        .unwrap_err();
        assert!(e.0.contains("readable `jour`"), "{}", e.0);
        // An empty list is no change: nothing published.
        assert_eq!(
            parse(json!({"signals": []}), "2026-11-28", "2026-11-28"),
            Ok(vec![])
        );
    }
}
