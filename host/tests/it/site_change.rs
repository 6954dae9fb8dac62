//! The day helloWatt changes its site, rehearsed end to end (#18), as the
//! README's "When helloWatt changes its site" section walks it by hand:
//!
//! 1. `hellowatt run` keeps an account current against the simulated site
//!    (the backfill done, the last days not published yet);
//! 2. the site renames `values` to `data` in the daily electricity answer,
//!    exactly the change the shipped `site-changed` scenario expects an
//!    error for; the next run fails as "site changed", the account pauses
//!    (status, the API, `/metrics` say so) and its daily electricity does
//!    not change;
//! 3. `hellowatt record` writes an anonymised scenario of the new site;
//!    its golden for a fixed guest is written by the fixtures generator
//!    (`fixtures/generate.py golden-daily`), never by a guest; the scenario
//!    supersedes the shipped `site-changed`;
//! 4. the fixed guest (the bundled guest's `values-renamed` build: the
//!    author's fix) is signed with a trusted key and dropped in with that
//!    scenario; the gate passes it (superseding `site-changed`, which it
//!    could not pass), it goes live with no restart, the account resumes by
//!    itself and fills the days it missed, with no gap and no duplicate;
//! 5. `hellowatt guest rollback` returns to the old guest, and the next run
//!    pauses the account again.

use crate::common::wait_for;
use crate::common::{free_port, http_get};
use crate::hot_swap::build_variant;
use hellowatt::store::Store;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, Fault, FaultScope, SimMode};
use hellowatt_snapshot::{DataKind, Date, Energy, Outcome, WindowStatus};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "default";

fn command(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hellowatt"));
    c.arg("--config")
        .arg(config)
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
        .env_remove("RUST_LOG");
    c
}

/// Runs a `hellowatt` command to its end: (success, stdout and stderr).
fn hellowatt(config: &Path, args: &[&str]) -> (bool, String) {
    let out = command(config).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn service(config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    command(config)
        .arg("run")
        .env("RUST_LOG", "hellowatt=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The electricity meter's stored daily readings, as `(date, kWh)`.
fn electricity_days(db: &Path) -> Vec<(Date, Option<f64>)> {
    let store = Store::open(db).unwrap();
    let Some(meter) = store
        .meters(None)
        .unwrap()
        .into_iter()
        .find(|m| m.energy == Energy::Electricity)
    else {
        return Vec::new();
    };
    store
        .daily(
            &meter.meter_id,
            Date::parse("2000-01-01").unwrap(),
            hellowatt::clock::today(),
        )
        .unwrap()
        .into_iter()
        .map(|r| (r.reading.date, r.reading.amounts.kwh))
        .collect()
}

fn newest(db: &Path) -> Option<Date> {
    electricity_days(db).last().map(|d| d.0)
}

/// The account's line of `/api/v1/status`.
fn account_status(api: &str) -> Option<Value> {
    let body = http_get(&format!("{api}/api/v1/status"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v["accounts"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == ACCOUNT)
        .cloned()
}

fn paused(api: &str) -> bool {
    account_status(api).is_some_and(|a| !a["paused"].is_null())
}

/// What the MQTT state of each meter says of the collection (as the
/// service publishes it: the messages are built from the store).
fn mqtt_collection(db: &Path) -> Vec<String> {
    let store = Store::open(db).unwrap();
    let cfg = hellowatt::mqtt::MqttConfig::from_url("mqtt://localhost").unwrap();
    hellowatt::mqtt::messages(&cfg, &store, hellowatt::clock::today())
        .unwrap()
        .iter()
        .filter(|m| m.topic.ends_with("/state"))
        .filter_map(|m| serde_json::from_str::<Value>(&m.payload).ok())
        .filter_map(|v| v["collection"].as_str().map(str::to_string))
        .collect()
}

/// The golden of the fixed guest for a recorded scenario: the recording's
/// (the old guest's outcome, anonymised) with its failed daily electricity
/// windows read, their readings and Tempo days written by the fixtures
/// generator from the recorded answers.
fn fixed_golden(scenario: &Path) -> Outcome {
    let recorded: Outcome =
        serde_json::from_slice(&std::fs::read(scenario.join("golden.json")).unwrap()).unwrap();
    let Outcome::Snapshot(mut golden) = recorded else {
        panic!("the recording's outcome is not a snapshot: {recorded:?}")
    };
    let meter = golden
        .homes
        .iter()
        .flat_map(|h| &h.meters)
        .find(|m| m.energy == Energy::Electricity)
        .expect("the recording names the electricity meter")
        .id
        .clone();
    let generator = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("generate.py");
    let mut responses: Vec<PathBuf> = std::fs::read_dir(scenario)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-request.http"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("/sge_measures/conso_daily")
        })
        .map(|p| {
            PathBuf::from(
                p.to_string_lossy()
                    .replace("-request.http", "-response.http"),
            )
        })
        .collect();
    responses.sort();
    assert!(!responses.is_empty(), "no daily electricity recorded");
    for response in responses {
        let text = std::fs::read_to_string(&response).unwrap();
        let body = text.split_once("\n\n").map(|x| x.1).unwrap_or_default();
        let mut python = Command::new("python3")
            .arg(&generator)
            .args(["golden-daily", &meter, "data"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the fixtures generator");
        use std::io::Write as _;
        python
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = python.wait_with_output().unwrap();
        assert!(out.status.success(), "{response:?}");
        let written: Value = serde_json::from_slice(&out.stdout).unwrap();
        golden.daily.extend(
            serde_json::from_value::<Vec<hellowatt_snapshot::DailyReading>>(
                written["daily"].clone(),
            )
            .unwrap(),
        );
        golden.tempo_days.extend(
            serde_json::from_value::<Vec<hellowatt_snapshot::TempoDay>>(
                written["tempo_days"].clone(),
            )
            .unwrap(),
        );
    }
    for w in &mut golden.windows {
        if w.kind == DataKind::ElectricityDaily && matches!(w.status, WindowStatus::Failed(_)) {
            w.status = WindowStatus::Complete;
        }
    }
    Outcome::Snapshot(golden)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_change_day_rehearsed() {
    // The author's fix, built while the service works.
    let fixed_build = tokio::task::spawn_blocking(|| build_variant("values-renamed"));
    let today = hellowatt::clock::today();
    let published = today.add_days(-4);
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    // The last days are not on the site yet.
    server.set_fault(
        Some(Fault::NotPublishedAfter(published)),
        FaultScope::PathContaining("_measures/".into()),
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let guests = dir.path().join("guests");
    std::fs::create_dir_all(&guests).unwrap();
    let key = dir.path().join("publisher.key");
    hellowatt::cli::guest::keygen(&key).unwrap();
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let port = free_port();
    let api = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("hellowatt.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\nsite_url = \"{}\"\npacing_ms = 0\nbackfill_months = 1\n\
             listen = \"127.0.0.1:{port}\"\ntempo = \"off\"\nmanual_min_interval_minutes = 0\n\
             guests_dir = \"{}\"\ntrusted_keys = [\"{}\"]\n",
            db.display(),
            server.url(),
            guests.display(),
            public.trim()
        ),
    )
    .unwrap();
    let log = dir.path().join("service.log");
    let mut run = service(&config, &log);

    // 1. The backfill done, up to the last published day.
    wait_for("the backfill", Duration::from_secs(90), || {
        newest(&db) == Some(published)
    })
    .await;
    wait_for("the service's API", Duration::from_secs(10), || {
        account_status(&api).is_some()
    })
    .await;
    let before = electricity_days(&db);
    assert!(!paused(&api));

    // 2. The site changes; the next run (asked now, as a person would)
    // pauses the account and leaves its daily electricity alone.
    server.set_fault(
        Some(Fault::RenamedKey {
            from: "values".into(),
            to: "data".into(),
        }),
        FaultScope::PathContaining("sge_measures/conso_daily".into()),
    );
    let (ok, text) = hellowatt(&config, &["refresh", ACCOUNT]);
    assert!(ok, "{text}");
    wait_for("the pause", Duration::from_secs(60), || paused(&api)).await;
    let status = account_status(&api).unwrap();
    let detail = status["paused"]["detail"].as_str().unwrap();
    assert!(detail.contains("missing field \"values\""), "{detail}");
    assert_eq!(
        electricity_days(&db),
        before,
        "a paused account's days changed"
    );
    let metrics = http_get(&format!("{api}/metrics")).unwrap();
    assert!(
        metrics.contains(&format!("hellowatt_paused{{account=\"{ACCOUNT}\"}} 1")),
        "{metrics}"
    );
    let (_, status_text) = hellowatt(&config, &["status"]);
    assert!(
        status_text.contains("paused until a different guest is active"),
        "{status_text}"
    );
    println!("{status_text}");
    crate::common::assert_plain_sentences(&status_text);
    assert_eq!(mqtt_collection(&db), ["paused", "paused"]);

    // 3. A recording of the new site, and the fixed guest's golden.
    let fixtures = guests.join("fixed.fixtures");
    let recorded = fixtures.join("values-renamed");
    let (from, to) = (published.add_days(1), today.add_days(-1));
    let (ok, text) = hellowatt(
        &config,
        &[
            "record",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--out",
            recorded.to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("kept as they are"), "{text}");
    let golden = fixed_golden(&recorded);
    std::fs::write(
        recorded.join("golden.json"),
        serde_json::to_string_pretty(&golden).unwrap(),
    )
    .unwrap();
    let mut meta: Value =
        serde_json::from_slice(&std::fs::read(recorded.join("scenario.json")).unwrap()).unwrap();
    meta["description"] = Value::String(
        "Recorded by hellowatt record after the site renamed `values` to `data` in the daily \
         electricity; golden by fixtures/generate.py golden-daily. Synthetic: the simulated site."
            .into(),
    );
    meta["supersedes"] = serde_json::json!(["site-changed"]);
    std::fs::write(
        recorded.join("scenario.json"),
        serde_json::to_string_pretty(&meta).unwrap(),
    )
    .unwrap();

    // 4. The fix, signed and checked as the gate will, then dropped in.
    let fixed = fixed_build.await.unwrap();
    let staging = dir.path().join("fixed.wasm");
    std::fs::write(&staging, &fixed).unwrap();
    hellowatt::cli::guest::sign(&key, &staging).unwrap();
    let (ok, text) = hellowatt(
        &config,
        &[
            "guest",
            "check",
            staging.to_str().unwrap(),
            "--fixtures",
            fixtures.to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("superseded")
            && text.contains("site-changed (shipped) by fixed.fixtures/values-renamed"),
        "{text}"
    );
    // Unsigned, the same fix and scenario are refused by the check.
    let unsigned = dir.path().join("unsigned.wasm");
    std::fs::write(&unsigned, &fixed).unwrap();
    let (ok, text) = hellowatt(
        &config,
        &[
            "guest",
            "check",
            unsigned.to_str().unwrap(),
            "--fixtures",
            fixtures.to_str().unwrap(),
        ],
    );
    assert!(!ok && text.contains("no signature"), "{text}");

    // The signature first, the component last: the watcher sees it whole.
    std::fs::copy(
        hellowatt::registry::signature::sig_path(&staging),
        guests.join("fixed.wasm.sig"),
    )
    .unwrap();
    let dropped = Instant::now();
    std::fs::write(guests.join("fixed.wasm"), &fixed).unwrap();
    wait_for(
        "the fixed guest to go live",
        Duration::from_secs(60),
        || http_get(&format!("{api}/api/v1/status")).is_some_and(|b| b.contains("1.2.0-test")),
    )
    .await;
    let live = dropped.elapsed();
    wait_for("the missed days", Duration::from_secs(60), || {
        newest(&db) == Some(to)
    })
    .await;
    let filled = dropped.elapsed();
    println!(
        "TIMING site change: fixed guest live {} ms after the drop, first missed day stored \
         again {} ms after it",
        live.as_millis(),
        filled.as_millis()
    );
    assert!(!paused(&api), "{:?}", account_status(&api));
    assert_eq!(mqtt_collection(&db), ["ok", "ok"]);
    // A command-line sync runs the guest the service runs (the fix, not
    // the bundled one), compiled once: from the compiled-guest cache.
    let out = command(&config)
        .args(["sync", "--from", &to.to_string(), "--to", &to.to_string()])
        .env("RUST_LOG", "hellowatt=debug")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("guest loaded from the artifact cache"),
        "{text}"
    );
    // No gap, no duplicate: every day from the first to yesterday, once,
    // and the days stored before unchanged.
    let after = electricity_days(&db);
    let first = after[0].0;
    let days: Vec<Date> = after.iter().map(|d| d.0).collect();
    let mut expected = Vec::new();
    let mut d = first;
    while d <= to {
        expected.push(d);
        d = d.succ();
    }
    assert_eq!(days, expected);
    for day in &before {
        assert!(after.contains(day), "{day:?} changed");
    }
    let (_, list) = hellowatt(&config, &["guest", "list"]);
    assert!(
        list.contains("superseded") && list.contains("site-changed (shipped)"),
        "{list}"
    );

    // 5. Back to the old guest: the next run pauses the account again.
    let (ok, text) = hellowatt(&config, &["guest", "rollback"]);
    assert!(ok, "{text}");
    wait_for("the old guest", Duration::from_secs(30), || {
        http_get(&format!("{api}/api/v1/status")).is_some_and(|b| !b.contains("1.2.0-test"))
    })
    .await;
    let (ok, text) = hellowatt(&config, &["refresh", ACCOUNT]);
    assert!(ok, "{text}");
    wait_for("the pause again", Duration::from_secs(60), || paused(&api)).await;

    run.kill().unwrap();
    run.wait().unwrap();
    server.shutdown().await;
}
