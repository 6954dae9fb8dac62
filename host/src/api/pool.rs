//! The API's connections to the database: a few of them, each its own
//! SQLite connection, lent one per request, so that questions that miss the
//! answer cache run side by side (WAL: readers wait neither for each other
//! nor for a sync's writer) instead of queueing behind one mutex.
//!
//! # What it owns
//! - The connections, and the wait for a free one ([`StorePool::run`]: at
//!   most the caller's `wait`, then the request is answered 503).
//! - The data version the answer cache keys on ([`StorePool::data_version`]):
//!   SQLite's `PRAGMA data_version` is a count per connection (it moves when
//!   *another* connection commits), so it is always read on the same one.
//!
//! # What it must never do
//! - Hold a connection across an `.await`: each is lent to one blocking
//!   task and comes back when that task ends.
//! - Write, beyond what a handler asks (the refresh request): it opens the
//!   service's database, it does not own its schema.

use super::ApiError;
use crate::store::Store;
use anyhow::{Context as _, Result};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct StorePool {
    /// Connections not lent now. The semaphore has as many permits free as
    /// this holds stores, so a permit always finds one.
    idle: Arc<Mutex<Vec<Store>>>,
    permits: Arc<Semaphore>,
    /// The connection `data_version` is read on; `None` for a pool of one
    /// store, which reads it on that store.
    version: Option<Mutex<Store>>,
}

/// A connection out of the pool with its permit. Dropped on the blocking
/// thread that used it, it gives both back, so that a request dropped
/// while its query runs (the client went away) loses nothing; dropped by
/// a panic, it gives neither (the connection may be mid-statement) and the
/// pool is one smaller, permits and connections still equal.
struct Lent {
    store: Option<Store>,
    permit: Option<OwnedSemaphorePermit>,
    idle: Arc<Mutex<Vec<Store>>>,
}

impl Drop for Lent {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(permit) = self.permit.take() {
                permit.forget();
            }
            return;
        }
        if let Some(store) = self.store.take() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(store);
        }
        // The permit goes back after the store: a permit finds a store.
        self.permit.take();
    }
}

impl StorePool {
    /// `readers` connections to the database at `path`, and one more for
    /// the data version.
    pub fn open(path: &Path, readers: usize) -> Result<StorePool> {
        let readers = readers.max(1);
        let idle = (0..readers)
            .map(|_| Store::open(path))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("opening {readers} API connection(s)"))?;
        Ok(StorePool {
            idle: Arc::new(Mutex::new(idle)),
            permits: Arc::new(Semaphore::new(readers)),
            version: Some(Mutex::new(
                Store::open(path).context("opening the API's version connection")?,
            )),
        })
    }

    /// A pool of one given store (tests, tools): requests take turns on it.
    pub fn single(store: Store) -> StorePool {
        StorePool {
            idle: Arc::new(Mutex::new(vec![store])),
            permits: Arc::new(Semaphore::new(1)),
            version: None,
        }
    }

    /// How many readers a machine gets: two per core, between 2 and 8. A
    /// question is mostly CPU (SQLite's pages are cached), so more than the
    /// cores only helps while one waits for the disk.
    pub fn default_readers() -> usize {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get() * 2)
            .clamp(2, 8)
    }

    /// Runs `f` on a free connection, on the blocking pool, after waiting at
    /// most `wait` for one.
    pub(crate) async fn run<T, F>(&self, wait: Duration, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let permit = tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| {
                ApiError::unavailable(
                    "the database is busy (a sync is writing to it): retry in a minute",
                )
            })?
            .map_err(|_| ApiError::unavailable("the service is stopping"))?;
        let Some(store) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "no API connection free although a permit was"
            )));
        };
        let mut lent = Lent {
            store: Some(store),
            permit: Some(permit),
            idle: Arc::clone(&self.idle),
        };
        tokio::task::spawn_blocking(move || {
            let store = lent.store.as_mut().expect("a lent connection");
            f(store)
        })
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::internal(anyhow::anyhow!(
                "a database task failed: {e}"
            )))
        })
    }

    /// The data version the answer cache keys on (see the module doc).
    pub(crate) async fn data_version(&self, wait: Duration) -> Result<i64, ApiError> {
        match &self.version {
            Some(conn) => Ok(conn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .data_version()?),
            None => self.run(wait, |s| Ok(s.data_version()?)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Whether `cond` held within 10 s (polled): a blocked test fails
    /// instead of hanging the runtime's shutdown on its blocking threads.
    fn until(cond: impl Fn() -> bool) -> bool {
        let start = std::time::Instant::now();
        while !cond() {
            if start.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    type Asks = Vec<tokio::task::JoinHandle<Result<bool, ApiError>>>;

    /// Three questions at once, each holding its connection until all three
    /// have one (or 10 s): with fewer connections they would take turns and
    /// never be inside together. Each answers whether they were.
    fn three_together(pool: &Arc<StorePool>, wait: Duration) -> Asks {
        let inside = Arc::new(AtomicUsize::new(0));
        (0..3)
            .map(|_| {
                let (pool, inside) = (Arc::clone(pool), Arc::clone(&inside));
                tokio::spawn(async move {
                    pool.run(wait, move |_| {
                        inside.fetch_add(1, Ordering::SeqCst);
                        Ok(until(|| inside.load(Ordering::SeqCst) >= 3))
                    })
                    .await
                })
            })
            .collect()
    }

    /// Three questions that hold their connections until `release`, once
    /// all three are inside.
    fn three_held(pool: &Arc<StorePool>, wait: Duration, release: &Arc<AtomicBool>) -> Asks {
        let inside = Arc::new(AtomicUsize::new(0));
        let held = (0..3)
            .map(|_| {
                let (pool, inside, release) =
                    (Arc::clone(pool), Arc::clone(&inside), Arc::clone(release));
                tokio::spawn(async move {
                    pool.run(wait, move |_| {
                        inside.fetch_add(1, Ordering::SeqCst);
                        Ok(until(|| release.load(Ordering::SeqCst)))
                    })
                    .await
                })
            })
            .collect();
        assert!(until(|| inside.load(Ordering::SeqCst) == 3));
        held
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_answer_side_by_side_and_see_other_connections_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pool.db");
        let mut writer = Store::open(&db).unwrap();
        let pool = Arc::new(StorePool::open(&db, 3).unwrap());
        let wait = Duration::from_secs(5);

        // Three questions at once, all inside together.
        for a in three_together(&pool, wait) {
            assert!(
                a.await.unwrap().unwrap(),
                "the three were not inside at once"
            );
        }

        // A fourth while three are lent waits, then is refused in time.
        let release = Arc::new(AtomicBool::new(false));
        let held = three_held(&pool, wait, &release);
        let refused = pool.run(Duration::from_millis(200), |_| Ok(())).await;
        release.store(true, Ordering::SeqCst);
        let refused = refused.unwrap_err();
        assert_eq!(refused.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        for h in held {
            assert!(h.await.unwrap().unwrap());
        }

        // The version moves when another connection commits, and only then.
        let v1 = pool.data_version(wait).await.unwrap();
        assert_eq!(pool.data_version(wait).await.unwrap(), v1);
        writer
            .file_request("a", crate::store::Request::Refresh, 0)
            .unwrap();
        assert_ne!(pool.data_version(wait).await.unwrap(), v1);

        // A request dropped while its query runs (the client went away)
        // gives its connection back when the query ends: all three are
        // inside together again afterwards.
        let release = Arc::new(AtomicBool::new(false));
        let dropped = three_held(&pool, wait, &release);
        for d in &dropped {
            d.abort();
        }
        for d in dropped {
            assert!(d.await.unwrap_err().is_cancelled());
        }
        release.store(true, Ordering::SeqCst);
        for a in three_together(&pool, wait) {
            assert!(
                a.await.unwrap().unwrap(),
                "a dropped request lost its connection"
            );
        }

        // A task that panics loses its connection but not the pool.
        let lost = pool
            .run(wait, |_| -> Result<(), ApiError> { panic!("a bug") })
            .await;
        assert!(lost.is_err());
        for _ in 0..5 {
            assert!(pool.run(wait, |s| Ok(s.schema_version()?)).await.is_ok());
        }
    }
}
