//! What the real site may answer that our notes did not say, end to end:
//! the simulated site in each mode the public clients show (see
//! `sim/src/lib.rs`, `SimOptions`), the bundled guest in the component,
//! through the host's policy, into a store. Issue #17: one failing part
//! never costs the rest, and the guest follows what independent clients
//! see (redirects, the CSRF cookie from `/api/user`, a 401 or a log-in
//! that needs a person, another API version, a curve asked a day at a
//! time, monthly temperatures).
//!
//! These are synthetic too: the simulated site answers as the public
//! clients' code implies the real one does, not as it was seen to.

use crate::common::{config, demo_config, runtime};
use hellowatt::scheduler::Outcome;
use hellowatt::service::{failed_parts, outcome_of};
use hellowatt::store::Store;
use hellowatt::sync::{self, RunFailure, RunSummary};
use hellowatt_sim::{self as sim, Fault, FaultScope, SimMode, SimOptions};
use hellowatt_snapshot::{DataKind, Date, SyncError, TemperaturePeriod, WindowStatus};

const TODAY: &str = "2026-11-28";
/// The demo household's electricity meter, as stored.
fn pdl_of(store: &Store) -> String {
    store
        .meters(None)
        .unwrap()
        .into_iter()
        .find(|m| m.energy == hellowatt_snapshot::Energy::Electricity)
        .expect("an electricity meter")
        .meter_id
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// A run of the demo account over `from..=to` against a simulated site
/// with these options (and fault), into a fresh store.
struct Ran {
    summary: RunSummary,
    store: Store,
    served: Vec<String>,
    _dir: tempfile::TempDir,
}

/// The simulated site in these options, with this fault on; and the demo
/// account's configuration against it with `password`.
async fn site(
    options: SimOptions,
    fault: Option<(Fault, FaultScope)>,
    password: &str,
    db: &std::path::Path,
) -> (sim::SimServer, hellowatt::config::Config) {
    let server = sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today: d(TODAY) },
        options,
    )
    .await
    .unwrap();
    if let Some((fault, scope)) = fault {
        server.set_fault(Some(fault), scope);
    }
    let cfg = config(
        &server.url(),
        sim::DEMO_LOGIN,
        password,
        hellowatt::config::DEFAULT_KINDS.to_vec(),
        db,
    );
    (server, cfg)
}

async fn run_against(
    options: SimOptions,
    fault: Option<(Fault, FaultScope)>,
    password: &str,
    (from, to): (&str, &str),
) -> Ran {
    let (runtime, guest) = runtime().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (server, cfg) = site(options, fault, password, &db).await;
    let mut store = Store::open(&db).unwrap();
    let summary = sync::run(
        runtime,
        guest,
        &mut store,
        &cfg,
        &cfg.accounts[0],
        d(from),
        d(to),
    )
    .await
    .unwrap();
    let served = server.served();
    server.shutdown().await;
    Ran {
        summary,
        store,
        served,
        _dir: dir,
    }
}

fn assert_ok(r: &Ran) {
    assert!(
        r.summary.failure.is_none(),
        "{:?}\n{:#?}",
        r.summary.failure,
        r.served
    );
}

fn guest_error(r: &Ran) -> &SyncError {
    match &r.summary.failure {
        Some(RunFailure::Guest(e)) => e,
        other => panic!("expected a guest error, got {other:?}\n{:#?}", r.served),
    }
}

fn served_with(r: &Ran, needle: &str) -> usize {
    r.served.iter().filter(|l| l.contains(needle)).count()
}

// ---------------------------------------------------------------- parts

/// The curve and the temperature answer 502 for a month: the daily
/// electricity and gas of that month are stored all the same, the failed
/// parts are kept as failed windows, and the next run asks for them alone
/// and fills them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_curve_and_temperature_cost_nothing_else_and_a_later_run_fills_them() {
    let (runtime, guest) = runtime().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parts.db");
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today: d(TODAY) },
    )
    .await
    .unwrap();
    server.set_fault(
        Some(Fault::Status {
            status: 502,
            retry_after: None,
        }),
        FaultScope::AnyOf(vec![
            "sge_measures/courbe".into(),
            "temperature_measures".into(),
        ]),
    );
    let cfg = demo_config(&server.url(), &db);
    let account = &cfg.accounts[0];
    let mut store = Store::open(&db).unwrap();
    let (from, to) = (d("2026-10-01"), d("2026-10-31"));
    let first = sync::run(runtime, guest, &mut store, &cfg, account, from, to)
        .await
        .unwrap();
    // The run succeeds: five curve weeks and the temperature failed.
    assert!(first.failure.is_none(), "{:?}", first.failure);
    assert_eq!(first.failed.len(), 6, "{:#?}", server.served());
    assert_eq!(store.daily(&pdl_of(&store), from, to).unwrap().len(), 31);
    let gas = store
        .meters(None)
        .unwrap()
        .into_iter()
        .find(|m| m.energy == hellowatt_snapshot::Energy::Gas)
        .expect("the demo home has gas");
    assert_eq!(store.daily(&gas.meter_id, from, to).unwrap().len(), 31);
    assert!(store.curve(&pdl_of(&store), from, to).unwrap().is_empty());
    let failed: Vec<_> = store
        .windows(None)
        .unwrap()
        .into_iter()
        .filter(|w| matches!(w.window.status, WindowStatus::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 6);
    for w in &failed {
        match &w.window.status {
            WindowStatus::Failed(SyncError::SiteUnavailable(u)) => {
                assert_eq!(u.status, Some(502));
            }
            other => panic!("{other:?}"),
        }
    }

    // The scheduler's next run asks for those parts alone.
    server.set_fault(None, FaultScope::Api);
    let parts = failed_parts(&store, account, &[]).unwrap();
    assert_eq!(parts.len(), 6, "{parts:?}");
    assert!(parts.iter().all(|p| matches!(
        p.kinds.as_deref(),
        Some([DataKind::ElectricityCurve]) | Some([DataKind::Temperature])
    )));
    let daily_before = server
        .served()
        .iter()
        .filter(|l| l.contains("conso_daily"))
        .count();
    let second = sync::run_parts(runtime, guest, &mut store, &cfg, account, &parts)
        .await
        .unwrap();
    assert!(second.failure.is_none(), "{:?}", second.failure);
    assert_eq!(second.failed.len(), 0);
    let served = server.served();
    assert_eq!(
        served.iter().filter(|l| l.contains("conso_daily")).count(),
        daily_before,
        "the retry asked for no daily series"
    );
    // 30 days of 48 half-hours and the 25-hour day of October.
    assert_eq!(
        store.curve(&pdl_of(&store), from, to).unwrap().len(),
        30 * 48 + 50
    );
    assert!(
        !store
            .temperatures(&sim::DEMO_HOME_ID.to_string(), from, to)
            .unwrap()
            .is_empty()
    );
    assert!(failed_parts(&store, account, &[]).unwrap().is_empty());
    server.shutdown().await;
}

// ---------------------------------------------------- what clients see

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_redirects_are_followed() {
    let r = run_against(
        SimOptions {
            login_page_moved: true,
            homes_trailing_slash: true,
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-11-20", "2026-11-21"),
    )
    .await;
    assert_ok(&r);
    assert!(
        served_with(&r, "GET /accounts/login/ -> 301") >= 1,
        "{:#?}",
        r.served
    );
    assert!(served_with(&r, "GET /mon-compte/me-connecter -> 200") >= 1);
    assert!(served_with(&r, "GET /api/homes -> 301") >= 1);
    assert!(served_with(&r, "GET /api/homes/ -> 200") >= 1);
    assert_eq!(
        r.store
            .daily(&pdl_of(&r.store), d("2026-11-20"), d("2026-11-21"))
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csrf_cookie_comes_from_the_api_when_the_page_has_none() {
    let r = run_against(
        SimOptions {
            login_page_sets_csrf_cookie: false,
            login_page_has_form_token: false,
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-11-20", "2026-11-20"),
    )
    .await;
    assert_ok(&r);
    assert!(
        served_with(&r, "GET /api/user -> 403") >= 1,
        "{:#?}",
        r.served
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_406_moves_to_the_other_api_version_and_the_run_says_which() {
    let r = run_against(
        SimOptions {
            api_versions: vec!["1.54".into()],
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-11-20", "2026-11-20"),
    )
    .await;
    assert_ok(&r);
    assert_eq!(served_with(&r, "-> 406"), 1, "{:#?}", r.served);
    let runs = r.store.runs(None, 1).unwrap();
    assert_eq!(runs[0].api_version.as_deref(), Some("1.54"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_to_the_log_in_is_a_refusal_of_the_credentials() {
    let r = run_against(
        SimOptions {
            login_refusal_status: 401,
            ..SimOptions::default()
        },
        None,
        "Not-the-password-2026!",
        ("2026-11-20", "2026-11-20"),
    )
    .await;
    assert!(
        matches!(guest_error(&r), SyncError::CredentialsRejected { .. }),
        "{:?}",
        r.summary.failure
    );
    assert!(matches!(
        outcome_of(&r.summary, None),
        Outcome::CredentialsRejected { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_in_that_needs_a_person_stops_until_they_act() {
    let r = run_against(
        SimOptions {
            login_action: Some("/accounts/confirm-email/".into()),
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-11-20", "2026-11-20"),
    )
    .await;
    let SyncError::ActionNeeded { detail } = guest_error(&r) else {
        panic!("expected action-needed, got {:?}", r.summary.failure);
    };
    assert!(detail.contains("/accounts/confirm-email/"), "{detail}");
    assert!(detail.contains("mon-compte/me-connecter"), "{detail}");
    // One log-in only: the guest does not try again on its own.
    assert_eq!(
        served_with(&r, "POST /accounts/login/"),
        1,
        "{:#?}",
        r.served
    );
    assert!(matches!(
        outcome_of(&r.summary, None),
        Outcome::ActionNeeded { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curve_range_the_site_refuses_is_asked_a_day_at_a_time() {
    let r = run_against(
        SimOptions {
            curve_max_days: Some(1),
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-10-20", "2026-10-31"),
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.summary.failed.len(), 0);
    // The first week is refused once; every later request is one day.
    assert_eq!(
        served_with(&r, "sge_measures/courbe"),
        1 + 12,
        "{:#?}",
        r.served
    );
    assert_eq!(served_with(&r, "-> 400"), 1);
    // 11 days of 48 half-hours and the 25-hour day.
    assert_eq!(
        r.store
            .curve(&pdl_of(&r.store), d("2026-10-20"), d("2026-10-31"))
            .unwrap()
            .len(),
        11 * 48 + 50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_temperatures_are_kept_as_months() {
    let r = run_against(
        SimOptions {
            temperature_monthly: true,
            ..SimOptions::default()
        },
        None,
        sim::DEMO_PASSWORD,
        ("2026-09-01", "2026-10-31"),
    )
    .await;
    assert_ok(&r);
    let temps = r
        .store
        .temperatures(
            &sim::DEMO_HOME_ID.to_string(),
            d("2026-09-01"),
            d("2026-10-31"),
        )
        .unwrap();
    let months: Vec<Date> = temps
        .iter()
        .filter(|t| t.period == TemperaturePeriod::Month)
        .map(|t| t.date)
        .collect();
    assert_eq!(months, vec![d("2026-09-01"), d("2026-10-01")], "{temps:?}");
    assert!(temps.iter().all(|t| t.period == TemperaturePeriod::Month));
}

// ---------------------------------------------------------------- doctor

/// `hellowatt doctor`'s report against the simulated site, as configured.
async fn doctor(
    options: SimOptions,
    fault: Option<(Fault, FaultScope)>,
    password: &str,
) -> hellowatt::cli::doctor::Report {
    let (runtime, guest) = runtime().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, cfg) = site(options, fault, password, &dir.path().join("unused.db")).await;
    let report =
        hellowatt::cli::doctor::diagnose(runtime, guest, None, &cfg, &cfg.accounts[0], d(TODAY))
            .await
            .unwrap();
    server.shutdown().await;
    assert!(
        !dir.path().join("unused.db").exists(),
        "the doctor stores nothing"
    );
    report
}

/// Nothing secret or personal in what the doctor prints.
fn assert_discreet(text: &str) {
    for secret in [
        sim::DEMO_PASSWORD,
        sim::DEMO_LOGIN,
        "sessionid",
        "csrftoken",
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert!(
        !text.contains(&sim::DEMO_HOME_ID.to_string()),
        "the home id in:\n{text}"
    );
    // No run of 14 digits (a PDL or a PCE).
    let digits = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(digits < 14, "an identifier in:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_says_each_part_works() {
    let report = doctor(SimOptions::default(), None, sim::DEMO_PASSWORD).await;
    let text = report.render();
    assert!(report.ok(), "{text}");
    assert_discreet(&text);
    for step in [
        "log-in, homes, contracts",
        "electricity, one day",
        "load curve, one day",
        "gas, one day",
        "temperature",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    assert!(
        text.contains("GET /api/homes/{id}/sge_measures/courbe -> 200"),
        "{text}"
    );
    assert!(
        text.contains("1 home(s)") && text.contains("48 curve point(s)"),
        "{text}"
    );
    assert!(text.contains("works with hellowatt"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_names_the_failing_part_and_what_to_do() {
    let report = doctor(
        SimOptions::default(),
        Some((
            Fault::Status {
                status: 502,
                retry_after: None,
            },
            FaultScope::PathContaining("sge_measures/courbe".into()),
        )),
        sim::DEMO_PASSWORD,
    )
    .await;
    let text = report.render();
    assert!(!report.ok(), "{text}");
    assert_discreet(&text);
    let curve = text
        .lines()
        .find(|l| l.starts_with("load curve, one day"))
        .unwrap();
    assert!(curve.contains("FAILED: site-unavailable"), "{text}");
    assert!(text.contains("courbe -> 502"), "{text}");
    // The other parts still answer.
    let gas = text
        .lines()
        .find(|l| l.starts_with("gas, one day"))
        .unwrap();
    assert!(gas.contains(" ok: "), "{text}");
    assert!(
        text.contains("load curve, one day failed: the site is unreachable"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_with_a_wrong_password_stops_at_the_log_in() {
    let report = doctor(SimOptions::default(), None, "Not-the-password-2026!").await;
    let text = report.render();
    assert!(!report.ok());
    assert_discreet(&text);
    assert!(!text.contains("Not-the-password-2026!"), "{text}");
    assert!(text.contains("FAILED: credentials-rejected"), "{text}");
    assert_eq!(
        text.matches("skipped: an earlier step failed").count(),
        4,
        "{text}"
    );
    assert!(text.contains("check them by logging in"), "{text}");
}

// ------------------------------------------------------------- requests

/// What a 24-month backfill asks of the site (docs/benchmarks.md): one
/// log-in (two requests) and the contracts once, then per month the homes,
/// the daily electricity, the gas, the temperature, and the curve a week
/// at a time. Counted here from the calendar, not copied from a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_24_month_backfill_asks_the_curve_a_week_at_a_time() {
    let (from, to) = ("2024-11-01", "2026-10-31");
    let r = run_against(SimOptions::default(), None, sim::DEMO_PASSWORD, (from, to)).await;
    assert_ok(&r);
    let months = sync::month_windows(d(from), d(to));
    assert_eq!(months.len(), 24);
    let weeks: u32 = months
        .iter()
        .map(|(s, e)| {
            let days = (e.days_since_epoch() - s.days_since_epoch() + 1) as u32;
            days.div_ceil(7)
        })
        .sum();
    assert_eq!(weeks, 118, "five weeks a month but February's four");
    let expected = 2 + 1 + 24 * 4 + weeks;
    assert_eq!(
        r.summary.traffic.requests,
        expected,
        "{:#?}",
        r.served.len()
    );
    assert_eq!(served_with(&r, "sge_measures/courbe"), weeks as usize);
}

/// The doctor against every fault the simulated site can make on the API
/// (`--nocapture` prints each report, as the closing note of #17 shows
/// them): each report is discreet, and says "works" only when the fault
/// is one the guest absorbs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_under_every_fault() {
    use hellowatt_sim::RetryAfter;
    let faults: Vec<(Fault, bool)> = vec![
        (
            Fault::Status {
                status: 500,
                retry_after: None,
            },
            false,
        ),
        (
            Fault::Status {
                status: 502,
                retry_after: Some(RetryAfter::Seconds(7200)),
            },
            false,
        ),
        (
            Fault::Status {
                status: 503,
                retry_after: Some(RetryAfter::DateIn(10_800)),
            },
            false,
        ),
        (
            Fault::Maintenance {
                status: 200,
                retry_after: None,
            },
            false,
        ),
        (
            Fault::Maintenance {
                status: 503,
                retry_after: Some(RetryAfter::Seconds(1800)),
            },
            false,
        ),
        (Fault::InvalidJson, false),
        (Fault::TruncatedJson, false),
        (Fault::ConnectionReset, false),
        (Fault::RedirectLoop, false),
        (Fault::SessionNeverSticks { status: 401 }, false),
        (Fault::SessionNeverSticks { status: 403 }, false),
        (Fault::NullValues, true),
        (Fault::DuplicatedDays, true),
        (Fault::DaysOutOfOrder, true),
        (Fault::DayOutsideWindow, true),
    ];
    for (fault, benign) in faults {
        let report = doctor(
            SimOptions::default(),
            Some((fault.clone(), FaultScope::Api)),
            sim::DEMO_PASSWORD,
        )
        .await;
        let text = report.render();
        println!("=== hellowatt doctor, fault {fault:?} on every API call\n{text}");
        assert_discreet(&text);
        assert_eq!(report.ok(), benign, "{fault:?}:\n{text}");
    }
}
