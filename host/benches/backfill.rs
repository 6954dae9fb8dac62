//! A 36-month backfill of the demo account against the simulated site with
//! no pacing, through the real sync (one guest instance, one `sync` per
//! month, newest month first as the service does, each month validated and
//! stored in a fresh SQLite file): wall time, and the host's CPU time per
//! request to the site.
//!
//! The simulated site runs in this process, on a thread of its own with its
//! own single-threaded tokio runtime (`common::SimThread`). The host's CPU
//! time is the process's (getrusage RUSAGE_SELF) minus that thread's
//! (RUSAGE_THREAD, read on it), both around the same run: guest (wasm),
//! policy, wasi-http, hyper client, validation, SQLite and the runtime's
//! threads are the host; HTTP serving and data generation are the site.
//!
//! `cargo bench -p hellowatt --bench backfill`; `cargo test` runs it once
//! on two months.

mod common;

use common::{quick, result};
use hellowatt::store::Store;
use hellowatt::sync;
use hellowatt_snapshot::DataKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One backfill's figures.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    host_cpu: Duration,
    site_cpu: Duration,
    requests: u32,
    /// Records inserted.
    rows: u64,
}

fn main() {
    let mut c = common::criterion();
    let rt = common::tokio_runtime();
    let (runtime, guest) = rt.block_on(common::runtime_and_guest());
    let site = common::SimThread::start(common::today());
    let months = common::history_months();
    // Newest first, as the service's backfill asks them.
    let mut windows = common::months_back(months);
    windows.reverse();

    let mut g = c.benchmark_group("backfill");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if quick() { 1 } else { 30 }));
    // Every default kind (the service's backfill), then without the load
    // curve: a curve request carries 30 times the records of a daily one.
    let all = hellowatt::config::DEFAULT_KINDS.to_vec();
    let no_curve: Vec<DataKind> = all
        .iter()
        .copied()
        .filter(|k| *k != DataKind::ElectricityCurve)
        .collect();
    for (name, kinds) in [("all-kinds", all), ("without-curve", no_curve)] {
        let mut samples: Vec<Sample> = Vec::new();
        g.bench_function(format!("{months}-months-{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("a temporary folder");
                    let db = dir.path().join("hellowatt.db");
                    let mut config = common::demo_config(&site.url, &db);
                    config.accounts[0].kinds = kinds.clone();
                    let mut store = Store::open(&db).expect("the store");
                    let (cpu0, site0) = (common::process_cpu(), site.cpu());
                    let started = Instant::now();
                    let (runtime, guest, asked) =
                        (Arc::clone(&runtime), guest.clone(), windows.clone());
                    let summary = common::on_worker(&rt, async move {
                        sync::run_windows(
                            &runtime,
                            &guest,
                            &mut store,
                            &config,
                            &config.accounts[0],
                            &asked,
                        )
                        .await
                    })
                    .expect("the backfill runs");
                    let wall = started.elapsed();
                    let (cpu1, site1) = (common::process_cpu(), site.cpu());
                    assert!(summary.failure.is_none(), "{:?}", summary.failure);
                    assert_eq!(summary.windows, windows.len());
                    let site_cpu = site1.saturating_sub(site0);
                    samples.push(Sample {
                        wall,
                        host_cpu: cpu1.saturating_sub(cpu0).saturating_sub(site_cpu),
                        site_cpu,
                        requests: summary.traffic.requests,
                        rows: summary.stats.inserted,
                    });
                    total += wall;
                }
                total
            })
        });
        report(&format!("backfill.{name}"), months, &samples);
    }
    g.finish();

    drop(site);
    c.final_summary();
}

fn report(name: &str, months: u32, samples: &[Sample]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_request = |s: &Sample| ms(s.host_cpu) / f64::from(s.requests.max(1));
    let per_row = |s: &Sample| ms(s.host_cpu) * 1e3 / (s.rows.max(1) as f64);
    let med = |f: &dyn Fn(&Sample) -> f64| {
        common::median(&samples.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    if samples.is_empty() {
        return;
    }
    println!("{name}: {months} months, medians of {} runs", samples.len());
    result(
        &format!("{name}.requests"),
        med(&|s| f64::from(s.requests)),
        "",
    );
    result(
        &format!("{name}.rows_inserted"),
        med(&|s| s.rows as f64),
        "",
    );
    result(
        &format!("{name}.wall"),
        format!("{:.0}", med(&|s| ms(s.wall))),
        "ms",
    );
    result(
        &format!("{name}.host_cpu"),
        format!("{:.0}", med(&|s| ms(s.host_cpu))),
        "ms",
    );
    result(
        &format!("{name}.site_cpu"),
        format!("{:.0}", med(&|s| ms(s.site_cpu))),
        "ms (simulated site, excluded)",
    );
    result(
        &format!("{name}.host_cpu_per_request"),
        format!("{:.2}", med(&per_request)),
        "ms (target < 1)",
    );
    result(
        &format!("{name}.host_cpu_per_row"),
        format!("{:.1}", med(&per_row)),
        "us",
    );
}
