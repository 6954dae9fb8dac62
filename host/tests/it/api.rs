//! The HTTP API against a store filled by the real sync: the simulated
//! site's demo account, the bundled guest in its sandbox, SQLite, then every
//! route through a real listener. Answers are cross-checked against the
//! store's own queries and held to the OpenAPI document's schema for their
//! status and content type; bad parameters must be 400s with a message;
//! the token must be enforced; `/metrics` must pass a strict text-format
//! parser; no answer may carry a secret.

use crate::common::runtime;
use bytes::Bytes;
use hellowatt::api::{
    self, ApiState, GuestCounters, GuestHistoryEntry, GuestSummary, Metrics, ServiceInfo, StorePool,
};
use hellowatt::scheduler::{AccountState, Breaker, NextStep, StepKind};
use hellowatt::store::{GuestIdentity, Request, RunOutcome, Store};
use hellowatt::sync;
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::{Date, Energy, Snapshot, TempoColour, TempoDay, TempoSource, paris_iso};
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, oneshot};

const TODAY: &str = "2026-11-28";
const TOKEN: &str = "api-token-7Hq!x2-do-not-leak";
/// The credentials' fingerprint saved with an open breaker: never served.
const FINGERPRINT: &str = "fp-3b9c0d-credentials-fingerprint";
const ACCOUNT: &str = "test";
/// A name of the service's own (`allowed_hosts`).
const ALLOWED_HOST: &str = "hellowatt.home.example";
const BROKEN: &str = "other";

static FIXTURE: OnceCell<Fixture> = OnceCell::const_new();

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn today() -> Date {
    d(TODAY)
}

/// Noon in Paris on `TODAY`: the fake service's clock.
fn now() -> i64 {
    today().paris_time_utc(12, 0)
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    guest: GuestSummary,
    /// Unix time of the saved last success of `ACCOUNT`.
    last_success: i64,
    elec: String,
    gas: String,
    home: String,
}

/// The demo household from December 2025 to yesterday, synced once for the
/// whole binary; plus Tempo service colours for today (white) and tomorrow
/// (unknown), and saved scheduler states (one account with its breaker
/// open).
async fn fixture() -> &'static Fixture {
    FIXTURE
        .get_or_init(|| async {
            let (runtime, guest) = runtime().await;
            let server = sim::start(
                "127.0.0.1:0".parse().unwrap(),
                SimMode::Demo { today: today() },
            )
            .await
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("api.db");
            let mut store = Store::open(&db).unwrap();
            let config = crate::common::demo_config(&server.url(), &db);
            let summary = sync::run(
                runtime,
                guest,
                &mut store,
                &config,
                &config.accounts[0],
                d("2025-12-01"),
                today().add_days(-1),
            )
            .await
            .unwrap();
            assert!(summary.failure.is_none(), "{:?}", summary.failure);
            server.shutdown().await;

            // What a Tempo service guest would bring: today white, tomorrow
            // not announced yet.
            let identity = GuestIdentity {
                name: "tempo-test".into(),
                version: "0.0.1".into(),
                sha256: "00".repeat(32),
            };
            let run = store
                .begin_run(ACCOUNT, &identity, today(), today().add_days(1), now() - 60)
                .unwrap();
            let snapshot = Snapshot {
                tempo_days: vec![
                    TempoDay {
                        date: today(),
                        colour: Some(TempoColour::White),
                        source: TempoSource::Service,
                        meter_id: None,
                    },
                    TempoDay {
                        date: today().add_days(1),
                        colour: None,
                        source: TempoSource::Service,
                        meter_id: None,
                    },
                ],
                // What an EcoWatt guest would bring: today orange at
                // 19:00, tomorrow green.
                ecowatt: [(today(), 2u8), (today().add_days(1), 1)]
                    .into_iter()
                    .map(|(date, level)| hellowatt_snapshot::EcoWattDay {
                        date,
                        level: Some(level),
                        hours: (0..date.paris_day_hours())
                            .map(|h| hellowatt_snapshot::EcoWattHour {
                                start: date.paris_midnight_utc() + h * 3600,
                                level: if h == 19 { level } else { 1 },
                            })
                            .collect(),
                        generated_at: Some(date.paris_midnight_utc() - 3600),
                    })
                    .collect(),
                // A month's mean, as a site that gives monthly
                // temperatures would (the API lists it apart).
                temperatures: vec![hellowatt_snapshot::Temperature {
                    home_id: store.meters(None).unwrap()[0].home_id.clone(),
                    date: d("2026-11-01"),
                    period: hellowatt_snapshot::TemperaturePeriod::Month,
                    celsius: 7.5,
                }],
                ..Default::default()
            };
            let stats = store.ingest(run, ACCOUNT, &snapshot, now() - 60).unwrap();
            store
                .finish_run(run, &RunOutcome::Success, &stats, 1, now() - 50)
                .unwrap();

            let last_success = now() - 3600;
            let ok = AccountState {
                last_attempt: Some(last_success - 30),
                last_success: Some(last_success),
                newest_day: Some(today().add_days(-1)),
                last_decision: Some("daily run done".into()),
                ..AccountState::default()
            };
            store
                .save_scheduler_state(ACCOUNT, &serde_json::to_string(&ok).unwrap(), now())
                .unwrap();
            let broken = AccountState {
                consecutive_failures: 3,
                breaker: Some(Breaker {
                    opened_at: now() - 7200,
                    detail: "the site rejected the credentials".into(),
                    credentials: FINGERPRINT.into(),
                    action_needed: false,
                }),
                ..AccountState::default()
            };
            store
                .save_scheduler_state(BROKEN, &serde_json::to_string(&broken).unwrap(), now())
                .unwrap();

            let meters = store.meters(None).unwrap();
            let pick = |e: Energy| {
                meters
                    .iter()
                    .find(|m| m.energy == e)
                    .map(|m| m.meter_id.clone())
                    .unwrap()
            };
            let fixture = Fixture {
                guest: GuestSummary {
                    name: guest.info.name.clone(),
                    version: guest.info.version.clone(),
                    sha256: guest.sha256.clone(),
                    contract: guest.info.contract.clone(),
                },
                last_success,
                elec: pick(Energy::Electricity),
                gas: pick(Energy::Gas),
                home: meters[0].home_id.clone(),
                db,
                _dir: dir,
            };
            drop(store);
            fixture
        })
        .await
}

/// The service as the API sees it, pinned to noon on `TODAY`.
struct FakeService {
    accounts: Vec<String>,
    guest: GuestSummary,
    active: bool,
}

impl ServiceInfo for FakeService {
    fn accounts(&self) -> Vec<String> {
        self.accounts.clone()
    }
    fn guest(&self) -> GuestSummary {
        self.guest.clone()
    }
    fn guest_history(&self) -> Vec<GuestHistoryEntry> {
        vec![GuestHistoryEntry {
            sha256: self.guest.sha256.clone(),
            name: self.guest.name.clone(),
            version: self.guest.version.clone(),
            state: "active".into(),
            reason: None,
            at: now() - 86_400,
        }]
    }
    fn next_step(&self, account: &str) -> Option<NextStep> {
        Some(if account == ACCOUNT {
            let at = now() + 3 * 3600 + 420;
            NextStep {
                kind: StepKind::Daily,
                at: Some(at),
                since: None,
                text: format!("daily run at {}", paris_iso(at)),
            }
        } else {
            NextStep {
                kind: StepKind::CredentialsRejected,
                at: None,
                since: Some(now() - 7200),
                text: "blocked: the site rejected the credentials".into(),
            }
        })
    }
    fn counters(&self) -> GuestCounters {
        GuestCounters {
            swaps: 2,
            refusals: 1,
        }
    }
    fn guest_active(&self) -> bool {
        self.active
    }
    fn now_utc(&self) -> i64 {
        now()
    }
}

struct Setup {
    fixture: &'static Fixture,
    metrics: Arc<Metrics>,
    server: Server,
}

async fn setup_with(token: Option<&str>, accounts: &[&str], active: bool) -> Setup {
    let fixture = fixture().await;
    let store = Store::open(&fixture.db).unwrap();
    let metrics = Arc::new(Metrics::new());
    let state = ApiState {
        store: Arc::new(StorePool::single(store)),
        service: Arc::new(FakeService {
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            guest: fixture.guest.clone(),
            active,
        }),
        token: token.map(str::to_owned),
        metrics: Arc::clone(&metrics),
        allowed_hosts: vec![ALLOWED_HOST.into()],
    };
    Setup {
        fixture,
        metrics,
        server: Server::start(state).await,
    }
}

/// The API over a store of a test's own, for the account `ACCOUNT`.
async fn setup_on(store: Store, fixture: &'static Fixture) -> Setup {
    Setup {
        fixture,
        metrics: Arc::new(Metrics::new()),
        server: Server::start(ApiState {
            store: Arc::new(StorePool::single(store)),
            service: Arc::new(FakeService {
                accounts: vec![ACCOUNT.into()],
                guest: fixture.guest.clone(),
                active: true,
            }),
            token: None,
            metrics: Arc::new(Metrics::new()),
            allowed_hosts: vec![],
        })
        .await,
    }
}

async fn setup() -> Setup {
    setup_with(None, &[ACCOUNT, BROKEN], true).await
}

/// The API on a real listener, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    async fn start(state: ApiState) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            api::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server {
            addr,
            stop: Some(stop),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The `error` message of a failed request.
    fn error(&self) -> String {
        let v = self.json();
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_string();
        assert!(msg.len() > 10, "a terse error message: {msg}");
        assert!(
            self.header(header::CONTENT_TYPE)
                .starts_with("application/json")
        );
        msg
    }
}

impl Setup {
    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.server.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = client
            .request(req.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).expect("UTF-8 body");
        // No answer ever carries a secret.
        for secret in [sim::DEMO_PASSWORD, sim::DEMO_LOGIN, TOKEN, FINGERPRINT] {
            assert!(
                !body.contains(secret),
                "{method} {path} leaked {secret:?}: {body}"
            );
            for (name, v) in &headers {
                assert!(
                    !v.to_str().unwrap_or("").contains(secret),
                    "{method} {path} leaked {secret:?} in {name}"
                );
            }
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, &[]).await
    }

    /// A GET that must succeed with JSON.
    async fn ok(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
        assert!(
            a.header(header::CONTENT_TYPE)
                .starts_with("application/json"),
            "GET {path}"
        );
        a.json()
    }

    fn store(&self) -> Store {
        Store::open(&self.fixture.db).unwrap()
    }
}

/// Equal once rounded to `decimals` (sums of days are, by the API).
fn rounded_eq(a: Option<f64>, b: Option<f64>, decimals: i32) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9,
        _ => false,
    }
}

fn approx(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn f(v: &Value) -> Option<f64> {
    if v.is_null() {
        None
    } else {
        Some(v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
    }
}

/// Sum of a meter's daily values over a range, `None` when no day has one.
fn sum_daily(
    store: &Store,
    meter: &str,
    from: Date,
    to: Date,
    field: fn(&hellowatt_snapshot::DailyReading) -> Option<f64>,
) -> Option<f64> {
    store
        .daily(meter, from, to)
        .unwrap()
        .iter()
        .filter_map(|r| field(&r.reading))
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_status_and_listings() {
    let s = setup().await;
    let fx = s.fixture;
    let store = s.store();

    let a = s.get("/healthz").await;
    assert_eq!((a.status, a.body.as_str()), (200, "ok\n"));
    let ready = s.ok("/readyz").await;
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["guest"]["sha256"], fx.guest.sha256);
    assert!(ready["schema_version"].as_i64().unwrap() >= 1);

    let status = s.ok("/api/v1/status").await;
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["generated_at"], paris_iso(now()));
    assert_eq!(status["guest"]["name"], fx.guest.name);
    assert_eq!(status["guest"]["version"], fx.guest.version);
    assert_eq!(status["guest"]["sha256"], fx.guest.sha256);
    assert_eq!(status["guest"]["contract"], fx.guest.contract);
    let accounts = status["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    let ok = &accounts[0];
    assert_eq!(ok["name"], ACCOUNT);
    assert_eq!(
        ok["next_run"],
        format!("daily run at {}", paris_iso(now() + 3 * 3600 + 420))
    );
    assert_eq!(ok["last_success"], paris_iso(fx.last_success));
    assert_eq!(ok["newest_day"], "2026-11-27");
    assert_eq!(ok["consecutive_failures"], 0);
    assert!(ok["breaker"].is_null() && ok["paused"].is_null());
    assert_eq!(ok["last_decision"], "daily run done");
    let broken = &accounts[1];
    assert_eq!(broken["name"], BROKEN);
    assert_eq!(broken["consecutive_failures"], 3);
    assert_eq!(broken["breaker"]["since"], paris_iso(now() - 7200));
    assert_eq!(
        broken["breaker"]["detail"],
        "the site rejected the credentials"
    );
    assert!(
        broken["next_run"]
            .as_str()
            .unwrap()
            .starts_with("blocked: ")
    );
    assert!(broken["last_success"].is_null());

    // Meters: the store's records as they are.
    let meters = s.ok("/api/v1/meters").await;
    assert_eq!(
        meters,
        serde_json::to_value(store.meters(None).unwrap()).unwrap()
    );
    assert_eq!(meters.as_array().unwrap().len(), 2);
    assert_eq!(meters[0]["first_day"], "2025-12-01");
    assert_eq!(meters[0]["last_day"], "2026-11-27");

    // Homes: one, with both meters and its address.
    let homes = s.ok("/api/v1/homes").await;
    let homes = homes.as_array().unwrap();
    assert_eq!(homes.len(), 1);
    let m0 = &store.meters(None).unwrap()[0];
    assert_eq!(homes[0]["id"], fx.home);
    assert_eq!(homes[0]["account"], ACCOUNT);
    assert_eq!(homes[0]["address"], serde_json::json!(m0.address));
    assert_eq!(homes[0]["city"], serde_json::json!(m0.city));
    let ids: Vec<&str> = homes[0]["meters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["meter_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&fx.elec.as_str()) && ids.contains(&fx.gas.as_str()));

    // Accounts: configured ones, with what the store has of them.
    let accounts = s.ok("/api/v1/accounts").await;
    let accounts = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["name"], ACCOUNT);
    assert_eq!(accounts[0]["configured"], true);
    assert_eq!(accounts[0]["homes"], serde_json::json!([fx.home]));
    assert_eq!(accounts[0]["meters"].as_array().unwrap().len(), 2);
    let newest = &store.runs(Some(ACCOUNT), 1).unwrap()[0];
    assert_eq!(accounts[0]["last_run"]["id"], newest.id.0);
    assert_eq!(accounts[0]["last_run"]["outcome"], "success");
    assert_eq!(
        accounts[0]["last_success"],
        paris_iso(newest.finished_at.unwrap())
    );
    assert_eq!(accounts[1]["name"], BROKEN);
    assert!(accounts[1]["last_run"].is_null());
    assert_eq!(accounts[1]["meters"], serde_json::json!([]));

    // Contracts, all and by account.
    let contracts = s.ok("/api/v1/contracts").await;
    assert_eq!(
        contracts,
        serde_json::to_value(store.contracts(None).unwrap()).unwrap()
    );
    assert!(!contracts.as_array().unwrap().is_empty());
    // The demo's supply contract gives its subscribed power (a synthetic
    // figure: the real site's field is not known).
    assert!(
        contracts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["active"] == true
                && c["energy"] == "electricity"
                && c["subscribed_kva"] == 9.0),
        "{contracts}"
    );
    assert_eq!(
        s.ok(&format!("/api/v1/contracts?account={ACCOUNT}")).await,
        contracts
    );

    // Runs: newest first, limited, instants in Paris time.
    let stored = store.runs(None, 500).unwrap();
    let runs = s.ok("/api/v1/runs").await;
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), stored.len().min(50));
    assert_eq!(runs[0]["id"], stored[0].id.0);
    assert_eq!(runs[0]["started_at"], paris_iso(stored[0].started_at));
    assert_eq!(runs[0]["guest"]["name"], "tempo-test");
    let sync_run = &runs[1];
    assert_eq!(sync_run["outcome"], "success");
    assert_eq!(sync_run["from"], "2025-12-01");
    assert_eq!(sync_run["to"], "2026-11-27");
    assert_eq!(sync_run["guest"]["sha256"], fx.guest.sha256);
    assert!(sync_run["requests"].as_u64().unwrap() > 10);
    assert!(sync_run["stats"]["inserted"].as_u64().unwrap() > 300);
    let one = s
        .ok(&format!("/api/v1/runs?account={ACCOUNT}&limit=1"))
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], stored[0].id.0);

    // Guests.
    let guests = s.ok("/api/v1/guests").await;
    assert_eq!(guests["active"]["sha256"], fx.guest.sha256);
    assert_eq!(guests["active"]["active"], true);
    assert_eq!(guests["counters"]["swaps"], 2);
    assert_eq!(guests["counters"]["refusals"], 1);
    assert_eq!(guests["history"][0]["state"], "active");
    assert_eq!(guests["history"][0]["at"], paris_iso(now() - 86_400));
    assert!(guests["history"][0]["reason"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_agree_with_the_store() {
    let s = setup().await;
    let fx = s.fixture;
    let store = s.store();
    let elec = &fx.elec;

    // By day, with periods and the meter's Tempo colour.
    let (from, to) = (d("2026-11-01"), d("2026-11-27"));
    let r = s
        .ok(&format!(
            "/api/v1/readings?meter={elec}&granularity=day&from={from}&to={to}"
        ))
        .await;
    assert_eq!(r["meter_id"], *elec);
    assert_eq!(r["energy"], "electricity");
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("2026-11-01"), Some("2026-11-27"))
    );
    assert_eq!(r["units"]["kwh"], "kWh");
    assert_eq!(r["units"]["eur"], "EUR");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 27);
    let daily = store.daily(elec, from, to).unwrap();
    let tempo = store.tempo_days(from, to).unwrap();
    for (row, stored) in rows.iter().zip(&daily) {
        let got = &stored.reading;
        assert_eq!(row["bucket"], got.date.to_string());
        assert_eq!(row["start"], got.date.to_string());
        assert_eq!(
            (row["day_count"].as_u64(), row["value_count"].as_u64()),
            (Some(1), Some(1))
        );
        for (field, want) in [
            ("kwh", got.amounts.kwh),
            ("eur", got.amounts.eur),
            ("subscription_eur", got.amounts.subscription_eur),
            ("solar_production_kwh", got.amounts.solar_production_kwh),
            ("injection_kwh", got.amounts.injection_kwh),
            ("injection_eur", got.amounts.injection_eur),
        ] {
            assert!(approx(f(&row[field]), want), "{} {field}", got.date);
        }
        // The cost named three ways: the consumption's, the subscription,
        // and both (what other tools call the cost).
        let both = got.amounts.eur.unwrap() + got.amounts.subscription_eur.unwrap();
        assert!(approx(f(&row["total_eur"]), Some(both)), "{}", got.date);
        assert_eq!(r["units"]["total_eur"], "EUR");
        assert!(r["cost"].as_str().unwrap().contains("total_eur both"));
        assert_eq!(row["periods"], serde_json::to_value(&got.periods).unwrap());
        let colour = tempo
            .iter()
            .find(|t| {
                t.date == got.date
                    && t.source == TempoSource::TariffKeys
                    && t.meter_id.as_deref() == Some(elec.as_str())
            })
            .and_then(|t| t.colour)
            .expect("the demo has a colour every day");
        assert_eq!(row["tempo"], colour.as_str(), "{}", got.date);
    }
    // Gas has no Tempo colour.
    let g = s
        .ok(&format!(
            "/api/v1/readings?meter={}&from={from}&to={to}",
            fx.gas
        ))
        .await;
    assert_eq!(g["energy"], "gas");
    assert!(
        g["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["tempo"].is_null())
    );

    // By month: each month is the sum of its days.
    let m = s
        .ok(&format!(
            "/api/v1/readings?meter={elec}&granularity=month&from=2026-01-01&to=2026-11-27"
        ))
        .await;
    let months = m["rows"].as_array().unwrap();
    assert_eq!(months.len(), 11);
    let mut year_kwh = 0.0;
    for row in months {
        let (start, end) = (
            d(row["start"].as_str().unwrap()),
            d(row["end"].as_str().unwrap()),
        );
        assert_eq!(row["bucket"], &start.to_string()[..7]);
        assert!(row.get("tempo").is_none());
        // Its tariff periods: each the sum of its days' (the colour split
        // the dashboard stacks), sorted by name.
        let days = store.daily(elec, start, end).unwrap();
        let periods = crate::common::period_sums(days.iter().map(|d| &d.reading));
        let shown = row["periods"].as_array().unwrap();
        assert!(!shown.is_empty(), "{start}: the demo has tariff periods");
        assert_eq!(
            shown
                .iter()
                .map(|p| p["period"].as_str().unwrap())
                .collect::<Vec<_>>(),
            periods.keys().map(String::as_str).collect::<Vec<_>>(),
            "{start}"
        );
        for p in shown {
            let (kwh, eur) = periods[p["period"].as_str().unwrap()];
            assert!(
                rounded_eq(f(&p["kwh"]), Some(kwh), 3) && rounded_eq(f(&p["eur"]), Some(eur), 4),
                "{start}: {p}"
            );
        }
        let kwh = sum_daily(&store, elec, start, end, |r| r.amounts.kwh);
        let eur = sum_daily(&store, elec, start, end, |r| r.amounts.eur);
        let solar = sum_daily(&store, elec, start, end, |r| r.amounts.solar_production_kwh);
        assert!(
            rounded_eq(f(&row["kwh"]), kwh, 3),
            "{start}: {} vs {kwh:?}",
            row["kwh"]
        );
        assert!(rounded_eq(f(&row["eur"]), eur, 4), "{start}");
        assert!(
            rounded_eq(f(&row["solar_production_kwh"]), solar, 3),
            "{start}"
        );
        // Rounded: no binary tail such as 35.160000000000004.
        for key in ["kwh", "eur", "total_eur", "solar_production_kwh"] {
            let text = row[key].to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 4, "{start}: {key} = {text}");
        }
        assert_eq!(row["value_count"], row["day_count"]);
        year_kwh += kwh.unwrap();
    }
    assert_eq!(months[10]["end"], "2026-11-27");
    // By year: 2026 is the sum of its months.
    let y = s
        .ok(&format!(
            "/api/v1/readings?meter={elec}&granularity=year&from=2026-01-01&to=2026-11-27"
        ))
        .await;
    assert_eq!(y["rows"].as_array().unwrap().len(), 1);
    assert!(approx(f(&y["rows"][0]["kwh"]), Some(year_kwh)));

    // Defaults: 30 days, 12 months, 3 years, to yesterday; a year without
    // data is listed with null sums, never zeros.
    let r = s.ok(&format!("/api/v1/readings?meter={elec}")).await;
    assert_eq!(
        (
            r["granularity"].as_str(),
            r["from"].as_str(),
            r["to"].as_str()
        ),
        (Some("day"), Some("2026-10-29"), Some("2026-11-27"))
    );
    assert_eq!(r["rows"].as_array().unwrap().len(), 30);
    let r = s
        .ok(&format!("/api/v1/readings?meter={elec}&granularity=month"))
        .await;
    assert_eq!(r["from"], "2025-12-01");
    assert_eq!(r["rows"].as_array().unwrap().len(), 12);
    let r = s
        .ok(&format!("/api/v1/readings?meter={elec}&granularity=year"))
        .await;
    assert_eq!(r["from"], "2024-01-01");
    let years = r["rows"].as_array().unwrap();
    assert_eq!(years.len(), 3);
    assert_eq!(years[0]["bucket"], "2024");
    assert!(years[0]["kwh"].is_null() && years[0]["eur"].is_null());
    assert_eq!(years[0]["value_count"], 0);
    assert_eq!(years[1]["value_count"], 31);
    // Only `to`: the default span ends there.
    let r = s
        .ok(&format!("/api/v1/readings?meter={elec}&to=2026-06-30"))
        .await;
    assert_eq!(r["from"], "2026-06-01");

    // The load curve across the October DST change: 50 half-hours.
    let c = s
        .ok(&format!(
            "/api/v1/curve?meter={elec}&from=2026-10-25&to=2026-10-25"
        ))
        .await;
    let points = c["points"].as_array().unwrap();
    let stored = store.curve(elec, d("2026-10-25"), d("2026-10-25")).unwrap();
    assert_eq!(points.len(), 50);
    for (p, want) in points.iter().zip(&stored) {
        assert_eq!(p["start_utc"], want.start);
        assert_eq!(p["start"], paris_iso(want.start));
        assert!(approx(f(&p["kwh"]), want.kwh));
    }
    assert!(points[0]["start"].as_str().unwrap().ends_with("+02:00"));
    assert!(points[49]["start"].as_str().unwrap().ends_with("+01:00"));
    let c = s.ok(&format!("/api/v1/curve?meter={elec}")).await;
    assert_eq!(
        (c["from"].as_str(), c["to"].as_str()),
        (Some("2026-11-27"), Some("2026-11-27"))
    );
    assert_eq!(c["points"].as_array().unwrap().len(), 48);

    // Power peaks, each the highest kWh x 60 / minutes of the store's own
    // curve points (computed here), by day and by month; the 25-hour day
    // has its 50 points; gas has none.
    let peak_of = |from: &str, to: &str| {
        let points = store.curve(elec, d(from), d(to)).unwrap();
        let (kw, at) = crate::common::peak_of(&points)?;
        let minutes = points.iter().find(|p| p.start == at)?.minutes;
        Some((kw, at, minutes))
    };
    let days = s
        .ok(&format!(
            "/api/v1/peaks?meter={elec}&from=2026-10-24&to=2026-10-26"
        ))
        .await;
    assert_eq!(days["granularity"], "day");
    let rows = days["peaks"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let day = row["bucket"].as_str().unwrap();
        let (kw, at, minutes) = peak_of(day, day).unwrap();
        assert!(approx(f(&row["kw"]), Some(kw)), "{day}: {row}");
        assert_eq!(row["at_utc"], at, "{day}");
        assert_eq!(row["at"], paris_iso(at), "{day}");
        assert_eq!(row["minutes"], minutes);
        let points = store.curve(elec, d(day), d(day)).unwrap();
        assert_eq!(
            row["points"],
            points.iter().filter(|p| p.kwh.is_some()).count()
        );
    }
    assert_eq!(rows[1]["points"], 50, "the 25-hour day");
    let months = s
        .ok(&format!(
            "/api/v1/peaks?meter={elec}&granularity=month&from=2026-10-01&to=2026-11-27"
        ))
        .await;
    let rows = months["peaks"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, (from, to)) in rows
        .iter()
        .zip([("2026-10-01", "2026-10-31"), ("2026-11-01", "2026-11-27")])
    {
        let (kw, at, _) = peak_of(from, to).unwrap();
        assert_eq!(row["bucket"], &from[..7]);
        assert!(approx(f(&row["kw"]), Some(kw)), "{row}");
        assert_eq!(row["at_utc"], at);
        assert_eq!(row["date"], Date::paris_day_of(at).to_string());
    }
    let none = s.ok(&format!("/api/v1/peaks?meter={}", fx.gas)).await;
    assert_eq!(none["peaks"], serde_json::json!([]));
    let default = s.ok(&format!("/api/v1/peaks?meter={elec}")).await;
    assert_eq!(
        (default["from"].as_str(), default["to"].as_str()),
        (Some("2026-10-29"), Some("2026-11-27"))
    );

    // Tempo days: as stored, with the service's colours of today and tomorrow.
    let t = s.ok("/api/v1/tempo").await;
    assert_eq!(
        (t["from"].as_str(), t["to"].as_str()),
        (Some("2026-10-29"), Some("2026-11-29"))
    );
    assert_eq!(
        t["days"],
        serde_json::to_value(store.tempo_days(d("2026-10-29"), d("2026-11-29")).unwrap()).unwrap()
    );
    let t = s.ok("/api/v1/tempo?from=2026-11-28&to=2026-11-29").await;
    assert_eq!(
        t["days"],
        serde_json::json!([
            {"date": "2026-11-28", "colour": "white", "source": "service", "meter_id": null},
            {"date": "2026-11-29", "colour": null, "source": "service", "meter_id": null},
        ])
    );

    // Temperatures of the home.
    let temps = s
        .ok(&format!(
            "/api/v1/temperatures?home={}&from=2026-11-01&to=2026-11-27",
            fx.home
        ))
        .await;
    let stored: Vec<_> = store
        .temperatures(&fx.home, d("2026-11-01"), d("2026-11-27"))
        .unwrap()
        .into_iter()
        .filter(|t| t.period == hellowatt_snapshot::TemperaturePeriod::Day)
        .collect();
    assert_eq!(stored.len(), 27);
    assert_eq!(temps["units"]["celsius"], "°C");
    let days = temps["days"].as_array().unwrap();
    assert_eq!(days.len(), 27);
    for (day, want) in days.iter().zip(&stored) {
        assert_eq!(day["date"], want.date.to_string());
        assert!(approx(f(&day["celsius"]), Some(want.celsius)));
    }
    // The month's mean apart, never among the days.
    assert_eq!(
        temps["months"],
        serde_json::json!([{"date": "2026-11-01", "celsius": 7.5}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_is_the_tile() {
    let s = setup().await;
    let fx = s.fixture;
    let store = s.store();
    let sm = s.ok("/api/v1/summary").await;
    assert_eq!(sm["today"], TODAY);
    assert_eq!(sm["yesterday"], "2026-11-27");
    assert_eq!(sm["tempo"]["today"], "white");
    assert!(sm["tempo"]["tomorrow"].is_null(), "unknown stays unknown");
    let newest_success = store
        .runs(None, 500)
        .unwrap()
        .into_iter()
        .find(|r| r.outcome == Some(RunOutcome::Success))
        .unwrap();
    assert_eq!(
        sm["last_sync"]["at"],
        paris_iso(newest_success.finished_at.unwrap())
    );
    assert_eq!(sm["guest"]["name"], fx.guest.name);
    assert_eq!(sm["guest"]["active"], true);
    assert_eq!(sm["guest"]["swaps"], 2);
    assert_eq!(sm["accounts"][1]["breaker_open"], true);
    assert_eq!(
        sm["accounts"][1]["action_needed"], false,
        "a refusal, not an action"
    );
    assert_eq!(sm["accounts"][0]["breaker_open"], false);
    // The next step as a kind and an instant, for the dashboard to word in
    // its reader's language; the English of /api/v1/status beside them.
    assert_eq!(
        sm["accounts"][0]["next_run"],
        serde_json::json!({
            "kind": "daily", "at": paris_iso(now() + 3 * 3600 + 420), "since": null,
            "text": format!("daily run at {}", paris_iso(now() + 3 * 3600 + 420)),
        })
    );
    assert_eq!(
        sm["accounts"][1]["next_run"],
        serde_json::json!({
            "kind": "credentials_rejected", "at": null, "since": paris_iso(now() - 7200),
            "text": "blocked: the site rejected the credentials",
        })
    );

    let meters = sm["meters"].as_array().unwrap();
    assert_eq!(meters.len(), 2);
    for m in meters {
        let id = m["meter_id"].as_str().unwrap();
        let y = d("2026-11-27");
        let day = &store.daily(id, y, y).unwrap()[0].reading;
        assert_eq!(m["yesterday"]["date"], "2026-11-27");
        assert!(approx(f(&m["yesterday"]["kwh"]), day.amounts.kwh));
        assert!(approx(f(&m["yesterday"]["eur"]), day.amounts.eur));
        let month = (d("2026-11-01"), y);
        let year = (d("2026-01-01"), y);
        for (key, (from, to)) in [("month", month), ("year", year)] {
            let fig = &m[key];
            assert_eq!(fig["from"], from.to_string(), "{id} {key}");
            assert!(approx(
                f(&fig["kwh"]),
                sum_daily(&store, id, from, to, |r| r.amounts.kwh)
            ));
            assert!(approx(
                f(&fig["eur"]),
                sum_daily(&store, id, from, to, |r| r.amounts.eur)
            ));
            assert!(approx(
                f(&fig["solar_production_kwh"]),
                sum_daily(&store, id, from, to, |r| r.amounts.solar_production_kwh)
            ));
            assert!(approx(
                f(&fig["injection_kwh"]),
                sum_daily(&store, id, from, to, |r| r.amounts.injection_kwh)
            ));
        }
        if m["energy"] == "electricity" {
            let colour = store
                .tempo_days(y, y)
                .unwrap()
                .into_iter()
                .find(|t| t.meter_id.as_deref() == Some(id))
                .and_then(|t| t.colour)
                .unwrap();
            assert_eq!(m["yesterday"]["tempo"], colour.as_str());
            assert!(f(&m["year"]["solar_production_kwh"]).unwrap() > 0.0);
        } else {
            assert!(m["yesterday"]["tempo"].is_null());
            // Gas has no production: missing, not zero.
            assert!(m["year"]["solar_production_kwh"].is_null());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_refresh_and_dashboard() {
    let s = setup().await;
    let fx = s.fixture;
    let store = s.store();

    // CSV: a header with units, one row per meter and day, missing empty.
    let a = s
        .get("/api/v1/export?format=csv&granularity=day&from=2026-11-01&to=2026-11-27")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert_eq!(
        a.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"hellowatt-day-2026-11-01-2026-11-27.csv\""
    );
    let lines: Vec<&str> = a.body.lines().collect();
    assert!(lines[0].starts_with("meter_id,energy,period,start,end,"));
    assert!(lines[0].contains("consumption_kwh") && lines[0].contains("cost_eur"));
    assert_eq!(lines.len(), 1 + 2 * 27);
    // Each row's total cost is its cost plus its subscription.
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (cost, sub, total) = (
        col("cost_eur"),
        col("subscription_eur"),
        col("total_cost_eur"),
    );
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        let n = |i: usize| cells[i].parse::<f64>().unwrap();
        assert!((n(cost) + n(sub) - n(total)).abs() < 1e-9, "{line}");
    }
    assert_eq!(
        a.body,
        hellowatt::api::export::export(
            &store,
            hellowatt::api::export::Format::Csv,
            hellowatt::store::Granularity::Day,
            d("2026-11-01"),
            d("2026-11-27"),
            None
        )
        .unwrap()
    );
    // JSON, one meter, by month.
    let a = s
        .get(&format!(
            "/api/v1/export?format=json&granularity=month&from=2026-01-01&to=2026-11-27&meter={}",
            fx.gas
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    assert!(
        a.header(header::CONTENT_DISPOSITION)
            .ends_with(&format!("-{}.json\"", fx.gas))
    );
    let j = a.json();
    assert_eq!(j["units"]["kwh"], "kWh");
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    assert!(rows.iter().all(|r| r["meter_id"] == *fx.gas));
    // Defaults: CSV by day, the last 30 days.
    let a = s.get("/api/v1/export").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body.lines().count(), 1 + 2 * 30);

    // A manual refresh is filed for the service.
    let a = s
        .call("POST", &format!("/api/v1/accounts/{ACCOUNT}/refresh"), &[])
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let j = a.json();
    assert_eq!(j["queued"], true);
    assert!(j["note"].as_str().unwrap().contains("minimum interval"));
    let mut store = s.store();
    assert!(
        store
            .take_requests(ACCOUNT, now())
            .unwrap()
            .contains(&Request::Refresh)
    );

    // The dashboard and its assets, embedded.
    let page = s.get("/?lang=en").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert!(page.body.contains("assets/app.js") && page.body.contains("assets/style.css"));
    assert!(
        page.header(header::CONTENT_SECURITY_POLICY)
            .contains("default-src 'none'")
    );
    let js = s.get("/assets/app.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header(header::CONTENT_TYPE)
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("api/v1/summary") && js.body.contains("fr-FR"));
    let css = s.get("/assets/style.css").await;
    assert!(css.header(header::CONTENT_TYPE).starts_with("text/css"));
    let missing = s.get("/assets/nope.js").await;
    assert_eq!(missing.status, 404);
    missing.error();
}

// ------------------------------------------------------ OpenAPI contract

/// Where the validator finds the OpenAPI document: its `$ref`s
/// (`#/components/…`) resolve inside it, and nothing is ever fetched (an
/// unresolved `$ref` fails to compile: the `.invalid` host has no loader).
const DOC_URL: &str = "http://hellowatt.invalid/api/v1/openapi.json";

/// How many lines of a validation error a failure shows.
const MAX_LINES: usize = 12;

/// A JSON pointer's reference token (RFC 6901).
fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The OpenAPI document as a judge of answers: the schema that an
/// operation documents for a status and content type, compiled (draft
/// 2020-12, formats asserted) with `$ref`s resolved against the document;
/// and, per operation, every array its successful JSON answers had, so that
/// a test can tell whether array items were checked at all (an empty array
/// passes any `items`).
struct Contract {
    doc: Value,
    compiler: boon::Compiler,
    schemas: boon::Schemas,
    /// `GET /api/v1/readings` → place of an array (`/rows/*/periods`) →
    /// whether an answer had an item there.
    arrays: BTreeMap<String, BTreeMap<String, bool>>,
    /// What broke the document, all told at the end.
    failures: Vec<String>,
}

impl Contract {
    fn new(doc: Value) -> Contract {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler
            .add_resource(DOC_URL, doc.clone())
            .unwrap_or_else(|e| panic!("the OpenAPI document: {e:#}"));
        Contract {
            doc,
            compiler,
            schemas: boon::Schemas::new(),
            arrays: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Every documented operation: method (lower case) and path template.
    fn operations(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                out.push((method.clone(), path.clone()));
            }
        }
        out
    }

    /// The operation's URL with its path parameters and required query
    /// parameters filled from the fixture. The refresh is `BROKEN`'s:
    /// `export_refresh_and_dashboard` takes `ACCOUNT`'s requests and
    /// expects its own.
    fn sample_url(&self, fx: &Fixture, method: &str, template: &str) -> String {
        let op = &self.doc["paths"][template][method.to_lowercase()];
        let url = template
            .replace("{name}", BROKEN)
            .replace("{file}", "app.js");
        let query: Vec<String> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let value = match name {
                    "meter" => &fx.elec,
                    "home" => &fx.home,
                    other => panic!("no sample for the required parameter {other}"),
                };
                format!("{name}={value}")
            })
            .collect();
        if query.is_empty() {
            url
        } else {
            format!("{url}?{}", query.join("&"))
        }
    }

    /// The documented path that `url`'s path is an instance of.
    fn template_of(&self, url: &str) -> String {
        let path = url.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        self.doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .find(|template| {
                let t: Vec<&str> = template.split('/').collect();
                t.len() == segments.len()
                    && t.iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .unwrap_or_else(|| panic!("{path} is no documented path"))
            .clone()
    }

    /// Holds an answer of `method url` to what the document says of its
    /// status and content type; notes which route, status and schema rule
    /// it breaks, and where in the body.
    fn check(&mut self, method: &str, url: &str, a: &Answer) {
        if let Err(e) = self.try_check(method, url, a) {
            self.failures.push(e);
        }
    }

    fn try_check(&mut self, method: &str, url: &str, a: &Answer) -> Result<(), String> {
        let template = self.template_of(url);
        let route = format!("{method} {url} ({template})");
        let op_at = format!(
            "/paths/{}/{}",
            pointer_token(&template),
            method.to_lowercase()
        );
        let op = self
            .doc
            .pointer(&op_at)
            .unwrap_or_else(|| panic!("{route}: not a documented operation"));
        let status = a.status.to_string();
        let Some(mut response) = op["responses"].get(&status) else {
            let documented: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
            return Err(format!(
                "{route} answered {status}, which the document does not list \
                 (it lists {documented:?}): {}",
                a.body
            ));
        };
        let mut response_at = format!("{op_at}/responses/{status}");
        if let Some(r) = response["$ref"].as_str() {
            response_at = r.strip_prefix('#').expect("a local $ref").to_owned();
            response = self
                .doc
                .pointer(&response_at)
                .unwrap_or_else(|| panic!("{route}: {r} is not in the document"));
        }
        let got = a.header(header::CONTENT_TYPE);
        let Some(media) = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, _)| media)
            .filter(|media| got.starts_with(media.as_str()))
            .max_by_key(|media| media.len())
        else {
            return Err(format!(
                "{route} answered {status} as {got}, a content type that {response_at} \
                 does not list"
            ));
        };
        let schema_at = format!("{response_at}/content/{}/schema", pointer_token(media));
        let json = media == "application/json";
        let body = if json {
            a.json()
        } else {
            // A text answer is checked as a JSON string.
            Value::String(a.body.clone())
        };
        let index = self
            .compiler
            .compile(&format!("{DOC_URL}#{schema_at}"), &mut self.schemas)
            .unwrap_or_else(|e| panic!("{route}: the schema at {schema_at}: {e:#}"));
        if let Err(e) = self.schemas.validate(&body, index) {
            // `{e:#}`: each broken rule, with its place in the body (`at
            // '/rows/0'`) and in the document (`[S#/components/…]`); the
            // first lines are enough (one per array item otherwise).
            let why = format!("{e:#}");
            let total = why.lines().count();
            let mut shown: Vec<&str> = why.lines().take(MAX_LINES).collect();
            let more = format!("… {} more lines", total - shown.len());
            if total > shown.len() {
                shown.push(&more);
            }
            return Err(format!(
                "{route} answered {status} {got}, which breaks the schema at {schema_at}:\n{}",
                shown.join("\n")
            ));
        }
        if json && a.status < 300 {
            let arrays = self
                .arrays
                .entry(format!("{method} {template}"))
                .or_default();
            record_arrays(&body, "", arrays);
        }
        Ok(())
    }

    /// No answer broke the document, and every array of every checked
    /// success answer had an item in at least one answer of its operation
    /// (the document's own answer aside: it is `{"type": "object"}` here,
    /// and its empty `parameters` are real).
    fn assert_kept(&self) {
        assert!(
            self.failures.is_empty(),
            "{} answers break the OpenAPI document (fix the document, or the \
             answer if it is the one that is wrong):\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
        let empty: Vec<String> = self
            .arrays
            .iter()
            .filter(|(op, _)| !op.ends_with("/openapi.json"))
            .flat_map(|(op, arrays)| {
                arrays
                    .iter()
                    .filter(|(_, filled)| !**filled)
                    .map(move |(at, _)| format!("{op}: {}", if at.is_empty() { "/" } else { at }))
            })
            .collect();
        assert!(
            empty.is_empty(),
            "arrays that no answer filled, so their items were never checked \
             (give the fixture data or the test a call that fills them): {empty:#?}"
        );
    }
}

/// Notes each array of `v` (its place, items as `*`) and whether it has an
/// item.
fn record_arrays(v: &Value, at: &str, out: &mut BTreeMap<String, bool>) {
    match v {
        Value::Array(items) => {
            *out.entry(at.to_owned()).or_default() |= !items.is_empty();
            for item in items {
                record_arrays(item, &format!("{at}/*"), out);
            }
        }
        Value::Object(fields) => {
            for (k, x) in fields {
                record_arrays(x, &format!("{at}/{}", pointer_token(k)), out);
            }
        }
        _ => {}
    }
}

impl Setup {
    /// Calls `method url`, whose status must be `want`, and holds the
    /// answer to the document.
    async fn conforms(&self, contract: &mut Contract, method: &str, url: &str, want: u16) {
        let a = self.call(method, url, &[]).await;
        assert_eq!(a.status, want, "{method} {url}: {}", a.body);
        contract.check(method, url, &a);
    }
}

/// Every answer of every documented operation matches the schema the
/// document gives for its status and content type: successes over data
/// that fills every array, bad parameters (400), unknown ids (404), a
/// missing token (401) and a service without a guest (503). The answers'
/// objects being closed in the document, a key it does not list fails here
/// as surely as a listed one that is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_the_openapi_document() {
    let s = setup().await;
    let fx = s.fixture;
    let doc = s.ok("/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut contract = Contract::new(doc);
    let operations = contract.operations();
    assert_eq!(operations.len(), api::ROUTES.len());

    // Every operation with its required parameters, then with an unknown
    // one (a 400 where the route reads its query, else ignored).
    for (method, template) in &operations {
        let method = method.to_uppercase();
        let url = contract.sample_url(fx, &method, template);
        let want = if method == "POST" { 202 } else { 200 };
        s.conforms(&mut contract, &method, &url, want).await;
        let odd = format!(
            "{url}{}unknown=1",
            if url.contains('?') { '&' } else { '?' }
        );
        let a = s.call(&method, &odd, &[]).await;
        contract.check(&method, &odd, &a);
    }
    // Over data: every granularity, both energies, curve points, Tempo days
    // of both sources, filters; then the errors the routes answer.
    let (elec, gas, home) = (&fx.elec, &fx.gas, &fx.home);
    let calls: Vec<(&str, String, u16)> = vec![
        (
            "GET",
            format!("/api/v1/readings?meter={elec}&from=2026-11-01&to=2026-11-27"),
            200,
        ),
        (
            "GET",
            format!("/api/v1/readings?meter={gas}&from=2026-11-20&to=2026-11-27"),
            200,
        ),
        (
            "GET",
            format!(
                "/api/v1/readings?meter={elec}&granularity=month&from=2026-01-01&to=2026-11-27"
            ),
            200,
        ),
        (
            "GET",
            format!("/api/v1/readings?meter={gas}&granularity=year&from=2025-01-01&to=2026-11-27"),
            200,
        ),
        (
            "GET",
            format!("/api/v1/curve?meter={elec}&from=2026-11-26&to=2026-11-27"),
            200,
        ),
        (
            "GET",
            format!("/api/v1/peaks?meter={elec}&granularity=month&from=2026-01-01&to=2026-11-27"),
            200,
        ),
        (
            "GET",
            format!("/api/v1/peaks?meter={elec}&from=2026-10-24&to=2026-10-26"),
            200,
        ),
        (
            "GET",
            "/api/v1/tempo?from=2026-11-01&to=2026-11-29".into(),
            200,
        ),
        (
            "GET",
            format!("/api/v1/temperatures?home={home}&from=2026-11-01&to=2026-11-27"),
            200,
        ),
        ("GET", format!("/api/v1/contracts?account={ACCOUNT}"), 200),
        (
            "GET",
            format!("/api/v1/runs?account={ACCOUNT}&limit=2"),
            200,
        ),
        (
            "GET",
            "/api/v1/export?format=json&from=2026-11-20&to=2026-11-27".into(),
            200,
        ),
        (
            "GET",
            format!(
                "/api/v1/export?format=json&granularity=month&from=2026-01-01&to=2026-11-27&meter={gas}"
            ),
            200,
        ),
        (
            "GET",
            "/api/v1/export?format=json&granularity=year&from=2025-01-01&to=2026-11-27".into(),
            200,
        ),
        (
            "GET",
            format!("/api/v1/readings?meter={elec}&from=2026-13-01"),
            400,
        ),
        ("GET", "/api/v1/readings".into(), 400),
        ("GET", "/api/v1/readings?meter=nope".into(), 404),
        ("GET", "/api/v1/curve?meter=nope".into(), 404),
        (
            "GET",
            "/api/v1/tempo?from=2026-11-30&to=2026-11-01".into(),
            400,
        ),
        ("GET", "/api/v1/temperatures?home=nope".into(), 404),
        ("GET", "/api/v1/contracts?account=nobody".into(), 404),
        ("GET", "/api/v1/runs?limit=0".into(), 400),
        ("GET", "/api/v1/runs?account=nobody".into(), 404),
        ("GET", "/api/v1/export?format=xml".into(), 400),
        ("GET", "/api/v1/export?meter=nope".into(), 404),
        ("POST", "/api/v1/accounts/nobody/refresh".into(), 404),
        ("GET", "/assets/nope.js".into(), 404),
    ];
    for (method, url, want) in &calls {
        s.conforms(&mut contract, method, url, *want).await;
    }
    let _ = s.store().take_requests(BROKEN, now());

    // A store where the Tempo service and the tariff keys disagree: the
    // outlook's disagreements and the tile's count.
    let (_dir, store) = disagreeing_store(fx);
    let t = setup_on(store, fx).await;
    for url in ["/api/v1/tempo/outlook", "/api/v1/summary"] {
        t.conforms(&mut contract, "GET", url, 200).await;
    }
    // Without a token configured, the document declares none (no 401).
    let served = serde_json::to_string(&contract.doc).unwrap();
    assert!(!served.contains("bearer") && !served.contains("\"401\""));
    // With one, the document that service serves, and every route but
    // /healthz answers 401 without the token.
    let locked = setup_with(Some(TOKEN), &[ACCOUNT], true).await;
    let bearer = format!("Bearer {TOKEN}");
    let locked_doc = locked
        .call("GET", "/api/v1/openapi.json", &[("authorization", &bearer)])
        .await;
    assert_eq!(locked_doc.status, 200, "{}", locked_doc.body);
    let mut locked_contract = Contract::new(locked_doc.json());
    assert_eq!(
        locked_contract.doc["security"][0]["bearer"],
        serde_json::json!([])
    );
    for (method, template) in &operations {
        let method = method.to_uppercase();
        let url = contract.sample_url(fx, &method, template);
        let want = if template == "/healthz" { 200 } else { 401 };
        locked
            .conforms(&mut locked_contract, &method, &url, want)
            .await;
    }
    locked_contract.assert_kept();
    let idle = setup_with(None, &[ACCOUNT], false).await;
    idle.conforms(&mut contract, "GET", "/readyz", 503).await;

    contract.assert_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400s_and_unknown_ids_404s() {
    let s = setup().await;
    let elec = &s.fixture.elec;
    let bad: Vec<(String, &str)> = vec![
        (
            format!("/api/v1/readings?meter={elec}&from=2026-13-01"),
            "YYYY-MM-DD",
        ),
        (
            format!("/api/v1/readings?meter={elec}&from=28/11/2026"),
            "YYYY-MM-DD",
        ),
        (
            format!("/api/v1/readings?meter={elec}&to=2026-02-30"),
            "does not exist",
        ),
        (
            format!("/api/v1/readings?meter={elec}&from=2026-11-10&to=2026-11-01"),
            "is after to",
        ),
        (
            format!("/api/v1/readings?meter={elec}&from=2026-12-15"),
            "to defaults to 2026-11-27",
        ),
        (
            format!("/api/v1/readings?meter={elec}&granularity=week"),
            "day, month or year",
        ),
        (
            format!("/api/v1/readings?meter={elec}&from=2000-01-01&to=2026-11-27"),
            "shorter range",
        ),
        (
            format!("/api/v1/readings?meter={elec}&granularity=year&from=1800-01-01"),
            "shorter range",
        ),
        ("/api/v1/readings".into(), "meter is required"),
        (
            format!("/api/v1/peaks?meter={elec}&granularity=year"),
            "by day or by month",
        ),
        (
            format!("/api/v1/peaks?meter={elec}&from=2010-01-01&to=2026-11-27"),
            "shorter range",
        ),
        (
            format!("/api/v1/readings?meter={elec}&granularty=day"),
            "unknown parameter",
        ),
        (
            format!("/api/v1/readings?meter={elec}&from=2026-11-01&from=2026-11-02"),
            "twice",
        ),
        (
            format!("/api/v1/readings?meter={elec}&token={}", "x"),
            "Authorization",
        ),
        (
            format!("/api/v1/curve?meter={elec}&from=2026-09-01&to=2026-11-27"),
            "31 days",
        ),
        ("/api/v1/curve".into(), "meter is required"),
        (
            "/api/v1/tempo?from=2026-11-30&to=2026-11-01".into(),
            "is after to",
        ),
        ("/api/v1/temperatures".into(), "home is required"),
        ("/api/v1/runs?limit=0".into(), "from 1 to 500"),
        ("/api/v1/runs?limit=501".into(), "from 1 to 500"),
        ("/api/v1/runs?limit=ten".into(), "from 1 to 500"),
        ("/api/v1/export?format=xml".into(), "csv or json"),
        (
            "/api/v1/export?granularity=hour".into(),
            "day, month or year",
        ),
        ("/api/v1/status?verbose=1".into(), "takes no parameter"),
        ("/metrics?x=1".into(), "takes no parameter"),
    ];
    for (path, want) in &bad {
        let a = s.get(path).await;
        assert_eq!(a.status, 400, "GET {path}: {}", a.body);
        let msg = a.error();
        assert!(msg.contains(want), "GET {path}: {msg:?} lacks {want:?}");
    }

    let missing: Vec<(&str, String, &str)> = vec![
        (
            "GET",
            "/api/v1/readings?meter=00000000000000".into(),
            "no meter",
        ),
        ("GET", "/api/v1/curve?meter=nope".into(), "no meter"),
        ("GET", "/api/v1/export?meter=nope".into(), "no meter"),
        ("GET", "/api/v1/temperatures?home=nope".into(), "no home"),
        (
            "GET",
            "/api/v1/contracts?account=nobody".into(),
            "no account",
        ),
        ("GET", "/api/v1/runs?account=nobody".into(), "no account"),
        (
            "POST",
            "/api/v1/accounts/nobody/refresh".into(),
            "no account",
        ),
        ("GET", "/api/v2/status".into(), "openapi.json"),
        ("GET", "/assets/app.js.map".into(), "no asset"),
    ];
    for (method, path, want) in &missing {
        let a = s.call(method, path, &[]).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.body);
        let msg = a.error();
        assert!(
            msg.contains(want),
            "{method} {path}: {msg:?} lacks {want:?}"
        );
    }
    // The 404 lists what exists.
    let a = s.get("/api/v1/readings?meter=nope").await;
    assert!(a.error().contains(elec.as_str()));
    // A known route with the wrong method.
    let a = s.call("POST", "/api/v1/status", &[]).await;
    assert_eq!(a.status, 405, "{}", a.body);
    assert_eq!(a.header(header::ALLOW), "GET");
    a.error();
    let a = s
        .call("GET", &format!("/api/v1/accounts/{ACCOUNT}/refresh"), &[])
        .await;
    assert_eq!(a.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_enforced() {
    let s = setup_with(Some(TOKEN), &[ACCOUNT, BROKEN], true).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];

    // Liveness stays open.
    let a = s.get("/healthz").await;
    assert_eq!(a.status, 200);

    // Everything else, documented or not, needs the token.
    let mut paths: Vec<(&str, &str)> = api::ROUTES
        .iter()
        .filter(|(_, p)| *p != "/healthz")
        .map(|(m, p)| (*m, *p))
        .collect();
    paths.push(("get", "/api/v2/nothing"));
    for (method, path) in &paths {
        let path = path.replace("{name}", ACCOUNT).replace("{file}", "app.js");
        let method = method.to_uppercase();
        let a = s.call(&method, &path, &[]).await;
        assert_eq!(a.status, 401, "{method} {path} without a token");
        assert!(a.header(header::WWW_AUTHENTICATE).starts_with("Bearer"));
        assert!(a.error().contains("Authorization: Bearer"));
        let a = s
            .call(&method, &path, &[("authorization", "Bearer not-the-token")])
            .await;
        assert_eq!(a.status, 401, "{method} {path} with a wrong token");
        assert!(a.header(header::WWW_AUTHENTICATE).contains("invalid_token"));
        let a = s
            .call(
                &method,
                &path,
                &[("authorization", &format!("Basic {TOKEN}"))],
            )
            .await;
        assert_eq!(a.status, 401, "{method} {path} with another scheme");
    }
    // With the header, the routes answer (the scheme is case-insensitive).
    for path in [
        "/readyz",
        "/api/v1/status",
        "/api/v1/summary",
        "/metrics",
        "/",
        "/assets/app.js",
    ] {
        let a = s.call("GET", path, &auth).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    }
    let lower = format!("bearer {TOKEN}");
    let a = s
        .call("GET", "/api/v1/meters", &[("authorization", &lower)])
        .await;
    assert_eq!(a.status, 200);
    // (Another account than the other tests', which take their requests.)
    let a = s
        .call("POST", &format!("/api/v1/accounts/{BROKEN}/refresh"), &auth)
        .await;
    assert_eq!(a.status, 202);
    let _ = s.store().take_requests(BROKEN, now());

    // The page takes ?token= and sets a cookie for its assets; the cookie
    // holds a digest, not the token, and does not open the API.
    let page = s.get(&format!("/?token={TOKEN}&lang=en")).await;
    assert_eq!(page.status, 200);
    let cookie = page.header(header::SET_COOKIE).to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = [("cookie", pair.as_str())];
    assert_eq!(
        s.call("GET", "/assets/app.js", &with_cookie).await.status,
        200
    );
    assert_eq!(
        s.call("GET", "/assets/style.css", &with_cookie)
            .await
            .status,
        200
    );
    assert_eq!(s.call("GET", "/", &with_cookie).await.status, 200);
    assert_eq!(
        s.call("GET", "/api/v1/summary", &with_cookie).await.status,
        401
    );
    assert_eq!(s.call("GET", "/metrics", &with_cookie).await.status, 401);
    let forged = [("cookie", "hellowatt_dashboard=00")];
    assert_eq!(s.call("GET", "/assets/app.js", &forged).await.status, 401);
    // A wrong ?token= is refused; the API does not take ?token=.
    assert_eq!(s.get("/?token=nope").await.status, 401);
    assert_eq!(
        s.get(&format!("/api/v1/status?token={TOKEN}")).await.status,
        401
    );
    assert_eq!(
        s.get(&format!("/assets/app.js?token={TOKEN}")).await.status,
        401
    );
}

/// Only the names the service is reached by are answered (a foreign
/// `Host` is DNS rebinding), and a state change only from the service's
/// own pages (a foreign `Origin` is another site's page), whatever the
/// token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_names_and_pages_are_refused() {
    let s = setup_with(Some(TOKEN), &[ACCOUNT, BROKEN], true).await;
    let bearer = format!("Bearer {TOKEN}");
    let port = s.server.addr.port();
    for route in [
        "/healthz",
        "/api/v1/status",
        "/api/v1/meters",
        "/",
        "/metrics",
    ] {
        for host in [
            "evil.example".to_string(),
            format!("evil.example:{port}"),
            format!("localhost.evil.example:{port}"),
        ] {
            let a = s
                .call("GET", route, &[("host", &host), ("authorization", &bearer)])
                .await;
            assert_eq!(a.status, 421, "GET {route} as {host}: {}", a.body);
            assert!(a.error().contains("allowed_hosts"), "{}", a.error());
            assert!(
                !a.body.contains(ACCOUNT) && !a.body.contains("evil"),
                "{}",
                a.body
            );
        }
        for host in [
            format!("localhost:{port}"),
            format!("{ALLOWED_HOST}:{port}"),
            format!("127.0.0.1:{port}"),
        ] {
            let a = s
                .call("GET", route, &[("host", &host), ("authorization", &bearer)])
                .await;
            assert_eq!(a.status, 200, "GET {route} as {host}: {}", a.body);
        }
    }
    // Every state-changing route, from another site's page: refused.
    let own = format!("http://127.0.0.1:{port}");
    let changing: Vec<&str> = api::ROUTES
        .iter()
        .filter(|(m, _)| *m != "get")
        .map(|(_, p)| *p)
        .collect();
    assert!(!changing.is_empty());
    for route in changing {
        let path = route.replace("{name}", BROKEN);
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("origin", "http://127.0.0.1:1"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let a = s
                .call("POST", &path, &[("authorization", &bearer), (name, value)])
                .await;
            assert_eq!(
                a.status, 403,
                "POST {path} with {name}: {value}: {}",
                a.body
            );
            assert!(a.error().contains("another site"), "{}", a.error());
        }
        // From the service's own page, and from a client that is no
        // browser (no Origin): accepted.
        let a = s
            .call(
                "POST",
                &path,
                &[("authorization", &bearer), ("origin", &own)],
            )
            .await;
        assert_eq!(a.status, 202, "POST {path} from its own page: {}", a.body);
        let a = s.call("POST", &path, &[("authorization", &bearer)]).await;
        assert_eq!(a.status, 202, "POST {path} without Origin: {}", a.body);
    }
    let _ = s.store().take_requests(BROKEN, now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_needs_a_guest() {
    let s = setup_with(None, &[ACCOUNT], false).await;
    let a = s.get("/readyz").await;
    assert_eq!(a.status, 503, "{}", a.body);
    let msg = a.error();
    assert!(msg.contains("no guest is active"), "{msg}");
    assert_eq!(a.json()["ready"], false);
    assert_eq!(s.get("/healthz").await.status, 200);
}

// ------------------------------------------------------------- metrics

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Default)]
struct MetricFamily {
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

/// A strict parser of the Prometheus text format 0.0.4: HELP and TYPE at
/// most once per family and before its samples, samples of a family
/// together, valid names, escapes limited to `\\`, `\"` and `\n`, no
/// duplicate series, counters non-negative, histograms cumulative and
/// ending with `+Inf` equal to `_count`.
fn parse_prometheus(text: &str) -> Result<BTreeMap<String, MetricFamily>, String> {
    if !text.ends_with('\n') {
        return Err("the text must end with a newline".into());
    }
    let mut families: BTreeMap<String, MetricFamily> = BTreeMap::new();
    let mut closed: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut series = std::collections::HashSet::new();
    let open_family = |name: &str, current: &mut Option<String>, closed: &mut Vec<String>| {
        if current.as_deref() != Some(name) {
            if closed.iter().any(|c| c == name) {
                return Err(format!("family {name} is split"));
            }
            if let Some(c) = current.take() {
                closed.push(c);
            }
            *current = Some(name.to_string());
        }
        Ok(())
    };
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest
                .strip_prefix(' ')
                .ok_or(format!("line {n}: '#' without a space"))?;
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap_or("");
            if keyword != "HELP" && keyword != "TYPE" {
                continue; // a comment
            }
            let name = parts.next().ok_or(format!("line {n}: no metric name"))?;
            if !is_metric_name(name) {
                return Err(format!("line {n}: bad metric name {name:?}"));
            }
            let arg = parts
                .next()
                .ok_or(format!("line {n}: {keyword} without text"))?;
            open_family(name, &mut current, &mut closed)?;
            let fam = families.entry(name.to_string()).or_default();
            if keyword == "HELP" {
                if !fam.help.is_empty() {
                    return Err(format!("line {n}: second HELP for {name}"));
                }
                fam.help = arg.to_string();
            } else {
                if !fam.kind.is_empty() || !fam.samples.is_empty() {
                    return Err(format!(
                        "line {n}: TYPE of {name} repeated or after samples"
                    ));
                }
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                    return Err(format!("line {n}: unknown type {arg:?}"));
                }
                fam.kind = arg.to_string();
            }
            continue;
        }
        // A sample: name{labels} value [timestamp]
        let name_end = line.find(['{', ' ']).ok_or(format!("line {n}: no value"))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(format!("line {n}: bad metric name {name:?}"));
        }
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            let end = loop {
                if let Some(&(i, '}')) = chars.peek() {
                    break i + 1;
                }
                let start = chars
                    .peek()
                    .map(|(i, _)| *i)
                    .ok_or(format!("line {n}: unclosed labels"))?;
                let eq = r[start..]
                    .find('=')
                    .ok_or(format!("line {n}: label without '='"))?
                    + start;
                let lname = &r[start..eq];
                if !is_label_name(lname) {
                    return Err(format!("line {n}: bad label name {lname:?}"));
                }
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(format!("line {n}: label value not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            other => return Err(format!("line {n}: bad escape {other:?}")),
                        },
                        Some((_, '"')) => break,
                        Some((_, '\n')) | None => {
                            return Err(format!("line {n}: unterminated label value"));
                        }
                        Some((_, c)) => value.push(c),
                    }
                }
                if labels.insert(lname.to_string(), value).is_some() {
                    return Err(format!("line {n}: label {lname} repeated"));
                }
                match chars.peek() {
                    Some(&(_, ',')) => {
                        chars.next();
                    }
                    Some(&(_, '}')) => {}
                    _ => return Err(format!("line {n}: expected ',' or '}}' after a label")),
                }
            };
            rest = &r[end..];
        }
        let rest = rest
            .strip_prefix(' ')
            .ok_or(format!("line {n}: no space before the value"))?;
        let mut parts = rest.split(' ');
        let value =
            parse_value(parts.next().unwrap_or("")).map_err(|e| format!("line {n}: {e}"))?;
        if let Some(ts) = parts.next() {
            ts.parse::<i64>()
                .map_err(|_| format!("line {n}: bad timestamp {ts:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("line {n}: trailing text"));
        }
        // Which family: the name itself, or a histogram's or summary's part.
        let family = if families.contains_key(name) {
            name.to_string()
        } else {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    let kind = families.get(base).map(|f| f.kind.as_str());
                    (kind == Some("histogram") || (kind == Some("summary") && *suffix != "_bucket"))
                        .then(|| base.to_string())
                })
                .ok_or(format!("line {n}: sample {name} without a TYPE"))?
        };
        open_family(&family, &mut current, &mut closed)?;
        let fam = families.get_mut(&family).expect("known family");
        if fam.kind.is_empty() {
            return Err(format!("line {n}: sample of {family} before its TYPE"));
        }
        if fam.kind == "counter" && (value.is_nan() || value < 0.0) {
            return Err(format!("line {n}: negative counter"));
        }
        if !series.insert(format!("{name}{labels:?}")) {
            return Err(format!("line {n}: duplicate series {name}{labels:?}"));
        }
        fam.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    for (name, fam) in &families {
        if fam.kind.is_empty() {
            return Err(format!("{name} has no TYPE"));
        }
        if fam.kind != "histogram" {
            continue;
        }
        let mut groups: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
        for s in &fam.samples {
            let mut key = s.labels.clone();
            key.remove("le");
            groups.entry(format!("{key:?}")).or_default().push(s);
        }
        for (key, samples) in groups {
            let buckets: Vec<(f64, f64)> = samples
                .iter()
                .filter(|s| s.name.ends_with("_bucket"))
                .map(|s| {
                    let le = s
                        .labels
                        .get("le")
                        .ok_or(format!("{name}{key}: bucket without le"))?;
                    Ok((parse_value(le)?, s.value))
                })
                .collect::<Result<_, String>>()?;
            if buckets.last().map(|b| b.0) != Some(f64::INFINITY) {
                return Err(format!("{name}{key}: no +Inf bucket last"));
            }
            if buckets
                .windows(2)
                .any(|w| !(w[0].0 < w[1].0 && w[0].1 <= w[1].1))
            {
                return Err(format!("{name}{key}: buckets not cumulative"));
            }
            let count = samples
                .iter()
                .find(|s| s.name.ends_with("_count"))
                .ok_or(format!("{name}{key}: no _count"))?;
            if samples.iter().all(|s| !s.name.ends_with("_sum")) {
                return Err(format!("{name}{key}: no _sum"));
            }
            if buckets.last().map(|b| b.1) != Some(count.value) {
                return Err(format!("{name}{key}: +Inf bucket differs from _count"));
            }
        }
    }
    Ok(families)
}

fn value_of(families: &BTreeMap<String, MetricFamily>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let family = families
        .iter()
        .find(|(f, _)| name.starts_with(f.as_str()))
        .map(|(_, fam)| fam)
        .unwrap_or_else(|| panic!("no family for {name}"));
    family
        .samples
        .iter()
        .find(|s| {
            s.name == name
                && labels.len() == s.labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
        .value
}

#[test]
fn the_parser_is_strict() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n";
    let f = parse_prometheus(ok).unwrap();
    assert_eq!(f["a_total"].samples[0].labels["x"], "q\"\\\n");
    for bad in [
        "a 1\n",                                      // no TYPE
        "# TYPE a gauge\na 1",                        // no final newline
        "# TYPE a gauge\na{x=\"1} 1\n",               // unterminated
        "# TYPE a gauge\na{x=\"\\t\"} 1\n",           // bad escape
        "# TYPE a gauge\na{x=1} 1\n",                 // unquoted
        "# TYPE a gauge\na 1\na 2\n",                 // duplicate
        "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n", // split
        "# TYPE a counter\na -1\n",                   // negative counter
        "# TYPE a gauge\na one\n",                    // value
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    ] {
        assert!(parse_prometheus(bad).is_err(), "accepted {bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_a_strict_parser() {
    let weird = "we\"ird\\name";
    let s = setup_with(None, &[ACCOUNT, BROKEN, weird], true).await;
    s.metrics
        .record_run(ACCOUNT, Duration::from_millis(2500), 40, true);
    s.metrics
        .record_run(ACCOUNT, Duration::from_secs(90), 7, false);
    let a = s.get("/metrics").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header(header::CONTENT_TYPE),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let families = parse_prometheus(&a.body).unwrap_or_else(|e| panic!("{e}\n{}", a.body));
    for (name, kind) in [
        ("hellowatt_last_success_timestamp_seconds", "gauge"),
        ("hellowatt_consecutive_failures", "gauge"),
        ("hellowatt_breaker_open", "gauge"),
        ("hellowatt_days_missing", "gauge"),
        ("hellowatt_sync_duration_seconds", "histogram"),
        ("hellowatt_site_requests_total", "counter"),
        ("hellowatt_runs_total", "counter"),
        ("hellowatt_guest_info", "gauge"),
        ("hellowatt_guest_swaps_total", "counter"),
        ("hellowatt_guest_refusals_total", "counter"),
        ("hellowatt_tempo_days_used", "gauge"),
        ("hellowatt_tempo_days_remaining", "gauge"),
        ("hellowatt_tempo_disagreements", "gauge"),
        ("hellowatt_ecowatt_level", "gauge"),
        ("hellowatt_ecowatt_hour_level", "gauge"),
    ] {
        let fam = families.get(name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(fam.kind, kind, "{name}");
        assert!(!fam.help.is_empty(), "{name} has no HELP");
    }
    let fx = s.fixture;
    assert_eq!(
        value_of(
            &families,
            "hellowatt_last_success_timestamp_seconds",
            &[("account", ACCOUNT)]
        ),
        fx.last_success as f64
    );
    // No last success: no sample rather than a zero.
    assert!(
        families["hellowatt_last_success_timestamp_seconds"]
            .samples
            .iter()
            .all(|s| s.labels["account"] == ACCOUNT)
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_consecutive_failures",
            &[("account", BROKEN)]
        ),
        3.0
    );
    assert_eq!(
        value_of(&families, "hellowatt_breaker_open", &[("account", BROKEN)]),
        1.0
    );
    assert_eq!(
        value_of(&families, "hellowatt_breaker_open", &[("account", ACCOUNT)]),
        0.0
    );
    // The escaped label value comes back whole.
    assert_eq!(
        value_of(
            &families,
            "hellowatt_consecutive_failures",
            &[("account", weird)]
        ),
        0.0
    );
    // The demo has every day: nothing missing on either meter.
    for (meter, energy) in [(&fx.elec, "electricity"), (&fx.gas, "gas")] {
        assert_eq!(
            value_of(
                &families,
                "hellowatt_days_missing",
                &[("meter", meter), ("energy", energy)]
            ),
            0.0
        );
    }
    let acc = [("account", ACCOUNT)];
    assert_eq!(
        value_of(&families, "hellowatt_sync_duration_seconds_count", &acc),
        2.0
    );
    assert!((value_of(&families, "hellowatt_sync_duration_seconds_sum", &acc) - 92.5).abs() < 1e-9);
    assert_eq!(
        value_of(
            &families,
            "hellowatt_sync_duration_seconds_bucket",
            &[("account", ACCOUNT), ("le", "5")]
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_sync_duration_seconds_bucket",
            &[("account", ACCOUNT), ("le", "120")]
        ),
        2.0
    );
    assert_eq!(
        value_of(&families, "hellowatt_site_requests_total", &acc),
        47.0
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_runs_total",
            &[("account", ACCOUNT), ("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_runs_total",
            &[("account", ACCOUNT), ("outcome", "failure")]
        ),
        1.0
    );
    // EcoWatt: today's and tomorrow's levels and the hour holding the
    // service's now, each the store's.
    let days = Store::open(&fx.db)
        .unwrap()
        .ecowatt(today(), today().add_days(1))
        .unwrap();
    assert_eq!(days.len(), 2, "the fixture stores today and tomorrow");
    for (day, stored) in ["today", "tomorrow"].into_iter().zip(&days) {
        let level = stored.level.expect("the fixture gives both days a level");
        assert_eq!(
            value_of(&families, "hellowatt_ecowatt_level", &[("day", day)]),
            f64::from(level),
            "{day}"
        );
    }
    let hour = days[0]
        .hours
        .iter()
        .find(|h| (h.start..h.start + 3600).contains(&now()))
        .expect("the fixture stores every hour of today");
    assert_eq!(
        value_of(&families, "hellowatt_ecowatt_hour_level", &[]),
        f64::from(hour.level)
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_guest_info",
            &[
                ("name", &fx.guest.name),
                ("version", &fx.guest.version),
                ("sha256", &fx.guest.sha256)
            ]
        ),
        1.0
    );
    // The Tempo counters are the store's outlook.
    let outlook = s.store().tempo_outlook(today()).unwrap();
    for c in [TempoColour::Blue, TempoColour::White, TempoColour::Red] {
        let n = outlook.season.colours.get(c);
        let label = [("colour", c.as_str())];
        assert_eq!(
            value_of(&families, "hellowatt_tempo_days_used", &label),
            f64::from(n.used)
        );
        assert_eq!(
            value_of(&families, "hellowatt_tempo_days_remaining", &label),
            f64::from(n.remaining)
        );
    }
    assert_eq!(
        value_of(&families, "hellowatt_tempo_disagreements", &[]),
        0.0
    );
    assert_eq!(value_of(&families, "hellowatt_guest_swaps_total", &[]), 2.0);
    assert_eq!(
        value_of(&families, "hellowatt_guest_refusals_total", &[]),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_day_is_counted_and_shown_as_missing() {
    // A store of its own: two days stored, one between them absent.
    let fx = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gap.db");
    let mut store = Store::open(&db).unwrap();
    let source = Store::open(&fx.db).unwrap();
    let identity = GuestIdentity {
        name: "test".into(),
        version: "1".into(),
        sha256: "11".repeat(32),
    };
    let run = store
        .begin_run(ACCOUNT, &identity, d("2026-11-01"), d("2026-11-03"), now())
        .unwrap();
    let home = {
        let meters = source.meters(None).unwrap();
        let m = meters.iter().find(|m| m.meter_id == fx.elec).unwrap();
        hellowatt_snapshot::Home {
            id: m.home_id.clone(),
            address: m.address.clone(),
            postal_code: m.postal_code.clone(),
            city: m.city.clone(),
            meters: vec![hellowatt_snapshot::Meter {
                id: fx.elec.clone(),
                energy: Energy::Electricity,
            }],
        }
    };
    let daily: Vec<_> = source
        .daily(&fx.elec, d("2026-11-01"), d("2026-11-03"))
        .unwrap()
        .into_iter()
        .map(|r| r.reading)
        .filter(|r| r.date != d("2026-11-02"))
        .collect();
    let snapshot = Snapshot {
        homes: vec![home],
        daily,
        ..Default::default()
    };
    let stats = store.ingest(run, ACCOUNT, &snapshot, now()).unwrap();
    store
        .finish_run(run, &RunOutcome::Success, &stats, 3, now())
        .unwrap();
    let s = setup_on(store, fx).await;
    let a = s.get("/metrics").await;
    let families = parse_prometheus(&a.body).unwrap();
    assert_eq!(
        value_of(
            &families,
            "hellowatt_days_missing",
            &[("meter", &fx.elec), ("energy", "electricity")]
        ),
        1.0
    );
    let r = s
        .ok(&format!(
            "/api/v1/readings?meter={}&from=2026-11-01&to=2026-11-03",
            fx.elec
        ))
        .await;
    let rows = r["rows"].as_array().unwrap();
    assert!(rows[1]["kwh"].is_null() && rows[1]["eur"].is_null());
    assert_eq!(rows[1]["periods"], serde_json::json!([]));
    assert_eq!(rows[1]["stored_days"], 0);
    let m = s
        .ok(&format!(
            "/api/v1/readings?meter={}&granularity=month&from=2026-11-01&to=2026-11-03",
            fx.elec
        ))
        .await;
    assert_eq!(
        (
            m["rows"][0]["value_count"].as_u64(),
            m["rows"][0]["day_count"].as_u64()
        ),
        (Some(2), Some(3))
    );
    assert!(approx(
        f(&m["rows"][0]["kwh"]),
        Some(f(&rows[0]["kwh"]).unwrap() + f(&rows[2]["kwh"]).unwrap())
    ));
}

/// The season's colours counted here, independently of the store's
/// outlook: the service's colour, else the meter's tariff keys' (the demo
/// has one electricity meter).
fn count_colours(days: &[TempoDay], from: Date, to: Date) -> BTreeMap<&'static str, u32> {
    let mut by_day: BTreeMap<Date, (Option<TempoColour>, Option<TempoColour>)> = BTreeMap::new();
    for t in days.iter().filter(|t| t.date >= from && t.date <= to) {
        let e = by_day.entry(t.date).or_default();
        match t.source {
            TempoSource::Service => e.0 = e.0.or(t.colour),
            TempoSource::TariffKeys => e.1 = e.1.or(t.colour),
        }
    }
    let mut out = BTreeMap::new();
    for (service, keys) in by_day.values() {
        if let Some(c) = service.or(*keys) {
            *out.entry(c.as_str()).or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tempo_outlook_is_the_stores() {
    let s = setup().await;
    let store = s.store();
    let o = s.ok("/api/v1/tempo/outlook").await;
    assert_eq!(o["generated_at"], paris_iso(now()));
    let mut want = serde_json::to_value(store.tempo_outlook(today()).unwrap()).unwrap();
    want["generated_at"] = o["generated_at"].clone();
    assert_eq!(o, want);
    // The fixture's service: today white, tomorrow not announced.
    assert_eq!(
        o["today"],
        serde_json::json!({"date": TODAY, "colour": "white", "source": "service"})
    );
    assert_eq!(
        o["tomorrow"],
        serde_json::json!({"date": "2026-11-29", "colour": null, "source": null})
    );
    let season = &o["season"];
    assert_eq!(season["start"], "2026-09-01");
    assert_eq!(season["end"], "2027-08-31");
    assert_eq!(season["days"], 365);
    assert_eq!(season["counted_to"], "2026-11-29");
    let counted = count_colours(
        &store.tempo_days(d("2026-09-01"), d("2026-11-29")).unwrap(),
        d("2026-09-01"),
        d("2026-11-29"),
    );
    let mut known = 0;
    for (colour, quota) in [("blue", 300), ("white", 43), ("red", 22)] {
        let c = &season["colours"][colour];
        let used = counted.get(colour).copied().unwrap_or(0);
        known += used;
        assert_eq!(c["quota"], quota, "{colour}");
        assert_eq!(c["used"], used, "{colour}");
        assert_eq!(c["remaining"], quota - used.min(quota), "{colour}");
        assert_eq!(c["over_quota"], used.saturating_sub(quota), "{colour}");
    }
    assert!(
        known > 80,
        "the demo's tariff keys give the season's past days"
    );
    // 90 days from 1 September to 29 November.
    assert_eq!(season["unknown_days"], 90 - known);
    assert_eq!(o["disagreements"], serde_json::json!([]));
    // The summary shows the same today and tomorrow.
    let sm = s.ok("/api/v1/summary").await;
    assert_eq!(sm["tempo"]["today"], "white");
    assert_eq!(sm["tempo"]["source"], "service");
    assert!(sm["tempo"]["tomorrow"].is_null() && sm["tempo"]["tomorrow_source"].is_null());
    assert_eq!(sm["tempo"]["disagreements"], 0);
    let a = s.get("/api/v1/tempo/outlook?from=2026-11-01").await;
    assert_eq!(a.status, 400);
    assert!(a.error().contains("from"));
}

/// A store of its own: the service and the meter's tariff keys differ on
/// 20 November; the service gives today; tomorrow is not announced. Keep
/// the folder as long as the store.
fn disagreeing_store(fx: &Fixture) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tempo.db");
    let mut store = Store::open(&db).unwrap();
    let identity = GuestIdentity {
        name: "test".into(),
        version: "1".into(),
        sha256: "22".repeat(32),
    };
    let run = store
        .begin_run(ACCOUNT, &identity, d("2026-11-20"), d("2026-11-29"), now())
        .unwrap();
    let day = |date: &str, colour, source, meter_id: Option<&str>| TempoDay {
        date: d(date),
        colour: Some(colour),
        source,
        meter_id: meter_id.map(str::to_owned),
    };
    let snapshot = Snapshot {
        homes: vec![hellowatt_snapshot::Home {
            id: fx.home.clone(),
            address: None,
            postal_code: None,
            city: None,
            meters: vec![hellowatt_snapshot::Meter {
                id: fx.elec.clone(),
                energy: Energy::Electricity,
            }],
        }],
        tempo_days: vec![
            day("2026-11-20", TempoColour::Red, TempoSource::Service, None),
            day(
                "2026-11-20",
                TempoColour::White,
                TempoSource::TariffKeys,
                Some(&fx.elec),
            ),
            day(
                "2026-11-21",
                TempoColour::White,
                TempoSource::TariffKeys,
                Some(&fx.elec),
            ),
            day(TODAY, TempoColour::Blue, TempoSource::Service, None),
        ],
        ..Default::default()
    };
    let stats = store.ingest(run, ACCOUNT, &snapshot, now()).unwrap();
    store
        .finish_run(run, &RunOutcome::Success, &stats, 1, now())
        .unwrap();
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tempo_disagreements_are_listed_and_counted() {
    let fx = fixture().await;
    let (_dir, store) = disagreeing_store(fx);
    let s = setup_on(store, fx).await;
    let o = s.ok("/api/v1/tempo/outlook").await;
    assert_eq!(
        o["disagreements"],
        serde_json::json!([{"date": "2026-11-20", "service": "red", "tariff": "white",
                            "meter_id": fx.elec}])
    );
    let colours = &o["season"]["colours"];
    // The service's red is the one counted; the tariff keys' white counts
    // where the service says nothing.
    assert_eq!(colours["red"]["used"], 1);
    assert_eq!(colours["red"]["remaining"], 21);
    assert_eq!(colours["white"]["used"], 1);
    assert_eq!(colours["blue"]["used"], 1);
    assert_eq!(o["today"]["source"], "service");
    assert!(o["tomorrow"]["colour"].is_null());
    let sm = s.ok("/api/v1/summary").await;
    assert_eq!(sm["tempo"]["today"], "blue");
    assert_eq!(sm["tempo"]["disagreements"], 1);
    let families = parse_prometheus(&s.get("/metrics").await.body).unwrap();
    assert_eq!(
        value_of(&families, "hellowatt_tempo_disagreements", &[]),
        1.0
    );
    assert_eq!(
        value_of(
            &families,
            "hellowatt_tempo_days_remaining",
            &[("colour", "red")]
        ),
        21.0
    );
    // A meter's day in the readings follows the same rule: the service's.
    let r = s
        .ok(&format!(
            "/api/v1/readings?meter={}&from=2026-11-20&to=2026-11-21",
            fx.elec
        ))
        .await;
    assert_eq!(r["rows"][0]["tempo"], "red");
    assert_eq!(r["rows"][1]["tempo"], "white");
}

/// A data answer is served again from the cache until another connection
/// commits (a sync): then it is computed anew and shows the new data.
#[tokio::test]
async fn answers_are_cached_until_the_data_changes() {
    let fx = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    std::fs::copy(&fx.db, &db).unwrap();
    let s = setup_on(Store::open(&db).unwrap(), fx).await;
    let path = format!(
        "/api/v1/readings?meter={}&from=2026-11-01&to=2026-11-02",
        fx.elec
    );
    let first = s.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.headers.get("x-cache").is_none());
    let second = s.get(&path).await;
    assert_eq!(
        second.header(header::HeaderName::from_static("x-cache")),
        "hit"
    );
    assert_eq!(second.body, first.body);
    assert_eq!(
        second.header(header::CONTENT_TYPE),
        first.header(header::CONTENT_TYPE)
    );
    // Status and metrics are never cached (the service's state).
    s.get("/api/v1/status").await;
    assert!(
        s.get("/api/v1/status")
            .await
            .headers
            .get("x-cache")
            .is_none()
    );

    // A sync commits through another connection: a changed kWh.
    let mut writer = Store::open(&db).unwrap();
    let mut reading = writer
        .daily(&fx.elec, d("2026-11-01"), d("2026-11-01"))
        .unwrap()
        .remove(0)
        .reading;
    reading.amounts.kwh = Some(123.456);
    reading.periods.clear();
    let identity = GuestIdentity {
        name: "test".into(),
        version: "1".into(),
        sha256: "22".repeat(32),
    };
    let run = writer
        .begin_run(ACCOUNT, &identity, d("2026-11-01"), d("2026-11-01"), now())
        .unwrap();
    writer
        .ingest(
            run,
            ACCOUNT,
            &Snapshot {
                daily: vec![reading],
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let third = s.get(&path).await;
    assert!(third.headers.get("x-cache").is_none(), "the data changed");
    assert!(third.body.contains("123.456"), "{}", third.body);
}

/// EcoWatt days as the store holds them: each day's level and hours (the
/// 25-hour day's 25), by default today and the three days after, in the
/// shape the document gives; a day not published is absent.
#[tokio::test]
async fn ecowatt_days_as_stored() {
    use hellowatt_snapshot::{DataKind, EcoWattDay, EcoWattHour, Window, WindowStatus};
    let fx = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ecowatt.db");
    std::fs::copy(&fx.db, &db).unwrap();
    let mut store = Store::open(&db).unwrap();
    let day = |date: Date, level: u8| EcoWattDay {
        date,
        level: Some(level),
        hours: (0..date.paris_day_hours())
            .map(|h| EcoWattHour {
                start: date.paris_midnight_utc() + h * 3600,
                level: if h == 19 { level } else { 1 },
            })
            .collect(),
        generated_at: Some(date.paris_midnight_utc() - 3600),
    };
    let days: Vec<EcoWattDay> = [("2026-10-25", 2), ("2026-11-28", 3), ("2026-11-29", 1)]
        .iter()
        .map(|(date, level)| day(d(date), *level))
        .collect();
    let identity = GuestIdentity {
        name: "ecowatt".into(),
        version: "1".into(),
        sha256: "33".repeat(32),
    };
    let run = store
        .begin_run(ACCOUNT, &identity, d("2026-10-25"), d("2026-12-01"), now())
        .unwrap();
    let snapshot = Snapshot {
        ecowatt: days.clone(),
        windows: vec![Window {
            subject: "ecowatt".into(),
            kind: DataKind::Ecowatt,
            start: d("2026-11-28"),
            end: d("2026-12-01"),
            status: WindowStatus::Complete,
        }],
        ..Default::default()
    };
    store.ingest(run, ACCOUNT, &snapshot, now()).unwrap();
    let s = setup_on(store, fx).await;

    let mut contract = Contract::new(s.ok("/api/v1/openapi.json").await);
    s.conforms(&mut contract, "GET", "/api/v1/ecowatt", 200)
        .await;
    let r = s.ok("/api/v1/ecowatt").await;
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some(TODAY), Some("2026-12-01"))
    );
    let shown = r["days"].as_array().unwrap();
    assert_eq!(
        shown.len(),
        2,
        "today and tomorrow published, not the next two"
    );
    for (row, want) in shown.iter().zip(&days[1..]) {
        assert_eq!(row["date"], want.date.to_string());
        assert_eq!(row["level"], want.level.unwrap());
        assert_eq!(row["generated_at"], paris_iso(want.generated_at.unwrap()));
        let hours = row["hours"].as_array().unwrap();
        assert_eq!(hours.len(), want.hours.len());
        for (h, w) in hours.iter().zip(&want.hours) {
            assert_eq!(h["start_utc"], w.start);
            assert_eq!(h["start"], paris_iso(w.start));
            assert_eq!(h["level"], w.level);
        }
    }
    let url = "/api/v1/ecowatt?from=2026-10-25&to=2026-10-25";
    s.conforms(&mut contract, "GET", url, 200).await;
    let r = s.ok(url).await;
    assert_eq!(r["days"][0]["hours"].as_array().unwrap().len(), 25);
    assert_eq!(
        r["days"][0]["hours"][24]["start"],
        "2026-10-25T23:00:00+01:00"
    );
    let bad = s.get("/api/v1/ecowatt?from=2026-12-02&to=2026-11-28").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
