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
//!
//! Reading `Retry-After` and the wording shared with the other guests
//! (a 429, a redirect not followed) are `hellowatt_guest_kit::errors`.

use crate::transport::Response;
use hellowatt_guest_kit::errors::{rate_limited, unexpected_status};
use hellowatt_snapshot::{SyncError, Unavailable};
use serde_json::Value;

pub use hellowatt_guest_kit::errors::{retry_after_seconds, short, site_changed};

/// Checks the status of an answer that should be a success (2xx). The
/// caller handles the statuses it gives a meaning to (401/403, a gas 500)
/// before calling this.
pub fn check_status(location: &str, resp: &Response) -> Result<(), SyncError> {
    let status = resp.status;
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 429 {
        return Err(rate_limited(location, resp));
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
    Err(unexpected_status(location, resp))
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

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_guest_kit::testing::response as resp;

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
