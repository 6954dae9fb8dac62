//! What the integration tests share: one engine and one compiled bundled
//! guest per test binary, configurations pointing at the simulated site,
//! and a store filled through the real sync.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use hellowatt::config::{Account, Config, DEFAULT_KINDS, Secret};
use hellowatt::sandbox::policy::Origin;
use hellowatt::sandbox::runtime::{Guest, Limits, Runtime};
use hellowatt::store::Store;
use hellowatt::sync;
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::{DailyReading, DataKind, Date};
use std::path::Path;
use tokio::sync::OnceCell;

// Shared with the benches (`host/benches/common`), which include the file.
#[path = "nonce.rs"]
pub mod nonce;
pub mod tools;

static RUNTIME: OnceCell<(Runtime, Guest)> = OnceCell::const_new();

/// The hostile test guest (`tests/guests/hostile`), under the default
/// limits.
pub async fn hostile_guest(runtime: &Runtime) -> Guest {
    let bytes = std::fs::read(hellowatt::HOSTILE_GUEST_PATH)
        .expect("the build script built the hostile guest");
    runtime
        .load(bytes, &Limits::default())
        .await
        .expect("the hostile guest loads")
}

/// Everything `tracing` writes, at every level, while the guards of
/// [`Logs::capture`] live (this thread only: a guest runs on the test's
/// thread in a `current_thread` test).
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Starts capturing; keep the guards for as long as lines are wanted.
    pub fn capture() -> (Logs, (tracing::subscriber::DefaultGuard, tracing::Dispatch)) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // With one dispatcher registered, tracing-core asks the thread that
        // meets a callsite first (another test's, with no subscriber) whether
        // it is of interest, and caches its "never". A second dispatcher
        // makes it ask every registered one.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        (logs, (guard, second))
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// One engine and one compiled guest for the whole test binary.
pub async fn runtime() -> &'static (Runtime, Guest) {
    RUNTIME
        .get_or_init(|| async {
            let runtime = Runtime::new().expect("runtime");
            let guest = runtime
                .load(hellowatt::BUNDLED_GUEST.to_vec(), &Limits::default())
                .await
                .expect("the bundled guest loads");
            (runtime, guest)
        })
        .await
}

/// One account named `test` against `url`, no pacing, nothing served.
pub fn config(url: &str, login: &str, password: &str, kinds: Vec<DataKind>, db: &Path) -> Config {
    let account = Account {
        name: "test".into(),
        email: Some(login.into()),
        password: Some(Secret::new(password)),
        kinds,
    };
    Config::for_test_site(Origin::parse(url).unwrap(), account, db)
}

/// The demo account of the simulated site at `url`.
pub fn demo_config(url: &str, db: &Path) -> Config {
    config(
        url,
        sim::DEMO_LOGIN,
        sim::DEMO_PASSWORD,
        DEFAULT_KINDS.to_vec(),
        db,
    )
}

/// A store at `db` holding the demo household from `from` to `to`, synced
/// through the simulated site (whose day is `today`) by the bundled guest.
pub async fn demo_store(db: &Path, today: Date, from: Date, to: Date) -> Store {
    let (runtime, guest) = runtime().await;
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let mut store = Store::open(db).unwrap();
    let cfg = demo_config(&server.url(), db);
    let summary = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to)
        .await
        .unwrap();
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    server.shutdown().await;
    store
}

/// A port free on loopback now (another process may take it before use).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of a `GET` of `url` (`http://host:port/path`) answered 200;
/// `None` for any other answer or none.
pub fn http_get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.1 200").then(|| {
        text.split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default()
    })
}

/// Polls `ready` until it holds; fails the test after `timeout`.
pub async fn wait_for(what: &str, timeout: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The highest kWh x 60 / minutes of `points` (kW: a half-hour's kWh x 2)
/// with its point's start, the earliest of equal ones: the peak power,
/// computed here from the store's points, apart from hellowatt's own.
pub fn peak_of(points: &[hellowatt_snapshot::CurvePoint]) -> Option<(f64, i64)> {
    points
        .iter()
        .filter(|p| p.minutes > 0)
        .filter_map(|p| Some((p.kwh? * 60.0 / f64::from(p.minutes), p.start)))
        .fold(None, |best, (kw, at)| match best {
            Some((b, _)) if b >= kw => best,
            _ => Some((kw, at)),
        })
}

/// The subscribed power of `home`'s supply from the store's contract rows:
/// the highest of its active electricity contracts', computed here.
pub fn supply_kva(store: &hellowatt::store::Store, home: &str) -> Option<f64> {
    store
        .contracts(None)
        .unwrap()
        .into_iter()
        .filter(|c| {
            c.home_id == home
                && c.active
                && c.energy == Some(hellowatt_snapshot::Energy::Electricity)
        })
        .filter_map(|c| c.subscribed_kva)
        .fold(None, |m: Option<f64>, k| Some(m.map_or(k, |m| m.max(k))))
}

/// The tariff periods of `days` summed by name: `(kWh, EUR)`, a missing
/// value counted as nothing. What a month's `periods` must be.
pub fn period_sums<'a>(
    days: impl IntoIterator<Item = &'a DailyReading>,
) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut sums = std::collections::BTreeMap::<String, (f64, f64)>::new();
    for p in days.into_iter().flat_map(|d| &d.periods) {
        let e = sums.entry(p.period.clone()).or_default();
        e.0 += p.kwh.unwrap_or(0.0);
        e.1 += p.eur.unwrap_or(0.0);
    }
    sums
}

/// `hellowatt status` is read by people: sentences with local dates and
/// times, never an ISO date (`2026-12-03`), timestamp or `a..b` range.
pub fn assert_plain_sentences(text: &str) {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        let iso_date = (0..4).all(|k| digit(i + k))
            && b.get(i + 4) == Some(&b'-')
            && digit(i + 5)
            && digit(i + 6)
            && b.get(i + 7) == Some(&b'-');
        let range = b.get(i..i + 2) == Some(b"..") && i > 0 && digit(i - 1);
        assert!(
            !iso_date && !range,
            "not plain words at {:?}:\n{text}",
            text.get(i.saturating_sub(20)..(i + 30).min(text.len()))
        );
    }
}
