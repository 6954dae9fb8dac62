//! What the benchmarks share: quick mode, criterion's configuration and
//! results, CPU clocks, the simulated site on a thread of its own, and a
//! large cassette recorded from it.
//!
//! Quick mode: a bench binary run without `--bench` (that is, by `cargo
//! test`, which CI runs) or with `HELLOWATT_BENCH_QUICK` set runs every
//! benchmark once on small inputs, so the benchmarks keep working without
//! costing CI minutes. `cargo bench` runs them in full.

// Each bench binary uses its own part of this module.
#![allow(dead_code)]

#[path = "../../tests/it/common/nonce.rs"]
pub mod nonce;

use criterion::Criterion;
use hellowatt::config::{Account, Config, DEFAULT_KINDS, Secret};
use hellowatt::sandbox::policy::{Backend, HttpLimits, Origin, PolicyHooks};
use hellowatt::sandbox::redact::Redactor;
use hellowatt::sandbox::runtime::{Guest, Limits, Runtime};
use hellowatt_fixtures::{Exchange, Replay};
use hellowatt_guest::api::{self, SyncRequest};
use hellowatt_guest::logging::{Level, Log};
use hellowatt_guest::session::Session;
use hellowatt_guest_kit::testing::Replayer;
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::{DataKind, Date, Snapshot};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The simulated site's "today" in every benchmark: the date of the
/// figures in docs/benchmarks.md. Fixed, so that every run sees the same
/// data.
pub fn today() -> Date {
    Date::new(2026, 11, 28).expect("a valid date")
}

/// True when the benchmarks should run once on small inputs (see the
/// module docs).
pub fn quick() -> bool {
    std::env::var_os("HELLOWATT_BENCH_QUICK").is_some() || !std::env::args().any(|a| a == "--bench")
}

/// Months of history the backfill-shaped benchmarks use: 36, or 2 in
/// quick mode.
pub fn history_months() -> u32 {
    if quick() { 2 } else { 36 }
}

/// The target folder (where criterion keeps its results).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Criterion, writing under `TARGET/criterion`, configured from the
/// command line (test mode when not given `--bench`).
pub fn criterion() -> Criterion {
    started();
    Criterion::default()
        .output_directory(&target_dir().join("criterion"))
        .configure_from_args()
}

/// When this bench process started (its first call).
fn started() -> std::time::SystemTime {
    static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::SystemTime::now)
}

/// The median, in nanoseconds, criterion just measured for `group/id`:
/// `None` in quick mode, or when this process did not measure it (a
/// filtered run leaves older results in place).
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    if quick() {
        return None;
    }
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < started() {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// One line of results, easy to grep: `RESULT name = value unit`.
pub fn result(name: &str, value: impl std::fmt::Display, unit: &str) {
    println!("RESULT {name} = {value} {unit}");
}

/// The median of some values (the lower middle one for an even count).
pub fn median<T: Copy + PartialOrd>(values: &[T]) -> Option<T> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.get(v.len().saturating_sub(1) / 2).copied()
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time (user + system) of the whole process so far.
pub fn process_cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// CPU time (user + system) of the calling thread so far.
pub fn thread_cpu() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

/// A tokio runtime like the service's (multi-threaded).
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `work` on one of `rt`'s workers, as the service runs a sync (a
/// task of the multi-thread runtime), not on the calling thread: from a
/// worker, the request futures wasi-http spawns run on the same thread,
/// while from `block_on` each one is handed to a worker and back.
pub fn on_worker<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    work: impl Future<Output = T> + Send + 'static,
) -> T {
    rt.block_on(rt.spawn(work)).expect("the benchmark's task")
}

/// The simulated site (demo account) on a thread of its own, with its own
/// single-threaded tokio runtime: everything it does (HTTP parsing, data
/// generation, its side of the sockets) runs on that thread, so that
/// [`SimThread::cpu`] is its CPU time and the rest of the process's is the
/// host's.
pub struct SimThread {
    pub url: String,
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimThread {
    pub fn start(today: Date) -> SimThread {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("simulated-site".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the simulated site's runtime");
                rt.block_on(async move {
                    let server = sim::start(
                        "127.0.0.1:0".parse().expect("an address"),
                        SimMode::Demo { today },
                    )
                    .await
                    .expect("the simulated site starts");
                    let (stop, stopped) = tokio::sync::oneshot::channel();
                    tx.send((server.url(), tokio::runtime::Handle::current(), stop))
                        .expect("the bench waits for the site");
                    let _ = stopped.await;
                    server.shutdown().await;
                });
            })
            .expect("starting the simulated site's thread");
        let (url, handle, stop) = rx.recv().expect("the simulated site started");
        SimThread {
            url,
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// CPU time of the simulated site's thread so far (read on that thread).
    pub fn cpu(&self) -> Duration {
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(thread_cpu());
        });
        rx.recv().expect("the simulated site answers")
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One engine and the bundled guest, compiled; `HELLOWATT_BENCH_GUEST=FILE`
/// measures another build of it instead (another optimisation level, say).
pub async fn runtime_and_guest() -> (Arc<Runtime>, Guest) {
    let runtime = Runtime::new().expect("the wasm runtime");
    let bytes = match std::env::var_os("HELLOWATT_BENCH_GUEST") {
        Some(path) => std::fs::read(&path).expect("reading HELLOWATT_BENCH_GUEST"),
        None => hellowatt::BUNDLED_GUEST.to_vec(),
    };
    let guest = runtime
        .load(bytes, &Limits::default())
        .await
        .expect("the bundled guest loads");
    (Arc::new(runtime), guest)
}

/// `HELLOWATT_BENCH_GUEST_BEFORE=FILE`: an earlier build of the guest,
/// compiled by the same engine, to measure before and after in one run.
pub async fn guest_before(runtime: &Runtime) -> Option<Guest> {
    let path = std::env::var_os("HELLOWATT_BENCH_GUEST_BEFORE")?;
    let bytes = std::fs::read(&path).expect("reading HELLOWATT_BENCH_GUEST_BEFORE");
    Some(
        runtime
            .load(bytes, &Limits::default())
            .await
            .expect("the earlier guest loads"),
    )
}

/// HTTP limits without pacing, as in the tests.
pub fn unpaced() -> HttpLimits {
    HttpLimits {
        pacing: Duration::ZERO,
        ..HttpLimits::default()
    }
}

/// The demo account of the simulated site at `url`, every default kind,
/// no pacing, nothing served.
pub fn demo_config(url: &str, db: &Path) -> Config {
    let account = Account {
        name: "bench".into(),
        email: Some(sim::DEMO_LOGIN.into()),
        password: Some(Secret::new(sim::DEMO_PASSWORD)),
        kinds: DEFAULT_KINDS.to_vec(),
    };
    // No Tempo slot: it is benchmarked apart, these figures are the
    // helloWatt guest's.
    let site = Origin::parse(url).expect("the simulated site's URL");
    Config::for_test_site(site, account, db)
}

/// The last `months` full calendar months before [`today`], oldest first.
pub fn months_back(months: u32) -> Vec<(Date, Date)> {
    let mut from = today().first_of_month();
    for _ in 0..months {
        from = from.add_days(-1).first_of_month();
    }
    hellowatt::sync::month_windows(from, today().first_of_month().add_days(-1))
}

/// A recorded backfill: the exchanges of one run of the bundled guest
/// against the simulated site, and the calls that made them.
pub struct Cassette {
    pub origin: String,
    pub exchanges: Vec<Exchange>,
    pub calls: Vec<SyncRequest>,
}

impl Cassette {
    pub fn response_bytes(&self) -> usize {
        self.exchanges.iter().map(|e| e.response.body.len()).sum()
    }

    pub fn replay(&self) -> Replay {
        Replay::new(self.exchanges.clone(), &self.origin, true)
    }
}

/// The calls of a backfill shaped like the service's, oldest month first:
/// daily electricity and gas for `months` months, the load curve for the
/// last `curve_months` of them, homes and contracts with the first.
pub fn backfill_calls(origin: &str, months: u32, curve_months: u32) -> Vec<SyncRequest> {
    let windows = months_back(months);
    let curve_from = windows.len().saturating_sub(curve_months as usize);
    windows
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let mut kinds = vec![];
            if i == 0 {
                kinds.push(DataKind::Homes);
            }
            kinds.extend([DataKind::ElectricityDaily, DataKind::GasDaily]);
            if i >= curve_from {
                kinds.push(DataKind::ElectricityCurve);
            }
            SyncRequest {
                base_url: origin.to_string(),
                login: sim::DEMO_LOGIN.into(),
                // Each run gives its own (see `for_run`).
                password_placeholder: String::new(),
                start,
                end,
                kinds,
            }
        })
        .collect()
}

/// Records [`backfill_calls`] through the bundled guest against the
/// simulated site (three years of daily data and a year of curve; two
/// months and one in quick mode).
pub async fn record_cassette(runtime: &Runtime, guest: &Guest, url: &str) -> Cassette {
    let months = history_months();
    let curve_months = if quick() { 1 } else { 12 };
    let calls = backfill_calls(url, months, curve_months);
    let hooks = PolicyHooks::new(
        Origin::parse(url).expect("the simulated site's URL"),
        unpaced(),
        Backend::Record(Mutex::new(Vec::new())),
        Arc::new(Redactor::with_secrets([sim::DEMO_PASSWORD])),
    )
    .with_account(sim::DEMO_LOGIN, sim::DEMO_PASSWORD);
    let mut run = runtime
        .start(guest, hooks.clone(), &Limits::default())
        .await
        .expect("an instance");
    for call in &calls {
        run.sync(&for_run(call, &hooks.placeholder()))
            .await
            .expect("no sandbox error while recording")
            .expect("the recorded sync succeeds");
    }
    Cassette {
        origin: url.to_string(),
        exchanges: hooks.recorded(),
        calls,
    }
}

/// Replays the cassette's calls through the component, inside the HTTP
/// policy (as `guest check` does): one instance, one `sync` per call, on
/// one of `rt`'s workers (see [`on_worker`]).
pub fn replay_wasm(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    guest: &Guest,
    cassette: &Arc<Cassette>,
    replay: Replay,
) -> Vec<Snapshot> {
    replay_wasm_timed(rt, runtime, guest, cassette, replay, false).0
}

/// [`replay_wasm`], and with `time_guest` the time spent in the guest's
/// own code (`GuestRun::guest_time`: without the host's imports, the
/// cassette lookups and the lifting of the snapshots into the host).
pub fn replay_wasm_timed(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    guest: &Guest,
    cassette: &Arc<Cassette>,
    replay: Replay,
    time_guest: bool,
) -> (Vec<Snapshot>, Duration) {
    let (runtime, guest, cassette) = (Arc::clone(runtime), guest.clone(), Arc::clone(cassette));
    on_worker(rt, async move {
        replay_on_this_thread(&runtime, &guest, &cassette, replay, time_guest).await
    })
}

async fn replay_on_this_thread(
    runtime: &Runtime,
    guest: &Guest,
    cassette: &Cassette,
    replay: Replay,
    time_guest: bool,
) -> (Vec<Snapshot>, Duration) {
    let hooks = PolicyHooks::new(
        Origin::parse(&cassette.origin).expect("the cassette's origin"),
        unpaced(),
        Backend::Replay(Mutex::new(replay)),
        Arc::new(Redactor::with_secrets([sim::DEMO_PASSWORD])),
    )
    .with_account(sim::DEMO_LOGIN, sim::DEMO_PASSWORD);
    let placeholder = hooks.placeholder();
    let mut run = runtime
        .start(guest, hooks, &Limits::default())
        .await
        .expect("an instance");
    if time_guest {
        run.measure_guest_time();
    }
    let mut out = Vec::with_capacity(cassette.calls.len());
    for call in &cassette.calls {
        let snapshot = run
            .sync(&for_run(call, &placeholder))
            .await
            .expect("no sandbox error in the replay")
            .expect("the replayed sync succeeds");
        out.push(snapshot);
    }
    (out, run.guest_time())
}

/// The host's sink for a guest's log lines (`runtime::guest_log`: the
/// redaction with the run's secrets, the cut, the `tracing` call), given
/// to the native build so that both sides of a comparison log alike.
struct HostSink(Redactor);

impl Log for HostSink {
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
        hellowatt::sandbox::runtime::guest_log(&self.0, "hellowatt", level, message);
    }
}

/// A recorded call, with the placeholder the run's browser gave.
fn for_run(call: &SyncRequest, placeholder: &str) -> SyncRequest {
    SyncRequest {
        password_placeholder: placeholder.to_string(),
        ..call.clone()
    }
}

/// Replays the cassette's calls through the guest's own code compiled
/// natively: the same flow and parser, the same bytes, no sandbox.
pub fn replay_native(cassette: &Cassette, replay: Replay) -> Vec<Snapshot> {
    // The host's browser sits between the native guest and the replay too.
    let mut t = Replayer::from_replay(replay, &cassette.origin)
        .logging_in(sim::DEMO_LOGIN, sim::DEMO_PASSWORD);
    let mut session: Option<Session> = None;
    let mut log = HostSink(Redactor::with_secrets([sim::DEMO_PASSWORD]));
    cassette
        .calls
        .iter()
        .map(|call| {
            let req = for_run(call, hellowatt_guest_kit::testing::PLACEHOLDER);
            api::sync(&mut t, &mut session, &req, &mut log).expect("the native sync succeeds")
        })
        .collect()
}

/// Daily readings and curve points of some snapshots: the rows that
/// matter for the store's throughput.
pub fn rows(snapshots: &[Snapshot]) -> u64 {
    snapshots
        .iter()
        .map(|s| (s.daily.len() + s.curve.len()) as u64)
        .sum()
}
