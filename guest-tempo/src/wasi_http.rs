//! `Transport` over `wasi:http/outgoing-handler`: the guest's only way out.
//!
//! This module owns the `wasi:http` mechanics of a GET: building the
//! outgoing request (scheme, authority, path, headers), sending it with an
//! empty body, waiting for the answer and reading its body up to the
//! request's `max_body + 1` bytes, and turning a refusal or a failure into
//! `SyncError::Transport` with a readable detail. It must never set `Host`
//! (the host derives it), follow a redirect, retry, or look at what it
//! carries. (A trimmed copy of the helloWatt guest's `wasi_http`: no
//! method but GET, no request body, a bounded read.)

use crate::component::bindings::wasi::http::outgoing_handler;
use crate::component::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    Scheme,
};
use crate::component::bindings::wasi::io::streams::StreamError;
use crate::transport::{self, BaseUrl, Request, Response, Transport};
use hellowatt_snapshot::SyncError;

pub struct WasiHttp {
    base: BaseUrl,
}

impl WasiHttp {
    pub fn new(base_url: &str) -> Result<WasiHttp, SyncError> {
        Ok(WasiHttp {
            base: BaseUrl::parse(base_url)?,
        })
    }

    fn failure(&self, req: &Request, what: &str) -> SyncError {
        SyncError::Transport {
            detail: format!("GET {}{}: {what}", self.base.origin(), req.path),
        }
    }

    fn error_code(&self, req: &Request, code: &ErrorCode) -> SyncError {
        match code {
            ErrorCode::HttpRequestDenied => transport::denied(&self.base.origin(), &req.path),
            other => self.failure(req, &describe(other)),
        }
    }

    fn build(&self, req: &Request) -> Result<OutgoingRequest, SyncError> {
        let headers = Fields::new();
        for (name, value) in &req.headers {
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            headers
                .append(name, value.as_bytes())
                .map_err(|e| self.failure(req, &format!("header {name} refused: {e:?}")))?;
        }
        let out = OutgoingRequest::new(headers);
        let scheme = if self.base.scheme == "http" {
            Scheme::Http
        } else {
            Scheme::Https
        };
        let path = format!("{}{}", self.base.prefix, req.path);
        let ok = out.set_method(&Method::Get).is_ok()
            && out.set_scheme(Some(&scheme)).is_ok()
            && out.set_authority(Some(&self.base.authority)).is_ok()
            && out.set_path_with_query(Some(&path)).is_ok();
        if !ok {
            return Err(self.failure(req, "the request could not be built"));
        }
        Ok(out)
    }

    fn read(&self, req: &Request, resp: IncomingResponse) -> Result<Response, SyncError> {
        let status = resp.status();
        let headers = {
            let fields = resp.headers();
            let entries = fields.entries();
            drop(fields);
            entries
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect()
        };
        let incoming = resp
            .consume()
            .map_err(|_| self.failure(req, "the response body could not be opened"))?;
        let body = self.read_body(req, &incoming);
        drop(IncomingBody::finish(incoming));
        drop(resp);
        Ok(Response {
            status,
            headers,
            body: body?,
        })
    }

    /// Reads until the end or until more than `max_body` bytes came: the
    /// caller refuses such a body as too large, the rest is never read.
    fn read_body(&self, req: &Request, incoming: &IncomingBody) -> Result<Vec<u8>, SyncError> {
        let stream = incoming
            .stream()
            .map_err(|_| self.failure(req, "the response body could not be read"))?;
        let mut body = Vec::new();
        while body.len() <= req.max_body {
            let want = req
                .max_body
                .saturating_add(1)
                .saturating_sub(body.len())
                .min(64 * 1024);
            match stream.blocking_read(want as u64) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    let detail =
                        match crate::component::bindings::wasi::http::types::http_error_code(&e) {
                            Some(code) => describe(&code),
                            None => e.to_debug_string(),
                        };
                    return Err(self.failure(req, &format!("reading the answer failed: {detail}")));
                }
            }
        }
        Ok(body)
    }
}

impl Transport for WasiHttp {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        let out = self.build(req)?;
        let body = out
            .body()
            .map_err(|_| self.failure(req, "no request body"))?;
        let future = outgoing_handler::handle(out, None).map_err(|e| self.error_code(req, &e))?;
        // A GET sends no body: finish it at once.
        let finished = OutgoingBody::finish(body, None);
        let answer = loop {
            if let Some(answer) = future.get() {
                break answer;
            }
            future.subscribe().block();
        };
        let resp = match answer {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => return Err(self.error_code(req, &code)),
            Err(()) => return Err(self.failure(req, "the response was already taken")),
        };
        if let Err(code) = finished {
            return Err(self.error_code(req, &code));
        }
        self.read(req, resp)
    }
}

/// A short, readable name for a `wasi:http` error code.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::DnsTimeout => "DNS timeout".into(),
        ErrorCode::DnsError(_) => "DNS error".into(),
        ErrorCode::DestinationNotFound => "destination not found".into(),
        ErrorCode::DestinationUnavailable => "destination unavailable".into(),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTerminated => "connection terminated".into(),
        ErrorCode::ConnectionTimeout => "connection timeout".into(),
        ErrorCode::ConnectionReadTimeout => "read timeout".into(),
        ErrorCode::TlsProtocolError => "TLS protocol error".into(),
        ErrorCode::TlsCertificateError => "TLS certificate error".into(),
        ErrorCode::HttpRequestDenied => "the host denied the request".into(),
        ErrorCode::HttpResponseTimeout => "response timeout".into(),
        ErrorCode::HttpResponseBodySize(_) => "response body too large for the host".into(),
        ErrorCode::InternalError(Some(m)) => format!("internal error: {m}"),
        other => format!("{other:?}"),
    }
}
