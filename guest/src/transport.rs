//! The one door to the network: the requests this guest's flow sends and
//! the `Transport` trait that carries them.
//!
//! This module owns the request shape of the helloWatt flow (GET and POST,
//! a query, a form body). The response, the base URL and the "denied"
//! error are shared with the other guests (`hellowatt_guest_kit::transport`,
//! re-exported here). The component implements `Transport` over `wasi:http`
//! (`component.rs`, with `hellowatt_guest_kit::wasi_http`); native tests
//! implement it over a cassette replay. It must never know about the
//! site's pages, cookies or JSON, and never follow a redirect.

use hellowatt_snapshot::SyncError;

pub use hellowatt_guest_kit::transport::{BaseUrl, Response, denied};

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

/// Sends one request and reads the whole answer. Any status is an answer;
/// an `Err` means there was no answer (denied by the host, network down).
pub trait Transport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = Request::get("/api/homes", "a=1").header("Accept", "x");
        assert_eq!(r.location(), "GET /api/homes");
        assert_eq!(r.path_with_query(), "/api/homes?a=1");
        assert_eq!(
            Request::get("/api/homes", "").path_with_query(),
            "/api/homes"
        );
    }
}
