//! The database refusing writes during a sync: a full disk (the file may
//! not grow) and a read-only file. Nothing stored changes (same content
//! digest, `PRAGMA integrity_check` ok), and once the trouble is gone the
//! next sync stores the window as if nothing had happened.
//!
//! The trouble is switched on just before the sync: the sync holds the
//! store (one connection) for the whole run, so nothing can switch it on
//! halfway. A full disk still lets the run be recorded (its row fits in
//! the pages the file has) and fails the window's writes, so the run
//! fails as `store`; a read-only file refuses the run's own record, so
//! the sync stops before it starts.

use hellowatt::store::{RunOutcome, RunRecord, Store};
use hellowatt::sync::{self, RunFailure, RunSummary};
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::Date;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// What a sync did with the store in trouble.
struct Troubled {
    result: anyhow::Result<RunSummary>,
    /// The account's journalled runs, newest first, October's included.
    runs: Vec<RunRecord>,
    /// Requests the site served during that sync.
    requests: u64,
}

/// Syncs November into a store holding October, with the store in
/// trouble; checks that nothing changed and that the next sync, the
/// trouble gone, stores November.
async fn sync_in_trouble(full_disk: bool, read_only: bool) -> Troubled {
    let (runtime, guest) = crate::common::runtime().await;
    let today = d("2026-11-28");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let mut store = crate::common::demo_store(&db, today, d("2026-10-01"), d("2026-10-31")).await;
    let before = store.content_digest().unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let cfg = crate::common::demo_config(&server.url(), &db);
    let (from, to) = (d("2026-11-01"), d("2026-11-27"));

    store.simulate_write_trouble(full_disk, read_only).unwrap();
    let asked_before = server.requests();
    let result = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to).await;
    let requests = server.requests() - asked_before;
    let runs = store.runs(Some("test"), 10).unwrap();
    store.simulate_write_trouble(false, false).unwrap();
    assert_eq!(store.content_digest().unwrap(), before, "nothing changed");
    store.integrity_check().unwrap();

    // The trouble gone, the same sync stores November.
    let summary = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to)
        .await
        .unwrap();
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    assert!(summary.stats.inserted > 27, "{:?}", summary.stats);
    drop(store);
    let reopened = Store::open(&db).unwrap();
    reopened.integrity_check().unwrap();
    server.shutdown().await;
    Troubled {
        result,
        runs,
        requests,
    }
}

#[tokio::test]
async fn a_full_disk_fails_the_run_and_loses_nothing() {
    let t = sync_in_trouble(true, false).await;
    // Recorded from start to end: only the window's writes needed pages.
    let summary = t.result.expect("the run is recorded despite the full disk");
    let Some(failure @ RunFailure::Store(_)) = &summary.failure else {
        panic!("expected the store's trouble, got {:?}", summary.failure);
    };
    assert_eq!(failure.kind(), "store");
    assert_eq!(summary.windows, 0, "no window stored");
    assert!(t.requests > 0, "the guest fetched the window first");
    let text = failure.to_string();
    assert!(text.contains("is full: free some space"), "{text}");
    assert!(text.contains("database or disk is full"), "{text}");
    assert_eq!(t.runs.len(), 2, "October's run and this one: {:?}", t.runs);
    assert_eq!(
        t.runs[0].outcome,
        Some(RunOutcome::Failed {
            kind: "store".into(),
            message: text.clone(),
        }),
        "the journal keeps the failure as reported"
    );
}

#[tokio::test]
async fn a_read_only_database_stops_the_sync_before_it_starts_and_loses_nothing() {
    let t = sync_in_trouble(false, true).await;
    // The run's own record is the first write: refused, so no run.
    let e = t
        .result
        .expect_err("a read-only file refuses the run's own record");
    let chain = format!("{e:#}");
    assert!(
        chain.starts_with("recording the start of the sync run"),
        "{chain}"
    );
    assert!(
        chain.contains("attempt to write a readonly database"),
        "{chain}"
    );
    let fix = hellowatt::store::storage_trouble(&e).expect("a storage trouble");
    assert!(fix.starts_with("the database is read-only"), "{fix}");
    assert!(fix.contains("-wal and -shm"), "{fix}");
    assert_eq!(t.runs.len(), 1, "only October's run: {:?}", t.runs);
    assert_eq!(t.requests, 0, "the guest never ran");
}
