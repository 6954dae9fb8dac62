//! The simulated public Tempo services: a real HTTP server on a local
//! address answering like `https://www.api-couleur-tempo.fr`
//! (`GET /api/jourTempo/{today|tomorrow|YYYY-MM-DD}`) and RTE's
//! `https://www.services-rte.com` (`GET /cms/open_data/v1/tempoLight`), so
//! that the `tempo` guest written for the real services works against it
//! unchanged, only pointed at another origin.
//!
//! # What it owns
//! - The colours: the same calendar as the simulated helloWatt site's
//!   tariff keys (`demo.rs`), so that the two sources agree unless a test
//!   overrides a day ([`TempoSim::override_colour`]).
//! - The announcement: a day's colour is known once the day has begun, and
//!   the day before from [`ANNOUNCED_AT`] (Paris time); before that,
//!   `codeJour` is 0 and tempoLight leaves the day out. The clock is the
//!   system's unless a test sets it ([`TempoSim::set_now`]).
//! - Which API answers ([`TempoSimMode`]): both, one of them (the other
//!   answers 404, as a wrong path does), or neither (503 with
//!   `Retry-After`, a service down).
//!
//! # What it must never do
//! Connect anywhere, or be used by the production sync path: only tests and
//! the demo start it.

use super::demo::{Colour, TempoCalendar};
use super::wire::Reply;
use crate::serve::Recorded;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use hellowatt_snapshot::{Date, TempoSeason};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Paris time from which tomorrow's colour is known (RTE publishes it at
/// about 10:40).
pub const ANNOUNCED_AT: (u8, u8) = (10, 40);

/// Which of the two APIs answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TempoSimMode {
    /// Both paths answer (one origin serving both APIs).
    Both,
    /// Only api-couleur-tempo.fr's `jourTempo`; tempoLight answers 404.
    Primary,
    /// Only RTE's tempoLight; `jourTempo` answers 404.
    Rte,
    /// Every request gets 503 with `Retry-After: 60`.
    Down,
}

struct State_ {
    mode: TempoSimMode,
    /// `None`: the system clock.
    now: Option<i64>,
    calendar: TempoCalendar,
    overrides: HashMap<Date, Colour>,
}

/// A running simulated Tempo service.
pub struct TempoSim {
    served: crate::serve::Served,
    shared: Arc<Recorded<State_>>,
}

/// Starts the service on `listen` (port 0 for an ephemeral port).
pub async fn start_tempo(listen: SocketAddr, mode: TempoSimMode) -> anyhow::Result<TempoSim> {
    let listening = crate::serve::listen(listen, "simulated Tempo service").await?;
    let shared = Arc::new(Recorded::new(State_ {
        mode,
        now: None,
        calendar: TempoCalendar::default(),
        overrides: HashMap::new(),
    }));
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&shared));
    Ok(TempoSim {
        served: listening.serve(app, "simulated Tempo service"),
        shared,
    })
}

impl TempoSim {
    /// The origin to point the guest at: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.served.url.clone()
    }

    pub fn set_mode(&self, mode: TempoSimMode) {
        self.shared.state().mode = mode;
    }

    /// Fixes the service's clock (seconds since the epoch); `None` goes
    /// back to the system clock.
    pub fn set_now(&self, now: Option<i64>) {
        self.shared.state().now = now;
    }

    /// Makes the service announce `colour` for `date` instead of the
    /// calendar's (to make the two sources disagree).
    pub fn override_colour(&self, date: Date, colour: &str) {
        let c = match colour {
            "white" => Colour::White,
            "red" => Colour::Red,
            _ => Colour::Blue,
        };
        self.shared.state().overrides.insert(date, c);
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests()
    }

    /// `GET /api/jourTempo/2026-11-28 -> 200` lines, in order.
    pub fn served(&self) -> Vec<String> {
        self.shared.served()
    }

    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

impl State_ {
    fn now(&self) -> i64 {
        self.now.unwrap_or_else(crate::now_utc)
    }

    fn today(&self) -> Date {
        Date::paris_day_of(self.now())
    }

    /// The colour of `d` if it is announced by now.
    fn known(&mut self, d: Date) -> Option<Colour> {
        let today = self.today();
        let announced = d <= today
            || (d == today.succ()
                && self.now() >= today.paris_time_utc(ANNOUNCED_AT.0, ANNOUNCED_AT.1));
        if !announced {
            return None;
        }
        Some(match self.overrides.get(&d) {
            Some(c) => *c,
            None => self.calendar.colour(d),
        })
    }
}

fn code(c: Option<Colour>) -> u8 {
    match c {
        None => 0,
        Some(Colour::Blue) => 1,
        Some(Colour::White) => 2,
        Some(Colour::Red) => 3,
    }
}

fn season_label(d: Date) -> String {
    let first = TempoSeason::holding(d).start.year;
    format!("{first}-{}", first + 1)
}

fn not_found() -> Reply {
    Reply::html(
        404,
        "<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>".into(),
    )
}

fn answer(state: &mut State_, method: &http::Method, path: &str) -> Reply {
    if state.mode == TempoSimMode::Down {
        return Reply::html(
            503,
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".into(),
        )
        .header("Retry-After", "60");
    }
    if method != http::Method::GET {
        return Reply::new(405).header("Allow", "GET");
    }
    if let Some(which) = path.strip_prefix("/api/jourTempo/") {
        if state.mode == TempoSimMode::Rte {
            return not_found();
        }
        let today = state.today();
        let day = match which {
            "today" => today,
            "tomorrow" => today.succ(),
            other => match Date::parse(other) {
                Ok(d) => d,
                Err(_) => {
                    return Reply::json(400, &json!({"error": format!("Date invalide : {other}")}));
                }
            },
        };
        let colour = state.known(day);
        return Reply::json(
            200,
            &json!({
                "dateJour": day.to_string(),
                "codeJour": code(colour),
                "periode": season_label(day),
            }),
        );
    }
    if path == "/cms/open_data/v1/tempoLight" {
        if state.mode == TempoSimMode::Primary {
            return not_found();
        }
        let today = state.today();
        let start = TempoSeason::holding(today).start;
        let mut values = Map::new();
        let mut d = start;
        while d <= today.succ() {
            if let Some(c) = state.known(d) {
                let word = match c {
                    Colour::Blue => "BLUE",
                    Colour::White => "WHITE",
                    Colour::Red => "RED",
                };
                values.insert(d.to_string(), Value::String(word.into()));
            }
            d = d.succ();
        }
        return Reply::json(200, &json!({ "values": values }));
    }
    not_found()
}

async fn handle(State(shared): State<Arc<Recorded<State_>>>, request: Request) -> Response {
    shared.arrived();
    let path = request.uri().path().to_string();
    let reply = answer(&mut shared.state(), request.method(), &path);
    shared.answered(
        "simulated Tempo service",
        request.method(),
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

    fn state(now: i64, mode: TempoSimMode) -> State_ {
        State_ {
            mode,
            now: Some(now),
            calendar: TempoCalendar::default(),
            overrides: HashMap::new(),
        }
    }

    fn body(r: &Reply) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn tomorrow_is_unknown_until_announced() {
        let get = http::Method::GET;
        let mut s = state(at("2026-11-28", 10, 0), TempoSimMode::Both);
        let r = answer(&mut s, &get, "/api/jourTempo/tomorrow");
        assert_eq!(r.status, 200);
        assert_eq!(body(&r)["dateJour"], "2026-11-29");
        assert_eq!(body(&r)["codeJour"], 0);
        assert_eq!(body(&r)["periode"], "2026-2027");
        let light = body(&answer(&mut s, &get, "/cms/open_data/v1/tempoLight"));
        assert!(light["values"].get("2026-11-28").is_some());
        assert!(light["values"].get("2026-11-29").is_none());
        assert_eq!(light["values"].as_object().unwrap().len(), 89);

        s.now = Some(at("2026-11-28", 11, 0));
        let r = answer(&mut s, &get, "/api/jourTempo/2026-11-29");
        assert!((1..=3).contains(&body(&r)["codeJour"].as_u64().unwrap()));
        let light = body(&answer(&mut s, &get, "/cms/open_data/v1/tempoLight"));
        assert!(light["values"].get("2026-11-29").is_some());
    }

    #[test]
    fn modes_and_overrides() {
        let get = http::Method::GET;
        let mut s = state(at("2026-11-28", 12, 0), TempoSimMode::Primary);
        assert_eq!(
            answer(&mut s, &get, "/cms/open_data/v1/tempoLight").status,
            404
        );
        s.overrides
            .insert(Date::parse("2026-11-27").unwrap(), Colour::Red);
        assert_eq!(
            body(&answer(&mut s, &get, "/api/jourTempo/2026-11-27"))["codeJour"],
            3
        );
        assert_eq!(
            answer(&mut s, &get, "/api/jourTempo/27-11-2026").status,
            400
        );
        s.mode = TempoSimMode::Rte;
        assert_eq!(answer(&mut s, &get, "/api/jourTempo/today").status, 404);
        s.mode = TempoSimMode::Down;
        let r = answer(&mut s, &get, "/api/jourTempo/today");
        assert_eq!(r.status, 503);
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "Retry-After" && v == "60")
        );
    }
}
