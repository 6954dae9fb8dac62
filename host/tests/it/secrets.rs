//! Secrets never leave: `hellowatt run` (the real binary, trace logs on)
//! syncs the simulated site and the simulated Tempo service, serves its
//! API, is asked every route with and without its token; then a log-in
//! with a wrong password fails; then `hellowatt record` writes a cassette.
//! Every log line, error message, API answer, metric, MQTT payload,
//! cassette file, status text, and the database files are scanned for the
//! password, the wrong password, the API token, and every cookie value and
//! CSRF token the simulated site handed out.

use hellowatt::store::Store;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode, TempoSimMode};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WRONG_PASSWORD: &str = "Wrong-Canary-Passw0rd-9137!";
const API_TOKEN: &str = "canary-api-token-5c1e7a90d2b34f68";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 GET; the whole answer, head and body, as text.
fn get(port: u16, path: &str, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn hellowatt(config: &Path, password: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hellowatt"));
    // Everything hellowatt logs, at the finest level (wasmtime's own trace
    // is about its type registry, and slows the run to a crawl).
    c.arg("--config")
        .arg(config)
        .env("RUST_LOG", "hellowatt=trace,info")
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", password)
        .env("HELLOWATT_GUESTS_DIR", config.with_file_name("guests"));
    c
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Where each secret was found: (secret's name, place).
fn leaks(places: &[(String, Vec<u8>)], secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, bytes) in places {
        for (name, secret) in secrets {
            if secret.len() >= 8 && bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(format!("{name} in {place}"));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_an_answer_a_file_or_the_database() {
    let today = hellowatt::clock::today();
    let site = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let tempo = sim::start_tempo("127.0.0.1:0".parse().unwrap(), TempoSimMode::Both)
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hellowatt.db");
    let port = free_port();
    let config = tmp.path().join("hellowatt.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\nsite_url = \"{}\"\npacing_ms = 0\nbackfill_months = 1\n\
             listen = \"127.0.0.1:{port}\"\napi_token = \"{API_TOKEN}\"\n\
             tempo_url = \"{}\"\ntempo_fallback_url = \"off\"\ntempo_pacing_ms = 0\n",
            db.display(),
            site.url(),
            tempo.url()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();

    // 1. The service: a backfill, the Tempo season, the API, trace logs.
    let log = tmp.path().join("run.log");
    let mut child = hellowatt(&config, DEMO_PASSWORD)
        .arg("run")
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        ))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let synced = || {
        let Ok(store) = Store::open(&db) else {
            return false;
        };
        let from = today.add_days(-40);
        let tempo_known = store
            .tempo_outlook(today)
            .is_ok_and(|o| o.today.colour().is_some());
        let daily = store
            .meters(None)
            .is_ok_and(|m| m.iter().any(|m| m.last_day >= Some(today.add_days(-1))));
        tempo_known && daily && store.tempo_days(from, today).is_ok()
    };
    while !synced() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the service did not sync in time:\n{}",
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.contains("TRACE"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let meter = Store::open(&db).unwrap().meters(None).unwrap()[0]
        .meter_id
        .clone();
    let (from, to) = (today.add_days(-7), today.add_days(-1));
    for (method, route) in hellowatt::api::ROUTES {
        if *method != "get" {
            continue;
        }
        let path = route
            .replace("{file}", "app.js")
            .replace("{name}", "default");
        let with_query = format!("{path}?meter={meter}&from={from}&to={to}");
        for p in [path.clone(), with_query] {
            for token in [Some(API_TOKEN), None, Some("wrong-token-0000000000")] {
                let answer = get(port, &p, token);
                assert!(answer.starts_with("HTTP/1.1 "), "{p}: {answer}");
                places.push((format!("GET {p} (token {token:?})"), answer.into_bytes()));
            }
        }
    }
    // The dashboard takes the token once in the query: the answer must not
    // echo it.
    places.push((
        "GET /?token=".into(),
        get(port, &format!("/?token={API_TOKEN}"), None).into_bytes(),
    ));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let run_log = std::fs::read(&log).unwrap();
    assert!(
        String::from_utf8_lossy(&run_log).contains("DEBUG hellowatt::policy"),
        "debug logs, the requests included, were on"
    );
    // Written to a file (stderr not a terminal): plain text, no colours.
    assert!(
        !run_log.contains(&0x1b),
        "ANSI escape codes in a log written to a file"
    );
    places.push(("the service's log (trace)".into(), run_log));

    // 2. A wrong password: the error message and the log.
    let out = hellowatt(&config, WRONG_PASSWORD)
        .args(["sync", "--from", &to.to_string(), "--to", &to.to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the site rejected the credentials"),
        "the failure says what went wrong: {text}"
    );
    places.push(("a failed log-in's output".into(), text.into_bytes()));

    // 3. A recorded cassette, `status`, an export.
    let cassette = tmp.path().join("recorded");
    let out = hellowatt(&config, DEMO_PASSWORD)
        .args([
            "record",
            "--from",
            &to.to_string(),
            "--to",
            &to.to_string(),
            "--out",
        ])
        .arg(&cassette)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    places.push(("record's output".into(), [out.stdout, out.stderr].concat()));
    let recorded = files_under(&cassette);
    assert!(recorded.len() > 3, "{recorded:?}");
    for f in recorded {
        places.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    for args in [vec!["status"], vec!["export", "--format", "json"]] {
        let out = hellowatt(&config, DEMO_PASSWORD)
            .args(&args)
            .output()
            .unwrap();
        places.push((
            format!("hellowatt {}", args.join(" ")),
            [out.stdout, out.stderr].concat(),
        ));
    }

    // 4. What MQTT would publish from this database.
    let store = Store::open(&db).unwrap();
    let mqtt = hellowatt::mqtt::MqttConfig::from_url("mqtt://127.0.0.1:1883").unwrap();
    for m in hellowatt::mqtt::messages(&mqtt, &store, today).unwrap() {
        places.push((format!("MQTT {}", m.topic), m.payload.into_bytes()));
    }
    drop(store);

    // 5. The database files and the registry's folder beside them.
    for f in files_under(tmp.path()) {
        let name = f.display().to_string();
        if name.contains("hellowatt.db") || name.contains("hellowatt.guests") {
            places.push((name, std::fs::read(&f).unwrap()));
        }
    }

    let mut secrets = vec![
        ("the password".to_string(), DEMO_PASSWORD.to_string()),
        ("the wrong password".to_string(), WRONG_PASSWORD.to_string()),
        ("the API token".to_string(), API_TOKEN.to_string()),
    ];
    let issued = sim::issued_secrets();
    assert!(issued.len() >= 4, "the site handed out cookies: {issued:?}");
    for (i, s) in issued.into_iter().enumerate() {
        secrets.push((format!("site secret #{i}"), s));
    }
    // A control: the scan does find what is there (the e-mail is no secret
    // and the service's start-up report names it).
    let control = leaks(&places, &[("the e-mail".into(), DEMO_LOGIN.into())]);
    assert!(
        control.iter().any(|c| c.contains("the service's log")),
        "{control:?}"
    );
    let found = leaks(&places, &secrets);
    println!(
        "scanned {} places ({} bytes) for {} secrets",
        places.len(),
        places.iter().map(|(_, b)| b.len()).sum::<usize>(),
        secrets.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
    site.shutdown().await;
    tempo.shutdown().await;
}
