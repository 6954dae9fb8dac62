//! Field-by-field comparison of two outcomes, for golden tests and for the
//! host's validation gate: it must say which record and which field differ,
//! with both values, so that a guest author can act on it.

use crate::Outcome;
use serde_json::Value;
use std::fmt;

/// Relative tolerance for numbers: JSON round trips and summing order may
/// move the last bits; anything meaningful is far above this.
const TOLERANCE: f64 = 1e-9;

/// Never report more than this many differences: a wrong guest can differ
/// everywhere, and a person reads the first few.
const MAX_DIFFERENCES: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Where, e.g. `snapshot.daily[meter_id=12345678901234, date=2026-01-05].kwh`.
    pub path: String,
    pub expected: String,
    pub got: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.path, self.expected, self.got
        )
    }
}

/// Compares after normalising both sides (order of records does not matter).
pub fn diff_outcomes(expected: &Outcome, got: &Outcome) -> Vec<Difference> {
    let mut expected = expected.clone();
    let mut got = got.clone();
    expected.normalize();
    got.normalize();
    let (Ok(e), Ok(g)) = (serde_json::to_value(&expected), serde_json::to_value(&got)) else {
        return vec![Difference {
            path: String::new(),
            expected: "a serialisable outcome".into(),
            got: "a value that does not serialise (NaN or infinity?)".into(),
        }];
    };
    let mut out = Vec::new();
    compare(&e, &g, String::new(), &mut out);
    out
}

fn compare(e: &Value, g: &Value, path: String, out: &mut Vec<Difference>) {
    if out.len() >= MAX_DIFFERENCES {
        return;
    }
    match (e, g) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            let scale = a.abs().max(b.abs()).max(1.0);
            if (a - b).abs() > TOLERANCE * scale || a.is_nan() || b.is_nan() {
                push(out, path, e, g);
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, av) in a {
                let p = join(&path, k);
                match b.get(k) {
                    Some(bv) => compare(av, bv, p, out),
                    None => push(out, p, av, &Value::String("<absent>".into())),
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    push(out, join(&path, k), &Value::String("<absent>".into()), bv);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(Difference {
                    path: format!("{path} (count)"),
                    expected: a.len().to_string(),
                    got: b.len().to_string(),
                });
            }
            // Pair records by identity where they have one, so that one
            // missing day reports that day, not every day after it.
            let mut used = vec![false; b.len()];
            for (i, av) in a.iter().enumerate() {
                let label = label(av).unwrap_or_else(|| i.to_string());
                let found = b
                    .iter()
                    .enumerate()
                    .position(|(j, bv)| !used[j] && label_matches(av, bv, i, j));
                match found {
                    Some(j) => {
                        used[j] = true;
                        compare(av, &b[j], format!("{path}[{label}]"), out);
                    }
                    None => push(
                        out,
                        format!("{path}[{label}]"),
                        av,
                        &Value::String("<missing>".into()),
                    ),
                }
            }
            for (j, bv) in b.iter().enumerate() {
                if !used[j] {
                    let label = label(bv).unwrap_or_else(|| j.to_string());
                    push(
                        out,
                        format!("{path}[{label}]"),
                        &Value::String("<absent>".into()),
                        bv,
                    );
                }
            }
        }
        _ if e == g => {}
        _ => push(out, path, e, g),
    }
}

/// Fields that identify a record inside a list, in the order they are shown.
const KEY_FIELDS: [&str; 9] = [
    "subject", "meter_id", "home_id", "id", "kind", "date", "start", "period", "source",
];

fn label(v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    let parts: Vec<String> = KEY_FIELDS
        .iter()
        .filter_map(|k| {
            obj.get(*k)
                .filter(|x| !x.is_null())
                .map(|x| format!("{k}={}", short(x)))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn label_matches(a: &Value, b: &Value, i: usize, j: usize) -> bool {
    match (label(a), label(b)) {
        (Some(x), Some(y)) => x == y,
        _ => i == j,
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn push(out: &mut Vec<Difference>, path: String, e: &Value, g: &Value) {
    if out.len() < MAX_DIFFERENCES {
        out.push(Difference {
            path,
            expected: clip(e),
            got: clip(g),
        });
    }
}

fn clip(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 200 {
        return s;
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn reading(date: &str, kwh: Option<f64>) -> DailyReading {
        DailyReading {
            meter_id: "m".into(),
            date: Date::parse(date).unwrap(),
            periods: vec![],
            amounts: Amounts {
                kwh,
                ..Amounts::default()
            },
        }
    }

    fn outcome(daily: Vec<DailyReading>) -> Outcome {
        Outcome::Snapshot(Snapshot {
            daily,
            ..Snapshot::default()
        })
    }

    #[test]
    fn equal_up_to_order_and_rounding() {
        let a = outcome(vec![
            reading("2026-01-01", Some(0.1 + 0.2)),
            reading("2026-01-02", None),
        ]);
        let b = outcome(vec![
            reading("2026-01-02", None),
            reading("2026-01-01", Some(0.3)),
        ]);
        assert!(diff_outcomes(&a, &b).is_empty());
    }

    #[test]
    fn names_the_record_and_field() {
        let a = outcome(vec![
            reading("2026-01-01", Some(12.5)),
            reading("2026-01-02", Some(3.0)),
        ]);
        let b = outcome(vec![
            reading("2026-01-01", Some(12.5)),
            reading("2026-01-02", None),
        ]);
        let d = diff_outcomes(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "snapshot.daily[meter_id=m, date=2026-01-02].kwh");
        assert_eq!(d[0].expected, "3.0");
        assert_eq!(d[0].got, "null");
    }

    #[test]
    fn a_missing_day_is_reported_once() {
        let a = outcome(vec![
            reading("2026-01-01", Some(1.0)),
            reading("2026-01-02", Some(2.0)),
        ]);
        let b = outcome(vec![reading("2026-01-02", Some(2.0))]);
        let d = diff_outcomes(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}"); // the count, and the day
        assert!(d[1].path.contains("date=2026-01-01"));
        assert_eq!(d[1].got, "\"<missing>\"");
    }

    #[test]
    fn error_versus_snapshot() {
        let a = Outcome::Error(SyncError::CredentialsRejected { detail: "x".into() });
        let b = outcome(vec![]);
        assert!(!diff_outcomes(&a, &b).is_empty());
    }
}
