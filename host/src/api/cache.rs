//! A cache of the API's data answers: a dashboard and Home Assistant ask
//! the same few questions again and again, and the store's data only
//! changes when a sync commits.
//!
//! # What it owns
//! - Which answers are cached: `200` answers of the routes that read the
//!   store only ([`CACHED`]), whose size is known and at most
//!   [`MAX_ANSWER`].
//! - The key: the path and query, and the Paris day (default ranges and
//!   "today" follow the date).
//! - The validity: the store's `PRAGMA data_version`, read on one of the
//!   API's connections, always the same (`pool.rs`), before the answer is
//!   computed. SQLite changes it whenever
//!   another connection commits (a sync, the registry), so an answer is
//!   never served after the data it was made from changed: one computed
//!   while a sync committed is filed under the older version and never
//!   matches again.
//! - The bounds: [`MAX_ENTRIES`] answers and [`MAX_BYTES`] in all, the
//!   oldest dropped first.
//!
//! # What it must never do
//! - Cache what the service knows rather than the store (status, summary,
//!   guests, metrics, health), an error, or an export (large, streamed).
//! - Answer a request the authentication layer did not let through: it sits
//!   inside that layer.

use super::{STORE_WAIT, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use hellowatt_snapshot::Date;
use http_body::Body as _;
use std::collections::HashMap;
use std::sync::Mutex;

/// The routes whose answers depend on the store's data and the day only.
const CACHED: [&str; 8] = [
    "/api/v1/homes",
    "/api/v1/meters",
    "/api/v1/readings",
    "/api/v1/curve",
    "/api/v1/tempo",
    "/api/v1/tempo/outlook",
    "/api/v1/temperatures",
    "/api/v1/contracts",
];

/// Largest answer kept.
pub const MAX_ANSWER: u64 = 4 << 20;
pub const MAX_ENTRIES: usize = 128;
pub const MAX_BYTES: usize = 32 << 20;

struct Entry {
    version: i64,
    day: Date,
    headers: HeaderMap,
    body: Bytes,
    /// For dropping the oldest first.
    stamp: u64,
}

/// The answers kept, by path and query.
#[derive(Default)]
pub struct AnswerCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

impl AnswerCache {
    fn get(&self, key: &str, version: i64, day: Date) -> Option<(HeaderMap, Bytes)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let clock = inner.clock;
        let e = inner.entries.get_mut(key)?;
        if e.version != version || e.day != day {
            return None;
        }
        e.stamp = clock;
        Some((e.headers.clone(), e.body.clone()))
    }

    fn put(&self, key: String, version: i64, day: Date, headers: HeaderMap, body: Bytes) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let stamp = inner.clock;
        let size = body.len();
        if let Some(old) = inner.entries.insert(
            key,
            Entry {
                version,
                day,
                headers,
                body,
                stamp,
            },
        ) {
            inner.bytes -= old.body.len();
        }
        inner.bytes += size;
        while inner.entries.len() > MAX_ENTRIES || inner.bytes > MAX_BYTES {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.stamp)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.body.len();
            }
        }
    }

    /// Answers kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }
}

/// The middleware: answers from the cache when it can, fills it otherwise.
pub(crate) async fn layer(State(ctx): State<Shared>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET || !CACHED.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let key = req.uri().to_string();
    let day = Date::paris_day_of(ctx.api.service.now_utc());
    let Ok(version) = ctx.api.store.data_version(STORE_WAIT).await else {
        return next.run(req).await;
    };
    if let Some((headers, body)) = ctx.cache.get(&key, version, day) {
        let mut res = Response::new(Body::from(body));
        *res.headers_mut() = headers;
        res.headers_mut()
            .insert("x-cache", HeaderValue::from_static("hit"));
        return res;
    }
    let res = next.run(req).await;
    let size = res.body().size_hint().exact();
    if res.status() != StatusCode::OK || size.is_none_or(|n| n > MAX_ANSWER) {
        return res;
    }
    let (parts, body) = res.into_parts();
    // The size is known and bounded: this reads a buffer already made.
    match axum::body::to_bytes(body, MAX_ANSWER as usize).await {
        Ok(bytes) => {
            ctx.cache
                .put(key, version, day, parts.headers.clone(), bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            super::ApiError::internal(anyhow::anyhow!("reading an answer: {e}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_version_and_day_and_the_oldest_go_first() {
        let c = AnswerCache::default();
        let d = Date::parse("2026-11-28").unwrap();
        c.put(
            "/a".into(),
            1,
            d,
            HeaderMap::new(),
            Bytes::from_static(b"x"),
        );
        assert!(c.get("/a", 1, d).is_some());
        assert!(c.get("/a", 2, d).is_none(), "the data changed");
        assert!(c.get("/a", 1, d.succ()).is_none(), "the day changed");
        for i in 0..MAX_ENTRIES + 5 {
            c.put(
                format!("/{i}"),
                1,
                d,
                HeaderMap::new(),
                Bytes::from_static(b"y"),
            );
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        assert!(c.get("/a", 1, d).is_none(), "the oldest went first");
        let big = Bytes::from(vec![0u8; MAX_BYTES / 2 + 1]);
        c.put("/big1".into(), 1, d, HeaderMap::new(), big.clone());
        c.put("/big2".into(), 1, d, HeaderMap::new(), big);
        assert!(c.get("/big1", 1, d).is_none(), "over the byte bound");
        assert!(c.get("/big2", 1, d).is_some());
    }
}
