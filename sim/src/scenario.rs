//! Scenario mode: one fixture scenario served statefully.
//!
//! Answers come from the cassette through `hellowatt_fixtures::Replay`
//! (method, path and decoded query, each exchange once, in recorded order
//! among equal requests; headers are not compared), while the server keeps
//! the state the real site would:
//! - Cookies handed out: every `csrftoken` and `sessionid` of a
//!   `Set-Cookie` it served. A `sessionid` set to `""` or with `Max-Age=0`
//!   ends the session.
//! - An API request (`/api/…`) must carry the current `sessionid` when a
//!   session was handed out, or when the recorded request carried one;
//!   otherwise it gets the DRF 403 (401 by option) `{"detail":
//!   "Authentication credentials were not provided."}` and the recorded
//!   exchange stays unused. A pre-log-in API call whose recording carries
//!   no session (e.g. `GET /api/user` for the CSRF cookie) is served as
//!   recorded.
//! - A recorded 401 or 403 on an API path ends the current session, as the
//!   site does when a session expires: the client must log in again.
//! - A POST (or any unsafe method) gets Django's CSRF check: an `Origin`,
//!   when sent, must be this server's; the `csrftoken` cookie must be one it
//!   handed out; the token (form `csrfmiddlewaretoken`, else `X-CSRFToken`)
//!   must be a `csrfmiddlewaretoken` of a page it served, the cookie's value
//!   or a Django-masked form of it. Otherwise: 403, Django's HTML page "CSRF
//!   verification failed. Request aborted.", and the exchange stays unused.
//! - The log-in form's values are not checked: the recorded answer decides
//!   whether the credentials were right.
//! - A request not in the cassette (or asked once more than recorded): 404
//!   `{"detail": "Not found."}`, noted `(not in cassette)` in `served()`.
//! - Recorded responses are served as recorded, body byte for byte, with
//!   three translations for a plain-HTTP loopback origin: `Content-Length`,
//!   `Transfer-Encoding` and `Connection` are left to the server, the
//!   `Domain` and `Secure` attributes are dropped from `Set-Cookie`, and
//!   `https://www.hellowatt.fr` in a header value (a `Location`) becomes the
//!   simulated site's origin. A recording without a `Date` header gets the
//!   current date.

use std::sync::Mutex;

use axum::response::Response;
use hellowatt_fixtures::{
    Exchange, RecordedResponse, Replay, ReplayRequest, SITE_ORIGIN, Scenario, query_pairs,
};

use super::tokens::csrf_check;
use super::wire::{Reply, SimRequest, csrf_failure_page, not_found, unauthenticated};
use super::{SimOptions, lock};

pub(crate) struct ScenarioSite {
    name: String,
    url: String,
    options: SimOptions,
    state: Mutex<State>,
}

struct State {
    replay: Replay,
    /// The cassette again, to know which exchange the replay will pick
    /// before it is consumed (the replay's own rule, mirrored).
    exchanges: Vec<Exchange>,
    used: Vec<bool>,
    /// Every `csrftoken` value handed out.
    issued_csrf: Vec<String>,
    /// Every `csrfmiddlewaretoken` of a page served.
    form_tokens: Vec<String>,
    /// The session handed out last, while it lasts.
    session: Option<String>,
}

impl ScenarioSite {
    pub fn new(scenario: Scenario, url: &str, options: SimOptions) -> ScenarioSite {
        let used = vec![false; scenario.exchanges.len()];
        ScenarioSite {
            name: scenario.name,
            url: url.to_string(),
            options,
            state: Mutex::new(State {
                replay: Replay::new(scenario.exchanges.clone(), url, false),
                exchanges: scenario.exchanges,
                used,
                issued_csrf: Vec::new(),
                form_tokens: Vec::new(),
                session: None,
            }),
        }
    }

    pub fn expire_sessions(&self) {
        lock(&self.state).session = None;
    }

    pub fn unused(&self) -> Vec<String> {
        lock(&self.state).replay.unused()
    }

    pub fn handle(&self, req: &SimRequest) -> (Response, Option<String>) {
        let (reply, note) = self.answer(req);
        (reply.into_response(), note)
    }

    fn answer(&self, req: &SimRequest) -> (Reply, Option<String>) {
        let mut state = lock(&self.state);
        let method = req.method.as_str();
        let wanted = query_pairs(&req.query);
        let next = state.exchanges.iter().enumerate().position(|(i, e)| {
            !state.used[i]
                && e.request.method.eq_ignore_ascii_case(method)
                && e.request.path == req.raw_path
                && query_pairs(&e.request.query) == wanted
        });
        let Some(index) = next else {
            return (not_found(), Some("not in cassette".into()));
        };

        if !req.is_safe_method() {
            let issued = state.issued_csrf.clone();
            if let Err(reason) =
                csrf_check(req, |c| issued.iter().any(|i| i == c), &state.form_tokens)
            {
                return (csrf_failure_page(), Some(format!("CSRF: {reason}")));
            }
        }
        let is_api = req.raw_path.starts_with("/api/");
        if is_api {
            let recorded_session = cookie_of(
                state.exchanges[index]
                    .request
                    .header("cookie")
                    .unwrap_or(""),
                "sessionid",
            );
            let required = state.session.is_some() || recorded_session.is_some();
            if required && (state.session.is_none() || req.cookie("sessionid") != state.session) {
                return (
                    unauthenticated(self.options.unauthenticated_status),
                    Some("no session".into()),
                );
            }
        }

        let headers = req.header_pairs();
        let replayed = state.replay.answer(&ReplayRequest {
            method,
            path: &req.raw_path,
            query: &req.query,
            headers: &headers,
            body: &req.body,
        });
        let response = match replayed {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("simulated site ({}): {e}", self.name);
                return (not_found(), Some("not in cassette".into()));
            }
        };
        state.used[index] = true;
        state.learn(&response, is_api);
        (self.translate(response), None)
    }

    fn translate(&self, recorded: RecordedResponse) -> Reply {
        let mut reply = Reply::new(recorded.status);
        let mut has_date = false;
        for (name, value) in recorded.headers {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "content-length" | "transfer-encoding" | "connection" | "keep-alive" => continue,
                "date" => has_date = true,
                _ => {}
            }
            let value = if lower == "set-cookie" {
                local_cookie(&value)
            } else {
                value.replace(SITE_ORIGIN, &self.url)
            };
            reply = reply.header(&name, value);
        }
        if !has_date {
            reply = reply.header("Date", super::tokens::http_date(crate::now_utc()));
        }
        reply.body = recorded.body;
        reply
    }
}

impl State {
    /// What the client now holds after this response.
    fn learn(&mut self, response: &RecordedResponse, is_api: bool) {
        for (name, value) in &response.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or("");
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_string();
            let deleted = v.is_empty()
                || value
                    .to_ascii_lowercase()
                    .split(';')
                    .any(|a| a.trim() == "max-age=0");
            match k.trim() {
                "csrftoken" if !deleted => self.issued_csrf.push(v),
                "sessionid" if deleted => self.session = None,
                "sessionid" => self.session = Some(v),
                _ => {}
            }
        }
        let body = String::from_utf8_lossy(&response.body);
        self.form_tokens.extend(form_tokens(&body));
        if is_api && (response.status == 401 || response.status == 403) {
            let sets_session = response.headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("set-cookie") && v.trim_start().starts_with("sessionid=")
            });
            if !sets_session {
                self.session = None;
            }
        }
    }
}

fn cookie_of(header: &str, name: &str) -> Option<String> {
    cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A recorded `Set-Cookie` without `Domain` and `Secure`.
fn local_cookie(value: &str) -> String {
    value
        .split(';')
        .map(str::trim)
        .filter(|a| {
            let lower = a.to_ascii_lowercase();
            lower != "secure" && !lower.starts_with("domain=")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `csrfmiddlewaretoken` values of an HTML page's inputs.
fn form_tokens(html: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input") {
        rest = &rest[i..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.contains("csrfmiddlewaretoken")
            && let Some(v) = attribute(tag, "value")
        {
            tokens.push(v);
        }
        rest = &rest[end..];
    }
    tokens
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let i = search.find(name)?;
        let after = search[i + name.len()..].trim_start();
        let preceded = search[..i].ends_with(char::is_whitespace);
        if preceded && let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            let quote = v.chars().next()?;
            if quote == '"' || quote == '\'' {
                let v = &v[1..];
                return v.find(quote).map(|end| v[..end].to_string());
            }
            let end = v
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(v.len());
            return Some(v[..end].to_string());
        }
        search = &search[i + name.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Client, Resp, form, form_token};
    use super::super::{SimMode, start};
    use super::*;
    use hellowatt_fixtures::{load_scenarios, parse_request, parse_response, scenarios_dir};
    use hellowatt_snapshot::{DataKind, Date, Outcome, Snapshot};
    use std::path::Path;

    const SECRET1: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    const SECRET2: &str = "ZyXwVuTsRqPoNmLkJiHgFeDcBa987654";
    const SECRET3: &str = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6";
    const PAGE_TOKEN: &str = "m4sk3dT0k3nM4sk3dT0k3nM4sk3dT0k3nm4sk3dT0k3nM4sk3dT0k3nM4sk3dT0k";

    fn exchange(request: &str, response: &str) -> Exchange {
        Exchange {
            request: parse_request(Path::new("req"), request.as_bytes()).unwrap(),
            response: parse_response(Path::new("resp"), response.as_bytes()).unwrap(),
        }
    }

    const CONSO: &str = "/api/homes/123456/sge_measures/conso_daily?startDate=2026-01-01T00%3A00%3A00%2B01%3A00&endDate=2026-02-01T00%3A00%3A00%2B01%3A00";

    fn login_page(secret: &str) -> Exchange {
        exchange(
            "GET /accounts/login/ HTTP/1.1\n\n",
            &format!(
                "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\nSet-Cookie: \
                 csrftoken={secret}; Domain=.hellowatt.fr; Path=/; SameSite=Lax; \
                 Secure\n\n<form><input type=\"hidden\" name=\"csrfmiddlewaretoken\" \
                 value=\"{PAGE_TOKEN}\"></form>"
            ),
        )
    }

    fn login_post(cookie: &str, session: &str, rotated: &str) -> Exchange {
        exchange(
            &format!(
                "POST /accounts/login/ HTTP/1.1\nContent-Type: \
                 application/x-www-form-urlencoded\nX-CSRFToken: {cookie}\nCookie: \
                 csrftoken={cookie}\n\nlogin=someone%40example.org&password=Secret-pass-123%21&csrfmiddlewaretoken={PAGE_TOKEN}"
            ),
            &format!(
                "HTTP/1.1 200 OK\nContent-Type: application/json\nSet-Cookie: \
                 csrftoken={rotated}; Path=/; SameSite=Lax\nSet-Cookie: sessionid={session}; \
                 HttpOnly; Path=/; SameSite=Lax\n\n{{\"location\": \"/login/redirect/\"}}"
            ),
        )
    }

    fn api(target: &str, session: &str, status: &str, body: &str) -> Exchange {
        exchange(
            &format!("GET {target} HTTP/1.1\nCookie: csrftoken=x; sessionid={session}\n\n"),
            &format!(
                "HTTP/1.1 {status}\nContent-Type: application/json\nDate: Sat, 28 Nov 2026 \
                 10:00:00 GMT\n\n{body}"
            ),
        )
    }

    /// Session expiry: a 401 mid-way, a new log-in, the call again.
    fn expiry_scenario() -> Scenario {
        Scenario {
            name: "inline-session-expiry".into(),
            description: "test".into(),
            request: hellowatt_fixtures::ScenarioRequest {
                login: "someone@example.org".into(),
                password: "Secret-pass-123!".into(),
                bearer: String::new(),
                start: Date::parse("2026-01-01").unwrap(),
                end: Date::parse("2026-01-31").unwrap(),
                kinds: vec![DataKind::ElectricityDaily],
            },
            supersedes: Vec::new(),
            exchanges: vec![
                login_page(SECRET1),
                login_post(SECRET1, "sess1", SECRET2),
                api("/api/homes", "sess1", "200 OK", "[{\"id\": 123456}]"),
                api(
                    CONSO,
                    "sess1",
                    "401 Unauthorized",
                    "{\"detail\": \"Authentication credentials were not provided.\"}",
                ),
                login_page(SECRET2),
                login_post(SECRET2, "sess2", SECRET3),
                api(
                    CONSO,
                    "sess2",
                    "200 OK",
                    "{\"values\": [], \"isFetchOngoing\": false}",
                ),
            ],
            golden: Outcome::Snapshot(Snapshot::default()),
        }
    }

    async fn post_login(c: &mut Client, token: &str) -> Resp {
        let csrf = c.cookie("csrftoken").unwrap_or_default();
        let origin = c.base.clone();
        let body = form(&[
            ("login", "someone@example.org"),
            ("password", "Secret-pass-123!"),
            ("csrfmiddlewaretoken", token),
        ]);
        c.send(
            "POST",
            "/accounts/login/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-CSRFToken", &csrf),
                ("X-Requested-With", "XMLHttpRequest"),
                ("Origin", &origin),
            ],
            body.as_bytes(),
        )
        .await
    }

    #[tokio::test]
    async fn replays_a_scenario_statefully() {
        let sim = start(
            "127.0.0.1:0".parse().unwrap(),
            SimMode::Scenario(expiry_scenario()),
        )
        .await
        .unwrap();
        let mut c = Client::new(&sim.url());

        // Before any log-in: no session, no CSRF cookie.
        let r = c.api("/api/homes").await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json()["detail"],
            "Authentication credentials were not provided."
        );
        let r = post_login(&mut c, PAGE_TOKEN).await;
        assert_eq!(r.status, 403);
        assert!(
            r.text()
                .contains("CSRF verification failed. Request aborted.")
        );

        // The log-in page: the recorded cookie, made local.
        let page = c.get("/accounts/login/").await;
        assert_eq!(page.status, 200);
        let cookie = page.set_cookies().pop().unwrap();
        assert_eq!(cookie, format!("csrftoken={SECRET1}; Path=/; SameSite=Lax"));
        assert!(page.header("date").is_some());
        let token = form_token(&page.text()).unwrap();
        assert_eq!(token, PAGE_TOKEN);
        // A wrong token is refused; the right one passes.
        let r = post_login(&mut c, "wrongtokenwrongtokenwrongtoken12").await;
        assert_eq!(r.status, 403);
        let r = post_login(&mut c, &token).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["location"], "/login/redirect/");
        assert_eq!(c.cookie("sessionid").unwrap(), "sess1");
        assert_eq!(c.cookie("csrftoken").unwrap(), SECRET2);

        let r = c.api("/api/homes").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "[{\"id\": 123456}]");
        assert_eq!(r.header("date").unwrap(), "Sat, 28 Nov 2026 10:00:00 GMT");
        // The recorded expiry, then the session is gone until a new log-in.
        assert_eq!(c.api(CONSO).await.status, 401);
        let r = c.api(CONSO).await;
        assert_eq!(r.status, 403);
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        assert_eq!(post_login(&mut c, &token).await.status, 200);
        assert_eq!(c.cookie("sessionid").unwrap(), "sess2");
        // The same URL with the query parameters in another order.
        let swapped = "/api/homes/123456/sge_measures/conso_daily?endDate=2026-02-01T00%3A00%3A00%2B01%3A00&startDate=2026-01-01T00%3A00%3A00%2B01%3A00";
        let r = c.api(swapped).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["isFetchOngoing"], false);
        assert!(sim.unused().is_empty());

        // Anything more is not in the cassette.
        let r = c.api(CONSO).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), serde_json::json!({"detail": "Not found."}));
        let r = c.api("/api/homes/123456/contracts").await;
        assert_eq!(r.status, 404);
        let served = sim.served();
        assert!(
            served
                .contains(&"GET /api/homes/123456/contracts -> 404 (not in cassette)".to_string())
        );
        assert_eq!(served[0], "GET /api/homes -> 403 (no session)");
        assert!(served[1].starts_with("POST /accounts/login/ -> 403 (CSRF: CSRF cookie not set"));
        assert!(served.iter().all(|l| !l.contains("Secret-pass")));
        assert_eq!(sim.requests(), served.len() as u64);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn expire_sessions_in_scenario_mode() {
        let sim = start(
            "127.0.0.1:0".parse().unwrap(),
            SimMode::Scenario(expiry_scenario()),
        )
        .await
        .unwrap();
        let mut c = Client::new(&sim.url());
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        assert_eq!(post_login(&mut c, &token).await.status, 200);
        sim.expire_sessions();
        assert_eq!(c.api("/api/homes").await.status, 403);
        assert_eq!(sim.unused().len(), 5);
        sim.shutdown().await;
    }

    #[test]
    fn form_tokens_and_cookies() {
        assert_eq!(
            form_tokens(
                "<input type='hidden' value='abc' name='csrfmiddlewaretoken'/><input name=\"x\" value=\"y\">"
            ),
            vec!["abc".to_string()]
        );
        assert_eq!(
            form_tokens("<input name=csrfmiddlewaretoken value=tok>"),
            vec!["tok".to_string()]
        );
        assert_eq!(
            local_cookie("sessionid=a; Domain=.hellowatt.fr; HttpOnly; Path=/; Secure"),
            "sessionid=a; HttpOnly; Path=/"
        );
        assert_eq!(
            cookie_of("csrftoken=x; sessionid=s1", "sessionid").as_deref(),
            Some("s1")
        );
    }

    /// Every shipped scenario, replayed by a client that sends what the
    /// recording sends with the cookies it was actually given.
    #[tokio::test]
    async fn shipped_scenarios_replay_with_their_own_cookies() {
        let dir = scenarios_dir();
        if !dir.is_dir() {
            eprintln!("no scenarios under {}: skipped", dir.display());
            return;
        }
        let scenarios = load_scenarios(&dir).unwrap();
        assert!(!scenarios.is_empty());
        eprintln!("replaying {} scenarios", scenarios.len());
        let mut failures = Vec::new();
        for scenario in scenarios {
            let name = scenario.name.clone();
            let exchanges = scenario.exchanges.clone();
            let sim = start("127.0.0.1:0".parse().unwrap(), SimMode::Scenario(scenario))
                .await
                .unwrap();
            let url = sim.url();
            let mut c = Client::new(&url);
            let before = failures.len();
            for (i, e) in exchanges.iter().enumerate() {
                let headers: Vec<(String, String)> = e
                    .request
                    .headers
                    .iter()
                    .filter(|(k, _)| {
                        !["cookie", "host", "content-length"]
                            .contains(&k.to_ascii_lowercase().as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.replace(SITE_ORIGIN, &url)))
                    .collect();
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let target = if e.request.query.is_empty() {
                    e.request.path.clone()
                } else {
                    format!("{}?{}", e.request.path, e.request.query)
                };
                let r = c
                    .send(&e.request.method, &target, &headers, &e.request.body)
                    .await;
                if r.status != e.response.status || r.body.as_ref() != e.response.body.as_slice() {
                    failures.push(format!(
                        "{name} #{:03}: {} answered {} instead of {} (served: {:?})",
                        i + 1,
                        e.request.line(),
                        r.status,
                        e.response.status,
                        sim.served()
                    ));
                    break;
                }
            }
            let unused = sim.unused();
            if failures.len() == before && !unused.is_empty() {
                failures.push(format!("{name}: unused {unused:?}"));
            }
            sim.shutdown().await;
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
