//! The one door to the network, for every guest: the request a flow
//! sends, the response it gets, the `Transport` trait that carries one to
//! the other, the base URL split for `wasi:http`, and the error a request
//! the host refuses turns into.
//!
//! This module owns those shapes only. The component carries a request
//! over `wasi:http` (`wasi_http`, wasm32 only); native tests carry it over
//! a cassette replay (`testing`) or a fake of their own. It must never
//! know a site's pages, cookies or JSON, and never follow a redirect.

use hellowatt_snapshot::SyncError;

/// The body limit of a request that names none: far above any payload
/// the guests read, low enough that a hostile answer cannot fill the
/// guest's memory. A body beyond it is a transport error.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// One HTTP request, relative to the site's base URL.
///
/// Its `Debug` shows the body's length only: a log-in form carries the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...; named in error details too.
    pub method: &'static str,
    /// The path, starting with `/`, without the query: named in errors.
    pub path: String,
    /// The raw, percent-encoded query without `?`; empty when none.
    pub query: String,
    /// Never `Host`: the transport derives it from the base URL.
    pub headers: Vec<(String, String)>,
    /// Sent with its `content-length` when not empty.
    pub body: Vec<u8>,
    /// The largest response body the caller accepts; no transport reads
    /// more than `max_body + 1` bytes.
    pub max_body: usize,
    /// What a response body beyond `max_body` becomes.
    pub too_large: TooLarge,
}

/// What a response body beyond `Request::max_body` becomes. Either way no
/// more than `max_body + 1` bytes are read, so that a hostile answer
/// cannot fill the guest's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// A `SyncError::Transport` ("the response body is too large").
    Fail,
    /// The response, with its first `max_body + 1` bytes: the guest sees
    /// the overflow and names it in its own words.
    Truncate,
}

impl Request {
    /// A `GET` of `path` with a raw `query` (empty for none), no headers,
    /// and the default body limit ([`DEFAULT_MAX_BODY`], [`TooLarge::Fail`]).
    pub fn get(path: impl Into<String>, query: impl Into<String>) -> Request {
        Request {
            method: "GET",
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            too_large: TooLarge::Fail,
        }
    }

    /// A `POST` of `body` to `path`, no query, no headers (the caller adds
    /// its `Content-Type`), and the default body limit.
    pub fn post(path: impl Into<String>, body: impl Into<Vec<u8>>) -> Request {
        Request {
            method: "POST",
            body: body.into(),
            ..Request::get(path, "")
        }
    }

    /// Adds a header (never `Host`).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the body limit of the answer and what a body beyond it
    /// becomes.
    pub fn max_body(mut self, max_body: usize, too_large: TooLarge) -> Request {
        self.max_body = max_body;
        self.too_large = too_large;
        self
    }

    /// `GET /api/homes`: the location named in errors (no query).
    pub fn location(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with its query, as sent on the wire.
    pub fn path_with_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("max_body", &self.max_body)
            .field("too_large", &self.too_large)
            .finish()
    }
}

/// Sends one request and reads the answer (up to the request's body
/// limit). Any status is an answer; an `Err` means there was no answer
/// (denied by the host, network down, a body too large with
/// [`TooLarge::Fail`]).
pub trait Transport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError>;
}

/// One HTTP response, read fully (or up to the body limit of its request,
/// see [`TooLarge`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name, in order (e.g. `Set-Cookie`).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A site's base URL, split for `wasi:http`: `https://www.hellowatt.fr`
/// or `http://127.0.0.1:8080/mirror` (a path prefix is kept and put before
/// every request path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`, as given.
    pub authority: String,
    /// Empty, or a prefix starting with `/` without a trailing slash.
    pub prefix: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl, SyncError> {
        let bad = |why: &str| SyncError::Other {
            detail: format!("the base URL {url:?} is not usable: {why}"),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        let (authority, prefix) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(bad("no usable host"));
        }
        if prefix.contains(['?', '#']) {
            return Err(bad("a query or fragment is not allowed"));
        }
        Ok(BaseUrl {
            scheme,
            authority: authority.to_string(),
            prefix: prefix.trim_end_matches('/').to_string(),
        })
    }

    /// The host name alone, lower-case: no port, no brackets' content
    /// changed (`[::1]:8080` gives `[::1]`).
    pub fn host(&self) -> String {
        let a = self.authority.as_str();
        let host = match a.rfind(':') {
            // A colon inside brackets belongs to an IPv6 address.
            Some(i) if !a[i..].contains(']') => &a[..i],
            _ => a,
        };
        host.to_ascii_lowercase()
    }

    /// `https://www.hellowatt.fr` (with the prefix, if any).
    pub fn origin(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// The error a request refused by the host (its policy, or a replay that
/// has no such exchange) turns into.
pub fn denied(origin: &str, path: &str) -> SyncError {
    SyncError::Transport {
        detail: format!("the host denied the request to {origin}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = Request::get("/api/homes", "a=1").header("Accept", "x");
        assert_eq!(r.method, "GET");
        assert_eq!(r.location(), "GET /api/homes");
        assert_eq!(r.path_with_query(), "/api/homes?a=1");
        assert_eq!(r.headers, [("Accept".to_string(), "x".to_string())]);
        assert_eq!(
            (r.max_body, r.too_large),
            (DEFAULT_MAX_BODY, TooLarge::Fail)
        );
        assert_eq!(
            Request::get("/api/homes", "").path_with_query(),
            "/api/homes"
        );
    }

    #[test]
    fn a_limited_get() {
        let r = Request::get("/api/jourTempo/2026-11-28", "")
            .max_body(10, TooLarge::Truncate)
            .header("Accept", "x");
        assert_eq!(r.location(), "GET /api/jourTempo/2026-11-28");
        assert_eq!(r.path_with_query(), "/api/jourTempo/2026-11-28");
        assert_eq!(r.headers, [("Accept".to_string(), "x".to_string())]);
        assert_eq!((r.max_body, r.too_large), (10, TooLarge::Truncate));
    }

    #[test]
    fn a_post_shows_no_body() {
        let r = Request::post("/accounts/login/", "password=Secret-123!")
            .header("Content-Type", "application/x-www-form-urlencoded");
        assert_eq!(r.location(), "POST /accounts/login/");
        assert_eq!(r.query, "");
        assert_eq!(r.body, b"password=Secret-123!");
        let shown = format!("{r:?}");
        assert!(!shown.contains("Secret"), "{shown}");
        assert!(shown.contains("body_len: 20"), "{shown}");
    }

    #[test]
    fn base_urls() {
        let b = BaseUrl::parse("https://www.hellowatt.fr").unwrap();
        assert_eq!(b.scheme, "https");
        assert_eq!(b.authority, "www.hellowatt.fr");
        assert_eq!(b.host(), "www.hellowatt.fr");
        assert_eq!(b.prefix, "");
        assert_eq!(b.origin(), "https://www.hellowatt.fr");
        let b = BaseUrl::parse("HTTPS://WWW.Services-RTE.com:443/").unwrap();
        assert_eq!(b.host(), "www.services-rte.com");
        assert_eq!(b.prefix, "");
        let b = BaseUrl::parse("http://127.0.0.1:8080/site/").unwrap();
        assert_eq!(b.authority, "127.0.0.1:8080");
        assert_eq!(b.host(), "127.0.0.1");
        assert_eq!(b.prefix, "/site");
        assert_eq!(b.origin(), "http://127.0.0.1:8080/site");
        assert_eq!(BaseUrl::parse("http://[::1]:8080").unwrap().host(), "[::1]");
        assert_eq!(BaseUrl::parse("http://[::1]").unwrap().host(), "[::1]");
        for bad in [
            "ftp://x",
            "www.hellowatt.fr",
            "https://",
            "https://a/b?c",
            "https://u@a",
            "",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn response_headers() {
        let resp = Response {
            status: 200,
            headers: vec![
                ("Set-Cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
            ],
            body: vec![],
        };
        assert_eq!(
            resp.headers_named("SET-COOKIE").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
        assert_eq!(resp.header("set-cookie"), Some("a=1"));
        assert_eq!(resp.header("date"), None);
    }

    #[test]
    fn denied_names_the_url() {
        match denied("https://www.hellowatt.fr", "/api/homes") {
            SyncError::Transport { detail } => assert_eq!(
                detail,
                "the host denied the request to https://www.hellowatt.fr/api/homes"
            ),
            other => panic!("{other:?}"),
        }
    }
}
