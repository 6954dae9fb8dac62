//! The simulated RTE EcoWatt service: a real HTTP server on a local address
//! answering like `https://digital.iservices.rte-france.com` does for the
//! EcoWatt signals, version 5 (OAuth2 client credentials, then
//! `GET /open_api/ecowatt/v5/signals`), so that a guest written for the
//! real service works against it unchanged, only pointed at another origin.
//!
//! What is modelled on evidence and what is inferred (the public clients'
//! code, fixtures and logged answers; no RTE guide was at hand):
//! - **Seen**: the token request (`POST /token/oauth/`, `Authorization:
//!   Basic base64(id:secret)`, a form body that is empty or
//!   `grant_type=client_credentials`) and its answer (`access_token`,
//!   `token_type: "Bearer"`, `expires_in` 7 200); the signals' shape
//!   (`signals[]` of days with `GenerationFichier`, `jour` at Paris
//!   midnight with its offset, `dvalue` 1 to 3, a free `message`, `values[]`
//!   of `{pas, hvalue}` with `hvalue` 0 to 3); four days, today and the next
//!   three; `GenerationFichier` the day before at 23:00; a second call
//!   within 15 minutes refused with 429.
//! - **Inferred**: the status of refused credentials (401 here) and the
//!   bodies of every error (RTE's envelope `error`, `error_description`,
//!   `error_uri`, `error_details.transaction_id`, seen on a 500); no
//!   `Retry-After` on a 429 (none was ever seen: a client must wait its 15
//!   minutes itself); a 23- or 25-hour day has 23 or 25 `pas` counted in
//!   elapsed hours (the clients disagree; a guest must not rely on 24).
//!
//! # What it owns
//! - The levels: from the same Tempo calendar as the simulated helloWatt
//!   site (`demo.rs`), so that the demo's stories agree: orange mornings
//!   and evenings on white days, red evenings on red days, low-carbon
//!   green (0) at night and, from April to September, at midday.
//! - The clients' credentials ([`DEMO_RTE_CLIENT_ID`] and its secret),
//!   the tokens it hands out (recorded with the other sites' secrets:
//!   [`crate::issued_secrets`]), their expiry, and the rate limit per
//!   client ([`RATE_LIMIT_SECS`]).
//! - The modes a test sets ([`EcoWattSimMode`]).
//!
//! # What it must never do
//! Connect anywhere, log a secret or a token (the served lines carry the
//! method, the path and the status), or be used by the production sync
//! path: only tests and the demo start it.

use super::demo::{Colour, TempoCalendar};
use super::wire::Reply;
use crate::serve::Recorded;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use hellowatt_snapshot::{Date, paris_iso};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The demo's RTE application: what `hellowatt demo` and the tests
/// configure (an RTE account gives each application its own pair).
pub const DEMO_RTE_CLIENT_ID: &str = "5f1b8c9e-demo-4e7a-9c3d-hellowatt0001";
pub const DEMO_RTE_CLIENT_SECRET: &str = "d3m0-Rte-s3cret-0b7c2a91f4";

/// The signals may be asked once per client every 15 minutes.
pub const RATE_LIMIT_SECS: i64 = 900;
/// How long a token lives.
pub const TOKEN_LIFETIME_SECS: i64 = 7200;

pub const TOKEN_PATH: &str = "/token/oauth/";
pub const SIGNALS_PATH: &str = "/open_api/ecowatt/v5/signals";

/// How the service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcoWattSimMode {
    /// Four days, today and the next three.
    Normal,
    /// Today only: tomorrow's signal is not published yet.
    TodayOnly,
    /// Every token request refused as bad credentials.
    TokenRefused,
    /// Every signals call answered 429, as if another client of the same
    /// application had just called.
    RateLimited,
    /// The answer's shape changed (`signaux`, `heure`, `niveau`): what a
    /// guest written for today's shape must call a site change.
    Changed,
    /// Every request gets 503.
    Down,
    /// Four days, and the answer echoes the request's `Authorization`
    /// header (a careless server, or a debugging proxy): what the host
    /// must scrub before a guest reads it.
    EchoAuthorization,
}

struct Issued {
    client: String,
    expires: i64,
}

struct State_ {
    mode: EcoWattSimMode,
    /// `None`: the system clock.
    now: Option<i64>,
    calendar: TempoCalendar,
    /// Client id -> secret.
    clients: HashMap<String, String>,
    tokens: HashMap<String, Issued>,
    /// Client id -> time of its last answered signals call.
    last_call: HashMap<String, i64>,
    transactions: u64,
}

/// A running simulated EcoWatt service.
pub struct EcoWattSim {
    served: crate::serve::Served,
    shared: Arc<Recorded<State_>>,
}

/// Starts the service on `listen` (port 0: any free port), knowing the
/// demo's application.
pub async fn start_ecowatt(listen: SocketAddr, mode: EcoWattSimMode) -> anyhow::Result<EcoWattSim> {
    let listening = crate::serve::listen(listen, "simulated EcoWatt service").await?;
    let shared = Arc::new(Recorded::new(State_::new(mode, None)));
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&shared));
    Ok(EcoWattSim {
        served: listening.serve(app, "simulated EcoWatt service"),
        shared,
    })
}

impl EcoWattSim {
    /// The origin to point the guest at: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.served.url.clone()
    }

    pub fn set_mode(&self, mode: EcoWattSimMode) {
        self.shared.state().mode = mode;
    }

    /// Fixes the service's clock (seconds since the epoch); `None` goes
    /// back to the system clock.
    pub fn set_now(&self, now: Option<i64>) {
        self.shared.state().now = now;
    }

    /// Forgets every client's last call (a test that does not want to
    /// wait 15 minutes between two scenarios).
    pub fn reset_rate_limit(&self) {
        self.shared.state().last_call.clear();
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests()
    }

    /// `GET /open_api/ecowatt/v5/signals -> 200` lines, in order.
    pub fn served(&self) -> Vec<String> {
        self.shared.served()
    }

    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

/// The level of each hour of `day` (`pas` 0 to 22, 23 or 24 on the days
/// the clocks change): 0 low-carbon green, 1 green, 2 orange, 3 red.
fn hourly_levels(calendar: &mut TempoCalendar, day: Date) -> Vec<u8> {
    let colour = calendar.colour(day);
    let summer = (4..=9).contains(&day.month);
    (0..day.paris_day_hours())
        .map(|pas| match (colour, pas) {
            (Colour::Red, 18..=20) => 3,
            (Colour::Red | Colour::White, 8..=10 | 18..=20) => 2,
            (_, 2..=5) => 0,
            (_, 12..=15) if summer => 0,
            _ => 1,
        })
        .collect()
}

const MESSAGES: [&str; 3] = [
    "Pas d\u{2019}alerte.",
    " Le système électrique se trouve dans une situation tendue. Les écogestes citoyens sont \
     les bienvenus. ",
    " Le système électrique se trouve dans une situation très tendue. Des coupures sont \
     inévitables si nous ne baissons pas notre consommation. ",
];

impl State_ {
    fn new(mode: EcoWattSimMode, now: Option<i64>) -> State_ {
        State_ {
            mode,
            now,
            calendar: TempoCalendar::default(),
            clients: HashMap::from([(
                DEMO_RTE_CLIENT_ID.to_string(),
                DEMO_RTE_CLIENT_SECRET.to_string(),
            )]),
            tokens: HashMap::new(),
            last_call: HashMap::new(),
            transactions: 0,
        }
    }

    fn now(&self) -> i64 {
        self.now.unwrap_or_else(crate::now_utc)
    }

    /// RTE's error envelope, with a transaction id.
    fn error(&mut self, status: u16, code: &str, description: &str) -> Reply {
        self.transactions += 1;
        Reply::json(
            status,
            &json!({
                "error": code,
                "error_description": description,
                "error_uri": "",
                "error_details": {"transaction_id": format!("Id-sim{:012}", self.transactions)},
            }),
        )
    }

    fn token(&mut self, authorization: Option<&str>, body: &[u8]) -> Reply {
        let form = String::from_utf8_lossy(body);
        let form_ok = form.trim().is_empty() || form.trim() == "grant_type=client_credentials";
        let client = authorization
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| {
                self.clients
                    .iter()
                    .find(|(id, secret)| base64(format!("{id}:{secret}").as_bytes()) == b.trim())
                    .map(|(id, _)| id.clone())
            });
        match client {
            Some(client) if form_ok && self.mode != EcoWattSimMode::TokenRefused => {
                let token = crate::tokens::new_bearer_token();
                let expires = self.now() + TOKEN_LIFETIME_SECS;
                self.tokens
                    .insert(token.clone(), Issued { client, expires });
                Reply::json(
                    200,
                    &json!({
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": TOKEN_LIFETIME_SECS,
                    }),
                )
            }
            Some(_) if !form_ok => self.error(
                400,
                "invalid_request",
                "grant_type must be client_credentials",
            ),
            _ => self.error(401, "invalid_client", "Client authentication failed"),
        }
    }

    fn signals(&mut self, authorization: Option<&str>) -> Reply {
        let now = self.now();
        let client = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t.trim()))
            .filter(|issued| issued.expires > now)
            .map(|issued| issued.client.clone());
        let Some(client) = client else {
            return self.error(
                401,
                "invalid_token",
                "The access token is missing, unknown or expired",
            );
        };
        let limited = self.mode == EcoWattSimMode::RateLimited
            || self
                .last_call
                .get(&client)
                .is_some_and(|last| now - last < RATE_LIMIT_SECS);
        if limited {
            return self.error(
                429,
                "TOO_MANY_REQUESTS",
                "Rate limit exceeded: one call every 15 minutes",
            );
        }
        self.last_call.insert(client, now);
        let today = Date::paris_day_of(now);
        let days = if self.mode == EcoWattSimMode::TodayOnly {
            1
        } else {
            4
        };
        let changed = self.mode == EcoWattSimMode::Changed;
        let signals: Vec<Value> = (0..days)
            .map(|i| {
                let day = today.add_days(i);
                let levels = hourly_levels(&mut self.calendar, day);
                let dvalue = levels.iter().copied().max().unwrap_or(1).max(1);
                let values: Vec<Value> = levels
                    .iter()
                    .enumerate()
                    .map(|(pas, h)| {
                        if changed {
                            json!({"heure": pas, "niveau": h})
                        } else {
                            json!({"pas": pas, "hvalue": h})
                        }
                    })
                    .collect();
                json!({
                    "GenerationFichier": paris_iso(today.paris_midnight_utc() - 3600),
                    "jour": day.paris_midnight_iso(),
                    "dvalue": dvalue,
                    "message": MESSAGES[usize::from(dvalue - 1)],
                    "values": values,
                })
            })
            .collect();
        let key = if changed { "signaux" } else { "signals" };
        let mut answer = serde_json::Map::new();
        answer.insert(key.to_string(), Value::Array(signals));
        if self.mode == EcoWattSimMode::EchoAuthorization {
            answer.insert(
                "debug".to_string(),
                json!({"authorization": authorization.unwrap_or_default()}),
            );
        }
        Reply::json(200, &Value::Object(answer))
    }

    fn answer(
        &mut self,
        method: &http::Method,
        path: &str,
        auth: Option<&str>,
        body: &[u8],
    ) -> Reply {
        if self.mode == EcoWattSimMode::Down {
            return Reply::html(
                503,
                "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".into(),
            );
        }
        match (method.as_str(), path) {
            ("POST", TOKEN_PATH) => self.token(auth, body),
            ("GET", SIGNALS_PATH) => self.signals(auth),
            (_, TOKEN_PATH) => Reply::new(405).header("Allow", "POST"),
            (_, SIGNALS_PATH) => Reply::new(405).header("Allow", "GET"),
            _ => self.error(404, "NOT_FOUND", "Resource not found"),
        }
    }
}

/// Standard base64 with padding (the `Basic` credentials).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn handle(State(shared): State<Arc<Recorded<State_>>>, request: Request) -> Response {
    shared.arrived();
    let (parts, body) = request.into_parts();
    // Token requests are small; anything bigger is refused as a bad form.
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let auth = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let reply = shared.state().answer(&parts.method, &path, auth, &body);
    shared.answered(
        "simulated EcoWatt service",
        &parts.method,
        &path,
        reply.status,
    );
    reply.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, h: u8, m: u8) -> i64 {
        Date::parse(date).unwrap().paris_time_utc(h, m)
    }

    fn body(r: &Reply) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    fn basic() -> String {
        format!(
            "Basic {}",
            base64(format!("{DEMO_RTE_CLIENT_ID}:{DEMO_RTE_CLIENT_SECRET}").as_bytes())
        )
    }

    fn token(s: &mut State_) -> String {
        let r = s.answer(&http::Method::POST, TOKEN_PATH, Some(&basic()), b"");
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(
            (b["token_type"].as_str(), b["expires_in"].as_i64()),
            (Some("Bearer"), Some(7200))
        );
        format!("Bearer {}", b["access_token"].as_str().unwrap())
    }

    #[test]
    fn base64_is_the_standard_one() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"id:s3cr3t?"), "aWQ6czNjcjN0Pw==");
    }

    #[test]
    fn a_token_then_four_days_then_the_rate_limit() {
        let get = http::Method::GET;
        let mut s = State_::new(EcoWattSimMode::Normal, Some(at("2026-10-24", 18, 0)));
        // Without or with a wrong token: 401.
        assert_eq!(s.answer(&get, SIGNALS_PATH, None, b"").status, 401);
        assert_eq!(
            s.answer(&get, SIGNALS_PATH, Some("Bearer nope"), b"")
                .status,
            401
        );
        let bearer = token(&mut s);
        let r = s.answer(&get, SIGNALS_PATH, Some(&bearer), b"");
        assert_eq!(r.status, 200);
        let days = body(&r)["signals"].as_array().unwrap().clone();
        assert_eq!(days.len(), 4);
        assert_eq!(days[0]["jour"], "2026-10-24T00:00:00+02:00");
        assert_eq!(days[0]["GenerationFichier"], "2026-10-23T23:00:00+02:00");
        // The 25-hour day has 25 hours, the next days 24.
        assert_eq!(days[1]["jour"], "2026-10-25T00:00:00+02:00");
        let hours: Vec<usize> = days
            .iter()
            .map(|d| d["values"].as_array().unwrap().len())
            .collect();
        assert_eq!(hours, [24, 25, 24, 24]);
        for d in &days {
            let levels: Vec<u64> = d["values"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    assert_eq!(v["pas"], i);
                    v["hvalue"].as_u64().unwrap()
                })
                .collect();
            assert!(levels.iter().all(|l| *l <= 3));
            let worst = levels.iter().copied().max().unwrap().max(1);
            assert_eq!(d["dvalue"], worst);
        }
        // Within 15 minutes: 429, no Retry-After; after, again.
        s.now = Some(at("2026-10-24", 18, 14));
        let r = s.answer(&get, SIGNALS_PATH, Some(&bearer), b"");
        assert_eq!(r.status, 429);
        assert!(
            !r.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        );
        assert_eq!(body(&r)["error"], "TOO_MANY_REQUESTS");
        s.now = Some(at("2026-10-24", 18, 15));
        assert_eq!(s.answer(&get, SIGNALS_PATH, Some(&bearer), b"").status, 200);
        // The token expires after two hours.
        s.now = Some(at("2026-10-24", 20, 1));
        assert_eq!(s.answer(&get, SIGNALS_PATH, Some(&bearer), b"").status, 401);
    }

    #[test]
    fn credentials_and_forms() {
        let post = http::Method::POST;
        let mut s = State_::new(EcoWattSimMode::Normal, Some(at("2026-11-28", 12, 0)));
        let wrong = format!(
            "Basic {}",
            base64(format!("{DEMO_RTE_CLIENT_ID}:wrong").as_bytes())
        );
        let r = s.answer(&post, TOKEN_PATH, Some(&wrong), b"");
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert!(!String::from_utf8_lossy(&r.body).contains(DEMO_RTE_CLIENT_SECRET));
        assert_eq!(s.answer(&post, TOKEN_PATH, None, b"").status, 401);
        assert_eq!(
            s.answer(
                &post,
                TOKEN_PATH,
                Some(&basic()),
                b"grant_type=client_credentials"
            )
            .status,
            200
        );
        assert_eq!(
            s.answer(&post, TOKEN_PATH, Some(&basic()), b"grant_type=password")
                .status,
            400
        );
        assert_eq!(
            s.answer(&http::Method::GET, TOKEN_PATH, Some(&basic()), b"")
                .status,
            405
        );
        s.mode = EcoWattSimMode::TokenRefused;
        assert_eq!(s.answer(&post, TOKEN_PATH, Some(&basic()), b"").status, 401);
    }

    #[test]
    fn modes() {
        let get = http::Method::GET;
        let mut s = State_::new(EcoWattSimMode::TodayOnly, Some(at("2026-11-28", 12, 0)));
        let bearer = token(&mut s);
        let r = s.answer(&get, SIGNALS_PATH, Some(&bearer), b"");
        assert_eq!(body(&r)["signals"].as_array().unwrap().len(), 1);
        s.last_call.clear();
        s.mode = EcoWattSimMode::Changed;
        let r = body(&s.answer(&get, SIGNALS_PATH, Some(&bearer), b""));
        assert!(r.get("signals").is_none() && r["signaux"][0]["values"][0].get("heure").is_some());
        s.last_call.clear();
        s.mode = EcoWattSimMode::RateLimited;
        assert_eq!(s.answer(&get, SIGNALS_PATH, Some(&bearer), b"").status, 429);
        s.mode = EcoWattSimMode::Down;
        assert_eq!(s.answer(&get, SIGNALS_PATH, Some(&bearer), b"").status, 503);
    }

    /// Over HTTP: the Basic credentials and the form body read from the
    /// request, the bearer token taken, the served lines free of secrets,
    /// the issued token recorded for the secrets scans.
    #[tokio::test]
    async fn over_http() {
        let sim = start_ecowatt("127.0.0.1:0".parse().unwrap(), EcoWattSimMode::Normal)
            .await
            .unwrap();
        let mut c = crate::testing::Client::new(&sim.url());
        let basic = basic();
        let form = [
            ("Authorization", basic.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let t = c
            .send("POST", TOKEN_PATH, &form, b"grant_type=client_credentials")
            .await;
        assert_eq!(t.status, 200, "{}", t.text());
        let token = t.json()["access_token"].as_str().unwrap().to_string();
        assert!(crate::issued_secrets().contains(&token));
        let bearer = format!("Bearer {token}");
        let r = c
            .send("GET", SIGNALS_PATH, &[("Authorization", &bearer)], b"")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["signals"].as_array().unwrap().len(), 4);
        let again = c
            .send("GET", SIGNALS_PATH, &[("Authorization", &bearer)], b"")
            .await;
        assert_eq!(again.status, 429);
        sim.reset_rate_limit();
        let r = c
            .send("GET", SIGNALS_PATH, &[("Authorization", &bearer)], b"")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            sim.served(),
            [
                format!("POST {TOKEN_PATH} -> 200"),
                format!("GET {SIGNALS_PATH} -> 200"),
                format!("GET {SIGNALS_PATH} -> 429"),
                format!("GET {SIGNALS_PATH} -> 200"),
            ]
        );
        assert_eq!(sim.requests(), 4);
        sim.shutdown().await;
    }

    /// The levels follow the Tempo calendar: red evenings on red days,
    /// orange on white days, never worse than green on blue days.
    #[test]
    fn levels_follow_the_tempo_colours() {
        let mut calendar = TempoCalendar::default();
        let (mut red, mut white) = (0, 0);
        let mut d = Date::parse("2025-11-01").unwrap();
        while d <= Date::parse("2026-03-31").unwrap() {
            let levels = hourly_levels(&mut calendar, d);
            let worst = levels.iter().copied().max().unwrap();
            match calendar.colour(d) {
                Colour::Red => {
                    red += 1;
                    assert_eq!(worst, 3, "{d}");
                }
                Colour::White => {
                    white += 1;
                    assert_eq!(worst, 2, "{d}");
                }
                Colour::Blue => assert!(worst <= 1, "{d}"),
            }
            d = d.succ();
        }
        assert!(red > 0 && white > 0, "the winter has red and white days");
    }
}
