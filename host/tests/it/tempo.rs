//! The Tempo slot end to end: the bundled `tempo` guest in its sandbox,
//! through its own policy, against the simulated Tempo services on real
//! sockets, stored in SQLite.
//!
//! - colours known for the season, tomorrow unknown before the
//!   announcement and known after it;
//! - the service down: a failed run, a retry scheduled, and every colour
//!   already stored kept; the RTE fallback taking over;
//! - each slot's policy: the Tempo slot cannot reach the helloWatt site,
//!   the helloWatt slot cannot reach the Tempo service;
//! - the helloWatt tariff keys and the service agree on the simulated
//!   household, and a disagreement shows.

use hellowatt::config::TempoConfig;
use hellowatt::sandbox::policy::{HttpLimits, Origin};
use hellowatt::sandbox::runtime::{Guest, Limits};
use hellowatt::slot::{Slot, TEMPO_ACCOUNT};
use hellowatt::store::Store;
use hellowatt::sync::tempo::{self, Attempts, Why};
use hellowatt::sync::{self, RunFailure};
use hellowatt_sim::{self as sim, TempoSimMode};
use hellowatt_snapshot::{Date, SyncError, TempoSource};
use std::time::Duration;
use tokio::sync::OnceCell;

static TEMPO_GUEST: OnceCell<Guest> = OnceCell::const_new();

async fn tempo_guest() -> &'static Guest {
    TEMPO_GUEST
        .get_or_init(|| async {
            let (runtime, _) = crate::common::runtime().await;
            runtime
                .load(hellowatt::BUNDLED_TEMPO_GUEST.to_vec(), &Limits::default())
                .await
                .expect("the bundled Tempo guest loads")
        })
        .await
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// One Tempo run of `guest` (the bundled Tempo guest by default) for
/// `today`.
async fn tempo_run(
    guest: Option<&Guest>,
    store: &mut Store,
    cfg: &TempoConfig,
    today: Date,
) -> hellowatt::sync::RunSummary {
    let (runtime, _) = crate::common::runtime().await;
    let guest = match guest {
        Some(g) => g,
        None => tempo_guest().await,
    };
    tempo::run_once(runtime, guest, store, cfg, &Limits::default(), today)
        .await
        .unwrap()
        .expect("a run")
}

fn config(primary: &str, fallback: Option<&str>) -> TempoConfig {
    TempoConfig {
        primary: Origin::parse(primary).unwrap(),
        fallback: fallback.map(|f| Origin::parse(f).unwrap()),
        http: HttpLimits {
            pacing: Duration::ZERO,
            requests: Slot::Tempo.default_requests(),
            ..HttpLimits::default()
        },
        announce_at: (11, 0),
        retry_every: Duration::from_secs(1800),
    }
}

/// The service's colours stored for `[from, to]`: (date, colour word).
fn service_days(store: &Store, from: Date, to: Date) -> Vec<(Date, Option<&'static str>)> {
    store
        .tempo_days(from, to)
        .unwrap()
        .into_iter()
        .filter(|t| t.source == TempoSource::Service)
        .map(|t| (t.date, t.colour.map(|c| c.as_str())))
        .collect()
}

#[tokio::test]
async fn the_season_then_tomorrow_once_announced() {
    let service = sim::start_tempo("127.0.0.1:0".parse().unwrap(), TempoSimMode::Primary)
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&tmp.path().join("t.db")).unwrap();
    let cfg = config(&service.url(), None);
    let today = d("2026-11-28");

    // 10:00: the season so far is known, tomorrow is not.
    service.set_now(Some(today.paris_time_utc(10, 0)));
    let run = tempo_run(None, &mut store, &cfg, today).await;
    assert!(run.failure.is_none(), "{:?}", run.failure);
    // One request per day, 1 September to 29 November.
    assert_eq!(run.traffic.requests, 90, "{:?}", service.served());
    let days = service_days(&store, d("2026-09-01"), d("2026-11-29"));
    assert_eq!(days.len(), 90);
    assert!(days[..89].iter().all(|(_, c)| c.is_some()), "{days:?}");
    assert_eq!(days[89], (d("2026-11-29"), None));
    let facts = tempo::facts(&store, today).unwrap();
    assert_eq!(facts.first_missing, None);
    assert!(!facts.tomorrow_known);
    let now = today.paris_time_utc(10, 1);
    assert_eq!(
        tempo::next_run(now, &facts, &Attempts::default(), &cfg),
        (today.paris_time_utc(11, 0), Why::Tomorrow),
        "tomorrow unknown before 11:00: wait for the announcement"
    );

    // 11:00: one request, for tomorrow only, and it is known.
    service.set_now(Some(today.paris_time_utc(11, 0)));
    let before = service.requests();
    let run = tempo_run(None, &mut store, &cfg, today).await;
    assert!(run.failure.is_none(), "{:?}", run.failure);
    assert_eq!(service.requests() - before, 1);
    assert_eq!(
        service.served().last().map(String::as_str),
        Some("GET /api/jourTempo/2026-11-29 -> 200")
    );
    let facts = tempo::facts(&store, today).unwrap();
    assert!(facts.tomorrow_known);
    assert_eq!(
        tempo::next_run(
            today.paris_time_utc(11, 1),
            &facts,
            &Attempts::default(),
            &cfg
        ),
        (d("2026-11-29").paris_time_utc(11, 0), Why::Tomorrow)
    );
    // The rows are filed under the Tempo pseudo-account, never an account
    // of the configuration.
    assert!(store.meters(Some(TEMPO_ACCOUNT)).unwrap().is_empty());
    service.shutdown().await;
}

#[tokio::test]
async fn a_service_down_keeps_the_known_colours_and_the_fallback_takes_over() {
    let primary = sim::start_tempo("127.0.0.1:0".parse().unwrap(), TempoSimMode::Primary)
        .await
        .unwrap();
    let rte = sim::start_tempo("127.0.0.1:0".parse().unwrap(), TempoSimMode::Rte)
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&tmp.path().join("t.db")).unwrap();
    let today = d("2026-11-28");
    for s in [&primary, &rte] {
        s.set_now(Some(today.paris_time_utc(12, 0)));
    }
    let alone = config(&primary.url(), None);
    let run = tempo_run(None, &mut store, &alone, today).await;
    assert!(run.failure.is_none(), "{:?}", run.failure);
    let known = service_days(&store, d("2026-09-01"), d("2026-11-29"));
    assert_eq!(known.len(), 90);
    assert!(known.iter().all(|(_, c)| c.is_some()));
    let digest = store.content_digest().unwrap();

    // The next day the service is down: the run fails as "unavailable",
    // nothing stored changes, and a retry is scheduled.
    let tomorrow = today.succ();
    primary.set_mode(TempoSimMode::Down);
    primary.set_now(Some(tomorrow.paris_time_utc(12, 0)));
    let run = tempo_run(None, &mut store, &alone, tomorrow).await;
    match &run.failure {
        Some(RunFailure::Guest(SyncError::SiteUnavailable(u))) => {
            assert_eq!(u.status, Some(503));
            assert_eq!(u.retry_after_seconds, Some(60));
        }
        other => panic!("expected site-unavailable, got {other:?}"),
    }
    assert_eq!(store.content_digest().unwrap(), digest, "nothing lost");
    assert_eq!(
        service_days(&store, d("2026-09-01"), d("2026-11-29")),
        known
    );
    let facts = tempo::facts(&store, tomorrow).unwrap();
    let failed = Attempts {
        failures: 1,
        last: Some(tomorrow.paris_time_utc(12, 0)),
    };
    assert_eq!(
        tempo::next_run(tomorrow.paris_time_utc(12, 0), &facts, &failed, &alone),
        (tomorrow.paris_time_utc(12, 30), Why::Retry)
    );

    // With RTE's tempoLight as the fallback, the same run succeeds: one
    // failed request to the default source, then the fallback (a 404 on
    // jourTempo sends the guest to tempoLight on that origin).
    rte.set_now(Some(tomorrow.paris_time_utc(12, 0)));
    let both = config(&primary.url(), Some(&rte.url()));
    let run = tempo_run(None, &mut store, &both, tomorrow).await;
    assert!(run.failure.is_none(), "{:?}", run.failure);
    assert!(
        rte.served()
            .iter()
            .any(|l| l == "GET /cms/open_data/v1/tempoLight -> 200"),
        "{:?}",
        rte.served()
    );
    let after = service_days(&store, d("2026-09-01"), d("2026-11-30"));
    assert_eq!(&after[..90], &known[..]);
    assert!(after[90].1.is_some(), "30 November announced: {after:?}");
    primary.shutdown().await;
    rte.shutdown().await;
}

#[tokio::test]
async fn each_slot_reaches_only_its_own_origins() {
    let (runtime, _) = crate::common::runtime().await;
    let hostile = crate::common::hostile_guest(runtime).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&tmp.path().join("t.db")).unwrap();

    // A Tempo guest gone rogue asks for the helloWatt site: refused, by the
    // policy of the Tempo slot (the default source and the fallback alike).
    let cfg = config(
        hellowatt::config::DEFAULT_TEMPO_URL,
        Some(hellowatt::config::DEFAULT_TEMPO_FALLBACK_URL),
    );
    let run = tempo_run(Some(&hostile), &mut store, &cfg, d("2026-11-28")).await;
    assert!(
        matches!(
            run.failure,
            Some(RunFailure::Guest(SyncError::Transport { .. }))
        ),
        "{:?}",
        run.failure
    );
    assert_eq!(run.traffic.requests, 0, "nothing left the host");
    assert_eq!(run.traffic.denied.len(), 1, "{:?}", run.traffic.denied);
    assert_eq!(
        run.traffic.denied[0].request,
        "GET www.hellowatt.fr/api/homes"
    );
    assert_eq!(
        run.traffic.denied[0].reason,
        "only https://www.services-rte.com is allowed"
    );

    // The helloWatt slot (an account on the helloWatt site) asking for the
    // Tempo service: refused the same way.
    let account = crate::common::config(
        hellowatt::sandbox::policy::DEFAULT_SITE,
        "foreign:https://www.api-couleur-tempo.fr/api/jourTempo/today",
        "x",
        vec![hellowatt_snapshot::DataKind::Homes],
        &tmp.path().join("t.db"),
    );
    let run = sync::run(
        runtime,
        &hostile,
        &mut store,
        &account,
        &account.accounts[0],
        d("2026-11-27"),
        d("2026-11-27"),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            run.failure,
            Some(RunFailure::Guest(SyncError::Transport { .. }))
        ),
        "{:?}",
        run.failure
    );
    assert_eq!(
        run.traffic.denied[0].request,
        "GET www.api-couleur-tempo.fr/api/jourTempo/today"
    );
    assert_eq!(
        run.traffic.denied[0].reason,
        "only https://www.hellowatt.fr is allowed"
    );
}

#[tokio::test]
async fn tariff_keys_and_the_service_agree_on_the_simulated_household() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let today = d("2026-11-28");
    let mut store = crate::common::demo_store(&db, today, d("2026-11-01"), d("2026-11-27")).await;
    let service = sim::start_tempo("127.0.0.1:0".parse().unwrap(), TempoSimMode::Both)
        .await
        .unwrap();
    service.set_now(Some(today.paris_time_utc(12, 0)));
    let cfg = config(&service.url(), None);
    tempo_run(None, &mut store, &cfg, today).await;
    let days = store.tempo_days(d("2026-11-01"), d("2026-11-27")).unwrap();
    let mut compared = 0;
    for t in days.iter().filter(|t| t.source == TempoSource::TariffKeys) {
        let service_colour = days
            .iter()
            .find(|s| s.source == TempoSource::Service && s.date == t.date)
            .and_then(|s| s.colour);
        if let (Some(a), Some(b)) = (t.colour, service_colour) {
            assert_eq!(a, b, "{}", t.date);
            compared += 1;
        }
    }
    assert!(compared >= 25, "only {compared} days compared");
    service.shutdown().await;
}
