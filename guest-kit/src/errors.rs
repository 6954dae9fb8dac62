//! The pieces of error reporting every guest words the same way: reading
//! `Retry-After` (seconds or an HTTP date), a 429 as rate-limited, an
//! unexpected status (a redirect not followed, a 404) as site-changed, and
//! cutting a string to a readable length for a detail.
//!
//! This module owns those readings and wordings only. Which statuses mean
//! what for a site (a maintenance page, a 408, a 404 that means "try the
//! other service") is each guest's own classification, in its `errors`.
//! It must never put a response body into an error, read a clock (a date
//! is read against the response's own `Date`), or decide on retries: that
//! is the host's job.

use crate::transport::Response;
use hellowatt_snapshot::{Date, RateLimit, SiteChange, SyncError, Unavailable};

pub fn site_changed(location: &str, detail: impl Into<String>) -> SyncError {
    SyncError::SiteChanged(SiteChange {
        location: location.to_string(),
        detail: detail.into(),
    })
}

/// A 429: rate-limited, with `Retry-After` when it can be read.
pub fn rate_limited(location: &str, resp: &Response) -> SyncError {
    SyncError::RateLimited(RateLimit {
        retry_after_seconds: retry_after_seconds(resp),
        detail: format!("{location} answered HTTP 429: too many requests"),
    })
}

/// A status the guest gives no meaning to: site-changed, naming a
/// redirect's target (redirects are never followed) or a 404.
pub fn unexpected_status(location: &str, resp: &Response) -> SyncError {
    let status = resp.status;
    let mut detail = format!("unexpected HTTP {status}");
    if (300..400).contains(&status) {
        match resp.header("location") {
            Some(to) => detail.push_str(&format!(" (a redirect to {}, not followed)", short(to))),
            None => detail.push_str(" (a redirect, not followed)"),
        }
    } else if status == 404 {
        detail.push_str(" (not found)");
    }
    site_changed(location, detail)
}

/// The status rules of a plain JSON service (the Tempo services, RTE's
/// EcoWatt): 2xx is an answer to read; 429 is rate-limited; 408 and 5xx
/// are site-unavailable, with `Retry-After` in seconds when it can be
/// read; anything else is [`unexpected_status`]. A guest handles the
/// statuses it gives a meaning of its own before calling this.
pub fn service_status(location: &str, resp: &Response) -> Result<(), SyncError> {
    let status = resp.status;
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 429 {
        return Err(rate_limited(location, resp));
    }
    if status == 408 || status >= 500 {
        return Err(SyncError::SiteUnavailable(Unavailable {
            status: Some(status),
            retry_after_seconds: retry_after_seconds(resp),
            detail: format!("{location} answered HTTP {status}"),
        }));
    }
    Err(unexpected_status(location, resp))
}

/// A sync's window: its start not after its end, and at most `max_days`
/// long (what one sync of the guest serves, `why` saying why).
pub fn check_window(start: Date, end: Date, max_days: i64, why: &str) -> Result<(), SyncError> {
    if start > end {
        return Err(SyncError::Other {
            detail: format!("the window starts ({start}) after it ends ({end})"),
        });
    }
    let length = end.days_since_epoch() - start.days_since_epoch() + 1;
    if length > max_days {
        return Err(SyncError::Other {
            detail: format!(
                "the window {start}..{end} is {length} days long; {why} at most {max_days} days \
                 per sync"
            ),
        });
    }
    Ok(())
}

/// A string cut to a readable length for an error detail (60 characters
/// and an ellipsis).
pub fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// `Retry-After` in seconds: the header's seconds, or its HTTP date minus
/// the response's `Date` header (never negative). `None` when absent or
/// unreadable, or when a date is given without a `Date` to read it against
/// (a guest has no clock of its own).
pub fn retry_after_seconds(resp: &Response) -> Option<u64> {
    let value = resp.header("retry-after")?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok();
    }
    let until = parse_http_date(value)?;
    let now = parse_http_date(resp.header("date")?)?;
    Some(u64::try_from(until - now).unwrap_or(0))
}

/// Parses an HTTP date into seconds since the epoch: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime
/// (`Sun Nov  6 08:49:37 1994`).
///
/// Written here, not taken from `httpdate` (which the host uses): that
/// crate passes the same tests but adds about 6.3 KB to each component,
/// 3.2% of the Tempo guest (measured December 2026).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|t| !t.is_empty())
        .collect();
    let (mut day, mut month, mut year, mut time) = (None, None, None, None);
    for t in tokens {
        if t.contains(':') {
            time = Some(t);
        } else if let Some(m) = month_number(t) {
            month = Some(m);
        } else if t.bytes().all(|b| b.is_ascii_digit()) {
            let n: i32 = t.parse().ok()?;
            if t.len() <= 2 && day.is_none() {
                day = Some(n);
            } else if t.len() == 2 {
                year = Some(if n < 70 { 2000 + n } else { 1900 + n });
            } else {
                year = Some(n);
            }
        }
    }
    let date = Date::new(year?, month?, u8::try_from(day?).ok()?).ok()?;
    let mut hms = time?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..61).contains(&sec) {
        return None;
    }
    Some(date.days_since_epoch() * 86_400 + h * 3600 + m * 60 + sec)
}

fn month_number(t: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = t.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| lower == *m)
        .and_then(|i| u8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        crate::testing::response(status, headers, "")
    }

    const LOC: &str = "GET /api/homes";

    #[test]
    fn http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t, 784_111_777);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(parse_http_date("tomorrow"), None);
        assert_eq!(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"), None);
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(
            retry_after_seconds(&resp(429, &[("Retry-After", " 120 ")])),
            Some(120)
        );
        let dated = |retry: &str| {
            retry_after_seconds(&resp(
                503,
                &[
                    ("Date", "Sat, 28 Nov 2026 10:00:00 GMT"),
                    ("Retry-After", retry),
                ],
            ))
        };
        assert_eq!(dated("Sat, 28 Nov 2026 11:00:00 GMT"), Some(3600));
        assert_eq!(dated("Saturday, 28-Nov-26 10:02:00 GMT"), Some(120));
        assert_eq!(dated("Sat Nov 28 10:00:30 2026"), Some(30));
        // A date in the past means now.
        assert_eq!(dated("Sat, 28 Nov 2026 09:00:00 GMT"), Some(0));
        for unreadable in [
            "",
            "tomorrow",
            "-5",
            "99999999999999999999999",
            "Sat, 31 Feb 2026 09:00:00 GMT",
            "Sat, 28 Nov 2026 25:00:00 GMT",
            "Sat, 28 Nov 2026 10:00 GMT",
        ] {
            assert_eq!(dated(unreadable), None, "{unreadable:?}");
        }
        // A date without a Date header cannot be read.
        let r = resp(503, &[("Retry-After", "Sat, 28 Nov 2026 09:00:00 GMT")]);
        assert_eq!(retry_after_seconds(&r), None);
        assert_eq!(retry_after_seconds(&resp(429, &[])), None);
    }

    #[test]
    fn shared_wordings() {
        match rate_limited(LOC, &resp(429, &[("Retry-After", "30")])) {
            SyncError::RateLimited(r) => {
                assert_eq!(r.retry_after_seconds, Some(30));
                assert_eq!(
                    r.detail,
                    "GET /api/homes answered HTTP 429: too many requests"
                );
            }
            other => panic!("{other:?}"),
        }
        // Each status with the detail it gets (the location is kept).
        for (status, location, detail) in [
            (404, None, "unexpected HTTP 404 (not found)"),
            (403, None, "unexpected HTTP 403"),
            (302, None, "unexpected HTTP 302 (a redirect, not followed)"),
            (
                301,
                Some("https://elsewhere.example/"),
                "unexpected HTTP 301 (a redirect to https://elsewhere.example/, not followed)",
            ),
        ] {
            let headers: Vec<(&str, &str)> =
                location.map(|l| ("Location", l)).into_iter().collect();
            assert_eq!(
                unexpected_status(LOC, &resp(status, &headers)),
                site_changed(LOC, detail)
            );
        }
        let long = "x".repeat(500);
        assert_eq!(short(&long).chars().count(), 61);
        match unexpected_status(LOC, &resp(302, &[("Location", &long)])) {
            SyncError::SiteChanged(c) => assert!(c.detail.chars().count() < 120),
            other => panic!("{other:?}"),
        }
    }
}
