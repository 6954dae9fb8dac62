//! Requests and replies of the simulated sites: what a backend sees of a
//! request (method, decoded path, raw query, headers, the whole body), the
//! reply it builds, and DRF's and Django's stock answers (`detail`
//! messages, 404, the unauthenticated 401/403, the CSRF failure page).
//!
//! It owns the shapes every backend shares (`site.rs`, `scenario.rs`,
//! `tempo.rs`, `faults.rs`). It must never decide what a route answers:
//! that is each backend's.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hellowatt_fixtures::percent_decode;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

/// What a backend sees of a request: the body is read in full.
#[derive(Debug)]
pub(crate) struct SimRequest {
    pub method: Method,
    /// The path, `%XX`-decoded as Django routes it.
    pub path: String,
    /// The path as sent.
    pub raw_path: String,
    /// The raw query without `?` (empty when none).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl SimRequest {
    pub fn new(parts: http::request::Parts, body: Bytes) -> SimRequest {
        let raw_path = parts.uri.path().to_string();
        SimRequest {
            method: parts.method,
            path: decode_path(&raw_path),
            raw_path,
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts.headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The headers as (name, value) pairs, for the fixtures' replay.
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect()
    }

    /// A cookie's value, over every `Cookie` header (the last one wins).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .filter(|c| c.name() == name)
            .last()
            .map(|c| c.value_trimmed().to_string())
    }

    pub fn is_ajax(&self) -> bool {
        self.header("x-requested-with") == Some("XMLHttpRequest")
    }

    fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The decoded fields of a form body, in order; empty for any other
    /// body (Django's `request.POST`).
    pub fn form(&self) -> Vec<(String, String)> {
        if self.media_type() != "application/x-www-form-urlencoded" {
            return Vec::new();
        }
        decode_pairs(&String::from_utf8_lossy(&self.body))
    }

    pub fn is_safe_method(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }
}

/// `%XX`-decodes a path; `+` stays a `+` in a path.
fn decode_path(path: &str) -> String {
    if !path.contains('%') {
        return path.to_string();
    }
    percent_decode(&path.replace('+', "%2B"))
}

/// Decoded `key=value` pairs in order (`+` is a space).
pub(crate) fn decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The last value of a field (Django's `QueryDict.get`).
pub(crate) fn last_value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// An answer under construction.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// DRF's JSON renderer: `application/json`, compact.
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Location", location)
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                (Ok(n), Ok(v)) => {
                    headers.append(n, v);
                }
                _ => tracing::warn!("simulated site: header {name:?} dropped (not valid HTTP)"),
            }
        }
        response
    }
}

/// The API version a request names, as DRF's `AcceptHeaderVersioning`
/// reads it: the `version` parameter of the `Accept` media range that
/// content negotiation picks for JSON (the most specific range matching
/// `application/json`: one with parameters, then `application/json`, then
/// `application/*`, then `*/*`; the first of equals). `None` when no
/// header, no matching range, or no `version` parameter: DRF's default
/// version, always allowed. (A header that matches no JSON range would be
/// DRF's 406 "Could not satisfy the request Accept header."; the simulated
/// site does not refuse it.)
pub(crate) fn accept_version(accept: Option<&str>) -> Option<String> {
    let mut best: Option<(u8, Option<String>)> = None;
    for range in accept?.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((main, sub)) = media.split_once('/') else {
            continue;
        };
        if !(main == "*" || main == "application") || !(sub == "*" || sub == "json") {
            continue;
        }
        let mut version = None;
        let mut has_params = false;
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if key != "q" {
                has_params = true;
            }
            if key == "version" {
                version = Some(value.to_string());
            }
        }
        // DRF's `_MediaType.precedence`.
        let precedence = if main == "*" {
            0
        } else if sub == "*" {
            1
        } else if !has_params {
            2
        } else {
            3
        };
        if best.as_ref().is_none_or(|(p, _)| precedence > *p) {
            best = Some((precedence, version));
        }
    }
    best.and_then(|(_, version)| version)
}

/// DRF's `NotAcceptable` for a version not in `ALLOWED_VERSIONS`.
pub(crate) fn invalid_version() -> Reply {
    detail(406, "Invalid version in \"Accept\" header.")
}

/// DRF's error body `{"detail": "…"}`.
pub(crate) fn detail(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({ "detail": message }))
}

pub(crate) fn not_found() -> Reply {
    detail(404, "Not found.")
}

/// The DRF answer to an API call without a valid session.
pub(crate) fn unauthenticated(status: u16) -> Reply {
    let reply = detail(status, "Authentication credentials were not provided.");
    if status == 401 {
        reply.header("WWW-Authenticate", "Session")
    } else {
        reply
    }
}

/// Django's production CSRF failure page (DEBUG off: no reason shown).
pub(crate) fn csrf_failure_page() -> Reply {
    Reply::html(
        403,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta http-equiv=\"content-type\" \
         content=\"text/html; charset=utf-8\">\n  <meta name=\"robots\" \
         content=\"NONE,NOARCHIVE\">\n  <title>403 Forbidden</title>\n</head>\n<body>\n<div \
         id=\"summary\">\n  <h1>Forbidden <span>(403)</span></h1>\n  <p>CSRF verification \
         failed. Request aborted.</p>\n</div>\n\n<div id=\"explanation\">\n  <p>More \
         information is available with DEBUG=True.</p>\n</div>\n</body>\n</html>\n"
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_versions_as_drf_reads_them() {
        let v = |h: &str| accept_version(Some(h));
        assert_eq!(v("application/json; version=1.48").as_deref(), Some("1.48"));
        assert_eq!(
            v("application/json;Version=\"1.54\"").as_deref(),
            Some("1.54")
        );
        assert_eq!(v("application/json"), None);
        assert_eq!(accept_version(None), None);
        // The most specific JSON range wins, whatever its place.
        assert_eq!(
            v("*/*; version=9, application/json; version=1.54").as_deref(),
            Some("1.54")
        );
        assert_eq!(v("application/json, */*; version=9"), None);
        assert_eq!(v("text/html; version=1.48"), None);
        let body: Value = serde_json::from_slice(&invalid_version().body).unwrap();
        assert_eq!(
            body,
            json!({"detail": "Invalid version in \"Accept\" header."})
        );
    }
}
