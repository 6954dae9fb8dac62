//! The guest's flow, run natively over the cassettes of `fixtures/`.
//!
//! Every scenario under `fixtures/scenarios/` is replayed with header
//! checks on (as the host's `guest check` does) and its outcome compared
//! with its golden file. Hand-made cassettes, written to a temporary
//! folder in the same on-disk format, cover the flow too (so the test is
//! meaningful before and beside the shared scenarios).

use hellowatt_fixtures::{Scenario, load_scenario, load_scenarios, scenarios_dir};
use hellowatt_guest::HelloWatt;
use hellowatt_guest::api::{self, SyncRequest};
use hellowatt_guest::logging::{Collect, Level};
use hellowatt_guest::transport::{Request, Response, Transport};
use hellowatt_guest_kit::Scraper;
use hellowatt_guest_kit::testing::{Replayer, assert_scenarios};
use hellowatt_snapshot::{Outcome, SyncError, diff_outcomes};
use std::path::{Path, PathBuf};

const ORIGIN: &str = "https://www.hellowatt.fr";

/// A `Transport` answering from a cassette (the shared `Replayer`), which
/// counts the requests sent.
struct ReplayTransport {
    replayer: Replayer,
    sent: usize,
}

impl ReplayTransport {
    fn new(s: &Scenario) -> ReplayTransport {
        ReplayTransport {
            replayer: Replayer::for_scenario(s, ORIGIN),
            sent: 0,
        }
    }
}

impl Transport for ReplayTransport {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        self.sent += 1;
        self.replayer.send(req)
    }
}

struct Run {
    outcome: Outcome,
    logs: Vec<(Level, String)>,
    refusals: Vec<String>,
    /// What the cassette recorded that the flow never asked.
    unused: Option<String>,
}

fn sync_request(s: &Scenario) -> SyncRequest {
    SyncRequest {
        base_url: ORIGIN.to_string(),
        login: s.request.login.clone(),
        password_placeholder: hellowatt_guest_kit::testing::PLACEHOLDER.to_string(),
        start: s.request.start,
        end: s.request.end,
        kinds: s.request.kinds.clone(),
    }
}

fn run(s: &Scenario) -> Run {
    let mut t = ReplayTransport::new(s);
    let mut session = None;
    let mut log = Collect::default();
    let result = api::sync(&mut t, &mut session, &sync_request(s), &mut log);
    Run {
        outcome: Outcome::from_result(result),
        logs: log.0,
        unused: t.replayer.unused_problem(),
        refusals: t.replayer.refusals,
    }
}

/// Runs one scenario; returns what is wrong with it, if anything.
fn check(s: &Scenario) -> Vec<String> {
    let r = run(s);
    let mut problems: Vec<String> = diff_outcomes(&s.golden, &r.outcome)
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    let json = serde_json::to_string(&r.outcome).unwrap_or_default();
    let password = &s.request.password;
    if !password.is_empty() && json.contains(password.as_str()) {
        problems.push("the password appears in the outcome".into());
    }
    for (_, m) in &r.logs {
        if !password.is_empty() && m.contains(password.as_str()) {
            problems.push("the password appears in a log message".into());
        }
        if m.contains(s.request.login.as_str()) {
            problems.push("the login appears in a log message".into());
        }
    }
    problems.extend(r.unused);
    if !problems.is_empty() {
        // The whole outcome only on demand: it can be long.
        if std::env::var_os("HELLOWATT_SHOW_GOT").is_some() {
            problems.push(format!("got: {json}"));
        }
        for refusal in &r.refusals {
            problems.push(format!("replay refused: {refusal}"));
        }
    }
    problems
}

#[test]
fn every_shared_scenario_matches_its_golden() {
    let dir = scenarios_dir();
    assert!(
        dir.is_dir(),
        "the shared scenarios are missing at {}: run `python3 fixtures/generate.py`",
        dir.display()
    );
    let scenarios = load_scenarios(&dir).unwrap_or_else(|e| panic!("loading the scenarios: {e}"));
    assert_scenarios("shared", &scenarios, check);
}

// ------------------------------------------------------ hand-made cassettes

/// A scenario folder in the temporary directory, removed on drop. With
/// `HELLOWATT_KEEP_HANDMADE=DIR` the folders are written under DIR and
/// kept (to replay them through a wasm build: `hellowatt guest check FILE
/// --fixtures DIR`).
struct TempScenario(PathBuf, bool);

impl Drop for TempScenario {
    fn drop(&mut self) {
        if !self.1 {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Writes a hand-made scenario of these exchanges and checks the guest
/// against its golden; returns it for more checks.
fn assert_hand_made(
    name: &str,
    meta: &str,
    exchanges: &[(String, String)],
    golden: &str,
) -> (TempScenario, Scenario) {
    let ex: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (g, s) = write_scenario(name, meta, &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    (g, s)
}

fn write_scenario(
    name: &str,
    meta: &str,
    exchanges: &[(&str, &str)],
    golden: &str,
) -> (TempScenario, Scenario) {
    let keep = std::env::var_os("HELLOWATT_KEEP_HANDMADE").map(PathBuf::from);
    let dir = match &keep {
        Some(root) => root.join(format!("handmade-{name}")),
        None => std::env::temp_dir().join(format!("hellowatt-guest-{}-{name}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let guard = TempScenario(dir.clone(), keep.is_some());
    std::fs::write(dir.join("scenario.json"), meta).unwrap();
    std::fs::write(dir.join("golden.json"), golden).unwrap();
    for (i, (req, resp)) in exchanges.iter().enumerate() {
        std::fs::write(dir.join(format!("{:03}-request.http", i + 1)), req).unwrap();
        std::fs::write(dir.join(format!("{:03}-response.http", i + 1)), resp).unwrap();
    }
    let s = load_scenario(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
    (guard, s)
}

const LOGIN_PAGE_REQ: &str = "GET /accounts/login/ HTTP/1.1\n\n";

fn login_page(csrf: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\n\
         Set-Cookie: csrftoken={csrf}; expires=Sat, 27 Nov 2027 10:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax\n\n\
         <!DOCTYPE html><html><head><title>Connexion</title></head><body>\
         <form method=\"post\" action=\"/accounts/login/\">\
         <input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"form-{csrf}\">\
         <input name=\"login\"><input name=\"password\" type=\"password\"></form></body></html>"
    )
}

fn login_post(csrf: &str, password_enc: &str) -> String {
    format!(
        "POST /accounts/login/ HTTP/1.1\nContent-Type: application/x-www-form-urlencoded\n\
         X-CSRFToken: {csrf}\nX-Requested-With: XMLHttpRequest\n\
         Referer: https://www.hellowatt.fr/accounts/login/\nOrigin: https://www.hellowatt.fr\n\
         Cookie: csrftoken={csrf}\n\n\
         login=jeanne.martin%40example.org&password={password_enc}&csrfmiddlewaretoken=form-{csrf}"
    )
}

fn login_ok(new_csrf: &str, session: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\nContent-Type: application/json\n\
         Set-Cookie: csrftoken={new_csrf}; Max-Age=31449600; Path=/\n\
         Set-Cookie: sessionid={session}; HttpOnly; Max-Age=1209600; Path=/\n\n\
         {{\"location\": \"/login/redirect/\"}}"
    )
}

fn api_req(path_query: &str, csrf: &str, session: &str) -> String {
    format!(
        "GET {path_query} HTTP/1.1\nAccept: application/json; version=1.48\n\
         X-Requested-With: XMLHttpRequest\nX-CSRFToken: {csrf}\n\
         Referer: https://www.hellowatt.fr/mon-compte/\nCookie: csrftoken={csrf}; sessionid={session}\n\n"
    )
}

fn json_resp(status: u16, body: &str) -> String {
    format!("HTTP/1.1 {status} X\nContent-Type: application/json\n\n{body}")
}

const PASSWORD: &str = "Tr3s-S3cret+Mot de passe!";
const PASSWORD_ENC: &str = "Tr3s-S3cret%2BMot+de+passe%21";

#[test]
fn hand_made_flow_with_dst_relogin_tempo_and_no_gas() {
    let meta = format!(
        r#"{{"description": "hand-made: March/April 2026 across the DST change",
            "login": "jeanne.martin@example.org", "password": "{PASSWORD}",
            "start": "2026-03-28", "end": "2026-04-01",
            "kinds": ["homes", "electricity-daily", "electricity-curve", "gas-daily", "temperature", "tempo"]}}"#
    );
    let march =
        "startDate=2026-03-28T00%3A00%3A00%2B01%3A00&endDate=2026-04-01T00%3A00%3A00%2B02%3A00";
    let april =
        "startDate=2026-04-01T00%3A00%3A00%2B02%3A00&endDate=2026-04-02T00%3A00%3A00%2B02%3A00";
    // The temperatures: one request for the whole asked range.
    let whole =
        "startDate=2026-03-28T00%3A00%3A00%2B01%3A00&endDate=2026-04-02T00%3A00%3A00%2B02%3A00";
    let h = "/api/homes/123456";
    let daily_march = r#"{"values": [
        {"datetime": "2026-03-27T00:00:00+01:00", "kwhDetailed": {"Tempo-blue-HP": 1.0}},
        {"datetime": "2026-03-28T00:00:00+01:00",
         "kwhDetailed": {"Tempo-blue-HC": 4.0, "Tempo-blue-HP": 6.0},
         "eurosDetailed": {"Tempo-blue-HC": 0.5, "Tempo-blue-HP": 1.0, "subscription": 0.45},
         "valueCo2": 0.3},
        {"datetime": "2026-03-29T00:00:00+01:00",
         "kwhDetailed": {"Tempo-blue-HC": 2.0, "Tempo-white-HC": 1.0, "Tempo-white-HP": null},
         "eurosDetailed": {"Tempo-blue-HC": null, "Tempo-white-HC": 0.2, "subscription": 0.45}},
        {"datetime": "2026-03-30T00:00:00+02:00", "kwhDetailed": {"Tempo-red-HC": 2.0}},
        {"datetime": "2026-03-31T00:00:00+02:00", "kwhDetailed": {"Tempo-red-HP": null}, "eurosDetailed": {}}
    ], "isFetchOngoing": false}"#;
    let curve_march = r#"{"values": [
        {"datetime": "2026-03-29T01:30:00+01:00", "kwhDetailed": {"Base": 0.25}, "measureTimeGap": 30},
        {"datetime": "2026-03-29T03:00:00+02:00", "kwhDetailed": {"Base": null}, "measureTimeGap": 30}
    ]}"#;
    let daily_april = r#"{"values": [], "isFetchOngoing": true}"#;
    let curve_april = r#"{"values": [], "error": {"identifier": "enedis_unavailable", "message": "Enedis ne répond pas"}}"#;
    let temps = r#"{"values": [
        {"datetime": "2026-03-27T00:00:00+01:00", "valueCelsius": 9.0},
        {"datetime": "2026-03-28T00:00:00+01:00", "valueCelsius": 10.5},
        {"datetime": "2026-04-01T00:00:00+02:00", "valueCelsius": null}
    ]}"#;
    let homes = r#"[{"id": 123456, "address": "12 rue des Exemples", "area": {"postalCode": "69001", "name": "Lyon"},
                     "enedisHome": {"pdl": "01234567890123"}, "grdfHome": null}]"#;
    let contracts = r#"[{"energyType": "electricity", "contractState": "actual",
                         "provider": {"name": "EDF"}, "offer": {"name": "Tempo"}}]"#;
    let expired = r#"{"detail": "Authentication credentials were not provided."}"#;
    let exchanges: Vec<(String, String)> = vec![
        (LOGIN_PAGE_REQ.into(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (
            api_req(&format!("{h}/contracts"), "c2", "s1"),
            json_resp(200, contracts),
        ),
        // The session expires: log in again once, repeat the call.
        (
            api_req(&format!("{h}/sge_measures/conso_daily?{march}"), "c2", "s1"),
            json_resp(401, expired),
        ),
        (LOGIN_PAGE_REQ.into(), login_page("c3")),
        (login_post("c3", PASSWORD_ENC), login_ok("c4", "s2")),
        (
            api_req(&format!("{h}/sge_measures/conso_daily?{march}"), "c4", "s2"),
            json_resp(200, daily_march),
        ),
        (
            api_req(&format!("{h}/sge_measures/courbe?{march}"), "c4", "s2"),
            json_resp(200, curve_march),
        ),
        (
            api_req(
                &format!("{h}/adict_measures/conso_daily?{march}"),
                "c4",
                "s2",
            ),
            json_resp(500, "{}"),
        ),
        (
            api_req(&format!("{h}/sge_measures/conso_daily?{april}"), "c4", "s2"),
            json_resp(200, daily_april),
        ),
        (
            api_req(&format!("{h}/sge_measures/courbe?{april}"), "c4", "s2"),
            json_resp(200, curve_april),
        ),
        (
            api_req(
                &format!("{h}/temperature_measures/yearly?{whole}"),
                "c4",
                "s2",
            ),
            json_resp(200, temps),
        ),
    ];
    let golden = r#"{"snapshot": {
      "homes": [{"id": "123456", "address": "12 rue des Exemples", "postal_code": "69001", "city": "Lyon",
                 "meters": [{"id": "01234567890123", "energy": "electricity"}]}],
      "contracts": [{"home_id": "123456", "energy": "electricity", "provider": "EDF", "offer": "Tempo",
                     "state": "actual", "active": true}],
      "daily": [
        {"meter_id": "01234567890123", "date": "2026-03-28",
         "periods": [{"period": "Tempo-blue-HC", "kwh": 4.0, "eur": 0.5}, {"period": "Tempo-blue-HP", "kwh": 6.0, "eur": 1.0}],
         "kwh": 10.0, "eur": 1.5, "subscription_eur": 0.45, "co2_kg": 0.3,
         "solar_production_kwh": null, "solar_production_eur": null, "injection_kwh": null, "injection_eur": null},
        {"meter_id": "01234567890123", "date": "2026-03-29",
         "periods": [{"period": "Tempo-blue-HC", "kwh": 2.0, "eur": null}, {"period": "Tempo-white-HC", "kwh": 1.0, "eur": 0.2},
                     {"period": "Tempo-white-HP", "kwh": null, "eur": null}],
         "kwh": 3.0, "eur": 0.2, "subscription_eur": 0.45, "co2_kg": null,
         "solar_production_kwh": null, "solar_production_eur": null, "injection_kwh": null, "injection_eur": null},
        {"meter_id": "01234567890123", "date": "2026-03-30",
         "periods": [{"period": "Tempo-red-HC", "kwh": 2.0, "eur": null}],
         "kwh": 2.0, "eur": null, "subscription_eur": null, "co2_kg": null,
         "solar_production_kwh": null, "solar_production_eur": null, "injection_kwh": null, "injection_eur": null},
        {"meter_id": "01234567890123", "date": "2026-03-31",
         "periods": [{"period": "Tempo-red-HP", "kwh": null, "eur": null}],
         "kwh": null, "eur": null, "subscription_eur": null, "co2_kg": null,
         "solar_production_kwh": null, "solar_production_eur": null, "injection_kwh": null, "injection_eur": null}
      ],
      "curve": [
        {"meter_id": "01234567890123", "start": 1774744200, "date": "2026-03-29", "minutes": 30, "kwh": 0.25},
        {"meter_id": "01234567890123", "start": 1774746000, "date": "2026-03-29", "minutes": 30, "kwh": null}
      ],
      "temperatures": [{"home_id": "123456", "date": "2026-03-28", "period": "day", "celsius": 10.5}],
      "tempo_days": [
        {"date": "2026-03-28", "colour": "blue", "source": "tariff-keys", "meter_id": "01234567890123"},
        {"date": "2026-03-30", "colour": "red", "source": "tariff-keys", "meter_id": "01234567890123"}
      ],
      "windows": [
        {"subject": "123456", "kind": "homes", "start": "2026-03-28", "end": "2026-04-01", "status": "complete"},
        {"subject": "01234567890123", "kind": "electricity-daily", "start": "2026-03-28", "end": "2026-03-31", "status": "complete"},
        {"subject": "01234567890123", "kind": "electricity-curve", "start": "2026-03-28", "end": "2026-03-31", "status": "complete"},
        {"subject": "123456-gas", "kind": "gas-daily", "start": "2026-03-28", "end": "2026-03-31", "status": "not-available", "detail": "no gas contract"},
        {"subject": "01234567890123", "kind": "electricity-daily", "start": "2026-04-01", "end": "2026-04-01", "status": "fetch-ongoing"},
        {"subject": "01234567890123", "kind": "electricity-curve", "start": "2026-04-01", "end": "2026-04-01", "status": "site-error", "detail": "enedis_unavailable: Enedis ne répond pas"},
        {"subject": "123456-gas", "kind": "gas-daily", "start": "2026-04-01", "end": "2026-04-01", "status": "not-available", "detail": "no gas contract"},
        {"subject": "123456", "kind": "temperature", "start": "2026-03-28", "end": "2026-04-01", "status": "complete"}
      ],
      "api_version": "1.48"
    }}"#;
    let ex: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (_guard, s) = write_scenario("flow", &meta, &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let r = run(&s);
    assert!(r.unused.is_none(), "{:?}", r.unused);
    let warns: Vec<_> = r
        .logs
        .iter()
        .filter(|(l, _)| *l == Level::Warn)
        .map(|(_, m)| m.as_str())
        .collect();
    assert!(
        warns
            .iter()
            .any(|m| m.contains("outside the asked window (2026-03-27)")),
        "{warns:?}"
    );
    // Nothing secret is logged.
    for (_, m) in &r.logs {
        for secret in ["c1", "c2", "c3", "c4", "s1", "s2", PASSWORD] {
            assert!(
                !m.contains(&format!("={secret}")) && !m.contains(PASSWORD),
                "{m}"
            );
        }
    }
}

#[test]
fn hand_made_rejected_credentials_never_echo_the_password() {
    let meta = format!(
        r#"{{"description": "hand-made: wrong password", "login": "jeanne.martin@example.org",
            "password": "{PASSWORD}", "start": "2026-01-01", "end": "2026-01-31", "kinds": ["electricity-daily"]}}"#
    );
    let body = format!(
        r#"{{"form": {{"errors": ["L'adresse e-mail et/ou le mot de passe sont incorrects."],
            "fields": {{"login": {{"value": "jeanne.martin@example.org", "errors": []}},
                        "password": {{"value": "{PASSWORD}", "errors": ["Ce champ est obligatoire."]}}}}}}}}"#
    );
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), json_resp(400, &body)),
    ];
    let golden = r#"{"error": {"kind": "credentials-rejected",
        "detail": "L'adresse e-mail et/ou le mot de passe sont incorrects.; Ce champ est obligatoire."}}"#;
    let ex: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (_guard, s) = write_scenario("rejected", &meta, &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn hand_made_rate_limit_and_session_lost() {
    let meta = |d: &str| {
        format!(
            r#"{{"description": "{d}", "login": "jeanne.martin@example.org", "password": "{PASSWORD}",
                "start": "2026-01-01", "end": "2026-01-31", "kinds": ["homes"]}}"#
        )
    };
    let limited = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (
            login_post("c1", PASSWORD_ENC),
            "HTTP/1.1 429 Too Many Requests\nDate: Sat, 28 Nov 2026 10:00:00 GMT\n\
             Retry-After: Sat, 28 Nov 2026 10:30:00 GMT\n\n"
                .to_string(),
        ),
    ];
    let golden = r#"{"error": {"kind": "rate-limited", "retry_after_seconds": 1800,
                     "detail": "log-in refused: too many attempts"}}"#;
    let ex: Vec<(&str, &str)> = limited
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (_g1, s) = write_scenario("limited", &meta("429"), &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let expired = r#"{"detail": "Authentication credentials were not provided."}"#;
    let lost = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (api_req("/api/homes", "c2", "s1"), json_resp(403, expired)),
        (LOGIN_PAGE_REQ.to_string(), login_page("c3")),
        (login_post("c3", PASSWORD_ENC), login_ok("c4", "s2")),
        (api_req("/api/homes", "c4", "s2"), json_resp(401, expired)),
    ];
    let golden = r#"{"error": {"kind": "session-lost",
                     "detail": "the site answered 401 again after logging in again"}}"#;
    let ex: Vec<(&str, &str)> = lost.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (_g2, s) = write_scenario("lost", &meta("session lost"), &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn hand_made_maintenance_and_unknown_requests() {
    let meta = format!(
        r#"{{"description": "maintenance", "login": "jeanne.martin@example.org", "password": "{PASSWORD}",
            "start": "2026-01-01", "end": "2026-01-31", "kinds": ["homes"]}}"#
    );
    let page = "HTTP/1.1 503 Service Unavailable\nContent-Type: text/html\nRetry-After: 600\n\n\
                <html><head><title>helloWatt est en maintenance</title></head>\
                <body><h1>Maintenance en cours</h1></body></html>";
    let ex = [(LOGIN_PAGE_REQ, page)];
    let golden = r#"{"error": {"kind": "site-unavailable", "status": 503, "retry_after_seconds": 600,
                     "detail": "maintenance page: helloWatt est en maintenance"}}"#;
    let (_g, s) = write_scenario("maintenance", &meta, &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // A cassette without the log-in form: the request is refused, which
    // the guest reports as a denied request.
    let page = login_page("c1");
    let ex = [(LOGIN_PAGE_REQ, page.as_str())];
    let golden = r#"{"error": {"kind": "transport",
                     "detail": "the host denied the request to https://www.hellowatt.fr/accounts/login/"}}"#;
    let (_g, s) = write_scenario("denied", &meta, &ex, golden);
    let problems = check(&s);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn two_calls_on_one_instance_log_in_once() {
    let meta = format!(
        r#"{{"description": "two windows", "login": "jeanne.martin@example.org", "password": "{PASSWORD}",
            "start": "2026-01-01", "end": "2026-01-31", "kinds": ["temperature"]}}"#
    );
    let homes = r#"[{"id": 1, "enedisHome": {"pdl": "01234567890123"}}]"#;
    let temps = r#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "valueCelsius": 3.0},
                                {"datetime": "2026-02-05T00:00:00+01:00", "valueCelsius": 6.0}]}"#;
    let january = "/api/homes/1/temperature_measures/yearly?\
                   startDate=2026-01-01T00%3A00%3A00%2B01%3A00&endDate=2026-02-01T00%3A00%3A00%2B01%3A00";
    let february = "/api/homes/1/temperature_measures/yearly?\
                    startDate=2026-02-01T00%3A00%3A00%2B01%3A00&endDate=2026-03-01T00%3A00%3A00%2B01%3A00";
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (api_req(january, "c2", "s1"), json_resp(200, temps)),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (api_req(february, "c2", "s1"), json_resp(200, temps)),
    ];
    let ex: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (_g, s) = write_scenario(
        "twice",
        &meta,
        &ex,
        r#"{"snapshot": {"homes": [], "contracts": [], "daily": [],
        "curve": [], "temperatures": [], "tempo_days": [], "windows": []}}"#,
    );
    // Through the `Scraper` trait, as the component calls it: the scraper
    // value is the instance's state.
    let mut t = ReplayTransport::new(&s);
    let mut scraper = HelloWatt::default();
    let mut log = Collect::default();
    let mut req = sync_request(&s);
    let first = scraper.sync(&mut t, &req, &mut log).unwrap();
    assert_eq!(first.temperatures.len(), 1);
    req.start = hellowatt_snapshot::Date::parse("2026-02-01").unwrap();
    req.end = hellowatt_snapshot::Date::parse("2026-02-28").unwrap();
    let second = scraper.sync(&mut t, &req, &mut log).unwrap();
    assert_eq!(second.temperatures[0].celsius, 6.0);
    assert_eq!(t.sent, 6, "refused: {:?}", t.replayer.refusals);
    assert!(t.replayer.replay.unused().is_empty());
    // Another login starts a new session (and here finds no cassette).
    req.login = "autre@example.org".into();
    let third = scraper.sync(&mut t, &req, &mut log);
    assert!(
        matches!(third, Err(SyncError::Transport { .. })),
        "{third:?}"
    );
}

#[test]
fn hand_made_unnamed_gas_meter_is_listed_once_readings_come() {
    let meta = format!(
        r#"{{"description": "gas without a PCE", "login": "jeanne.martin@example.org", "password": "{PASSWORD}",
            "start": "2026-01-05", "end": "2026-01-06", "kinds": ["gas-daily"]}}"#
    );
    let homes = r#"[{"id": 7, "address": null, "area": null, "enedisHome": null, "grdfHome": {"pce": null}}]"#;
    let gas = r#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "kwhDetailed": {"Base": 50.5},
                               "eurosDetailed": {"Base": 6.0, "subscription": 0.7}}]}"#;
    let q = "startDate=2026-01-05T00%3A00%3A00%2B01%3A00&endDate=2026-01-07T00%3A00%3A00%2B01%3A00";
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (
            api_req(
                &format!("/api/homes/7/adict_measures/conso_daily?{q}"),
                "c2",
                "s1",
            ),
            json_resp(200, gas),
        ),
    ];
    let golden = r#"{"snapshot": {
      "homes": [{"id": "7", "address": null, "postal_code": null, "city": null,
                 "meters": [{"id": "7-gas", "energy": "gas"}]}],
      "contracts": [],
      "daily": [{"meter_id": "7-gas", "date": "2026-01-05", "periods": [{"period": "Base", "kwh": 50.5, "eur": 6.0}],
                 "kwh": 50.5, "eur": 6.0, "subscription_eur": 0.7, "co2_kg": null,
                 "solar_production_kwh": null, "solar_production_eur": null, "injection_kwh": null, "injection_eur": null}],
      "curve": [], "temperatures": [], "tempo_days": [],
      "windows": [{"subject": "7-gas", "kind": "gas-daily", "start": "2026-01-05", "end": "2026-01-06", "status": "complete"}],
      "api_version": "1.48"
    }}"#;
    assert_hand_made("unnamed-gas", &meta, &exchanges, golden);
}

#[test]
fn hand_made_log_in_elsewhere_that_works_is_a_log_in() {
    // The log-in answers another `location`; the API then answers: the
    // session is confirmed, and a later 401 is an expiry like any other
    // (log in again once), not an action to take.
    let meta = format!(
        r#"{{"description": "log-in elsewhere, then a working API", "login": "jeanne.martin@example.org",
            "password": "{PASSWORD}", "start": "2026-01-01", "end": "2026-01-31", "kinds": ["homes"]}}"#
    );
    let elsewhere = "HTTP/1.1 200 OK\nContent-Type: application/json\n\
                     Set-Cookie: csrftoken=c2; Max-Age=31449600; Path=/\n\
                     Set-Cookie: sessionid=s1; HttpOnly; Max-Age=1209600; Path=/\n\n\
                     {\"location\": \"/mon-compte/tableau-de-bord\"}";
    let homes = r#"[{"id": 1, "enedisHome": {"pdl": "01234567890123"}}]"#;
    let expired = r#"{"detail": "Authentication credentials were not provided."}"#;
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), elsewhere.to_string()),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (
            api_req("/api/homes/1/contracts", "c2", "s1"),
            json_resp(401, expired),
        ),
        (LOGIN_PAGE_REQ.to_string(), login_page("c3")),
        (login_post("c3", PASSWORD_ENC), login_ok("c4", "s2")),
        (
            api_req("/api/homes/1/contracts", "c4", "s2"),
            json_resp(200, "[]"),
        ),
    ];
    let golden = r#"{"snapshot": {
      "homes": [{"id": "1", "address": null, "postal_code": null, "city": null,
                 "meters": [{"id": "01234567890123", "energy": "electricity"}]}],
      "contracts": [], "daily": [], "curve": [], "temperatures": [], "tempo_days": [],
      "windows": [{"subject": "1", "kind": "homes", "start": "2026-01-01", "end": "2026-01-31", "status": "complete"}],
      "api_version": "1.48"
    }}"#;
    assert_hand_made("elsewhere-works", &meta, &exchanges, golden);
}

#[test]
fn hand_made_redirects_elsewhere_or_in_a_loop_are_not_followed() {
    let meta = format!(
        r#"{{"description": "redirects not followed", "login": "jeanne.martin@example.org",
            "password": "{PASSWORD}", "start": "2026-01-01", "end": "2026-01-31", "kinds": ["homes"]}}"#
    );
    let redirect = |status: u16, to: &str| {
        format!(
            "HTTP/1.1 {status} Moved\nLocation: {to}\nContent-Type: text/html; charset=utf-8\n\n"
        )
    };
    // To another origin: handed back, and named.
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (
            api_req("/api/homes", "c2", "s1"),
            redirect(302, "https://evil.example/api/homes/"),
        ),
    ];
    let golden = r#"{"error": {"kind": "site-changed", "location": "GET /api/homes",
        "detail": "unexpected HTTP 302 (a redirect to https://evil.example/api/homes/, not followed)"}}"#;
    assert_hand_made("redirect-elsewhere", &meta, &exchanges, golden);

    // A loop: three hops followed, the fourth answer handed back.
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (
            api_req("/api/homes", "c2", "s1"),
            redirect(301, "/api/homes/"),
        ),
        (
            api_req("/api/homes/", "c2", "s1"),
            redirect(301, "/api/homes"),
        ),
        (
            api_req("/api/homes", "c2", "s1"),
            redirect(301, "/api/homes/"),
        ),
        (
            api_req("/api/homes/", "c2", "s1"),
            redirect(301, "/api/homes"),
        ),
    ];
    let golden = r#"{"error": {"kind": "site-changed", "location": "GET /api/homes",
        "detail": "unexpected HTTP 301 (a redirect to /api/homes, not followed)"}}"#;
    assert_hand_made("redirect-loop", &meta, &exchanges, golden);
}

#[test]
fn hand_made_a_failed_log_in_again_ends_the_call_with_its_cause() {
    // The session expires on January's daily electricity; logging in again
    // meets the maintenance page. The call ends with that (not with a lost
    // session), and nothing more is asked: the cassette has nothing more.
    let meta = format!(
        r#"{{"description": "re-login during maintenance", "login": "jeanne.martin@example.org",
            "password": "{PASSWORD}", "start": "2026-01-01", "end": "2026-02-28",
            "kinds": ["electricity-daily", "temperature"]}}"#
    );
    let homes = r#"[{"id": 1, "enedisHome": {"pdl": "01234567890123"}}]"#;
    let expired = r#"{"detail": "Authentication credentials were not provided."}"#;
    let january = "/api/homes/1/sge_measures/conso_daily?\
                   startDate=2026-01-01T00%3A00%3A00%2B01%3A00&endDate=2026-02-01T00%3A00%3A00%2B01%3A00";
    let maintenance = "HTTP/1.1 503 Service Unavailable\nContent-Type: text/html\nRetry-After: 900\n\n\
                       <html><head><title>Maintenance</title></head><body>En maintenance</body></html>";
    let exchanges = [
        (LOGIN_PAGE_REQ.to_string(), login_page("c1")),
        (login_post("c1", PASSWORD_ENC), login_ok("c2", "s1")),
        (api_req("/api/homes", "c2", "s1"), json_resp(200, homes)),
        (api_req(january, "c2", "s1"), json_resp(401, expired)),
        (LOGIN_PAGE_REQ.to_string(), maintenance.to_string()),
    ];
    let golden = r#"{"error": {"kind": "site-unavailable", "status": 503, "retry_after_seconds": 900,
                     "detail": "maintenance page: Maintenance"}}"#;
    let (_g, s) = assert_hand_made("relogin-maintenance", &meta, &exchanges, golden);
    let r = run(&s);
    assert!(r.refusals.is_empty(), "{:?}", r.refusals);
}
