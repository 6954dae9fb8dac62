//! Home Assistant, for real: Home Assistant core 2024.3.3 from PyPI
//! (`scripts/install-home-assistant`, cached under `target/`), started on a
//! free port of 127.0.0.1 with a fresh configuration, onboarded through its
//! HTTP API (`scripts/home_assistant.py` drives it), and `hellowatt run`
//! against the simulated site with a two-month backfill, pushing long-term
//! statistics and publishing MQTT discovery through a real mosquitto.
//!
//! What it reads back from Home Assistant, hour by hour, it compares with
//! the store's own rows (the curve's half-hours, the daily readings), not
//! with the series hellowatt computed: a DST day, a corrected day, a second
//! identical push, Home Assistant down and back, a refused token; then
//! `energy/validate` and the README's screenshots
//! (`target/home-assistant-*.png`, copied by hand to `docs/images/`). Under CI
//! (`CI` set) a missing Python, install or mosquitto fails the test;
//! elsewhere the test says it did not run (`crate::common::tools`).

use crate::common::{free_port, wait_for};
use hellowatt::store::Store;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, Fault, FaultScope, SimMode};
use hellowatt_snapshot::{Date, Energy, paris_iso};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ACCOUNT: &str = "default";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Home Assistant venv's python, installing it on first use.
fn home_assistant_python(test: &str) -> Option<PathBuf> {
    crate::common::tools::installed_by(test, "install-home-assistant", "Home Assistant")
}

/// `scripts/home_assistant.py` with `args`: its one JSON document.
fn harness(python: &Path, args: &[&str]) -> Value {
    let out = Command::new(python)
        .arg(repo().join("scripts/home_assistant.py"))
        .args(args)
        .output()
        .expect("running scripts/home_assistant.py");
    assert!(
        out.status.success(),
        "home_assistant.py {}: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "home_assistant.py {}: not JSON ({e}): {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Home Assistant core, killed on drop.
struct HomeAssistant {
    child: Option<Child>,
    python: PathBuf,
    dir: PathBuf,
    url: String,
    /// Once onboarded: what [`HomeAssistant::boot`] waits with.
    token: Option<String>,
}

impl HomeAssistant {
    fn start(python: &Path, dir: &Path, port: u16) -> HomeAssistant {
        let config = dir.join("config");
        std::fs::create_dir_all(&config).unwrap();
        harness(
            python,
            &[
                "config",
                config.to_str().unwrap(),
                &port.to_string(),
                "--frontend",
                "--time-zone",
                "Europe/Paris",
            ],
        );
        let mut ha = HomeAssistant {
            child: None,
            python: python.to_path_buf(),
            dir: config,
            url: format!("http://127.0.0.1:{port}"),
            token: None,
        };
        ha.boot();
        ha
    }

    fn boot(&mut self) {
        let hass = self.python.with_file_name("hass");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("hass.out"))
            .unwrap();
        self.child = Some(
            Command::new(hass)
                .arg("-c")
                .arg(&self.dir)
                .arg("--skip-pip")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting hass"),
        );
        let mut wait = vec!["wait", &self.url, "--timeout", "120"];
        if let Some(token) = &self.token {
            wait.extend(["--token", token]);
        }
        harness(&self.python, &wait);
    }

    /// Stops Home Assistant as its service manager would (SIGTERM: the
    /// recorder commits what it holds), killing it after 30 s.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn call(&self, args: &[&str]) -> Value {
        harness(&self.python, args)
    }
}

impl Drop for HomeAssistant {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A mosquitto broker on `port`, killed on drop.
struct Broker(Child);

impl Broker {
    fn start(mosquitto: &Path, dir: &Path, port: u16) -> Broker {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "user root\npersistence false\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
            ),
        )
        .unwrap();
        let child = Command::new(mosquitto)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mosquitto");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "mosquitto did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hellowatt(config: &Path, args: &[&str], log: &Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hellowatt"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
        .env("HELLOWATT_GUESTS_DIR", config.with_file_name("guests"))
        .env("RUST_LOG", "hellowatt=debug")
        .stdin(Stdio::null())
        .stderr(log);
    cmd
}

fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// One statistic read back from Home Assistant: `(state, sum)` by hour
/// start (Unix seconds).
type Read = BTreeMap<i64, (f64, f64)>;

fn read(
    ha: &HomeAssistant,
    token: &str,
    from: i64,
    to: i64,
    ids: &[&str],
) -> BTreeMap<String, Read> {
    let mut args = vec![
        "statistics".to_string(),
        ha.url.clone(),
        token.to_string(),
        paris_iso(from),
        paris_iso(to),
    ];
    args.extend(ids.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = ha.call(&args);
    let mut out = BTreeMap::new();
    for id in ids {
        let rows: Read = result[*id]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["start"].as_f64().unwrap() as i64 / 1000,
                    (r["state"].as_f64().unwrap(), r["sum"].as_f64().unwrap()),
                )
            })
            .collect();
        out.insert(id.to_string(), rows);
    }
    out
}

/// [`read`] again until `done` holds of what Home Assistant answers: the
/// recorder imports in its own thread, after it has acknowledged.
async fn read_until(
    ha: &HomeAssistant,
    token: &str,
    (from, to): (i64, i64),
    ids: &[&str],
    what: &str,
    done: impl Fn(&BTreeMap<String, Read>) -> bool,
) -> BTreeMap<String, Read> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = read(ha, token, from, to, ids);
        if done(&got) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Home Assistant's statistics never showed {what}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// [`read`] until two reads a second apart agree: what an earlier push
/// left in the recorder's queue has landed (it imports in its own thread,
/// series by series, after it has acknowledged).
async fn read_settled(
    ha: &HomeAssistant,
    token: &str,
    (from, to): (i64, i64),
    ids: &[&str],
) -> BTreeMap<String, Read> {
    let mut last = read(ha, token, from, to, ids);
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = read(ha, token, from, to, ids);
        if next == last {
            return next;
        }
        last = next;
    }
    panic!("Home Assistant's statistics kept changing for 30 s");
}

/// The first hour where two reads differ, to say what changed.
fn first_difference(a: &BTreeMap<String, Read>, b: &BTreeMap<String, Read>) -> String {
    for (id, rows) in a {
        let Some(other) = b.get(id) else {
            return format!("{id} missing");
        };
        if rows.len() != other.len() {
            return format!("{id}: {} hours, then {}", rows.len(), other.len());
        }
        if let Some((start, was)) = rows
            .iter()
            .find(|(start, was)| other.get(start) != Some(was))
        {
            return format!(
                "{id} at {}: {was:?}, then {:?}",
                paris_iso(*start),
                other.get(start)
            );
        }
    }
    "none".to_string()
}

/// The store's curve of `date` summed by UTC hour.
fn store_hours(store: &Store, meter: &str, date: Date) -> BTreeMap<i64, f64> {
    let mut hours = BTreeMap::new();
    for p in store.curve(meter, date, date).unwrap() {
        *hours
            .entry(p.start - p.start.rem_euclid(3600))
            .or_insert(0.0) += p.kwh.unwrap();
    }
    hours
}

/// The sum of a meter's daily values up to and including `date`.
fn store_total(
    store: &Store,
    meter: &str,
    date: Date,
    value: impl Fn(&hellowatt_snapshot::Amounts) -> Option<f64>,
) -> f64 {
    store
        .daily(meter, Date::parse("2000-01-01").unwrap(), date)
        .unwrap()
        .iter()
        .filter_map(|d| value(&d.reading.amounts))
        .sum()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Whether the last push is done and had nothing left to send.
fn pushed_everything(db: &Path) -> bool {
    let Ok(store) = Store::open(db) else {
        return false;
    };
    let ok = store
        .ha_push_state()
        .ok()
        .flatten()
        .is_some_and(|s| s.error.is_none());
    ok && hellowatt::homeassistant::all_series(&store)
        .and_then(|series| Ok(hellowatt::homeassistant::plan(&series, &store.ha_ledger()?)))
        .is_ok_and(|p| p.is_empty())
}

/// Electricity-daily month windows stored complete.
fn months_stored(db: &Path) -> usize {
    let Ok(store) = Store::open(db) else { return 0 };
    store.windows(None).map_or(0, |w| {
        w.iter()
            .filter(|w| {
                w.window.kind == hellowatt_snapshot::DataKind::ElectricityDaily
                    && w.window.status == hellowatt_snapshot::WindowStatus::Complete
            })
            .count()
    })
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_land_at_their_hours_in_a_real_home_assistant() {
    const TEST: &str = "home_assistant";
    let Some(python) = home_assistant_python(TEST) else {
        return;
    };
    let Some(mosquitto) = crate::common::tools::program(TEST, &["mosquitto"], "mosquitto") else {
        return;
    };
    let today = hellowatt::clock::today();
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut ha = HomeAssistant::start(&python, dir.path(), free_port());
    let booted = started.elapsed();
    let tokens = ha.call(&["onboard", &ha.url]);
    let token = tokens["token"].as_str().unwrap().to_owned();
    ha.token = Some(token.clone());

    let broker_port = free_port();
    let _broker = Broker::start(&mosquitto, dir.path(), broker_port);
    let entry = ha.call(&[
        "mqtt-entry",
        &ha.url,
        &token,
        "127.0.0.1",
        &broker_port.to_string(),
    ]);
    assert_eq!(entry["type"], "create_entry", "{entry}");

    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let db = dir.path().join("hellowatt.db");
    let token_file = dir.path().join("ha-token");
    private_file(&token_file, &format!("{token}\n"));
    let config = dir.path().join("hellowatt.toml");
    let api = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\nsite_url = \"{}\"\npacing_ms = 0\nbackfill_months = 2\n\
             listen = \"{api}\"\ntempo = \"off\"\nmanual_min_interval_minutes = 0\n\
             mqtt_url = \"mqtt://127.0.0.1:{broker_port}\"\n\
             ha_url = \"{}\"\nha_token_file = \"{}\"\n",
            db.display(),
            server.url(),
            ha.url,
            token_file.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("hellowatt.log");
    let mut service = hellowatt(&config, &["run"], &log)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // The backfill: two months and the current one, every hour pushed.
    wait_for(
        "the backfill pushed to Home Assistant",
        Duration::from_secs(240),
        || months_stored(&db) >= 3 && pushed_everything(&db),
    )
    .await;
    let backfilled = started.elapsed();
    let store = Store::open(&db).unwrap();
    let meters = store.meters(None).unwrap();
    let elec = meters
        .iter()
        .find(|m| m.energy == Energy::Electricity)
        .unwrap();
    let gas = meters.iter().find(|m| m.energy == Energy::Gas).unwrap();
    let id = |meter: &str, q: &str| hellowatt::homeassistant::statistic_id(meter, q);
    let (e_energy, e_cost) = (id(&elec.meter_id, "energy"), id(&elec.meter_id, "cost"));
    let (g_energy, g_cost) = (id(&gas.meter_id, "energy"), id(&gas.meter_id, "cost"));

    // ---- The 25-hour day, hour by hour against the store's curve.
    let dst = last_dst_end(today);
    assert!(dst >= elec.first_day.unwrap(), "the backfill reaches {dst}");
    let dst_hours = store_hours(&store, &elec.meter_id, dst);
    assert_eq!(dst_hours.len(), 25, "{dst} has 25 hours in the store");
    let (from, to) = (dst.paris_midnight_utc(), dst.succ().paris_midnight_utc());
    let got = read_until(
        &ha,
        &token,
        (from, to),
        &[&e_energy, &e_cost, &g_energy],
        "the DST day imported",
        |got| got.values().all(|rows| !rows.is_empty()) && got[&e_energy].len() == dst_hours.len(),
    )
    .await;
    let energy = &got[&e_energy];
    assert_eq!(
        energy.keys().copied().collect::<Vec<_>>(),
        dst_hours.keys().copied().collect::<Vec<_>>(),
        "Home Assistant has the day's 25 UTC hours"
    );
    let before_day = store_total(&store, &elec.meter_id, dst.add_days(-1), |a| a.kwh);
    let mut running = before_day;
    let mut dst_table = String::new();
    for (start, kwh) in &dst_hours {
        let (state, sum) = energy[start];
        running += kwh;
        assert!(
            close(state, *kwh),
            "{} : HA {state} kWh, store {kwh}",
            paris_iso(*start)
        );
        assert!(
            close(sum, running),
            "{} : HA sum {sum}, store {running}",
            paris_iso(*start)
        );
        dst_table.push_str(&format!(
            "| {} | {kwh:.4} | {state:.4} | {running:.4} | {sum:.4} |\n",
            paris_iso(*start)
        ));
    }
    let day = &store.daily(&elec.meter_id, dst, dst).unwrap()[0]
        .reading
        .amounts;
    let cost_of_day: f64 = got[&e_cost].values().map(|(state, _)| state).sum();
    assert!(
        close(cost_of_day, day.eur.unwrap()),
        "the day's cost, shared among its hours"
    );
    let gas_day = &got[&g_energy];
    assert_eq!(gas_day.len(), 1, "gas: the day's total at its first hour");
    let (gas_state, gas_sum) = gas_day[&from];
    let gas_kwh = store.daily(&gas.meter_id, dst, dst).unwrap()[0]
        .reading
        .amounts
        .kwh
        .unwrap();
    assert!(close(gas_state, gas_kwh));
    assert!(close(
        gas_sum,
        store_total(&store, &gas.meter_id, dst, |a| a.kwh)
    ));
    eprintln!(
        "HA statistics for {dst} (electricity, kWh)\n| hour | store | HA state | store running total | HA sum |\n|---|---|---|---|---|\n{dst_table}"
    );

    // ---- MQTT discovery: the entities exist with what the Energy
    // dashboard needs; energy/validate is asked at the end, once the
    // recorder's five-minute statistics pass has seen them.
    let entities = ha.call(&[
        "wait-entities",
        &ha.url,
        &token,
        "4",
        "--contains",
        "hellowatt",
        "--known",
        "--timeout",
        "60",
    ]);
    let entity = |sensor_name: &str| -> Value {
        let friendly = format!(
            "helloWatt électricité {} {sensor_name}",
            hellowatt::mqtt::masked(&elec.meter_id)
        );
        entities
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["attributes"]["friendly_name"] == friendly.as_str())
            .unwrap_or_else(|| panic!("no entity named {friendly:?} in {entities}"))
            .clone()
    };
    let energy_total = entity("Consommation (cumul)");
    assert_eq!(energy_total["attributes"]["device_class"], "energy");
    assert_eq!(
        energy_total["attributes"]["state_class"],
        "total_increasing"
    );
    assert_eq!(energy_total["attributes"]["unit_of_measurement"], "kWh");
    let cost_total = entity("Coût de la consommation (cumul)");
    assert_eq!(cost_total["attributes"]["device_class"], "monetary");
    assert_eq!(cost_total["attributes"]["state_class"], "total");
    assert_eq!(cost_total["attributes"]["unit_of_measurement"], "EUR");

    // ---- A corrected day: its hours and every later sum follow.
    let corrected = today.add_days(-10);
    let last = today.add_days(-1);
    let (c_from, c_to) = (
        corrected.paris_midnight_utc(),
        corrected.succ().paris_midnight_utc(),
    );
    let end = last.succ().paris_midnight_utc();
    let before = read(&ha, &token, c_from, end, &[&e_energy])
        .remove(&e_energy)
        .unwrap();
    let old_hours = store_hours(&store, &elec.meter_id, corrected);
    drop(store);
    server.set_fault(Some(Fault::CorrectedDay(corrected)), FaultScope::Api);
    let refresh = hellowatt(&config, &["refresh", ACCOUNT], &log)
        .output()
        .unwrap();
    assert!(refresh.status.success());
    wait_for("the corrected day pushed", Duration::from_secs(120), || {
        Store::open(&db)
            .ok()
            .and_then(|s| s.revisions(&elec.meter_id).ok())
            .is_some_and(|r| r.iter().any(|r| r.old.date == corrected))
            && pushed_everything(&db)
    })
    .await;
    server.set_fault(None, FaultScope::Api);
    let store = Store::open(&db).unwrap();
    let new_hours = store_hours(&store, &elec.meter_id, corrected);
    let total = store_total(&store, &elec.meter_id, last, |a| a.kwh);
    let after = read_until(
        &ha,
        &token,
        (c_from, end),
        &[&e_energy],
        "the corrected day imported",
        |got| {
            got[&e_energy]
                .values()
                .next_back()
                .is_some_and(|(_, sum)| close(*sum, total))
        },
    )
    .await
    .remove(&e_energy)
    .unwrap();
    let mut corrected_table = String::new();
    let mut running = store_total(&store, &elec.meter_id, corrected.add_days(-1), |a| a.kwh);
    for (start, kwh) in &new_hours {
        running += kwh;
        let (state, sum) = after[start];
        assert!(
            close(state, *kwh) && close(sum, running),
            "{}",
            paris_iso(*start)
        );
        assert!(close(*kwh, old_hours[start] * 1.5), "the site's correction");
        corrected_table.push_str(&format!(
            "| {} | {:.4} | {:.4} | {kwh:.4} | {state:.4} | {:.4} | {running:.4} | {sum:.4} |\n",
            paris_iso(*start),
            old_hours[start],
            before[start].0,
            before[start].1,
        ));
    }
    let delta: f64 = new_hours.values().sum::<f64>() - old_hours.values().sum::<f64>();
    let last_hour = *after.keys().next_back().unwrap();
    assert!(last_hour >= c_to);
    assert!(
        close(after[&last_hour].1, before[&last_hour].1 + delta),
        "every later sum moved by the correction ({delta} kWh)"
    );
    assert!(close(
        after[&last_hour].1,
        store_total(&store, &elec.meter_id, last, |a| a.kwh)
    ));
    eprintln!(
        "HA statistics for the corrected {corrected}\n| hour | store before | HA state before | store after | HA state after | HA sum before | store running total after | HA sum after |\n|---|---|---|---|---|---|---|---|\n{corrected_table}"
    );
    drop(store);

    // ---- The same push twice changes nothing.
    let all_ids: Vec<String> = hellowatt::homeassistant::all_series(&Store::open(&db).unwrap())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let ids: Vec<&str> = all_ids.iter().map(String::as_str).collect();
    let whole = (
        elec.first_day.unwrap().add_days(-1).paris_midnight_utc(),
        end,
    );
    let first_read = read_settled(&ha, &token, whole, &ids).await;
    let again = hellowatt(&config, &["ha", "push"], &log).output().unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success() && said.contains("0 hour(s)") && said.contains("not contacted"),
        "{said}"
    );
    let full = hellowatt(&config, &["ha", "push", "--full"], &log)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&full.stdout);
    assert!(full.status.success(), "{said}");
    // Identical values rewritten leave every read as it was, mid-import
    // too; the recorder's queue is read until it has drained.
    let second_read = read_settled(&ha, &token, whole, &ids).await;
    assert!(
        first_read == second_read,
        "a second identical push changed Home Assistant: first difference {}",
        first_difference(&first_read, &second_read)
    );
    let hours_in_ha: usize = first_read.values().map(BTreeMap::len).sum();

    // ---- Home Assistant down: the sync still runs, the push waits.
    ha.stop();
    let runs_before = Store::open(&db).unwrap().runs(None, 1000).unwrap().len();
    let refresh = hellowatt(&config, &["refresh", ACCOUNT], &log)
        .output()
        .unwrap();
    assert!(refresh.status.success());
    wait_for(
        "a run while Home Assistant is down",
        Duration::from_secs(120),
        || {
            Store::open(&db).is_ok_and(|s| {
                s.runs(None, 1000).unwrap().len() > runs_before
                    && s.ha_push_state()
                        .unwrap()
                        .is_some_and(|p| p.error.is_some())
            })
        },
    )
    .await;
    let store = Store::open(&db).unwrap();
    let run = &store.runs(None, 1).unwrap()[0];
    assert_eq!(
        run.outcome,
        Some(hellowatt::store::RunOutcome::Success),
        "the sync did not wait for Home Assistant"
    );
    let status = hellowatt(&config, &["status"], &log).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains("FAILED") && status.contains("cannot be reached"),
        "{status}"
    );
    crate::common::assert_plain_sentences(&status);
    let metrics = crate::common::http_get(&format!("http://{api}/metrics")).unwrap();
    assert!(
        metrics.contains("\nhellowatt_home_assistant_push_failing 1\n"),
        "{metrics}"
    );
    let summary: Value = serde_json::from_str(
        &crate::common::http_get(&format!("http://{api}/api/v1/summary")).unwrap(),
    )
    .unwrap();
    let shown = &summary["home_assistant"];
    assert!(
        shown["error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
            && shown["last_success"].is_string(),
        "what the dashboard shows: {shown}"
    );
    drop(store);
    // And back: the next run's push succeeds.
    ha.boot();
    let refresh = hellowatt(&config, &["refresh", ACCOUNT], &log)
        .output()
        .unwrap();
    assert!(refresh.status.success());
    wait_for(
        "the push after Home Assistant came back",
        Duration::from_secs(120),
        || {
            Store::open(&db).is_ok_and(|s| {
                s.ha_push_state()
                    .unwrap()
                    .is_some_and(|p| p.error.is_none())
            })
        },
    )
    .await;
    let metrics = crate::common::http_get(&format!("http://{api}/metrics")).unwrap();
    assert!(
        metrics.contains("\nhellowatt_home_assistant_push_failing 0\n")
            && metrics.contains("\nhellowatt_home_assistant_last_push_success_timestamp_seconds "),
        "{metrics}"
    );

    // ---- A refused token: a clear error, and the token nowhere.
    let bad_token = "not-a-token.eyJzZWNyZXQiOiJ0ZXN0In0.nope";
    let bad_file = dir.path().join("bad-token");
    private_file(&bad_file, bad_token);
    let bad = hellowatt(&config, &["ha", "push", "--full"], &log)
        .env("HELLOWATT_HA_TOKEN_FILE", &bad_file)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&bad.stderr).to_string() + &String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(
        said.contains("refused the token") && said.contains("ha_token_file"),
        "{said}"
    );

    // ---- energy/validate: no issue for the statistics nor for the MQTT
    // entities. An entity's statistics exist only after the recorder's
    // pass at the next five minutes of the clock: ask until then.
    let prefs = json!({
        "energy_sources": [
            {"type": "grid", "cost_adjustment_day": 0, "flow_to": [], "flow_from": [
                {"stat_energy_from": e_energy, "stat_cost": e_cost,
                 "entity_energy_price": null, "number_energy_price": null},
                {"stat_energy_from": energy_total["entity_id"], "stat_cost": cost_total["entity_id"],
                 "entity_energy_price": null, "number_energy_price": null},
            ]},
            {"type": "gas", "stat_energy_from": g_energy, "stat_cost": g_cost,
             "entity_energy_price": null, "number_energy_price": null},
        ],
        "device_consumption": [],
    });
    let prefs_file = dir.path().join("energy.json");
    std::fs::write(&prefs_file, prefs.to_string()).unwrap();
    let asked = std::time::Instant::now();
    let deadline = asked + Duration::from_secs(660);
    loop {
        let check = ha.call(&["energy", &ha.url, &token, prefs_file.to_str().unwrap()]);
        let validate = &check["validate"];
        let sources = validate["energy_sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2, "{validate}");
        if sources.iter().all(|s| s == &json!([])) {
            break;
        }
        // Until the recorder's pass, the entities' only issue may be
        // `statistics_not_defined`; anything else fails now.
        let pending = sources
            .iter()
            .flat_map(|s| s.as_array().unwrap())
            .all(|issue| {
                issue["type"] == "statistics_not_defined"
                    && issue["affected_entities"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|a| {
                            a[0] == energy_total["entity_id"] || a[0] == cost_total["entity_id"]
                        })
            });
        assert!(pending, "energy/validate: {validate}");
        assert!(
            std::time::Instant::now() < deadline,
            "energy/validate still says {validate}"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    eprintln!(
        "home_assistant: energy/validate clean {:.0} s after first asked (the recorder's five-minute pass)",
        asked.elapsed().as_secs_f64()
    );

    // ---- A screenshot of the statistics, for the README.
    let screenshot = |file: &str, what: &[&str]| {
        let out = repo().join("target").join(file);
        let mut args = vec![
            "screenshot",
            &ha.url,
            tokens["access_token"].as_str().unwrap(),
            tokens["refresh_token"].as_str().unwrap(),
            tokens["client_id"].as_str().unwrap(),
            out.to_str().unwrap(),
        ];
        args.extend(what);
        let said = ha.call(&args);
        assert!(said["bytes"].as_u64().unwrap() > 10_000, "{said}");
    };
    screenshot(
        "home-assistant-statistics.png",
        &["--ids", &e_energy, &g_energy],
    );

    // ---- The Energy dashboard as the README sets it up: the imported
    // statistics only (the MQTT entities beside them would count twice).
    let readme_prefs = json!({
        "energy_sources": [
            {"type": "grid", "cost_adjustment_day": 0, "flow_to": [], "flow_from": [
                {"stat_energy_from": e_energy, "stat_cost": e_cost,
                 "entity_energy_price": null, "number_energy_price": null},
            ]},
            {"type": "gas", "stat_energy_from": g_energy, "stat_cost": g_cost,
             "entity_energy_price": null, "number_energy_price": null},
        ],
        "device_consumption": [],
    });
    std::fs::write(&prefs_file, readme_prefs.to_string()).unwrap();
    let check = ha.call(&["energy", &ha.url, &token, prefs_file.to_str().unwrap()]);
    assert_eq!(
        check["validate"]["energy_sources"],
        json!([[], []]),
        "energy/validate of the README's settings"
    );
    screenshot(
        "home-assistant-energy.png",
        &["--path", "/energy", "--days", "30"],
    );

    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let _ = service.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    let stored = std::fs::read(&db).unwrap();
    for secret in [token.as_str(), bad_token] {
        assert!(!logged.contains(secret), "a token reached the log");
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a token reached the database"
        );
    }
    eprintln!(
        "home_assistant: booted in {:.1} s, backfill pushed at {:.1} s, {hours_in_ha} hours of {} statistics in Home Assistant, whole test {:.1} s",
        booted.as_secs_f64(),
        backfilled.as_secs_f64(),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The last day the clocks went back (the last Sunday of October) before
/// `today`, within the backfill.
fn last_dst_end(today: Date) -> Date {
    let mut year = today.year;
    loop {
        let mut d = Date::new(year, 10, 31).unwrap();
        while d.weekday() != 6 {
            d = d.add_days(-1);
        }
        if d < today.add_days(-1) {
            return d;
        }
        year -= 1;
    }
}

/// Home Assistant down at the first push, and a push that failed: the
/// error is kept and says what to do, and no sync waits for it.
#[tokio::test]
async fn home_assistant_down_is_a_recorded_failure_not_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let store = tokio::sync::Mutex::new(Store::open(&dir.path().join("db")).unwrap());
    let port = free_port(); // nothing listens there
    let config = hellowatt::homeassistant::HaKeys {
        url: Some(format!("http://127.0.0.1:{port}")),
        token: Some(hellowatt::config::Secret::new("a-token-that-stays-secret")),
        ca_file: None,
    }
    .resolve()
    .unwrap()
    .unwrap();
    let e = hellowatt::homeassistant::push(&store, &config, false, 1_000)
        .await
        .unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("cannot be reached") && text.contains("ha_url"),
        "{text}"
    );
    assert!(!text.contains("a-token-that-stays-secret"));
    let state = store.lock().await.ha_push_state().unwrap().unwrap();
    assert_eq!((state.attempted_at, state.succeeded_at), (1_000, None));
    assert!(state.error.unwrap().contains("cannot be reached"));
}
