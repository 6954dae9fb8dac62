//! The one door to the network: plain GET requests and their responses,
//! and the `Transport` trait that carries them. (A trimmed copy of the
//! helloWatt guest's `transport`: no method, query or body, since both
//! Tempo services answer a bare GET.)
//!
//! This module owns the request/response shapes the flow speaks and the
//! parsing of the base URL. The component implements `Transport` over
//! `wasi:http` (`wasi_http.rs`); native tests implement it over a cassette
//! replay. It must never know about either service's JSON, and never
//! follow a redirect.

use hellowatt_snapshot::SyncError;

/// One GET request, relative to the base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The path, starting with `/`; these services take no query.
    pub path: String,
    /// Never `Host`: the transport derives it from the base URL.
    pub headers: Vec<(String, String)>,
    /// The largest body the caller accepts: a transport may stop reading
    /// after `max_body + 1` bytes (the caller then sees a body too large),
    /// so that a hostile answer cannot fill the guest's memory.
    pub max_body: usize,
}

impl Request {
    pub fn get(path: impl Into<String>, max_body: usize) -> Request {
        Request {
            path: path.into(),
            headers: Vec::new(),
            max_body,
        }
    }

    /// `GET /api/jourTempo/2026-11-28`: the location named in errors.
    pub fn location(&self) -> String {
        format!("GET {}", self.path)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// One HTTP response, read fully (or up to the request's `max_body + 1`).
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
}

/// Sends one request and reads the answer. Any status is an answer; an
/// `Err` means there was no answer (denied by the host, network down).
pub trait Transport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError>;
}

/// The base URL, split for `wasi:http`: `https://www.api-couleur-tempo.fr`
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

    /// `https://www.api-couleur-tempo.fr` (with the prefix, if any).
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
        let b = BaseUrl::parse("https://www.api-couleur-tempo.fr").unwrap();
        assert_eq!(b.scheme, "https");
        assert_eq!(b.host(), "www.api-couleur-tempo.fr");
        assert_eq!(b.prefix, "");
        assert_eq!(b.origin(), "https://www.api-couleur-tempo.fr");
        let b = BaseUrl::parse("HTTPS://WWW.Services-RTE.com:443/").unwrap();
        assert_eq!(b.host(), "www.services-rte.com");
        assert_eq!(b.prefix, "");
        let b = BaseUrl::parse("http://127.0.0.1:8080/mirror/").unwrap();
        assert_eq!(b.authority, "127.0.0.1:8080");
        assert_eq!(b.host(), "127.0.0.1");
        assert_eq!(b.prefix, "/mirror");
        assert_eq!(BaseUrl::parse("http://[::1]:8080").unwrap().host(), "[::1]");
        assert_eq!(BaseUrl::parse("http://[::1]").unwrap().host(), "[::1]");
        for bad in [
            "ftp://x",
            "www.api-couleur-tempo.fr",
            "https://",
            "https://a/b?c",
            "https://u@a",
            "",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests() {
        let r = Request::get("/api/jourTempo/2026-11-28", 10).header("Accept", "x");
        assert_eq!(r.location(), "GET /api/jourTempo/2026-11-28");
        assert_eq!(r.headers, [("Accept".to_string(), "x".to_string())]);
        let resp = Response {
            status: 200,
            headers: vec![("Retry-After".into(), "1".into())],
            body: vec![],
        };
        assert_eq!(resp.header("retry-after"), Some("1"));
        assert_eq!(resp.header("date"), None);
    }
}
