//! The database failing a write in the middle of a sync: a full disk (the
//! file may not grow) and a read-only file. Each run fails with the store's
//! trouble named and what to do, nothing stored changes (same content
//! digest, `PRAGMA integrity_check` ok), and once the trouble is gone the
//! next sync stores the window as if nothing had happened.

mod common;

use hellowatt::sim::{self, SimMode};
use hellowatt::store::Store;
use hellowatt::sync::{self, RunFailure};
use hellowatt_snapshot::Date;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// Syncs November into a store holding October, with the store in
/// trouble; returns the failure's text.
async fn sync_in_trouble(full_disk: bool, read_only: bool) -> String {
    let (runtime, guest) = common::runtime().await;
    let today = d("2026-11-28");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let mut store = common::demo_store(&db, today, d("2026-10-01"), d("2026-10-31")).await;
    let before = store.content_digest().unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let cfg = common::demo_config(&server.url(), &db);
    let (from, to) = (d("2026-11-01"), d("2026-11-27"));

    store.simulate_write_trouble(full_disk, read_only).unwrap();
    let text = match sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to).await {
        Ok(summary) => match summary.failure {
            Some(f @ RunFailure::Store(_)) => f.to_string(),
            other => panic!("expected the store's trouble, got {other:?}"),
        },
        // The run's own record could not be written either: the error
        // still names the trouble.
        Err(e) => {
            let fix = hellowatt::store::storage_trouble(&e).expect("a storage trouble");
            format!("{fix} ({e:#})")
        }
    };
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
    text
}

#[tokio::test]
async fn a_full_disk_fails_the_run_and_loses_nothing() {
    let text = sync_in_trouble(true, false).await;
    assert!(text.contains("is full: free some space"), "{text}");
    assert!(text.contains("database or disk is full"), "{text}");
}

#[tokio::test]
async fn a_read_only_database_fails_the_run_and_loses_nothing() {
    let text = sync_in_trouble(false, true).await;
    assert!(text.contains("the database is read-only"), "{text}");
    assert!(text.contains("-wal and -shm"), "{text}");
}
