//! Turning a service's HTTP status into the contract's typed errors.
//!
//! This module owns the status rules of this guest: 2xx is an answer to
//! read; 429 is rate-limited; 408 and 5xx are site-unavailable (both with
//! `Retry-After` in seconds when it can be read); any other status (a 404
//! that is not the first `jourTempo` request, a redirect, a 403) is
//! site-changed with its location. It must never put a response body into
//! an error (`parse` describes payloads), and never decide on retries:
//! that is the host's job.
//!
//! Reading `Retry-After` and the wording shared with the other guests
//! (a 429, a redirect not followed) are `hellowatt_guest_kit::errors`.

use crate::transport::Response;
use hellowatt_snapshot::SyncError;

pub use hellowatt_guest_kit::errors::{short, site_changed};

/// Checks the status of an answer that should be a success (2xx): the
/// plain service rules. The caller handles the statuses it gives a meaning
/// to (the first `jourTempo` 404) before calling this.
pub fn check_status(location: &str, resp: &Response) -> Result<(), SyncError> {
    hellowatt_guest_kit::errors::service_status(location, resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body is there, and never read by the status rules.
    fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        hellowatt_guest_kit::testing::response(status, headers, "<html>whatever</html>")
    }

    const LOC: &str = "GET /api/jourTempo/2026-11-28";

    #[test]
    fn statuses() {
        assert!(check_status(LOC, &resp(200, &[])).is_ok());
        assert!(check_status(LOC, &resp(204, &[])).is_ok());
        match check_status(LOC, &resp(429, &[("Retry-After", "30")])) {
            Err(SyncError::RateLimited(r)) => {
                assert_eq!(r.retry_after_seconds, Some(30));
                assert_eq!(
                    r.detail,
                    "GET /api/jourTempo/2026-11-28 answered HTTP 429: too many requests"
                );
            }
            other => panic!("{other:?}"),
        }
        for status in [408, 500, 502, 503, 599] {
            match check_status(LOC, &resp(status, &[("Retry-After", "soon")])) {
                Err(SyncError::SiteUnavailable(u)) => {
                    assert_eq!(u.status, Some(status));
                    assert_eq!(u.retry_after_seconds, None);
                    assert_eq!(u.detail, format!("{LOC} answered HTTP {status}"));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        let changed = |r: Response| match check_status(LOC, &r) {
            Err(SyncError::SiteChanged(c)) => {
                assert_eq!(c.location, LOC);
                c.detail
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(changed(resp(404, &[])), "unexpected HTTP 404 (not found)");
        assert_eq!(changed(resp(403, &[])), "unexpected HTTP 403");
        assert_eq!(changed(resp(100, &[])), "unexpected HTTP 100");
        assert_eq!(
            changed(resp(301, &[("Location", "https://elsewhere.example/")])),
            "unexpected HTTP 301 (a redirect to https://elsewhere.example/, not followed)"
        );
        assert_eq!(
            changed(resp(302, &[])),
            "unexpected HTTP 302 (a redirect, not followed)"
        );
        let long = "x".repeat(500);
        assert!(changed(resp(302, &[("Location", &long)])).chars().count() < 120);
    }
}
