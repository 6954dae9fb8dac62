//! The Tempo guest's flow, run natively: every scenario of `fixtures/tempo/`
//! replayed through a cassette-backed `Transport` (header checks on, as the
//! host's `guest check` does) and compared with its golden file; then the
//! flow's own rules (source choice, fallback, limits, errors) against a
//! programmable fake.

use hellowatt_fixtures::{Scenario, TEMPO_SITE_ORIGIN, load_scenarios};
use hellowatt_guest_kit::Scraper;
use hellowatt_guest_kit::testing::{assert_scenarios, replay_problems};
use hellowatt_guest_tempo::api;
use hellowatt_guest_tempo::logging::{Collect, Level};
use hellowatt_guest_tempo::parse::{JOUR_TEMPO_MAX_BODY, TEMPO_LIGHT_MAX_BODY};
use hellowatt_guest_tempo::transport::{self, Request, Response, TooLarge, Transport};
use hellowatt_snapshot::{
    DataKind, Date, Snapshot, SyncError, SyncRequest, TempoColour, Unavailable,
};

/// The host passes no account to this guest (an empty login, a
/// placeholder no request may carry).
fn request(base_url: &str, start: &str, end: &str, kinds: &[DataKind]) -> SyncRequest {
    SyncRequest {
        base_url: base_url.to_string(),
        login: String::new(),
        password_placeholder: hellowatt_guest_kit::testing::PLACEHOLDER.to_string(),
        start: Date::parse(start).unwrap(),
        end: Date::parse(end).unwrap(),
        kinds: kinds.to_vec(),
    }
}

/// Runs one scenario; returns what is wrong with it, if anything.
fn check(s: &Scenario) -> Vec<String> {
    replay_problems(s, TEMPO_SITE_ORIGIN, |t, req| {
        api::sync(t, req, &mut Collect::default())
    })
}

#[test]
fn every_tempo_scenario_matches_its_golden() {
    let dir = hellowatt_fixtures::tempo_scenarios_dir();
    let scenarios = load_scenarios(&dir).unwrap_or_else(|e| panic!("loading the scenarios: {e}"));
    assert!(scenarios.len() >= 6, "only {} scenarios", scenarios.len());
    assert_scenarios("Tempo", &scenarios, check);
}

#[test]
fn the_built_in_tempo_scenarios_pass_too() {
    let scenarios = hellowatt_fixtures::embedded_tempo_scenarios().unwrap();
    assert!(!scenarios.is_empty());
    for s in &scenarios {
        assert!(check(s).is_empty(), "{}", s.name);
    }
}

// ------------------------------------------------------ a programmable fake

/// Answers with a closure and records every path asked.
struct Fake<F: FnMut(&Request) -> Result<Response, SyncError>> {
    answer: F,
    asked: Vec<String>,
}

impl<F: FnMut(&Request) -> Result<Response, SyncError>> Transport for Fake<F> {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        self.asked.push(req.path.clone());
        (self.answer)(req)
    }
}

fn fake<F: FnMut(&Request) -> Result<Response, SyncError>>(answer: F) -> Fake<F> {
    Fake {
        answer,
        asked: vec![],
    }
}

fn json(status: u16, body: &str) -> Result<Response, SyncError> {
    Ok(Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    })
}

/// A jourTempo answer for the day in the request's path, always blue.
fn jour_blue(req: &Request) -> Result<Response, SyncError> {
    let day = req.path.rsplit('/').next().unwrap_or("");
    json(
        200,
        &format!(r#"{{"dateJour":"{day}","codeJour":1,"periode":"2026-2027"}}"#),
    )
}

const SEASON: &str =
    r#"{"values": {"2026-11-26": "WHITE", "2026-11-27": "RED", "2026-11-28": "BLUE"}}"#;

fn run(t: &mut dyn Transport, req: &SyncRequest) -> (Result<Snapshot, SyncError>, Collect) {
    let mut log = Collect::default();
    let r = api::sync(t, req, &mut log);
    (r, log)
}

fn colours(snap: &Snapshot) -> Vec<(String, Option<TempoColour>)> {
    snap.tempo_days
        .iter()
        .map(|t| (t.date.to_string(), t.colour))
        .collect()
}

const API: &str = "https://www.api-couleur-tempo.fr";
const RTE: &str = "https://www.services-rte.com";

#[test]
fn nothing_asked_nothing_sent() {
    let mut t = fake(|_| panic!("no request when tempo is not asked"));
    let kinds = [DataKind::Homes, DataKind::ElectricityDaily];
    // Even a window this guest would refuse: nothing is asked of it.
    let (r, _) = run(&mut t, &request(API, "2020-01-01", "2026-01-01", &kinds));
    assert_eq!(r, Ok(Snapshot::default()));
    let (r, _) = run(&mut t, &request(API, "2026-11-01", "2026-11-02", &[]));
    assert_eq!(r, Ok(Snapshot::default()));
}

#[test]
fn rte_base_url_reads_tempo_light_once() {
    for base in [
        RTE,
        "https://WWW.SERVICES-RTE.COM/",
        "https://www.services-rte.com:443",
    ] {
        let mut t = fake(|req| {
            assert_eq!(req.path, api::TEMPO_LIGHT_PATH);
            assert!(
                req.headers
                    .contains(&("Accept".into(), "application/json".into()))
            );
            json(200, SEASON)
        });
        let (r, _) = run(
            &mut t,
            &request(base, "2026-11-25", "2026-11-29", &[DataKind::Tempo]),
        );
        let snap = r.unwrap();
        assert_eq!(t.asked.len(), 1, "{base}");
        assert_eq!(
            colours(&snap),
            [
                ("2026-11-25".to_string(), None),
                ("2026-11-26".to_string(), Some(TempoColour::White)),
                ("2026-11-27".to_string(), Some(TempoColour::Red)),
                ("2026-11-28".to_string(), Some(TempoColour::Blue)),
                ("2026-11-29".to_string(), None),
            ],
            "{base}"
        );
    }
}

#[test]
fn another_host_reads_jour_tempo_day_by_day() {
    // A host that merely contains RTE's name is not RTE.
    for base in [
        API,
        "http://127.0.0.1:8080",
        "https://www.services-rte.com.example",
    ] {
        let mut t = fake(jour_blue);
        let (r, _) = run(
            &mut t,
            &request(base, "2026-12-30", "2027-01-02", &[DataKind::Tempo]),
        );
        assert_eq!(r.unwrap().tempo_days.len(), 4, "{base}");
        assert_eq!(
            t.asked,
            [
                "/api/jourTempo/2026-12-30",
                "/api/jourTempo/2026-12-31",
                "/api/jourTempo/2027-01-01",
                "/api/jourTempo/2027-01-02",
            ],
            "{base}"
        );
    }
}

#[test]
fn only_the_first_404_switches_to_tempo_light() {
    let mut t = fake(|req| {
        if req.path.starts_with(api::JOUR_TEMPO_PATH) {
            json(404, "{}")
        } else {
            json(200, SEASON)
        }
    });
    let (r, log) = run(
        &mut t,
        &request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]),
    );
    assert_eq!(r.unwrap().tempo_days.len(), 2);
    assert_eq!(
        t.asked,
        ["/api/jourTempo/2026-11-27", "/cms/open_data/v1/tempoLight"]
    );
    assert!(log.0.iter().any(|(l, m)| *l == Level::Warn
        && m == "GET /api/jourTempo/2026-11-27 answered 404: reading \
                 /cms/open_data/v1/tempoLight on the same origin instead"));

    // A 404 after a day was read is a change, not a fallback.
    let mut t = fake(|req| {
        if req.path.ends_with("-27") {
            jour_blue(req)
        } else {
            json(404, "{}")
        }
    });
    let (r, _) = run(
        &mut t,
        &request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]),
    );
    match r {
        Err(SyncError::SiteChanged(c)) => {
            assert_eq!(c.location, "GET /api/jourTempo/2026-11-28");
            assert_eq!(c.detail, "unexpected HTTP 404 (not found)");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.asked.len(), 2);

    // tempoLight answering 404 too: a change at tempoLight, no loop.
    let mut t = fake(|_| json(404, "{}"));
    let (r, _) = run(
        &mut t,
        &request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]),
    );
    match r {
        Err(SyncError::SiteChanged(c)) => {
            assert_eq!(c.location, "GET /cms/open_data/v1/tempoLight")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.asked.len(), 2);
}

#[test]
fn window_limits() {
    let mut t = fake(|_| json(200, SEASON));
    // 400 days is served (one tempoLight request)...
    let (r, _) = run(
        &mut t,
        &request(RTE, "2026-01-01", "2027-02-04", &[DataKind::Tempo]),
    );
    assert_eq!(r.unwrap().tempo_days.len(), 400);
    // ...401 is refused before any request.
    let mut t = fake(|_| panic!("no request for a refused window"));
    let (r, _) = run(
        &mut t,
        &request(API, "2026-01-01", "2027-02-05", &[DataKind::Tempo]),
    );
    assert_eq!(
        r,
        Err(SyncError::Other {
            detail: "the window 2026-01-01..2027-02-05 is 401 days long; this guest serves at \
                     most 400 days per sync"
                .into()
        })
    );
    let (r, _) = run(
        &mut t,
        &request(API, "2026-11-29", "2026-11-28", &[DataKind::Tempo]),
    );
    assert_eq!(
        r,
        Err(SyncError::Other {
            detail: "the window starts (2026-11-29) after it ends (2026-11-28)".into()
        })
    );
    let (r, _) = run(
        &mut t,
        &request(
            "www.api-couleur-tempo.fr",
            "2026-11-28",
            "2026-11-28",
            &[DataKind::Tempo],
        ),
    );
    assert!(matches!(r, Err(SyncError::Other { .. })), "{r:?}");
}

#[test]
fn every_request_is_a_bare_get_with_its_own_body_limit() {
    let mut sent: Vec<Request> = Vec::new();
    let mut t = fake(|req| {
        sent.push(req.clone());
        if req.path.starts_with(api::JOUR_TEMPO_PATH) {
            json(404, "{}")
        } else {
            json(200, SEASON)
        }
    });
    let (r, _) = run(
        &mut t,
        &request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]),
    );
    assert!(r.is_ok(), "{r:?}");
    drop(t);
    let shape = |r: &Request| (r.method, r.query.clone(), r.body.clone(), r.too_large);
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(shape(r), ("GET", String::new(), vec![], TooLarge::Truncate));
    }
    assert_eq!(sent[0].max_body, JOUR_TEMPO_MAX_BODY);
    assert_eq!(sent[1].path, api::TEMPO_LIGHT_PATH);
    assert_eq!(sent[1].max_body, TEMPO_LIGHT_MAX_BODY);
}

/// The login and a placeholder are in the request the guest gets, and
/// never read: no request carries them, and the answer is the same as
/// without them.
#[test]
fn the_credentials_are_never_read() {
    let mut with = request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]);
    with.login = "someone@example.com".into();
    with.password_placeholder = "hellowatt-password-0123456789abcdef".into();
    let mut seen = Vec::new();
    let mut t = fake(|req| {
        seen.push(format!("{req:?} {}", String::from_utf8_lossy(&req.body)));
        jour_blue(req)
    });
    let (got, log) = run(&mut t, &with);
    drop(t);
    for shown in seen.iter().chain(log.0.iter().map(|(_, m)| m)) {
        assert!(!shown.contains("someone@example.com"), "{shown}");
        assert!(!shown.contains("hellowatt-password-0123"), "{shown}");
    }
    let without = request(API, "2026-11-27", "2026-11-28", &[DataKind::Tempo]);
    let mut t = fake(jour_blue);
    assert_eq!(got, run(&mut t, &without).0);
    // Through the `Scraper` trait, as the component calls it.
    let mut t = fake(jour_blue);
    let mut log = Collect::default();
    let via_trait = hellowatt_guest_tempo::Tempo.sync(&mut t, &with, &mut log);
    assert_eq!(got, via_trait);
}

#[test]
fn statuses_and_failures_are_typed() {
    let req = request(API, "2026-11-28", "2026-11-28", &[DataKind::Tempo]);
    let mut t = fake(|_| {
        Ok(Response {
            status: 408,
            headers: vec![("Retry-After".into(), "7".into())],
            body: vec![],
        })
    });
    assert_eq!(
        run(&mut t, &req).0,
        Err(SyncError::SiteUnavailable(Unavailable {
            status: Some(408),
            retry_after_seconds: Some(7),
            detail: "GET /api/jourTempo/2026-11-28 answered HTTP 408".into(),
        }))
    );
    let mut t = fake(|r| Err(transport::denied(API, &r.path)));
    assert_eq!(
        run(&mut t, &req).0,
        Err(SyncError::Transport {
            detail: "the host denied the request to \
                     https://www.api-couleur-tempo.fr/api/jourTempo/2026-11-28"
                .into()
        })
    );
    // A body over the limit is a change, named, never parsed.
    let mut t = fake(|_| {
        let mut body = br#"{"dateJour":"2026-11-28","codeJour":1}"#.to_vec();
        body.resize(256 * 1024 + 1, b' ');
        Ok(Response {
            status: 200,
            headers: vec![],
            body,
        })
    });
    match run(&mut t, &req).0 {
        Err(SyncError::SiteChanged(c)) => {
            assert_eq!(c.location, "GET /api/jourTempo/2026-11-28");
            assert_eq!(c.detail, "the answer is too large: more than 262144 bytes");
        }
        other => panic!("{other:?}"),
    }
    // The answer for another day is a change too.
    let mut t = fake(|_| json(200, r#"{"dateJour":"2026-11-27","codeJour":1}"#));
    match run(&mut t, &req).0 {
        Err(SyncError::SiteChanged(c)) => assert_eq!(
            c.detail,
            "dateJour: expected \"2026-11-28\", found the string \"2026-11-27\""
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_answers_never_panic() {
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 1000],
        b"\0\0\0".to_vec(),
        "[".repeat(50_000).into_bytes(),
        format!("{{\"values\": {}}}", "{\"a\":".repeat(10_000)).into_bytes(),
        br#"{"values": {"9999-12-31": "BLUE", "0000-01-01": "RED"}}"#.to_vec(),
        br#"{"dateJour": null, "codeJour": 18446744073709551616}"#.to_vec(),
        vec![b'<'; 3 * 1024 * 1024],
    ];
    for base in [API, RTE] {
        for status in [200, 204, 299, 404, 429, 500] {
            for body in &bodies {
                let mut t = fake(|_| {
                    Ok(Response {
                        status,
                        headers: vec![
                            ("Retry-After".into(), "Mon, 99 Foo 2026 99:99:99 GMT".into()),
                            ("Date".into(), "garbage".into()),
                        ],
                        body: body.clone(),
                    })
                });
                let (r, _) = run(
                    &mut t,
                    &request(base, "2026-11-27", "2026-11-28", &[DataKind::Tempo]),
                );
                // Whatever the answer, a typed error or days of the window.
                if let Ok(snap) = r {
                    assert!(snap.tempo_days.iter().all(|d| d.date.month == 11));
                }
            }
        }
    }
}
