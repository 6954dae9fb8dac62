//! `hellowatt run` as a person runs it: the real binary against the
//! simulated site. Killed with SIGKILL in the middle of a backfill and
//! restarted, it asks the site only for the months it had not stored and
//! ends with exactly the rows of an uninterrupted sync; after
//! a rejected password it never tries to log in again, even across a
//! restart.

use crate::common::wait_for;
use hellowatt::store::Store;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode, SimServer};
use hellowatt_snapshot::Date;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BACKFILL_MONTHS: u32 = 4;

fn today() -> Date {
    hellowatt::clock::today()
}

fn write_config(dir: &Path, db: &Path, site: &str, pacing_ms: u64) -> PathBuf {
    let path = dir.join("hellowatt.toml");
    std::fs::write(
        &path,
        format!(
            "db = \"{}\"\nsite_url = \"{site}\"\npacing_ms = {pacing_ms}\nbackfill_months = {BACKFILL_MONTHS}\n\
             listen = \"127.0.0.1:0\"\ntempo = \"off\"\n",
            db.display()
        ),
    )
    .unwrap();
    path
}

fn hellowatt(config: &Path, password: &str, args: &[&str], log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_hellowatt"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", password)
        .env("HELLOWATT_GUESTS_DIR", config.with_file_name("guests"))
        .env("RUST_LOG", "hellowatt=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Month windows of electricity-daily stored complete so far.
fn stored_months(db: &Path) -> usize {
    let Ok(store) = Store::open(db) else { return 0 };
    store
        .windows(None)
        .map(|w| {
            w.iter()
                .filter(|w| w.window.kind == hellowatt_snapshot::DataKind::ElectricityDaily)
                .count()
        })
        .unwrap_or(0)
}

/// The first days of the electricity-daily month windows stored complete.
fn stored_month_starts(db: &Path) -> Vec<String> {
    let store = Store::open(db).unwrap();
    store
        .windows(None)
        .unwrap()
        .iter()
        .filter(|w| {
            w.window.kind == hellowatt_snapshot::DataKind::ElectricityDaily
                && w.window.status == hellowatt_snapshot::WindowStatus::Complete
        })
        .map(|w| w.window.start.to_string())
        .collect()
}

/// The first day (`2026-10-01`) of the month a served line asked the daily
/// electricity of, from its `startDate` (a Paris midnight, percent-encoded).
fn daily_month_asked(line: &str) -> Option<String> {
    let (_, query) = line.split_once("/sge_measures/conso_daily?")?;
    let start = query
        .split('&')
        .find_map(|p| p.strip_prefix("startDate="))?;
    start.get(..10).map(str::to_string)
}

/// Every stored value, without the bookkeeping (run ids, times).
fn content(db: &Path) -> String {
    let store = Store::open(db).unwrap();
    let from = Date::parse("2000-01-01").unwrap();
    let to = today();
    let mut out = Vec::new();
    for m in store.meters(None).unwrap() {
        out.push(serde_json::to_string(&m).unwrap());
        for r in store.daily(&m.meter_id, from, to).unwrap() {
            out.push(serde_json::to_string(&r.reading).unwrap());
        }
        for p in store.curve(&m.meter_id, from, to).unwrap() {
            out.push(serde_json::to_string(&p).unwrap());
        }
        out.push(format!(
            "revisions {}",
            store.revisions(&m.meter_id).unwrap().len()
        ));
        out.push(
            serde_json::to_string(&store.temperatures(&m.home_id, from, to).unwrap()).unwrap(),
        );
    }
    out.push(serde_json::to_string(&store.tempo_days(from, to).unwrap()).unwrap());
    out.push(serde_json::to_string(&store.contracts(None).unwrap()).unwrap());
    // The contracts' windows say which window of a run read the contracts,
    // which depends on where each run started: not part of the data.
    let mut windows: Vec<String> = store
        .windows(None)
        .unwrap()
        .iter()
        .filter(|w| w.window.kind != hellowatt_snapshot::DataKind::Homes)
        .map(|w| serde_json::to_string(&w.window).unwrap())
        .collect();
    windows.sort();
    out.extend(windows);
    out.join("\n")
}

/// What each test starts from: the simulated site, a folder, and the
/// service's configuration (`pacing_ms` as given) in it.
struct Setup {
    server: SimServer,
    dir: tempfile::TempDir,
    log: PathBuf,
    db: PathBuf,
    config: PathBuf,
}

async fn setup(pacing_ms: u64) -> Setup {
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today: today() },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("service.log");
    let db = dir.path().join("service.db");
    let config = write_config(dir.path(), &db, &server.url(), pacing_ms);
    Setup {
        server,
        dir,
        log,
        db,
        config,
    }
}

/// Log lines of `hellowatt run` (host/src/cli.rs, service.rs): the site
/// override warning, written once the configuration is read (the SIGTERM
/// handler is installed before); the handler's note; the start-up report.
const CONFIGURATION_READ: &str = "using a site override";
const STOP_NOTED: &str = "stopping: the run in progress";
const START_UP_DONE: &str = "running: database";

fn logins(server: &SimServer) -> usize {
    server
        .served()
        .iter()
        .filter(|l| l.starts_with("POST /accounts/login/"))
        .count()
}

#[cfg(unix)]
fn terminate(child: &Child) {
    let pid = i32::try_from(child.id()).unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_backfill_it_resumes_and_ends_with_the_same_rows() {
    // Pacing stretches the backfill so that the kill lands in its middle.
    let Setup {
        server,
        dir,
        log,
        db,
        config,
    } = setup(60).await;
    let months = BACKFILL_MONTHS as usize + 1;

    let mut first = hellowatt(&config, DEMO_PASSWORD, &["run"], &log);
    wait_for("a first month stored", Duration::from_secs(60), || {
        stored_months(&db) >= 1
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let after_kill = stored_months(&db);
    assert!(
        after_kill < months,
        "the kill came too late to test anything ({after_kill} months stored)"
    );
    Store::open(&db).unwrap().integrity_check().unwrap();
    let stored = stored_month_starts(&db);
    let asked_before = server.served().len();

    let mut second = hellowatt(&config, DEMO_PASSWORD, &["run"], &log);
    wait_for("the backfill to finish", Duration::from_secs(120), || {
        stored_months(&db) >= months
    })
    .await;
    // Resumed, not restarted: the months stored before the kill are not
    // asked again, and every month missing then is.
    let asked_after: Vec<String> = server.served()[asked_before..]
        .iter()
        .filter_map(|l| daily_month_asked(l))
        .collect();
    for month in &stored {
        assert!(
            !asked_after.contains(month),
            "the restart asked again for {month}, stored before the kill: {asked_after:?}"
        );
    }
    assert_eq!(
        asked_after.len() + stored.len(),
        months,
        "stored before the kill: {stored:?}; asked after: {asked_after:?}"
    );
    // Let the decision be saved, then stop it as systemd would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&second);
    let status = second.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.success(),
        "the service did not stop cleanly on SIGTERM: {status:?}\n{text}"
    );
    assert!(
        !text.contains(DEMO_PASSWORD),
        "the password reached the log"
    );
    let store = Store::open(&db).unwrap();
    store.integrity_check().unwrap();
    let runs = store.runs(None, 10).unwrap();
    assert!(runs.len() >= 2, "{runs:?}");
    drop(store);

    // The reference: the same range synced in one go into another file.
    let reference = dir.path().join("reference.db");
    let ref_config = write_config(&dir.path().join(".."), &reference, &server.url(), 0);
    let mut from = today().first_of_month();
    for _ in 0..BACKFILL_MONTHS {
        from = from.add_days(-1).first_of_month();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hellowatt"))
        .arg("--config")
        .arg(&ref_config)
        .args([
            "sync",
            "--from",
            &from.to_string(),
            "--to",
            &today().add_days(-1).to_string(),
        ])
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        content(&db),
        content(&reference),
        "the interrupted backfill differs from a clean sync"
    );
    server.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rejected_password_it_never_tries_again() {
    let Setup {
        server,
        dir: _dir,
        log,
        db,
        config,
    } = setup(0).await;
    let wrong = "Wrong-password-2026!";

    let mut service = hellowatt(&config, wrong, &["run"], &log);
    wait_for("the first log-in", Duration::from_secs(60), || {
        logins(&server) >= 1
    })
    .await;
    wait_for("the decision to be saved", Duration::from_secs(30), || {
        Store::open(&db)
            .ok()
            .and_then(|s| s.scheduler_state("default").ok().flatten())
            .is_some_and(|s| s.contains("breaker"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    terminate(&service);
    assert!(service.wait().unwrap().success());

    // A restart with the same password: the breaker holds.
    let mut again = hellowatt(&config, wrong, &["run"], &log);
    tokio::time::sleep(Duration::from_secs(3)).await;
    terminate(&again);
    assert!(again.wait().unwrap().success());
    assert_eq!(logins(&server), 1, "{:#?}", server.served());

    let status = Command::new(env!("CARGO_BIN_EXE_hellowatt"))
        .arg("--config")
        .arg(&config)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("The circuit breaker is OPEN since "),
        "{text}"
    );
    println!("{text}");
    crate::common::assert_plain_sentences(&text);
    assert!(text.contains("hellowatt reset default"), "{text}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(!log_text.contains(wrong), "the password reached the log");
    assert!(log_text.contains("rejected"), "{log_text}");
    // Nothing of the household stored: every data table of the digest is
    // empty but `accounts`, the name the failed run is filed under.
    let digest = Store::open(&db).unwrap().content_digest().unwrap();
    let stored: Vec<&str> = digest
        .split("; ")
        .nth(1)
        .unwrap_or_default()
        .split(", ")
        .filter(|count| !count.ends_with(" 0"))
        .collect();
    assert_eq!(stored, ["accounts 1"], "{digest}");
    server.shutdown().await;
}

/// SIGKILL while the service validates or swaps in a dropped guest, at
/// several moments: each restart finds a consistent database, serves a
/// guest it can load, and finishes the swap (the candidate is judged again
/// and goes live).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_guest_swap_it_restarts_and_finishes_the_swap() {
    let Setup {
        server,
        dir,
        log,
        db,
        config,
    } = setup(0).await;
    let guests = dir.path().join("guests");
    let active = || {
        Store::open(&db)
            .ok()?
            .guest_in("hellowatt", hellowatt::store::GuestState::Active)
            .ok()?
            .map(|g| g.sha256)
    };
    let mut service = hellowatt(&config, DEMO_PASSWORD, &["run"], &log);
    wait_for("the first start", Duration::from_secs(60), || {
        active().is_some() && stored_months(&db) >= 1
    })
    .await;
    // 0 ms: before the debounce ends; 600-900 ms: during validation (the
    // debounce is 500 ms, validation ~0.5 s here); 3 s: after the swap.
    for (i, delay) in [0u64, 600, 900, 3000].into_iter().enumerate() {
        let candidate =
            crate::common::nonce::with_nonce(hellowatt::BUNDLED_GUEST, &format!("kill-{i}"));
        let sha = hellowatt::sandbox::cache::sha256_hex(&candidate);
        std::fs::write(guests.join(format!("kill-{i}.wasm")), &candidate).unwrap();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        service.kill().unwrap(); // SIGKILL
        service.wait().unwrap();
        Store::open(&db).unwrap().integrity_check().unwrap();
        service = hellowatt(&config, DEMO_PASSWORD, &["run"], &log);
        wait_for(
            &format!("kill {i} ({delay} ms): the swap finished after the restart"),
            Duration::from_secs(60),
            || active().as_deref() == Some(sha.as_str()),
        )
        .await;
    }
    // Up and watching again (five starts), then stopped as systemd would.
    wait_for("the last start", Duration::from_secs(60), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("watching the guest folder")
            .count()
            >= 5
    })
    .await;
    terminate(&service);
    let status = service.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let store = Store::open(&db).unwrap();
    store.integrity_check().unwrap();
    // The restarts kept the history whole: every candidate activated once.
    let activated = store
        .guest_history(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "activated")
        .count();
    assert_eq!(activated, 4, "{:?}", store.guest_history(100).unwrap());
    server.shutdown().await;
}

/// A SIGTERM while the service is still starting (compiling its guest)
/// stops it cleanly: exit status 0, a database that opens.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_start_up_is_clean() {
    let Setup {
        server,
        dir: _dir,
        log,
        db,
        config,
    } = setup(0).await;
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut service = hellowatt(&config, DEMO_PASSWORD, &["run"], &log);
    // Stopped once it has read its configuration (the handler is
    // installed before that), while the first start compiles its guest
    // (no artifact cache yet).
    let start = Instant::now();
    while !read().contains(CONFIGURATION_READ) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the service never read its configuration:\n{}",
            read()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    terminate(&service);
    let status = service.wait().unwrap();
    let text = read();
    assert!(status.success(), "{status:?}\n{text}");
    // The stop landed during start-up: noted before the start-up report.
    let stopping = text
        .find(STOP_NOTED)
        .unwrap_or_else(|| panic!("the stop was not noted:\n{text}"));
    let started = text
        .find(START_UP_DONE)
        .unwrap_or_else(|| panic!("no start-up report:\n{text}"));
    assert!(
        stopping < started,
        "the stop came after start-up, not during it:\n{text}"
    );
    // Start-up goes on to the end and opens the database, then stops.
    assert!(db.exists(), "no database after start-up:\n{text}");
    Store::open(&db).unwrap().integrity_check().unwrap();
    server.shutdown().await;
}
