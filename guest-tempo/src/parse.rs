//! Pure functions from the two services' payloads to typed colours.
//!
//! This module owns the reading rules of both formats:
//! - api-couleur-tempo.fr `jourTempo`: `{"dateJour": "YYYY-MM-DD",
//!   "codeJour": 0|1|2|3, ...}`, 0 meaning not known yet, 1 blue, 2 white,
//!   3 red; `dateJour` must be the day asked;
//! - RTE `tempoLight`: `{"values": {"YYYY-MM-DD": "BLUE"|"WHITE"|"RED"}}`,
//!   every entry checked (a word this guest does not know means the format
//!   changed, wherever it is);
//! - the size limits of each (256 KiB, 2 MiB), and HTML or non-JSON
//!   answers.
//!
//! When a payload does not match it says precisely where (a field path)
//! and what it found, never more than a short excerpt of the body (a page
//! title or a value, cut to 60 characters). It must never do I/O, log,
//! panic on any input, or know which URL a payload came from: the caller
//! adds the location.

use crate::errors::short;
use hellowatt_snapshot::{Date, TempoColour};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The largest `jourTempo` answer read: one day is about 60 bytes.
pub const JOUR_TEMPO_MAX_BODY: usize = 256 * 1024;

/// The largest `tempoLight` answer read: a season is about 8 KB.
pub const TEMPO_LIGHT_MAX_BODY: usize = 2 * 1024 * 1024;

/// What did not match, with its field path; the caller adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

type Parsed<T> = Result<T, ShapeError>;

/// A short description of a JSON value for error details.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {}", short(&n.to_string())),
        Value::String(s) => format!("the string {:?}", short(s)),
        Value::Array(a) => format!("a list of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn expected(path: &str, what: &str, found: &Value) -> ShapeError {
    let found = describe(found);
    if path.is_empty() {
        ShapeError(format!("expected {what}, found {found}"))
    } else {
        ShapeError(format!("{path}: expected {what}, found {found}"))
    }
}

fn missing(key: &str) -> ShapeError {
    ShapeError(format!("missing field {key:?}"))
}

/// The colour of a `jourTempo` answer for the day `asked`: `None` when the
/// service does not know it yet (`codeJour` 0).
pub fn jour_tempo(body: &[u8], asked: Date) -> Parsed<Option<TempoColour>> {
    let v = json(body, JOUR_TEMPO_MAX_BODY)?;
    let obj = object(&v)?;
    let wanted = asked.to_string();
    match obj.get("dateJour") {
        None => return Err(missing("dateJour")),
        Some(Value::String(s)) if *s == wanted => {}
        Some(other) => return Err(expected("dateJour", &format!("{wanted:?}"), other)),
    }
    let code = obj.get("codeJour").ok_or_else(|| missing("codeJour"))?;
    match code.as_u64() {
        Some(0) => Ok(None),
        Some(1) => Ok(Some(TempoColour::Blue)),
        Some(2) => Ok(Some(TempoColour::White)),
        Some(3) => Ok(Some(TempoColour::Red)),
        _ => Err(expected("codeJour", "0, 1, 2 or 3", code)),
    }
}

/// Every day of a `tempoLight` answer with its colour (days not announced
/// yet are absent).
pub fn tempo_light(body: &[u8]) -> Parsed<BTreeMap<Date, TempoColour>> {
    let v = json(body, TEMPO_LIGHT_MAX_BODY)?;
    let obj = object(&v)?;
    let values = match obj.get("values") {
        None => return Err(missing("values")),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(expected("values", "an object of days", other)),
    };
    let mut out = BTreeMap::new();
    for (key, word) in values {
        let path = format!("values.{key:?}");
        let date = Date::parse(key).map_err(|_| {
            ShapeError(format!(
                "values: expected days (YYYY-MM-DD) as keys, found the key {:?}",
                short(key)
            ))
        })?;
        let colour = match word.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("BLUE") => TempoColour::Blue,
            Some("WHITE") => TempoColour::White,
            Some("RED") => TempoColour::Red,
            _ => return Err(expected(&path, "\"BLUE\", \"WHITE\" or \"RED\"", word)),
        };
        out.insert(date, colour);
    }
    Ok(out)
}

fn object(v: &Value) -> Parsed<&Map<String, Value>> {
    v.as_object().ok_or_else(|| expected("", "an object", v))
}

/// The body as JSON, or why not: too large, empty, an HTML page, or text
/// that does not parse (with a short, escaped excerpt of its start).
fn json(body: &[u8], max: usize) -> Parsed<Value> {
    if body.len() > max {
        return Err(ShapeError(format!(
            "the answer is too large: more than {max} bytes"
        )));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(ShapeError("expected JSON, the answer is empty".into())),
        Some(b'<') => {
            return Err(ShapeError(match html_title(body) {
                Some(title) => format!(
                    "expected JSON, found an HTML page titled {:?}",
                    short(&title)
                ),
                None => "expected JSON, found an HTML page".into(),
            }));
        }
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|e| {
        const EXCERPT: usize = 40;
        let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT * 4)]);
        let start: String = text.trim_start().chars().take(EXCERPT).collect();
        ShapeError(format!(
            "expected JSON, the answer does not parse ({e}); it starts with {start:?}"
        ))
    })
}

/// The text of an HTML page's `<title>`, whitespace collapsed; only the
/// first 64 KiB are looked at.
fn html_title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    // ASCII lower-casing keeps every byte offset, so positions found in
    // `lower` are valid in `text`.
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let after = open + lower.get(open..)?.find('>')? + 1;
    let close = after + lower.get(after..)?.find("</title")?;
    let title = text
        .get(after..close)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn jour(body: &str) -> Parsed<Option<TempoColour>> {
        jour_tempo(body.as_bytes(), day("2026-11-28"))
    }

    fn err<T: std::fmt::Debug>(r: Parsed<T>) -> String {
        match r {
            Err(ShapeError(d)) => {
                assert!(d.chars().count() <= 160, "detail too long: {d}");
                d
            }
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn jour_tempo_codes() {
        let body = |code: &str| {
            format!(r#"{{"dateJour":"2026-11-28","codeJour":{code},"periode":"2026-2027"}}"#)
        };
        assert_eq!(jour(&body("0")), Ok(None));
        assert_eq!(jour(&body("1")), Ok(Some(TempoColour::Blue)));
        assert_eq!(jour(&body("2")), Ok(Some(TempoColour::White)));
        assert_eq!(jour(&body("3")), Ok(Some(TempoColour::Red)));
        // Whitespace around and an unknown extra field are fine.
        assert_eq!(
            jour(
                "\n {\"codeJour\": 3, \"dateJour\": \"2026-11-28\", \"libCouleur\": \"Rouge\"} \n"
            ),
            Ok(Some(TempoColour::Red))
        );
        assert_eq!(
            err(jour(&body("7"))),
            "codeJour: expected 0, 1, 2 or 3, found the number 7"
        );
        assert_eq!(
            err(jour(&body("-1"))),
            "codeJour: expected 0, 1, 2 or 3, found the number -1"
        );
        assert_eq!(
            err(jour(&body("1.0"))),
            "codeJour: expected 0, 1, 2 or 3, found the number 1.0"
        );
        assert_eq!(
            err(jour(&body("\"1\""))),
            "codeJour: expected 0, 1, 2 or 3, found the string \"1\""
        );
        assert_eq!(
            err(jour(&body("null"))),
            "codeJour: expected 0, 1, 2 or 3, found null"
        );
        assert_eq!(
            err(jour(&body("1e400"))).split(" (").next(),
            Some("expected JSON, the answer does not parse")
        );
    }

    #[test]
    fn jour_tempo_shapes() {
        assert_eq!(
            err(jour(r#"{"dateJour":"2026-11-27","codeJour":1}"#)),
            "dateJour: expected \"2026-11-28\", found the string \"2026-11-27\""
        );
        assert_eq!(
            err(jour(r#"{"dateJour":20261128,"codeJour":1}"#)),
            "dateJour: expected \"2026-11-28\", found the number 20261128"
        );
        assert_eq!(err(jour(r#"{"codeJour":1}"#)), "missing field \"dateJour\"");
        assert_eq!(
            err(jour(r#"{"dateJour":"2026-11-28"}"#)),
            "missing field \"codeJour\""
        );
        assert_eq!(
            err(jour(r#"[{"dateJour":"2026-11-28","codeJour":1}]"#)),
            "expected an object, found a list of 1 items"
        );
        assert_eq!(err(jour("null")), "expected an object, found null");
        assert_eq!(
            err(jour("\"bleu\"")),
            "expected an object, found the string \"bleu\""
        );
    }

    #[test]
    fn tempo_light_values() {
        let got = tempo_light(
            br#"{"values": {"2026-11-02": "BLUE", "2026-11-03": "WHITE", "2026-11-04": "red"},
                 "other": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[&day("2026-11-02")], TempoColour::Blue);
        assert_eq!(got[&day("2026-11-03")], TempoColour::White);
        assert_eq!(got[&day("2026-11-04")], TempoColour::Red);
        assert!(tempo_light(br#"{"values": {}}"#).unwrap().is_empty());
    }

    #[test]
    fn tempo_light_shapes() {
        let e = |b: &str| err(tempo_light(b.as_bytes()));
        assert_eq!(
            e(r#"{"values": {"2026-11-02": "PINK"}}"#),
            "values.\"2026-11-02\": expected \"BLUE\", \"WHITE\" or \"RED\", found the string \"PINK\""
        );
        assert_eq!(
            e(r#"{"values": {"2026-11-02": 1}}"#),
            "values.\"2026-11-02\": expected \"BLUE\", \"WHITE\" or \"RED\", found the number 1"
        );
        assert_eq!(
            e(r#"{"values": {"02/11/2026": "BLUE"}}"#),
            "values: expected days (YYYY-MM-DD) as keys, found the key \"02/11/2026\""
        );
        assert_eq!(
            e(r#"{"values": {"2026-02-30": "BLUE"}}"#),
            "values: expected days (YYYY-MM-DD) as keys, found the key \"2026-02-30\""
        );
        assert_eq!(
            e(r#"{"values": [["2026-11-02", "BLUE"]]}"#),
            "values: expected an object of days, found a list of 1 items"
        );
        assert_eq!(e(r#"{"value": {}}"#), "missing field \"values\"");
        assert_eq!(e("[]"), "expected an object, found a list of 0 items");
        // A long key or value is cut in the detail.
        let long = "x".repeat(10_000);
        let d = e(&format!(r#"{{"values": {{"2026-11-02": "{long}"}}}}"#));
        assert!(d.ends_with("…\""), "{d}");
        let d = e(&format!(r#"{{"values": {{"{long}": "BLUE"}}}}"#));
        assert!(d.ends_with("…\""), "{d}");
    }

    #[test]
    fn not_json() {
        for parse in [
            (|b: &[u8]| jour_tempo(b, Date::parse("2026-11-28").unwrap()).map(|_| ()))
                as fn(&[u8]) -> Parsed<()>,
            |b: &[u8]| tempo_light(b).map(|_| ()),
        ] {
            assert_eq!(err(parse(b"")), "expected JSON, the answer is empty");
            assert_eq!(err(parse(b" \r\n\t")), "expected JSON, the answer is empty");
            let page =
                b"\n<!DOCTYPE html><html><head><TITLE>\n  Erreur   502 </title></head></html>";
            assert_eq!(
                err(parse(page)),
                "expected JSON, found an HTML page titled \"Erreur 502\""
            );
            assert_eq!(
                err(parse(b"<html><body>nope</body></html>")),
                "expected JSON, found an HTML page"
            );
            assert_eq!(
                err(parse(b"<html><title></title>")),
                "expected JSON, found an HTML page"
            );
            assert_eq!(
                err(parse(b"<title>never closed")),
                "expected JSON, found an HTML page"
            );
            let d = err(parse(b"Service Unavailable"));
            assert!(
                d.starts_with("expected JSON, the answer does not parse (")
                    && d.ends_with("; it starts with \"Service Unavailable\""),
                "{d}"
            );
            // Not UTF-8: no panic, an escaped excerpt.
            let d = err(parse(b"\xff\xfe\x00{\"values\": 1}"));
            assert!(d.contains("it starts with \"\u{fffd}\u{fffd}\\0{"), "{d}");
            let d = err(parse(b"{\"values\": \"\xff\"}"));
            assert!(
                d.starts_with("expected JSON, the answer does not parse"),
                "{d}"
            );
            // Deep nesting stops at serde_json's recursion limit, no overflow.
            let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            let d = err(parse(deep.as_bytes()));
            assert!(d.contains("recursion limit"), "{d}");
            // A body cut mid-way, and trailing garbage.
            assert!(err(parse(b"{\"values\": {\"2026-")).contains("does not parse"));
            assert!(err(parse(b"{} {}")).contains("does not parse"));
            // The excerpt is short even when the body is long.
            let d = err(parse(&b"z".repeat(100_000)));
            assert!(d.chars().count() < 160, "{d}");
        }
    }

    #[test]
    fn size_limits() {
        // Just at the limit it is read (and fails on its content);
        // one byte more is refused before any parsing.
        let mut at = br#"{"dateJour":"2026-11-28","codeJour":1}"#.to_vec();
        at.resize(JOUR_TEMPO_MAX_BODY, b' ');
        assert_eq!(
            jour_tempo(&at, day("2026-11-28")),
            Ok(Some(TempoColour::Blue))
        );
        at.push(b' ');
        assert_eq!(
            err(jour_tempo(&at, day("2026-11-28"))),
            "the answer is too large: more than 262144 bytes"
        );
        let mut big = br#"{"values":{}}"#.to_vec();
        big.resize(TEMPO_LIGHT_MAX_BODY, b' ');
        assert!(tempo_light(&big).is_ok());
        big.push(b' ');
        assert_eq!(
            err(tempo_light(&big)),
            "the answer is too large: more than 2097152 bytes"
        );
        // Far beyond: still just refused.
        let huge = vec![b'['; 8 * 1024 * 1024];
        assert!(err(tempo_light(&huge)).starts_with("the answer is too large"));
    }
}
