//! The bearer token: who may read the API, the metrics and the dashboard.
//!
//! With a token configured, every route but `/healthz` needs
//! `Authorization: Bearer <token>`. Browsers cannot send a header when they
//! open a page, so the dashboard page (`/`) also takes `?token=<token>`;
//! its answer sets a cookie holding a digest of the token (never the token
//! itself) that opens the page and `/assets/*` only, not the API: the page's
//! script reads the token from its own address and sends the header.
//!
//! Tokens are compared as SHA-256 digests with a constant-time equality, so
//! neither the content nor the length of the token leaks through timing.

use super::Shared;
use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The dashboard's cookie.
pub const COOKIE: &str = "hellowatt_dashboard";

pub(crate) struct Auth {
    /// SHA-256 of the token.
    token: Option<[u8; 32]>,
    /// SHA-256 of the cookie value (itself a hex digest of the token).
    cookie: Option<([u8; 32], String)>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equality that takes the same time whatever the inputs.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    subtle::ConstantTimeEq::ct_eq(&a[..], &b[..]).into()
}

/// How the request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    None,
    Wrong,
    Header,
    Query,
    Cookie,
}

impl Auth {
    pub fn new(token: Option<&str>) -> Auth {
        // An empty candidate never matches (see `matches`), so an empty
        // configured token locks the routes rather than opening them.
        let token = token.map(|t| digest(t.as_bytes()));
        let cookie = token.map(|t| {
            let mut h = Sha256::new();
            h.update(b"hellowatt dashboard cookie\0");
            h.update(t);
            let value = hex::encode(h.finalize());
            (digest(value.as_bytes()), value)
        });
        Auth { token, cookie }
    }

    fn matches(&self, candidate: &str) -> bool {
        !candidate.is_empty()
            && self
                .token
                .as_ref()
                .is_some_and(|t| ct_eq(t, &digest(candidate.as_bytes())))
    }

    fn cookie_matches(&self, candidate: &str) -> bool {
        self.cookie
            .as_ref()
            .is_some_and(|(c, _)| ct_eq(c, &digest(candidate.as_bytes())))
    }

    fn proof(&self, req: &Request) -> Proof {
        let path = req.uri().path();
        let mut wrong = false;
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            match value.to_str().ok().and_then(bearer) {
                Some(t) if self.matches(t) => return Proof::Header,
                _ => wrong = true,
            }
        }
        let page = path == "/";
        if page
            && let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            && let Some((_, t)) = pairs.iter().find(|(k, _)| k == "token")
        {
            if self.matches(t) {
                return Proof::Query;
            }
            wrong = true;
        }
        if (page || path.starts_with("/assets/"))
            && cookies(req.headers()).any(|c| c.name() == COOKIE && self.cookie_matches(c.value()))
        {
            return Proof::Cookie;
        }
        if wrong { Proof::Wrong } else { Proof::None }
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start())
}

/// The cookies of every `Cookie` header; a malformed pair is skipped.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = cookie::Cookie<'_>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
}

/// The middleware: lets a request through or answers 401.
pub(crate) async fn require_token(State(ctx): State<Shared>, req: Request, next: Next) -> Response {
    let auth = &ctx.auth;
    if auth.token.is_none() || req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let page = req.uri().path() == "/";
    match auth.proof(&req) {
        Proof::Header | Proof::Query | Proof::Cookie => {
            let mut res = next.run(req).await;
            if page
                && res.status().is_success()
                && let Some((_, value)) = &auth.cookie
                && let Ok(v) =
                    HeaderValue::from_str(&format!("{COOKIE}={value}; HttpOnly; SameSite=Strict"))
            {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        proof @ (Proof::None | Proof::Wrong) => {
            let (challenge, message) = if proof == Proof::Wrong {
                (
                    "Bearer realm=\"hellowatt\", error=\"invalid_token\"",
                    "the token is wrong: send the token configured for the service as \
                     `Authorization: Bearer <token>`",
                )
            } else {
                (
                    "Bearer realm=\"hellowatt\"",
                    "a token is required: send `Authorization: Bearer <token>` (the dashboard \
                     page also takes ?token=<token> in its address)",
                )
            };
            let mut res = (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({ "error": message })),
            )
                .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_and_digests() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        let auth = Auth::new(Some("s3cret"));
        assert!(auth.matches("s3cret"));
        assert!(!auth.matches("s3cre"));
        assert!(!auth.matches(""));
        let (_, cookie) = auth.cookie.clone().unwrap();
        assert!(!cookie.contains("s3cret"));
        assert!(auth.cookie_matches(&cookie));
        assert!(!auth.cookie_matches("s3cret"));
        assert!(!Auth::new(None).matches(""));
        assert!(!Auth::new(Some("")).matches(""));
    }

    #[test]
    fn constant_time_equality_is_equality() {
        let a = digest(b"a");
        assert!(ct_eq(&a, &digest(b"a")));
        assert!(!ct_eq(&a, &digest(b"b")));
    }
}
