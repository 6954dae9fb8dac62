//! Property tests of the guest's parsers, run natively: whatever the site
//! (or a man in the middle) answers, every entry point either parses it or
//! refuses it with a typed error; none panics, and none produces more
//! records than its input has values (bounded work).
//!
//! Inputs are arbitrary JSON values, arbitrary strings and headers, the
//! shared fixtures' bodies with one subtree replaced (structured but
//! mutated), and the same bodies mutated byte by byte (flips, truncation,
//! duplicated keys, huge numbers, deep nesting). The whole flow also runs
//! over each scenario's cassette with one response mutated.
//!
//! CI runs `PROPTEST_CASES` (default 64 here) cases per property; a longer
//! run: `PROPTEST_CASES=100000 cargo test -p hellowatt-guest --test prop`
//! (figures in `docs/hardening.md`, ## Fuzzing).

use hellowatt_fixtures::{
    Exchange, Replay, ReplayRequest, Scenario, load_scenarios, query_pairs, scenarios_dir,
};
use hellowatt_guest::api::{self, SyncRequest};
use hellowatt_guest::errors;
use hellowatt_guest::logging::NoLog;
use hellowatt_guest::parse::{self, typed};
use hellowatt_guest::session::{self, CookieJar};
use hellowatt_guest::transport::{self, BaseUrl, Request, Response, Transport};
use hellowatt_snapshot::{Date, SyncError};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

const ORIGIN: &str = "https://www.hellowatt.fr";

/// Cases per property: `PROPTEST_CASES` when set, else a count that keeps
/// the whole file to a few seconds in CI.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        // A failure is shrunk and printed; no persistence file in the repo.
        failure_persistence: None,
        ..Config::default()
    }
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// The shared scenarios, loaded once (empty when there are none).
fn scenarios() -> &'static [Scenario] {
    static S: OnceLock<Vec<Scenario>> = OnceLock::new();
    S.get_or_init(|| {
        let dir = scenarios_dir();
        if dir.is_dir() {
            load_scenarios(&dir).expect("the shared scenarios load")
        } else {
            Vec::new()
        }
    })
}

/// Every response body of the scenarios, and the JSON ones parsed.
fn bodies() -> &'static (Vec<Vec<u8>>, Vec<Value>) {
    static B: OnceLock<(Vec<Vec<u8>>, Vec<Value>)> = OnceLock::new();
    B.get_or_init(|| {
        let mut raw: Vec<Vec<u8>> = scenarios()
            .iter()
            .flat_map(|s| s.exchanges.iter().map(|e| e.response.body.clone()))
            .filter(|b| !b.is_empty())
            .collect();
        raw.sort();
        raw.dedup();
        // A body of every shape even without shared scenarios.
        raw.push(
            br#"{"values":[{"datetime":"2026-01-05T00:00:00+01:00","kwhDetailed":{"HC":1.5},"eurosDetailed":{"HC":0.3,"subscription":0.4}}]}"#
                .to_vec(),
        );
        let json = raw
            .iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect();
        (raw, json)
    })
}

/// Arbitrary JSON, small but of every kind, with the keys the parsers look
/// for more likely than chance would make them.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("values".to_string()),
        Just("datetime".to_string()),
        Just("kwhDetailed".to_string()),
        Just("eurosDetailed".to_string()),
        Just("valueCelsius".to_string()),
        Just("id".to_string()),
        Just("error".to_string()),
        Just("isFetchOngoing".to_string()),
        Just("contracts".to_string()),
        Just("meters".to_string()),
        "[a-zA-Z_]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("2026-01-05T00:00:00+01:00")),
        Just(json!("2026-02-30T00:00:00+01:00")),
        Just(json!("2026-01-05T00:00:00+0é")),
        Just(json!("2026-01-05T00:00:00+aéb")),
    ];
    leaf.prop_recursive(6, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Number of values in a JSON tree: a bound on what a parser may return.
fn size(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(size).sum(),
        Value::Object(o) => o.values().map(size).sum(),
        _ => 0,
    }
}

/// Every parser entry point on one value. Each returns `Ok` or a typed
/// `ShapeError`; the records are bounded by the input.
fn every_parser(v: &Value) {
    let (start, end) = (d("2026-01-01"), d("2026-01-31"));
    let n = size(v);
    let _ = parse::describe(v);
    if let Ok(homes) = parse::homes(v) {
        assert!(homes.len() <= n);
    }
    if let Ok(c) = parse::contracts(v, "1") {
        assert!(c.len() <= n);
    }
    let _ = parse::daily_reading(v, "", "01234567890123");
    if let Ok(p) = parse::daily(v, "01234567890123", start, end) {
        assert!(p.records.len() <= n);
        for r in &p.records {
            assert!(start <= r.date && r.date <= end, "{:?}", r.date);
            let _ = parse::tempo_day(r);
            let _ = parse::tempo_colour(&r.periods);
        }
    }
    if let Ok(p) = parse::curve(v, "01234567890123", start, end) {
        assert!(p.records.len() <= n);
    }
    if let Ok(p) = parse::temperatures(v, "1", start, end) {
        assert!(p.records.len() <= n);
    }
    if let Value::Object(o) = v {
        let _ = parse::window_status(o, true);
        let _ = parse::window_status(o, false);
    }
}

/// The typed reading of a measure payload ([`typed`]) against the
/// `Value` way ([`parse`]) over the same bytes: whenever it gives a page,
/// the `Value` way gives that very page (records, status, days set aside),
/// or refuses bytes that are not JSON it can hold (the typed reading skips
/// the fields it does not read). Returns whether the typed reading took
/// the payload, (daily, curve).
fn typed_agrees(body: &[u8], start: Date, end: Date) -> (bool, bool) {
    let value = serde_json::from_slice::<Value>(body).ok();
    let meter = "01234567890123";
    let daily = typed::daily(body, meter, start, end);
    let curve = typed::curve(body, meter, start, end);
    if let Some(v) = &value {
        if let Some(page) = &daily {
            assert_eq!(Ok(page), parse::daily(v, meter, start, end).as_ref());
        }
        if let Some(page) = &curve {
            assert_eq!(Ok(page), parse::curve(v, meter, start, end).as_ref());
        }
    }
    (daily.is_some(), curve.is_some())
}

/// Every measure answer recorded in the shared scenarios (daily
/// electricity and gas, the curve) is read the typed way, and gives the
/// records the `Value` way gives: in the window it was asked for, in a
/// week of it (days set aside), and in a window wide enough for all.
#[test]
fn the_typed_reading_gives_the_value_way_s_records_for_every_recorded_answer() {
    let mut read = 0;
    for s in scenarios() {
        for e in &s.exchanges {
            let path = &e.request.path;
            let (is_daily, is_curve) = (path.ends_with("/conso_daily"), path.ends_with("/courbe"));
            if !(is_daily || is_curve) || !(200..300).contains(&e.response.status) {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<Value>(&e.response.body) else {
                continue;
            };
            let start = query_pairs(&e.request.query)
                .into_iter()
                .find(|(k, _)| k == "startDate")
                .and_then(|(_, v)| Date::parse(v.get(..10)?).ok())
                .unwrap_or_else(|| d("2026-01-01"));
            let windows = [
                (start, start.add_days(30)),
                (start, start.add_days(6)),
                (d("2000-01-01"), d("2099-12-31")),
            ];
            for (ws, we) in windows {
                let (daily, curve) = typed_agrees(&e.response.body, ws, we);
                // The fast path is taken wherever the `Value` way reads the
                // answer (today's names; test builds that rename take the
                // `Value` way only).
                let expect = !cfg!(any(feature = "v2", feature = "values-renamed"));
                let meter = "01234567890123";
                if is_daily && parse::daily(&v, meter, ws, we).is_ok() {
                    assert_eq!(daily, expect, "{} {}", s.name, e.request.line());
                }
                if is_curve && parse::curve(&v, meter, ws, we).is_ok() {
                    assert_eq!(curve, expect, "{} {}", s.name, e.request.line());
                }
            }
            read += 1;
        }
    }
    assert!(
        scenarios().is_empty() || read > 10,
        "only {read} measure answers in the scenarios"
    );
}

/// All JSON pointers of a tree, for picking a subtree to replace.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// One byte-level mutation of a body.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    /// `{"k":…` becomes `{"k":…,"k":…`: serde_json keeps the last.
    DuplicateKeys,
    /// Every number token becomes a 400-digit one (or `1e999`).
    HugeNumbers {
        exponent: bool,
    },
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (
            any::<usize>(),
            prop_oneof![
                Just(b"null".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"{".to_vec()),
                Just(b"]".to_vec()),
                Just(b",".to_vec()),
                Just(b"\\u0000".to_vec()),
                Just("é".as_bytes().to_vec()),
                prop::collection::vec(any::<u8>(), 1..8),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        Just(Mutation::DuplicateKeys),
        any::<bool>().prop_map(|exponent| Mutation::HugeNumbers { exponent }),
    ]
}

fn apply(body: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = body.to_vec();
    for m in ms {
        match m {
            Mutation::Flip { at, bit } if !b.is_empty() => {
                let i = at % b.len();
                b[i] ^= 1 << bit;
            }
            Mutation::Flip { .. } => {}
            Mutation::Truncate { at } => b.truncate(at % (b.len() + 1)),
            Mutation::Insert { at, bytes } => {
                let i = at % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::DuplicateKeys => {
                // Repeat each `"key":scalar` once, textually.
                let s = String::from_utf8_lossy(&b).into_owned();
                let mut out = String::with_capacity(s.len() * 2);
                for part in s.split_inclusive(',') {
                    out.push_str(part);
                    if part.contains("\":") && !part.contains('{') && !part.contains('[') {
                        let dup = part.trim_end_matches(',');
                        out.push_str(dup.trim_start_matches(['{', ' ']));
                        out.push(',');
                    }
                }
                b = out.into_bytes();
            }
            Mutation::HugeNumbers { exponent } => {
                let s = String::from_utf8_lossy(&b).into_owned();
                let huge = if *exponent {
                    "1e999".to_string()
                } else {
                    "9".repeat(400)
                };
                let mut out = String::with_capacity(s.len());
                let mut in_number = false;
                for c in s.chars() {
                    if c.is_ascii_digit() {
                        if !in_number {
                            out.push_str(&huge);
                        }
                        in_number = true;
                    } else {
                        in_number = false;
                        out.push(c);
                    }
                }
                b = out.into_bytes();
            }
        }
    }
    b
}

/// A cassette transport whose answers can be mutated; counts requests.
struct Mutated {
    replay: Replay,
    /// Which answer (by order) to mutate, and how.
    victim: usize,
    body: Vec<Mutation>,
    status: Option<u16>,
    header: Option<(String, String)>,
    sent: usize,
}

impl Transport for Mutated {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        self.sent += 1;
        let r = ReplayRequest {
            method: req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        };
        let Ok(resp) = self.replay.answer(&r) else {
            return Err(transport::denied(ORIGIN, &req.path));
        };
        let mut resp = Response {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
        };
        if self.sent - 1 == self.victim {
            resp.body = apply(&resp.body, &self.body);
            if let Some(s) = self.status {
                resp.status = s;
            }
            if let Some(h) = &self.header {
                resp.headers.push(h.clone());
            }
        }
        Ok(resp)
    }
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

fn arb_header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            Just("set-cookie".to_string()),
            Just("retry-after".to_string()),
            Just("date".to_string()),
            Just("content-type".to_string()),
            Just("location".to_string()),
            "[a-z-]{1,12}",
        ],
        prop_oneof![
            ".{0,60}",
            Just("sessionid=; Max-Age=-1".to_string()),
            Just("csrftoken=\u{0}; Path=/".to_string()),
            Just("Sun, 06 Nov 1994 08:49:37 GMT".to_string()),
            Just("Sunday, 06-Nov-94 08:49:37 GMT".to_string()),
            Just("Sun Nov  6 08:49:37 1994".to_string()),
            Just("99999999999999999999999".to_string()),
            Just("text/html; charset=utf-8".to_string()),
        ],
    )
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON into every parser.
    #[test]
    fn parsers_take_any_json(v in arb_json()) {
        every_parser(&v);
        let body = serde_json::to_vec(&v).expect("a Value serialises");
        typed_agrees(&body, d("2026-01-01"), d("2026-01-31"));
    }

    /// A fixture body with one subtree replaced by arbitrary JSON: the
    /// shapes the parsers know, broken in one place.
    #[test]
    fn parsers_take_mutated_fixture_json(pick in any::<usize>(), at in any::<usize>(), with in arb_json()) {
        let json = &bodies().1;
        let mut v = json[pick % json.len()].clone();
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        let ptr = &ptrs[at % ptrs.len()];
        if ptr.is_empty() {
            v = with;
        } else if let Some(slot) = v.pointer_mut(ptr) {
            *slot = with;
        }
        every_parser(&v);
        let body = serde_json::to_vec(&v).expect("a Value serialises");
        typed_agrees(&body, d("2026-01-01"), d("2026-01-31"));
        typed_agrees(&body, d("2000-01-01"), d("2099-12-31"));
    }

    /// A fixture body mutated byte by byte: serde_json reads it or refuses
    /// it; what it reads goes to every parser.
    #[test]
    fn parsers_take_byte_mutated_bodies(pick in any::<usize>(), ms in prop::collection::vec(arb_mutation(), 1..4)) {
        let raw = &bodies().0;
        let body = apply(&raw[pick % raw.len()], &ms);
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            every_parser(&v);
        }
        typed_agrees(&body, d("2000-01-01"), d("2099-12-31"));
        let html = String::from_utf8_lossy(&body);
        let _ = session::form_token(&html);
        let _ = errors::page_title(&html);
        let resp = Response { status: 200, headers: vec![("content-type".into(), "application/json".into())], body };
        let _ = errors::expect_json("GET /x", &resp);
        let _ = errors::maintenance_title(&resp);
        let _ = errors::looks_like_html(&resp);
    }

    /// The whole flow over a scenario's cassette, one answer mutated (its
    /// body, status or a header): `sync` returns records or a typed error,
    /// and sends no more requests than the cassette holds plus re-logins.
    #[test]
    fn the_flow_takes_a_mutated_cassette(
        pick in any::<usize>(),
        victim in any::<usize>(),
        body in prop::collection::vec(arb_mutation(), 0..3),
        status in prop::option::of(prop_oneof![Just(200u16), Just(302), Just(401), Just(403), Just(429), Just(500), Just(503), 100u16..600]),
        header in prop::option::of(arb_header()),
    ) {
        let all = scenarios();
        prop_assume!(!all.is_empty());
        let s = &all[pick % all.len()];
        let exchanges: Vec<Exchange> = s.exchanges.clone();
        let n = exchanges.len();
        let mut t = Mutated {
            replay: Replay::new(exchanges, ORIGIN, false),
            victim: victim % n.max(1),
            body,
            status,
            header,
            sent: 0,
        };
        let mut session = None;
        let result = api::sync(&mut t, &mut session, &sync_request(s), &mut NoLog);
        // A refusal is typed by construction (`SyncError`); records that
        // come back are inside the asked window.
        if let Ok(snap) = &result {
            for r in &snap.daily {
                prop_assert!(s.request.start <= r.date && r.date <= s.request.end);
            }
        }
        // A re-login per call at most doubles the traffic.
        prop_assert!(t.sent <= 2 * n + 4, "{} requests for a cassette of {n}", t.sent);
    }

    /// Headers and log-in answers: cookies, CSRF token, Retry-After, dates.
    #[test]
    fn headers_and_login_answers(
        headers in prop::collection::vec(arb_header(), 0..6),
        status in 100u16..600,
        body in ".{0,200}",
        url in ".{0,60}",
    ) {
        let resp = Response { status, headers: headers.clone(), body: body.clone().into_bytes() };
        let mut jar = CookieJar::default();
        jar.absorb(&resp);
        for (_, v) in &headers {
            let _ = session::parse_set_cookie(v);
            jar.apply(v);
            let _ = hellowatt_guest_kit::errors::parse_http_date(v);
            let _ = hellowatt_snapshot::parse_timestamp(v);
        }
        let _ = jar.get("csrftoken");
        let _ = session::read_login_answer("POST /login", &resp);
        let _ = errors::check_status("GET /api/homes", &resp);
        let _ = errors::retry_after_seconds(&resp);
        let _ = session::form_token(&body);
        let _ = BaseUrl::parse(&url);
        let _ = session::form_encode(&body);
        let _ = api::query_encode(&body);
        let _ = errors::short(&body);
    }

    /// Timestamps as the site writes them, and near misses.
    #[test]
    fn timestamps(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,9})?(Z|[+-][0-9:]{1,6}|[+-]é[0-9:]{0,4})?") {
        let _ = hellowatt_snapshot::parse_timestamp(&s);
    }
}

/// serde_json's recursion limit (128) holds: 10 000 levels of nesting are
/// refused, not a stack overflow, in arrays, objects and a fixture.
#[test]
fn deep_nesting_is_refused() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let body = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        let e = serde_json::from_str::<Value>(&body).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }
    let values = format!(
        "{{\"values\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(serde_json::from_str::<Value>(&values).is_err());
    let resp = Response {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: values.into_bytes(),
    };
    assert!(errors::expect_json("GET /api/homes", &resp).is_err());
}

/// Found by `parsers_take_any_json`: a timestamp whose 4-byte offset holds
/// a multi-byte character across its second byte (`+aéb`) made
/// `hellowatt_snapshot::parse_timestamp` panic (a slice off a char
/// boundary), so such a `datetime` trapped the guest instead of returning
/// `site-changed`. Fixed in `snapshot/src/date.rs`.
#[test]
fn multibyte_offset_is_refused_not_a_panic() {
    let r =
        std::panic::catch_unwind(|| hellowatt_snapshot::parse_timestamp("2026-01-05T00:00:00+aéb"));
    assert!(matches!(r, Ok(Err(_))), "{r:?}");
}
