//! One HTTP exchange over `wasi:http/outgoing-handler`: a guest's only way
//! out. [`WasiHttp`] implements the kit's [`Transport`]; the component
//! adapter (`scraper`) hands it to the guest's flow.
//!
//! This module owns the `wasi:http` mechanics: building the outgoing
//! request (method, scheme, authority, path with query, headers, a body
//! with its `content-length`), sending it, waiting for the answer, reading
//! its body up to the request's limit, and turning a refusal or a failure
//! into `SyncError::Transport` with a readable detail. It must never set
//! `Host` (the host derives it), follow a redirect, retry, or look at what
//! it carries.

use crate::generated::wasi::http::outgoing_handler;
use crate::generated::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    Scheme, http_error_code,
};
use crate::generated::wasi::io::streams::StreamError;
use crate::transport::{BaseUrl, Request, Response, TooLarge, Transport, denied};
use hellowatt_snapshot::SyncError;

/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

/// The most one `blocking-read` is asked for.
const READ_CHUNK: usize = 64 * 1024;

/// The guest's way out: [`Transport`] over `wasi:http`, relative to one
/// base URL.
pub struct WasiHttp {
    base: BaseUrl,
}

impl WasiHttp {
    pub fn new(base_url: &str) -> Result<WasiHttp, SyncError> {
        Ok(WasiHttp {
            base: BaseUrl::parse(base_url)?,
        })
    }
}

/// Sends one request and reads the answer. Any status is an answer; an
/// `Err` means there was none (denied by the host, network down, or a body
/// too large with `TooLarge::Fail`).
impl Transport for WasiHttp {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        let out = self.build(req)?;
        let body = out
            .body()
            .map_err(|_| self.failure(req, "no request body"))?;
        let future = outgoing_handler::handle(out, None).map_err(|e| self.error_code(req, &e))?;

        // A denied request shows up first as a failed write: note it, and
        // read the response future for the real reason. An empty body (a
        // GET) is not written at all, only finished.
        let mut write_failed = false;
        if !req.body.is_empty() {
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
    fn failure(&self, req: &Request, what: &str) -> SyncError {
        SyncError::Transport {
            detail: format!("{} {}{}: {what}", req.method, self.base.origin(), req.path),
        }
    }

    fn error_code(&self, req: &Request, code: &ErrorCode) -> SyncError {
        match code {
            ErrorCode::HttpRequestDenied => denied(&self.base.origin(), &req.path),
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
        // Without a length hyper would send the body chunked.
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
        // The body and the response are resources: give them back before
        // the result (or its error) is handed on.
        drop(IncomingBody::finish(incoming));
        drop(resp);
        let body = body?;
        if body.len() > req.max_body && req.too_large == TooLarge::Fail {
            return Err(self.failure(req, "the response body is too large"));
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Reads until the end or until more than `max_body` bytes came; the
    /// rest is never read.
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
                .min(READ_CHUNK);
            match stream.blocking_read(want as u64) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    let detail = match http_error_code(&e) {
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
pub fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::InternalError(Some(m)) => format!("internal error: {m}"),
        ErrorCode::HttpResponseBodySize(Some(limit)) => {
            format!("the answer is larger than the host's limit of {limit} bytes")
        }
        // One allocation for all the fixed names keeps this small in every
        // component (a `String` built per arm cost about 1 KB).
        other => match fixed_name(other) {
            Some(name) => name.to_string(),
            None => format!("{other:?}"),
        },
    }
}

fn fixed_name(code: &ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::DnsTimeout => "DNS timeout",
        ErrorCode::DnsError(_) => "DNS error",
        ErrorCode::DestinationNotFound => "destination not found",
        ErrorCode::DestinationUnavailable => "destination unavailable",
        ErrorCode::DestinationIpProhibited => "destination IP prohibited",
        ErrorCode::DestinationIpUnroutable => "destination IP unroutable",
        ErrorCode::ConnectionRefused => "connection refused",
        ErrorCode::ConnectionTerminated => "connection terminated",
        ErrorCode::ConnectionTimeout => "connection timeout",
        ErrorCode::ConnectionReadTimeout => "read timeout",
        ErrorCode::ConnectionWriteTimeout => "write timeout",
        ErrorCode::TlsProtocolError => "TLS protocol error",
        ErrorCode::TlsCertificateError => "TLS certificate error",
        ErrorCode::TlsAlertReceived(_) => "TLS alert received",
        ErrorCode::HttpRequestDenied => "the host denied the request",
        ErrorCode::HttpResponseTimeout => "response timeout",
        ErrorCode::HttpProtocolError => "the connection broke off or the answer is not valid HTTP",
        ErrorCode::HttpResponseIncomplete => "the answer was cut off before its end",
        ErrorCode::HttpResponseBodySize(_) => "the answer is larger than the host's limit",
        _ => return None,
    })
}
