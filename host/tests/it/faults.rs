//! Site faults, end to end: the simulated site fails in one way (see
//! `sim/src/faults.rs`), the bundled guest syncs through the HTTP
//! policy into a store that already holds a clean month, and each test
//! checks the typed outcome, its message (key words, no secrets), the
//! scheduler's decision on it, and that the stored data did not change
//! (only the sync-run journal grows; `PRAGMA integrity_check` passes).
//! The table in `docs/hardening.md` ("Site faults") lists every case.

use crate::common::{demo_config, demo_store, runtime};
use hellowatt::config::Config;
use hellowatt::scheduler::{AccountState, Facts, Next, Schedule, Scheduler, Why};
use hellowatt::service::outcome_of;
use hellowatt::store::{RunOutcome, Store};
use hellowatt::sync::{self, RunFailure, RunSummary};
use hellowatt_sim::{self as sim, Fault, FaultScope, RetryAfter, SimMode};
use hellowatt_snapshot::{DataKind, Date, Energy, SyncError, WindowStatus};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

const TODAY: &str = "2026-11-28";
/// The clean month every test starts from, and re-syncs under a fault
/// (it holds the autumn DST day).
const MONTH: (&str, &str) = ("2026-10-01", "2026-10-31");
/// The short request timeout of the trickle tests.
const SHORT_TIMEOUT: Duration = Duration::from_secs(2);
/// What a run under a timeout fault may take beyond the timeout itself.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(3);

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// A database holding the clean month, synced once per test binary; each
/// test works on its own copy.
static TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();

async fn store_with_a_clean_month(dir: &Path) -> (Store, PathBuf) {
    let (_, template) = TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("template.db");
            let store = demo_store(&db, d(TODAY), d(MONTH.0), d(MONTH.1)).await;
            drop(store);
            (dir, db)
        })
        .await;
    let db = dir.join("faults.db");
    std::fs::copy(template, &db).unwrap();
    let wal = template.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, db.with_extension("db-wal")).unwrap();
    }
    (Store::open(&db).unwrap(), db)
}

/// What a faulted run left.
struct Faulted {
    summary: RunSummary,
    store: Store,
    served: Vec<String>,
    took: Duration,
    guest_sha256: String,
}

impl Faulted {
    /// The guest's typed error (a panic if the run ended otherwise).
    fn guest_error(&self) -> &SyncError {
        match &self.summary.failure {
            Some(RunFailure::Guest(e)) => e,
            other => panic!("expected a guest error, got {other:?}; {:#?}", self.served),
        }
    }

    /// The message of a `transport` error (a panic if the run ended
    /// otherwise).
    fn transport_message(&self) -> String {
        assert!(
            matches!(self.guest_error(), SyncError::Transport { .. }),
            "{:?}",
            self.summary.failure
        );
        self.message()
    }

    /// The run's message: the one the journal keeps and the logs show.
    fn message(&self) -> String {
        let message = self
            .summary
            .failure
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        for secret in [sim::DEMO_PASSWORD, "sessionid=", "csrftoken="] {
            assert!(
                !message.contains(secret),
                "a secret in the message: {message}"
            );
        }
        message
    }

    /// The scheduler's state and next step after recording this run, as the
    /// service records it.
    fn decide(&self) -> (AccountState, Next, i64) {
        let guest_sha256 = self.guest_sha256.clone();
        let newest = self
            .store
            .meters(Some("test"))
            .unwrap()
            .into_iter()
            .filter(|m| m.energy == Energy::Electricity)
            .filter_map(|m| m.last_day)
            .min();
        let outcome = outcome_of(&self.summary, newest);
        let facts = Facts {
            backfill_pending: false,
            guest_sha256,
            credentials: "fingerprint".into(),
        };
        let now = d(TODAY).paris_time_utc(15, 30);
        let mut s = Scheduler::new("test", Schedule::default(), AccountState::default(), 7);
        s.record(now, Why::Daily, &outcome, &facts.context());
        let next = s.next(now, &facts.context());
        (s.state().clone(), next, now)
    }

    /// Retry later: a backoff of at least `at_least` seconds, no breaker, no
    /// pause. Returns the wait.
    fn assert_retry_later(&self, at_least: i64) -> i64 {
        let (state, next, now) = self.decide();
        assert!(
            state.breaker.is_none() && state.paused.is_none(),
            "{state:?}"
        );
        assert_eq!(state.consecutive_failures, 1);
        match next {
            Next::At {
                utc,
                why: Why::Retry,
            } => {
                assert!(utc - now >= at_least, "retry in {} s", utc - now);
                utc - now
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    fn assert_paused(&self) {
        let (state, next, _) = self.decide();
        assert!(state.paused.is_some(), "{state:?}");
        assert!(matches!(next, Next::Blocked { .. }), "{next:?}");
    }

    /// Success: no failure counted, the next run is the daily one.
    fn assert_synced(&self) {
        let (state, next, _) = self.decide();
        assert_eq!(state.consecutive_failures, 0);
        assert!(state.not_before.is_none() && state.paused.is_none());
        assert!(matches!(next, Next::At { .. }), "{next:?}");
    }
}

/// Re-syncs the clean month with `fault` on `scope`, and checks what every
/// fault must leave: the run recorded (failed or not, as it ended), the
/// data unchanged, the file sound, and an end well before the limit.
async fn sync_with(fault: Fault, scope: FaultScope, tweak: impl FnOnce(&mut Config)) -> Faulted {
    let (runtime, guest) = runtime().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = store_with_a_clean_month(dir.path()).await;
    let before = store.content_digest().unwrap();
    let runs_before = store.runs(None, 100).unwrap().len();

    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today: d(TODAY) },
    )
    .await
    .unwrap();
    server.set_fault(Some(fault.clone()), scope);
    let mut cfg = demo_config(&server.url(), &db);
    tweak(&mut cfg);
    let started = Instant::now();
    let summary = tokio::time::timeout(
        Duration::from_secs(40),
        sync::run(
            runtime,
            guest,
            &mut store,
            &cfg,
            &cfg.accounts[0],
            d(MONTH.0),
            d(MONTH.1),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("{fault:?}: the run did not end within 40 s"))
    .unwrap();
    let took = started.elapsed();
    let served = server.served();
    server.shutdown().await;

    assert_eq!(
        store.content_digest().unwrap(),
        before,
        "{fault:?} changed the stored data: {:?}",
        summary.stats
    );
    store.integrity_check().unwrap();
    let runs = store.runs(None, 100).unwrap();
    assert_eq!(runs.len(), runs_before + 1, "one run recorded");
    match (&runs[0].outcome, &summary.failure) {
        (Some(RunOutcome::Failed { kind, message }), Some(f)) => {
            assert_eq!(kind, f.kind());
            for secret in [sim::DEMO_PASSWORD, "sessionid=", "csrftoken="] {
                assert!(
                    !message.contains(secret),
                    "a secret in the journal: {message}"
                );
            }
        }
        (Some(RunOutcome::Success), None) => {}
        (recorded, failure) => panic!("recorded {recorded:?} for {failure:?}"),
    }
    Faulted {
        summary,
        store,
        served,
        took,
        guest_sha256: guest.sha256.clone(),
    }
}

/// The `site-unavailable` of the run's first failed part of `kind` (a
/// panic if the run failed, or no such part failed so).
fn failed_unavailable(f: &Faulted, kind: DataKind) -> hellowatt_snapshot::Unavailable {
    assert!(f.summary.failure.is_none(), "{:?}", f.summary.failure);
    f.summary
        .failed
        .iter()
        .filter(|w| w.kind == kind)
        .find_map(|w| match &w.status {
            WindowStatus::Failed(SyncError::SiteUnavailable(u)) => Some(u.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failed {kind:?} part: {:?}", f.summary.failed))
}

fn unavailable_of(f: &Faulted) -> &hellowatt_snapshot::Unavailable {
    match f.guest_error() {
        SyncError::SiteUnavailable(u) => u,
        other => panic!("expected site-unavailable, got {other:?}"),
    }
}

/// Every API call answers `status` (with `Retry-After` as given); the run
/// must end site-unavailable. Returns the run and that error.
async fn status(
    status: u16,
    retry_after: Option<RetryAfter>,
) -> (Faulted, hellowatt_snapshot::Unavailable) {
    let f = sync_with(
        Fault::Status {
            status,
            retry_after,
        },
        FaultScope::Api,
        |_| {},
    )
    .await;
    let u = unavailable_of(&f).clone();
    (f, u)
}

// ---------------------------------------------------------------------------
// Error statuses
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_is_site_unavailable_and_retried_later() {
    let (f, u) = status(500, None).await;
    assert_eq!((u.status, u.retry_after_seconds), (Some(500), None));
    let m = f.message();
    assert!(
        m.contains("HTTP 500") && m.contains("GET /api/homes"),
        "{m}"
    );
    f.assert_retry_later(5 * 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_502_without_retry_after_backs_off() {
    let (f, u) = status(502, None).await;
    assert_eq!((u.status, u.retry_after_seconds), (Some(502), None));
    assert!(f.message().contains("HTTP 502"), "{}", f.message());
    // The first backoff: 5 min plus at most 20 % jitter.
    let wait = f.assert_retry_later(5 * 60);
    assert!(wait <= 6 * 60, "{wait}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_502_with_retry_after_seconds_waits_that_long() {
    let (f, u) = status(502, Some(RetryAfter::Seconds(7200))).await;
    assert_eq!((u.status, u.retry_after_seconds), (Some(502), Some(7200)));
    assert_eq!(f.assert_retry_later(7200), 7200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_without_retry_after_backs_off() {
    let (f, u) = status(503, None).await;
    assert_eq!((u.status, u.retry_after_seconds), (Some(503), None));
    assert!(f.message().contains("HTTP 503"), "{}", f.message());
    f.assert_retry_later(5 * 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_with_retry_after_date_waits_until_then() {
    let (f, u) = status(503, Some(RetryAfter::DateIn(3 * 3600))).await;
    assert_eq!(
        (u.status, u.retry_after_seconds),
        (Some(503), Some(3 * 3600))
    );
    assert_eq!(f.assert_retry_later(3 * 3600), 3 * 3600);
}

// ---------------------------------------------------------------------------
// Pages and bodies
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_page_with_200_is_site_unavailable() {
    let f = sync_with(
        Fault::Maintenance {
            status: 200,
            retry_after: None,
        },
        FaultScope::Api,
        |_| {},
    )
    .await;
    let u = unavailable_of(&f);
    assert_eq!(u.status, Some(200));
    let m = f.message();
    assert!(
        m.contains("maintenance") && m.contains("Maintenance en cours"),
        "{m}"
    );
    f.assert_retry_later(5 * 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_page_with_503_on_one_series_fails_that_part_only() {
    let f = sync_with(
        Fault::Maintenance {
            status: 503,
            retry_after: Some(RetryAfter::Seconds(1800)),
        },
        FaultScope::PathContaining("sge_measures/conso_daily".into()),
        |_| {},
    )
    .await;
    // The curve, the gas and the temperature of the month are read; the
    // daily electricity is the one failed part, with the site's words.
    let u = failed_unavailable(&f, DataKind::ElectricityDaily);
    assert_eq!((u.status, u.retry_after_seconds), (Some(503), Some(1800)));
    assert!(u.detail.contains("maintenance"), "{}", u.detail);
    assert_eq!(f.summary.failed.len(), 1, "{:?}", f.summary.failed);
    f.assert_synced();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_a_site_change_and_pauses() {
    let f = sync_with(Fault::InvalidJson, FaultScope::Api, |_| {}).await;
    match f.guest_error() {
        SyncError::SiteChanged(c) => assert_eq!(c.location, "GET /api/homes"),
        other => panic!("{other:?}"),
    }
    let m = f.message();
    assert!(
        m.contains("expected JSON") && m.contains("does not parse"),
        "{m}"
    );
    f.assert_paused();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_is_site_unavailable_not_a_site_change() {
    let f = sync_with(
        Fault::TruncatedJson,
        FaultScope::PathContaining("sge_measures/courbe".into()),
        |_| {},
    )
    .await;
    // Each of the month's five curve weeks fails alone, as a broken
    // delivery; nothing pauses the account.
    let u = failed_unavailable(&f, DataKind::ElectricityCurve);
    assert_eq!(u.status, Some(200));
    assert!(
        u.detail.contains("cut short") && u.detail.contains("sge_measures/courbe"),
        "{}",
        u.detail
    );
    assert_eq!(f.summary.failed.len(), 5, "{:?}", f.summary.failed);
    f.assert_synced();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_by_the_host() {
    let f = sync_with(
        Fault::Oversized {
            bytes: 2 * 1024 * 1024,
        },
        FaultScope::Api,
        |cfg| cfg.http.max_response_bytes = 1024 * 1024,
    )
    .await;
    let m = f.transport_message();
    assert!(
        m.contains("larger than the host's limit of 1048576 bytes") && m.contains("/api/homes"),
        "{m}"
    );
    assert!(
        f.summary.traffic.bytes_received <= 1024 * 1024,
        "{:?}",
        f.summary.traffic
    );
    f.assert_retry_later(5 * 60);
}

// ---------------------------------------------------------------------------
// The connection
// ---------------------------------------------------------------------------

/// A trickle with the short timeout: it must end in a read timeout, at the
/// timeout, and be retried later.
async fn trickle_times_out(chunk: usize, every: Duration) {
    let f = sync_with(Fault::Trickle { chunk, every }, FaultScope::Api, |cfg| {
        cfg.http.request_timeout = SHORT_TIMEOUT
    })
    .await;
    // The host reads the whole answer before the guest sees it: the
    // request itself fails with the timeout.
    let m = f.transport_message();
    assert!(m.contains("/api/homes: read timeout"), "{m}");
    // The faulted answer is waited for the whole timeout and no longer; the
    // margin is for the rest of the run (instantiation, log-in, homes).
    assert!(
        f.took >= SHORT_TIMEOUT && f.took < SHORT_TIMEOUT + TIMEOUT_MARGIN,
        "the run took {:?}, not the {SHORT_TIMEOUT:?} timeout (+ at most {TIMEOUT_MARGIN:?})",
        f.took
    );
    f.assert_retry_later(5 * 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_trickle_hits_the_timeout() {
    // A chunk, then nothing for longer than the timeout.
    trickle_times_out(16, Duration::from_secs(4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_hits_the_timeout_of_the_whole_request() {
    // Bytes keep coming (a gap well under the timeout) but the answer takes
    // far longer than the timeout in all.
    trickle_times_out(4, Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_answer_is_a_transport_error() {
    let f = sync_with(Fault::ConnectionReset, FaultScope::Api, |_| {}).await;
    let m = f.transport_message();
    assert!(
        m.contains("/api/homes") && m.contains("the connection broke off"),
        "{m}"
    );
    f.assert_retry_later(5 * 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_not_followed_for_ever() {
    let f = sync_with(Fault::RedirectLoop, FaultScope::Api, |_| {}).await;
    match f.guest_error() {
        SyncError::SiteChanged(c) => assert_eq!(c.location, "GET /api/homes"),
        other => panic!("{other:?}"),
    }
    let m = f.message();
    assert!(m.contains("HTTP 302") && m.contains("not followed"), "{m}");
    // The request and three same-origin redirects followed, then no more.
    let api: Vec<_> = f.served.iter().filter(|l| l.contains("/api/")).collect();
    assert_eq!(api.len(), 4, "{api:#?}");
    f.assert_paused();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_never_sticks_logs_in_once_more_then_gives_up() {
    for status in [401, 403] {
        let f = sync_with(
            Fault::SessionNeverSticks { status },
            FaultScope::Api,
            |_| {},
        )
        .await;
        assert!(
            matches!(f.guest_error(), SyncError::SessionLost { .. }),
            "{:?}",
            f.summary.failure
        );
        let m = f.message();
        assert!(
            m.contains(&status.to_string()) && m.contains("logging in again"),
            "{m}"
        );
        let logins = f
            .served
            .iter()
            .filter(|l| l.starts_with("POST /accounts/login/"))
            .count();
        assert_eq!(logins, 2, "{:#?}", f.served);
        // Not the breaker: the password was accepted every time.
        f.assert_retry_later(5 * 60);
    }
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

/// A benign data fault: the run succeeds and stores nothing new.
fn assert_benign(f: &Faulted) {
    assert!(
        f.summary.failure.is_none(),
        "{:?}\n{:#?}",
        f.summary.failure,
        f.served
    );
    assert_eq!(
        f.summary.stats.inserted + f.summary.stats.updated + f.summary.stats.revisions,
        0,
        "{:?}",
        f.summary.stats
    );
    f.assert_synced();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_values_never_erase_stored_values() {
    let f = sync_with(Fault::NullValues, FaultScope::Api, |_| {}).await;
    assert_benign(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_days_keep_the_first_value() {
    let f = sync_with(Fault::DuplicatedDays, FaultScope::Api, |_| {}).await;
    assert_benign(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_out_of_order_are_taken_in_any_order() {
    let f = sync_with(Fault::DaysOutOfOrder, FaultScope::Api, |_| {}).await;
    assert_benign(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_outside_the_window_is_dropped() {
    let f = sync_with(Fault::DayOutsideWindow, FaultScope::Api, |_| {}).await;
    assert_benign(&f);
    let elec = f
        .store
        .meters(Some("test"))
        .unwrap()
        .into_iter()
        .find(|m| m.energy == Energy::Electricity)
        .unwrap();
    assert!(
        f.store
            .daily(&elec.meter_id, d("2026-09-30"), d("2026-09-30"))
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .daily(&elec.meter_id, d("2026-11-01"), d("2026-11-01"))
            .unwrap()
            .is_empty()
    );
}
