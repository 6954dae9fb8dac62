//! Which requests the API answers at all, before the token is looked at:
//! the names it is reached by, and, for a request that changes something,
//! a page of its own.
//!
//! - `Host`: an IP address (what the listen address or the machine's
//!   network address is), `localhost`, or a name from `allowed_hosts`.
//!   Any other name is a page that made its own name point here (DNS
//!   rebinding): answered 421, with what to configure, and nothing else.
//! - A request other than GET, HEAD and OPTIONS (today the refresh POST)
//!   from a browser must come from this service's own pages: an `Origin`
//!   whose host and port are the request's `Host`, and no
//!   `Sec-Fetch-Site: cross-site`. A foreign page's is answered 403.
//!   Clients that send no `Origin` (curl, Home Assistant) are not
//!   browsers, and go on to the token.
//!
//! It owns those two checks only, and must never answer with data.

use super::Shared;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The names the service is reached by, beside IP addresses and
/// `localhost`: `allowed_hosts`, lowercase.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doors {
    names: Vec<String>,
}

/// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`),
/// lowercase.
fn host_part(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Doors {
    pub fn new(allowed_hosts: &[String]) -> Doors {
        Doors {
            names: allowed_hosts
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` value names this service.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_part(host);
        name.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || self.names.contains(&name)
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the page's own, served at
/// `host` (the request's `Host`).
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.contains('/')
        && rest.eq_ignore_ascii_case(host.trim())
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Why a request may not come in, if it may not.
pub(crate) fn check(doors: &Doors, method: &Method, headers: &HeaderMap) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !doors.host_allowed(host) {
        // The name is not echoed: it is the foreign page's.
        return Some(refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this service is not reached by that name: reach it by its IP address or \
             localhost, or add the name to allowed_hosts in the configuration"
                .into(),
        ));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let foreign = headers
        .get(header::ORIGIN)
        .map(|o| !o.to_str().is_ok_and(|o| same_origin(o, host)));
    if cross_site || foreign == Some(true) {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "refused: a page of another site asked this service to change something \
             (its Origin is not this service's)"
                .into(),
        ));
    }
    None
}

/// The middleware: [`check`] on every request.
pub(crate) async fn guard(State(ctx): State<Shared>, request: Request, next: Next) -> Response {
    match check(&ctx.doors, request.method(), request.headers()) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn hosts() {
        let d = Doors::new(&["NAS.lan".into()]);
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:8080",
            "192.168.1.20:8080",
            "localhost:8080",
            "LOCALHOST",
            "nas.lan:8080",
            "nas.lan.",
        ] {
            assert!(d.host_allowed(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "nas.lan.evil.example",
            "",
        ] {
            assert!(!d.host_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn state_changes_come_from_the_services_own_pages() {
        let d = Doors::default();
        let post = Method::POST;
        let host = ("host", "127.0.0.1:8080");
        assert!(
            check(&d, &post, &headers(&[host])).is_none(),
            "no Origin: no browser"
        );
        assert!(
            check(
                &d,
                &post,
                &headers(&[host, ("origin", "http://127.0.0.1:8080")])
            )
            .is_none()
        );
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("origin", "http://127.0.0.1:9999"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let r = check(&d, &post, &headers(&[host, (name, value)])).expect(value);
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        }
        // Reading is not changing: a foreign page cannot read the answer
        // (no CORS header), and its Host is checked above.
        assert!(
            check(
                &d,
                &Method::GET,
                &headers(&[host, ("origin", "https://evil.example")])
            )
            .is_none()
        );
        let r = check(&d, &Method::GET, &headers(&[("host", "evil.example")])).unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    }
}
