//! The guest's costs: a sync call through the component against the same
//! code compiled natively (and the guest's own code alone inside the
//! component), a run's fixed cost (a new store and instance), the
//! start of the guest registry with a cold compile against the artifact
//! cache, and a hot swap from file drop to live guest.
//!
//! `cargo bench -p hellowatt --bench guest` (see docs/benchmarks.md);
//! `cargo test` runs each benchmark once on small inputs.

mod common;

use common::{Cassette, quick, result};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion};
use hellowatt::registry::{Registry, RegistryOptions};
use hellowatt::sandbox::cache::sha256_hex;
use hellowatt::sandbox::policy::{Backend, Origin, PolicyHooks};
use hellowatt::sandbox::redact::Redactor;
use hellowatt::sandbox::runtime::{Guest, Limits, Runtime};
use hellowatt::store::Store;
use hellowatt_guest::parse::typed::value_way_only;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let mut c = common::criterion();
    let rt = common::tokio_runtime();
    let (runtime, guest) = rt.block_on(common::runtime_and_guest());
    let before = rt.block_on(common::guest_before(&runtime));

    sync_call(&mut c, &rt, &runtime, &guest, before.as_ref());
    instantiate(&mut c, &runtime, &guest);
    startup(&mut c, &rt);
    hot_swap(&mut c, &rt);

    c.final_summary();
}

// -------------------------------------------------------------- sync call

/// The same 36 `sync` calls through the component and through the guest's
/// code compiled natively (both with the host's log sink), and the part of
/// the component's time spent in the guest's own code. With an earlier
/// build of the guest (`HELLOWATT_BENCH_GUEST_BEFORE`), the same figures
/// for it, in the same run: the component `wasm-before`, and natively
/// `native-before`, the guest's code with every measure payload read the
/// `Value` way (`parse::typed::value_way_only`), as before the typed reading.
fn sync_call(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    guest: &Guest,
    before: Option<&Guest>,
) {
    let cassette: Cassette = {
        let site = common::SimThread::start(common::today());
        rt.block_on(common::record_cassette(runtime, guest, &site.url))
    };
    // Both sides return the same records from the same bytes.
    let cassette = Arc::new(cassette);
    let (wasm, guest_time) =
        common::replay_wasm_timed(rt, runtime, guest, &cassette, cassette.replay(), true);
    let native = common::replay_native(&cassette, cassette.replay());
    assert_eq!(wasm, native, "the component and the native build disagree");
    if let Some(before) = before {
        let old = common::replay_wasm(rt, runtime, before, &cassette, cassette.replay());
        assert_eq!(old, wasm, "the earlier guest returns other records");
        value_way_only(true);
        let old_native = common::replay_native(&cassette, cassette.replay());
        value_way_only(false);
        assert_eq!(old_native, native, "the Value way returns other records");
    }
    assert!(
        guest_time > Duration::ZERO,
        "the guest's own code was not timed"
    );
    let rows = common::rows(&native);
    println!(
        "sync-call: {} calls, {} exchanges, {:.1} MiB of responses, {rows} readings and curve points",
        cassette.calls.len(),
        cassette.exchanges.len(),
        cassette.response_bytes() as f64 / (1024.0 * 1024.0)
    );

    let mut g = c.benchmark_group("sync-call");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    sync_call_runs(&mut g, "", rt, runtime, guest, &cassette);
    if let Some(before) = before {
        // The Value way natively for the `-before` runs, as before.
        value_way_only(true);
        sync_call_runs(&mut g, "-before", rt, runtime, before, &cassette);
        value_way_only(false);
    }
    // What the replay itself costs (matching requests against the
    // cassette, copying the answers): part of both figures above.
    g.bench_function("replay-only", |b| {
        b.iter_batched(
            || cassette.replay(),
            |replay| replay_only(&cassette, replay),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    sync_call_results("", "sync_call");
    sync_call_results("-before", "sync_call.before");
    if let Some(r) = common::median_ns("sync-call", "replay-only") {
        result("sync_call.replay_only", format!("{:.1}", r / 1e6), "ms");
    }
    browser(c, &cassette);
}

/// One build's runs of the sync call: `wasm{suffix}` (through the
/// component), `native{suffix}` (the guest's code compiled natively) and
/// `wasm-guest-code{suffix}` (inside the component, the guest's own code
/// alone: host imports and lifting excluded).
fn sync_call_runs(
    g: &mut BenchmarkGroup<'_, WallTime>,
    suffix: &str,
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    guest: &Guest,
    cassette: &Arc<Cassette>,
) {
    g.bench_function(format!("wasm{suffix}"), |b| {
        b.iter_batched(
            || cassette.replay(),
            |replay| common::replay_wasm(rt, runtime, guest, cassette, replay),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("native{suffix}"), |b| {
        b.iter_batched(
            || cassette.replay(),
            |replay| common::replay_native(cassette, replay),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("wasm-guest-code{suffix}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    common::replay_wasm_timed(rt, runtime, guest, cassette, cassette.replay(), true)
                        .1
                })
                .sum()
        })
    });
}

/// The `RESULT` lines of [`sync_call_runs`]'s figures, as `{name}.…`.
fn sync_call_results(suffix: &str, name: &str) {
    let median = |id: &str| common::median_ns("sync-call", &format!("{id}{suffix}"));
    let (Some(w), Some(n)) = (median("wasm"), median("native")) else {
        return;
    };
    result(&format!("{name}.wasm"), format!("{:.1}", w / 1e6), "ms");
    result(&format!("{name}.native"), format!("{:.1}", n / 1e6), "ms");
    result(
        &format!("{name}.ratio_wasm_native"),
        format!("{:.2}", w / n),
        "(target <= 1.5)",
    );
    if let Some(gc) = median("wasm-guest-code") {
        result(
            &format!("{name}.wasm_guest_code"),
            format!("{:.1}", gc / 1e6),
            "ms",
        );
        result(
            &format!("{name}.wasm_guest_code_share"),
            format!("{:.0}", 100.0 * gc / w),
            "% of the wasm call",
        );
    }
}

/// The cassette's exchanges with the requests as the guest writes them
/// (no cookie, the placeholder in the log-in).
fn guest_side(cassette: &Cassette, placeholder: &str) -> Vec<hellowatt_fixtures::Exchange> {
    // The demo password as a form carries it ("!" is its one reserved
    // character).
    let password = hellowatt_sim::DEMO_PASSWORD.replace('!', "%21");
    let mut side = cassette.exchanges.clone();
    for e in &mut side {
        let r = &mut e.request;
        r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
        r.body = String::from_utf8_lossy(&r.body)
            .replace(&password, placeholder)
            .into_bytes();
    }
    side
}

/// What the browser adds to each exchange (the password filled into the
/// log-in, the jar, the scrubbing of the answer), side by side with the
/// same exchanges handled without it (the header maps and body copies the
/// policy makes either way).
fn browser(c: &mut Criterion, cassette: &Cassette) {
    use hellowatt_browser::{Browser, LogIn, header_map};
    let placeholder = hellowatt_browser::placeholder([9; 16]);
    let side = guest_side(cassette, &placeholder);
    let login = LogIn {
        method: "POST".into(),
        path: "/accounts/login/".into(),
        login: hellowatt_sim::DEMO_LOGIN.into(),
        password: hellowatt_sim::DEMO_PASSWORD.into(),
    };
    let run = |with: bool| {
        let mut browser = Browser::new(placeholder.clone(), Some(login.clone()), false);
        let mut bytes = 0;
        for e in &side {
            let r = &e.request;
            let mut headers = header_map(&r.headers).expect("recorded headers");
            let mut body = r.body.clone();
            if with {
                browser
                    .outgoing(&r.method, &r.path, &r.query, &mut headers, &mut body)
                    .expect("the browser lets the guest's own requests through");
            }
            let mut answer_headers = header_map(&e.response.headers).expect("recorded headers");
            let mut answer_body = e.response.body.clone();
            if with {
                browser.incoming(&mut answer_headers, &mut answer_body);
            }
            bytes += body.len() + answer_body.len() + headers.len() + answer_headers.len();
        }
        bytes
    };
    assert!(run(true) > 0);
    let mut g = c.benchmark_group("browser");
    g.bench_function("without", |b| b.iter(|| run(false)));
    g.bench_function("with", |b| b.iter(|| run(true)));
    g.finish();
    let n = side.len() as f64;
    if let (Some(without), Some(with)) = (
        common::median_ns("browser", "without"),
        common::median_ns("browser", "with"),
    ) {
        result("browser.exchanges", format!("{n}"), "");
        result(
            "browser.without_per_exchange",
            format!("{:.2}", without / n / 1e3),
            "µs",
        );
        result(
            "browser.with_per_exchange",
            format!("{:.2}", with / n / 1e3),
            "µs",
        );
        result(
            "browser.added_per_exchange",
            format!("{:.2}", (with - without) / n / 1e3),
            "µs",
        );
    }
}

/// The replay's answers to the requests the native run makes, without the
/// guest: what the cassette lookup costs.
fn replay_only(cassette: &Cassette, mut replay: hellowatt_fixtures::Replay) -> usize {
    let mut bytes = 0;
    for e in &cassette.exchanges {
        let r = hellowatt_fixtures::ReplayRequest {
            method: &e.request.method,
            path: &e.request.path,
            query: &e.request.query,
            headers: &e.request.headers,
            body: &e.request.body,
        };
        if let Ok(resp) = replay.answer(&r) {
            bytes += resp.body.len();
        }
    }
    bytes
}

// ------------------------------------------------------------ fixed cost

fn instantiate(c: &mut Criterion, runtime: &Runtime, guest: &Guest) {
    let hooks = || {
        PolicyHooks::new(
            Origin::parse(hellowatt::sandbox::policy::DEFAULT_SITE).expect("the default site"),
            common::unpaced(),
            Backend::Network,
            Arc::new(Redactor::default()),
        )
    };
    let limits = Limits::default();
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut g = c.benchmark_group("run");
    g.bench_function("instantiate", |b| {
        b.iter(|| {
            local
                .block_on(runtime.start(guest, hooks(), &limits))
                .expect("an instance")
        })
    });
    g.bench_function("instantiate+describe", |b| {
        b.iter(|| {
            local.block_on(async {
                let mut run = runtime
                    .start(guest, hooks(), &limits)
                    .await
                    .expect("an instance");
                run.describe().await.expect("describe")
            })
        })
    });
    g.finish();
    if let Some(ns) = common::median_ns("run", "instantiate") {
        result(
            "run.instantiate",
            format!("{:.1}", ns / 1e3),
            "us (target <= 100)",
        );
    }
    if let Some(ns) = common::median_ns("run", "instantiate+describe") {
        result("run.instantiate_describe", format!("{:.1}", ns / 1e3), "us");
    }
}

// --------------------------------------------------------------- startup

fn registry_options(dir: &Path) -> RegistryOptions {
    RegistryOptions {
        slot: hellowatt::slot::Slot::Hellowatt,
        guests_dir: dir.join("guests"),
        state_dir: dir.join("hellowatt.guests"),
        limits: Limits::default(),
        requests: hellowatt::slot::Slot::Hellowatt.default_requests(),
        fixtures: hellowatt_fixtures::embedded_scenarios().expect("the shipped scenarios"),
        trusted_keys: Vec::new(),
    }
}

/// What the service does before it is ready: an engine, the store, the
/// registry with its active guest (compiled, or mapped from the cache).
async fn start_registry(dir: &Path) -> Arc<Registry> {
    let runtime = Arc::new(Runtime::new().expect("the wasm runtime"));
    let store = Store::open(&dir.join("hellowatt.db")).expect("the store");
    Arc::new(
        Registry::open(runtime, store, registry_options(dir))
            .await
            .expect("the registry opens"),
    )
}

fn startup(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let warm = tempfile::tempdir().expect("a temporary folder");
    let reg = rt.block_on(start_registry(warm.path()));
    assert_eq!(reg.cache().compiles(), 1, "a first start compiles");
    drop(reg);

    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function("cold-compile", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary folder"),
            |dir| {
                let reg = rt.block_on(start_registry(dir.path()));
                assert_eq!(reg.cache().compiles(), 1);
                (reg, dir)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("cached", |b| {
        b.iter(|| {
            let reg = rt.block_on(start_registry(warm.path()));
            assert_eq!(reg.cache().hits(), 1, "a restart maps the cached guest");
            reg
        })
    });
    g.finish();
    if let (Some(cold), Some(cached)) = (
        common::median_ns("startup", "cold-compile"),
        common::median_ns("startup", "cached"),
    ) {
        result("startup.cold_compile", format!("{:.1}", cold / 1e6), "ms");
        result(
            "startup.cached",
            format!("{:.1}", cached / 1e6),
            "ms (target < 100)",
        );
        result(
            "startup.cold_over_cached",
            format!("{:.1}", cold / cached),
            "x",
        );
    }
}

// -------------------------------------------------------------- hot swap

fn hot_swap(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let reg = rt.block_on(start_registry(dir.path()));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let watcher = rt.spawn(Arc::clone(&reg).watch(shutdown));
    let guests: PathBuf = reg.guests_dir().to_path_buf();
    // Let the watcher start before the first drop.
    std::thread::sleep(Duration::from_millis(200));
    let mut counter = 0u64;
    let mut g = c.benchmark_group("hot-swap");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if quick() { 1 } else { 20 }));
    g.bench_function("drop-to-live", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                counter += 1;
                let bytes =
                    common::nonce::with_nonce(hellowatt::BUNDLED_GUEST, &format!("{counter}"));
                let sha = sha256_hex(&bytes);
                let path = guests.join(format!("bench-{counter}.wasm"));
                // Written beside and renamed, as a person's `mv` would:
                // the watcher sees a whole file.
                let partial = guests.join(format!(".bench-{counter}.partial"));
                std::fs::write(&partial, &bytes).expect("writing the guest");
                let dropped = Instant::now();
                std::fs::rename(&partial, &path).expect("dropping the guest");
                while reg.active().sha256 != sha {
                    assert!(
                        dropped.elapsed() < Duration::from_secs(120),
                        "the dropped guest never went live"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                total += dropped.elapsed();
            }
            total
        })
    });
    g.finish();
    let _ = stop.send(true);
    let _ = rt.block_on(watcher);
    if let Some(ns) = common::median_ns("hot-swap", "drop-to-live") {
        result(
            "hot_swap.drop_to_live",
            format!("{:.0}", ns / 1e6),
            &format!(
                "ms (target < 2000; debounce {} ms, {} shipped scenarios)",
                hellowatt::registry::DEBOUNCE.as_millis(),
                hellowatt_fixtures::embedded_scenarios()
                    .map(|s| s.len())
                    .unwrap_or(0)
            ),
        );
    }
}
