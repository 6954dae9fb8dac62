//! Fault injection for the simulated site: the ways a real site fails, on
//! demand, so that the tests can show what the guest, the host and the
//! scheduler make of each.
//!
//! # What it owns
//! The fault modes ([`Fault`]), where one applies ([`FaultScope`]: API
//! calls under `/api/`, never the log-in pages, unless a fault is about the
//! session), and how each is produced: an answer made here in place of the
//! site's (error statuses, maintenance pages, broken or huge JSON, a
//! redirect loop, a session that never sticks), the site's own answer
//! altered (cut short, dripped slowly, cut off mid-way by closing the
//! connection) or its measure payload rewritten (nulls, duplicated days,
//! days out of order, a day outside the asked window). A server gets one
//! with [`super::SimServer::set_fault`].
//!
//! # What it must never do
//! - Be active unless a test (or a person running `hellowatt simulate`)
//!   sets a fault: the default is none.
//! - Log a body, a cookie or a password: it only names the fault in the
//!   `served()` line.
//! - Touch the site's state (sessions, accounts, the demo data): a fault is
//!   a view of an answer, never a change of what the site holds.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hellowatt_snapshot::{Date, parse_timestamp};
use http_body::Frame;
use serde_json::{Value, json};

use super::tokens::http_date;
use super::wire::{Reply, unauthenticated};

/// How a `Retry-After` header is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 120`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>` that many seconds from now (the answer's
    /// `Date` header is the reference).
    DateIn(u64),
}

/// One way for the site to fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An error status with the page a real server sends with it: 500 is
    /// Django's production page, 502 and 503 nginx's; `retry_after` adds the
    /// header.
    Status {
        status: u16,
        retry_after: Option<RetryAfter>,
    },
    /// An HTML maintenance page where JSON is expected, with that status
    /// (200 from a CDN's static page, 503 from a proper one).
    Maintenance {
        status: u16,
        retry_after: Option<RetryAfter>,
    },
    /// 200, `application/json`, a body that is not JSON (a Python repr).
    InvalidJson,
    /// 200 with the site's JSON cut in half (a complete HTTP answer whose
    /// `Content-Length` is that of the half).
    TruncatedJson,
    /// 200 JSON of this many bytes (padding in a string).
    Oversized { bytes: usize },
    /// The site's answer, `chunk` bytes at a time, one chunk every `every`
    /// (the first at once).
    Trickle { chunk: usize, every: Duration },
    /// The site's answer: its first half, then the connection is closed
    /// (a chunked body that never ends).
    ConnectionReset,
    /// 302 to the very URL asked.
    RedirectLoop,
    /// Every API call answers DRF's 401 or 403, however often the client
    /// logs in (the log-in itself succeeds).
    SessionNeverSticks { status: u16 },
    /// Measure payloads: every third day (every third curve point) has each
    /// of its numbers null.
    NullValues,
    /// Daily measure payloads: every day given twice, the second copy with
    /// other values.
    DuplicatedDays,
    /// Measure payloads: the values in reverse order.
    DaysOutOfOrder,
    /// Daily measure payloads: one more day before and one after the asked
    /// window.
    DayOutsideWindow,
    /// Measure payloads: no value of a day after this one, as when the
    /// site has not published them yet (so that days go missing while an
    /// account is paused, and come back after).
    NotPublishedAfter(Date),
    /// Measure payloads: every number of that day's values (its daily
    /// value and each of its curve points) half as much again, as when the
    /// site publishes a correction of a day it served before.
    CorrectedDay(Date),
    /// A site change: measure payloads carry their list under another key
    /// (`values` renamed `data`, say), everything else as before.
    RenamedKey { from: String, to: String },
}

impl Fault {
    /// A short name for `served()` lines.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Maintenance { .. } => "maintenance page",
            Fault::InvalidJson => "invalid JSON",
            Fault::TruncatedJson => "truncated JSON",
            Fault::Oversized { .. } => "oversized body",
            Fault::Trickle { .. } => "trickle",
            Fault::ConnectionReset => "connection reset",
            Fault::RedirectLoop => "redirect loop",
            Fault::SessionNeverSticks { .. } => "session never sticks",
            Fault::NullValues => "null values",
            Fault::DuplicatedDays => "duplicated days",
            Fault::DaysOutOfOrder => "days out of order",
            Fault::DayOutsideWindow => "day outside the window",
            Fault::NotPublishedAfter(_) => "not published yet",
            Fault::CorrectedDay(_) => "corrected day",
            Fault::RenamedKey { .. } => "renamed key",
        }
    }
}

/// Which requests a fault applies to. Never the log-in pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultScope {
    /// Every call under `/api/`.
    Api,
    /// Calls under `/api/` whose path contains this text, e.g.
    /// `sge_measures/conso_daily`.
    PathContaining(String),
    /// Calls under `/api/` whose path contains any of these texts, e.g.
    /// `sge_measures/courbe` and `temperature_measures`: several endpoints
    /// failing at once while the others answer. Empty: no call.
    AnyOf(Vec<String>),
}

impl FaultScope {
    pub(crate) fn applies(&self, path: &str) -> bool {
        path.starts_with("/api/")
            && match self {
                FaultScope::Api => true,
                FaultScope::PathContaining(p) => path.contains(p.as_str()),
                FaultScope::AnyOf(parts) => parts.iter().any(|p| path.contains(p.as_str())),
            }
    }
}

fn with_retry_after(reply: Reply, retry_after: Option<RetryAfter>) -> Reply {
    match retry_after {
        None => reply,
        Some(RetryAfter::Seconds(s)) => reply.header("Retry-After", s.to_string()),
        Some(RetryAfter::DateIn(s)) => {
            let now = crate::now_utc();
            let until = now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX / 2));
            // The reference the client reads the date against, written here
            // (not left to the server) so both come from the same second.
            reply
                .header("Date", http_date(now))
                .header("Retry-After", http_date(until))
        }
    }
}

fn error_page(status: u16) -> Reply {
    let body = match status {
        500 => "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n\
                </head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
            .to_string(),
        502 => "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center>\
                <h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n\
                </html>\r\n"
            .to_string(),
        503 => "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n\
                <body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr>\
                <center>nginx</center>\r\n</body>\r\n</html>\r\n"
            .to_string(),
        other => format!("<html><head><title>Error {other}</title></head><body></body></html>"),
    };
    Reply::html(status, body)
}

const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n  <meta \
    charset=\"utf-8\">\n  <title>helloWatt - Maintenance en cours</title>\n</head>\n<body>\n  \
    <h1>Le site est en maintenance</h1>\n  <p>Nous revenons très vite. Merci de votre \
    patience.</p>\n</body>\n</html>\n";

/// A 200 with these bytes as its JSON.
fn json_bytes(body: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body,
    }
}

/// The answer a fault gives in place of the site's, if it is that kind of
/// fault. `target` is the path and query asked.
pub(crate) fn intercept(fault: &Fault, target: &str) -> Option<Response> {
    let reply = match fault {
        Fault::Status {
            status,
            retry_after,
        } => with_retry_after(error_page(*status), *retry_after),
        Fault::Maintenance {
            status,
            retry_after,
        } => with_retry_after(
            Reply::html(*status, MAINTENANCE_PAGE.to_string()),
            *retry_after,
        ),
        Fault::InvalidJson => json_bytes(b"{'values': [], 'isFetchOngoing': False}".to_vec()),
        Fault::Oversized { bytes } => {
            let head = br#"{"values": [], "isFetchOngoing": false, "padding": ""#;
            let tail = br#""}"#;
            let pad = bytes.saturating_sub(head.len() + tail.len());
            let mut body = Vec::with_capacity(head.len() + pad + tail.len());
            body.extend_from_slice(head);
            body.resize(head.len() + pad, b'x');
            body.extend_from_slice(tail);
            json_bytes(body)
        }
        Fault::RedirectLoop => Reply::redirect(302, target),
        Fault::SessionNeverSticks { status } => unauthenticated(*status),
        _ => return None,
    };
    Some(reply.into_response())
}

/// The site's answer altered by a fault that works on it (`path`: the path
/// asked). Other faults, and answers that are not a 200, pass unchanged.
pub(crate) async fn alter(fault: &Fault, path: &str, response: Response) -> Response {
    if response.status() != http::StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(
                "simulated site: fault {}: body unreadable: {e}",
                fault.name()
            );
            return Response::from_parts(parts, Body::empty());
        }
    };
    // The length changes with most faults; hyper computes it again.
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let new_body = match fault {
        Fault::TruncatedJson => Body::from(body.slice(..body.len() / 2)),
        Fault::Trickle { chunk, every } => Body::new(Drip {
            data: body,
            pos: 0,
            chunk: (*chunk).max(1),
            every: *every,
            timer: None,
            end: End::Finish,
        }),
        Fault::ConnectionReset => {
            let half = body.len() / 2;
            // The head and the first half go out, then (a moment later, so
            // they are on the wire) the connection closes.
            Body::new(Drip {
                data: body.slice(..half),
                pos: 0,
                chunk: half.max(1),
                every: Duration::from_millis(50),
                timer: None,
                end: End::Reset,
            })
        }
        Fault::NullValues
        | Fault::DuplicatedDays
        | Fault::DaysOutOfOrder
        | Fault::DayOutsideWindow
        | Fault::NotPublishedAfter(_)
        | Fault::CorrectedDay(_)
        | Fault::RenamedKey { .. }
            if path.contains("_measures/") =>
        {
            match serde_json::from_slice::<Value>(&body) {
                Ok(mut v) => {
                    rewrite(fault, path, &mut v);
                    Body::from(v.to_string())
                }
                Err(_) => Body::from(body),
            }
        }
        _ => Body::from(body),
    };
    Response::from_parts(parts, new_body)
}

/// Rewrites a measure payload's `values` for a data fault.
fn rewrite(fault: &Fault, path: &str, payload: &mut Value) {
    if let (Fault::RenamedKey { from, to }, Some(o)) = (fault, payload.as_object_mut()) {
        if let Some(v) = o.remove(from) {
            o.insert(to.clone(), v);
        }
        return;
    }
    let daily = path.ends_with("/conso_daily");
    let Some(values) = payload.get_mut("values").and_then(Value::as_array_mut) else {
        return;
    };
    match fault {
        Fault::NullValues => {
            for v in values.iter_mut().step_by(3) {
                null_numbers(v);
            }
        }
        Fault::DaysOutOfOrder => values.reverse(),
        Fault::DuplicatedDays if daily => {
            let mut out = Vec::with_capacity(values.len() * 2);
            for v in values.drain(..) {
                let mut other = v.clone();
                double_numbers(&mut other);
                out.push(v);
                out.push(other);
            }
            *values = out;
        }
        Fault::DayOutsideWindow if daily => {
            let shifted = |v: &Value, days: i64| {
                let day = v
                    .get("datetime")
                    .and_then(Value::as_str)
                    .and_then(|s| parse_timestamp(s).ok())
                    .map(Date::paris_day_of)?;
                let mut copy = v.clone();
                copy["datetime"] = json!(day.add_days(days).paris_midnight_iso());
                Some(copy)
            };
            let before = values.first().and_then(|v| shifted(v, -1));
            let after = values.last().and_then(|v| shifted(v, 1));
            if let Some(b) = before {
                values.insert(0, b);
            }
            values.extend(after);
        }
        Fault::NotPublishedAfter(last) => values.retain(|v| day_of(v).is_none_or(|d| d <= *last)),
        Fault::CorrectedDay(day) => values
            .iter_mut()
            .filter(|v| day_of(v) == Some(*day))
            .for_each(|v| scale_numbers(v, 1.5)),
        _ => {}
    }
}

/// The Paris day of a measure value's `datetime`.
fn day_of(v: &Value) -> Option<Date> {
    v.get("datetime")
        .and_then(Value::as_str)
        .and_then(|s| parse_timestamp(s).ok())
        .map(Date::paris_day_of)
}

/// Every number of a value (at any depth) but its interval, times `factor`.
fn scale_numbers(v: &mut Value, factor: f64) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                *v = json!(x * factor);
            }
        }
        Value::Object(o) => o
            .iter_mut()
            .filter(|(k, _)| k.as_str() != "measureTimeGap")
            .for_each(|(_, x)| scale_numbers(x, factor)),
        Value::Array(a) => a.iter_mut().for_each(|x| scale_numbers(x, factor)),
        _ => {}
    }
}

/// Every number of a value (at any depth) becomes null.
fn null_numbers(v: &mut Value) {
    match v {
        Value::Number(_) => *v = Value::Null,
        Value::Object(o) => o
            .iter_mut()
            .filter(|(k, _)| k.as_str() != "measureTimeGap")
            .for_each(|(_, x)| null_numbers(x)),
        Value::Array(a) => a.iter_mut().for_each(null_numbers),
        _ => {}
    }
}

/// Every number of a value (at any depth) doubled, plus one.
fn double_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                *v = json!(x * 2.0 + 1.0);
            }
        }
        Value::Object(o) => o.values_mut().for_each(double_numbers),
        Value::Array(a) => a.iter_mut().for_each(double_numbers),
        _ => {}
    }
}

/// How a [`Drip`] body ends.
enum End {
    Finish,
    /// An error: hyper closes the connection without ending the chunked
    /// body, as a reset connection looks to the client.
    Reset,
}

/// A body sent `chunk` bytes at a time, `every` apart.
struct Drip {
    data: Bytes,
    pos: usize,
    chunk: usize,
    every: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    end: End,
}

impl http_body::Body for Drip {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(timer) = this.timer.as_mut() {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.timer = None;
        }
        if this.pos >= this.data.len() {
            return Poll::Ready(match this.end {
                End::Finish => None,
                End::Reset => Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection reset",
                ))),
            });
        }
        let end = (this.pos + this.chunk).min(this.data.len());
        let frame = this.data.slice(this.pos..end);
        this.pos = end;
        if !this.every.is_zero() {
            this.timer = Some(Box::pin(tokio::time::sleep(this.every)));
        }
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_never_cover_the_log_in() {
        assert!(FaultScope::Api.applies("/api/homes"));
        assert!(!FaultScope::Api.applies("/accounts/login/"));
        let gas = FaultScope::PathContaining("adict_measures".into());
        assert!(gas.applies("/api/homes/1/adict_measures/conso_daily"));
        assert!(!gas.applies("/api/homes"));
        let two = FaultScope::AnyOf(vec![
            "sge_measures/courbe".into(),
            "temperature_measures".into(),
        ]);
        assert!(two.applies("/api/homes/1/sge_measures/courbe"));
        assert!(two.applies("/api/homes/1/temperature_measures/yearly"));
        assert!(!two.applies("/api/homes/1/sge_measures/conso_daily"));
        assert!(!two.applies("/accounts/login/temperature_measures"));
        assert!(!FaultScope::AnyOf(Vec::new()).applies("/api/homes"));
    }

    #[test]
    fn data_faults_rewrite_daily_values() {
        let day = |d: &str, kwh: f64| json!({"datetime": d, "kwhDetailed": {"HP": kwh}});
        let payload = json!({"values": [
            day("2026-10-01T00:00:00+02:00", 1.0),
            day("2026-10-02T00:00:00+02:00", 2.0),
        ]});
        let path = "/api/homes/1/sge_measures/conso_daily";

        let mut v = payload.clone();
        rewrite(&Fault::DayOutsideWindow, path, &mut v);
        let dates: Vec<&str> = v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["datetime"].as_str().unwrap())
            .collect();
        assert_eq!(
            dates,
            [
                "2026-09-30T00:00:00+02:00",
                "2026-10-01T00:00:00+02:00",
                "2026-10-02T00:00:00+02:00",
                "2026-10-03T00:00:00+02:00"
            ]
        );

        let mut v = payload.clone();
        rewrite(&Fault::DuplicatedDays, path, &mut v);
        assert_eq!(v["values"].as_array().unwrap().len(), 4);
        assert_eq!(v["values"][1]["kwhDetailed"]["HP"], json!(3.0));

        let mut v = payload.clone();
        rewrite(&Fault::NullValues, path, &mut v);
        assert_eq!(v["values"][0]["kwhDetailed"]["HP"], Value::Null);
        assert_eq!(v["values"][1]["kwhDetailed"]["HP"], json!(2.0));

        let mut v = payload;
        rewrite(&Fault::DaysOutOfOrder, path, &mut v);
        assert_eq!(v["values"][0]["kwhDetailed"]["HP"], json!(2.0));
    }

    #[test]
    fn a_renamed_key_and_days_not_published_yet() {
        let day = |d: &str| json!({"datetime": d, "kwhDetailed": {"HP": 1.0}});
        let payload = json!({"values": [
            day("2026-10-01T00:00:00+02:00"),
            day("2026-10-02T00:00:00+02:00"),
        ], "isFetchOngoing": false});
        let path = "/api/homes/1/sge_measures/conso_daily";

        let mut v = payload.clone();
        let renamed = Fault::RenamedKey {
            from: "values".into(),
            to: "data".into(),
        };
        rewrite(&renamed, path, &mut v);
        assert!(v.get("values").is_none());
        assert_eq!(v["data"], payload["values"]);
        assert_eq!(v["isFetchOngoing"], false);

        let mut v = payload.clone();
        let first = Date::parse("2026-10-01").unwrap();
        rewrite(&Fault::NotPublishedAfter(first), path, &mut v);
        assert_eq!(v["values"].as_array().unwrap().len(), 1);
        assert_eq!(v["values"][0]["datetime"], "2026-10-01T00:00:00+02:00");

        let mut v = payload.clone();
        rewrite(&Fault::CorrectedDay(first), path, &mut v);
        let values = v["values"].as_array().unwrap();
        let before = payload["values"].as_array().unwrap();
        assert_ne!(values[0], before[0], "the day is corrected");
        assert_eq!(values[1..], before[1..], "the other days are not");
    }
}
