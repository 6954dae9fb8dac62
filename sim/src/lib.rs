//! The simulated helloWatt site: a real HTTP server on a local address that
//! answers like `https://www.hellowatt.fr` does, so that a client written
//! for the real site works against it unchanged, only pointed at another
//! origin.
//!
//! # What it owns
//! A fake of the site for the end-to-end tests, for `hellowatt demo` and for
//! `hellowatt simulate` (people trying a client without an account). Two
//! modes:
//! - [`SimMode::Demo`]: one demo account ([`DEMO_LOGIN`] / [`DEMO_PASSWORD`])
//!   with one home, a Tempo electricity contract with solar production and
//!   injection, and a gas contract; deterministic, plausible data for any
//!   date range (see `demo.rs`), behind a Django + allauth + DRF imitation
//!   of the log-in, sessions and CSRF (see `site.rs`).
//! - [`SimMode::Scenario`]: one recorded fixture scenario, replayed
//!   statefully: answers come from the cassette, while the cookies the
//!   server handed out must come back like on the real site (see
//!   `scenario.rs`).
//!
//! What the site looks like and why: `shared/docs/hellowatt-site.md` (site
//! facts) and `fixtures/README.md` (cassette format, the reference client
//! flow, inferred payload shapes). Every behaviour choice of the fake is
//! listed in the docs of `site.rs`, `demo.rs` and `scenario.rs`.
//!
//! Beside it, `tempo.rs` simulates the public Tempo services
//! (api-couleur-tempo.fr and RTE's tempoLight) for the `tempo` guest.
//!
//! By file: `wire.rs` (requests, replies, DRF's stock answers), `tokens.rs`
//! (HTTP dates, cookies, CSRF secrets and the CSRF check), `window.rs`
//! (the `startDate`/`endDate` window), `site.rs` (the demo site: accounts,
//! log-in, sessions, routes), `demo.rs` (its data), `scenario.rs` (a
//! cassette replayed statefully), `faults.rs` (injected faults), `tempo.rs`.
//! A crate of its own so that it and its tests build without wasmtime: it
//! is only the other end of the wire.
//!
//! # What it must never do
//! - Reach the real site, or any address: it only answers, it never
//!   connects anywhere.
//! - Be used by the production sync path: only tests, `demo` and `simulate`
//!   start it.
//! - Log passwords, cookies or bodies: [`SimServer::served`] and the
//!   `tracing` events carry the method, the path, the query and the status
//!   only. (The log-in failure body echoes the typed password, like the real
//!   site reportedly does: that is a response to the client, never logged
//!   here.)

mod demo;
mod ecowatt;
mod faults;
mod scenario;
mod serve;
mod site;
mod tempo;
mod tokens;
mod window;
mod wire;

pub use ecowatt::{
    DEMO_RTE_CLIENT_ID, DEMO_RTE_CLIENT_SECRET, EcoWattSim, EcoWattSimMode, RATE_LIMIT_SECS,
    SIGNALS_PATH, TOKEN_PATH, start_ecowatt,
};
pub use tempo::{ANNOUNCED_AT, TempoSim, TempoSimMode, start_tempo};
pub use tokens::issued_secrets;

pub use faults::{Fault, FaultScope, RetryAfter};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;

/// The simulated site's clock, in Unix seconds: its own, apart from the
/// host's (`hellowatt::clock`), as the real site's is. Cookie expiries and
/// `Date` headers read it; tests that need a fixed day pass it instead.
pub(crate) fn now_utc() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// The demo account's e-mail (log-in).
pub const DEMO_LOGIN: &str = "demo@hellowatt.test";
/// The demo account's password (12+ characters with special characters,
/// like the real site demands).
pub const DEMO_PASSWORD: &str = "Demo-password-2026!";
/// The id of the demo account's only home (six digits, like the real
/// site's).
pub const DEMO_HOME_ID: u64 = 418_263;

/// What the simulated site serves.
// The API takes the scenario by value; a mode is built once per server.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SimMode {
    /// The demo account with generated data up to the day before `today`
    /// (Europe/Paris).
    Demo { today: hellowatt_snapshot::Date },
    /// One recorded scenario, replayed statefully.
    Scenario(hellowatt_fixtures::Scenario),
}

/// Knobs of the simulated site. [`start`] uses the defaults. Each knob is
/// a behaviour the real site has shown, or may show, that a client must
/// tolerate; the defaults are the site as first simulated, but for the
/// `Accept` version check, on from the start (`site.rs`'s doc says what
/// each answer looks like on the wire).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// A session unused for this long is gone (Demo mode). Default 30 min.
    pub session_idle: Duration,
    /// The status of an API call without a valid session: 403 (DRF with
    /// session authentication, the default) or 401 (DRF when the first
    /// authentication class sends `WWW-Authenticate`). Both modes.
    pub unauthenticated_status: u16,
    /// A field the site adds to each home of `/api/homes` (Demo mode), as
    /// the real site may add one holding personal data under a key no
    /// client knows: `(key, value)`. Default none.
    pub extra_home_field: Option<(String, String)>,
    /// Failed log-ins in a row for one account before it is locked (Demo
    /// mode). Default 5.
    pub max_failed_logins: u32,
    /// How long a locked account answers 429 (Demo mode). Default 1 hour.
    pub lockout: Duration,
    /// The versions an `/api/` request may name in `Accept:
    /// application/json; version=X` (DRF's `AcceptHeaderVersioning`); another
    /// version answers 406 `{"detail": "Invalid version in \"Accept\"
    /// header."}`, a request naming none is served (DRF's default version).
    /// Empty: every version is accepted, as DRF without `ALLOWED_VERSIONS`.
    /// Default `["1.48", "1.54"]` (the two versions public clients send).
    /// Demo mode.
    pub api_versions: Vec<String>,
    /// `GET /accounts/login/` answers 301 to `/mon-compte/me-connecter`
    /// (the human log-in page, always served), with no cookie; the log-in
    /// POST stays at `/accounts/login/`. Default false. Demo mode.
    pub login_page_moved: bool,
    /// `/api/homes` answers 301 to `/api/homes/` (Django's `APPEND_SLASH`),
    /// before any session check; `/api/homes/` is always served. Default
    /// false. Demo mode.
    pub homes_trailing_slash: bool,
    /// The log-in pages set the `csrftoken` cookie. When false, a client
    /// gets it from `GET /api/user`, as one public client does. Default
    /// true. Demo mode.
    pub login_page_sets_csrf_cookie: bool,
    /// The log-in pages' form carries the hidden `csrfmiddlewaretoken`
    /// input. When false, the client must send the cookie's value in
    /// `X-CSRFToken`. Default true. Demo mode.
    pub login_page_has_form_token: bool,
    /// The status of an AJAX log-in refused for wrong credentials: 400
    /// (allauth, the default) or 401 (which a public client reads as wrong
    /// credentials); the body is allauth's form JSON either way. Demo mode.
    pub login_refusal_status: u16,
    /// When set, a log-in with the right credentials opens no session and
    /// answers 200 `{"location": <this>, "form": {…}}` (AJAX) or a 302 to
    /// it: the account needs a person to act on the site first (e-mail
    /// check, two-factor, consent). A GET of that path is a small HTML
    /// page. Must be a valid header value. Default none. Demo mode.
    pub login_action: Option<String>,
    /// The load curve (`sge_measures/courbe`) asked for more days than this
    /// answers 400 `{"detail": "…"}`. Default none (no limit but the
    /// simulation's own 3 700-day guard). Demo mode.
    pub curve_max_days: Option<u32>,
    /// `temperature_measures/yearly` answers one value per calendar month
    /// (the month's mean) instead of one per day. Default false. Demo mode.
    pub temperature_monthly: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            session_idle: Duration::from_secs(30 * 60),
            unauthenticated_status: 403,
            extra_home_field: None,
            max_failed_logins: 5,
            lockout: Duration::from_secs(3600),
            api_versions: vec!["1.48".into(), "1.54".into()],
            login_page_moved: false,
            homes_trailing_slash: false,
            login_page_sets_csrf_cookie: true,
            login_page_has_form_token: true,
            login_refusal_status: 400,
            login_action: None,
            curve_max_days: None,
            temperature_monthly: false,
        }
    }
}

/// How many `served()` lines are kept (the oldest go first), so that a
/// long-running `hellowatt simulate` does not grow without bound.
const SERVED_LINES_KEPT: usize = 10_000;

/// Largest request body read; larger ones get 413.
const MAX_BODY: usize = 1 << 20;

/// A running simulated site. Dropping it stops the server too (without
/// waiting); [`SimServer::shutdown`] stops it and waits.
pub struct SimServer {
    served: serve::Served,
    shared: Arc<Shared>,
}

/// Starts the simulated site on `listen` (use port 0 for an ephemeral port)
/// with the default [`SimOptions`].
pub async fn start(listen: SocketAddr, mode: SimMode) -> anyhow::Result<SimServer> {
    start_with(listen, mode, SimOptions::default()).await
}

/// Starts the simulated site with explicit options.
pub async fn start_with(
    listen: SocketAddr,
    mode: SimMode,
    options: SimOptions,
) -> anyhow::Result<SimServer> {
    anyhow::ensure!(
        options.unauthenticated_status == 401 || options.unauthenticated_status == 403,
        "unauthenticated_status must be 401 or 403, not {}",
        options.unauthenticated_status
    );
    anyhow::ensure!(
        options.login_refusal_status == 400 || options.login_refusal_status == 401,
        "login_refusal_status must be 400 or 401, not {}",
        options.login_refusal_status
    );
    if let Some(action) = &options.login_action {
        // It goes out in a `Location` header (non-AJAX log-in).
        anyhow::ensure!(
            !action.is_empty() && http::HeaderValue::from_str(action).is_ok(),
            "login_action must be a non-empty header value, not {action:?}"
        );
    }
    let listening = serve::listen(listen, "simulated site").await?;
    let url = listening.url.clone();
    let backend = match mode {
        SimMode::Demo { today } => Backend::Demo(site::DemoSite::new(today, options)),
        SimMode::Scenario(scenario) => {
            Backend::Scenario(scenario::ScenarioSite::new(scenario, &url, options))
        }
    };
    let shared = Arc::new(Shared {
        requests: AtomicU64::new(0),
        served: Mutex::new(VecDeque::new()),
        fault: Mutex::new(None),
        backend,
    });
    let app = Router::new().fallback(handle).with_state(shared.clone());
    Ok(SimServer {
        served: listening.serve(app, "simulated helloWatt site"),
        shared,
    })
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.served.addr
    }

    /// The origin to point a client at: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.served.url.clone()
    }

    /// Requests served so far (every request, whatever its answer).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// `GET /api/homes -> 200` lines in order, for test diagnostics: method,
    /// path, raw query, status, and a note when the simulated site refused
    /// on its own (`(no session)`, `(CSRF: …)`, `(not in cassette)`, `(API
    /// version refused)`, `(wrong credentials)`, `(action required)`). Never
    /// bodies, cookies or passwords. The last 10 000 are kept.
    pub fn served(&self) -> Vec<String> {
        lock(&self.shared.served).iter().cloned().collect()
    }

    /// Ends every session now: the next API call of every client gets the
    /// DRF 401/403, as when the real site's session expires. In Scenario
    /// mode it forgets the session cookie handed out.
    pub fn expire_sessions(&self) {
        match &self.shared.backend {
            Backend::Demo(site) => site.expire_sessions(),
            Backend::Scenario(site) => site.expire_sessions(),
        }
    }

    /// Sets the fault the site answers with from now on, for the requests
    /// in `scope` (never the log-in pages), or clears it with `None`. See
    /// `faults.rs` for what each fault looks like on the wire.
    pub fn set_fault(&self, fault: Option<Fault>, scope: FaultScope) {
        *lock(&self.shared.fault) = fault.map(|f| (f, scope));
    }

    /// Scenario mode: the recorded requests never asked so far (`GET
    /// /api/homes?…`). Empty in Demo mode.
    pub fn unused(&self) -> Vec<String> {
        match &self.shared.backend {
            Backend::Demo(_) => Vec::new(),
            Backend::Scenario(site) => site.unused(),
        }
    }

    /// Stops accepting, lets the requests in flight finish (5 s at most)
    /// and returns.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("url", &self.served.url)
            .finish()
    }
}

struct Shared {
    requests: AtomicU64,
    served: Mutex<VecDeque<String>>,
    /// The fault in force and where it applies (none by default).
    fault: Mutex<Option<(Fault, FaultScope)>>,
    backend: Backend,
}

enum Backend {
    Demo(site::DemoSite),
    Scenario(scenario::ScenarioSite),
}

/// A poisoned lock still holds usable state for a fake: keep serving.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let line = match parts.uri.query() {
        Some(q) => format!("{} {}?{}", parts.method, parts.uri.path(), q),
        None => format!("{} {}", parts.method, parts.uri.path()),
    };
    let fault = lock(&shared.fault)
        .as_ref()
        .filter(|(_, scope)| scope.applies(parts.uri.path()))
        .map(|(f, _)| f.clone());
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let path = parts.uri.path().to_string();
    let intercepted = fault.as_ref().and_then(|f| faults::intercept(f, &target));
    let (response, note) = if let Some(response) = intercepted {
        (response, None)
    } else {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(body) => {
                let req = wire::SimRequest::new(parts, body);
                match &shared.backend {
                    Backend::Demo(site) => site.handle(&req),
                    Backend::Scenario(site) => site.handle(&req),
                }
            }
            Err(_) => (
                wire::Reply::json(
                    413,
                    &serde_json::json!({"detail": "Request body too large."}),
                )
                .into_response(),
                Some("body too large".to_string()),
            ),
        }
    };
    let (response, note) = match &fault {
        Some(f) => {
            let note = match note {
                Some(n) => format!("{n}; fault: {}", f.name()),
                None => format!("fault: {}", f.name()),
            };
            (faults::alter(f, &path, response).await, Some(note))
        }
        None => (response, note),
    };
    let line = match note {
        Some(note) => format!("{line} -> {} ({note})", response.status().as_u16()),
        None => format!("{line} -> {}", response.status().as_u16()),
    };
    tracing::debug!("simulated site: {line}");
    let mut served = lock(&shared.served);
    if served.len() >= SERVED_LINES_KEPT {
        served.pop_front();
    }
    served.push_back(line);
    response
}

/// A small HTTP client for the tests of this module: hyper-util's legacy
/// client, a cookie jar fed by `Set-Cookie`, form encoding.
#[cfg(test)]
pub(crate) mod testing {
    use bytes::Bytes;
    use http::{HeaderMap, Method, Request};
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client as HyperClient;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use std::collections::BTreeMap;

    pub struct Resp {
        pub status: u16,
        pub headers: HeaderMap,
        pub body: Bytes,
    }

    impl Resp {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| {
                panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body))
            })
        }
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
        pub fn header(&self, name: &str) -> Option<String> {
            self.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        }
        pub fn set_cookies(&self) -> Vec<String> {
            self.headers
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        }
    }

    pub struct Client {
        pub base: String,
        pub jar: BTreeMap<String, String>,
        http: HyperClient<HttpConnector, Full<Bytes>>,
    }

    pub fn form(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn encode(s: &str) -> String {
        // RFC 3986's unreserved characters stay as they are.
        const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        percent_encoding::utf8_percent_encode(s, KEPT).to_string()
    }

    impl Client {
        pub fn new(base: &str) -> Client {
            Client {
                base: base.to_string(),
                jar: BTreeMap::new(),
                http: HyperClient::builder(TokioExecutor::new()).build_http(),
            }
        }

        pub fn cookie(&self, name: &str) -> Option<String> {
            self.jar.get(name).cloned()
        }

        pub async fn send(
            &mut self,
            method: &str,
            target: &str,
            headers: &[(&str, &str)],
            body: &[u8],
        ) -> Resp {
            let mut builder = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(format!("{}{}", self.base, target));
            if !self.jar.is_empty() {
                let cookie = self
                    .jar
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                builder = builder.header("Cookie", cookie);
            }
            for (k, v) in headers {
                builder = builder.header(*k, *v);
            }
            let request = builder
                .body(Full::new(Bytes::copy_from_slice(body)))
                .unwrap();
            let response = self.http.request(request).await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let resp = Resp {
                status,
                headers,
                body,
            };
            for c in resp.set_cookies() {
                let c = cookie::Cookie::parse(c).unwrap();
                if c.max_age() == Some(cookie::time::Duration::ZERO) {
                    self.jar.remove(c.name());
                } else {
                    self.jar.insert(c.name().to_string(), c.value().to_string());
                }
            }
            resp
        }

        pub async fn get(&mut self, target: &str) -> Resp {
            self.send("GET", target, &[], b"").await
        }

        /// An API call with the headers of the reference client.
        pub async fn api(&mut self, target: &str) -> Resp {
            let csrf = self.cookie("csrftoken").unwrap_or_default();
            let referer = format!("{}/mon-compte/", self.base);
            self.send(
                "GET",
                target,
                &[
                    ("Accept", "application/json; version=1.48"),
                    ("X-Requested-With", "XMLHttpRequest"),
                    ("X-CSRFToken", &csrf),
                    ("Referer", &referer),
                ],
                b"",
            )
            .await
        }

        /// The reference log-in: GET the page, take the form token, POST.
        pub async fn login(&mut self, login: &str, password: &str) -> Resp {
            let page = self.get("/accounts/login/").await;
            assert_eq!(page.status, 200);
            let token = form_token(&page.text()).expect("form token");
            self.post_login(login, password, &token).await
        }

        pub async fn post_login(&mut self, login: &str, password: &str, token: &str) -> Resp {
            let csrf = self.cookie("csrftoken").unwrap_or_default();
            let body = form(&[
                ("login", login),
                ("password", password),
                ("csrfmiddlewaretoken", token),
            ]);
            let referer = format!("{}/accounts/login/", self.base);
            let origin = self.base.clone();
            self.send(
                "POST",
                "/accounts/login/",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("X-CSRFToken", &csrf),
                    ("X-Requested-With", "XMLHttpRequest"),
                    ("Referer", &referer),
                    ("Origin", &origin),
                ],
                body.as_bytes(),
            )
            .await
        }
    }

    /// The hidden `csrfmiddlewaretoken` value of a page.
    pub fn form_token(html: &str) -> Option<String> {
        let i = html.find("name=\"csrfmiddlewaretoken\"")?;
        let rest = &html[i..];
        let v = rest.find("value=\"")? + 7;
        let end = rest[v..].find('"')?;
        Some(rest[v..v + end].to_string())
    }
}
