//! The EcoWatt slot end to end: the bundled `ecowatt` guest in its sandbox,
//! its requests carrying the bearer token the host got from RTE's token
//! endpoint with the client credentials it keeps, against the simulated
//! RTE EcoWatt service on a real socket, stored in SQLite.
//!
//! - the signals stored, the token reused while fresh and renewed before
//!   it expires, RTE's 15 minutes kept, a 429 honoured;
//! - refused credentials, a token RTE no longer takes, a changed answer,
//!   tomorrow not published, a service down: what is stored is kept and
//!   `status` says why, without a secret;
//! - a hostile guest in the EcoWatt slot never sees the client secret nor
//!   the token (the same proof as for the helloWatt password).

use hellowatt::config::{EcowattConfig, Secret};
use hellowatt::sandbox::policy::{Crossing, HttpLimits, Origin};
use hellowatt::sandbox::runtime::{Guest, Limits};
use hellowatt::slot::{ECOWATT_ACCOUNT, Slot};
use hellowatt::store::{RunOutcome, Store};
use hellowatt::sync::ecowatt::{self, Attempts, Failure, Ran, Why};
use hellowatt::sync::rte_token::TokenBroker;
use hellowatt::sync::{self, Part, RunFailure, Target};
use hellowatt_sim::{self as sim, DEMO_RTE_CLIENT_ID, DEMO_RTE_CLIENT_SECRET, EcoWattSimMode};
use hellowatt_snapshot::{DataKind, Date, SyncError};
use std::time::Duration;
use tokio::sync::OnceCell;

static ECOWATT_GUEST: OnceCell<Guest> = OnceCell::const_new();

async fn ecowatt_guest() -> &'static Guest {
    ECOWATT_GUEST
        .get_or_init(|| async {
            let (runtime, _) = crate::common::runtime().await;
            runtime
                .load(
                    hellowatt::BUNDLED_ECOWATT_GUEST.to_vec(),
                    &Limits::default(),
                )
                .await
                .expect("the bundled EcoWatt guest loads")
        })
        .await
}

fn config(url: &str, secret: &str) -> EcowattConfig {
    EcowattConfig {
        origin: Origin::parse(url).unwrap(),
        client_id: Secret::new(DEMO_RTE_CLIENT_ID),
        client_secret: Secret::new(secret),
        http: HttpLimits {
            pacing: Duration::ZERO,
            max_requests: 4,
            requests: Slot::Ecowatt.default_requests(),
            ..HttpLimits::default()
        },
        every: Duration::from_secs(3600),
    }
}

async fn run(store: &mut Store, cfg: &EcowattConfig, broker: &TokenBroker, now: i64) -> Ran {
    let (runtime, _) = crate::common::runtime().await;
    ecowatt::run_once(
        runtime,
        ecowatt_guest().await,
        store,
        cfg,
        broker,
        &Limits::default(),
        Date::paris_day_of(now),
        now,
    )
    .await
    .expect("the run is recorded")
}

/// The run's failure as the contract names it, `None` for a success.
fn failure(ran: &Ran) -> Option<String> {
    match ran {
        Ran::Guest(s) => s.failure.as_ref().map(|f| f.kind().to_string()),
        Ran::NoToken { error, .. } => Some(error.kind().to_string()),
    }
}

/// Stored days from `today`: (date, day level, hour levels).
fn stored(store: &Store, today: Date) -> Vec<(Date, Option<u8>, Vec<u8>)> {
    store
        .ecowatt(today, today.add_days(3))
        .unwrap()
        .into_iter()
        .map(|d| (d.date, d.level, d.hours.iter().map(|h| h.level).collect()))
        .collect()
}

#[tokio::test]
async fn signals_are_stored_with_the_hosts_token_within_rtes_limit() {
    let service = sim::start_ecowatt("127.0.0.1:0".parse().unwrap(), EcoWattSimMode::Normal)
        .await
        .unwrap();
    let cfg = config(&service.url(), DEMO_RTE_CLIENT_SECRET);
    let broker = TokenBroker::new(&cfg);
    let mut store = Store::open_in_memory().unwrap();
    let now = hellowatt::clock::now_utc();
    let today = Date::paris_day_of(now);

    let first = run(&mut store, &cfg, &broker, now).await;
    assert_eq!(failure(&first), None, "{first:?}");
    let Ran::Guest(summary) = &first else {
        unreachable!()
    };
    assert_eq!(summary.traffic.requests, 1, "one signals request a run");
    assert_eq!(broker.tokens_asked(), 1);
    let days = stored(&store, today);
    assert_eq!(
        days.iter().map(|d| d.0).collect::<Vec<_>>(),
        (0..4).map(|i| today.add_days(i)).collect::<Vec<_>>(),
        "today and the three days after"
    );
    for (date, level, hours) in &days {
        let hours_in_day = (date.succ().paris_midnight_utc() - date.paris_midnight_utc()) / 3600;
        assert_eq!(hours.len() as i64, hours_in_day, "{date}: every hour");
        // The day's level is its worst hour (at least green).
        assert_eq!(
            *level,
            hours.iter().copied().max().map(|m| m.max(1)),
            "{date}"
        );
    }
    let starts: Vec<i64> = store
        .ecowatt(today, today)
        .unwrap()
        .remove(0)
        .hours
        .iter()
        .map(|h| h.start)
        .collect();
    assert_eq!(starts[0], today.paris_midnight_utc());
    assert!(starts.windows(2).all(|w| w[1] - w[0] == 3600));

    // The schedule: the next call an hour after this one.
    // (A run is filed at the clock's time.)
    let facts = ecowatt::facts(&store, today).unwrap();
    let last = facts.last_run.expect("the run is filed");
    assert!((last - now).abs() <= 5, "{last} vs {now}");
    assert_eq!(
        ecowatt::next_run(now, &facts, &Attempts::default(), cfg.every),
        (last + 3600, Why::Refresh)
    );

    // A call a minute later (another client of the application, say):
    // RTE's 429, the token reused, the days kept, the next call 15
    // minutes after.
    let early = run(&mut store, &cfg, &broker, now + 60).await;
    assert_eq!(failure(&early).as_deref(), Some("rate-limited"));
    assert_eq!(early.failure(), Some(Failure::RateLimited(None)));
    assert_eq!(broker.tokens_asked(), 1, "a fresh token is reused");
    assert_eq!(stored(&store, today), days, "a 429 loses nothing");
    let attempts = Attempts {
        failures: 1,
        last_failure: early.failure(),
    };
    let facts = ecowatt::facts(&store, today).unwrap();
    let last = facts.last_run.expect("the run is filed");
    assert_eq!(
        ecowatt::next_run(last + 1, &facts, &attempts, cfg.every),
        (last + ecowatt::RTE_PERIOD, Why::RateLimited)
    );

    // Two hours on, RTE's token has expired: the broker asked for a new
    // one before using it (the old one would be refused).
    service.reset_rate_limit();
    service.set_now(Some(now + 7200));
    let later = run(&mut store, &cfg, &broker, now + 7200).await;
    assert_eq!(failure(&later), None, "{later:?}");
    assert_eq!(broker.tokens_asked(), 2);
    // Every request the service saw: two tokens, three signals calls.
    let served = service.served();
    assert_eq!(
        served
            .iter()
            .filter(|l| l.contains("/token/oauth/"))
            .count(),
        2,
        "{served:?}"
    );
    service.shutdown().await;
}

#[tokio::test]
async fn refusals_changes_and_unpublished_days_keep_what_is_stored_and_say_why() {
    let service = sim::start_ecowatt("127.0.0.1:0".parse().unwrap(), EcoWattSimMode::TodayOnly)
        .await
        .unwrap();
    let cfg = config(&service.url(), DEMO_RTE_CLIENT_SECRET);
    let broker = TokenBroker::new(&cfg);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ecowatt.db");
    let mut store = Store::open(&db).unwrap();
    let now = hellowatt::clock::now_utc();
    let today = Date::paris_day_of(now);
    let mut next = {
        let service = &service;
        let mut at = now;
        move |mode| {
            service.reset_rate_limit();
            service.set_mode(mode);
            at += 1;
            at
        }
    };

    // Tomorrow not published yet: today alone, the run a success.
    let at = next(EcoWattSimMode::TodayOnly);
    let r = run(&mut store, &cfg, &broker, at).await;
    assert_eq!(failure(&r), None);
    assert_eq!(stored(&store, today).len(), 1);
    // Then published: four days.
    let at = next(EcoWattSimMode::Normal);
    assert_eq!(failure(&run(&mut store, &cfg, &broker, at).await), None);
    let known = stored(&store, today);
    assert_eq!(known.len(), 4);

    // A changed answer, the service down: failures that keep every level.
    let at = next(EcoWattSimMode::Changed);
    let r = run(&mut store, &cfg, &broker, at).await;
    assert!(
        matches!(&r, Ran::Guest(s) if matches!(s.failure, Some(RunFailure::Guest(SyncError::SiteChanged(_))))),
        "{r:?}"
    );
    assert_eq!(r.failure(), Some(Failure::Other));
    let at = next(EcoWattSimMode::Down);
    let r = run(&mut store, &cfg, &broker, at).await;
    assert_eq!(failure(&r).as_deref(), Some("site-unavailable"));
    assert_eq!(stored(&store, today), known, "failures lose nothing");

    // RTE no longer takes the token in hand (revoked, or the clocks
    // disagree): the guest's run fails as refused, the broker forgets the
    // token, and the next run gets another.
    let at = next(EcoWattSimMode::Normal);
    service.set_now(Some(at + 3 * 3600));
    let asked = broker.tokens_asked();
    let r = run(&mut store, &cfg, &broker, at).await;
    assert_eq!(failure(&r).as_deref(), Some("credentials-rejected"));
    assert_eq!(r.failure(), Some(Failure::Refused));
    let at = next(EcoWattSimMode::Normal);
    assert_eq!(failure(&run(&mut store, &cfg, &broker, at).await), None);
    assert_eq!(broker.tokens_asked(), asked + 1);
    service.set_now(None);

    // Credentials RTE refuses: no guest run, a failed run filed with the
    // words to fix it and RTE's error code, never the secret.
    for (secret, mode) in [
        ("Wr0ng-Rte-Secret-4410", EcoWattSimMode::Normal),
        (DEMO_RTE_CLIENT_SECRET, EcoWattSimMode::TokenRefused),
    ] {
        let at = next(mode);
        let cfg = config(&service.url(), secret);
        let r = run(&mut store, &cfg, &TokenBroker::new(&cfg), at).await;
        let Ran::NoToken { error, .. } = &r else {
            panic!("{r:?}")
        };
        let text = error.to_string();
        assert!(
            text.contains("RTE refused the client credentials (HTTP 401, invalid_client)")
                && text.contains("rte_client_id"),
            "{text}"
        );
        assert!(!text.contains(secret) && !text.contains(DEMO_RTE_CLIENT_ID));
        assert_eq!(r.failure(), Some(Failure::Refused));
        let last = store.runs(Some(ECOWATT_ACCOUNT), 1).unwrap().remove(0);
        assert!(
            matches!(&last.outcome, Some(RunOutcome::Failed { kind, .. }) if kind == "credentials-rejected"),
            "{:?}",
            last.outcome
        );
    }
    assert_eq!(stored(&store, today), known);

    // `status` says it all in sentences: on, the stored days, the refusal.
    let mut whole = crate::common::demo_config("https://www.hellowatt.fr", &db);
    whole.ecowatt = Some(cfg.clone());
    let report = hellowatt::cli::status::report(&store, &whole, 20, now).unwrap();
    println!("{report}");
    assert!(
        report.contains("EcoWatt is on: RTE's signals are asked of"),
        "{report}"
    );
    assert!(report.contains("Today, "), "{report}");
    assert!(
        report.contains("RTE refused the client credentials"),
        "{report}"
    );
    for secret in [DEMO_RTE_CLIENT_SECRET, DEMO_RTE_CLIENT_ID] {
        assert!(!report.contains(secret));
    }
    crate::common::assert_plain_sentences(&report);
    // Off: how to turn it on.
    whole.ecowatt = None;
    let report = hellowatt::cli::status::report(&store, &whole, 1, now).unwrap();
    assert!(report.contains(hellowatt::config::ECOWATT_OFF), "{report}");
    assert!(report.contains("rte_client_id and rte_client_secret_file"));
    service.shutdown().await;
}

/// The hostile guest's `ecowatt-leak` run in the EcoWatt slot, traced:
/// every attempt of its own at RTE's credentials is refused, the client
/// secret never crosses the guest's door, and the token crosses it only in
/// the `Authorization` header the host sends, scrubbed from an answer that
/// echoes it; the logs and the store hold neither.
#[tokio::test(flavor = "current_thread")]
async fn a_hostile_guest_in_the_ecowatt_slot_never_sees_the_secret_or_the_token() {
    let (logs, _guards) = crate::common::Logs::capture();
    let service = sim::start_ecowatt(
        "127.0.0.1:0".parse().unwrap(),
        EcoWattSimMode::EchoAuthorization,
    )
    .await
    .unwrap();
    let cfg = config(&service.url(), DEMO_RTE_CLIENT_SECRET);
    let broker = TokenBroker::new(&cfg);
    let (runtime, _) = crate::common::runtime().await;
    let hostile = crate::common::hostile_guest(runtime).await;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ecowatt.db");
    let mut store = Store::open(&db).unwrap();
    let now = hellowatt::clock::now_utc();
    let today = Date::paris_day_of(now);
    // The run as `ecowatt::run_once` makes it, with a trace.
    let token = broker.token(now).await.unwrap();
    let target = Target {
        account: ECOWATT_ACCOUNT,
        origin: &cfg.origin,
        http: &cfg.http,
        limits: &Limits::default(),
        login: "",
        password: "",
        kinds: &[DataKind::Ecowatt],
        progress: None,
    };
    let hooks = sync::hooks_for(&target)
        .with_bearer(token.expose())
        .with_trace();
    let summary = sync::run_with_hooks(
        runtime,
        &hostile,
        &mut store,
        &target,
        &[Part::whole(today, today.add_days(3))],
        hooks.clone(),
    )
    .await
    .unwrap();
    assert!(summary.failure.is_none(), "{:?}", summary.failure);

    // Its own credentials and RTE's token endpoint: refused, each named.
    let denied: Vec<String> = hooks
        .traffic()
        .denied
        .iter()
        .map(|d| format!("{}: {}", d.request, d.reason))
        .collect();
    println!("{denied:#?}");
    assert_eq!(denied.len(), 4, "{denied:#?}");
    assert_eq!(
        denied
            .iter()
            .filter(|d| d.contains("the guest set an Authorization header"))
            .count(),
        2
    );
    assert_eq!(
        denied
            .iter()
            .filter(|d| d.contains("/token/oauth/") && d.contains("GET /open_api/ecowatt/*"))
            .count(),
        2,
        "{denied:#?}"
    );

    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{DEMO_RTE_CLIENT_ID}:{DEMO_RTE_CLIENT_SECRET}"))
    };
    let secrets = [DEMO_RTE_CLIENT_SECRET, basic.as_str(), token.expose()];
    let contains =
        |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    let crossings = hooks.crossings();
    let mut token_sent = 0;
    let mut echoed = 0;
    for c in &crossings {
        match c {
            Crossing::Left {
                headers, body, uri, ..
            } => {
                for (k, v) in headers {
                    if v.contains(token.expose()) {
                        assert_eq!(k, "authorization", "the token only as the host's header");
                        assert_eq!(v, &format!("Bearer {}", token.expose()));
                        token_sent += 1;
                    }
                    assert!(
                        !v.contains(DEMO_RTE_CLIENT_SECRET) && !v.contains(&basic),
                        "{k}"
                    );
                }
                for s in secrets {
                    assert!(
                        !contains(body, s) && !uri.contains(s),
                        "a secret left in {uri}"
                    );
                }
            }
            Crossing::Handed { headers, body, .. } => {
                for s in secrets {
                    assert!(!contains(body, s), "the guest read a secret");
                    assert!(headers.iter().all(|(_, v)| !v.contains(s)));
                }
                if contains(body, hellowatt_browser::scrub::HELD_TOKEN) {
                    echoed += 1;
                }
            }
        }
    }
    assert_eq!(
        token_sent, 1,
        "the one signals request the host let through"
    );
    assert_eq!(echoed, 1, "the service's echo reached the guest scrubbed");

    // The logs (the guest's own lines included) and the store.
    let logs = logs.bytes();
    assert!(contains(&logs, "ecowatt-leak: the signals: HTTP 200"));
    assert!(contains(&logs, "seen: "));
    drop(store);
    // The database's bytes, its WAL included: a secret stored as text in
    // any table would be there as it is.
    let mut dump = std::fs::read(&db).unwrap();
    dump.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    let issued = sim::issued_secrets();
    for s in secrets
        .iter()
        .copied()
        .chain(issued.iter().map(String::as_str))
    {
        assert!(!contains(&logs, s), "a secret in the logs");
        assert!(!contains(&dump, s), "a secret in the database");
    }
    service.shutdown().await;
}

/// `hellowatt doctor` asks RTE for a token with the configured application
/// (never the signals: RTE's one call every 15 minutes is the service's),
/// and when RTE refuses it, says which keys to check, without the secret.
#[tokio::test]
async fn doctor_checks_the_rte_application_without_spending_a_call() {
    let today = hellowatt::clock::today();
    let site = sim::start("127.0.0.1:0".parse().unwrap(), sim::SimMode::Demo { today })
        .await
        .unwrap();
    let service = sim::start_ecowatt("127.0.0.1:0".parse().unwrap(), EcoWattSimMode::Normal)
        .await
        .unwrap();
    let (runtime, guest) = crate::common::runtime().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut whole = crate::common::demo_config(&site.url(), &tmp.path().join("doctor.db"));
    for (secret, accepted) in [
        (DEMO_RTE_CLIENT_SECRET, true),
        ("Wr0ng-Rte-Secret-4410", false),
    ] {
        whole.ecowatt = Some(config(&service.url(), secret));
        let account = whole.accounts[0].clone();
        let report =
            hellowatt::cli::doctor::diagnose(runtime, guest, None, &whole, &account, today)
                .await
                .unwrap();
        let text = report.render();
        println!("{text}");
        let line = text
            .lines()
            .find(|l| l.starts_with("RTE EcoWatt token"))
            .expect("an EcoWatt step");
        assert!(!text.contains(secret), "{text}");
        if accepted {
            assert!(
                line.contains("ok: RTE gave the application a token"),
                "{line}"
            );
            assert!(report.ok(), "{text}");
        } else {
            assert!(
                line.contains(
                    "FAILED: credentials-rejected: RTE refused the client credentials (HTTP 401, \
                     invalid_client)"
                ),
                "{line}"
            );
            assert!(
                text.contains("RTE EcoWatt token failed: RTE refused the client credentials"),
                "{text}"
            );
        }
    }
    let served = service.served();
    assert!(served.iter().all(|l| !l.contains("/signals")), "{served:?}");
    whole.ecowatt = None;
    let account = whole.accounts[0].clone();
    let text = hellowatt::cli::doctor::diagnose(runtime, guest, None, &whole, &account, today)
        .await
        .unwrap()
        .render();
    assert!(
        text.contains("RTE EcoWatt token") && text.contains("skipped: EcoWatt is off"),
        "{text}"
    );
    site.shutdown().await;
    service.shutdown().await;
}
