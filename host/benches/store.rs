//! The store's ingest: three years of daily electricity and gas and a year
//! of 30-minute curve for the demo household's two meters, as the guest
//! returns them (one snapshot per month, each in its own transaction, as a
//! backfill stores them), into a fresh SQLite file; then the same again
//! into the filled file (idempotent: nothing changes, every record is
//! compared). Throughput in daily readings plus curve points per second.
//!
//! The snapshots come from a cassette recorded once from the simulated
//! site, parsed by the guest's code natively (the same records the
//! component returns).
//!
//! `cargo bench -p hellowatt --bench store`; `cargo test` runs it once on
//! two months.

mod common;

use common::result;
use criterion::{BatchSize, Throughput};
use hellowatt::store::{GuestIdentity, RunId, Store};
use hellowatt_snapshot::Snapshot;
use std::path::Path;
use std::time::Duration;

fn identity() -> GuestIdentity {
    GuestIdentity {
        name: "hellowatt".into(),
        version: "bench".into(),
        sha256: "0".repeat(64),
    }
}

/// Stores every snapshot under one run, one transaction each.
fn ingest_all(store: &mut Store, snapshots: &[Snapshot]) -> u64 {
    let (Some(first), Some(last)) = (
        snapshots
            .iter()
            .flat_map(|s| &s.windows)
            .map(|w| w.start)
            .min(),
        snapshots
            .iter()
            .flat_map(|s| &s.windows)
            .map(|w| w.end)
            .max(),
    ) else {
        panic!("the snapshots hold no window");
    };
    let run: RunId = store
        .begin_run("bench", &identity(), first, last, 0)
        .expect("a run");
    let mut changed = 0;
    for s in snapshots {
        let stats = store.ingest(run, "bench", s, 0).expect("the ingest");
        changed += stats.inserted + stats.updated + stats.revisions;
    }
    changed
}

fn fresh(dir: &Path) -> Store {
    Store::open(&dir.join("hellowatt.db")).expect("the store")
}

fn main() {
    let mut c = common::criterion();
    let rt = common::tokio_runtime();
    let snapshots: Vec<Snapshot> = {
        let (runtime, guest) = rt.block_on(common::runtime_and_guest());
        let site = common::SimThread::start(common::today());
        let cassette = rt.block_on(common::record_cassette(&runtime, &guest, &site.url));
        common::replay_native(&cassette, cassette.replay())
    };
    let rows = common::rows(&snapshots);
    let meters: std::collections::BTreeSet<&str> = snapshots
        .iter()
        .flat_map(|s| &s.daily)
        .map(|r| r.meter_id.as_str())
        .collect();
    println!(
        "store: {} snapshots, {rows} rows (daily readings and curve points) for {} meters",
        snapshots.len(),
        meters.len()
    );

    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(rows));
    g.bench_function("ingest", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary folder"),
            |dir| {
                let mut store = fresh(dir.path());
                assert!(ingest_all(&mut store, &snapshots) >= rows);
                (store, dir)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ingest-again", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let mut store = fresh(dir.path());
                ingest_all(&mut store, &snapshots);
                (store, dir)
            },
            |(mut store, dir)| {
                assert_eq!(ingest_all(&mut store, &snapshots), 0, "idempotent");
                (store, dir)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    for id in ["ingest", "ingest-again"] {
        if let Some(ns) = common::median_ns("store", id) {
            result(
                &format!("store.{id}"),
                format!(
                    "{:.0} rows/s ({:.0} ms)",
                    rows as f64 / (ns / 1e9),
                    ns / 1e6
                ),
                "(target > 100000 rows/s)",
            );
        }
    }
    c.final_summary();
}
