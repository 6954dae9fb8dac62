//! End to end through real sockets: the simulated site on 127.0.0.1, the
//! bundled guest in its sandbox behind the HTTP policy, the SQLite store.
//! Every recorded scenario is served statefully by the simulated site; the
//! stored rows are checked against the golden outcome, and a second sync of
//! the same range leaves the database content unchanged.

use crate::common::{config, runtime};
use hellowatt::sandbox::runtime::Limits;
use hellowatt::slot::Slot;
use hellowatt::store::Store;
use hellowatt::sync::{self, RunFailure};
use hellowatt_fixtures::{Scenario, load_scenarios, scenarios_dir};
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::{Date, Outcome, Snapshot, SyncError, WindowStatus};

/// Syncs a scenario's whole range in one guest call, as it was recorded.
async fn sync_scenario(s: &Scenario, store: &mut Store, db: &std::path::Path) -> sync::RunSummary {
    let (runtime, guest) = runtime().await;
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Scenario(s.clone()))
        .await
        .unwrap();
    let cfg = config(
        &server.url(),
        &s.request.login,
        &s.request.password,
        s.request.kinds.clone(),
        db,
    );
    let summary = sync::run_windows(
        runtime,
        guest,
        store,
        &cfg,
        &cfg.accounts[0],
        &[(s.request.start, s.request.end)],
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e:#}", s.name));
    let served = server.served();
    server.shutdown().await;
    assert!(
        !served.iter().any(|l| l.contains("-> 404")),
        "{}: the guest asked for something the site does not serve: {served:#?}",
        s.name
    );
    summary
}

fn approx(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// The store holds exactly what the golden snapshot says.
fn check_stored(name: &str, store: &Store, golden: &Snapshot, from: Date, to: Date) {
    let meters = store.meters(None).unwrap();
    for home in &golden.homes {
        for m in &home.meters {
            assert!(
                meters
                    .iter()
                    .any(|r| r.meter_id == m.id && r.home_id == home.id),
                "{name}: meter {} not stored",
                m.id
            );
        }
    }
    let mut daily_count = 0;
    for m in &meters {
        let stored = store.daily(&m.meter_id, from, to).unwrap();
        daily_count += stored.len();
        for row in stored {
            let r = &row.reading;
            let g = golden
                .daily
                .iter()
                .find(|g| g.meter_id == r.meter_id && g.date == r.date)
                .unwrap_or_else(|| {
                    panic!(
                        "{name}: stored a day the golden lacks: {} {}",
                        r.meter_id, r.date
                    )
                });
            for (field, a, b) in [
                ("kwh", r.amounts.kwh, g.amounts.kwh),
                ("eur", r.amounts.eur, g.amounts.eur),
                (
                    "subscription_eur",
                    r.amounts.subscription_eur,
                    g.amounts.subscription_eur,
                ),
                ("co2_kg", r.amounts.co2_kg, g.amounts.co2_kg),
                (
                    "solar_production_kwh",
                    r.amounts.solar_production_kwh,
                    g.amounts.solar_production_kwh,
                ),
                (
                    "injection_kwh",
                    r.amounts.injection_kwh,
                    g.amounts.injection_kwh,
                ),
                (
                    "injection_eur",
                    r.amounts.injection_eur,
                    g.amounts.injection_eur,
                ),
            ] {
                assert!(
                    approx(a, b),
                    "{name}: {} {} {field}: stored {a:?}, golden {b:?}",
                    r.meter_id,
                    r.date
                );
            }
            assert_eq!(
                r.periods.len(),
                g.periods.len(),
                "{name}: {} {} periods",
                r.meter_id,
                r.date
            );
            for p in &g.periods {
                let q = r
                    .periods
                    .iter()
                    .find(|q| q.period == p.period)
                    .expect("period stored");
                assert!(
                    approx(q.kwh, p.kwh) && approx(q.eur, p.eur),
                    "{name}: period {} of {}",
                    p.period,
                    r.date
                );
            }
        }
        let curve = store.curve(&m.meter_id, from, to).unwrap();
        let golden_curve: Vec<_> = golden
            .curve
            .iter()
            .filter(|p| p.meter_id == m.meter_id)
            .collect();
        assert_eq!(
            curve.len(),
            golden_curve.len(),
            "{name}: curve points of {}",
            m.meter_id
        );
        for (a, b) in curve.iter().zip(golden_curve) {
            assert!(
                a.start == b.start && approx(a.kwh, b.kwh),
                "{name}: curve point {}",
                b.start
            );
        }
    }
    assert_eq!(
        daily_count,
        golden.daily.len(),
        "{name}: daily readings stored"
    );
    let tempo = store.tempo_days(from, to).unwrap();
    assert_eq!(tempo.len(), golden.tempo_days.len(), "{name}: tempo days");
    for t in &golden.tempo_days {
        assert!(
            tempo
                .iter()
                .any(|s| s.date == t.date && s.colour == t.colour),
            "{name}: tempo {}",
            t.date
        );
    }
    let mut temps = 0;
    for h in &golden.homes {
        temps += store.temperatures(&h.id, from, to).unwrap().len();
    }
    assert_eq!(temps, golden.temperatures.len(), "{name}: temperatures");
    assert_eq!(
        store.contracts(None).unwrap().len(),
        golden.contracts.len(),
        "{name}: contracts"
    );
    let windows = store.windows(None).unwrap();
    for w in &golden.windows {
        let s = windows
            .iter()
            .find(|s| {
                s.window.subject == w.subject
                    && s.window.kind == w.kind
                    && s.window.start == w.start
            })
            .unwrap_or_else(|| {
                panic!(
                    "{name}: window {} {:?} {} not stored",
                    w.subject, w.kind, w.start
                )
            });
        assert_eq!(
            s.window.status, w.status,
            "{name}: window {} {}",
            w.subject, w.start
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_through_the_simulated_site() {
    let scenarios = load_scenarios(&scenarios_dir()).unwrap();
    assert!(scenarios.len() >= 15);
    for s in &scenarios {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e2e.db");
        let mut store = Store::open(&db).unwrap();
        let first = sync_scenario(s, &mut store, &db).await;
        match &s.golden {
            Outcome::Snapshot(golden) => {
                // A daily series the guest no longer reads still fails the
                // run as a site change (the account pauses), after the rest
                // of the window is stored.
                let changed = golden.windows.iter().find_map(|w| match &w.status {
                    WindowStatus::Failed(e @ SyncError::SiteChanged(_))
                        if w.kind.is_daily_series() =>
                    {
                        Some(e.clone())
                    }
                    _ => None,
                });
                let ended_as = |run: &hellowatt::sync::RunSummary| match &run.failure {
                    None => None,
                    Some(RunFailure::Guest(e)) => Some(e.clone()),
                    Some(other) => panic!("{}: {other:?}", s.name),
                };
                assert_eq!(ended_as(&first), changed, "{}", s.name);
                check_stored(&s.name, &store, golden, s.request.start, s.request.end);
                let digest = store.content_digest().unwrap();
                let second = sync_scenario(s, &mut store, &db).await;
                assert_eq!(ended_as(&second), changed, "{}: second sync", s.name);
                assert_eq!(
                    second.stats.inserted + second.stats.updated + second.stats.revisions,
                    0,
                    "{}: {:?}",
                    s.name,
                    second.stats
                );
                assert_eq!(
                    store.content_digest().unwrap(),
                    digest,
                    "{}: a second sync changed the content",
                    s.name
                );
            }
            Outcome::Error(expected) => {
                match &first.failure {
                    Some(RunFailure::Guest(got)) => assert_eq!(got, expected, "{}", s.name),
                    other => panic!("{}: expected {expected:?}, got {other:?}", s.name),
                }
                assert!(
                    store.meters(None).unwrap().is_empty(),
                    "{}: a failed run stored data",
                    s.name
                );
                let runs = store.runs(None, 10).unwrap();
                assert_eq!(runs.len(), 1, "{}", s.name);
                let stored = format!("{:?}", runs[0].outcome);
                assert!(stored.contains(expected.kind()), "{}: {stored}", s.name);
                assert!(
                    !stored.contains(&s.request.password),
                    "{}: the password reached the store",
                    s.name
                );
            }
        }
        store.integrity_check().unwrap();
        drop(store);
        let bytes = std::fs::read(&db).unwrap();
        let needle = s.request.password.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{}: the password is in the database file",
            s.name
        );
    }
}

/// The demo prints yesterday's peak power and the month's highest, each
/// the store's own curve's highest kWh x 60 / minutes (computed here), and
/// each contract's subscribed power as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_the_peak_and_subscribed_power() {
    let (runtime, guest) = runtime().await;
    let today = Date::parse("2026-11-28").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = hellowatt::cli::demo::run(runtime, guest, dir.path().join("demo.db"), today)
        .await
        .unwrap();
    let store = Store::open(&demo.db).unwrap();
    let meter = store
        .meters(None)
        .unwrap()
        .into_iter()
        .find(|m| m.energy == hellowatt_snapshot::Energy::Electricity)
        .unwrap()
        .meter_id;
    let peak = |from: Date, to: Date| {
        crate::common::peak_of(&store.curve(&meter, from, to).unwrap())
            .expect("the demo stores a curve")
    };
    let yesterday = today.add_days(-1);
    let (kw, at) = peak(yesterday, yesterday);
    let line = format!(
        "peak power {kw:.2} kW at {}",
        hellowatt_snapshot::paris_iso(at)
    );
    assert!(
        demo.report.contains(&line),
        "{line:?} not in:\n{}",
        demo.report
    );
    let (kw, at) = peak(yesterday.first_of_month(), yesterday);
    let line = format!(
        "highest power of 2026-11: {kw:.2} kW on {} at {}",
        Date::paris_day_of(at),
        &hellowatt_snapshot::paris_iso(at)[11..16]
    );
    assert!(
        demo.report.contains(&line),
        "{line:?} not in:\n{}",
        demo.report
    );
    // Today's and the next days' EcoWatt signals, as stored (RTE's token
    // asked by the host, the guest's one request).
    let ecowatt = store.ecowatt(today, today.add_days(3)).unwrap();
    assert_eq!(
        ecowatt.iter().map(|d| d.date).collect::<Vec<_>>(),
        (0..4).map(|i| today.add_days(i)).collect::<Vec<_>>()
    );
    let sentences = hellowatt::cli::status::ecowatt_sentences(&ecowatt, today);
    assert!(sentences[0].starts_with("Today, Sat 28 Nov 2026, EcoWatt is "));
    assert!(sentences[1].starts_with("Tomorrow, Sun 29 Nov 2026, EcoWatt is "));
    for sentence in &sentences {
        assert!(
            demo.report.contains(&format!("  {sentence}\n")),
            "{sentence:?} not in:\n{}",
            demo.report
        );
    }
    for d in &ecowatt[..2] {
        let word = hellowatt::cli::status::ecowatt_level(d.level.expect("a day level"));
        assert!(
            sentences
                .iter()
                .any(|s| s.contains(&format!("EcoWatt is {word}"))),
            "{sentences:?}"
        );
    }
    assert!(demo.report.contains("EcoWatt guest ecowatt 1.0.0"));
    // Each contract's subscribed power, as stored.
    for c in store.contracts(None).unwrap() {
        if let Some(kva) = c.subscribed_kva {
            let line = format!(
                "{} ({}), subscribed power {kva} kVA",
                c.offer.as_deref().unwrap_or("?"),
                if c.active { "active" } else { c.state.as_str() }
            );
            assert!(
                demo.report.contains(&line),
                "{line:?} not in:\n{}",
                demo.report
            );
        }
    }
    assert!(
        demo.report.contains("subscribed power 9 kVA"),
        "{}",
        demo.report
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_account_month_by_month() {
    let (runtime, guest) = runtime().await;
    let today = Date::parse("2026-11-28").unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut store = Store::open(&db).unwrap();
    let cfg = config(
        &server.url(),
        sim::DEMO_LOGIN,
        sim::DEMO_PASSWORD,
        hellowatt::config::DEFAULT_KINDS.to_vec(),
        &db,
    );
    // Across the October DST change, three calendar months.
    let (from, to) = (
        Date::parse("2026-09-15").unwrap(),
        Date::parse("2026-11-27").unwrap(),
    );
    let first = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to)
        .await
        .unwrap();
    assert!(first.failure.is_none(), "{:?}", first.failure);
    assert_eq!(first.windows, 3);

    let meters = store.meters(None).unwrap();
    assert!(
        meters
            .iter()
            .any(|m| m.energy == hellowatt_snapshot::Energy::Electricity)
    );
    assert!(
        meters
            .iter()
            .any(|m| m.energy == hellowatt_snapshot::Energy::Gas)
    );
    let days = (to.days_since_epoch() - from.days_since_epoch() + 1) as usize;
    for m in &meters {
        let daily = store.daily(&m.meter_id, from, to).unwrap();
        assert_eq!(daily.len(), days, "{} {:?}", m.meter_id, m.energy);
        assert!(daily.iter().all(|d| d.reading.amounts.kwh.is_some()));
    }
    let elec = meters
        .iter()
        .find(|m| m.energy == hellowatt_snapshot::Energy::Electricity)
        .unwrap();
    let daily = store.daily(&elec.meter_id, from, to).unwrap();
    assert!(
        daily
            .iter()
            .any(|d| d.reading.amounts.solar_production_kwh.unwrap_or(0.0) > 0.0),
        "solar production stored"
    );
    let dst = Date::parse("2026-10-25").unwrap();
    assert_eq!(
        store.curve(&elec.meter_id, dst, dst).unwrap().len(),
        50,
        "50 half-hours on 25 October"
    );
    assert_eq!(store.curve(&elec.meter_id, to, to).unwrap().len(), 48);
    assert_eq!(
        store.tempo_days(from, to).unwrap().len(),
        days,
        "a Tempo colour for every day"
    );
    assert!(!store.contracts(None).unwrap().is_empty());

    let digest = store.content_digest().unwrap();
    let second = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to)
        .await
        .unwrap();
    assert!(second.failure.is_none(), "{:?}", second.failure);
    assert_eq!(
        second.stats.inserted + second.stats.updated,
        0,
        "{:?}",
        second.stats
    );
    assert_eq!(store.content_digest().unwrap(), digest);
    // One log-in per run: a month per call on one instance keeps the session.
    let logins = server
        .served()
        .iter()
        .filter(|l| l.starts_with("POST /accounts/login/"))
        .count();
    assert_eq!(logins, 2, "{:#?}", server.served());

    // What `hellowatt status` says of it, in sentences.
    let now = hellowatt::clock::now_utc();
    let status = hellowatt::cli::status::report(&store, &cfg, 5, now).unwrap();
    for said in [
        format!(
            "  test's electricity meter {} (home {}) has data from Tue 15 Sep 2026 to Fri 27 Nov \
             2026.\n",
            elec.meter_id, elec.home_id
        ),
        "  Run #2 today at ".into(),
        "account test, days from Tue 15 Sep 2026 to Fri 27 Nov 2026: ok; ".into(),
        "\nTempo\n  Today, ".into(),
    ] {
        assert!(status.contains(&said), "{said:?} not in:\n{status}");
    }
    crate::common::assert_plain_sentences(&status);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_on_the_demo_site() {
    let (runtime, guest) = runtime().await;
    let today = Date::parse("2026-11-28").unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut store = Store::open(&db).unwrap();
    let wrong = "Wrong-password-4242!";
    let cfg = config(
        &server.url(),
        sim::DEMO_LOGIN,
        wrong,
        hellowatt::config::DEFAULT_KINDS.to_vec(),
        &db,
    );
    let day = Date::parse("2026-11-01").unwrap();
    let s = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], day, day)
        .await
        .unwrap();
    match &s.failure {
        Some(RunFailure::Guest(e)) => {
            assert_eq!(e.kind(), "credentials-rejected");
            assert!(
                !e.to_string().contains(wrong),
                "the echoed password reached the error: {e}"
            );
        }
        other => panic!("expected credentials-rejected, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_scenario_is_anonymised_and_replays() {
    let (runtime, guest) = runtime().await;
    let today = Date::parse("2026-11-28").unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let cfg = config(
        &server.url(),
        sim::DEMO_LOGIN,
        sim::DEMO_PASSWORD,
        hellowatt::config::DEFAULT_KINDS.to_vec(),
        &db,
    );
    let out = dir.path().join("scenarios").join("recorded");
    let (from, to) = (
        Date::parse("2026-10-24").unwrap(),
        Date::parse("2026-10-26").unwrap(),
    );
    let report =
        hellowatt::cli::record::record(runtime, guest, &cfg, &cfg.accounts[0], from, to, &out)
            .await
            .unwrap();
    assert_eq!(report.outcome_kind, "snapshot");
    assert!(report.exchanges >= 6, "{report:?}");

    // The secrets, and what the simulated site knows of the demo household
    // (a direct sync gives the real home id, meter ids and address).
    let mut secrets: Vec<String> = vec![
        sim::DEMO_LOGIN.into(),
        sim::DEMO_PASSWORD.into(),
        "demo%40hellowatt.test".into(),
    ];
    secrets.push(sim::DEMO_HOME_ID.to_string());
    let original_golden = {
        let mut store = Store::open(&db).unwrap();
        let s = sync::run(runtime, guest, &mut store, &cfg, &cfg.accounts[0], from, to)
            .await
            .unwrap();
        assert!(s.failure.is_none());
        store.meters(None).unwrap()
    };
    for m in &original_golden {
        secrets.push(m.meter_id.clone());
        secrets.extend(m.address.clone());
        secrets.extend(m.city.clone());
        secrets.extend(m.postal_code.clone());
    }
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for s in &secrets {
            let leaked = if s.bytes().all(|b| b.is_ascii_digit()) {
                text.match_indices(s.as_str()).any(|(i, _)| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + s.len()..].chars().next();
                    !before.is_some_and(|c| c.is_ascii_digit())
                        && !after.is_some_and(|c| c.is_ascii_digit())
                })
            } else {
                text.contains(s.as_str())
            };
            assert!(!leaked, "{} still holds {s:?}", path.display());
        }
    }

    // The anonymised scenario replays: the bundled guest reproduces its golden.
    assert_replays(&out).await;
    server.shutdown().await;
}

/// The bundled guest reproduces the golden of the scenario in `dir`.
async fn assert_replays(dir: &std::path::Path) {
    let (runtime, guest) = runtime().await;
    let scenario = hellowatt_fixtures::load_scenario(dir).unwrap();
    let result = hellowatt::registry::check::check_scenario(
        runtime,
        guest,
        &scenario,
        &Limits::default(),
        &Slot::Hellowatt.default_requests(),
    )
    .await
    .unwrap();
    assert!(
        result.passed(),
        "{}",
        hellowatt::registry::check::report(guest, std::slice::from_ref(&result))
    );
}

/// Deny by default: the site adds a field of personal data under a key no
/// list names; it does not reach the recorded scenario, and the report
/// lists what was kept, by key (none of them that field).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_field_of_personal_data_never_reaches_a_recording() {
    let (runtime, guest) = runtime().await;
    let today = Date::parse("2026-11-28").unwrap();
    let secret = "Marie Curie-Dupont, 06 11 22 33 44";
    let server = sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today },
        sim::SimOptions {
            extra_home_field: Some(("coOccupant".into(), secret.into())),
            ..sim::SimOptions::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.url(),
        sim::DEMO_LOGIN,
        sim::DEMO_PASSWORD,
        hellowatt::config::DEFAULT_KINDS.to_vec(),
        &dir.path().join("unused.db"),
    );
    let out = dir.path().join("recorded");
    let day = Date::parse("2026-10-24").unwrap();
    let report =
        hellowatt::cli::record::record(runtime, guest, &cfg, &cfg.accounts[0], day, day, &out)
            .await
            .unwrap();
    server.shutdown().await;
    assert_eq!(report.outcome_kind, "snapshot");
    let mut seen_home = false;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for part in [secret, "Marie", "Curie", "06 11 22 33 44"] {
            assert!(!text.contains(part), "{} holds {part:?}", path.display());
        }
        // The key stays (a guest may need to know it is there), its value
        // is a placeholder of the same shape.
        seen_home |= text.contains("\"coOccupant\"");
    }
    assert!(seen_home, "the homes answer was recorded");
    let kept: Vec<&str> = report.kept.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        kept.contains(&"datetime") && kept.contains(&"kwhdetailed.*"),
        "{kept:?}"
    );
    assert!(
        !report.kept_lines().to_lowercase().contains("cooccupant"),
        "{}",
        report.kept_lines()
    );
    // The recording still replays: the guest reads it as it read the site.
    assert_replays(&out).await;
}

/// How long a probe waited, at the most, for the shared store while one
/// sync of `windows` ran; `hold` makes the sync hold the store throughout,
/// as the service did before a run locked it per window.
async fn longest_wait_for_the_store(
    hold: bool,
    windows: &[(Date, Date)],
    cfg: &hellowatt::config::Config,
    store: &tokio::sync::Mutex<Store>,
) -> (std::time::Duration, std::time::Duration) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let (runtime, guest) = runtime().await;
    let done = AtomicBool::new(false);
    let run = async {
        let started = Instant::now();
        let summary = if hold {
            let mut whole_run = store.lock().await;
            sync::run_windows(
                runtime,
                guest,
                &mut *whole_run,
                cfg,
                &cfg.accounts[0],
                windows,
            )
            .await
        } else {
            sync::run_windows(runtime, guest, &mut &*store, cfg, &cfg.accounts[0], windows).await
        }
        .unwrap();
        done.store(true, Ordering::SeqCst);
        assert!(summary.failure.is_none(), "{:?}", summary.failure);
        assert_eq!(summary.windows as usize, windows.len());
        started.elapsed()
    };
    let probe = async {
        // Give the run its start, then ask for the store as another task
        // of the service would (MQTT, requests, the Tempo slot).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut longest = Duration::ZERO;
        while !done.load(Ordering::SeqCst) {
            let asked = Instant::now();
            drop(store.lock().await);
            longest = longest.max(asked.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        longest
    };
    let (took, longest) = tokio::join!(run, probe);
    (took, longest)
}

/// A 24-month backfill against a slow site (every request paced) holds the
/// shared store only while it writes a window: another task gets it within
/// a window's write, not after the whole run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_holds_the_shared_store_only_while_it_writes() {
    use std::time::Duration;
    let today = Date::parse("2026-11-28").unwrap();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut from = today.first_of_month();
    for _ in 0..24 {
        from = from.add_days(-1).first_of_month();
    }
    let mut windows = sync::month_windows(from, today.add_days(-1));
    windows.reverse();
    let mut results = Vec::new();
    for hold in [true, false] {
        let db = dir.path().join(format!("hold-{hold}.db"));
        let mut cfg = crate::common::demo_config(&server.url(), &db);
        cfg.http.pacing = Duration::from_millis(25);
        let store = tokio::sync::Mutex::new(Store::open(&db).unwrap());
        results.push(longest_wait_for_the_store(hold, &windows, &cfg, &store).await);
    }
    let [(held_run, held_wait), (run, wait)] = results[..] else {
        unreachable!()
    };
    println!(
        "24-month backfill: held throughout, a task waited up to {held_wait:?} (run {held_run:?}); \
         locked per window, up to {wait:?} (run {run:?})"
    );
    // The probe sees a whole-run hold when there is one.
    assert!(held_wait > held_run / 2, "{held_wait:?} of {held_run:?}");
    assert!(
        run > Duration::from_secs(1),
        "the site was not slow: {run:?}"
    );
    assert!(
        wait < Duration::from_millis(500) && wait < run / 4,
        "waited {wait:?} during a {run:?} run"
    );
    server.shutdown().await;
}
