//! The sandbox holds against a misbehaving guest (tests/guests/hostile):
//! each limit stops it with an error that names the limit, the policy
//! denies what is outside the allow-list, the host's validation refuses
//! out-of-range records before the store sees them, and the host carries
//! on. The table of cases is in `docs/hardening.md` (## Hostile guests).

use hellowatt::sandbox::policy::{Backend, HttpLimits, Origin, PolicyHooks, Resolver};
use hellowatt::sandbox::redact::Redactor;
use hellowatt::sandbox::runtime::{Guest, Limits, Runtime, SandboxError};
use hellowatt::store::{GuestIdentity, RunOutcome, Store};
use hellowatt::sync::{self, RunSummary};
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::SyncRequest;
use hellowatt_snapshot::{
    Amounts, DailyReading, DataKind, Date, Energy, Home, Meter, PeriodValue, Snapshot, SyncError,
};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn limits() -> Limits {
    Limits {
        memory_bytes: 32 * 1024 * 1024,
        cpu_per_call: Duration::from_millis(500),
        wall_per_call: Duration::from_secs(3),
        wall_per_run: Duration::from_secs(60),
    }
}

async fn hostile(runtime: &Runtime) -> Guest {
    let bytes = std::fs::read(hellowatt::HOSTILE_GUEST_PATH)
        .expect("the build script built the hostile guest");
    runtime
        .load(bytes, &limits())
        .await
        .expect("the hostile guest loads")
}

fn call(base_url: &str, mode: &str) -> SyncRequest {
    SyncRequest {
        base_url: base_url.to_string(),
        login: mode.to_string(),
        password_placeholder: "hellowatt-password-not-given".into(),
        start: Date::parse("2026-01-01").unwrap(),
        end: Date::parse("2026-01-31").unwrap(),
        kinds: vec![],
    }
}

fn hooks(origin: &str, max_requests: u32) -> PolicyHooks {
    PolicyHooks::new(
        Origin::parse(origin).unwrap(),
        HttpLimits {
            pacing: Duration::ZERO,
            max_requests,
            ..HttpLimits::default()
        },
        Backend::Network,
        Arc::new(Redactor::default()),
    )
}

async fn run_mode(
    runtime: &Runtime,
    guest: &Guest,
    origin: &str,
    mode: &str,
) -> (Result<Result<(), SyncError>, SandboxError>, PolicyHooks) {
    let h = hooks(origin, 20);
    let mut run = runtime.start(guest, h.clone(), &limits()).await.unwrap();
    let r = run
        .sync(&call(origin, mode))
        .await
        .map(|inner| inner.map(|_| ()));
    (r, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_stops_the_guest_and_the_host_carries_on() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    assert_eq!(guest.info.name, "hostile");
    let site = "https://www.hellowatt.fr";

    let started = Instant::now();
    let (r, _) = run_mode(&runtime, &guest, site, "loop").await;
    assert!(matches!(r, Err(SandboxError::Cpu { .. })), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped by the CPU budget, not the wall clock"
    );

    let (r, _) = run_mode(&runtime, &guest, site, "memory").await;
    assert!(matches!(r, Err(SandboxError::Memory { .. })), "{r:?}");

    let (r, _) = run_mode(&runtime, &guest, site, "sleep").await;
    assert!(matches!(r, Err(SandboxError::WallClock { .. })), "{r:?}");

    // A run's total budget ends a call before the call's own limit would.
    let short_run = Limits {
        wall_per_run: Duration::from_millis(800),
        ..limits()
    };
    let mut run = runtime
        .start(&guest, hooks(site, 20), &short_run)
        .await
        .unwrap();
    let r = run.sync(&call(site, "sleep")).await;
    assert!(
        matches!(&r, Err(e @ SandboxError::RunTime { .. })
            if e.to_string().contains("the run took longer than 800ms in all")),
        "{r:?}"
    );

    let (r, _) = run_mode(&runtime, &guest, site, "panic").await;
    assert!(matches!(&r, Err(SandboxError::Trap(_))), "{r:?}");

    let (r, _) = run_mode(&runtime, &guest, site, "unreachable").await;
    assert!(
        matches!(&r, Err(SandboxError::Trap(d)) if d.contains("unreachable")),
        "{r:?}"
    );

    // Rust keeps its stack in linear memory: overflowing it runs below
    // address 0, which wasm refuses as an out-of-bounds access.
    let (r, _) = run_mode(&runtime, &guest, site, "stack").await;
    assert!(
        matches!(&r, Err(SandboxError::Trap(d)) if d.contains("out of bounds memory access")),
        "{r:?}"
    );

    // Recursion with nothing in linear memory reaches wasmtime's own limit
    // on the native stack (`max_wasm_stack`): `Trap::StackOverflow`.
    let (r, _) = run_mode(&runtime, &guest, site, "deep-call").await;
    assert!(
        matches!(&r, Err(SandboxError::Trap(d)) if d.contains("call stack exhausted")),
        "{r:?}"
    );

    let (r, _) = run_mode(&runtime, &guest, site, "bad-date").await;
    assert!(
        matches!(&r, Err(SandboxError::Invalid(d)) if d.contains("2026-02-30")),
        "{r:?}"
    );

    // After all that, the same pre-instantiated guest still serves.
    let (r, _) = run_mode(&runtime, &guest, site, "fine").await;
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_the_allow_list_are_denied() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let site = "https://www.hellowatt.fr";
    for target in [
        "https://example.org/",
        "http://www.hellowatt.fr/api/homes",
        "https://www.hellowatt.fr:8443/",
        "http://127.0.0.1:9/",
        "http://[::1]:9/",
        "http://10.0.0.1/",
        "http://10.255.255.254:8080/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://93.184.216.34/",
        "https://[2001:db8::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "https://www.hellowatt.fr@evil.example/",
        "https://www.hellowatt.fr.example.org/",
    ] {
        let (r, h) = run_mode(&runtime, &guest, site, &format!("foreign:{target}")).await;
        match r {
            Ok(Err(SyncError::Transport { detail })) => {
                assert!(detail.contains("HttpRequestDenied"), "{target}: {detail}")
            }
            other => panic!("{target}: expected a denied request, got {other:?}"),
        }
        let denied = h.traffic().denied;
        assert_eq!(denied.len(), 1, "{target}: {denied:?}");
        assert!(
            denied[0].reason.contains("only https://www.hellowatt.fr"),
            "{denied:?}"
        );
    }
}

/// On the allowed origin, only the slot's requests leave: the helloWatt
/// guest may fetch the log-in page, post the log-in form and read the API,
/// nothing else (a profile update, a sign-up, a path that climbs out of
/// `/api/`), and the denial names the rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_slots_methods_and_paths_leave() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let site = "https://www.hellowatt.fr";
    for (mode, why) in [
        (
            "post:https://www.hellowatt.fr/api/user",
            "POST /api/user is not an allowed request",
        ),
        (
            "post:https://www.hellowatt.fr/accounts/signup/",
            "POST /accounts/signup/ is not an allowed request",
        ),
        (
            "foreign:https://www.hellowatt.fr/accounts/signup/",
            "GET /accounts/signup/ is not an allowed request",
        ),
        (
            "post:https://www.hellowatt.fr/api/homes",
            "POST /api/homes is not an allowed request",
        ),
        (
            "foreign:https://www.hellowatt.fr/api/../accounts/signup/",
            "not in plain form",
        ),
        (
            "foreign:https://www.hellowatt.fr/api/%2e%2e/admin/",
            "not in plain form",
        ),
        (
            "foreign:https://www.hellowatt.fr/api//admin/",
            "not in plain form",
        ),
        (
            "foreign:https://www.hellowatt.fr/apix",
            "GET /apix is not an allowed request",
        ),
    ] {
        let (r, h) = run_mode(&runtime, &guest, site, mode).await;
        match r {
            Ok(Err(SyncError::Transport { detail })) => {
                assert!(detail.contains("HttpRequestDenied"), "{mode}: {detail}")
            }
            other => panic!("{mode}: expected a denied request, got {other:?}"),
        }
        let t = h.traffic();
        assert_eq!(t.denied.len(), 1, "{mode}: {:?}", t.denied);
        let reason = &t.denied[0].reason;
        assert!(reason.contains(why), "{mode}: {reason}");
        if !why.contains("plain form") {
            assert!(
                reason.contains("allowed: GET /accounts/login/, GET /mon-compte/me-connecter, POST /accounts/login/, GET /api/*"),
                "{mode}: {reason}"
            );
        }
    }
}

/// The allowed name may itself point inside this machine or its network
/// (DNS rebinding, a hostile resolver): such a request is refused, unless
/// the site is configured by such an address (a local test site).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_inside_is_refused() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let public: std::net::IpAddr = "93.184.216.34".parse().unwrap();
    async fn one(
        runtime: &Runtime,
        guest: &Guest,
        site: &str,
        resolver: Resolver,
    ) -> (Result<Result<(), SyncError>, SandboxError>, PolicyHooks) {
        let h = hooks(site, 20).with_resolver(resolver);
        let mut run = runtime.start(guest, h.clone(), &limits()).await.unwrap();
        let mode = format!("foreign:{site}/api/homes");
        let r = run.sync(&call(site, &mode)).await.map(|i| i.map(|_| ()));
        (r, h)
    }
    let site = "https://www.hellowatt.fr";
    for inside in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
    ] {
        let ip: std::net::IpAddr = inside.parse().unwrap();
        // One inside address among public ones is enough to refuse.
        let (r, h) = one(&runtime, &guest, site, Resolver::Fixed(vec![public, ip])).await;
        match r {
            Ok(Err(SyncError::Transport { detail })) => {
                assert!(detail.contains("HttpRequestDenied"), "{inside}: {detail}")
            }
            other => panic!("{inside}: expected a denied request, got {other:?}"),
        }
        let denied = h.traffic().denied;
        assert_eq!(denied.len(), 1, "{inside}: {denied:?}");
        assert!(
            denied[0]
                .reason
                .contains(&format!("www.hellowatt.fr resolves to {ip}")),
            "{denied:?}"
        );
    }

    // Public addresses pass this check: the request goes on to connect
    // (and fails here, offline, without a denial).
    let (r, h) = one(
        &runtime,
        &guest,
        "http://site.invalid:9",
        Resolver::Fixed(vec![public]),
    )
    .await;
    assert!(matches!(r, Ok(Err(SyncError::Transport { .. }))), "{r:?}");
    assert!(h.traffic().denied.is_empty(), "{:?}", h.traffic().denied);

    // A site configured by an inside address is a local test site: asked.
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo {
            today: Date::parse("2026-11-28").unwrap(),
        },
    )
    .await
    .unwrap();
    let (r, h) = one(
        &runtime,
        &guest,
        &server.url(),
        Resolver::Fixed(vec!["127.0.0.1".parse().unwrap()]),
    )
    .await;
    assert!(
        matches!(&r, Ok(Err(SyncError::Other { detail })) if detail.starts_with("reached")),
        "{r:?}"
    );
    assert!(h.traffic().denied.is_empty(), "{:?}", h.traffic().denied);
    server.shutdown().await;
}

/// `file:`, `ftp:`, `gopher:`, `data:` go out as wasi:http `Scheme::Other`:
/// wasmtime asks the policy whether the scheme is supported before it
/// builds the request; the policy refuses and records why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_schemes_are_refused_with_a_recorded_reason() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let site = "https://www.hellowatt.fr";
    for (target, scheme) in [
        ("file:///etc/passwd", "file"),
        ("file://www.hellowatt.fr/etc/passwd", "file"),
        ("ftp://www.hellowatt.fr/", "ftp"),
        ("gopher://www.hellowatt.fr:70/", "gopher"),
        ("data:,hello", "data"),
        ("ws://www.hellowatt.fr/", "ws"),
    ] {
        let (r, h) = run_mode(&runtime, &guest, site, &format!("foreign:{target}")).await;
        match r {
            Ok(Err(SyncError::Transport { detail })) => {
                assert!(detail.contains("HttpProtocolError"), "{target}: {detail}")
            }
            other => panic!("{target}: expected a refused scheme, got {other:?}"),
        }
        let t = h.traffic();
        assert_eq!(t.requests, 0, "{target}");
        assert_eq!(t.denied.len(), 1, "{target}: {:?}", t.denied);
        let reason = &t.denied[0].reason;
        assert!(
            reason.contains(&format!("scheme {scheme} is not allowed"))
                && reason.contains("only https://www.hellowatt.fr"),
            "{target}: {reason}"
        );
    }
    let (r, _) = run_mode(&runtime, &guest, site, "fine").await;
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_capped() {
    // A local server answering anything, so that requests really go out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let origin = format!("http://{addr}");

    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let (r, h) = run_mode(&runtime, &guest, &origin, "flood").await;
    match r {
        // What the guest saw: the policy's refusal, as wasi:http's code.
        Ok(Err(SyncError::Transport { detail })) => assert!(
            detail.starts_with("refused after 20") && detail.contains("HttpRequestDenied"),
            "{detail}"
        ),
        other => panic!("expected the flood to be refused, got {other:?}"),
    }
    let t = h.traffic();
    assert_eq!(t.requests, 20);
    assert!(
        t.denied[0].reason.contains("cap of 20 requests"),
        "{:?}",
        t.denied
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_flood_is_capped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let origin = format!("http://{addr}");

    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    // Requests started without waiting: the cap counts at admission, so
    // however many are in flight, 20 go out.
    let (r, h) = run_mode(&runtime, &guest, &origin, "flood-parallel").await;
    match &r {
        Ok(Err(SyncError::Transport { detail })) => {
            assert!(detail.starts_with("refused after"), "{detail}")
        }
        // It may also spin until its CPU budget, or the cap on the host
        // resources it holds (one future per request), ends it.
        Err(SandboxError::Cpu { .. } | SandboxError::Resources { .. }) => {}
        other => panic!("expected the flood to be refused, got {other:?}"),
    }
    // In-flight requests finish on the runtime's tasks after the call.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = h.traffic();
    assert_eq!(t.requests, 20, "{r:?}");
    assert!(
        t.denied
            .iter()
            .all(|d| d.reason.contains("cap of 20 requests")),
        "{:?}",
        &t.denied[..t.denied.len().min(3)]
    );
    let (r, _) = run_mode(&runtime, &guest, &origin, "fine").await;
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// What the store holds before the hostile runs: a home, its meter and a
/// few days.
fn seed() -> Snapshot {
    let meter = "01234567890123".to_string();
    Snapshot {
        homes: vec![Home {
            id: "1".into(),
            address: Some("1 rue de la Paix".into()),
            postal_code: Some("75002".into()),
            city: Some("Paris".into()),
            meters: vec![Meter {
                id: meter.clone(),
                energy: Energy::Electricity,
            }],
        }],
        daily: ["2025-12-01", "2025-12-02", "2025-12-03"]
            .into_iter()
            .map(|day| DailyReading {
                meter_id: meter.clone(),
                date: d(day),
                periods: vec![PeriodValue {
                    period: "Base".into(),
                    kwh: Some(11.5),
                    eur: Some(2.3),
                }],
                amounts: Amounts {
                    kwh: Some(11.5),
                    eur: Some(2.3),
                    subscription_eur: Some(0.45),
                    co2_kg: Some(0.6),
                    ..Amounts::default()
                },
            })
            .collect(),
        ..Default::default()
    }
}

fn seeded_store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let guest = GuestIdentity {
        name: "seed".into(),
        version: "0".into(),
        sha256: "0".repeat(64),
    };
    let run = store
        .begin_run("test", &guest, d("2025-12-01"), d("2025-12-03"), 0)
        .unwrap();
    let stats = store.ingest(run, "test", &seed(), 0).unwrap();
    store
        .finish_run(run, &RunOutcome::Success, &stats, 0, 0)
        .unwrap();
    assert!(stats.inserted > 0);
    store
}

/// One real sync run (`sync::run_windows`: sandbox, validation, store) of
/// January 2026 with the hostile guest in `mode`.
async fn store_run(runtime: &Runtime, guest: &Guest, store: &mut Store, mode: &str) -> RunSummary {
    let mut cfg = crate::common::config(
        "https://www.hellowatt.fr",
        mode,
        "Not-a-secret-2026!",
        vec![DataKind::ElectricityDaily],
        Path::new(":memory:"),
    );
    cfg.limits = limits();
    cfg.http.max_requests = 20;
    sync::run_windows(
        runtime,
        guest,
        store,
        &cfg,
        &cfg.accounts[0],
        &[(d("2026-01-01"), d("2026-01-31"))],
    )
    .await
    .expect("the run is recorded")
}

/// Every hostile answer, through the real sync path, on a store that holds
/// data: the run fails with a kind and a message that name the limit or
/// the field, the stored data is unchanged, and the same pre-instantiated
/// guest then serves a good run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_runs_store_nothing_and_name_the_limit() {
    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let mut store = seeded_store();
    let before = store.content_digest().unwrap();

    // (login = mode, failure kind, what the message must say)
    let cases: &[(&str, &str, &str)] = &[
        ("loop", "sandbox-cpu", "more than 500ms of CPU"),
        ("memory", "sandbox-memory", "memory limit of 32 MiB"),
        ("sleep", "sandbox-timeout", "did not answer within 3s"),
        ("panic", "sandbox-trap", "panics on purpose"),
        ("unreachable", "sandbox-trap", "unreachable"),
        ("stack", "sandbox-trap", "out of bounds memory access"),
        ("deep-call", "sandbox-trap", "call stack exhausted"),
        ("bad-date", "sandbox-invalid", "2026-02-30"),
        (
            "bad:neg-kwh",
            "invalid-records",
            "01-01 kwh: -1 kWh is not a plausible energy",
        ),
        (
            "bad:neg-injection",
            "invalid-records",
            "injection_kwh: -2.5 kWh",
        ),
        (
            "bad:neg-solar",
            "invalid-records",
            "solar_production_kwh: -0.1 kWh",
        ),
        ("bad:huge-kwh", "invalid-records", "kwh: 1000000000000 kWh"),
        ("bad:nan-kwh", "invalid-records", "kwh: NaN kWh"),
        ("bad:inf-kwh", "invalid-records", "kwh: inf kWh"),
        ("bad:nan-eur", "invalid-records", "01-01 eur: NaN EUR"),
        ("bad:inf-eur", "invalid-records", "01-01 eur: inf EUR"),
        (
            "bad:neg-inf-eur",
            "invalid-records",
            "subscription_eur: -inf EUR",
        ),
        ("bad:nan-period", "invalid-records", "period HC: NaN kWh"),
        (
            "bad:year-1900",
            "invalid-records",
            "day 1900-01-01 is outside the asked window",
        ),
        (
            "bad:year-2100",
            "invalid-records",
            "day 2100-01-01 is outside the asked window",
        ),
        (
            "bad:celsius-2100",
            "invalid-records",
            "day 2100-01-01 is outside the asked window",
        ),
        ("bad:empty-meter", "invalid-records", "meter id: empty"),
        ("bad:nan-celsius", "invalid-records", "NaN °C"),
        ("bad:inf-celsius", "invalid-records", "inf °C"),
        ("bad:neg-inf-celsius", "invalid-records", "-inf °C"),
        ("bad:hot-celsius", "invalid-records", "300 °C"),
        (
            "bad:curve-7d",
            "invalid-records",
            "starts on 2026-01-08, not on its day 2026-01-01",
        ),
        (
            "bad:curve-start-max",
            "invalid-records",
            "starts outside the asked window",
        ),
        (
            "bad:curve-start-min",
            "invalid-records",
            "starts outside the asked window",
        ),
        (
            "bad:ecowatt-unasked",
            "invalid-records",
            "did not ask for EcoWatt signals",
        ),
        ("bad:curve-nan", "invalid-records", "NaN kWh"),
        ("bad:curve-neg", "invalid-records", "-0.5 kWh"),
        (
            "bad:curve-0min",
            "invalid-records",
            "an interval of 0 minutes",
        ),
        (
            "bad:window-detail",
            "invalid-records",
            "detail: 4194304 characters, more than 1000",
        ),
        (
            "bad:many-meters",
            "invalid-records",
            "300001 records in one window",
        ),
        (
            "bad:many-periods",
            "invalid-records",
            "300001 records in one window",
        ),
        (
            "records:250000",
            "invalid-records",
            "250000 records in one window",
        ),
        (
            "records:4000000",
            "sandbox-memory",
            "memory limit of 32 MiB",
        ),
        (
            "big-string:8",
            "invalid-records",
            "home address: 8388608 characters, more than 1000",
        ),
        ("big-string:40", "sandbox-memory", "memory limit of 32 MiB"),
        (
            "handles",
            "sandbox-resources",
            "more than 10000 host resources",
        ),
        // 100 homes whose addresses alias one 1 MiB buffer: the host copies
        // 100 MiB, then refuses the address...
        (
            "alias:100:1024",
            "invalid-records",
            "home address: 1048576 characters",
        ),
        // ...and 200 of them pass wasmtime's cap on data copied per call
        // (its "hostcall fuel", 128 MiB by default): refused while lifting.
        (
            "alias:200:1024",
            "sandbox-trap",
            "too much data is being copied between the host and the guest",
        ),
        (
            "foreign:http://169.254.169.254/",
            "transport",
            "HttpRequestDenied",
        ),
        (
            "foreign:file:///etc/passwd",
            "transport",
            "HttpProtocolError",
        ),
    ];
    for &(mode, kind, needle) in cases {
        let started = Instant::now();
        let summary = store_run(&runtime, &guest, &mut store, mode).await;
        let Some(failure) = &summary.failure else {
            panic!("{mode}: the run succeeded");
        };
        let message = failure.to_string();
        assert!(
            failure.kind().starts_with(kind),
            "{mode}: kind {} ({message})",
            failure.kind()
        );
        assert!(message.contains(needle), "{mode}: {message}");
        assert!(
            message.len() < 4000,
            "{mode}: a message of {} bytes",
            message.len()
        );
        assert_eq!(summary.windows, 0, "{mode}");
        assert_eq!(
            store.content_digest().unwrap(),
            before,
            "{mode}: stored data changed"
        );
        // The journal holds this run, with the failure's kind and message.
        let journal = store.runs(Some("test"), 1).unwrap();
        assert_eq!(journal[0].id.0, summary.run_id, "{mode}");
        assert_eq!(
            journal[0].outcome,
            Some(RunOutcome::Failed {
                kind: failure.kind().to_string(),
                message: message.clone(),
            }),
            "{mode}: the journalled run"
        );
        // A refused request leaves the policy's reason in the run's traffic.
        if let Some(target) = mode.strip_prefix("foreign:") {
            let denied = &summary.traffic.denied;
            assert_eq!(denied.len(), 1, "{mode}: {denied:?}");
            let wanted = match target.split_once(':') {
                Some(("http" | "https", _)) | None => {
                    "only https://www.hellowatt.fr is allowed".to_string()
                }
                Some((scheme, _)) => format!(
                    "scheme {scheme} is not allowed: only https://www.hellowatt.fr is allowed"
                ),
            };
            assert!(
                denied[0].reason.contains(&wanted),
                "{mode}: {:?}",
                denied[0].reason
            );
        }
        eprintln!(
            "{mode:<24} {:>6} ms  {} | {message}",
            started.elapsed().as_millis(),
            failure.kind()
        );

        let good = store_run(&runtime, &guest, &mut store, "fine").await;
        assert!(good.failure.is_none(), "{mode}, then: {:?}", good.failure);
    }
    assert_eq!(store.content_digest().unwrap(), before);
    store.integrity_check().unwrap();
    let runs = store.runs(Some("test"), 1000).unwrap();
    assert_eq!(runs.len(), 1 + 2 * cases.len());
}

/// Host memory for the largest snapshots a guest can return: not run in CI
/// (it takes the host process to hundreds of MiB on purpose). Run with
/// `cargo test -p hellowatt --test it -- --ignored --nocapture host_memory`
/// (`HOSTILE_MODES=a,b` runs other modes; the four below are the default).
/// Each documented mode must end as `docs/hardening.md` says ("The host's
/// own memory"), and raise the host's peak RSS by less than 256 MiB; the
/// times and RSS figures are printed, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn host_memory_for_the_largest_snapshots() {
    fn rss_kib(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
    /// (kind, what the message must say) of each documented mode; another
    /// mode is only measured.
    fn expected(mode: &str) -> Option<(&'static str, &'static str)> {
        Some(match mode {
            // Lifted whole, then refused by the host's record cap.
            "records:1300000" => ("invalid-records", "1300000 records in one window"),
            // Lifted (copied once), then refused by the text cap.
            "big-string:60" => (
                "invalid-records",
                "home address: 62914560 characters, more than 1000",
            ),
            // 100 MiB copied from 1 MiB of guest memory, then refused.
            "alias:100:1024" => (
                "invalid-records",
                "home address: 1048576 characters, more than 1000",
            ),
            // 200 MiB is past wasmtime's hostcall fuel: refused while lifting.
            "alias:200:1024" => (
                "sandbox-trap",
                "too much data is being copied between the host and the guest",
            ),
            _ => return None,
        })
    }
    const MAX_GROWTH_MIB: u64 = 256;

    let runtime = Runtime::new().unwrap();
    let guest = hostile(&runtime).await;
    let site = "https://www.hellowatt.fr";
    let modes: Vec<String> = std::env::var("HOSTILE_MODES")
        .map(|m| m.split(',').map(str::to_string).collect())
        .unwrap_or_else(|_| {
            [
                "records:1300000",
                "big-string:60",
                "alias:100:1024",
                "alias:200:1024",
            ]
            .map(str::to_string)
            .to_vec()
        });
    let mut checked = 0;
    for mode in modes {
        let big = Limits {
            memory_bytes: 64 * 1024 * 1024,
            cpu_per_call: Duration::from_secs(20),
            wall_per_call: Duration::from_secs(120),
            wall_per_run: Duration::from_secs(300),
        };
        let before = rss_kib("VmHWM:");
        if cfg!(target_os = "linux") {
            assert!(before > 0, "VmHWM is not readable: nothing is measured");
        }
        let started = Instant::now();
        let mut run = runtime.start(&guest, hooks(site, 20), &big).await.unwrap();
        let r = run.sync(&call(site, &mode)).await;
        // (kind, message), as a sync run would journal them.
        let (kind, message) = match &r {
            Ok(Ok(s)) => {
                let (start, end) = (d("2026-01-01"), d("2026-01-31"));
                match hellowatt::sandbox::validate::snapshot(s, start, end) {
                    Ok(()) => ("accepted", String::new()),
                    Err(e) => ("invalid-records", e),
                }
            }
            Ok(Err(e)) => (e.kind(), e.to_string()),
            Err(e) => (e.kind(), e.to_string()),
        };
        drop(r);
        let after = rss_kib("VmHWM:");
        let short: String = message.chars().take(200).collect();
        eprintln!(
            "{mode}: {:?}, host peak RSS {} MiB -> {} MiB: {kind}: {short}",
            started.elapsed(),
            before / 1024,
            after / 1024
        );
        assert!(
            after.saturating_sub(before) / 1024 < MAX_GROWTH_MIB,
            "{mode}: the host's peak RSS grew by {} MiB",
            after.saturating_sub(before) / 1024
        );
        if let Some((want_kind, needle)) = expected(&mode) {
            assert_eq!(kind, want_kind, "{mode}: {short}");
            assert!(message.contains(needle), "{mode}: {short}");
            checked += 1;
        }
    }
    eprintln!("{checked} documented mode(s) checked");
}
