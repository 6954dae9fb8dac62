//! The log-in session as page script sees it: the visible cookies, the
//! CSRF token, and the log-in itself (`GET` then `POST /accounts/login/`).
//!
//! This module owns what makes a request "logged in" from the guest's
//! side: which CSRF token to put in `X-CSRFToken`, the headers the site's
//! log-in form and API expect, the log-in form (with the host's password
//! placeholder: the host fills in the password), and the reading of the
//! log-in answer (success, credentials rejected, too many attempts). The
//! host keeps the cookie jar and sends the cookies; the session cookie
//! (`HttpOnly`) is never shown here. A session belongs to one base URL and
//! one login; it lives in memory only. It must never log or put into an
//! error a cookie, a token or a response body.

use crate::errors::{self, site_changed};
use crate::logging::Log;
use crate::transport::{Request, Response, Transport};
use hellowatt_snapshot::{RateLimit, SyncError};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

pub const LOGIN_PATH: &str = "/accounts/login/";
/// Where a successful log-in sends the browser (allauth's `location`).
pub const LOGIN_REDIRECT: &str = "/login/redirect/";
/// Where the site's CSRF cookie comes from when the log-in page sets none
/// (one public client reads it there).
pub const USER_PATH: &str = "/api/user";
/// The API versions the site's front-end has announced, the one tried
/// first first: 1.48 when the cassettes were written, 1.54 in a public
/// client of April 2026. A 406 to one (DRF's answer to a version it does
/// not know) moves the session to the next.
pub const API_VERSIONS: [&str; 2] = ["1.48", "1.54"];
/// Same-origin redirects followed in a row (a trailing slash, a page that
/// moved); more is a loop.
pub const MAX_REDIRECTS: usize = 3;
pub const USER_AGENT: &str = concat!(
    "Mozilla/5.0 (compatible; hellowatt-guest/",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// The detail of a 429 answered to the log-in form.
pub const TOO_MANY_ATTEMPTS: &str = "log-in refused: too many attempts";

/// The cookies the guest may see (the host hides `HttpOnly` ones), by
/// name, in the order the site set them: where the CSRF token is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Applies one `Set-Cookie` header value: keeps `name=value`, drops the
    /// cookie when `Max-Age` is zero or negative.
    pub fn apply(&mut self, set_cookie: &str) {
        let Some((name, value, remove)) = parse_set_cookie(set_cookie) else {
            return;
        };
        self.cookies.retain(|(n, _)| *n != name);
        if !remove {
            self.cookies.push((name, value));
        }
    }

    /// Applies every `Set-Cookie` of a response.
    pub fn absorb(&mut self, resp: &Response) {
        for h in resp.headers_named("set-cookie") {
            self.apply(h);
        }
    }
}

/// `name=value; Path=/; Max-Age=0` → `(name, value, removed)`.
pub fn parse_set_cookie(header: &str) -> Option<(String, String, bool)> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return None;
    }
    let remove = parts.any(|attr| {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        k.trim().eq_ignore_ascii_case("max-age") && v.trim().parse::<i64>().is_ok_and(|s| s <= 0)
    });
    Some((name.to_string(), value.to_string(), remove))
}

/// The hidden `csrfmiddlewaretoken` input of the log-in page.
pub fn form_token(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(r#"input[name="csrfmiddlewaretoken"]"#).ok()?;
    doc.select(&sel)
        .filter_map(|el| el.value().attr("value"))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// `application/x-www-form-urlencoded` encoding of one component. Ten
/// lines here against about 1 KB more of component with `form_urlencoded`.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One site session: cookies and CSRF token of one base URL and login.
#[derive(Debug, Clone)]
pub struct Session {
    base_url: String,
    login: String,
    jar: CookieJar,
    /// The page's form token, used when the site sets no `csrftoken` cookie.
    form_token: Option<String>,
    logged_in: bool,
    /// The log-in answered a `location` other than [`LOGIN_REDIRECT`]: if
    /// the API then refuses the session, a person must act on the site.
    unconfirmed: Option<String>,
    /// Index in [`API_VERSIONS`] of the version asked for.
    api_version: usize,
    /// The site refused a curve of several days: ask one at a time.
    curve_by_day: bool,
}

impl Session {
    pub fn new(base_url: &str, login: &str) -> Session {
        Session {
            base_url: base_url.to_string(),
            login: login.to_string(),
            jar: CookieJar::default(),
            form_token: None,
            logged_in: false,
            unconfirmed: None,
            api_version: 0,
            curve_by_day: false,
        }
    }

    /// The session kept in `slot` when it belongs to this base URL and
    /// login; a fresh one (replacing it) otherwise.
    pub fn reuse_or_new<'a>(
        slot: &'a mut Option<Session>,
        base_url: &str,
        login: &str,
    ) -> &'a mut Session {
        let reusable = slot
            .as_ref()
            .is_some_and(|s| s.base_url == base_url && s.login == login);
        if !reusable {
            *slot = None;
        }
        slot.get_or_insert_with(|| Session::new(base_url, login))
    }

    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// The `location` of a log-in that did not go where a plain log-in
    /// goes, while the API has not yet shown the session works.
    pub fn unconfirmed(&self) -> Option<&str> {
        self.unconfirmed.as_deref()
    }

    /// The API has answered with this session: the log-in went through.
    pub fn confirm(&mut self) {
        self.unconfirmed = None;
    }

    pub fn curve_by_day(&self) -> bool {
        self.curve_by_day
    }

    pub fn set_curve_by_day(&mut self) {
        self.curve_by_day = true;
    }

    /// The API version asked for.
    pub fn api_version(&self) -> &'static str {
        API_VERSIONS[self.api_version.min(API_VERSIONS.len() - 1)]
    }

    /// Moves to the next API version after a 406; `false` when every one
    /// has been tried.
    pub fn next_api_version(&mut self) -> bool {
        if self.api_version + 1 < API_VERSIONS.len() {
            self.api_version += 1;
            true
        } else {
            false
        }
    }

    pub fn cookies(&self) -> &CookieJar {
        &self.jar
    }

    /// The token for `X-CSRFToken`: the `csrftoken` cookie, else the form's.
    pub fn csrf_token(&self) -> Option<&str> {
        self.jar.get("csrftoken").or(self.form_token.as_deref())
    }

    /// Sends (the host adds the cookies) and keeps what the answer sets.
    /// A `GET` follows same-origin redirects (301, 302, 303, 307, 308), up
    /// to [`MAX_REDIRECTS`]; a redirect elsewhere, or one more, is handed
    /// back for the caller to report. Every hop passes the host's policy
    /// like any request.
    pub fn send(&mut self, t: &mut dyn Transport, req: Request) -> Result<Response, SyncError> {
        let mut req = req;
        let mut resp = t.send(&req)?;
        self.jar.absorb(&resp);
        for _ in 0..MAX_REDIRECTS {
            if req.method != "GET" || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                break;
            }
            let Some((path, query)) = resp
                .header("location")
                .and_then(|to| same_origin_target(&self.base_url, to))
            else {
                break;
            };
            req.path = path;
            req.query = query;
            resp = t.send(&req)?;
            self.jar.absorb(&resp);
        }
        Ok(resp)
    }

    /// An API `GET` with the headers the site's front-end sends.
    pub fn api_request(&self, origin: &str, path: String, query: String) -> Request {
        let mut req = Request::get(path, query)
            .header(
                "Accept",
                format!("application/json; version={}", self.api_version()),
            )
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Referer", format!("{origin}/mon-compte/"))
            .header("User-Agent", USER_AGENT);
        if let Some(token) = self.csrf_token() {
            req.headers.push(("X-CSRFToken".into(), token.to_string()));
        }
        req
    }

    /// Logs in: the log-in page for the CSRF token (from `/api/user` when
    /// the page sets no cookie and has no form token), then the form,
    /// whose password field is `placeholder` (the host puts the password
    /// there).
    pub fn login(
        &mut self,
        t: &mut dyn Transport,
        origin: &str,
        placeholder: &str,
        log: &mut dyn Log,
    ) -> Result<(), SyncError> {
        self.logged_in = false;
        self.unconfirmed = None;
        log.info("log-in: fetching the log-in page");
        let page_req = Request::get(LOGIN_PATH, "")
            .header("Accept", "text/html,application/xhtml+xml")
            .header("User-Agent", USER_AGENT);
        let location = page_req.location();
        let page = self.send(t, page_req)?;
        errors::check_status(&location, &page)?;
        self.form_token = form_token(&String::from_utf8_lossy(&page.body));
        if self.form_token.is_none() && self.jar.get("csrftoken").is_none() {
            if let Some(title) = errors::maintenance_title(&page) {
                return Err(SyncError::SiteUnavailable(
                    hellowatt_snapshot::Unavailable {
                        status: Some(page.status),
                        retry_after_seconds: errors::retry_after_seconds(&page),
                        detail: format!("maintenance page: {title}"),
                    },
                ));
            }
            // Whatever it answers without a session, the API sets the
            // cookie (a public client gets its token only there).
            log.info("log-in: the page set no CSRF token; asking the API for one");
            let user = self.api_request(origin, USER_PATH.to_string(), String::new());
            let answer = self.send(t, user)?;
            if matches!(answer.status, 429 | 500..=599) {
                errors::check_status(&user_location(), &answer)?;
            }
        }
        let Some(token) = self
            .form_token
            .clone()
            .or_else(|| self.jar.get("csrftoken").map(str::to_string))
        else {
            return Err(site_changed(
                &location,
                "no csrfmiddlewaretoken input in the page and no csrftoken cookie \
                 (nor from GET /api/user)",
            ));
        };
        let header_token = self
            .jar
            .get("csrftoken")
            .map(str::to_string)
            .unwrap_or_else(|| token.clone());

        log.info("log-in: posting the log-in form");
        let body = format!(
            "login={}&password={}&csrfmiddlewaretoken={}",
            form_encode(&self.login),
            form_encode(placeholder),
            form_encode(&token)
        )
        .into_bytes();
        let post = Request::post(LOGIN_PATH, body)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-CSRFToken", header_token)
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Referer", format!("{origin}{LOGIN_PATH}"))
            .header("Origin", origin)
            .header("Accept", "application/json")
            .header("User-Agent", USER_AGENT);
        let location = post.location();
        let resp = self.send(t, post)?;
        let went_to = read_login_answer(&location, &resp)?;
        self.logged_in = true;
        if went_to == LOGIN_REDIRECT {
            log.info("log-in: logged in");
        } else {
            // allauth sends a log-in that needs a person (an e-mail check,
            // a second factor, new terms) elsewhere; a site that merely
            // moved its landing page does too. The first API answer tells.
            log.warn(&format!(
                "log-in: the site answered {} where a log-in answers {LOGIN_REDIRECT}",
                errors::short(&went_to)
            ));
            self.unconfirmed = Some(went_to);
        }
        Ok(())
    }
}

fn user_location() -> String {
    format!("GET {USER_PATH}")
}

/// The path and query a `Location` header points at, when it stays on
/// `origin` (a relative reference, or an absolute URL of that origin).
pub fn same_origin_target(origin: &str, location: &str) -> Option<(String, String)> {
    let location = location.trim();
    // Scheme and host are case-insensitive; the path is not.
    let on_origin = location
        .get(..origin.len())
        .filter(|head| head.eq_ignore_ascii_case(origin))
        .map(|_| &location[origin.len()..]);
    let rest = match on_origin {
        Some(rest) if rest.starts_with('/') => rest,
        Some(_) => return None,
        None if location.starts_with('/') && !location.starts_with("//") => location,
        None => return None,
    };
    // A backslash is a slash to a browser (`/\host` leaves the origin):
    // such a path is not followed.
    if rest.contains('\\') {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Some((path.to_string(), query.to_string()))
}

/// The action a log-in that needs a person names, for the user: where the
/// site sent the browser, its path only (a query may hold a token).
pub fn action_needed(went_to: &str) -> SyncError {
    SyncError::ActionNeeded {
        detail: format!(
            "after the log-in the site sent the browser to {} and then refused the session: \
             it wants a person to do something first (confirm the e-mail address, a second \
             factor, new terms). Log in on the site (its page /mon-compte/me-connecter) in a \
             browser, do what it asks, then ask hellowatt for a refresh (`hellowatt refresh \
             ACCOUNT` or the dashboard)",
            errors::short(went_to.split(['?', '#']).next().unwrap_or(went_to))
        ),
    }
}

/// Reads the answer to the log-in form: `Ok` with allauth's `location`.
pub fn read_login_answer(location: &str, resp: &Response) -> Result<String, SyncError> {
    match resp.status {
        200 => {
            let Value::Object(o) = errors::expect_json(location, resp)? else {
                // Never describe the value: it may echo the password.
                return Err(site_changed(
                    location,
                    "expected a JSON object, found another JSON value",
                ));
            };
            // The session cookie is the host's (HttpOnly): allauth's
            // `location` is what says the log-in went through.
            match o.get("location") {
                Some(Value::String(to)) => Ok(to.clone()),
                Some(_) => Err(site_changed(
                    location,
                    "the log-in answer's \"location\" is not a string",
                )),
                None => Err(site_changed(
                    location,
                    "the log-in answer has no \"location\"",
                )),
            }
        }
        400 => match serde_json::from_slice::<LoginFailure>(&resp.body) {
            Ok(LoginFailure { form: Some(form) }) => {
                let messages = form.messages();
                let detail = if messages.is_empty() {
                    "the site rejected the log-in without a message".to_string()
                } else {
                    messages.join("; ")
                };
                Err(SyncError::CredentialsRejected { detail })
            }
            // Never describe the body: it may echo the password.
            _ => Err(site_changed(
                location,
                "HTTP 400 without a JSON \"form\" object",
            )),
        },
        // A public client of 2026 reads a 401 here as wrong credentials.
        401 => Err(SyncError::CredentialsRejected {
            detail: "the site refused the e-mail or password (HTTP 401)".to_string(),
        }),
        429 => Err(SyncError::RateLimited(RateLimit {
            retry_after_seconds: errors::retry_after_seconds(resp),
            detail: TOO_MANY_ATTEMPTS.to_string(),
        })),
        300..=399 => Err(site_changed(
            location,
            format!(
                "the log-in form answered a redirect (HTTP {}{}): the log-in may have moved; \
                 a new guest, or `login_request` in the configuration, is needed",
                resp.status,
                resp.header("location")
                    .map(|to| format!(" to {}", errors::short(to)))
                    .unwrap_or_default()
            ),
        )),
        _ => {
            errors::check_status(location, resp)?;
            Err(site_changed(
                location,
                format!("unexpected HTTP {}", resp.status),
            ))
        }
    }
}

/// allauth's AJAX failure: `{"form": {"errors": [...], "fields": {...}}}`.
/// Only the messages are read; a field's `value` is never looked at.
#[derive(Deserialize)]
struct LoginFailure {
    form: Option<Form>,
}

#[derive(Deserialize)]
struct Form {
    #[serde(default)]
    errors: Option<Vec<Value>>,
    #[serde(default)]
    fields: Option<OrderedFields>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

/// The form's fields in the order the site wrote them.
struct OrderedFields(Vec<Field>);

impl<'de> Deserialize<'de> for OrderedFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of form fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedFields, A::Error> {
                let mut out = Vec::new();
                while let Some((_, field)) = map.next_entry::<String, Option<Field>>()? {
                    out.extend(field);
                }
                Ok(OrderedFields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A message: a string, or an object with a `message`.
fn message(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

impl Form {
    fn messages(&self) -> Vec<String> {
        let form = self.errors.iter().flatten();
        let fields = self
            .fields
            .iter()
            .flat_map(|f| &f.0)
            .flat_map(|f| f.errors.iter().flatten());
        form.chain(fields)
            .filter_map(message)
            .filter(|m| !m.trim().is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_guest_kit::testing::response as resp;

    #[test]
    fn set_cookie_parsing() {
        assert_eq!(
            parse_set_cookie(
                "csrftoken=abc123; expires=Sat, 27 Nov 2027 10:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax"
            ),
            Some(("csrftoken".into(), "abc123".into(), false))
        );
        assert_eq!(
            parse_set_cookie(
                r#"sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"#
            ),
            Some(("sessionid".into(), r#""""#.into(), true))
        );
        assert_eq!(parse_set_cookie("noequals; Path=/"), None);
        assert_eq!(parse_set_cookie("=x"), None);
        assert_eq!(
            parse_set_cookie("a=b=c"),
            Some(("a".into(), "b=c".into(), false))
        );
    }

    #[test]
    fn jar_keeps_replaces_and_removes() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.get("csrftoken"), None);
        jar.apply("csrftoken=t1; Path=/");
        jar.apply("theme=dark");
        jar.apply("csrftoken=t2; Path=/");
        assert_eq!(jar.get("csrftoken"), Some("t2"));
        assert_eq!(jar.get("theme"), Some("dark"));
        jar.apply("csrftoken=; Max-Age=0");
        assert_eq!(jar.get("csrftoken"), None);
    }

    #[test]
    fn token_from_the_form() {
        let html = r#"<html><body><form method="post">
            <input type="hidden" name="csrfmiddlewaretoken" value="FormTok3n">
            <input name="login"><input name="password" type="password"></form></body></html>"#;
        assert_eq!(form_token(html).as_deref(), Some("FormTok3n"));
        assert_eq!(form_token("<html><body><form></form></body></html>"), None);
        assert_eq!(
            form_token(r#"<input name="csrfmiddlewaretoken" value="">"#),
            None
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a.b+c@example.org"), "a.b%2Bc%40example.org");
        assert_eq!(form_encode("p w&d=é"), "p+w%26d%3D%C3%A9");
    }

    #[test]
    fn login_answers() {
        let loc = "POST /accounts/login/";
        let ok = resp(
            200,
            &[("Set-Cookie", "sessionid=s; Path=/")],
            r#"{"location": "/login/redirect/"}"#,
        );
        assert_eq!(read_login_answer(loc, &ok).as_deref(), Ok(LOGIN_REDIRECT));
        // Somewhere else: still a log-in, whose first API answer tells.
        let elsewhere = resp(200, &[], r#"{"location": "/accounts/confirm-email/"}"#);
        assert_eq!(
            read_login_answer(loc, &elsewhere).as_deref(),
            Ok("/accounts/confirm-email/")
        );
        match read_login_answer(
            loc,
            &resp(401, &[], r#"{"detail": "Invalid username/password."}"#),
        ) {
            Err(SyncError::CredentialsRejected { detail }) => {
                assert_eq!(detail, "the site refused the e-mail or password (HTTP 401)")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_login_answer(loc, &resp(200, &[], r#"{"location": 3}"#)),
            Err(SyncError::SiteChanged(_))
        ));
        let body = r#"{"form": {"errors": ["The e-mail address and/or password you specified are not correct."],
            "fields": {"password": {"value": "hunter2-secret!", "errors": ["Too short."]},
                       "login": {"value": "a@example.org", "errors": [{"message": "Unknown account", "code": "x"}]}}}}"#;
        match read_login_answer(loc, &resp(400, &[], body)) {
            Err(SyncError::CredentialsRejected { detail }) => {
                assert_eq!(
                    detail,
                    "The e-mail address and/or password you specified are not correct.; Too short.; Unknown account"
                );
                assert!(!detail.contains("hunter2"));
            }
            other => panic!("{other:?}"),
        }
        match read_login_answer(loc, &resp(400, &[], r#"{"password": "hunter2-secret!"}"#)) {
            Err(SyncError::SiteChanged(c)) => assert!(!c.detail.contains("hunter2")),
            other => panic!("{other:?}"),
        }
        match read_login_answer(loc, &resp(429, &[("Retry-After", "3600")], "")) {
            Err(SyncError::RateLimited(r)) => {
                assert_eq!(r.retry_after_seconds, Some(3600));
                assert_eq!(r.detail, TOO_MANY_ATTEMPTS);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_login_answer(loc, &resp(200, &[], "{}")),
            Err(SyncError::SiteChanged(_))
        ));
        // A redirect to the log-in POST is never followed: it is named.
        match read_login_answer(loc, &resp(302, &[("Location", "/mon-compte/")], "")) {
            Err(SyncError::SiteChanged(c)) => {
                assert_eq!(c.location, loc);
                assert!(
                    c.detail.contains("HTTP 302 to /mon-compte/"),
                    "{}",
                    c.detail
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_login_answer(loc, &resp(503, &[], "")),
            Err(SyncError::SiteUnavailable(_))
        ));
    }

    #[test]
    fn redirects_are_followed_only_on_the_origin() {
        let o = "https://www.hellowatt.fr";
        let to = |p: &str, q: &str| Some((p.to_string(), q.to_string()));
        // Relative.
        assert_eq!(same_origin_target(o, "/api/homes/"), to("/api/homes/", ""));
        assert_eq!(
            same_origin_target(o, " /mon-compte/me-connecter?next=%2F#form "),
            to("/mon-compte/me-connecter", "next=%2F")
        );
        // Absolute on the origin.
        assert_eq!(
            same_origin_target(o, "https://www.hellowatt.fr/api/homes/?a=1"),
            to("/api/homes/", "a=1")
        );
        // Another origin: host, scheme or port, or a look-alike host.
        for elsewhere in [
            "https://evil.example/api/homes/",
            "http://www.hellowatt.fr/api/homes/",
            "https://www.hellowatt.fr:8443/api/homes/",
            "https://www.hellowatt.fr.evil.example/api/homes/",
            "https://www.hellowatt.fr@evil.example/api/homes/",
            "https://www.hellowatt.fr",
        ] {
            assert_eq!(same_origin_target(o, elsewhere), None, "{elsewhere}");
        }
        // `//host` is another origin (scheme-relative), even this one's
        // name; a path without its leading slash is not followed either.
        assert_eq!(same_origin_target(o, "//evil.example/api/homes/"), None);
        assert_eq!(same_origin_target(o, "//www.hellowatt.fr/api/homes/"), None);
        assert_eq!(
            same_origin_target(o, "HTTPS://WWW.hellowatt.fr/api/homes/"),
            Some(("/api/homes/".into(), String::new()))
        );
        assert_eq!(same_origin_target(o, "/\\evil.example/x"), None);
        assert_eq!(same_origin_target(o, "api/homes/"), None);
        assert_eq!(same_origin_target(o, ""), None);
    }

    #[test]
    fn a_406_moves_the_session_to_the_next_api_version() {
        let mut s = Session::new("https://www.hellowatt.fr", "me");
        let accept = |s: &Session| {
            s.api_request(
                "https://www.hellowatt.fr",
                "/api/homes".into(),
                String::new(),
            )
            .headers
            .into_iter()
            .find(|(k, _)| k == "Accept")
            .map(|(_, v)| v)
        };
        assert_eq!(s.api_version(), "1.48");
        assert_eq!(
            accept(&s).as_deref(),
            Some("application/json; version=1.48")
        );
        assert!(s.next_api_version());
        assert_eq!(s.api_version(), "1.54");
        assert_eq!(
            accept(&s).as_deref(),
            Some("application/json; version=1.54")
        );
        // None left: the last one stays.
        assert!(!s.next_api_version());
        assert_eq!(s.api_version(), "1.54");
    }

    #[test]
    fn sessions_are_kept_per_site_and_login() {
        let mut slot = None;
        Session::reuse_or_new(&mut slot, "https://a", "me").logged_in = true;
        assert!(Session::reuse_or_new(&mut slot, "https://a", "me").is_logged_in());
        assert!(!Session::reuse_or_new(&mut slot, "https://a", "you").is_logged_in());
        Session::reuse_or_new(&mut slot, "https://a", "you").logged_in = true;
        assert!(!Session::reuse_or_new(&mut slot, "https://b", "you").is_logged_in());
    }
}
