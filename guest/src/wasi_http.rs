//! `Transport` over `wasi:http/outgoing-handler`: the guest's only way out.
//!
//! This module owns the `wasi:http` mechanics: building the outgoing
//! request (method, scheme, authority, path with query, headers, a body
//! with its `content-length`), sending it, waiting for the answer and
//! reading its body fully, and turning a refusal or a failure into
//! `SyncError::Transport` with a readable detail. It must never set
//! `Host` (the host derives it), follow a redirect, retry, or look at what
//! it carries.

use crate::component::bindings::wasi::http::outgoing_handler;
use crate::component::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    Scheme,
};
use crate::component::bindings::wasi::io::streams::StreamError;
use crate::transport::{self, BaseUrl, Request, Response, Transport};
use hellowatt_snapshot::SyncError;

/// Refuse bodies beyond this: the site's monthly payloads are far smaller.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

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
            detail: format!("{} {}{}: {what}", req.method, self.base.origin(), req.path),
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
        if !req.body.is_empty() {
            headers
                .append("content-length", req.body.len().to_string().as_bytes())
                .map_err(|e| self.failure(req, &format!("content-length refused: {e:?}")))?;
        }
        let out = OutgoingRequest::new(headers);
        let method = match req.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => Method::Other(other.to_string()),
        };
        let scheme = if self.base.scheme == "http" {
            Scheme::Http
        } else {
            Scheme::Https
        };
        let path = format!("{}{}", self.base.prefix, req.path_with_query());
        let ok = out.set_method(&method).is_ok()
            && out.set_scheme(Some(&scheme)).is_ok()
            && out.set_authority(Some(&self.base.authority)).is_ok()
            && out.set_path_with_query(Some(&path)).is_ok();
        if !ok {
            return Err(self.failure(req, "the request could not be built"));
        }
        Ok(out)
    }
}

impl Transport for WasiHttp {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        let out = self.build(req)?;
        let body = out
            .body()
            .map_err(|_| self.failure(req, "no request body"))?;
        let future = outgoing_handler::handle(out, None).map_err(|e| self.error_code(req, &e))?;

        // A denied request shows up first as a failed write: note it, and
        // read the response future for the real reason.
        let mut write_failed = false;
        if let Ok(stream) = body.write() {
            for chunk in req.body.chunks(WRITE_CHUNK) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    write_failed = true;
                    break;
                }
            }
            drop(stream);
        } else {
            write_failed = true;
        }
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
        if write_failed {
            return Err(self.failure(req, "the request body could not be sent"));
        }
        self.read(req, resp)
    }
}

impl WasiHttp {
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

    fn read_body(&self, req: &Request, incoming: &IncomingBody) -> Result<Vec<u8>, SyncError> {
        let stream = incoming
            .stream()
            .map_err(|_| self.failure(req, "the response body could not be read"))?;
        let mut body = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_BODY {
                        return Err(self.failure(req, "the response body is too large"));
                    }
                }
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

/// A short, readable name for a `wasi:http` error code.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::DnsTimeout => "DNS timeout".into(),
        ErrorCode::DnsError(_) => "DNS error".into(),
        ErrorCode::DestinationNotFound => "destination not found".into(),
        ErrorCode::DestinationUnavailable => "destination unavailable".into(),
        ErrorCode::DestinationIpProhibited => "destination IP prohibited".into(),
        ErrorCode::DestinationIpUnroutable => "destination IP unroutable".into(),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTerminated => "connection terminated".into(),
        ErrorCode::ConnectionTimeout => "connection timeout".into(),
        ErrorCode::ConnectionReadTimeout => "read timeout".into(),
        ErrorCode::ConnectionWriteTimeout => "write timeout".into(),
        ErrorCode::TlsProtocolError => "TLS protocol error".into(),
        ErrorCode::TlsCertificateError => "TLS certificate error".into(),
        ErrorCode::TlsAlertReceived(_) => "TLS alert received".into(),
        ErrorCode::HttpRequestDenied => "the host denied the request".into(),
        ErrorCode::HttpResponseTimeout => "response timeout".into(),
        ErrorCode::HttpProtocolError => {
            "the connection broke off or the answer is not valid HTTP".into()
        }
        ErrorCode::HttpResponseIncomplete => "the answer was cut off before its end".into(),
        ErrorCode::HttpResponseBodySize(_) => "response body too large for the host".into(),
        ErrorCode::InternalError(Some(m)) => format!("internal error: {m}"),
        other => format!("{other:?}"),
    }
}
