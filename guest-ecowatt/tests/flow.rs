//! The EcoWatt guest's flow, run natively against a programmable fake
//! transport: the one request it makes (no credential, no `Authorization`
//! of its own), what it returns for each answer the simulated service can
//! give (signals known, only today published, token refused, rate limited,
//! shape changed, down), and the window's limits.

use hellowatt_guest_ecowatt::api::{SIGNALS_PATH, SUBJECT};
use hellowatt_guest_ecowatt::logging::NoLog;
use hellowatt_guest_ecowatt::transport::{Request, Response, Transport};
use hellowatt_guest_kit::Scraper;
use hellowatt_snapshot::{DataKind, Date, Snapshot, SyncError, SyncRequest, WindowStatus};
use serde_json::{Value, json};

struct Fake {
    answer: (u16, Vec<(String, String)>, String),
    asked: Vec<Request>,
}

impl Transport for Fake {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        self.asked.push(req.clone());
        let (status, headers, body) = &self.answer;
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(hellowatt_guest_kit::testing::response(
            *status, &headers, body,
        ))
    }
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// The host passes no account to this guest.
fn request(start: &str, end: &str, kinds: &[DataKind]) -> SyncRequest {
    SyncRequest {
        base_url: "https://digital.iservices.rte-france.com".into(),
        login: String::new(),
        password_placeholder: hellowatt_guest_kit::testing::PLACEHOLDER.to_string(),
        start: d(start),
        end: d(end),
        kinds: kinds.to_vec(),
    }
}

/// RTE's four days from `first`, each with its hours at level `level`.
fn four_days(first: &str, count: i64) -> Value {
    let first = d(first);
    let days: Vec<Value> = (0..count)
        .map(|i| {
            let day = first.add_days(i);
            let hours: Vec<Value> = (0..day.paris_day_hours())
                .map(|pas| json!({"pas": pas, "hvalue": if pas == 19 { 2 } else { 1 }}))
                .collect();
            json!({
                "GenerationFichier": first.add_days(-1).paris_midnight_iso(),
                "jour": day.paris_midnight_iso(),
                "dvalue": 2,
                "message": "Pas d\u{2019}alerte.",
                "values": hours,
            })
        })
        .collect();
    json!({ "signals": days })
}

fn run(
    req: &SyncRequest,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> (Result<Snapshot, SyncError>, Vec<Request>) {
    let mut t = Fake {
        answer: (
            status,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body.to_string(),
        ),
        asked: vec![],
    };
    let got = hellowatt_guest_ecowatt::EcoWatt.sync(&mut t, req, &mut NoLog);
    (got, t.asked)
}

#[test]
fn signals_known_one_get_without_a_credential() {
    let req = request("2026-11-28", "2026-12-01", &[DataKind::Ecowatt]);
    let body = four_days("2026-11-28", 4).to_string();
    let (got, asked) = run(&req, 200, &[("Content-Type", "application/json")], &body);
    let s = got.unwrap();
    assert_eq!(asked.len(), 1);
    let r = &asked[0];
    assert_eq!(
        (r.method, r.path.as_str(), r.query.as_str()),
        ("GET", SIGNALS_PATH, "")
    );
    assert!(r.body.is_empty());
    assert!(
        r.headers
            .iter()
            .all(|(k, v)| !k.eq_ignore_ascii_case("authorization")
                && !v.contains(&req.password_placeholder)),
        "{:?}",
        r.headers
    );
    assert_eq!(s.ecowatt.len(), 4);
    assert!(
        s.ecowatt
            .iter()
            .all(|day| day.level == Some(2) && day.hours.len() == 24)
    );
    assert_eq!(s.windows.len(), 1);
    let w = &s.windows[0];
    assert_eq!(
        (w.subject.as_str(), w.kind, w.start, w.end, &w.status),
        (
            SUBJECT,
            DataKind::Ecowatt,
            d("2026-11-28"),
            d("2026-12-01"),
            &WindowStatus::Complete
        )
    );
    assert!(s.daily.is_empty() && s.tempo_days.is_empty() && s.contracts.is_empty());
}

#[test]
fn tomorrow_not_published_yet_is_absent_not_an_error() {
    let req = request("2026-11-28", "2026-12-01", &[DataKind::Ecowatt]);
    let (got, _) = run(&req, 200, &[], &four_days("2026-11-28", 1).to_string());
    let s = got.unwrap();
    assert_eq!(s.ecowatt.len(), 1);
    assert_eq!(s.ecowatt[0].date, d("2026-11-28"));
}

#[test]
fn each_refusal_is_its_typed_error() {
    let req = request("2026-11-28", "2026-11-29", &[DataKind::Ecowatt]);
    let error = r#"{"error":"invalid_token","error_description":"x"}"#;
    match run(&req, 401, &[], error).0 {
        Err(SyncError::CredentialsRejected { detail }) => {
            assert!(
                detail.contains("RTE refused the application's token"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    match run(&req, 429, &[], r#"{"error":"TOO_MANY_REQUESTS"}"#).0 {
        Err(SyncError::RateLimited(r)) => assert_eq!(r.retry_after_seconds, None),
        other => panic!("{other:?}"),
    }
    match run(&req, 200, &[], r#"{"signaux":[]}"#).0 {
        Err(SyncError::SiteChanged(c)) => {
            assert_eq!(c.location, format!("GET {SIGNALS_PATH}"));
            assert!(c.detail.contains("no `signals` list"), "{}", c.detail);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        run(&req, 503, &[], "<html>").0,
        Err(SyncError::SiteUnavailable(_))
    ));
}

#[test]
fn the_window_and_the_kinds() {
    let (got, asked) = run(
        &request("2026-11-28", "2026-11-29", &[DataKind::Tempo]),
        200,
        &[],
        "{}",
    );
    assert_eq!(got.unwrap(), Snapshot::default());
    assert!(asked.is_empty(), "ecowatt not asked: no request");
    for (start, end) in [("2026-11-29", "2026-11-28"), ("2026-11-01", "2026-12-15")] {
        let (got, asked) = run(&request(start, end, &[DataKind::Ecowatt]), 200, &[], "{}");
        assert!(
            matches!(got, Err(SyncError::Other { .. })),
            "{start}..{end}"
        );
        assert!(asked.is_empty());
    }
    assert_eq!(hellowatt_guest_ecowatt::EcoWatt::INFO.name, "ecowatt");
    assert_eq!(
        hellowatt_guest_ecowatt::EcoWatt::INFO.provides,
        &[DataKind::Ecowatt]
    );
}
