//! The MQTT output against a real mosquitto broker that each test starts on
//! a free port of 127.0.0.1 (and kills at the end): discovery configs and
//! states after a sync through the simulated site, the availability topic
//! and its last will, idempotent publishes, TLS with a password, a broker
//! that restarts empty and one that is down. mosquitto (with its
//! `mosquitto_passwd`) and openssl are required under CI; elsewhere a test
//! that needs them says it did not run (`crate::common::tools`):
//! `apt-get install mosquitto openssl`.

use crate::common::runtime;
use hellowatt::mqtt::{
    self, ECOWATT_STATE_KEYS, MqttConfig, MqttKeys, MqttPublisher, STATE_KEYS, TEMPO_STATE_KEYS,
    masked,
};
use hellowatt::store::{GuestIdentity, RunOutcome, Store};
use hellowatt::sync;
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::{
    Amounts, DailyReading, Date, EcoWattDay, EcoWattHour, Energy, Home, Meter, PeriodValue,
    Snapshot, Temperature, TempoColour, TempoDay, TempoSource, paris_iso,
};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- broker

/// The mosquitto binary, once `have_mosquitto` has found it.
fn mosquitto_binary() -> PathBuf {
    crate::common::tools::program("mqtt", &["mosquitto"], "mosquitto")
        .expect("the test checked for mosquitto first")
}

/// Whether the broker (and, for TLS, openssl) can be had: see `crate::common::tools`.
fn have(test: &str, tls: bool) -> bool {
    crate::common::tools::program(test, &["mosquitto"], "mosquitto").is_some()
        && (!tls || crate::common::tools::program(test, &["openssl"], "openssl").is_some())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A mosquitto child process, killed on drop.
struct Broker {
    child: Child,
    dir: tempfile::TempDir,
}

impl Broker {
    /// One anonymous listener on a free port.
    fn plain() -> (Broker, u16) {
        let port = free_port();
        (Broker::plain_on(port), port)
    }

    /// One anonymous listener on `port`.
    fn plain_on(port: u16) -> Broker {
        Broker::start(
            &format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
            &[port],
            tempfile::tempdir().unwrap(),
        )
    }

    /// `config` holds the listeners; `ports` are waited for.
    fn start(config: &str, ports: &[u16], dir: tempfile::TempDir) -> Broker {
        let path = dir.path().join("mosquitto.conf");
        // `user root`: mosquitto started as root otherwise switches to the
        // `mosquitto` user, which cannot read the test's private folder
        // (the option does nothing when not started as root).
        std::fs::write(
            &path,
            format!("user root\npersistence false\nlog_type all\n{config}"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("mosquitto.log")).unwrap();
        let mut child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("install mosquitto (apt-get install mosquitto)");
        let deadline = Instant::now() + Duration::from_secs(10);
        for &port in ports {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "mosquitto exited ({status}): {}",
                        std::fs::read_to_string(dir.path().join("mosquitto.log"))
                            .unwrap_or_default()
                    );
                }
                assert!(Instant::now() < deadline, "mosquitto did not listen");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Broker { child, dir }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ subscriber

#[derive(Debug, Clone)]
struct Received {
    topic: String,
    payload: String,
    retain: bool,
}

/// A subscriber that logs every message it receives.
struct Watcher {
    log: Arc<Mutex<Vec<Received>>>,
    _client: AsyncClient,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Connected and subscribed (SUBACK received) when it returns.
    async fn start(port: u16, id: &str, topics: &[&str]) -> Watcher {
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        for t in topics {
            client.subscribe(*t, QoS::AtLeastOnce).await.unwrap();
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready_tx = Some(ready_tx);
        let mut subacks = 0;
        let wanted = topics.len();
        let sink = log.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::SubAck(_))) => {
                        subacks += 1;
                        if subacks == wanted
                            && let Some(tx) = ready_tx.take()
                        {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        sink.lock().unwrap().push(Received {
                            topic: p.topic.clone(),
                            payload: String::from_utf8(p.payload.to_vec()).unwrap(),
                            retain: p.retain,
                        });
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready_rx)
            .await
            .expect("the watcher subscribed")
            .unwrap();
        Watcher {
            log,
            _client: client,
            task,
        }
    }

    fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// The last payload of each topic among messages from `since` on.
    fn latest(&self, since: usize) -> BTreeMap<String, Received> {
        let log = self.log.lock().unwrap();
        log[since.min(log.len())..]
            .iter()
            .map(|r| (r.topic.clone(), r.clone()))
            .collect()
    }

    /// Waits until `done` holds for the messages from `since` on.
    async fn wait_for(
        &self,
        since: usize,
        what: &str,
        done: impl Fn(&BTreeMap<String, Received>) -> bool,
    ) -> BTreeMap<String, Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let latest = self.latest(since);
            if done(&latest) {
                return latest;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received: {:#?}",
                latest.keys().collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ------------------------------------------------------------------ data

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

const TODAY: &str = "2026-11-28";

/// A store filled by a real sync of the demo household through the
/// simulated site; also returns the site's URL.
async fn demo_store(dir: &Path) -> (Store, String) {
    let (runtime, guest) = runtime().await;
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Demo { today: d(TODAY) },
    )
    .await
    .unwrap();
    let db = dir.join("demo.db");
    let mut store = Store::open(&db).unwrap();
    let cfg = crate::common::demo_config(&server.url(), &db);
    let summary = sync::run(
        runtime,
        guest,
        &mut store,
        &cfg,
        &cfg.accounts[0],
        d("2026-10-01"),
        d("2026-11-27"),
    )
    .await
    .unwrap();
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    let url = server.url();
    server.shutdown().await;
    (store, url)
}

const PDL: &str = "01234567890123";
const PCE: &str = "98765432109876";
const HOME: &str = "100001";

fn reading(meter: &str, date: &str, kwh: Option<f64>, eur: Option<f64>) -> DailyReading {
    DailyReading {
        meter_id: meter.into(),
        date: d(date),
        periods: vec![PeriodValue {
            period: "Base".into(),
            kwh,
            eur,
        }],
        amounts: Amounts {
            kwh,
            eur,
            ..Amounts::default()
        },
    }
}

/// A small hand-made store: an electricity meter with two days of data, a
/// missing yesterday, solar on one day, Tempo from the service (today red,
/// tomorrow not known yet) and from tariff keys (which say white today: a
/// disagreement); a gas meter with nothing.
fn small_store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let guest = GuestIdentity {
        name: "test".into(),
        version: "1".into(),
        sha256: "0".repeat(64),
    };
    let run = store
        .begin_run("home", &guest, d("2026-11-01"), d("2026-11-29"), 1)
        .unwrap();
    let mut solar_day = reading(PDL, "2026-11-26", Some(12.25), Some(2.5));
    solar_day.amounts.solar_production_kwh = Some(3.0);
    solar_day.amounts.injection_kwh = Some(1.0);
    solar_day.amounts.injection_eur = Some(0.13);
    let snapshot = Snapshot {
        homes: vec![Home {
            id: HOME.into(),
            address: None,
            postal_code: None,
            city: None,
            meters: vec![
                Meter {
                    id: PDL.into(),
                    energy: Energy::Electricity,
                },
                Meter {
                    id: PCE.into(),
                    energy: Energy::Gas,
                },
            ],
        }],
        daily: vec![
            reading(PDL, "2026-11-25", Some(10.5), Some(2.1)),
            solar_day,
            reading(PDL, "2026-11-27", None, None),
        ],
        temperatures: vec![Temperature {
            home_id: HOME.into(),
            date: d("2026-11-27"),
            period: hellowatt_snapshot::TemperaturePeriod::Day,
            celsius: 4.5,
        }],
        tempo_days: vec![
            TempoDay {
                date: d("2026-11-26"),
                colour: Some(TempoColour::Blue),
                source: TempoSource::TariffKeys,
                meter_id: Some(PDL.into()),
            },
            TempoDay {
                date: d("2026-11-28"),
                colour: Some(TempoColour::Red),
                source: TempoSource::Service,
                meter_id: None,
            },
            TempoDay {
                date: d("2026-11-28"),
                colour: Some(TempoColour::White),
                source: TempoSource::TariffKeys,
                meter_id: Some(PDL.into()),
            },
            TempoDay {
                date: d("2026-11-29"),
                colour: None,
                source: TempoSource::Service,
                meter_id: None,
            },
        ],
        ..Snapshot::default()
    };
    let stats = store.ingest(run, "home", &snapshot, 2).unwrap();
    let finished = d(TODAY).paris_time_utc(11, 0);
    store
        .finish_run(run, &RunOutcome::Success, &stats, 5, finished)
        .unwrap();
    store
}

fn config(port: u16) -> MqttConfig {
    let mut cfg = MqttConfig::from_url(&format!("mqtt://127.0.0.1:{port}")).unwrap();
    cfg.client_id = format!("hellowatt-test-{port}");
    cfg
}

fn parse(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap_or_else(|e| panic!("not JSON ({e}): {payload}"))
}

/// What Home Assistant must be told of each sensor, written out here
/// independently of the module: (device_class, state_class, unit).
fn expected_classes(key: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    match key {
        "energy_total" | "production_total" | "injection_total" => {
            (Some("energy"), Some("total_increasing"), Some("kWh"))
        }
        "cost_total"
        | "injection_earnings_total"
        | "subscription_total"
        | "cost_with_subscription_total" => (Some("monetary"), Some("total"), Some("EUR")),
        "tempo_yesterday" | "tempo_today" | "tempo_tomorrow" | "collection" => {
            (Some("enum"), None, None)
        }
        "temperature_yesterday" => (Some("temperature"), Some("measurement"), Some("°C")),
        "last_day" => (Some("date"), None, None),
        "last_sync" | "peak_power_yesterday_at" => (Some("timestamp"), None, None),
        "peak_power_yesterday" | "peak_power_month" => {
            (Some("power"), Some("measurement"), Some("kW"))
        }
        "subscribed_power" => (Some("apparent_power"), None, Some("kVA")),
        k if k.starts_with("cost_") || k.starts_with("subscription_") => {
            (Some("monetary"), None, Some("EUR"))
        }
        k if k.starts_with("energy_")
            || k.starts_with("production_")
            || k.starts_with("injection_") =>
        {
            (Some("energy"), None, Some("kWh"))
        }
        other => panic!("unexpected sensor {other}"),
    }
}

/// The discovery configs of one device (`node`), each checked against what
/// every sensor must say: `(key, topic, config)`.
fn node_configs(
    cfg: &MqttConfig,
    messages: &BTreeMap<String, String>,
    node: &str,
    state_topic: &str,
    state: &Value,
) -> Vec<(String, String, Value)> {
    let prefix = format!("{}/sensor/{node}/", cfg.discovery_prefix);
    let mut out = Vec::new();
    for (topic, payload) in messages.range(prefix.clone()..) {
        let Some(rest) = topic.strip_prefix(&prefix) else {
            break;
        };
        let key = rest.strip_suffix("/config").expect("a config topic");
        let c = parse(payload);
        assert_eq!(c["unique_id"], format!("{node}_{key}"), "{topic}");
        assert_eq!(c["state_topic"], state_topic, "{topic}");
        assert_eq!(
            c["value_template"],
            format!("{{{{ value_json.{key} }}}}"),
            "{topic}: no default that would turn null into 0"
        );
        assert!(state.get(key).is_some(), "{topic}: {key} not in the state");
        if let Some(template) = c.get("json_attributes_template") {
            assert_eq!(c["json_attributes_topic"], state_topic, "{topic}");
            let attrs = template
                .as_str()
                .and_then(|t| t.strip_prefix("{{ value_json."))
                .and_then(|t| t.strip_suffix(" | tojson }}"))
                .unwrap_or_else(|| panic!("{topic}: attributes template {template}"));
            assert!(
                state[attrs].is_object(),
                "{topic}: {attrs} is not an object"
            );
        }
        assert_eq!(c["availability_topic"], cfg.status_topic(), "{topic}");
        assert_eq!(c["payload_available"], "online");
        assert_eq!(c["payload_not_available"], "offline");
        assert_eq!(c["device"]["identifiers"], serde_json::json!([node]));
        assert_eq!(c["origin"]["name"], "hellowatt");
        out.push((key.to_owned(), topic.clone(), c));
    }
    out
}

/// Checks every discovery config of `messages` and returns, per meter,
/// the sensor keys and the state JSON.
fn check_messages(
    cfg: &MqttConfig,
    messages: &BTreeMap<String, String>,
    meters: &[(String, Energy)],
) -> BTreeMap<String, (Vec<String>, Value)> {
    let mut out = BTreeMap::new();
    for (meter, _) in meters {
        let state_topic = format!("{}/{meter}/state", cfg.prefix);
        let state = parse(
            messages
                .get(&state_topic)
                .unwrap_or_else(|| panic!("no state for {meter}")),
        );
        for key in STATE_KEYS {
            assert!(state.get(key).is_some(), "{meter}: state lacks {key}");
        }
        assert_eq!(state["meter_id"], meter.as_str());
        let node = format!("hellowatt_{meter}");
        let mut keys = Vec::new();
        for (key, topic, c) in node_configs(cfg, messages, &node, &state_topic, &state) {
            let device_name = c["device"]["name"].as_str().unwrap();
            assert!(
                device_name.starts_with("helloWatt ") && device_name.contains(&masked(meter)),
                "{device_name}"
            );
            assert!(
                !device_name.contains(meter.as_str())
                    && !c["name"].as_str().unwrap().contains(meter.as_str()),
                "{topic}: the full meter id belongs in identifiers only"
            );
            let (dc, sc, unit) = expected_classes(&key);
            assert_eq!(c["device_class"].as_str(), dc, "{topic} device_class");
            assert_eq!(c["state_class"].as_str(), sc, "{topic} state_class");
            assert_eq!(c["unit_of_measurement"].as_str(), unit, "{topic} unit");
            if key == "collection" {
                assert_eq!(
                    c["options"],
                    serde_json::json!([
                        "ok",
                        "retrying",
                        "paused",
                        "credentials-rejected",
                        "action-needed"
                    ])
                );
            } else if dc == Some("enum") {
                assert_eq!(c["options"], serde_json::json!(["blue", "white", "red"]));
            }
            if matches!(key.as_str(), "last_day" | "last_sync") {
                assert_eq!(c["entity_category"], "diagnostic");
            }
            keys.push(key);
        }
        out.insert(meter.clone(), (keys, state));
    }
    out
}

/// Checks the Tempo device's discovery configs and returns its state.
fn check_tempo_device(cfg: &MqttConfig, messages: &BTreeMap<String, String>) -> Value {
    let state_topic = format!("{}/tempo/outlook", cfg.prefix);
    let state = parse(
        messages
            .get(&state_topic)
            .unwrap_or_else(|| panic!("no Tempo outlook state")),
    );
    for key in TEMPO_STATE_KEYS {
        assert!(state.get(key).is_some(), "the Tempo state lacks {key}");
    }
    let mut keys = Vec::new();
    for (key, topic, c) in node_configs(cfg, messages, "hellowatt-tempo", &state_topic, &state) {
        assert_eq!(c["device"]["name"], "helloWatt Tempo");
        match key.as_str() {
            "today" | "tomorrow" => {
                assert_eq!(c["device_class"], "enum", "{topic}");
                assert_eq!(c["options"], serde_json::json!(["blue", "white", "red"]));
            }
            _ => {
                assert!(c.get("device_class").is_none(), "{topic}");
                assert_eq!(c["state_class"], "measurement", "{topic}");
            }
        }
        keys.push(key);
    }
    let mut want: Vec<String> = ["today", "tomorrow", "disagreements"]
        .map(String::from)
        .to_vec();
    for c in ["blue", "white", "red"] {
        want.push(format!("{c}_used"));
        want.push(format!("{c}_remaining"));
    }
    keys.sort();
    want.sort();
    assert_eq!(keys, want);
    state
}

/// What the EcoWatt guest would bring, ingested into `store`: `today`
/// orange with a red hour at 19:00 and 23:00 not published, tomorrow
/// published without a level.
fn seed_ecowatt(store: &mut Store, today: Date) {
    let guest = GuestIdentity {
        name: "ecowatt-test".into(),
        version: "1".into(),
        sha256: "0".repeat(64),
    };
    let run = store
        .begin_run("rte", &guest, today, today.succ(), 1)
        .unwrap();
    let midnight = today.paris_midnight_utc();
    let snapshot = Snapshot {
        ecowatt: vec![
            EcoWattDay {
                date: today,
                level: Some(2),
                hours: (0..today.paris_day_hours() - 1)
                    .map(|h| EcoWattHour {
                        start: midnight + h * 3600,
                        level: if h == 19 { 3 } else { 1 },
                    })
                    .collect(),
                generated_at: Some(midnight - 3600),
            },
            EcoWattDay {
                date: today.succ(),
                level: None,
                hours: vec![],
                generated_at: None,
            },
        ],
        ..Snapshot::default()
    };
    let stats = store.ingest(run, "rte", &snapshot, 2).unwrap();
    store
        .finish_run(run, &RunOutcome::Success, &stats, 1, 3)
        .unwrap();
}

/// Checks the EcoWatt device's discovery configs and that its state is
/// the store's: today's and tomorrow's levels and hours, and the level of
/// the stored hour holding one of `instants` (the publish's clock read
/// before and after it). Returns the state.
fn check_ecowatt_device(
    cfg: &MqttConfig,
    messages: &BTreeMap<String, String>,
    store: &Store,
    today: Date,
    instants: [i64; 2],
) -> Value {
    let state_topic = format!("{}/ecowatt/signal", cfg.prefix);
    let state = parse(
        messages
            .get(&state_topic)
            .unwrap_or_else(|| panic!("no EcoWatt state")),
    );
    for key in ECOWATT_STATE_KEYS {
        assert!(state.get(key).is_some(), "the EcoWatt state lacks {key}");
    }
    let word = |l: Option<u8>| match l {
        Some(l) => {
            serde_json::json!(["green_low_carbon", "green", "orange", "red"][usize::from(l)])
        }
        None => Value::Null,
    };
    let mut keys = Vec::new();
    for (key, topic, c) in node_configs(cfg, messages, "hellowatt-ecowatt", &state_topic, &state) {
        assert_eq!(c["device"]["name"], "helloWatt EcoWatt");
        assert_eq!(c["device_class"], "enum", "{topic}");
        let options = if key == "hour" {
            serde_json::json!(["green_low_carbon", "green", "orange", "red"])
        } else {
            serde_json::json!(["green", "orange", "red"])
        };
        assert_eq!(c["options"], options, "{topic}");
        assert_eq!(
            c["json_attributes_template"],
            format!("{{{{ value_json.{key}_attributes | tojson }}}}")
        );
        keys.push(key);
    }
    keys.sort();
    assert_eq!(keys, ["hour", "today", "tomorrow"]);
    let days = store.ecowatt(today, today.succ()).unwrap();
    for (key, date) in [("today", today), ("tomorrow", today.succ())] {
        let day = days.iter().find(|d| d.date == date);
        assert_eq!(state[key], word(day.and_then(|d| d.level)), "{key}");
        let attrs = &state[format!("{key}_attributes")];
        assert_eq!(attrs["date"], date.to_string());
        let hours = attrs["hours"].as_array().unwrap();
        assert_eq!(hours.len() as i64, date.paris_day_hours(), "{key}");
        let stored = day.map_or(&[][..], |d| &d.hours[..]);
        for (i, shown) in hours.iter().enumerate() {
            let start = date.paris_midnight_utc() + i as i64 * 3600;
            let want = stored.iter().find(|h| h.start == start).map(|h| h.level);
            assert_eq!(*shown, word(want), "{key} hour {i}");
        }
        assert_eq!(
            attrs["generated_at"],
            day.and_then(|d| d.generated_at)
                .map_or(Value::Null, |g| serde_json::json!(paris_iso(g)))
        );
    }
    // The current hour: the store's hour holding the publish's instant.
    let around = store
        .ecowatt(today.add_days(-1), today.add_days(3))
        .unwrap();
    let hour_at = |now: i64| {
        around
            .iter()
            .flat_map(|d| &d.hours)
            .find(|h| (h.start..h.start + 3600).contains(&now))
            .map(|h| h.level)
    };
    assert!(
        instants
            .iter()
            .any(|&now| state["hour"] == word(hour_at(now))),
        "hour: {} is not the store's at {instants:?}",
        state["hour"]
    );
    state
}

/// The Tempo state's counters are the store's outlook.
fn check_tempo_counters(state: &Value, store: &Store, today: Date) {
    let o = store.tempo_outlook(today).unwrap();
    for c in [TempoColour::Blue, TempoColour::White, TempoColour::Red] {
        let n = o.season.colours.get(c);
        assert_eq!(state[format!("{}_used", c.as_str())], n.used, "{c:?}");
        assert_eq!(
            state[format!("{}_remaining", c.as_str())],
            n.remaining,
            "{c:?}"
        );
    }
    assert_eq!(state["disagreements"], o.disagreements.len());
    assert_eq!(state["season_start"], o.season.start.to_string());
}

fn approx(json: &Value, want: Option<f64>, tolerance: f64, what: &str) {
    match want {
        None => assert!(json.is_null(), "{what}: want null, got {json}"),
        Some(w) => {
            let got = json
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: want {w}, got {json}"));
            assert!((got - w).abs() <= tolerance, "{what}: want {w}, got {got}");
        }
    }
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values
        .flatten()
        .fold(None, |a, v| Some(a.unwrap_or(0.0) + v))
}

fn as_map(m: &BTreeMap<String, Received>) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.payload.clone()))
        .collect()
}

// ----------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_sees_every_meter_after_a_sync() {
    if !have("home_assistant_sees_every_meter_after_a_sync", false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut store, site_url) = demo_store(dir.path()).await;
    let today = d(TODAY);
    // The demo has no EcoWatt yet: what its guest would bring.
    seed_ecowatt(&mut store, today);
    let (_broker, port) = Broker::plain();
    let watcher = Watcher::start(port, "watcher", &["hellowatt/#", "homeassistant/#"]).await;
    let cfg = config(port);
    let publisher = MqttPublisher::connect(&cfg).unwrap();
    publisher
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let before = hellowatt::clock::now_utc();
    let report = publisher.publish_snapshot(&store, today).await.unwrap();
    let after = hellowatt::clock::now_utc();

    let meters: Vec<(String, Energy)> = store
        .meters(None)
        .unwrap()
        .into_iter()
        .map(|m| (m.meter_id, m.energy))
        .collect();
    assert_eq!(meters.len(), 2, "the demo has electricity and gas");
    assert_eq!(report.meters, 2);
    assert!(report.tempo, "the demo's tariff keys give Tempo days");
    assert!(report.ecowatt, "EcoWatt days are stored");
    assert_eq!(report.messages, report.sensors + report.meters + 2);
    let first = watcher
        .wait_for(0, "every message and online", |m| {
            m.get("hellowatt/status")
                .is_some_and(|s| s.payload == "online")
                && m.len() > report.messages
        })
        .await;
    let messages = as_map(&first);
    assert_eq!(
        messages.len(),
        report.messages + 1,
        "{:#?}",
        messages.keys()
    );

    // Nothing secret or site-specific went out.
    for (topic, payload) in &messages {
        for secret in [sim::DEMO_PASSWORD, sim::DEMO_LOGIN, site_url.as_str()] {
            assert!(
                !payload.contains(secret) && !topic.contains(secret),
                "{topic} holds {secret:?}"
            );
        }
    }

    let checked = check_messages(&cfg, &messages, &meters);
    let tempo = check_tempo_device(&cfg, &messages);
    check_tempo_counters(&tempo, &store, today);
    let ecowatt = check_ecowatt_device(&cfg, &messages, &store, today, [before, after]);
    assert_eq!(ecowatt["today"], "orange");
    assert!(ecowatt["tomorrow"].is_null(), "published without a level");
    // No Tempo service in the demo, and its tariff keys stop at yesterday.
    assert!(tempo["today"].is_null() && tempo["tomorrow"].is_null());
    assert!(tempo["blue_used"].as_u64().unwrap() > 0);
    let yesterday = today.add_days(-1);
    let from = d("2026-01-01");
    for (meter, energy) in &meters {
        let (keys, state) = &checked[meter];
        assert_eq!(state["energy"], energy.as_str());
        let daily: Vec<DailyReading> = store
            .daily(meter, from, today)
            .unwrap()
            .into_iter()
            .map(|r| r.reading)
            .collect();
        assert!(!daily.is_empty());
        let total = sum(daily.iter().map(|r| r.amounts.kwh));
        approx(&state["energy_total"], total, 1e-3, "energy_total");
        approx(
            &state["cost_total"],
            sum(daily.iter().map(|r| r.amounts.eur)),
            1e-3,
            "cost_total",
        );
        let y = daily.iter().find(|r| r.date == yesterday).unwrap();
        approx(
            &state["energy_yesterday"],
            y.amounts.kwh,
            1e-3,
            "energy_yesterday",
        );
        approx(
            &state["cost_yesterday"],
            y.amounts.eur,
            1e-3,
            "cost_yesterday",
        );
        let november = || daily.iter().filter(|r| r.date >= d("2026-11-01"));
        approx(
            &state["energy_month"],
            sum(november().map(|r| r.amounts.kwh)),
            1e-3,
            "energy_month",
        );
        approx(
            &state["cost_month"],
            sum(november().map(|r| r.amounts.eur)),
            1e-3,
            "cost_month",
        );
        // With the subscription: the consumption's cost plus the month's
        // share of the subscription, each published beside it.
        let subscription = state["subscription_month"].as_f64();
        assert!(subscription.is_some_and(|s| s > 0.0), "{state}");
        approx(
            &state["cost_with_subscription_month"],
            Some(state["cost_month"].as_f64().unwrap() + subscription.unwrap()),
            1e-3,
            "cost_with_subscription_month",
        );
        assert_eq!(state["year"], "2026");
        approx(
            &state["energy_year"],
            total,
            1e-3,
            "energy_year (all in 2026)",
        );
        // The month's tariff periods, summed from the store's days: the
        // attributes of the month's sensors.
        let periods =
            crate::common::period_sums(daily.iter().filter(|r| r.date >= d("2026-11-01")));
        let shown = state["periods_month_kwh"].as_object().unwrap();
        assert_eq!(
            shown.keys().collect::<Vec<_>>(),
            periods.keys().collect::<Vec<_>>(),
            "{meter}: the month's periods"
        );
        for (name, (kwh, eur)) in &periods {
            approx(&state["periods_month_kwh"][name], Some(*kwh), 1e-3, name);
            approx(&state["periods_month_eur"][name], Some(*eur), 1e-3, name);
        }
        assert!(
            *energy == Energy::Gas || !periods.is_empty(),
            "{meter}: the demo's electricity has tariff periods"
        );
        assert_eq!(state["day"], "2026-11-27");
        assert_eq!(state["month"], "2026-11");
        assert_eq!(state["last_day"], "2026-11-27");
        // The helloWatt account's last run (the seeded EcoWatt run aside).
        let runs = store.runs(None, 10).unwrap();
        let run = runs.iter().find(|r| r.account != "rte").unwrap();
        assert_eq!(state["last_sync"], paris_iso(run.finished_at.unwrap()));
        let home = store
            .meters(None)
            .unwrap()
            .into_iter()
            .find(|m| &m.meter_id == meter)
            .unwrap()
            .home_id;
        let temperature = store
            .temperatures(&home, yesterday, yesterday)
            .unwrap()
            .first()
            .map(|t| t.celsius);
        approx(
            &state["temperature_yesterday"],
            temperature,
            0.01,
            "temperature_yesterday",
        );
        // The demo has no Tempo service: today and tomorrow are unknown,
        // published as null (HA: unknown), never 0 or absent.
        assert!(state["tempo_today"].is_null() && state["tempo_tomorrow"].is_null());
        for k in [
            "energy_total",
            "cost_total",
            "energy_yesterday",
            "last_day",
            "last_sync",
        ] {
            assert!(keys.iter().any(|x| x == k), "{meter}: no {k} sensor");
        }
        match energy {
            Energy::Electricity => {
                approx(
                    &state["production_total"],
                    sum(daily.iter().map(|r| r.amounts.solar_production_kwh)),
                    1e-3,
                    "production_total",
                );
                approx(
                    &state["injection_total"],
                    sum(daily.iter().map(|r| r.amounts.injection_kwh)),
                    1e-3,
                    "injection_total",
                );
                let tempo = store.tempo_days(yesterday, yesterday).unwrap();
                let colour = tempo
                    .iter()
                    .find(|t| t.meter_id.as_deref() == Some(meter.as_str()))
                    .and_then(|t| t.colour)
                    .map(|c| c.as_str());
                assert!(
                    colour.is_some(),
                    "the demo's tariff keys give yesterday's colour"
                );
                assert_eq!(state["tempo_yesterday"].as_str(), colour);
                // Peaks, from the store's own curve points: the highest
                // kWh x 60 / minutes of yesterday (with its start), and of
                // the month's days.
                let peak = |from: Date| {
                    crate::common::peak_of(&store.curve(meter, from, yesterday).unwrap()).unwrap()
                };
                let (kw, at) = peak(yesterday);
                approx(
                    &state["peak_power_yesterday"],
                    Some(kw),
                    1e-6,
                    "peak yesterday",
                );
                assert_eq!(state["peak_power_yesterday_at"], paris_iso(at));
                approx(
                    &state["peak_power_month"],
                    Some(peak(d("2026-11-01")).0),
                    1e-6,
                    "peak of the month",
                );
                // The subscribed power: the highest of the home's active
                // electricity contracts' in the store's rows.
                let supply = crate::common::supply_kva(&store, &home);
                assert!(supply.is_some(), "the demo's supply gives its power");
                approx(&state["subscribed_power"], supply, 1e-9, "subscribed power");
                for k in [
                    "production_total",
                    "injection_total",
                    "tempo_today",
                    "peak_power_yesterday",
                    "peak_power_yesterday_at",
                    "peak_power_month",
                    "subscribed_power",
                ] {
                    assert!(keys.iter().any(|x| x == k), "{meter}: no {k} sensor");
                }
            }
            Energy::Gas => {
                assert!(state["production_total"].is_null());
                assert!(
                    !keys.iter().any(|k| k.starts_with("tempo")
                        || k.starts_with("production")
                        || k.starts_with("peak")),
                    "{keys:?}"
                );
                assert!(
                    state["peak_power_yesterday"].is_null() && state["peak_power_month"].is_null()
                );
                assert!(state["subscribed_power"].is_null());
                assert!(!keys.iter().any(|k| k == "subscribed_power"), "{keys:?}");
            }
        }
    }

    // Retained: a late subscriber gets the same messages, flagged retained.
    let late = Watcher::start(port, "late", &["hellowatt/#", "homeassistant/#"]).await;
    let retained = late
        .wait_for(0, "the retained messages", |m| m.len() == messages.len())
        .await;
    assert!(retained.values().all(|r| r.retain));
    assert_eq!(as_map(&retained), messages);
    drop(late);

    // The same data again: the same payloads.
    let mark = watcher.len();
    let again = publisher.publish_snapshot(&store, today).await.unwrap();
    assert_eq!(again, report);
    let second = watcher
        .wait_for(mark, "the second publish", |m| m.len() == report.messages)
        .await;
    for (topic, r) in &second {
        assert_eq!(&r.payload, &messages[topic], "{topic} changed");
    }

    // Dropped without a clean disconnect: the broker sends the last will.
    let mark = watcher.len();
    drop(publisher);
    watcher
        .wait_for(mark, "offline from the last will", |m| {
            m.get("hellowatt/status")
                .is_some_and(|s| s.payload == "offline")
        })
        .await;
    let late = Watcher::start(port, "late2", &["hellowatt/status"]).await;
    let status = late
        .wait_for(0, "the retained status", |m| !m.is_empty())
        .await;
    assert_eq!(status["hellowatt/status"].payload, "offline");
    assert!(status["hellowatt/status"].retain);
}

#[test]
fn missing_values_are_null_and_tempo_prefers_the_service() {
    let store = small_store();
    let cfg = MqttConfig::from_url("mqtt://localhost").unwrap();
    let out = mqtt::messages(&cfg, &store, d(TODAY)).unwrap();
    let messages: BTreeMap<String, String> = out
        .iter()
        .map(|m| (m.topic.clone(), m.payload.clone()))
        .collect();
    assert_eq!(messages.len(), out.len(), "no topic twice");
    assert!(
        messages.keys().all(|t| !t.contains("ecowatt")),
        "no EcoWatt day stored: no EcoWatt device"
    );
    let meters = [
        (PDL.to_owned(), Energy::Electricity),
        (PCE.to_owned(), Energy::Gas),
    ];
    let checked = check_messages(&cfg, &messages, &meters);
    let (keys, s) = &checked[PDL];
    assert_eq!(keys.len(), 16 + 9 + 3 + 1 + 3, "{keys:?}");
    assert_eq!(s["collection"], "ok");
    approx(&s["energy_total"], Some(22.75), 1e-9, "energy_total");
    approx(&s["cost_total"], Some(4.6), 1e-9, "cost_total");
    assert!(s["energy_yesterday"].is_null(), "a missing day is not 0");
    assert!(s["cost_yesterday"].is_null());
    approx(&s["energy_month"], Some(22.75), 1e-9, "energy_month");
    approx(&s["production_total"], Some(3.0), 1e-9, "production_total");
    approx(&s["injection_total"], Some(1.0), 1e-9, "injection_total");
    approx(&s["injection_earnings_total"], Some(0.13), 1e-9, "earnings");
    assert!(s["tempo_yesterday"].is_null());
    assert_eq!(s["tempo_today"], "red");
    assert!(s["tempo_tomorrow"].is_null(), "not known yet");
    approx(&s["temperature_yesterday"], Some(4.5), 1e-9, "temperature");
    // The household's Tempo: the service's red beats the tariff keys'
    // white, and the disagreement is counted.
    let tempo = check_tempo_device(&cfg, &messages);
    check_tempo_counters(&tempo, &store, d(TODAY));
    assert_eq!(tempo["today"], "red");
    assert_eq!(tempo["today_source"], "service");
    assert!(tempo["tomorrow"].is_null() && tempo["tomorrow_source"].is_null());
    assert_eq!(tempo["red_used"], 1);
    assert_eq!(tempo["red_remaining"], 21);
    assert_eq!(tempo["blue_used"], 1, "26 November, from the tariff keys");
    assert_eq!(tempo["white_used"], 0);
    assert_eq!(tempo["disagreements"], 1);
    assert_eq!(s["last_day"], "2026-11-26");
    assert_eq!(s["last_sync"], "2026-11-28T11:00:00+01:00");

    let (keys, g) = &checked[PCE];
    assert_eq!(keys.len(), 16 + 1 + 3, "{keys:?}");
    for k in STATE_KEYS {
        if !matches!(
            k,
            "meter_id"
                | "energy"
                | "day"
                | "month"
                | "year"
                | "temperature_yesterday"
                | "last_sync"
                | "collection"
        ) {
            if k.starts_with("periods_") {
                // Attributes: an object, empty when no day has a period.
                assert_eq!(g[k], serde_json::json!({}), "gas {k}");
            } else {
                assert!(g[k].is_null(), "gas {k}: {}", g[k]);
            }
        }
    }
    let device = parse(&messages[&cfg.config_topic(PCE, "energy_total")])["device"].clone();
    assert_eq!(device["name"], "helloWatt gaz 9876…76");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_password_and_a_refused_one() {
    if !have("tls_with_a_password_and_a_refused_one", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_certificates(d);
    let passwd = d.join("passwd");
    std::fs::write(&passwd, "").unwrap();
    let password = "Mqtt-secret-4242!";
    let status = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg(&passwd)
        .arg("hw")
        .arg(password)
        .status()
        .expect("mosquitto_passwd (package mosquitto)");
    assert!(status.success());
    let (plain, tls) = (free_port(), free_port());
    let config = format!(
        "per_listener_settings true\n\
         listener {plain} 127.0.0.1\nallow_anonymous true\n\
         listener {tls} 127.0.0.1\nallow_anonymous false\npassword_file {}\n\
         cafile {}\ncertfile {}\nkeyfile {}\n",
        passwd.display(),
        d.join("ca.pem").display(),
        d.join("server.pem").display(),
        d.join("server.key").display(),
    );
    let _broker = Broker::start(&config, &[plain, tls], dir);
    let d = _broker.dir.path();
    let watcher = Watcher::start(plain, "watcher", &["hw/#"]).await;
    let store = small_store();

    let password_file = d.join("mqtt.pass");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    let cfg = MqttKeys {
        url: Some(format!("mqtts://localhost:{tls}")),
        username: Some("hw".into()),
        password_file: Some(password_file),
        prefix: Some("hw".into()),
        ca_file: Some(d.join("ca.pem")),
        client_id: Some("hellowatt-tls".into()),
        ..MqttKeys::default()
    }
    .resolve()
    .unwrap()
    .unwrap();
    assert!(cfg.broker.tls);
    assert!(!format!("{cfg:?}").contains(password));
    let publisher = MqttPublisher::connect(&cfg).unwrap();
    let report = publisher.publish_snapshot(&store, d_today()).await.unwrap();
    assert_eq!(report.meters, 2);
    let got = watcher
        .wait_for(0, "the states over TLS", |m| {
            m.contains_key(&format!("hw/{PDL}/state"))
                && m.get("hw/status").is_some_and(|s| s.payload == "online")
        })
        .await;
    assert_eq!(
        parse(&got[&format!("hw/{PCE}/state")].payload)["energy"],
        "gas"
    );
    // A clean shutdown says offline itself.
    let mark = watcher.len();
    publisher.shutdown().await;
    watcher
        .wait_for(mark, "offline on shutdown", |m| {
            m.get("hw/status").is_some_and(|s| s.payload == "offline")
        })
        .await;

    // A wrong password: the publish fails (the sync would only log it), and
    // neither password is in the error.
    // One publish with `cfg` changed by `change`, which must fail: its
    // error.
    let refused = |change: &dyn Fn(&mut hellowatt::mqtt::MqttConfig)| {
        let mut changed = cfg.clone();
        changed.ack_timeout = Duration::from_secs(2);
        change(&mut changed);
        let store = &store;
        async move {
            match MqttPublisher::connect(&changed) {
                Ok(p) => Some(
                    p.publish_snapshot(store, d_today())
                        .await
                        .unwrap_err()
                        .to_string(),
                ),
                Err(_) => None,
            }
        }
    };
    let wrong = "Wrong-secret-0000!";
    let e = refused(&|c| {
        c.password = Some(hellowatt::config::Secret::new(wrong));
        c.client_id = "hellowatt-wrong".into();
    })
    .await
    .expect("a client");
    assert!(e.contains("refused the user name or password"), "{e}");
    assert!(e.contains("mqtts://localhost:"), "{e}");
    assert!(!e.contains(wrong) && !e.contains(password), "{e}");

    // An impostor: a broker whose certificate the configured authority did
    // not sign (here the same broker, the client trusting another CA, as
    // it would see a broker put on its address). The handshake fails, so
    // the CONNECT that carries the password never leaves.
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let e = refused(&|c| {
        c.ca_file = Some(other.path().join("ca.pem"));
        c.client_id = "hellowatt-impostor".into();
    })
    .await
    .expect("a client");
    assert!(e.contains("TLS certificate is not trusted"), "{e}");
    assert!(
        e.contains("mqtt_ca_file") && e.contains("nothing was sent"),
        "{e}"
    );
    assert!(!e.contains(password), "{e}");
    // The system's authorities (no mqtt_ca_file) do not vouch for it
    // either (where there is a system bundle to try).
    let e = refused(&|c| {
        c.ca_file = None;
        c.client_id = "hellowatt-no-ca".into();
    })
    .await;
    if let Some(e) = e {
        assert!(e.contains("TLS certificate is not trusted"), "{e}");
    }
}

fn d_today() -> Date {
    d(TODAY)
}

/// A CA and a server certificate for localhost, made with openssl.
fn make_certificates(dir: &Path) {
    let run = |args: &str| {
        let out = Command::new("openssl")
            .args(args.split_whitespace())
            .current_dir(dir)
            .output()
            .expect("install openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    run(&format!(
        "req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=hellowatt-test-ca"
    ));
    run(&format!(
        "req {key} -keyout server.key -out server.csr -subj /CN=localhost"
    ));
    run(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
         -out server.pem -days 2 -extfile server.ext",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_is_down_fails_the_publish_in_time() {
    let port = free_port(); // nothing listens there
    let mut cfg = MqttKeys {
        url: Some(format!("mqtt://127.0.0.1:{port}")),
        username: Some("hw".into()),
        password: Some("Mqtt-secret-4242!".into()),
        ..MqttKeys::default()
    }
    .resolve()
    .unwrap()
    .unwrap();
    cfg.ack_timeout = Duration::from_secs(2);
    let publisher = MqttPublisher::connect(&cfg).unwrap();
    let store = small_store();
    let started = Instant::now();
    let e = publisher
        .publish_snapshot(&store, d_today())
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.contains("not acknowledged"), "{e}");
    assert!(!e.contains("Mqtt-secret"), "{e}");
    assert!(
        publisher
            .wait_connected(Duration::from_millis(100))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_broker_gets_everything_again() {
    if !have("a_restarted_broker_gets_everything_again", false) {
        return;
    }
    let (broker, port) = Broker::plain();
    let publisher = MqttPublisher::connect(&config(port)).unwrap();
    let store = small_store();
    let report = publisher.publish_snapshot(&store, d_today()).await.unwrap();
    // A broker without persistence restarts empty: no retained message.
    drop(broker);
    let _broker = Broker::plain_on(port);
    let watcher = Watcher::start(port, "watcher", &["hellowatt/#", "homeassistant/#"]).await;
    let got = watcher
        .wait_for(
            0,
            "online and the last publish after the reconnection",
            |m| {
                m.len() == report.messages + 1
                    && m.get("hellowatt/status")
                        .is_some_and(|s| s.payload == "online")
            },
        )
        .await;
    let sent: BTreeMap<String, String> = mqtt::messages(&config(port), &store, d_today())
        .unwrap()
        .into_iter()
        .map(|m| (m.topic, m.payload))
        .collect();
    for (topic, payload) in sent {
        assert_eq!(got[&topic].payload, payload, "{topic}");
    }
}

#[test]
fn configuration_keys() {
    let keys = |url: &str| MqttKeys {
        url: Some(url.into()),
        ..MqttKeys::default()
    };
    // Off unless mqtt_url is set.
    assert!(MqttKeys::default().resolve().unwrap().is_none());
    let e = MqttKeys {
        username: Some("u".into()),
        ..MqttKeys::default()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.contains("mqtt_username") && e.contains("mqtt_url"), "{e}");

    let c = keys("mqtt://broker.lan").resolve().unwrap().unwrap();
    assert_eq!(
        (c.broker.host.as_str(), c.broker.port, c.broker.tls),
        ("broker.lan", 1883, false)
    );
    assert_eq!(c.prefix, "hellowatt");
    assert_eq!(c.discovery_prefix, "homeassistant");
    assert_eq!(c.client_id, "hellowatt");
    assert_eq!(c.status_topic(), "hellowatt/status");
    assert_eq!(c.state_topic("GI 12/3"), "hellowatt/GI_12_3/state");
    assert_eq!(
        c.config_topic("0951", "energy_total"),
        "homeassistant/sensor/hellowatt_0951/energy_total/config"
    );
    let c = keys("mqtts://broker.lan").resolve().unwrap().unwrap();
    assert_eq!((c.broker.port, c.broker.tls), (8883, true));
    let c = keys("MQTT://10.0.0.2:1884/").resolve().unwrap().unwrap();
    assert_eq!((c.broker.host.as_str(), c.broker.port), ("10.0.0.2", 1884));
    let c = keys("mqtt://[::1]:1885").resolve().unwrap().unwrap();
    assert_eq!((c.broker.host.as_str(), c.broker.port), ("[::1]", 1885));
    assert_eq!(c.broker.to_string(), "mqtt://[::1]:1885");

    for (url, needle) in [
        ("http://broker", "unknown scheme"),
        ("broker:1883", "not a URL"),
        ("mqtt://", "no valid host"),
        ("mqtt://broker:0", "port"),
        ("mqtt://broker:99999", "port"),
        ("mqtt://broker:x", "port"),
        ("mqtt://broker/topic", "path"),
    ] {
        let e = keys(url).resolve().unwrap_err().to_string();
        assert!(e.contains("mqtt_url") && e.contains(needle), "{url}: {e}");
        assert!(
            e.contains("mqtt://host:1883"),
            "{url}: says how to write it: {e}"
        );
    }
    let e = keys("mqtt://user:Hunter-2-secret@broker")
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(e.contains("mqtt_password") && !e.contains("Hunter"), "{e}");

    let base = || keys("mqtt://broker");
    let e = MqttKeys {
        password: Some("p".into()),
        ..base()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.contains("mqtt_username"), "{e}");
    let e = MqttKeys {
        username: Some("u".into()),
        password: Some("p".into()),
        password_file: Some("/nonexistent".into()),
        ..base()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.contains("not both"), "{e}");
    let e = MqttKeys {
        ca_file: Some("/ca.pem".into()),
        ..base()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.contains("mqtts://"), "{e}");
    for bad in ["", "a/+/b", "a/#", "/a", "a/", "a b", "$SYS"] {
        let e = MqttKeys {
            prefix: Some(bad.into()),
            ..base()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(e.contains("mqtt_prefix"), "{bad:?}: {e}");
    }
    let c = MqttKeys {
        username: Some("u".into()),
        password: Some("Pass-word-2026!".into()),
        prefix: Some("home/energy".into()),
        discovery_prefix: Some("ha".into()),
        ..base()
    }
    .resolve()
    .unwrap()
    .unwrap();
    assert_eq!(c.state_topic("1"), "home/energy/1/state");
    assert_eq!(c.config_topic("1", "k"), "ha/sensor/hellowatt_1/k/config");
    assert_eq!(c.password.as_ref().unwrap().expose(), "Pass-word-2026!");
    assert!(!format!("{c:?}").contains("Pass-word"));
    let e = MqttKeys {
        client_id: Some("has space".into()),
        ..base()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.contains("mqtt_client_id"), "{e}");
}

#[test]
fn masked_ids() {
    assert_eq!(masked("09512345678959"), "0951…59");
    assert_eq!(masked("123456"), "123456");
}
