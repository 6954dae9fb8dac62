//! The sandbox holds against a misbehaving guest (tests/guests/hostile):
//! each limit stops it with an error that names the limit, the policy
//! denies what is outside the allow-list, and the host carries on.

use hellowatt::policy::{Backend, HttpLimits, Origin, PolicyHooks};
use hellowatt::redact::Redactor;
use hellowatt::runtime::{Guest, Limits, Runtime, SandboxError, SyncCall};
use hellowatt_snapshot::{Date, SyncError};
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

fn call(base_url: &str, mode: &str) -> SyncCall {
    SyncCall {
        base_url: base_url.to_string(),
        login: mode.to_string(),
        password: "Not-a-secret-2026!".into(),
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
    assert!(matches!(r, Err(SandboxError::RunTime { .. })), "{r:?}");

    let (r, _) = run_mode(&runtime, &guest, site, "panic").await;
    assert!(matches!(&r, Err(SandboxError::Trap(_))), "{r:?}");

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
        Ok(Err(SyncError::Transport { detail })) => {
            assert!(detail.starts_with("refused after 20"), "{detail}")
        }
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
