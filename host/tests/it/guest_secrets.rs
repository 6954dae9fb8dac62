//! Zero-secret guests: a hostile guest on contract 2 (tests/guests/hostile,
//! its `leak` mode) tries every way to the user's password and session it
//! has, against the simulated site, through the real sync path. A trace of
//! every byte that crossed the door (each request as it left, each answer
//! as the guest read it) proves that the password and the session cookie
//! were only in the log-in's body and the `Cookie` header sent to the
//! site; the logs, the store, the API and MQTT are scanned for them too.
//! The table of attempts is in `docs/hardening.md` (## Secrets and guests).

use hellowatt::api::{
    self, ApiState, GuestCounters, GuestHistoryEntry, GuestSummary, Metrics, ServiceInfo,
};
use hellowatt::config::{Account, Config, Secret};
use hellowatt::sandbox::policy::{Crossing, Origin};
use hellowatt::sandbox::runtime::{Guest, Runtime};
use hellowatt::store::Store;
use hellowatt::sync::{self, Target};
use hellowatt_browser::scrub::forms;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode};
use hellowatt_snapshot::DataKind;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

const WRONG_PASSWORD: &str = "Wrong-Echoed-Passw0rd-7731!";

struct NoService;

impl ServiceInfo for NoService {
    fn accounts(&self) -> Vec<String> {
        vec![DEMO_LOGIN.into()]
    }
    fn guest(&self) -> GuestSummary {
        GuestSummary {
            name: "hostile".into(),
            version: "0.1.0".into(),
            sha256: String::new(),
            contract: "4.0.0".into(),
        }
    }
    fn guest_history(&self) -> Vec<GuestHistoryEntry> {
        vec![]
    }
    fn next_step(&self, _: &str) -> Option<hellowatt::scheduler::NextStep> {
        None
    }
    fn counters(&self) -> GuestCounters {
        GuestCounters::default()
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Which of `secrets` (each in every form a site writes it) is in `hay`.
fn found<'a>(hay: &[u8], secrets: &'a [String]) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|s| forms(s).iter().any(|f| contains(hay, f)))
        .map(String::as_str)
        .collect()
}

fn get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

struct Run {
    crossings: Vec<Crossing>,
    denied: Vec<String>,
    placeholder: String,
}

/// One run of the hostile guest's `leak` mode for the demo account, with
/// `password` configured, through `sync::run_with_hooks` into `store`.
async fn leak_run(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut Store,
    site: &Origin,
    password: &str,
) -> Run {
    let account = Account {
        name: DEMO_LOGIN.into(),
        email: Some(DEMO_LOGIN.into()),
        password: Some(Secret::new(password)),
        kinds: vec![DataKind::Homes],
    };
    let config = Config::for_test_site(site.clone(), account, std::path::Path::new(":memory:"));
    let target = Target {
        account: DEMO_LOGIN,
        origin: site,
        http: &config.http,
        limits: &config.limits,
        login: DEMO_LOGIN,
        password,
        kinds: &[DataKind::Homes],
        progress: None,
    };
    let hooks = sync::hooks_for(&target).with_trace();
    let day = hellowatt::clock::today().add_days(-1);
    let summary = sync::run_with_hooks(
        runtime,
        guest,
        store,
        &target,
        &[sync::Part::whole(day, day)],
        hooks.clone(),
    )
    .await
    .expect("the run is recorded");
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    Run {
        crossings: hooks.crossings(),
        denied: hooks
            .traffic()
            .denied
            .iter()
            .map(|d| format!("{}: {}", d.request, d.reason))
            .collect(),
        placeholder: hooks.placeholder(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_hostile_guest_never_holds_the_password_or_the_session() {
    let (logs, _guards) = crate::common::Logs::capture();

    let today = hellowatt::clock::today();
    let site = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let origin = Origin::parse(&site.url()).unwrap();
    let runtime = Runtime::new().unwrap();
    let guest = crate::common::hostile_guest(&runtime).await;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hellowatt.db");
    let mut store = Store::open(&db).unwrap();

    // 1. The right password: the guest logs in (through the host) and
    //    reads the API, between its attempts.
    let good = leak_run(&runtime, &guest, &mut store, &origin, DEMO_PASSWORD).await;
    // 2. A wrong one: the site echoes it in its answer to the log-in.
    let bad = leak_run(&runtime, &guest, &mut store, &origin, WRONG_PASSWORD).await;

    // Every attempt was refused by the rule that names it.
    let denied = good.denied.join("\n");
    for (attempt, reason) in [
        ("a typed password", "must be the placeholder the host gave"),
        ("the author's account", "names another account"),
        (
            "the placeholder in a second field",
            "in the form field \"note\"",
        ),
        ("a log-in body that is no form", "must be a form"),
        ("the placeholder in the URL", "placeholder is in the URL"),
        ("the placeholder in a header", "in the header x-note"),
        (
            "a post to the profile",
            "POST /api/user is not an allowed request",
        ),
        (
            "a post to the sign-up form",
            "POST /accounts/signup/ is not an allowed request",
        ),
        (
            "a forged session cookie",
            "naming sessionid, a cookie the host holds",
        ),
        ("a fourth log-in", "more than 3 log-ins in one run"),
    ] {
        assert!(
            denied.contains(reason),
            "{attempt}: no refusal saying {reason:?} in:\n{denied}"
        );
    }

    // The secrets: the passwords, and every session the site handed out
    // (read off the requests that left: the guest never saw one).
    let mut sessions: Vec<String> = Vec::new();
    for run in [&good, &bad] {
        for c in &run.crossings {
            if let Crossing::Left { headers, .. } = c {
                for (k, v) in headers {
                    if k == "cookie" {
                        for pair in v.split(';') {
                            if let Some(id) = pair.trim().strip_prefix("sessionid=") {
                                sessions.push(id.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    sessions.sort();
    sessions.dedup();
    assert!(
        !sessions.is_empty(),
        "the host sent a session after the log-in"
    );
    let mut secrets = vec![DEMO_PASSWORD.to_string(), WRONG_PASSWORD.to_string()];
    secrets.extend(sessions.iter().cloned());

    // What left: each password only in the log-in's body, each session
    // only in a Cookie header, all to the site.
    let mut log_ins_with_password = 0;
    for run in [&good, &bad] {
        for c in &run.crossings {
            let Crossing::Left {
                method,
                uri,
                headers,
                body,
            } = c
            else {
                continue;
            };
            assert!(uri.starts_with(&site.url()), "{uri}");
            let login = method == "POST" && uri.ends_with("/accounts/login/");
            let in_body = found(body, &secrets);
            if login && !in_body.is_empty() {
                log_ins_with_password += 1;
            }
            for s in in_body {
                assert!(
                    login && (s == DEMO_PASSWORD || s == WRONG_PASSWORD),
                    "a secret in the body of {method} {uri}"
                );
            }
            assert!(found(uri.as_bytes(), &secrets).is_empty(), "{uri}");
            for (k, v) in headers {
                for s in found(v.as_bytes(), &secrets) {
                    assert!(
                        k == "cookie" && sessions.iter().any(|id| id == s),
                        "a secret in the header {k} of {method} {uri}"
                    );
                }
            }
        }
    }
    // The honest log-in and two more in each run; the rest were refused.
    assert_eq!(log_ins_with_password, 6, "the host filled the password in");

    // What the guest read: neither secret, in any form. Where the site
    // echoed the wrong password, the guest read the placeholder.
    let mut handed = 0;
    for run in [&good, &bad] {
        for c in &run.crossings {
            if let Crossing::Handed { headers, body, .. } = c {
                handed += 1;
                assert!(
                    found(body, &secrets).is_empty(),
                    "a secret handed to the guest"
                );
                for (k, v) in headers {
                    assert!(found(v.as_bytes(), &secrets).is_empty(), "in {k}");
                    assert!(
                        !(k == "set-cookie" && v.starts_with("sessionid")),
                        "the guest saw the session's Set-Cookie"
                    );
                }
            }
        }
    }
    assert!(handed >= 8, "the guest read answers: {handed}");
    let echoed = bad.crossings.iter().any(|c| {
        matches!(c, Crossing::Handed { status: 400, body, .. } if contains(body, &bad.placeholder))
    });
    assert!(
        echoed,
        "the site's echo of the password reached the guest as the placeholder"
    );

    // The logs (trace level, the guest's own lines included).
    let log_bytes = logs.bytes();
    assert!(
        contains(&log_bytes, "leak: a typed password: refused"),
        "the guest's report is logged"
    );
    assert!(
        contains(&log_bytes, "seen: "),
        "what the guest read is logged:\n{}",
        String::from_utf8_lossy(&log_bytes)
            .lines()
            .filter(|l| l.contains("hellowatt::guest"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        found(&log_bytes, &secrets),
        Vec::<&str>::new(),
        "in the logs"
    );

    // The store: what the guest read is in it (its home's address and
    // city), so that the scans below would find a leak…
    let (address, city): (String, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT address, city FROM homes WHERE id = '1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(city.contains("a typed password: refused"), "{city}");
    assert!(address.len() > 500, "{address}");
    // …the API over it, and MQTT from it.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ApiState {
        store: Arc::new(api::StorePool::single(Store::open(&db).unwrap())),
        service: Arc::new(NoService),
        token: None,
        metrics: Arc::new(Metrics::new()),
        allowed_hosts: vec![],
    };
    let server = tokio::spawn(async move {
        api::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let mut answers = Vec::new();
    let (from, to) = (today.add_days(-7), today);
    for (method, route) in api::ROUTES {
        if *method != "get" {
            continue;
        }
        let path = route
            .replace("{file}", "app.js")
            .replace("{name}", "default");
        for p in [path.clone(), format!("{path}?from={from}&to={to}")] {
            let answer = tokio::task::spawn_blocking(move || get(addr, &p))
                .await
                .unwrap();
            answers.extend(answer);
        }
    }
    let _ = stop.send(());
    server.await.unwrap();
    assert!(contains(&answers, "HTTP/1.1 200"), "the API answered");
    assert_eq!(
        found(&answers, &secrets),
        Vec::<&str>::new(),
        "in the API's answers"
    );
    let mqtt = hellowatt::mqtt::MqttConfig::from_url("mqtt://127.0.0.1:1883").unwrap();
    let messages = hellowatt::mqtt::messages(&mqtt, &store, today).unwrap();
    let mut published = Vec::new();
    for m in messages {
        published.extend(m.topic.into_bytes());
        published.extend(m.payload.into_bytes());
    }
    assert!(!published.is_empty(), "MQTT publishes the guest's meter");
    assert_eq!(found(&published, &secrets), Vec::<&str>::new(), "in MQTT");
    drop(store);
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            found(&bytes, &secrets),
            Vec::<&str>::new(),
            "in {}",
            path.display()
        );
    }
    println!(
        "traced {} crossings; scanned {} log bytes, {} API bytes, {} MQTT bytes for {} secrets",
        good.crossings.len() + bad.crossings.len(),
        log_bytes.len(),
        answers.len(),
        published.len(),
        secrets.len()
    );
    site.shutdown().await;
}
