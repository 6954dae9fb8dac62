//! The HTTP policy of a guest run: the only door between a guest and the
//! network.
//!
//! It owns the allow-list (exactly one origin: the configured site), the
//! methods and paths the slot allows there ([`RequestRules`]), the refusal
//! of an origin name that resolves inside this machine or its network
//! ([`is_inside`]; a site configured by such an address is exempt), the
//! pacing between requests, the per-request timeout, the response size cap
//! and the request count cap, and it routes allowed requests either to the
//! network or to a cassette replay (`guest check`). Between the guest and
//! the site it puts the run's browser (`hellowatt_browser`): the password
//! filled into the log-in only, the session's cookies held, every answer
//! read whole and scrubbed before the guest sees it. Everything refused
//! answers `HttpRequestDenied` and is recorded with the reason, so a
//! report can say which rule was hit. It also learns the run's secrets as
//! they pass (cookie values, CSRF tokens) so that guest logs can be
//! redacted. It must never log a header value or a body.

use crate::sandbox::redact::Redactor;
use bytes::Bytes;
use hellowatt_browser::{Browser, LogIn, header_map, header_pairs};
use hellowatt_fixtures::{Exchange, RecordedRequest, RecordedResponse, Replay, ReplayRequest};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The default site, the only origin allowed unless configured otherwise.
pub const DEFAULT_SITE: &str = "https://www.hellowatt.fr";

/// A scheme, host and port: what the allow-list compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Parses `https://host[:port]` (a trailing `/` is accepted, a path is
    /// not: the allow-list is a whole origin).
    pub fn parse(url: &str) -> Result<Origin, String> {
        let bad = |why: &str| format!("site URL {url:?} {why}: expected e.g. {DEFAULT_SITE}");
        let uri: http::Uri = url
            .trim_end_matches('/')
            .parse()
            .map_err(|_| bad("is not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some("https") => "https",
            Some("http") => "http",
            _ => {
                return Err(bad(
                    "must start with https:// (or http:// for a local test site)",
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| bad("has no host"))?
            .to_ascii_lowercase();
        if uri
            .path_and_query()
            .is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty())
        {
            return Err(bad("must not have a path"));
        }
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Ok(Origin {
            scheme: scheme.to_string(),
            host,
            port,
        })
    }

    /// `https://www.hellowatt.fr` or `http://127.0.0.1:8080`: what guests
    /// receive as the base URL.
    pub fn url(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }

    fn matches(&self, uri: &http::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else { return false };
        let default = if scheme == "https" { 443 } else { 80 };
        scheme == self.scheme
            && host.eq_ignore_ascii_case(&self.host)
            && uri.port_u16().unwrap_or(default) == self.port
    }
}

/// The requests a slot's guest may make of its origin: a method and a path
/// each (`GET /api/*`: a trailing `*` allows every path under it), from
/// the slot's configuration (`allowed_requests`, `tempo_allowed_requests`)
/// or its defaults. Everything else is refused with the rules named: a
/// guest that may log in may not also post to a profile or a sign-up form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRules {
    rules: Vec<RequestRule>,
    /// Which allowed request is the log-in, for a slot that logs in (not
    /// the Tempo services').
    login: Option<LoginRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestRule {
    method: String,
    path: String,
    /// `path` ends with `/*`, kept without the `*`.
    prefix: bool,
}

/// What the helloWatt guest needs: the log-in page (and the human log-in
/// page it may redirect to), the form, and the API.
pub const HELLOWATT_REQUESTS: [&str; 4] = [
    "GET /accounts/login/",
    "GET /mon-compte/me-connecter",
    "POST /accounts/login/",
    "GET /api/*",
];
/// What the Tempo guest needs: both services answer a bare GET.
pub const TEMPO_REQUESTS: [&str; 1] = ["GET /*"];
/// The EcoWatt guest's default: RTE's EcoWatt API by GET, nothing else of
/// RTE's portal (its token endpoint is the host's to call).
pub const ECOWATT_REQUESTS: [&str; 1] = ["GET /open_api/ecowatt/*"];

impl RequestRules {
    /// Parses `METHOD /path` items; `*` only as the last segment.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<RequestRules, String> {
        let usage = "write each as METHOD /path, e.g. \"GET /api/*\" or \"POST /accounts/login/\"";
        if items.is_empty() {
            return Err(format!("no request is allowed at all: {usage}"));
        }
        let mut rules = Vec::with_capacity(items.len());
        for item in items {
            let item = item.as_ref().trim();
            let Some((method, path)) = item.split_once(' ') else {
                return Err(format!("{item:?} has no path: {usage}"));
            };
            let method = method.trim();
            let path = path.trim();
            if !matches!(method, "GET" | "POST" | "HEAD") {
                return Err(format!(
                    "{item:?}: the method must be GET, POST or HEAD: {usage}"
                ));
            }
            let (path, prefix) = match path.strip_suffix('*') {
                Some(p) if p.ends_with('/') => (p, true),
                Some(_) => return Err(format!("{item:?}: '*' only after a '/': {usage}")),
                None => (path, false),
            };
            if !path.starts_with('/') || path.contains('*') || plain_path(path).is_err() {
                return Err(format!(
                    "{item:?}: the path must start with '/', in plain form: {usage}"
                ));
            }
            rules.push(RequestRule {
                method: method.to_string(),
                path: path.to_string(),
                prefix,
            });
        }
        Ok(RequestRules { rules, login: None })
    }

    /// These rules, with `login` as the log-in (see [`LoginRequest`]).
    pub fn with_login(self, login: Option<LoginRequest>) -> RequestRules {
        RequestRules { login, ..self }
    }

    /// The log-in, when the slot logs in.
    pub fn login(&self) -> Option<&LoginRequest> {
        self.login.as_ref()
    }

    /// The defaults of a slot's guest.
    pub fn hellowatt() -> RequestRules {
        let rules = Self::parse(&HELLOWATT_REQUESTS).expect("the default rules parse");
        let login = LoginRequest::parse(HELLOWATT_LOGIN, &rules).expect("the default parses");
        rules.with_login(Some(login))
    }

    pub fn tempo() -> RequestRules {
        Self::parse(&TEMPO_REQUESTS).expect("the default rules parse")
    }

    pub fn ecowatt() -> RequestRules {
        Self::parse(&ECOWATT_REQUESTS).expect("the default rules parse")
    }

    /// `Ok` when a rule allows `method` on `path` (the path without its
    /// query); else the reason, naming the rules.
    pub fn allows(&self, method: &str, path: &str) -> Result<(), String> {
        plain_path(path)?;
        let hit = self.rules.iter().any(|r| {
            r.method == method
                && if r.prefix {
                    path.starts_with(&r.path)
                } else {
                    path == r.path
                }
        });
        if hit {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} is not an allowed request (allowed: {self})"
            ))
        }
    }
}

impl std::fmt::Display for RequestRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, r) in self.rules.iter().enumerate() {
            let star = if r.prefix { "*" } else { "" };
            write!(
                f,
                "{}{} {}{star}",
                if i > 0 { ", " } else { "" },
                r.method,
                r.path
            )?;
        }
        Ok(())
    }
}

/// A path a server reads as written: no `.` or `..` segment, no empty
/// segment, no encoded dot, slash or backslash, so that a path under an
/// allowed prefix cannot name another place once normalised.
fn plain_path(path: &str) -> Result<(), String> {
    let lower = path.to_ascii_lowercase();
    let odd = path.contains("//")
        || path.contains('\\')
        || ["%2e", "%2f", "%5c"].iter().any(|e| lower.contains(e))
        || path.split('/').any(|seg| seg == "." || seg == "..");
    if odd {
        return Err(format!(
            "the path {path:?} is not in plain form (dot segments, '//' or encoded separators)"
        ));
    }
    Ok(())
}

/// The one request that carries the password: a method and an exact path
/// of the origin (`login_request`, default [`HELLOWATT_LOGIN`]). The
/// host fills the password into its body and into no other request's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub method: String,
    pub path: String,
}

/// The helloWatt site's log-in form (django-allauth).
pub const HELLOWATT_LOGIN: &str = "POST /accounts/login/";

impl LoginRequest {
    /// Parses `METHOD /path` (an exact path), which `rules` must allow.
    pub fn parse(item: &str, rules: &RequestRules) -> Result<LoginRequest, String> {
        let usage = format!("write it as METHOD /path, e.g. \"{HELLOWATT_LOGIN}\"");
        let (method, path) = item
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{item:?} has no path: {usage}"))?;
        let (method, path) = (method.trim(), path.trim());
        if method != "POST" || !path.starts_with('/') || path.contains('*') {
            return Err(format!(
                "{item:?}: the log-in is a POST to one exact path: {usage}"
            ));
        }
        rules.allows(method, path).map_err(|_| {
            format!("{item:?} is not among the allowed requests ({rules}): allow it there too")
        })?;
        Ok(LoginRequest {
            method: method.to_string(),
            path: path.to_string(),
        })
    }
}

impl std::fmt::Display for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Limits on one run's traffic.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Minimum time between the starts of two requests.
    pub pacing: Duration,
    /// The whole of one request: connect, first byte, between bytes, and
    /// the answer's last byte.
    pub request_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_requests: u32,
    /// The methods and paths allowed on the origin, and which is the
    /// log-in.
    pub requests: RequestRules,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            pacing: Duration::from_millis(500),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 8 * 1024 * 1024,
            max_requests: 500,
            requests: RequestRules::hellowatt(),
        }
    }
}

/// Where allowed requests go.
pub enum Backend {
    Network,
    /// Answers from a cassette; nothing leaves the process.
    Replay(Mutex<Replay>),
    /// The network, keeping a copy of every exchange (`hellowatt record`).
    /// Bodies are read whole (within the size cap) before the guest sees
    /// them; the copy holds secrets until `record` anonymises it.
    Record(Mutex<Vec<Exchange>>),
}

/// Headers a cassette keeps from a request: what the site checks.
const RECORDED_REQUEST_HEADERS: [&str; 6] = [
    "content-type",
    "x-csrftoken",
    "x-requested-with",
    "referer",
    "origin",
    "cookie",
];

/// Hop-by-hop headers are the transport's business, not the site's.
const UNRECORDED_RESPONSE_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// A recorded answer's status and headers, as the network gives them.
fn recorded_head(
    recorded: &RecordedResponse,
) -> Result<(http::StatusCode, http::HeaderMap), HttpError> {
    let bad = |e: String| HttpError::InternalError(Some(format!("recorded response: {e}")));
    let status = http::StatusCode::from_u16(recorded.status).map_err(|e| bad(e.to_string()))?;
    Ok((status, header_map(&recorded.headers).map_err(bad)?))
}

/// A request body read whole, when it is a small form (see
/// `MAX_REQUEST_BODY`); `None` for a larger or broken one.
async fn collect_request_body(body: WasiBody) -> Option<Bytes> {
    Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
        .ok()
        .map(|b| b.to_bytes())
}

/// A refused request, for reports. Holds the path but no query, header or
/// body (those may carry secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub request: String,
    pub reason: String,
}

/// What a run sent and was refused.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub requests: u32,
    pub denied: Vec<Denial>,
    pub bytes_received: u64,
}

/// One crossing of the door, kept when the hooks trace
/// ([`PolicyHooks::with_trace`]). It holds what left, secrets included:
/// for tests that prove where the secrets went, never for a log.
#[derive(Clone)]
pub enum Crossing {
    /// A request as it left for the site, the password and the session's
    /// cookies in it.
    Left {
        method: String,
        uri: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// An answer as the guest read it.
    Handed {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// One request of the run as `hellowatt doctor` reports it: what was
/// asked (method and path, never the query, a header or a body) and what
/// came of it. Nothing secret is in it; paths may hold the site's ids,
/// which the report masks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub method: String,
    pub path: String,
    /// The answer's status; `None` when the request was refused or failed.
    pub status: Option<u16>,
    pub elapsed: Duration,
}

impl std::fmt::Debug for Crossing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crossing::Left { method, body, .. } => {
                write!(f, "Left({method}, {} body bytes)", body.len())
            }
            Crossing::Handed { status, body, .. } => {
                write!(f, "Handed({status}, {} body bytes)", body.len())
            }
        }
    }
}

struct Shared {
    origin: Origin,
    limits: HttpLimits,
    backend: Backend,
    resolver: Resolver,
    redactor: Arc<Redactor>,
    /// The password, the session's cookies and the scrubbing of answers.
    browser: Mutex<Browser>,
    trace: Option<Mutex<Vec<Crossing>>>,
    journal: Option<Mutex<Vec<JournalEntry>>>,
    traffic: Mutex<Traffic>,
    next_slot: tokio::sync::Mutex<Option<Instant>>,
}

/// Where the network backend learns what the origin's name points to.
#[derive(Debug, Clone)]
pub enum Resolver {
    /// The system's resolver.
    System,
    /// These addresses, whatever the name: for tests of a name that
    /// resolves inside.
    Fixed(Vec<IpAddr>),
}

/// An address of this machine or of a private network: loopback, private
/// and shared ranges, link-local, unspecified, broadcast, IPv6 unique-local,
/// and IPv4 addresses mapped into IPv6.
pub fn is_inside(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                // 100.64.0.0/10, carrier-grade NAT.
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_inside(&IpAddr::V4(v4)))
        }
    }
}

/// The `WasiHttpHooks` of one run. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct PolicyHooks {
    shared: Arc<Shared>,
}

const METHODS: [&str; 3] = ["GET", "POST", "HEAD"];

/// A placeholder no guest can guess ahead of the run.
fn new_placeholder() -> String {
    let mut random = [0u8; 16];
    // Without randomness the placeholder is still no secret: it only
    // stands for one.
    let _ = getrandom::getrandom(&mut random);
    hellowatt_browser::placeholder(random)
}

/// Request bodies a scraper sends are small forms; anything larger is not
/// a log-in.
const MAX_REQUEST_BODY: usize = 64 * 1024;

impl PolicyHooks {
    pub fn new(
        origin: Origin,
        limits: HttpLimits,
        backend: Backend,
        redactor: Arc<Redactor>,
    ) -> Self {
        let https = origin.scheme == "https";
        PolicyHooks {
            shared: Arc::new(Shared {
                origin,
                limits,
                backend,
                resolver: Resolver::System,
                redactor,
                browser: Mutex::new(Browser::new(new_placeholder(), None, https)),
                trace: None,
                journal: None,
                traffic: Mutex::new(Traffic::default()),
                next_slot: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Changes a setting of hooks that `new` returned. Call the `with_`
    /// methods before any clone: clones share the first settings.
    fn configure(mut self, what: &str, f: impl FnOnce(&mut Shared)) -> Self {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => f(shared),
            None => debug_assert!(false, "{what} called on shared hooks"),
        }
        self
    }

    /// Sets how the origin's name is resolved (the system's resolver by
    /// default).
    pub fn with_resolver(self, resolver: Resolver) -> Self {
        self.configure("with_resolver", |s| s.resolver = resolver)
    }

    /// The run logs in as this account: the host fills `password` into
    /// the slot's log-in request ([`RequestRules::login`]) and scrubs it
    /// from answers. A slot without a log-in (Tempo), or an empty password,
    /// leaves the hooks as they are: no request may carry the placeholder.
    pub fn with_account(self, login: &str, password: &str) -> Self {
        let Some(rule) = self.shared.limits.requests.login().cloned() else {
            return self;
        };
        if password.is_empty() {
            return self;
        }
        let account = LogIn {
            method: rule.method,
            path: rule.path,
            login: login.to_string(),
            password: password.to_string(),
        };
        self.configure("with_account", |s| {
            let browser = s.browser.get_mut().unwrap_or_else(|e| e.into_inner());
            let https = s.origin.scheme == "https";
            *browser = Browser::new(browser.placeholder().to_string(), Some(account), https);
        })
    }

    /// The run's requests carry `Authorization: Bearer <token>`, added by
    /// the host's browser (the guest never sees it, and its own
    /// `Authorization` is refused); the token is scrubbed from answers and
    /// redacted from logs. An empty token leaves the hooks as they are.
    pub fn with_bearer(self, token: &str) -> Self {
        if token.is_empty() {
            return self;
        }
        self.redactor().add(token);
        self.configure("with_bearer", |s| {
            let browser = s.browser.get_mut().unwrap_or_else(|e| e.into_inner());
            let https = s.origin.scheme == "https";
            let plain = Browser::new(browser.placeholder().to_string(), None, https);
            *browser = std::mem::replace(browser, plain).with_bearer(token);
        })
    }

    /// Keeps every [`Crossing`] (tests only: they hold the secrets).
    pub fn with_trace(self) -> Self {
        self.configure("with_trace", |s| s.trace = Some(Mutex::new(Vec::new())))
    }

    /// Keeps a [`JournalEntry`] per request (`hellowatt doctor`).
    pub fn with_journal(self) -> Self {
        self.configure("with_journal", |s| {
            s.journal = Some(Mutex::new(Vec::new()));
        })
    }

    /// The journal so far (empty unless kept), emptied.
    pub fn take_journal(&self) -> Vec<JournalEntry> {
        self.shared
            .journal
            .as_ref()
            .map(|j| std::mem::take(&mut *lock(j)))
            .unwrap_or_default()
    }

    /// What the guest receives in place of the password, this run.
    pub fn placeholder(&self) -> String {
        lock(&self.shared.browser).placeholder().to_string()
    }

    /// The crossings so far (empty unless tracing).
    pub fn crossings(&self) -> Vec<Crossing> {
        self.shared
            .trace
            .as_ref()
            .map(|t| lock(t).clone())
            .unwrap_or_default()
    }

    pub fn origin(&self) -> &Origin {
        &self.shared.origin
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.shared.redactor
    }

    pub fn traffic(&self) -> Traffic {
        lock(&self.shared.traffic).clone()
    }

    /// The exchanges recorded so far (empty unless recording).
    pub fn recorded(&self) -> Vec<Exchange> {
        match &self.shared.backend {
            Backend::Record(tape) => lock(tape).clone(),
            _ => Vec::new(),
        }
    }

    /// Recorded requests the replay was never asked (empty on the network).
    pub fn replay_unused(&self) -> Vec<String> {
        match &self.shared.backend {
            Backend::Replay(r) => lock(r).unused(),
            Backend::Network | Backend::Record(_) => Vec::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not take the policy down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `request` on the network and reads its whole answer, at most
/// `max_bytes`, all of it within `timeout` (wasmtime's own timers only
/// bound the wait for each byte, so a slow drip would hold the caller for
/// as long as the drip lasts). The policy's door and the host's own
/// clients (RTE's token endpoint) both use it.
pub async fn fetch_whole(
    request: http::Request<Vec<u8>>,
    options: RequestOptions,
    timeout: Duration,
    max_bytes: u64,
) -> Result<(http::response::Parts, Vec<u8>), HttpError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let request = request.map(|body| {
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync()
    });
    let sent = tokio::time::timeout_at(
        deadline,
        wasmtime_wasi_http::default_send_request(request, Some(options)),
    )
    .await;
    let (response, io) = match sent {
        Ok(result) => result?,
        Err(_) => return Err(HttpError::ConnectionReadTimeout),
    };
    // The connection is driven by `io`: it must run while the body is
    // read.
    let connection = tokio::spawn(io);
    let (head, body) = response.into_parts();
    let body = tokio::time::timeout_at(
        deadline,
        Limited::new(body, usize::try_from(max_bytes).unwrap_or(usize::MAX)).collect(),
    )
    .await;
    connection.abort();
    match body {
        Ok(Ok(b)) => Ok((head, b.to_bytes().to_vec())),
        Ok(Err(e)) => Err(match e.downcast::<HttpError>() {
            Ok(inner) => *inner,
            Err(e) if e.is::<LengthLimitError>() => {
                HttpError::HttpResponseBodySize(Some(max_bytes))
            }
            Err(e) => HttpError::InternalError(Some(e.to_string())),
        }),
        Err(_) => Err(HttpError::ConnectionReadTimeout),
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl Shared {
    fn deny(&self, request: String, reason: String) -> HttpError {
        tracing::warn!(target: "hellowatt::policy", %request, %reason, "request denied");
        lock(&self.traffic).denied.push(Denial { request, reason });
        HttpError::HttpRequestDenied
    }

    /// Admits a request or says why not. Counting happens here so that a
    /// flood is stopped at the cap even if every request fails.
    fn admit(&self, method: &str, uri: &http::Uri) -> Result<(), String> {
        if !self.origin.matches(uri) {
            return Err(format!("only {} is allowed", self.origin.url()));
        }
        if !METHODS.contains(&method) {
            return Err(format!(
                "method {method} is not allowed (only GET, POST, HEAD)"
            ));
        }
        self.limits.requests.allows(method, uri.path())?;
        let mut t = lock(&self.traffic);
        if t.requests >= self.limits.max_requests {
            return Err(format!(
                "the cap of {} requests per run is reached",
                self.limits.max_requests
            ));
        }
        t.requests += 1;
        Ok(())
    }

    /// A name that points inside this machine or its network (DNS
    /// rebinding, a hostile resolver) is refused, unless the configured
    /// origin is such an address itself (a local test site). The
    /// connection resolves again afterwards: this narrows the window, it
    /// does not pin the address. A name that does not resolve is left to
    /// the connection, which reports it.
    async fn check_resolution(&self) -> Result<(), String> {
        let host = self
            .origin
            .host
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.parse::<IpAddr>().is_ok() || host.eq_ignore_ascii_case("localhost") {
            return Ok(());
        }
        let addrs: Vec<IpAddr> = match &self.resolver {
            Resolver::System => match tokio::net::lookup_host((host, self.origin.port)).await {
                Ok(found) => found.map(|a| a.ip()).collect(),
                Err(_) => return Ok(()),
            },
            Resolver::Fixed(addrs) => addrs.clone(),
        };
        match addrs.iter().find(|a| is_inside(a)) {
            Some(inside) => Err(format!(
                "{host} resolves to {inside}, an address of this machine or its network: \
                 refused (configure the site by such an address to reach a local test site)"
            )),
            None => Ok(()),
        }
    }

    async fn pace(&self) {
        let mut slot = self.next_slot.lock().await;
        // Only a slot still ahead is slept for: tokio's timer rounds a
        // deadline up to its next millisecond tick, so sleeping until an
        // instant already past (no pacing, or a slow guest) would still
        // wait up to a millisecond per request.
        if let Some(at) = slot.filter(|at| *at > Instant::now()) {
            tokio::time::sleep_until(at.into()).await;
        }
        *slot = Some(Instant::now() + self.limits.pacing);
    }

    fn learn_secrets(&self, headers: &http::HeaderMap) {
        for (name, value) in headers {
            let Ok(value) = value.to_str() else { continue };
            match name.as_str() {
                "cookie" => {
                    for pair in value.split(';') {
                        if let Some((_, v)) = pair.split_once('=') {
                            self.redactor.add(v.trim());
                        }
                    }
                }
                "set-cookie" => {
                    if let Some((_, v)) = value.split(';').next().and_then(|p| p.split_once('=')) {
                        self.redactor.add(v.trim());
                    }
                }
                "x-csrftoken" | "authorization" => self.redactor.add(value.trim()),
                _ => {}
            }
        }
    }

    fn options(&self, asked: Option<RequestOptions>) -> RequestOptions {
        let cap = self.limits.request_timeout;
        let min = |d: Option<Duration>| Some(d.map_or(cap, |d| d.min(cap)));
        let asked = asked.unwrap_or_default();
        RequestOptions {
            connect_timeout: min(asked.connect_timeout),
            first_byte_timeout: min(asked.first_byte_timeout),
            between_bytes_timeout: min(asked.between_bytes_timeout),
        }
    }

    /// Sends a request on the network and reads its whole answer (within
    /// the size cap), all of it within the request timeout. The answer is
    /// read here, not by the guest, so that the browser can scrub it first.
    async fn fetch(
        &self,
        parts: http::request::Parts,
        body: Vec<u8>,
        options: Option<RequestOptions>,
    ) -> Result<(http::response::Parts, Vec<u8>), HttpError> {
        fetch_whole(
            http::Request::from_parts(parts, body),
            self.options(options),
            self.limits.request_timeout,
            self.limits.max_response_bytes,
        )
        .await
    }

    fn trace(&self, crossing: impl FnOnce() -> Crossing) {
        if let Some(trace) = &self.trace {
            lock(trace).push(crossing());
        }
    }

    async fn send(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
        let method = request.method().as_str().to_string();
        // Query strings are left out of logs and reports: they are the
        // site's business, and a hostile guest could smuggle data in them.
        let line = format!(
            "{method} {}{}",
            request.uri().authority().map_or("", |a| a.as_str()),
            request.uri().path()
        );
        if let Err(reason) = self.admit(&method, request.uri()) {
            return Err(self.deny(line, reason));
        }
        let (mut parts, body) = request.into_parts();
        let Some(body) = collect_request_body(body).await else {
            return Err(self.deny(line, "request body too large or broken".into()));
        };
        let mut body = body.to_vec();
        // The browser's turn: the password in the log-in, the session's
        // cookies, or a refusal naming what the guest tried.
        let dressed = lock(&self.browser).outgoing(
            &method,
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &mut parts.headers,
            &mut body,
        );
        if let Err(reason) = dressed {
            return Err(self.deny(line, reason));
        }
        self.learn_secrets(&parts.headers);
        self.pace().await;
        tracing::debug!(target: "hellowatt::policy", request = %line, "request allowed");
        self.trace(|| Crossing::Left {
            method: method.clone(),
            uri: parts.uri.to_string(),
            headers: header_pairs(&parts.headers),
            body: body.clone(),
        });

        let (status, mut headers, mut body) = match &self.backend {
            Backend::Network => {
                if let Err(reason) = self.check_resolution().await {
                    return Err(self.deny(line, reason));
                }
                let (head, body) = self.fetch(parts, body, options).await?;
                (head.status, head.headers, body)
            }
            Backend::Replay(replay) => {
                let headers = header_pairs(&parts.headers);
                let answer = lock(replay).answer(&ReplayRequest {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    query: parts.uri.query().unwrap_or(""),
                    headers: &headers,
                    body: &body,
                });
                let recorded = match answer {
                    Ok(r) => r,
                    Err(e) => return Err(self.deny(line, format!("replay: {e}"))),
                };
                let (status, headers) = recorded_head(&recorded)?;
                (status, headers, recorded.body)
            }
            Backend::Record(tape) => {
                let recorded_request = RecordedRequest {
                    method: parts.method.as_str().to_string(),
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or("").to_string(),
                    headers: header_pairs(&parts.headers)
                        .into_iter()
                        .filter(|(k, _)| RECORDED_REQUEST_HEADERS.contains(&k.as_str()))
                        .collect(),
                    body: body.clone(),
                };
                let (head, body) = self.fetch(parts, body, options).await?;
                lock(tape).push(Exchange {
                    request: recorded_request,
                    response: RecordedResponse {
                        status: head.status.as_u16(),
                        headers: header_pairs(&head.headers)
                            .into_iter()
                            .filter(|(k, _)| !UNRECORDED_RESPONSE_HEADERS.contains(&k.as_str()))
                            .collect(),
                        body: body.clone(),
                    },
                });
                (head.status, head.headers, body)
            }
        };
        if body.len() as u64 > self.limits.max_response_bytes {
            return Err(HttpError::HttpResponseBodySize(Some(
                self.limits.max_response_bytes,
            )));
        }
        lock(&self.traffic).bytes_received += body.len() as u64;
        self.learn_secrets(&headers);
        for hop in UNRECORDED_RESPONSE_HEADERS {
            if hop != "content-length" {
                headers.remove(hop);
            }
        }
        // The guest reads the answer only as the browser lets page script
        // read it: no held cookie, no password.
        lock(&self.browser).incoming(&mut headers, &mut body);
        self.trace(|| Crossing::Handed {
            status: status.as_u16(),
            headers: header_pairs(&headers),
            body: body.clone(),
        });
        let mut response = http::Response::new(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok((response, Box::new(async { Ok(()) }) as IoFuture))
    }
}

impl WasiHttpHooks for PolicyHooks {
    /// wasmtime asks this before it builds the request, so a scheme other
    /// than http(s) (`file`, `ftp`, `gopher`, `data` through
    /// `Scheme::Other`) never reaches `send_request`: without this the
    /// refusal would be wasmtime's bare `HttpProtocolError`, recorded
    /// nowhere. http and https go on to `admit`, which compares the whole
    /// origin and says why.
    fn is_supported_scheme(&mut self, scheme: &http::uri::Scheme) -> bool {
        if *scheme == http::uri::Scheme::HTTP || *scheme == http::uri::Scheme::HTTPS {
            return true;
        }
        let reason = format!(
            "scheme {scheme} is not allowed: only {} is allowed",
            self.shared.origin.url()
        );
        self.shared.deny(format!("{scheme}:"), reason);
        false
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _io: IoFuture,
    ) -> SendFuture {
        let shared = Arc::clone(&self.shared);
        if shared.journal.is_none() {
            return Box::new(shared.send(request, options));
        }
        let method = request.method().as_str().to_string();
        let path = request.uri().path().to_string();
        Box::new(async move {
            let started = Instant::now();
            let result = Arc::clone(&shared).send(request, options).await;
            if let Some(journal) = &shared.journal {
                lock(journal).push(JournalEntry {
                    method,
                    path,
                    status: result.as_ref().ok().map(|(r, _)| r.status().as_u16()),
                    elapsed: started.elapsed(),
                });
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses() {
        for inside in [
            "127.0.0.1",
            "10.0.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "febf::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_inside(&inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2001:4860::8888",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_inside(&outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn request_rules_parse_match_and_refuse() {
        let rules = RequestRules::hellowatt();
        assert!(rules.allows("GET", "/accounts/login/").is_ok());
        assert!(rules.allows("POST", "/accounts/login/").is_ok());
        assert!(
            rules
                .allows("GET", "/api/homes/1/sge_measures/courbe")
                .is_ok()
        );
        for (method, path) in [
            ("POST", "/api/user"),
            ("GET", "/accounts/signup/"),
            ("POST", "/accounts/login"),
            ("HEAD", "/api/homes"),
            ("GET", "/api"),
            ("GET", "/api/../admin/"),
            ("GET", "/api/./homes"),
            ("GET", "/api/%2E%2E/admin/"),
            ("GET", "/api/a%2fb"),
            ("GET", "/api//homes"),
            ("GET", "/api/a\\b"),
        ] {
            assert!(rules.allows(method, path).is_err(), "{method} {path}");
        }
        assert_eq!(
            rules.to_string(),
            "GET /accounts/login/, GET /mon-compte/me-connecter, POST /accounts/login/, GET /api/*"
        );
        let tempo = RequestRules::tempo();
        assert!(tempo.allows("GET", "/cms/open_data/v1/tempoLight").is_ok());
        assert!(tempo.allows("POST", "/api/jourTempo/2026-01-01").is_err());

        for bad in [
            vec![],
            vec!["GET"],
            vec!["DELETE /api/*"],
            vec!["GET api/*"],
            vec!["GET /api*"],
            vec!["GET /a/*/b"],
            vec!["GET /api/../x"],
        ] {
            let e = RequestRules::parse(&bad).unwrap_err();
            assert!(
                e.contains("METHOD /path") || e.contains("GET, POST or HEAD"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn origins() {
        let o = Origin::parse("https://www.hellowatt.fr/").unwrap();
        assert_eq!(o.url(), "https://www.hellowatt.fr");
        assert!(o.matches(&"https://WWW.hellowatt.fr:443/api/homes".parse().unwrap()));
        assert!(!o.matches(&"http://www.hellowatt.fr/api/homes".parse().unwrap()));
        assert!(!o.matches(&"https://www.hellowatt.fr.evil.example/".parse().unwrap()));
        assert!(!o.matches(&"https://www.hellowatt.fr:8443/".parse().unwrap()));
        let local = Origin::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(local.url(), "http://127.0.0.1:8080");
        assert!(Origin::parse("ftp://x").is_err());
        assert!(Origin::parse("https://www.hellowatt.fr/api").is_err());
        assert!(Origin::parse("not a url").is_err());
    }

    #[tokio::test]
    async fn admission_counts_and_caps() {
        let limits = HttpLimits {
            max_requests: 2,
            ..HttpLimits::default()
        };
        let hooks = PolicyHooks::new(
            Origin::parse(DEFAULT_SITE).unwrap(),
            limits,
            Backend::Network,
            Arc::new(Redactor::default()),
        );
        let s = &hooks.shared;
        let ok: http::Uri = "https://www.hellowatt.fr/api/homes".parse().unwrap();
        let other: http::Uri = "https://example.org/".parse().unwrap();
        assert!(
            s.admit("GET", &other)
                .unwrap_err()
                .contains("only https://www.hellowatt.fr")
        );
        assert!(s.admit("DELETE", &ok).unwrap_err().contains("DELETE"));
        let login: http::Uri = "https://www.hellowatt.fr/accounts/login/".parse().unwrap();
        // Refused by the slot's rules, before it is counted.
        assert!(
            s.admit("POST", &ok)
                .unwrap_err()
                .contains("not an allowed request")
        );
        assert!(s.admit("GET", &ok).is_ok());
        assert!(s.admit("POST", &login).is_ok());
        assert!(s.admit("GET", &ok).unwrap_err().contains("cap of 2"));
    }

    /// With the clock paused, any sleep moves it (tokio jumps to the
    /// deadline): no pacing must not sleep at all, since a sleep until an
    /// instant already past still waits for the timer's next millisecond.
    #[tokio::test(start_paused = true)]
    async fn pacing_sleeps_only_for_a_slot_still_ahead() {
        let paced = |pacing| {
            PolicyHooks::new(
                Origin::parse(DEFAULT_SITE).unwrap(),
                HttpLimits {
                    pacing,
                    ..HttpLimits::default()
                },
                Backend::Network,
                Arc::new(Redactor::default()),
            )
        };
        let unpaced = paced(Duration::ZERO);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            unpaced.shared.pace().await;
        }
        assert_eq!(tokio::time::Instant::now(), start, "no pacing, no sleep");

        let half_second = paced(Duration::from_millis(500));
        half_second.shared.pace().await;
        assert_eq!(
            tokio::time::Instant::now(),
            start,
            "the first request waits for none"
        );
        half_second.shared.pace().await;
        assert!(tokio::time::Instant::now() - start >= Duration::from_millis(499));
    }
}
