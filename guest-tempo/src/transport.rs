//! The one door to the network: plain GET requests, and the `Transport`
//! trait that carries them.
//!
//! This module owns the request shape of this guest (a path and a body
//! limit: no method, query or body, since both Tempo services answer a
//! bare GET). The response, the base URL and the "denied" error are shared
//! with the other guests (`hellowatt_guest_kit::transport`, re-exported
//! here). The component implements `Transport` over `wasi:http`
//! (`component.rs`, with `hellowatt_guest_kit::wasi_http`); native tests
//! implement it over a cassette replay. It must never know about either
//! service's JSON, and never follow a redirect.

use hellowatt_snapshot::SyncError;

pub use hellowatt_guest_kit::transport::{BaseUrl, Response, denied};

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

/// Sends one request and reads the answer. Any status is an answer; an
/// `Err` means there was no answer (denied by the host, network down).
pub trait Transport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = Request::get("/api/jourTempo/2026-11-28", 10).header("Accept", "x");
        assert_eq!(r.location(), "GET /api/jourTempo/2026-11-28");
        assert_eq!(r.headers, [("Accept".to_string(), "x".to_string())]);
        assert_eq!(r.max_body, 10);
    }
}
