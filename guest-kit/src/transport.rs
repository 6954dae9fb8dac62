//! The network shapes every guest speaks: the response a transport hands
//! back, the base URL split for `wasi:http`, and the error a request the
//! host refuses turns into.
//!
//! This module owns those shapes only. The request shape and the
//! `Transport` trait stay in each guest: their requests differ (methods,
//! query, body, a body limit), and a guest's flow is written against its
//! own. It must never know a site's pages, cookies or JSON, and never
//! follow a redirect.

use hellowatt_snapshot::SyncError;

/// One HTTP response, read fully (or up to the body limit the guest asked
/// for, see `wasi_http::TooLarge`).
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
