//! Turning the site's answers into the contract's typed errors: status
//! codes, `Retry-After`, maintenance pages, HTML where JSON was expected.
//!
//! This module owns the classification rules of `fixtures/README.md`
//! ("Error pages"): 429 is rate-limited, 5xx or a maintenance page is
//! site-unavailable, anything else unexpected (a 404, an HTML page, JSON
//! that does not parse) is site-changed with its location. JSON cut short
//! (it ends before its last bracket, or the body is empty) is
//! site-unavailable: a delivery that broke, not a format that changed. It must never
//! put a response body verbatim into an error (only a page title or a
//! short description of a JSON value), and never decide on retries: that
//! is the host's job.

use crate::transport::Response;
use hellowatt_snapshot::{Date, RateLimit, SiteChange, SyncError, Unavailable};
use serde_json::Value;

pub fn site_changed(location: &str, detail: impl Into<String>) -> SyncError {
    SyncError::SiteChanged(SiteChange {
        location: location.to_string(),
        detail: detail.into(),
    })
}

/// Checks the status of an answer that should be a success (2xx). The
/// caller handles the statuses it gives a meaning to (401/403, a gas 500)
/// before calling this.
pub fn check_status(location: &str, resp: &Response) -> Result<(), SyncError> {
    let status = resp.status;
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 429 {
        return Err(SyncError::RateLimited(RateLimit {
            retry_after_seconds: retry_after_seconds(resp),
            detail: format!("{location} answered HTTP 429: too many requests"),
        }));
    }
    if let Some(title) = maintenance_title(resp) {
        return Err(unavailable(resp, format!("maintenance page: {title}")));
    }
    if status >= 500 {
        return Err(unavailable(
            resp,
            format!("{location} answered HTTP {status}"),
        ));
    }
    let mut detail = format!("unexpected HTTP {status}");
    if (300..400).contains(&status) {
        match resp.header("location") {
            Some(to) => detail.push_str(&format!(" (a redirect to {}, not followed)", short(to))),
            None => detail.push_str(" (a redirect, not followed)"),
        }
    } else if status == 404 {
        detail.push_str(" (not found)");
    }
    Err(site_changed(location, detail))
}

fn unavailable(resp: &Response, detail: String) -> SyncError {
    SyncError::SiteUnavailable(Unavailable {
        status: Some(resp.status),
        retry_after_seconds: retry_after_seconds(resp),
        detail,
    })
}

/// Reads a successful answer that must be JSON. A maintenance page is
/// site-unavailable; any other HTML page or unparsable body is
/// site-changed.
pub fn expect_json(location: &str, resp: &Response) -> Result<Value, SyncError> {
    if looks_like_html(resp) {
        if let Some(title) = maintenance_title(resp) {
            return Err(unavailable(resp, format!("maintenance page: {title}")));
        }
        let detail = match page_title(&String::from_utf8_lossy(&resp.body)) {
            Some(title) => format!(
                "expected JSON, found an HTML page titled {:?}",
                short(&title)
            ),
            None => "expected JSON, found an HTML page".to_string(),
        };
        return Err(site_changed(location, detail));
    }
    serde_json::from_slice(&resp.body).map_err(|e| {
        // JSON that stops before its end (an empty body, a proxy cutting
        // the answer) is a broken delivery, not a new format: a new guest
        // would not help, a later try may.
        if e.is_eof() {
            return unavailable(
                resp,
                format!(
                    "{location}: the JSON answer is cut short after {} bytes",
                    resp.body.len()
                ),
            );
        }
        site_changed(
            location,
            format!("expected JSON, the answer does not parse: {e}"),
        )
    })
}

pub fn looks_like_html(resp: &Response) -> bool {
    let html_type = resp
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
    let starts_with_tag = resp
        .body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    html_type || starts_with_tag
}

/// The title of an HTML answer whose text speaks of maintenance.
pub fn maintenance_title(resp: &Response) -> Option<String> {
    if !looks_like_html(resp) {
        return None;
    }
    let text = String::from_utf8_lossy(&resp.body);
    let doc = scraper::Html::parse_document(&text);
    let all: String = doc.root_element().text().collect::<String>().to_lowercase();
    if !all.contains("maintenance") {
        return None;
    }
    let title = first_text(&doc, "title").or_else(|| first_text(&doc, "h1"));
    Some(title.unwrap_or_else(|| "(untitled)".to_string()))
}

/// The text of the page's `<title>`, whitespace collapsed.
pub fn page_title(html: &str) -> Option<String> {
    first_text(&scraper::Html::parse_document(html), "title")
}

fn first_text(doc: &scraper::Html, selector: &str) -> Option<String> {
    let sel = scraper::Selector::parse(selector).ok()?;
    let el = doc.select(&sel).next()?;
    let text = el.text().collect::<Vec<_>>().join(" ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// A string cut to a readable length for an error detail.
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
/// unreadable, or when a date is given without a `Date` to read it against.
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

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

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
        let r = resp(429, &[("Retry-After", "120")], "");
        assert_eq!(retry_after_seconds(&r), Some(120));
        let r = resp(
            429,
            &[
                ("Date", "Sat, 28 Nov 2026 10:00:00 GMT"),
                ("Retry-After", "Sat, 28 Nov 2026 11:00:00 GMT"),
            ],
            "",
        );
        assert_eq!(retry_after_seconds(&r), Some(3600));
        // A date in the past means now.
        let r = resp(
            503,
            &[
                ("Date", "Sat, 28 Nov 2026 10:00:00 GMT"),
                ("Retry-After", "Sat, 28 Nov 2026 09:00:00 GMT"),
            ],
            "",
        );
        assert_eq!(retry_after_seconds(&r), Some(0));
        // A date without a Date header cannot be read.
        let r = resp(503, &[("Retry-After", "Sat, 28 Nov 2026 09:00:00 GMT")], "");
        assert_eq!(retry_after_seconds(&r), None);
        assert_eq!(retry_after_seconds(&resp(429, &[], "")), None);
    }

    #[test]
    fn classification() {
        let loc = "GET /api/homes";
        assert!(check_status(loc, &resp(200, &[], "")).is_ok());
        match check_status(loc, &resp(429, &[("Retry-After", "5")], "")) {
            Err(SyncError::RateLimited(r)) => assert_eq!(r.retry_after_seconds, Some(5)),
            other => panic!("{other:?}"),
        }
        match check_status(loc, &resp(502, &[], "oops")) {
            Err(SyncError::SiteUnavailable(u)) => {
                assert_eq!(u.status, Some(502));
                assert_eq!(u.detail, "GET /api/homes answered HTTP 502");
            }
            other => panic!("{other:?}"),
        }
        let page = "<html><head><title> Site en maintenance </title></head>\
                    <body><p>Nous revenons vite.</p></body></html>";
        let r = resp(
            503,
            &[("Content-Type", "text/html"), ("Retry-After", "600")],
            page,
        );
        match check_status(loc, &r) {
            Err(SyncError::SiteUnavailable(u)) => {
                assert_eq!(u.detail, "maintenance page: Site en maintenance");
                assert_eq!(u.retry_after_seconds, Some(600));
            }
            other => panic!("{other:?}"),
        }
        // The same page with a 200 where JSON is expected.
        match expect_json(loc, &resp(200, &[("Content-Type", "text/html")], page)) {
            Err(SyncError::SiteUnavailable(u)) => assert_eq!(u.status, Some(200)),
            other => panic!("{other:?}"),
        }
        match check_status(loc, &resp(404, &[], "")) {
            Err(SyncError::SiteChanged(c)) => {
                assert_eq!(c.location, loc);
                assert_eq!(c.detail, "unexpected HTTP 404 (not found)");
            }
            other => panic!("{other:?}"),
        }
        let other_page = "<html><head><title>Bienvenue</title></head></html>";
        match expect_json(loc, &resp(200, &[], other_page)) {
            Err(SyncError::SiteChanged(c)) => {
                assert_eq!(
                    c.detail,
                    "expected JSON, found an HTML page titled \"Bienvenue\""
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            expect_json(loc, &resp(200, &[], "{nope")),
            Err(SyncError::SiteChanged(_))
        ));
        assert_eq!(
            expect_json(loc, &resp(200, &[], "[]")).unwrap(),
            Value::Array(vec![])
        );
    }

    #[test]
    fn json_cut_short_is_unavailable_not_a_site_change() {
        let loc = "GET /api/homes/1/sge_measures/courbe";
        for body in [r#"{"values": [{"datetime": "2026-10-01T00:00"#, "", "  "] {
            match expect_json(loc, &resp(200, &[], body)) {
                Err(SyncError::SiteUnavailable(u)) => {
                    assert_eq!(u.status, Some(200));
                    assert_eq!(
                        u.detail,
                        format!(
                            "{loc}: the JSON answer is cut short after {} bytes",
                            body.len()
                        )
                    );
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        // Broken in the middle, or with trailing garbage: a new format.
        for body in [r#"{"values": [1,,2]}"#, r#"{"values": []} x"#] {
            assert!(
                matches!(
                    expect_json(loc, &resp(200, &[], body)),
                    Err(SyncError::SiteChanged(_))
                ),
                "{body:?}"
            );
        }
    }
}
