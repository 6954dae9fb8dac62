//! One local HTTP server of the simulated services (the helloWatt site,
//! Tempo, EcoWatt): a listener on a local address, an axum app served on it
//! until stopped.
//!
//! It owns the listening socket, the serving task and its stop; it must
//! never know what the app answers.

use anyhow::Context as _;
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A bound listener whose origin is known before the app is built (the
/// scenario site writes its own address into its pages).
pub(crate) struct Listening {
    listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
    pub url: String,
}

/// Binds `listen` (port 0: any free port) for the service named `what`.
pub(crate) async fn listen(listen: SocketAddr, what: &str) -> anyhow::Result<Listening> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("{what}: cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("{what}: no local address"))?;
    Ok(Listening {
        listener,
        addr,
        url: url_of(addr),
    })
}

/// `http://127.0.0.1:PORT` for a listener on any address.
fn url_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => format!("http://127.0.0.1:{}", a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("http://[::1]:{}", a.port()),
        SocketAddr::V4(a) => format!("http://{a}"),
        SocketAddr::V6(a) => format!("http://[{}]:{}", a.ip(), a.port()),
    }
}

impl Listening {
    /// Serves `app` until [`Served::shutdown`] or the drop of the result.
    pub(crate) fn serve(self, app: Router, what: &'static str) -> Served {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = server.await {
                tracing::warn!("{what} stopped: {e}");
            }
        });
        tracing::info!("{what} listening on {}", self.url);
        Served {
            addr: self.addr,
            url: self.url,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A running server. Dropping it stops it too (without waiting).
pub(crate) struct Served {
    pub addr: SocketAddr,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Served {
    /// Stops the server and waits for it (at most 5 s, then aborts it).
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What a small simulated service shares with its handler: its state, and
/// a count and a list of the requests it served (`GET /path -> 200`:
/// method, path and status only, never a header or a body).
pub(crate) struct Recorded<S> {
    state: std::sync::Mutex<S>,
    requests: std::sync::atomic::AtomicU64,
    served: std::sync::Mutex<Vec<String>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S> Recorded<S> {
    pub(crate) fn new(state: S) -> Recorded<S> {
        Recorded {
            state: std::sync::Mutex::new(state),
            requests: std::sync::atomic::AtomicU64::new(0),
            served: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, S> {
        lock(&self.state)
    }

    /// Counts a request as it arrives.
    pub(crate) fn arrived(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Records an answered request: `method path -> status`.
    pub(crate) fn answered(&self, what: &str, method: &http::Method, path: &str, status: u16) {
        let line = format!("{method} {path} -> {status}");
        tracing::debug!("{what}: {line}");
        lock(&self.served).push(line);
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn served(&self) -> Vec<String> {
        lock(&self.served).clone()
    }
}
