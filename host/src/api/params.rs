//! Query parameters: parsed strictly, with a message that says how to fix
//! a bad one. An unknown or repeated parameter is an error (a typo must not
//! silently give the default); an empty value counts as absent.

use super::ApiError;
use crate::store::Granularity;
use axum::extract::Query;
use axum::http::Uri;
use hellowatt_snapshot::Date;

/// Longest range of daily rows (readings by day, export by day, Tempo days,
/// temperatures): about ten years.
pub const MAX_DAYS: i64 = 3660;
/// Longest range of monthly or yearly rows: about a century.
pub const MAX_DAYS_AGGREGATED: i64 = 36_600;
/// Longest load-curve range (48 points a day).
pub const MAX_CURVE_DAYS: i64 = 31;
/// Longest range of power peaks (each day reads its 48 curve points):
/// five years.
pub const MAX_PEAK_DAYS: i64 = 1830;
/// Most runs `runs` lists.
pub const MAX_RUNS: usize = 500;
pub const DEFAULT_RUNS: usize = 50;

pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The query of `uri`, refusing any parameter not in `allowed`.
    pub fn parse(uri: &Uri, allowed: &[&str]) -> Result<Params, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|e| {
            ApiError::bad_request(format!(
                "the query string is not valid form encoding ({e}): percent-encode the values"
            ))
        })?;
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &pairs {
            if !allowed.contains(&k.as_str()) {
                let hint = if k == "token" {
                    " (send the token as `Authorization: Bearer <token>`; only the dashboard \
                     page takes it in its address)"
                        .to_string()
                } else if allowed.is_empty() {
                    " (this route takes no parameter)".to_string()
                } else {
                    format!(" (this route takes: {})", allowed.join(", "))
                };
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {k:?}{hint}"
                )));
            }
            if seen.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "the parameter {k:?} is given twice: give it once"
                )));
            }
            seen.push(k);
        }
        Ok(Params { pairs })
    }

    /// A parameter's value; empty counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn date(&self, key: &str) -> Result<Option<Date>, ApiError> {
        self.get(key)
            .map(|v| {
                Date::parse(v).map_err(|e| {
                    ApiError::bad_request(format!(
                        "{key}: {e}: write a calendar day as YYYY-MM-DD, e.g. 2026-11-28"
                    ))
                })
            })
            .transpose()
    }

    /// `from` and `to`: either may be left out. `to` defaults to
    /// `default_to`, `from` to `default_from(to)`. Refuses `from > to` and
    /// ranges longer than `max_days`.
    pub fn range(
        &self,
        default_to: Date,
        default_from: impl Fn(Date) -> Date,
        max_days: i64,
    ) -> Result<(Date, Date), ApiError> {
        let to = self.date("to")?.unwrap_or(default_to);
        let from = self.date("from")?.unwrap_or_else(|| default_from(to));
        if from > to {
            let why = if self.get("to").is_none() {
                format!(" (to defaults to {default_to})")
            } else {
                String::new()
            };
            return Err(ApiError::bad_request(format!(
                "from ({from}) is after to ({to}){why}: give from <= to"
            )));
        }
        let days = to.days_since_epoch() - from.days_since_epoch() + 1;
        if days > max_days {
            return Err(ApiError::bad_request(format!(
                "the range {from} to {to} is {days} days, more than the {max_days} days \
                 this route serves at once: ask for a shorter range, in several requests"
            )));
        }
        Ok((from, to))
    }

    pub fn granularity(&self, default: Granularity) -> Result<Granularity, ApiError> {
        match self.get("granularity") {
            None => Ok(default),
            Some(g) => Granularity::parse(g).ok_or_else(|| {
                ApiError::bad_request(format!("unknown granularity {g:?}: use day, month or year"))
            }),
        }
    }

    /// A required parameter.
    pub fn required(&self, key: &str, what: &str) -> Result<&str, ApiError> {
        self.get(key).ok_or_else(|| {
            ApiError::bad_request(format!("the parameter {key} is required: {what}"))
        })
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(DEFAULT_RUNS),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_RUNS).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "limit {v:?} is not a number from 1 to {MAX_RUNS}"
                ))),
            },
        }
    }
}

/// The default `from` of a range of rows by `granularity` ending at `to`:
/// 30 days, 12 calendar months or 3 calendar years, `to` included.
pub fn default_from(granularity: Granularity, to: Date) -> Date {
    match granularity {
        Granularity::Day => to.add_days(-29),
        Granularity::Month => {
            let mut first = to.first_of_month();
            for _ in 0..11 {
                first = first.add_days(-1).first_of_month();
            }
            first
        }
        Granularity::Year => Date {
            year: to.year - 2,
            month: 1,
            day: 1,
        },
    }
}

/// The longest range served by `granularity`.
pub fn max_days(granularity: Granularity) -> i64 {
    match granularity {
        Granularity::Day => MAX_DAYS,
        Granularity::Month | Granularity::Year => MAX_DAYS_AGGREGATED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn p(q: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        Params::parse(&format!("/x?{q}").parse::<Uri>().unwrap(), allowed)
    }

    #[test]
    fn defaults_cover_30_days_12_months_3_years() {
        let to = d("2026-11-27");
        assert_eq!(default_from(Granularity::Day, to), d("2026-10-29"));
        assert_eq!(default_from(Granularity::Month, to), d("2025-12-01"));
        assert_eq!(default_from(Granularity::Year, to), d("2024-01-01"));
    }

    #[test]
    fn ranges_are_checked() {
        let to = d("2026-11-27");
        let f = |t: Date| t.add_days(-29);
        let r = p("", &["from", "to"]).unwrap().range(to, f, 31).unwrap();
        assert_eq!(r, (d("2026-10-29"), to));
        let r = p("to=2026-01-31&from=", &["from", "to"])
            .unwrap()
            .range(to, f, 31)
            .unwrap();
        assert_eq!(r, (d("2026-01-02"), d("2026-01-31")));
        let e = p("from=2026-12-01", &["from", "to"])
            .unwrap()
            .range(to, f, 31)
            .unwrap_err();
        assert!(e.message.contains("to defaults to 2026-11-27"), "{e:?}");
        let e = p("from=2026-01-01&to=2026-03-01", &["from", "to"])
            .unwrap()
            .range(to, f, 31)
            .unwrap_err();
        assert!(e.message.contains("60 days"), "{e:?}");
        let e = p("from=2026-02-30", &["from", "to"])
            .unwrap()
            .range(to, f, 31)
            .unwrap_err();
        assert!(e.message.contains("YYYY-MM-DD"), "{e:?}");
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(p("gran=day", &["granularity"]).is_err());
        assert!(p("limit=1&limit=2", &["limit"]).is_err());
        let e = p("token=x", &["meter"]).err().unwrap();
        assert!(e.message.contains("Authorization"), "{e:?}");
        let params = p("limit=0", &["limit"]).unwrap();
        assert!(params.limit().is_err());
        let params = p("granularity=week", &["granularity"]).unwrap();
        assert!(params.granularity(Granularity::Day).is_err());
    }
}
