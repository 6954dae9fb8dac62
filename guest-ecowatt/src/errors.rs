//! Turning RTE's HTTP status into the contract's typed errors.
//!
//! This module owns the status rules of this guest: 2xx is an answer to
//! read; 429 is rate-limited (RTE allows one call every 15 minutes and
//! sends no `Retry-After` that anyone has seen: the host waits its 15
//! minutes); 401 and 403 are the credentials refused (the host's token, or
//! an application not subscribed to this version of the API: RTE answers
//! 403 to a v4 key on v5); 408 and 5xx are site-unavailable; anything else
//! is site-changed with its location. It must never put a response body
//! into an error, and never decide on retries.

use crate::transport::Response;
use hellowatt_snapshot::SyncError;

pub use hellowatt_guest_kit::errors::site_changed;

/// Checks the status of an answer that should be a success (2xx): 401
/// and 403 are RTE's refusal of the token, the rest the plain service
/// rules.
pub fn check_status(location: &str, resp: &Response) -> Result<(), SyncError> {
    let status = resp.status;
    if status == 401 || status == 403 {
        return Err(SyncError::CredentialsRejected {
            detail: format!(
                "{location} answered HTTP {status}: RTE refused the application's token (check \
                 the RTE client id and secret, and that the application is subscribed to \
                 EcoWatt v5)"
            ),
        });
    }
    hellowatt_guest_kit::errors::service_status(location, resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        hellowatt_guest_kit::testing::response(status, headers, "{\"error\":\"x\"}")
    }

    const LOC: &str = "GET /open_api/ecowatt/v5/signals";

    #[test]
    fn statuses() {
        assert!(check_status(LOC, &resp(200, &[])).is_ok());
        match check_status(LOC, &resp(429, &[])) {
            Err(SyncError::RateLimited(r)) => assert_eq!(r.retry_after_seconds, None),
            other => panic!("{other:?}"),
        }
        match check_status(LOC, &resp(429, &[("Retry-After", "900")])) {
            Err(SyncError::RateLimited(r)) => assert_eq!(r.retry_after_seconds, Some(900)),
            other => panic!("{other:?}"),
        }
        for status in [401, 403] {
            match check_status(LOC, &resp(status, &[])) {
                Err(SyncError::CredentialsRejected { detail }) => {
                    assert!(detail.contains("RTE refused"), "{detail}");
                    assert!(!detail.contains("\"error\""), "no body in errors: {detail}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        for status in [408, 500, 503] {
            assert!(matches!(
                check_status(LOC, &resp(status, &[])),
                Err(SyncError::SiteUnavailable(_))
            ));
        }
        for status in [302, 404, 410] {
            assert!(matches!(
                check_status(LOC, &resp(status, &[])),
                Err(SyncError::SiteChanged(_))
            ));
        }
    }
}
