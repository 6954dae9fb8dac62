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
use std::time::{Duration, Instant};

/// One backfill's figures.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    host_cpu: Duration,
    site_cpu: Duration,
    requests: u32,
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

    let mut samples: Vec<Sample> = Vec::new();
    let mut g = c.benchmark_group("backfill");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if quick() { 1 } else { 30 }));
    g.bench_function(format!("{months}-months"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let db = dir.path().join("hellowatt.db");
                let config = common::demo_config(&site.url, &db);
                let mut store = Store::open(&db).expect("the store");
                let (cpu0, site0) = (common::process_cpu(), site.cpu());
                let started = Instant::now();
                let summary = rt
                    .block_on(sync::run_windows(
                        &runtime,
                        &guest,
                        &mut store,
                        &config,
                        &config.accounts[0],
                        &windows,
                    ))
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
                });
                total += wall;
            }
            total
        })
    });
    g.finish();

    report(months, &samples);
    drop(site);
    c.final_summary();
}

fn report(months: u32, samples: &[Sample]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_request = |s: &Sample| ms(s.host_cpu) / f64::from(s.requests.max(1));
    let (Some(wall), Some(host), Some(site), Some(per), Some(requests)) = (
        common::median(&samples.iter().map(|s| ms(s.wall)).collect::<Vec<_>>()),
        common::median(&samples.iter().map(|s| ms(s.host_cpu)).collect::<Vec<_>>()),
        common::median(&samples.iter().map(|s| ms(s.site_cpu)).collect::<Vec<_>>()),
        common::median(&samples.iter().map(per_request).collect::<Vec<_>>()),
        common::median(&samples.iter().map(|s| s.requests).collect::<Vec<_>>()),
    ) else {
        return;
    };
    println!("backfill of {months} months: medians of {} runs", samples.len());
    result("backfill.months", months, "");
    result("backfill.requests", requests, "");
    result("backfill.wall", format!("{wall:.0}"), "ms");
    result("backfill.host_cpu", format!("{host:.0}"), "ms");
    result("backfill.site_cpu", format!("{site:.0}"), "ms (simulated site, excluded)");
    result(
        "backfill.host_cpu_per_request",
        format!("{per:.2}"),
        "ms (target < 1)",
    );
}
