//! The one door to the network: plain HTTP requests and responses, and the
//! `Transport` trait that carries them.
//!
//! This module owns the request/response shapes the flow speaks and the
//! parsing of the site's base URL. The component implements `Transport`
//! over `wasi:http` (`wasi_http.rs`); native tests implement it over a
//! cassette replay. It must never know about the site's pages, cookies or
//! JSON, and never follow a redirect.

use hellowatt_snapshot::SyncError;

/// One HTTP request, relative to the site's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, starting with `/`, without the query.
    pub path: String,
    /// The raw, percent-encoded query without `?`; empty when none.
    pub query: String,
    /// Never `Host`: the transport derives it from the base URL.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path: impl Into<String>, query: impl Into<String>) -> Request {
        Request {
            method: "GET",
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
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

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// One HTTP response, read fully.
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

/// Sends one request and reads the whole answer. Any status is an answer;
/// an `Err` means there was no answer (denied by the host, network down).
pub trait Transport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError>;
}

/// The site's base URL, split for `wasi:http`: `https://www.hellowatt.fr`
/// or `http://127.0.0.1:8080` (a path prefix is kept and put before every
/// request path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`.
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
            Some(i) => (&rest[..i], &rest[i..]),
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
    fn base_urls() {
        let b = BaseUrl::parse("https://www.hellowatt.fr").unwrap();
        assert_eq!(b.scheme, "https");
        assert_eq!(b.authority, "www.hellowatt.fr");
        assert_eq!(b.prefix, "");
        assert_eq!(b.origin(), "https://www.hellowatt.fr");
        let b = BaseUrl::parse("http://127.0.0.1:8080/site/").unwrap();
        assert_eq!(b.authority, "127.0.0.1:8080");
        assert_eq!(b.prefix, "/site");
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("www.hellowatt.fr").is_err());
        assert!(BaseUrl::parse("https://").is_err());
        assert!(BaseUrl::parse("https://a/b?c").is_err());
    }

    #[test]
    fn requests() {
        let r = Request::get("/api/homes", "a=1").header("Accept", "x");
        assert_eq!(r.location(), "GET /api/homes");
        assert_eq!(r.path_with_query(), "/api/homes?a=1");
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
    }
}
