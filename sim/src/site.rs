//! The HTTP layer of the simulated site and the behaviour of a Django +
//! django-allauth + Django REST Framework site that both modes share.
//!
//! Choices a client author should know (Demo mode; Scenario mode keeps the
//! cookie and CSRF rules, the rest comes from the cassette):
//!
//! - Language: the log-in page and allauth's form messages are in French
//!   (the site's language, as the recordings show); the API's DRF `detail`
//!   messages are in English, as public clients quote them.
//! - `GET /accounts/login/`: HTML page whose form carries `<input
//!   type="hidden" name="csrfmiddlewaretoken" value="…">` (64 characters, a
//!   Django-masked form of the secret, a new mask on every page) and
//!   `Set-Cookie: csrftoken=<32-character secret>; expires=…;
//!   Max-Age=31449600; Path=/; SameSite=Lax`. A valid `csrftoken` cookie sent
//!   with the request is kept (same secret, cookie sent again), as Django
//!   does. `/accounts/login` (no slash) redirects there (301).
//!   `GET /mon-compte/me-connecter` (the real site's human log-in page) is
//!   the same page, always; its form posts to `/accounts/login/` too (other
//!   methods: 405). Knobs: `login_page_moved` makes `GET /accounts/login/`
//!   a 301 to `/mon-compte/me-connecter` (the query kept, no body, no
//!   cookie); `login_page_sets_csrf_cookie: false` drops the `Set-Cookie`
//!   from both pages (the form token then masks the secret of the cookie
//!   the request carried, or of a new one the client never gets);
//!   `login_page_has_form_token: false` drops the hidden input.
//! - CSRF, on every POST (Django's `CsrfViewMiddleware`, stateless): an
//!   `Origin` header, when sent, must be `http://<Host>` or the real site's
//!   `https://www.hellowatt.fr` (the simulated site stands for it: there it
//!   is the request's own origin, and public clients send it hard-coded);
//!   any other is refused; the `csrftoken` cookie must be there and
//!   well formed (32 or 64 letters and digits); the token is the form's
//!   `csrfmiddlewaretoken` when the body is a form and carries one, else the
//!   `X-CSRFToken` header; it matches when it is the secret itself or any
//!   masked form of it (so the page token and the cookie value both work).
//!   Failure: 403, Django's HTML page "CSRF verification failed. Request
//!   aborted." (the reason goes to `served()` only). No `Referer` check: the
//!   simulated site is plain HTTP, where Django checks none (over HTTPS the
//!   real site checks it when no `Origin` is sent).
//! - `POST /accounts/login/`: fields `login`, `password` (and `remember`)
//!   of an `application/x-www-form-urlencoded` body; any other body (JSON)
//!   reads as an empty form: 400 with "Ce champ est obligatoire." on both
//!   fields. With `X-Requested-With: XMLHttpRequest` (allauth's AJAX
//!   answers): success is 200 `{"location": "/login/redirect/", "form":
//!   {…}}`, failure 400 `{"form": {"errors": ["L'adresse e-mail et/ou le mot
//!   de passe que vous avez spécifiés sont incorrects."], "fields":
//!   {"login": {"label", "value", "help_text", "errors", "widget"},
//!   "password": {…, "value": <the typed password>}, "remember": {…}},
//!   "field_order": ["login", "password", "remember"]}}` (allauth echoes
//!   every typed value, the password included, in both); with
//!   `login_refusal_status: 401` wrong credentials get that body with 401
//!   instead (fields that do not validate stay a 400). Without that
//!   header: success is a 302 to `/login/redirect/`, failure the HTML page
//!   again (200) with the errors. With `login_action` set, the right
//!   credentials open no session and rotate nothing: AJAX 200
//!   `{"location": <login_action>, "form": {…}}`, else a 302 there (whose
//!   GET is a small French HTML page). Success sets `sessionid` (`sessionid=<32
//!   chars>; expires=…; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`)
//!   and rotates the CSRF secret (a new `csrftoken` cookie in the same answer); a
//!   session the request carried is ended. The e-mail is matched without
//!   regard to case, the password exactly; a login that is not an e-mail
//!   address is a field error.
//! - Throttling: after `max_failed_logins` (5) wrong passwords in a row for
//!   one login, every log-in POST for it (even with the right password)
//!   gets 429, a French HTML page, with `Retry-After: <seconds left>` (3600
//!   at first) for `lockout` (1 hour); a success resets the count. Missing
//!   fields and CSRF failures do not count; other logins are not affected.
//! - Cookies carry no `Domain` and no `Secure` (the simulated site is plain
//!   HTTP on a loopback address).
//! - Sessions end after `session_idle` (30 minutes) without a request (each
//!   request with the session restarts the clock), on `POST
//!   /accounts/logout/` (CSRF-checked; deletes the cookie), or when a test
//!   calls `expire_sessions()`.
//! - `/api/…`: `Content-Type: application/json`, `Allow: GET, HEAD,
//!   OPTIONS`, `Vary: Accept, Cookie` and a `Date` header on every answer;
//!   compact JSON with keys in alphabetical order. Without a valid
//!   `sessionid`: 403 (or 401 with `WWW-Authenticate: Session`, by option)
//!   `{"detail": "Authentication credentials were not provided."}`. `GET
//!   /api/user` also sets the `csrftoken` cookie, answered or not (one
//!   public client gets its cookie there); with a session it answers 200
//!   `{"id", "email", "firstName", "lastName"}`. Unknown route: 404
//!   `{"detail": "Not found."}` (before any other check, like Django's URL
//!   resolver); unknown or non-numeric home id: 404 `{"detail": "Not
//!   found."}` (after the session check). The `Accept` header's `version`
//!   parameter (DRF's `AcceptHeaderVersioning`, read before the session,
//!   see `wire::accept_version`) must be one of `api_versions` (1.48, 1.54)
//!   or absent; another answers 406 `{"detail": "Invalid version in
//!   \"Accept\" header."}`. OPTIONS: DRF's metadata (200). Other methods
//!   than GET, HEAD and OPTIONS: CSRF-checked (403 `{"detail": "CSRF
//!   Failed: …"}`), then 405 `{"detail": "Method \"POST\" not allowed."}`.
//!   `/api/homes/` is served like `/api/homes`; with `homes_trailing_slash`
//!   `/api/homes` answers 301 `Location: /api/homes/` (the query kept),
//!   before the version and session checks (Django's `APPEND_SLASH`). Other
//!   trailing slashes are a 404.
//! - `startDate`/`endDate` (measures): decoded from the raw query (`%XX`,
//!   and `+` is a space as in any form decoding), the last value wins.
//!   ISO-8601 with an offset (`T` or a space between date and time,
//!   fractional seconds allowed, `Z`, `+HH:MM` or `+HHMM`); a timestamp
//!   without an offset is read as Europe/Paris wall time, as DRF does in the
//!   site's time zone. Anything else, e.g. a raw `+` that arrived as a space,
//!   is a 400 `{"startDate": ["Datetime has wrong format. Use one of these
//!   formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}`;
//!   a missing one is `["This field is required."]`, but for `conso_daily`
//!   (electricity and gas), where `startDate` alone means the rest of its
//!   month, as a public client (zotot's) asks it. The window's days are
//!   the days d with start <= local midnight of d < end (`endDate` is
//!   exclusive; a `+01:00` offset in summer shifts the window by a day);
//!   start >= end gives no day. A window over 3 700 days is a 400 (a guard
//!   of the simulation only). With `curve_max_days`, a curve window of more
//!   days than that is a 400 `{"detail": "The requested period is too long:
//!   the load curve covers at most N days."}` (wording inferred). The
//!   temperatures take both bounds as optional (see `demo.rs`).
//! - Any other path: 404 `{"detail": "Not found."}`. `/login/redirect/`
//!   sends a logged-in user to `/mon-compte/` (a small HTML page), anyone
//!   else to the log-in page.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::response::Response;
use hellowatt_snapshot::Date;
use http::Method;
use serde_json::{Value, json};

use super::demo::Demo;
use super::tokens::{
    csrf_check, csrf_secret_of, csrf_set_cookie, mask_csrf, new_csrf_secret, new_session_key,
    session_delete_cookie, session_set_cookie,
};
use super::window::{MissingEnd, Window, parse_window, parse_window_or};
use super::wire::{
    Reply, SimRequest, accept_version, csrf_failure_page, detail, invalid_version, last_value,
    not_found, unauthenticated,
};
use super::{DEMO_HOME_ID, DEMO_LOGIN, DEMO_PASSWORD, SimOptions, lock};

struct Account {
    login: &'static str,
    password: &'static str,
}

const ACCOUNTS: [Account; 1] = [Account {
    login: DEMO_LOGIN,
    password: DEMO_PASSWORD,
}];

struct Session {
    account: usize,
    last_seen: Instant,
}

#[derive(Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct AuthState {
    sessions: HashMap<String, Session>,
    failures: HashMap<String, Failures>,
}

// allauth's and Django's messages in French, the site's language (the DRF
// `detail` messages of the API are in English, as public clients quote them).
const NON_FIELD_LOGIN_ERROR: &str =
    "L'adresse e-mail et/ou le mot de passe que vous avez spécifiés sont incorrects.";
const REQUIRED: &str = "Ce champ est obligatoire.";
const BAD_EMAIL: &str = "Saisissez une adresse e-mail valide.";

/// The demo site: the Django machinery over the demo data.
pub(crate) struct DemoSite {
    demo: Demo,
    options: SimOptions,
    state: Mutex<AuthState>,
}

enum ApiRoute {
    User,
    Homes,
    Contracts(String),
    ElectricityDaily(String),
    ElectricityCurve(String),
    GasDaily(String),
    Temperatures(String),
}

impl ApiRoute {
    fn name(&self) -> &'static str {
        match self {
            ApiRoute::User => "User",
            ApiRoute::Homes => "Home List",
            ApiRoute::Contracts(_) => "Contract List",
            ApiRoute::ElectricityDaily(_) => "Sge Conso Daily",
            ApiRoute::ElectricityCurve(_) => "Sge Courbe",
            ApiRoute::GasDaily(_) => "Adict Conso Daily",
            ApiRoute::Temperatures(_) => "Temperature Yearly",
        }
    }
}

impl DemoSite {
    pub fn new(today: Date, options: SimOptions) -> DemoSite {
        DemoSite {
            demo: Demo::new(today),
            options,
            state: Mutex::new(AuthState::default()),
        }
    }

    pub fn expire_sessions(&self) {
        lock(&self.state).sessions.clear();
    }

    pub fn handle(&self, req: &SimRequest) -> (Response, Option<String>) {
        let (reply, note) = self.route(req);
        // Django's middleware headers, as the recordings show them.
        let reply = if req.path.starts_with("/api/") {
            reply
                .header("Vary", "Accept, Cookie")
                .header("X-Frame-Options", "DENY")
                .header("X-Content-Type-Options", "nosniff")
                .header("Referrer-Policy", "same-origin")
        } else {
            reply
                .header("Vary", "Cookie")
                .header("X-Frame-Options", "DENY")
                .header("X-Content-Type-Options", "nosniff")
        };
        (reply.into_response(), note)
    }

    fn route(&self, req: &SimRequest) -> (Reply, Option<String>) {
        let path = req.path.as_str();
        if let Some(rest) = path.strip_prefix("/api/") {
            return self.api(req, rest);
        }
        match path {
            "/accounts/login/" => match req.method {
                Method::GET | Method::HEAD if self.options.login_page_moved => {
                    let target = with_query(HUMAN_LOGIN_PAGE, &req.query);
                    (Reply::redirect(301, &target), None)
                }
                Method::GET | Method::HEAD => (self.login_page(req, &[], None), None),
                Method::POST => self.login_post(req),
                _ => (Reply::new(405).header("Allow", "GET, POST, HEAD"), None),
            },
            HUMAN_LOGIN_PAGE => match req.method {
                Method::GET | Method::HEAD => (self.login_page(req, &[], None), None),
                _ => (Reply::new(405).header("Allow", "GET, HEAD"), None),
            },
            "/accounts/login" => {
                let target = if req.query.is_empty() {
                    "/accounts/login/".to_string()
                } else {
                    format!("/accounts/login/?{}", req.query)
                };
                (Reply::redirect(301, &target), None)
            }
            "/accounts/logout/" if req.method == Method::POST => self.logout(req),
            _ if req.method == Method::GET && self.is_login_action(path) => {
                (Reply::html(200, action_page()), None)
            }
            "/login/redirect/" | "/mon-compte/" => {
                if self.session(req).is_none() {
                    let target = format!("/accounts/login/?next={path}");
                    (Reply::redirect(302, &target), None)
                } else if path == "/login/redirect/" {
                    (Reply::redirect(302, "/mon-compte/"), None)
                } else {
                    (Reply::html(200, account_page()), None)
                }
            }
            _ => (not_found(), None),
        }
    }

    /// Whether `path` is the page `login_action` sends a log-in to.
    fn is_login_action(&self, path: &str) -> bool {
        self.options
            .login_action
            .as_deref()
            .and_then(|a| a.split(['?', '#']).next())
            .is_some_and(|a| a == path)
    }

    /// The valid session of a request, if any; refreshes its clock.
    fn session(&self, req: &SimRequest) -> Option<usize> {
        let key = req.cookie("sessionid")?;
        let mut state = lock(&self.state);
        let idle = self.options.session_idle;
        let session = state.sessions.get_mut(&key)?;
        if session.last_seen.elapsed() > idle {
            state.sessions.remove(&key);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.account)
    }

    /// The secret of the request's own well-formed `csrftoken`, or a new
    /// one (Django's `get_token`).
    fn csrf_secret_for(req: &SimRequest) -> String {
        req.cookie("csrftoken")
            .and_then(|c| csrf_secret_of(&c).ok())
            .unwrap_or_else(new_csrf_secret)
    }

    fn login_page(&self, req: &SimRequest, errors: &[&str], login: Option<&str>) -> Reply {
        let secret = Self::csrf_secret_for(req);
        let token = self
            .options
            .login_page_has_form_token
            .then(|| mask_csrf(&secret));
        let reply = Reply::html(200, login_page_html(token.as_deref(), errors, login)).header(
            "Cache-Control",
            "max-age=0, no-cache, no-store, must-revalidate, private",
        );
        if self.options.login_page_sets_csrf_cookie {
            reply.header("Set-Cookie", csrf_set_cookie(&secret))
        } else {
            reply
        }
    }

    fn login_post(&self, req: &SimRequest) -> (Reply, Option<String>) {
        if let Err(reason) = csrf_check(req, |_| true, &[]) {
            return (csrf_failure_page(), Some(format!("CSRF: {reason}")));
        }
        let form = req.form();
        let login = last_value(&form, "login").map(|s| s.trim().to_string());
        let password = last_value(&form, "password");
        let remember = last_value(&form, "remember").is_some();
        let key = login.as_deref().unwrap_or("").to_lowercase();

        // Throttle (allauth's rate limit answers before the form is read).
        if !key.is_empty() {
            let mut state = lock(&self.state);
            let failures = state.failures.entry(key.clone()).or_default();
            if let Some(until) = failures.locked_until {
                let now = Instant::now();
                if until > now {
                    let left = until - now;
                    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                    return (too_many_requests(secs), Some("locked".into()));
                }
                *failures = Failures::default();
            }
        }

        let mut login_errors = Vec::new();
        let mut password_errors = Vec::new();
        match login.as_deref() {
            None | Some("") => login_errors.push(REQUIRED),
            Some(l) if !looks_like_email(l) => login_errors.push(BAD_EMAIL),
            _ => {}
        }
        if password.as_deref().is_none_or(str::is_empty) {
            password_errors.push(REQUIRED);
        }
        let mut non_field = Vec::new();
        let mut account = None;
        if login_errors.is_empty() && password_errors.is_empty() {
            account = ACCOUNTS.iter().position(|a| {
                a.login.eq_ignore_ascii_case(&key) && Some(a.password) == password.as_deref()
            });
            if account.is_none() {
                non_field.push(NON_FIELD_LOGIN_ERROR);
                let mut state = lock(&self.state);
                let failures = state.failures.entry(key.clone()).or_default();
                failures.count += 1;
                if failures.count >= self.options.max_failed_logins {
                    failures.locked_until = Some(Instant::now() + self.options.lockout);
                }
            }
        }

        let form_json = |valid: bool| {
            json!({
                "fields": {
                    "login": {
                        "label": "Adresse e-mail",
                        "value": login,
                        "help_text": "",
                        "errors": login_errors,
                        "widget": {"attrs": {"type": "email", "placeholder": "Adresse e-mail", "autocomplete": "email"}}
                    },
                    "password": {
                        "label": "Mot de passe",
                        "value": password,
                        "help_text": "",
                        "errors": password_errors,
                        "widget": {"attrs": {"placeholder": "Mot de passe", "autocomplete": "current-password"}}
                    },
                    "remember": {
                        "label": "Se souvenir de moi",
                        "value": remember,
                        "help_text": "",
                        "errors": [],
                        "widget": {"attrs": {}}
                    }
                },
                "field_order": ["login", "password", "remember"],
                "errors": if valid { Vec::<&str>::new() } else { non_field.clone() }
            })
        };

        let Some(account) = account else {
            let note = if non_field.is_empty() {
                "form errors"
            } else {
                "wrong credentials"
            };
            let mut all_errors: Vec<&str> = non_field.clone();
            all_errors.extend(login_errors.iter());
            all_errors.extend(password_errors.iter());
            let page = self.login_page(req, &all_errors, login.as_deref());
            if req.is_ajax() {
                // Wrong credentials get the configured status; a form that
                // does not validate stays a 400.
                let status = if non_field.is_empty() {
                    400
                } else {
                    self.options.login_refusal_status
                };
                let mut reply = Reply::json(status, &json!({"form": form_json(false)}));
                reply.headers.extend(
                    page.headers
                        .into_iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")),
                );
                return (reply, Some(note.into()));
            }
            return (page, Some(note.into()));
        };

        // Right credentials, but a person must act on the site first: no
        // session, no rotation, the count of failures starts again.
        if let Some(action) = &self.options.login_action {
            lock(&self.state).failures.remove(&key);
            let reply = if req.is_ajax() {
                Reply::json(200, &json!({"location": action, "form": form_json(true)}))
            } else {
                Reply::redirect(302, action)
            };
            return (reply, Some("action required".into()));
        }

        // Success: a new session (the old one, if any, is flushed) and a
        // rotated CSRF secret.
        let session_key = new_session_key();
        {
            let mut state = lock(&self.state);
            if let Some(old) = req.cookie("sessionid") {
                state.sessions.remove(&old);
            }
            let idle = self.options.session_idle;
            state.sessions.retain(|_, s| s.last_seen.elapsed() <= idle);
            state.sessions.insert(
                session_key.clone(),
                Session {
                    account,
                    last_seen: Instant::now(),
                },
            );
            state.failures.remove(&key);
        }
        let reply = if req.is_ajax() {
            Reply::json(
                200,
                &json!({"location": "/login/redirect/", "form": form_json(true)}),
            )
        } else {
            Reply::redirect(302, "/login/redirect/")
        };
        let reply = reply
            .header("Set-Cookie", csrf_set_cookie(&new_csrf_secret()))
            .header("Set-Cookie", session_set_cookie(&session_key));
        (reply, None)
    }

    fn logout(&self, req: &SimRequest) -> (Reply, Option<String>) {
        if let Err(reason) = csrf_check(req, |_| true, &[]) {
            return (csrf_failure_page(), Some(format!("CSRF: {reason}")));
        }
        if let Some(key) = req.cookie("sessionid") {
            lock(&self.state).sessions.remove(&key);
        }
        let reply = if req.is_ajax() {
            Reply::json(200, &json!({"location": "/"}))
        } else {
            Reply::redirect(302, "/")
        };
        (reply.header("Set-Cookie", session_delete_cookie()), None)
    }

    fn api(&self, req: &SimRequest, rest: &str) -> (Reply, Option<String>) {
        let segments: Vec<&str> = rest.split('/').collect();
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let route = match segments.as_slice() {
            ["user"] => ApiRoute::User,
            // Django's `APPEND_SLASH` (CommonMiddleware): before any view,
            // so before the version and the session.
            ["homes"] if self.options.homes_trailing_slash => {
                let target = with_query("/api/homes/", &req.query);
                return (Reply::redirect(301, &target), None);
            }
            ["homes"] | ["homes", ""] => ApiRoute::Homes,
            ["homes", id, "contracts"] if numeric(id) => ApiRoute::Contracts(id.to_string()),
            ["homes", id, "sge_measures", "conso_daily"] if numeric(id) => {
                ApiRoute::ElectricityDaily(id.to_string())
            }
            ["homes", id, "sge_measures", "courbe"] if numeric(id) => {
                ApiRoute::ElectricityCurve(id.to_string())
            }
            ["homes", id, "adict_measures", "conso_daily"] if numeric(id) => {
                ApiRoute::GasDaily(id.to_string())
            }
            ["homes", id, "temperature_measures", "yearly"] if numeric(id) => {
                ApiRoute::Temperatures(id.to_string())
            }
            _ => return (not_found(), None),
        };
        let json_reply = |reply: Reply| reply.header("Allow", "GET, HEAD, OPTIONS");
        // `/api/user` hands out the CSRF cookie (ensure_csrf_cookie).
        let csrf_cookie =
            matches!(route, ApiRoute::User).then(|| csrf_set_cookie(&Self::csrf_secret_for(req)));
        let with_cookie = |reply: Reply| match &csrf_cookie {
            Some(c) => reply.header("Set-Cookie", c.clone()),
            None => reply,
        };
        // DRF determines the version before it authenticates.
        if let Some(version) = accept_version(req.header("accept")) {
            let allowed = &self.options.api_versions;
            if !allowed.is_empty() && !allowed.contains(&version) {
                let reply = invalid_version();
                return (
                    with_cookie(json_reply(reply)),
                    Some("API version refused".into()),
                );
            }
        }
        if self.session(req).is_none() {
            let reply = unauthenticated(self.options.unauthenticated_status);
            return (with_cookie(json_reply(reply)), Some("no session".into()));
        }
        if req.method == Method::OPTIONS {
            // DRF's metadata answer.
            let reply = Reply::json(
                200,
                &json!({
                    "name": route.name(),
                    "description": "",
                    "renders": ["application/json"],
                    "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
                }),
            );
            return (json_reply(reply), None);
        }
        if !matches!(req.method, Method::GET | Method::HEAD) {
            if let Err(reason) = csrf_check(req, |_| true, &[]) {
                let reply = detail(403, &format!("CSRF Failed: {reason}"));
                return (json_reply(reply), Some("CSRF".into()));
            }
            let message = format!("Method \"{}\" not allowed.", req.method);
            return (json_reply(detail(405, &message)), None);
        }
        let home_ok = |id: &str| id.parse::<u64>().ok() == Some(DEMO_HOME_ID);
        let measures = |id: &str,
                        missing_end,
                        max_days: Option<u32>,
                        build: &dyn Fn(&[Date]) -> Value|
         -> Reply {
            if !home_ok(id) {
                return not_found();
            }
            let days = match parse_window(&req.query, missing_end) {
                Ok(window) => window.days(),
                Err(reply) => return reply,
            };
            match max_days {
                Some(max) if days.len() > usize::try_from(max).unwrap_or(usize::MAX) => {
                    too_many_days(max)
                }
                _ => Reply::json(200, &build(&days)),
            }
        };
        let reply = match &route {
            ApiRoute::User => Reply::json(200, &self.demo.user()),
            ApiRoute::Homes => {
                let mut homes = self.demo.homes();
                if let (Some((key, value)), Some(list)) =
                    (&self.options.extra_home_field, homes.as_array_mut())
                {
                    for home in list.iter_mut().filter_map(|h| h.as_object_mut()) {
                        home.insert(key.clone(), Value::String(value.clone()));
                    }
                }
                Reply::json(200, &homes)
            }
            ApiRoute::Contracts(id) if home_ok(id) => Reply::json(200, &self.demo.contracts()),
            ApiRoute::Temperatures(id) if home_ok(id) => {
                let (first, end) = self.demo.temperature_days_default();
                let default = Window {
                    start: first.paris_midnight_utc(),
                    end: end.paris_midnight_utc(),
                };
                match parse_window_or(&req.query, default) {
                    Ok(window) => Reply::json(
                        200,
                        &self
                            .demo
                            .temperatures(&window.days(), self.options.temperature_monthly),
                    ),
                    Err(reply) => reply,
                }
            }
            ApiRoute::Contracts(_) | ApiRoute::Temperatures(_) => not_found(),
            ApiRoute::ElectricityDaily(id) => measures(id, MissingEnd::EndOfMonth, None, &|days| {
                self.demo.electricity_daily(days)
            }),
            ApiRoute::ElectricityCurve(id) => measures(
                id,
                MissingEnd::Required,
                self.options.curve_max_days,
                &|days| self.demo.electricity_curve(days),
            ),
            ApiRoute::GasDaily(id) => measures(id, MissingEnd::EndOfMonth, None, &|days| {
                self.demo.gas_daily(days)
            }),
        };
        (with_cookie(json_reply(reply)), None)
    }
}

/// The human log-in page of the real site (the same form as
/// `/accounts/login/`, which it posts to).
const HUMAN_LOGIN_PAGE: &str = "/mon-compte/me-connecter";

/// A path with the request's raw query, if any (redirects keep it).
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The curve's answer to a window over `curve_max_days`. The wording is
/// inferred (no public client quotes it): a DRF `detail`, in English like
/// the API's other messages.
fn too_many_days(max: u32) -> Reply {
    detail(
        400,
        &format!("The requested period is too long: the load curve covers at most {max} days."),
    )
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn too_many_requests(retry_after: u64) -> Reply {
    Reply::html(
        429,
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <title>Trop de requêtes | helloWatt</title>\n</head>\n<body>\n  <h1>Trop de \
         requêtes</h1>\n  <p>Vous avez effectué trop de tentatives de connexion. Merci de \
         réessayer plus tard.</p>\n</body>\n</html>\n"
            .to_string(),
    )
    .header("Retry-After", retry_after.to_string())
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// allauth's log-in page (the password is never rendered back), with the
/// hidden form token when there is one.
fn login_page_html(form_token: Option<&str>, errors: &[&str], login: Option<&str>) -> String {
    let token = form_token
        .map(|t| {
            format!("      <input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{t}\">\n")
        })
        .unwrap_or_default();
    let errors = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", escape_html(e)))
            .collect();
        format!("      <ul class=\"errorlist nonfield\">{items}</ul>\n")
    };
    let value = login
        .map(|l| format!(" value=\"{}\"", escape_html(l)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
         <title>Connexion | helloWatt</title>\n</head>\n<body class=\"account-page\">\n  \
         <main class=\"account\">\n    <h1>Se connecter</h1>\n    \
         <form class=\"login\" method=\"POST\" action=\"/accounts/login/\">\n\
         {token}{errors}      <p>\n        <label for=\"id_login\">Adresse e-mail</label>\n        \
         <input type=\"email\" name=\"login\" placeholder=\"Adresse e-mail\" \
         autocomplete=\"email\" maxlength=\"320\" required id=\"id_login\"{value}>\n      \
         </p>\n      <p>\n        <label for=\"id_password\">Mot de passe</label>\n        \
         <input type=\"password\" name=\"password\" placeholder=\"Mot de passe\" \
         autocomplete=\"current-password\" required id=\"id_password\">\n      </p>\n      \
         <p>\n        <label for=\"id_remember\">Se souvenir de moi</label>\n        \
         <input type=\"checkbox\" name=\"remember\" id=\"id_remember\">\n      </p>\n      \
         <a class=\"button secondaryAction\" href=\"/accounts/password/reset/\">Mot de passe \
         oublié ?</a>\n      <button class=\"primaryAction\" type=\"submit\">Connexion</button>\n    \
         </form>\n  </main>\n</body>\n</html>\n"
    )
}

/// Where `login_action` sends a log-in: what a person must do is on the
/// site, not in any answer a client can act on.
fn action_page() -> String {
    "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>Action requise | \
     helloWatt</title></head>\n<body>\n<main><h1>Une action est requise</h1><p>Suivez les \
     instructions envoyées à votre adresse e-mail pour accéder à votre compte.</p></main>\n\
     </body>\n</html>\n"
        .to_string()
}

fn account_page() -> String {
    "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>Mon compte | \
     helloWatt</title></head>\n<body>\n<div id=\"app\"></div>\n</body>\n</html>\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Client, form, form_token};
    use super::super::window::DRF_DATETIME_FORMAT;
    use super::super::{SimMode, SimOptions, SimServer, start, start_with};
    use super::*;
    use std::net::SocketAddr;
    use std::time::Duration;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    async fn demo_server() -> SimServer {
        start(
            local(),
            SimMode::Demo {
                today: d("2026-11-28"),
            },
        )
        .await
        .unwrap()
    }

    async fn demo_with(options: SimOptions) -> SimServer {
        start_with(
            local(),
            SimMode::Demo {
                today: d("2026-11-28"),
            },
            options,
        )
        .await
        .unwrap()
    }

    fn homes_path() -> &'static str {
        "/api/homes"
    }

    fn measure(kind: &str, start: Date, end: Date) -> String {
        format!(
            "/api/homes/{DEMO_HOME_ID}/{kind}?startDate={}&endDate={}",
            super::super::testing::encode(&start.paris_midnight_iso()),
            super::super::testing::encode(&end.paris_midnight_iso())
        )
    }

    #[tokio::test]
    async fn login_success_sets_cookies_and_opens_the_api() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let page = c.get("/accounts/login/").await;
        assert_eq!(page.status, 200);
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        let cookie = page.set_cookies().pop().unwrap();
        assert!(cookie.starts_with("csrftoken="), "{cookie}");
        assert!(cookie.contains("; Path=/") && cookie.contains("SameSite=Lax"));
        let secret = c.cookie("csrftoken").unwrap();
        assert_eq!(secret.len(), 32);
        let token = form_token(&page.text()).unwrap();
        assert_eq!(token.len(), 64);
        assert_ne!(token, secret);

        let r = c.post_login(DEMO_LOGIN, DEMO_PASSWORD, &token).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type").unwrap(), "application/json");
        let body = r.json();
        assert_eq!(body["location"], "/login/redirect/");
        assert!(body["form"]["fields"]["login"].is_object());
        let cookies = r.set_cookies();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("sessionid="))
            .unwrap();
        assert!(session.contains("HttpOnly") && session.contains("Path=/"));
        let rotated = c.cookie("csrftoken").unwrap();
        assert_ne!(rotated, secret, "the CSRF secret rotates at log-in");

        let homes = c.api(homes_path()).await;
        assert_eq!(homes.status, 200);
        assert_eq!(homes.header("content-type").unwrap(), "application/json");
        assert!(homes.header("date").is_some());
        let homes = homes.json();
        assert_eq!(homes[0]["id"], DEMO_HOME_ID);
        let user = c.api("/api/user").await;
        assert_eq!(user.status, 200);
        assert_eq!(user.json()["email"], DEMO_LOGIN);
        // The e-mail is matched without regard to case.
        let mut c2 = Client::new(&sim.url());
        assert_eq!(
            c2.login("Demo@HelloWatt.test", DEMO_PASSWORD).await.status,
            200
        );
        assert!(sim.served().contains(&"GET /api/homes -> 200".to_string()));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn login_failure_echoes_the_password_and_opens_nothing() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let r = c.login(DEMO_LOGIN, "Wrong-password-1!").await;
        assert_eq!(r.status, 400);
        let body = r.json();
        assert_eq!(body["form"]["errors"][0], NON_FIELD_LOGIN_ERROR);
        assert_eq!(
            body["form"]["fields"]["password"]["value"],
            "Wrong-password-1!"
        );
        assert!(r.set_cookies().iter().all(|c| !c.starts_with("sessionid=")));
        let homes = c.api(homes_path()).await;
        assert_eq!(homes.status, 403);
        assert_eq!(
            homes.json(),
            json!({"detail": "Authentication credentials were not provided."})
        );
        // Missing fields: 400 with field errors.
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        let r = c.post_login("", "", &token).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["form"]["fields"]["login"]["errors"][0], REQUIRED);
        // No log line carries the password.
        assert!(sim.served().iter().all(|l| !l.contains("Wrong-password")));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn json_credentials_are_a_400() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let page = c.get("/accounts/login/").await;
        let _ = form_token(&page.text()).unwrap();
        let csrf = c.cookie("csrftoken").unwrap();
        let body = json!({"login": DEMO_LOGIN, "password": DEMO_PASSWORD}).to_string();
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[
                    ("Content-Type", "application/json"),
                    ("X-CSRFToken", &csrf),
                    ("X-Requested-With", "XMLHttpRequest"),
                ],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["form"]["fields"]["password"]["errors"][0],
            REQUIRED
        );
        assert!(c.cookie("sessionid").is_none());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn non_ajax_login_redirects() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        let body = form(&[
            ("login", DEMO_LOGIN),
            ("password", DEMO_PASSWORD),
            ("csrfmiddlewaretoken", &token),
        ]);
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location").unwrap(), "/login/redirect/");
        assert!(c.cookie("sessionid").is_some());
        let r = c.get("/login/redirect/").await;
        assert_eq!(r.header("location").unwrap(), "/mon-compte/");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn too_many_failures_lock_the_account() {
        let options = SimOptions {
            lockout: Duration::from_secs(2),
            ..SimOptions::default()
        };
        let sim = demo_with(options).await;
        let mut c = Client::new(&sim.url());
        for i in 0..5 {
            let r = c.login(DEMO_LOGIN, "Wrong-password-1!").await;
            assert_eq!(r.status, 400, "attempt {i}");
        }
        let r = c.login(DEMO_LOGIN, DEMO_PASSWORD).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after").unwrap(), "2");
        assert!(c.cookie("sessionid").is_none());
        // Another login is not locked.
        assert_eq!(
            c.login("other@example.org", "Wrong-password-1!")
                .await
                .status,
            400
        );
        tokio::time::sleep(Duration::from_millis(2200)).await;
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        sim.shutdown().await;

        // The default lock: one hour.
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        for _ in 0..5 {
            assert_eq!(c.login(DEMO_LOGIN, "Wrong-password-1!").await.status, 400);
        }
        let r = c.login(DEMO_LOGIN, "Wrong-password-1!").await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after").unwrap(), "3600");
        // A success in between resets the count.
        let sim2 = demo_server().await;
        let mut c = Client::new(&sim2.url());
        for _ in 0..4 {
            assert_eq!(c.login(DEMO_LOGIN, "Wrong-password-1!").await.status, 400);
        }
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        for _ in 0..4 {
            assert_eq!(c.login(DEMO_LOGIN, "Wrong-password-1!").await.status, 400);
        }
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        sim.shutdown().await;
        sim2.shutdown().await;
    }

    #[tokio::test]
    async fn csrf_is_enforced_on_log_in() {
        let sim = demo_server().await;
        let url = sim.url();
        let creds = |token: &str| {
            form(&[
                ("login", DEMO_LOGIN),
                ("password", DEMO_PASSWORD),
                ("csrfmiddlewaretoken", token),
            ])
        };
        let ct = ("Content-Type", "application/x-www-form-urlencoded");
        let ajax = ("X-Requested-With", "XMLHttpRequest");

        // No cookie at all.
        let mut c = Client::new(&url);
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax],
                creds("").as_bytes(),
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(
            r.text()
                .contains("CSRF verification failed. Request aborted.")
        );
        assert!(r.header("content-type").unwrap().starts_with("text/html"));

        // A cookie but no token.
        let mut c = Client::new(&url);
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax],
                creds("").as_bytes(),
            )
            .await;
        assert_eq!(r.status, 403);
        // A wrong token.
        let wrong = mask_csrf(&new_csrf_secret());
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax],
                creds(&wrong).as_bytes(),
            )
            .await;
        assert_eq!(r.status, 403);
        // A right header does not save a wrong form token (the form wins).
        let secret = c.cookie("csrftoken").unwrap();
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax, ("X-CSRFToken", &secret)],
                creds(&wrong).as_bytes(),
            )
            .await;
        assert_eq!(r.status, 403);
        // A foreign Origin, and the real site's under another scheme.
        for origin in ["https://elsewhere.example", "http://www.hellowatt.fr"] {
            let r = c
                .send(
                    "POST",
                    "/accounts/login/",
                    &[ct, ajax, ("Origin", origin)],
                    creds(&token).as_bytes(),
                )
                .await;
            assert_eq!(r.status, 403, "{origin}");
        }
        assert!(
            sim.served()
                .iter()
                .any(|l| l.contains("Origin checking failed"))
        );

        // The header alone, with the cookie value.
        let body = form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]);
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax, ("X-CSRFToken", &secret)],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200);
        // The form token alone (from a fresh page).
        let mut c = Client::new(&url);
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax],
                creds(&token).as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200);
        // The cookie value in the form, and the masked token in the header.
        let mut c = Client::new(&url);
        let page = c.get("/accounts/login/").await;
        let token = form_token(&page.text()).unwrap();
        let secret = c.cookie("csrftoken").unwrap();
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[ct, ajax, ("X-CSRFToken", &token)],
                creds(&secret).as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200);
        // The reference client with its own Origin (the sim's).
        let mut c = Client::new(&url);
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn api_needs_a_session() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let r = c.api(homes_path()).await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json()["detail"],
            "Authentication credentials were not provided."
        );
        // `/api/user` hands out the CSRF cookie even unauthenticated.
        let r = c.api("/api/user").await;
        assert_eq!(r.status, 403);
        assert!(c.cookie("csrftoken").is_some());
        // A made-up session.
        c.jar.insert(
            "sessionid".into(),
            "abcdefghijklmnopqrstuvwxyz012345".into(),
        );
        assert_eq!(c.api(homes_path()).await.status, 403);
        // Unknown routes are 404 before any session check.
        let r = c.api("/api/nothing").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), json!({"detail": "Not found."}));
        assert_eq!(c.get("/somewhere/else").await.status, 404);
        // Unknown home, once logged in.
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let r = c.api("/api/homes/999999/contracts").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), json!({"detail": "Not found."}));
        assert_eq!(c.api("/api/homes/abc/contracts").await.status, 404);
        let r = c.api(&format!("/api/homes/{DEMO_HOME_ID}/contracts")).await;
        assert_eq!(r.status, 200);
        let contracts = r.json();
        let offers: Vec<&str> = contracts
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["contractState"] == "actual")
            .map(|c| c["offer"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(offers.len(), 3);
        assert_eq!(offers[0], "Tarif Bleu - Option Tempo");
        // DRF's OPTIONS metadata.
        let r = c.send("OPTIONS", homes_path(), &[], b"").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("allow").unwrap(), "GET, HEAD, OPTIONS");
        // Other methods: CSRF, then 405.
        let r = c.send("POST", homes_path(), &[], b"").await;
        assert_eq!(r.status, 403);
        let secret = c.cookie("csrftoken").unwrap();
        let r = c
            .send("POST", homes_path(), &[("X-CSRFToken", &secret)], b"")
            .await;
        assert_eq!(r.status, 405);
        assert_eq!(r.json()["detail"], "Method \"POST\" not allowed.");
        sim.shutdown().await;

        // The 401 flavour.
        let sim = demo_with(SimOptions {
            unauthenticated_status: 401,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let r = c.api(homes_path()).await;
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").is_some());
        assert_eq!(
            r.json()["detail"],
            "Authentication credentials were not provided."
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn sessions_expire() {
        let sim = demo_with(SimOptions {
            session_idle: Duration::from_secs(1),
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        // Each request restarts the idle clock.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(c.api(homes_path()).await.status, 200);
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(c.api(homes_path()).await.status, 403);
        // Log in again, then a test ends every session at once.
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        assert_eq!(c.api(homes_path()).await.status, 200);
        sim.expire_sessions();
        let r = c.api(homes_path()).await;
        assert_eq!(r.status, 403);
        assert!(
            sim.served()
                .last()
                .unwrap()
                .ends_with("-> 403 (no session)")
        );
        // Log-out.
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let secret = c.cookie("csrftoken").unwrap();
        let r = c
            .send(
                "POST",
                "/accounts/logout/",
                &[
                    ("X-CSRFToken", &secret),
                    ("X-Requested-With", "XMLHttpRequest"),
                ],
                b"",
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(c.cookie("sessionid").is_none());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn percent_encoded_query_decodes_and_raw_plus_is_refused() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let base = format!("/api/homes/{DEMO_HOME_ID}/sge_measures/conso_daily");
        let r = c
            .api(&format!(
                "{base}?startDate=2026-03-01T00%3A00%3A00%2B01%3A00&endDate=2026-04-01T00%3A00%3A00%2B02%3A00"
            ))
            .await;
        assert_eq!(r.status, 200);
        let values = r.json()["values"].as_array().unwrap().clone();
        assert_eq!(values.len(), 31);
        assert_eq!(values[0]["datetime"], "2026-03-01T00:00:00+01:00");
        assert_eq!(values[30]["datetime"], "2026-03-31T00:00:00+02:00");
        // `:` unescaped is fine, `+` unescaped is a space: 400.
        let r = c
            .api(&format!(
                "{base}?startDate=2026-03-01T00:00:00+01:00&endDate=2026-04-01T00:00:00%2B02:00"
            ))
            .await;
        assert_eq!(r.status, 400);
        let body = r.json();
        assert_eq!(body["startDate"][0], DRF_DATETIME_FORMAT);
        assert!(body.get("endDate").is_none());
        sim.shutdown().await;
    }

    /// zotot's `hellowatt-ha` asks `conso_daily` with `startDate` alone
    /// (the first of a month) and reads that month: electricity and gas
    /// answer it; the curve still wants both bounds.
    #[tokio::test]
    async fn a_month_asked_by_its_start_alone() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let start = "startDate=2026-03-01T00%3A00%3A00%2B01%3A00";
        for kind in ["sge_measures/conso_daily", "adict_measures/conso_daily"] {
            let r = c
                .api(&format!("/api/homes/{DEMO_HOME_ID}/{kind}?{start}"))
                .await;
            assert_eq!(r.status, 200, "{kind}");
            let values = r.json()["values"].as_array().unwrap().clone();
            assert_eq!(values.len(), 31, "{kind}");
            assert_eq!(values[0]["datetime"], "2026-03-01T00:00:00+01:00");
            assert_eq!(values[30]["datetime"], "2026-03-31T00:00:00+02:00");
        }
        let r = c
            .api(&format!(
                "/api/homes/{DEMO_HOME_ID}/sge_measures/courbe?{start}"
            ))
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["endDate"][0], "This field is required.");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn curve_on_dst_days_over_http() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        for (day, points) in [("2026-03-29", 46), ("2026-10-25", 50), ("2026-06-10", 48)] {
            let day = d(day);
            let r = c
                .api(&measure("sge_measures/courbe", day, day.succ()))
                .await;
            assert_eq!(r.status, 200);
            let body = r.json();
            let values = body["values"].as_array().unwrap();
            assert_eq!(values.len(), points, "{day}");
            assert_eq!(values[0]["measureTimeGap"], 30);
            assert_eq!(values[0]["datetime"], day.paris_midnight_iso());
        }
        let r = c
            .api(&measure(
                "sge_measures/courbe",
                d("2026-10-25"),
                d("2026-10-26"),
            ))
            .await;
        let body = r.json();
        let times: Vec<&str> = body["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["datetime"].as_str().unwrap())
            .collect();
        assert_eq!(times[4], "2026-10-25T02:00:00+02:00");
        assert_eq!(times[6], "2026-10-25T02:00:00+01:00");
        assert_eq!(times[49], "2026-10-25T23:30:00+01:00");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn data_stops_at_yesterday() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        // The current month, clipped to yesterday: complete.
        let r = c
            .api(&measure(
                "sge_measures/conso_daily",
                d("2026-11-01"),
                d("2026-11-28"),
            ))
            .await
            .json();
        assert_eq!(r["values"].as_array().unwrap().len(), 27);
        assert_eq!(r["isFetchOngoing"], false);
        // The whole month: it reaches today, the site is still fetching.
        for kind in [
            "sge_measures/conso_daily",
            "sge_measures/courbe",
            "adict_measures/conso_daily",
        ] {
            let r = c
                .api(&measure(kind, d("2026-11-01"), d("2026-12-01")))
                .await
                .json();
            assert_eq!(r["isFetchOngoing"], true, "{kind}");
            let last = r["values"].as_array().unwrap().last().unwrap()["datetime"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(last.starts_with("2026-11-27"), "{kind}: {last}");
        }
        // The future: nothing, nothing to fetch.
        let r = c
            .api(&measure(
                "sge_measures/conso_daily",
                d("2027-01-01"),
                d("2027-02-01"),
            ))
            .await
            .json();
        assert!(r["values"].as_array().unwrap().is_empty());
        assert_eq!(r["isFetchOngoing"], false);
        let t = c
            .api(&format!(
                "/api/homes/{DEMO_HOME_ID}/temperature_measures/yearly"
            ))
            .await
            .json();
        let values = t["values"].as_array().unwrap();
        assert_eq!(values.len(), 365);
        assert_eq!(values[0]["datetime"], "2025-11-28T00:00:00+01:00");
        assert_eq!(values[364]["datetime"], "2026-11-27T00:00:00+01:00");
        sim.shutdown().await;
    }

    // ----- The knobs of issue #17 and the public clients' request shapes.

    use super::super::FaultScope;
    use super::super::faults::Fault;
    use super::super::testing::{Resp, encode};

    /// The real site's origin, which public clients send hard-coded.
    const SITE: &str = "https://www.hellowatt.fr";
    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
    const AJAX: (&str, &str) = ("X-Requested-With", "XMLHttpRequest");

    /// A timestamp in a query as aiohttp (yarl) writes it: `:` kept, `+`
    /// escaped.
    fn yarl(s: &str) -> String {
        s.replace('+', "%2B")
    }

    async fn with_accept(c: &mut Client, target: &str, accept: &str) -> Resp {
        c.send("GET", target, &[("Accept", accept)], b"").await
    }

    /// zotot's `_headers()` for an API call.
    async fn zotot_get(c: &mut Client, target: &str) -> Resp {
        let csrf = c.cookie("csrftoken").unwrap_or_default();
        let referer = format!("{SITE}/mon-compte/");
        c.send(
            "GET",
            target,
            &[
                ("accept", "application/json; version=1.54"),
                ("content-type", "application/json"),
                ("is-on-native-app", "false"),
                ("x-csrftoken", &csrf),
                ("x-requested-with", "XMLHttpRequest"),
                ("x-app-version", ""),
                ("origin", SITE),
                ("referer", &referer),
            ],
            b"",
        )
        .await
    }

    /// zotot's `async_login`: `GET /api/user` for the cookie (its status
    /// unread), then the form with the token in the header only.
    async fn zotot_login(c: &mut Client, password: &str) -> (Resp, Resp) {
        let referer = format!("{SITE}/mon-compte/");
        let user = c
            .send(
                "GET",
                "/api/user",
                &[
                    ("accept", "application/json; version=1.54"),
                    ("content-type", "application/json"),
                    ("is-on-native-app", "false"),
                    ("x-csrftoken", ""),
                    ("referer", &referer),
                ],
                b"",
            )
            .await;
        let csrf = c.cookie("csrftoken").expect("zotot finds its CSRF cookie");
        let page = format!("{SITE}/mon-compte/me-connecter");
        let body = form(&[("login", DEMO_LOGIN), ("password", password)]);
        let post = c
            .send(
                "POST",
                "/accounts/login/",
                &[
                    FORM,
                    ("accept", "application/json; version=1.54"),
                    ("x-csrftoken", &csrf),
                    AJAX,
                    ("x-app-version", ""),
                    ("origin", SITE),
                    ("referer", &page),
                ],
                body.as_bytes(),
            )
            .await;
        (user, post)
    }

    /// hellowatt_hass's `authenticate`: the log-in page (aiohttp follows
    /// redirects), then a plain form POST with the cookie's value as the
    /// form token, `Referer` the log-in URL, no AJAX header, no `Origin`;
    /// redirects followed. Returns the POST's first answer.
    async fn hellowatt_hass_login(c: &mut Client, password: &str) -> Resp {
        let mut page = c.get("/accounts/login/").await;
        while page.status == 301 || page.status == 302 {
            let next = page.header("location").unwrap();
            page = c.get(&next).await;
        }
        assert_eq!(page.status, 200);
        let csrf = c.cookie("csrftoken").unwrap_or_default();
        let body = form(&[
            ("login", DEMO_LOGIN),
            ("password", password),
            ("csrfmiddlewaretoken", &csrf),
        ]);
        let referer = format!("{SITE}/accounts/login/");
        c.send(
            "POST",
            "/accounts/login/",
            &[FORM, ("Referer", &referer)],
            body.as_bytes(),
        )
        .await
    }

    /// elmomotito's `login` (no redirect followed): the cookie from `GET
    /// /accounts/login/`, then the form without a token field, the token in
    /// `X-CSRFToken`, the real site's `Origin` and `Referer`.
    async fn elmomotito_login(c: &mut Client) -> Resp {
        let page = c.get("/accounts/login/").await;
        assert_eq!(page.status, 200);
        let csrf = c.cookie("csrftoken").expect("elmomotito finds its cookie");
        let body = form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]);
        let referer = format!("{SITE}/accounts/login/");
        c.send(
            "POST",
            "/accounts/login/",
            &[
                FORM,
                ("X-CSRFToken", &csrf),
                AJAX,
                ("Origin", SITE),
                ("Referer", &referer),
            ],
            body.as_bytes(),
        )
        .await
    }

    #[tokio::test]
    async fn api_versions_in_accept_are_checked() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        for accept in [
            "application/json; version=1.48",
            "application/json; version=1.54",
            "application/json",
            "*/*",
        ] {
            let r = with_accept(&mut c, homes_path(), accept).await;
            assert_eq!(r.status, 200, "{accept}");
        }
        let r = with_accept(&mut c, homes_path(), "application/json; version=1.30").await;
        assert_eq!(r.status, 406);
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            api_versions: vec!["1.54".into()],
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        // Before the session is looked at, as DRF does.
        let r = with_accept(&mut c, homes_path(), "application/json; version=1.48").await;
        assert_eq!(r.status, 406);
        assert_eq!(
            r.json(),
            json!({"detail": "Invalid version in \"Accept\" header."})
        );
        assert_eq!(r.header("content-type").unwrap(), "application/json");
        assert!(
            sim.served()
                .last()
                .unwrap()
                .ends_with("(API version refused)")
        );
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let r = with_accept(&mut c, homes_path(), "application/json; version=1.48").await;
        assert_eq!(r.status, 406);
        let r = with_accept(&mut c, homes_path(), "application/json; version=1.54").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()[0]["id"], DEMO_HOME_ID);
        let r = with_accept(&mut c, homes_path(), "application/json").await;
        assert_eq!(r.status, 200);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn the_human_log_in_page_and_the_moved_one() {
        // By default both pages serve the form.
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let page = c.get("/mon-compte/me-connecter").await;
        assert_eq!(page.status, 200);
        assert!(page.set_cookies()[0].starts_with("csrftoken="));
        let token = form_token(&page.text()).unwrap();
        assert!(page.text().contains("action=\"/accounts/login/\""));
        assert_eq!(
            c.post_login(DEMO_LOGIN, DEMO_PASSWORD, &token).await.status,
            200
        );
        assert_eq!(c.get("/accounts/login/").await.status, 200);
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            login_page_moved: true,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let r = c.get("/accounts/login/").await;
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location").unwrap(), "/mon-compte/me-connecter");
        assert!(r.set_cookies().is_empty(), "a redirect sets no cookie");
        assert!(c.cookie("csrftoken").is_none());
        let r = c.get("/accounts/login/?next=/mon-compte/").await;
        assert_eq!(
            r.header("location").unwrap(),
            "/mon-compte/me-connecter?next=/mon-compte/"
        );
        let page = c.get("/mon-compte/me-connecter").await;
        assert_eq!(page.status, 200);
        let token = form_token(&page.text()).unwrap();
        // The log-in POST has not moved.
        let r = c.post_login(DEMO_LOGIN, DEMO_PASSWORD, &token).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["location"], "/login/redirect/");
        assert_eq!(c.api(homes_path()).await.status, 200);
        let r = c.send("POST", "/mon-compte/me-connecter", &[], b"").await;
        assert_eq!(r.status, 405);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn homes_with_a_trailing_slash() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let plain = c.api("/api/homes").await;
        let slash = c.api("/api/homes/").await;
        assert_eq!((plain.status, slash.status), (200, 200));
        assert_eq!(plain.json(), slash.json());
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            homes_trailing_slash: true,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        // Before the session: Django's middleware answers it.
        let r = c.api("/api/homes").await;
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location").unwrap(), "/api/homes/");
        assert_eq!(c.api("/api/homes/").await.status, 403);
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let r = c.api("/api/homes?page=1").await;
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location").unwrap(), "/api/homes/?page=1");
        let r = c.api("/api/homes/").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()[0]["id"], DEMO_HOME_ID);
        // The other routes keep their shape.
        let r = c.api(&format!("/api/homes/{DEMO_HOME_ID}/contracts")).await;
        assert_eq!(r.status, 200);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn log_in_pages_without_the_cookie_or_the_form_token() {
        let sim = demo_with(SimOptions {
            login_page_sets_csrf_cookie: false,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        for page in ["/accounts/login/", "/mon-compte/me-connecter"] {
            let r = c.get(page).await;
            assert_eq!(r.status, 200);
            assert!(r.set_cookies().is_empty(), "{page}");
            assert!(form_token(&r.text()).is_some(), "{page}");
        }
        // The form token alone is not enough: no cookie.
        let token = form_token(&c.get("/accounts/login/").await.text()).unwrap();
        assert_eq!(
            c.post_login(DEMO_LOGIN, DEMO_PASSWORD, &token).await.status,
            403
        );
        // The cookie comes from `/api/user`, even without a session.
        let r = c.api("/api/user").await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json(),
            json!({"detail": "Authentication credentials were not provided."})
        );
        assert!(r.set_cookies()[0].starts_with("csrftoken="));
        // Now the page's token masks that cookie's secret.
        let token = form_token(&c.get("/accounts/login/").await.text()).unwrap();
        assert_eq!(
            c.post_login(DEMO_LOGIN, DEMO_PASSWORD, &token).await.status,
            200
        );
        let user = c.api("/api/user").await;
        assert_eq!(user.status, 200);
        assert_eq!(user.json()["email"], DEMO_LOGIN);
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            login_page_has_form_token: false,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let page = c.get("/accounts/login/").await;
        assert!(!page.text().contains("csrfmiddlewaretoken"));
        assert!(page.set_cookies()[0].starts_with("csrftoken="));
        // The cookie's value in the header does it.
        let secret = c.cookie("csrftoken").unwrap();
        let body = form(&[("login", DEMO_LOGIN), ("password", DEMO_PASSWORD)]);
        let r = c
            .send(
                "POST",
                "/accounts/login/",
                &[FORM, AJAX, ("X-CSRFToken", &secret)],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn wrong_credentials_with_a_401() {
        let sim = demo_with(SimOptions {
            login_refusal_status: 401,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let r = c.login(DEMO_LOGIN, "Wrong-password-1!").await;
        assert_eq!(r.status, 401);
        let body = r.json();
        assert_eq!(body["form"]["errors"][0], NON_FIELD_LOGIN_ERROR);
        assert!(c.cookie("sessionid").is_none());
        // A form that does not validate is still a 400.
        let token = form_token(&c.get("/accounts/login/").await.text()).unwrap();
        assert_eq!(c.post_login("", "", &token).await.status, 400);
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        sim.shutdown().await;
        let options = SimOptions {
            login_refusal_status: 403,
            ..SimOptions::default()
        };
        assert!(demo_try(options).await.is_err());
    }

    async fn demo_try(options: SimOptions) -> anyhow::Result<SimServer> {
        start_with(
            local(),
            SimMode::Demo {
                today: d("2026-11-28"),
            },
            options,
        )
        .await
    }

    #[tokio::test]
    async fn a_log_in_that_needs_a_person_opens_no_session() {
        let action = "/accounts/confirm-email/";
        let sim = demo_with(SimOptions {
            login_action: Some(action.into()),
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let r = c.login(DEMO_LOGIN, DEMO_PASSWORD).await;
        assert_eq!(r.status, 200);
        let body = r.json();
        assert_eq!(body["location"], action);
        assert!(body["form"]["fields"]["login"].is_object());
        assert!(r.set_cookies().is_empty(), "no session, no rotation");
        assert!(c.cookie("sessionid").is_none());
        assert_eq!(c.api(homes_path()).await.status, 403);
        // Without the AJAX header: a redirect there, still no session.
        let token = form_token(&c.get("/accounts/login/").await.text()).unwrap();
        let body = form(&[
            ("login", DEMO_LOGIN),
            ("password", DEMO_PASSWORD),
            ("csrfmiddlewaretoken", &token),
        ]);
        let r = c
            .send("POST", "/accounts/login/", &[FORM], body.as_bytes())
            .await;
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location").unwrap(), action);
        assert!(c.cookie("sessionid").is_none());
        let page = c.get(action).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("Une action est requise"));
        // Wrong credentials are refused as usual.
        assert_eq!(c.login(DEMO_LOGIN, "Wrong-password-1!").await.status, 400);
        sim.shutdown().await;
        let options = SimOptions {
            login_action: Some("/bad\nvalue".into()),
            ..SimOptions::default()
        };
        assert!(demo_try(options).await.is_err());
    }

    #[tokio::test]
    async fn a_curve_longer_than_allowed_is_a_400() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let month = measure("sge_measures/courbe", d("2026-10-01"), d("2026-11-01"));
        assert_eq!(c.api(&month).await.status, 200);
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            curve_max_days: Some(1),
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        // One day, even the 25-hour one.
        let r = c
            .api(&measure(
                "sge_measures/courbe",
                d("2026-10-25"),
                d("2026-10-26"),
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["values"].as_array().unwrap().len(), 50);
        let r = c
            .api(&measure(
                "sge_measures/courbe",
                d("2026-10-25"),
                d("2026-10-27"),
            ))
            .await;
        assert_eq!(r.status, 400);
        let body = r.json();
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("at most 1 days"), "{detail}");
        assert_eq!(body.as_object().unwrap().len(), 1);
        // The daily series are not limited.
        let r = c
            .api(&measure(
                "sge_measures/conso_daily",
                d("2026-10-01"),
                d("2026-11-01"),
            ))
            .await;
        assert_eq!(r.status, 200);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn temperatures_by_range_daily_or_monthly() {
        let base = format!("/api/homes/{DEMO_HOME_ID}/temperature_measures/yearly");
        let q = |a: Date, b: Date| {
            format!(
                "{base}?startDate={}&endDate={}",
                encode(&a.paris_midnight_iso()),
                encode(&b.paris_midnight_iso())
            )
        };
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let june = c.api(&q(d("2026-06-01"), d("2026-07-01"))).await;
        assert_eq!(june.status, 200);
        let june = june.json();
        let days = june["values"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days[0]["datetime"], "2026-06-01T00:00:00+02:00");
        // The same day as in the default (no query) answer.
        let year = c.api(&base).await.json();
        let in_year = year["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["datetime"] == "2026-06-01T00:00:00+02:00")
            .unwrap()
            .clone();
        assert_eq!(days[0], in_year);
        // One bound alone: the other is the default's.
        let r = c
            .api(&format!(
                "{base}?startDate={}",
                encode(&d("2026-11-01").paris_midnight_iso())
            ))
            .await
            .json();
        assert_eq!(r["values"].as_array().unwrap().len(), 27);
        let r = c.api(&format!("{base}?startDate=yesterday")).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["startDate"][0], DRF_DATETIME_FORMAT);
        let june_mean = days
            .iter()
            .map(|v| v["valueCelsius"].as_f64().unwrap())
            .sum::<f64>()
            / 30.0;
        sim.shutdown().await;

        let sim = demo_with(SimOptions {
            temperature_monthly: true,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        let r = c.api(&q(d("2026-06-10"), d("2026-08-01"))).await.json();
        let months = r["values"].as_array().unwrap();
        assert_eq!(months.len(), 2);
        assert_eq!(months[0]["datetime"], "2026-06-01T00:00:00+02:00");
        assert_eq!(months[1]["datetime"], "2026-07-01T00:00:00+02:00");
        // The whole month's mean, though the window starts on the 10th.
        let got = months[0]["valueCelsius"].as_f64().unwrap();
        assert_eq!(got, (june_mean * 10.0).round() / 10.0);
        // No query: the months of the last year, to this one.
        let r = c.api(&base).await.json();
        let months = r["values"].as_array().unwrap();
        assert_eq!(months.len(), 13);
        assert_eq!(months[0]["datetime"], "2025-11-01T00:00:00+01:00");
        assert_eq!(months[12]["datetime"], "2026-11-01T00:00:00+01:00");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_fault_on_any_of_two_endpoints() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.login(DEMO_LOGIN, DEMO_PASSWORD).await.status, 200);
        sim.set_fault(
            Some(Fault::Status {
                status: 500,
                retry_after: None,
            }),
            FaultScope::AnyOf(vec![
                "sge_measures/courbe".into(),
                "temperature_measures".into(),
            ]),
        );
        let (a, b) = (d("2026-10-01"), d("2026-10-02"));
        let curve = c.api(&measure("sge_measures/courbe", a, b)).await;
        let temperatures = c
            .api(&format!(
                "/api/homes/{DEMO_HOME_ID}/temperature_measures/yearly"
            ))
            .await;
        let daily = c.api(&measure("sge_measures/conso_daily", a, b)).await;
        assert_eq!(
            (curve.status, temperatures.status, daily.status),
            (500, 500, 200)
        );
        assert_eq!(c.api(homes_path()).await.status, 200);
        sim.shutdown().await;
    }

    /// zotot (`api.py`): the cookie from `GET /api/user` without a session,
    /// then the log-in with the token in `X-CSRFToken` only, the real site's
    /// `Origin` and `Referer: …/mon-compte/me-connecter`, version 1.54.
    #[tokio::test]
    async fn zotot_login_with_the_token_in_the_header_only() {
        for cookie_on_page in [true, false] {
            let sim = demo_with(SimOptions {
                login_page_sets_csrf_cookie: cookie_on_page,
                ..SimOptions::default()
            })
            .await;
            let mut c = Client::new(&sim.url());
            let (user, post) = zotot_login(&mut c, DEMO_PASSWORD).await;
            assert_eq!(user.status, 403);
            assert!(user.set_cookies()[0].starts_with("csrftoken="));
            assert_eq!(post.status, 200, "{}", post.text());
            assert_eq!(post.json()["location"], "/login/redirect/");
            assert!(c.cookie("sessionid").is_some());
            // Its API calls (the rotated cookie in the header).
            let homes = zotot_get(&mut c, "/api/homes").await;
            assert_eq!(homes.status, 200);
            assert_eq!(homes.json()[0]["id"], DEMO_HOME_ID);
            let user = zotot_get(&mut c, "/api/user").await;
            assert_eq!(user.json()["email"], DEMO_LOGIN);
            sim.shutdown().await;
        }
    }

    /// zotot raises "wrong e-mail or password" on a 401 to the log-in.
    #[tokio::test]
    async fn zotot_reads_a_401_log_in_as_wrong_credentials() {
        let sim = demo_with(SimOptions {
            login_refusal_status: 401,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        let (_, post) = zotot_login(&mut c, "Wrong-password-1!").await;
        assert_eq!(post.status, 401);
        assert!(c.cookie("sessionid").is_none());
        let (_, post) = zotot_login(&mut c, DEMO_PASSWORD).await;
        assert_eq!(post.status, 200);
        sim.shutdown().await;
    }

    /// zotot's `conso_daily` (electricity and gas): `startDate` alone, the
    /// first of a month, as yarl encodes it.
    #[tokio::test]
    async fn zotot_asks_a_month_by_its_start_alone() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        assert_eq!(zotot_login(&mut c, DEMO_PASSWORD).await.1.status, 200);
        let start = yarl(&d("2026-10-01").paris_midnight_iso());
        assert_eq!(start, "2026-10-01T00:00:00%2B02:00");
        for kind in ["sge_measures/conso_daily", "adict_measures/conso_daily"] {
            let r = zotot_get(
                &mut c,
                &format!("/api/homes/{DEMO_HOME_ID}/{kind}?startDate={start}"),
            )
            .await;
            assert_eq!(r.status, 200, "{kind}");
            let values = r.json()["values"].as_array().unwrap().clone();
            assert_eq!(values.len(), 31, "{kind}");
            assert_eq!(values[30]["datetime"], "2026-10-31T00:00:00+01:00");
        }
        // The month in progress: to yesterday, still being fetched.
        let start = yarl(&d("2026-11-01").paris_midnight_iso());
        let r = zotot_get(
            &mut c,
            &format!("/api/homes/{DEMO_HOME_ID}/sge_measures/conso_daily?startDate={start}"),
        )
        .await
        .json();
        assert_eq!(r["values"].as_array().unwrap().len(), 27);
        assert_eq!(r["isFetchOngoing"], true);
        sim.shutdown().await;
    }

    /// zotot's curve: yesterday to today, at local midnights.
    #[tokio::test]
    async fn zotot_curve_from_yesterday_to_today() {
        let sim = demo_with(SimOptions {
            curve_max_days: Some(1),
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(zotot_login(&mut c, DEMO_PASSWORD).await.1.status, 200);
        let (yesterday, today) = (d("2026-11-27"), d("2026-11-28"));
        let r = zotot_get(
            &mut c,
            &format!(
                "/api/homes/{DEMO_HOME_ID}/sge_measures/courbe?startDate={}&endDate={}",
                yarl(&yesterday.paris_midnight_iso()),
                yarl(&today.paris_midnight_iso())
            ),
        )
        .await;
        assert_eq!(r.status, 200);
        let body = r.json();
        let values = body["values"].as_array().unwrap();
        assert_eq!(values.len(), 48);
        assert_eq!(values[0]["datetime"], "2026-11-27T00:00:00+01:00");
        assert_eq!(values[47]["datetime"], "2026-11-27T23:30:00+01:00");
        assert_eq!(body["isFetchOngoing"], false);
        sim.shutdown().await;
    }

    /// hellowatt_hass (`client.py`): a plain form POST, the cookie's value
    /// as `csrfmiddlewaretoken`, no AJAX header and no `Origin`, redirects
    /// followed; success is a `sessionid` (its JSON parse fails on HTML).
    #[tokio::test]
    async fn hellowatt_hass_login_with_the_cookie_as_the_form_token() {
        for moved in [false, true] {
            let sim = demo_with(SimOptions {
                login_page_moved: moved,
                ..SimOptions::default()
            })
            .await;
            let mut c = Client::new(&sim.url());
            let r = hellowatt_hass_login(&mut c, DEMO_PASSWORD).await;
            assert_eq!(r.status, 302, "moved: {moved}");
            assert_eq!(r.header("location").unwrap(), "/login/redirect/");
            assert!(c.cookie("sessionid").is_some());
            let r = c.get("/login/redirect/").await;
            let r = c.get(&r.header("location").unwrap()).await;
            assert_eq!(r.status, 200);
            assert!(r.header("content-type").unwrap().starts_with("text/html"));
            sim.shutdown().await;
        }
        // Wrong password: the page again, no session.
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let r = hellowatt_hass_login(&mut c, "Wrong-password-1!").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains(&escape_html(NON_FIELD_LOGIN_ERROR)));
        assert!(c.cookie("sessionid").is_none());
        sim.shutdown().await;
    }

    /// hellowatt_hass's importer: a month of electricity and gas from its
    /// first midnight to its last day at 23:59:59, Paris time, with its
    /// client's headers (version 1.48, no `Origin`).
    #[tokio::test]
    async fn hellowatt_hass_month_chunk_ending_at_23_59_59() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        hellowatt_hass_login(&mut c, DEMO_PASSWORD).await;
        assert!(c.cookie("sessionid").is_some());
        let query = format!(
            "startDate={}&endDate={}",
            yarl("2026-03-01T00:00:00+01:00"),
            yarl("2026-03-31T23:59:59+02:00")
        );
        for kind in ["sge_measures/conso_daily", "adict_measures/conso_daily"] {
            let r = c
                .api(&format!("/api/homes/{DEMO_HOME_ID}/{kind}?{query}"))
                .await;
            assert_eq!(r.status, 200, "{kind}");
            let values = r.json()["values"].as_array().unwrap().clone();
            assert_eq!(values.len(), 31, "{kind}");
            assert_eq!(values[0]["datetime"], "2026-03-01T00:00:00+01:00");
            assert_eq!(values[30]["datetime"], "2026-03-31T00:00:00+02:00");
        }
        sim.shutdown().await;
    }

    /// hellowatt_hass's coordinator: temperatures from now minus 365 days
    /// to now (`datetime.isoformat()`, microseconds and offset).
    #[tokio::test]
    async fn hellowatt_hass_temperature_a_year_back_from_now() {
        let query = format!(
            "/api/homes/{DEMO_HOME_ID}/temperature_measures/yearly?startDate={}&endDate={}",
            yarl("2025-11-28T14:03:12.123456+01:00"),
            yarl("2026-11-28T14:03:12.123456+01:00")
        );
        for monthly in [false, true] {
            let sim = demo_with(SimOptions {
                temperature_monthly: monthly,
                ..SimOptions::default()
            })
            .await;
            let mut c = Client::new(&sim.url());
            hellowatt_hass_login(&mut c, DEMO_PASSWORD).await;
            let r = c.api(&query).await;
            assert_eq!(r.status, 200);
            let body = r.json();
            let values = body["values"].as_array().unwrap();
            let last = values.last().unwrap();
            assert!(last["valueCelsius"].is_f64());
            if monthly {
                assert_eq!(values.len(), 13);
                assert_eq!(values[0]["datetime"], "2025-11-01T00:00:00+01:00");
                assert_eq!(last["datetime"], "2026-11-01T00:00:00+01:00");
            } else {
                // The start at 14:03 leaves its own day out; data to
                // yesterday.
                assert_eq!(values.len(), 364);
                assert_eq!(values[0]["datetime"], "2025-11-29T00:00:00+01:00");
                assert_eq!(last["datetime"], "2026-11-27T00:00:00+01:00");
            }
            sim.shutdown().await;
        }
    }

    /// elmomotito (`collecteur.py`): the cookie from the log-in page, no
    /// token field, `X-CSRFToken`, the real site's `Origin` and `Referer`,
    /// no redirect followed; success is `location == "/login/redirect/"`
    /// and a `sessionid`. Then a month with `Accept: application/json` (no
    /// version) as `requests` encodes it.
    #[tokio::test]
    async fn elmomotito_login_with_the_header_and_the_site_origin() {
        let sim = demo_server().await;
        let mut c = Client::new(&sim.url());
        let r = elmomotito_login(&mut c).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["location"], "/login/redirect/");
        assert!(c.cookie("sessionid").is_some());
        let r = c
            .send(
                "GET",
                &format!(
                    "/api/homes/{DEMO_HOME_ID}/sge_measures/conso_daily?startDate={}&endDate={}",
                    encode("2026-03-01T00:00:00+01:00"),
                    encode("2026-04-01T00:00:00+02:00")
                ),
                &[("Accept", "application/json"), AJAX],
                b"",
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["values"].as_array().unwrap().len(), 31);
        sim.shutdown().await;

        // With the log-in page moved, its first GET gets no cookie (it
        // stops there: "Cookie CSRF absent").
        let sim = demo_with(SimOptions {
            login_page_moved: true,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(c.get("/accounts/login/").await.status, 301);
        assert!(c.cookie("csrftoken").is_none());
        sim.shutdown().await;
    }

    /// elmomotito follows a 301/302/307/308 on `/api/homes` whose
    /// `Location` is `/api/homes/` (or the real site's absolute form).
    #[tokio::test]
    async fn elmomotito_follows_the_homes_trailing_slash() {
        let sim = demo_with(SimOptions {
            homes_trailing_slash: true,
            ..SimOptions::default()
        })
        .await;
        let mut c = Client::new(&sim.url());
        assert_eq!(elmomotito_login(&mut c).await.status, 200);
        let headers = [("Accept", "application/json"), AJAX];
        let r = c.send("GET", "/api/homes", &headers, b"").await;
        assert_eq!(r.status, 301);
        let location = r.header("location").unwrap();
        assert!(
            location == "/api/homes/" || location == format!("{SITE}/api/homes/"),
            "{location}"
        );
        let r = c.send("GET", "/api/homes/", &headers, b"").await;
        assert_eq!(r.status, 200);
        let homes = r.json();
        assert_eq!(homes.as_array().unwrap().len(), 1);
        assert_eq!(homes[0]["id"], DEMO_HOME_ID);
        sim.shutdown().await;
    }
}
