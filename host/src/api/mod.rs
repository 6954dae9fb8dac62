//! The HTTP surface of `hellowatt run`: the versioned JSON API under
//! `/api/v1/`, the Prometheus metrics at `/metrics`, the health checks, the
//! CSV/JSON export route and the offline dashboard page at `/`.
//!
//! # What it owns
//! - The routes ([`ROUTES`], the one list the router and the OpenAPI test
//!   are built from), their parameters and defaults (`params.rs`), the JSON
//!   shapes they answer (`routes.rs`), the OpenAPI document that describes
//!   them (`openapi.rs`), the metrics text (`metrics.rs`), the CSV/JSON
//!   export that `/api/v1/export` and `hellowatt export` share
//!   (`export.rs`) and the embedded dashboard (`dashboard.rs`, files in
//!   `host/assets/dashboard/`).
//! - Its doors (`doors.rs`): only the names it is reached by (IP
//!   addresses, `localhost`, `allowed_hosts`), and state changes only from
//!   its own pages (a foreign `Origin` is refused).
//! - Authentication: with a configured token every route but `/healthz`
//!   needs `Authorization: Bearer <token>`, compared in constant time
//!   (`auth.rs`). The dashboard page also takes `?token=` for browsers and
//!   then sets a cookie, derived from the token, that opens the page and its
//!   assets only; the page's script sends the header to the API.
//! - The error contract: every bad parameter is a 400 `{"error": "…"}`
//!   saying what is wrong and how to fix it; an unknown meter, home or
//!   account is a 404 `{"error": …}`; a store busy too long is a 503 with
//!   `Retry-After`.
//!
//! # What it must never do
//! - Write data: it reads through the store's queries, and its one write is
//!   filing a [`Request::Refresh`](crate::store::Request) for the service
//!   (which decides whether and when to run).
//! - Expose a secret: no password, e-mail credential, cookie of the site or
//!   credential fingerprint is in any answer, and the API token itself never
//!   appears in a body.
//! - Run a sync, talk to the site or load a guest: what the service knows
//!   (accounts, active guest, next runs, counters) comes through
//!   [`ServiceInfo`], and in-process run figures through [`Metrics`].
//!
//! Store calls are blocking SQLite: a handler waits for a free connection
//! of the API's pool (`pool.rs`) at most a few seconds, then runs its
//! queries on the blocking pool.

mod auth;
mod cache;
mod dashboard;
mod doors;
pub mod export;
mod metrics;
mod openapi;
mod params;
mod pool;
mod routes;

pub use metrics::Metrics;
pub use pool::StorePool;

use crate::store::Store;
use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What the API is given by the service.
#[derive(Clone)]
pub struct ApiState {
    /// The database: connections of the API's own (WAL lets them read
    /// while a sync writes through another), never the one a sync holds
    /// for minutes.
    pub store: Arc<StorePool>,
    pub service: Arc<dyn ServiceInfo>,
    /// When set, every route but `/healthz` requires it as a bearer token.
    pub token: Option<String>,
    pub metrics: Arc<Metrics>,
    /// Names the service is reached by, beside IP addresses and
    /// `localhost` (`allowed_hosts`); a request for another name is
    /// refused (`doors.rs`).
    pub allowed_hosts: Vec<String>,
}

/// What the running service knows that the store does not.
pub trait ServiceInfo: Send + Sync {
    /// The configured accounts, by name.
    fn accounts(&self) -> Vec<String>;
    /// The active guest.
    fn guest(&self) -> GuestSummary;
    /// Guests seen by the registry, newest first (empty until hot swap).
    fn guest_history(&self) -> Vec<GuestHistoryEntry>;
    /// The scheduler's next step for an account (its kind, its instant and
    /// the English sentence); `None` when unknown.
    fn next_step(&self, account: &str) -> Option<crate::scheduler::NextStep>;
    /// The same in words (`daily run at 2026-11-29T15:07:00+01:00`,
    /// `blocked: …`), as `/api/v1/status` shows it.
    fn next_run(&self, account: &str) -> Option<String> {
        self.next_step(account).map(|s| s.text)
    }
    fn counters(&self) -> GuestCounters;
    /// Whether a guest is loaded and can run (for `/readyz`). By default:
    /// the active guest has a hash.
    fn guest_active(&self) -> bool {
        !self.guest().sha256.is_empty()
    }
    /// Now, in Unix seconds: "yesterday", "this month" and the default
    /// ranges follow it. Tests pin it; the service keeps the default.
    fn now_utc(&self) -> i64 {
        crate::clock::now_utc()
    }
    /// Home Assistant's address when its statistics are pushed (`None`:
    /// not configured).
    fn home_assistant(&self) -> Option<String> {
        None
    }
}

/// The active guest, as `describe` named it, with its file's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestSummary {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The contract version the guest implements.
    pub contract: String,
}

/// A guest the registry saw: validated, active, refused, rolled back…
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestHistoryEntry {
    pub sha256: String,
    pub name: String,
    pub version: String,
    /// `active`, `retired`, `refused`, `rolled-back`, … (the registry's word).
    pub state: String,
    pub reason: Option<String>,
    /// When it entered that state, Unix seconds.
    pub at: i64,
}

/// Hot-swap counters since the service started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GuestCounters {
    pub swaps: u64,
    pub refusals: u64,
}

/// The router's state: what the service gave, plus the token's digests.
pub(crate) struct Ctx {
    pub api: ApiState,
    pub auth: auth::Auth,
    /// The names and origins the API answers (before the token).
    pub doors: doors::Doors,
    /// Answers of the data routes, until the data changes.
    pub cache: cache::AnswerCache,
}

type Shared = Arc<Ctx>;

/// How long a handler waits for the store before answering 503.
pub(crate) const STORE_WAIT: Duration = Duration::from_secs(15);
/// How long `/readyz` waits for the store.
const READY_WAIT: Duration = Duration::from_secs(3);

/// A failed request: a status and a message for a person.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    /// A store failure: logged, answered as 500.
    pub fn internal(e: anyhow::Error) -> ApiError {
        tracing::error!("API: {e:#}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the database could not answer: {e:#}"),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(serde_json::json!({"error": self.message})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        res
    }
}

/// Runs `f` on one of the API's connections, on the blocking pool, after
/// waiting at most `wait` for one.
pub(crate) async fn with_store_within<T, F>(ctx: &Ctx, wait: Duration, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
{
    ctx.api.store.run(wait, f).await
}

pub(crate) async fn with_store<T, F>(ctx: &Ctx, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
{
    with_store_within(ctx, STORE_WAIT, f).await
}

/// Declares every route once: [`ROUTES`] (for the OpenAPI test and the
/// docs) and the router are both made from this list.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every route: method and path (axum syntax).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn add_routes(router: Router<Shared>) -> Router<Shared> {
            router $(.route($path, axum::routing::$method($handler)))*
        }
    };
}

routes! {
    get "/healthz" => routes::healthz,
    get "/readyz" => routes::readyz,
    get "/metrics" => metrics::handler,
    get "/" => dashboard::page,
    get "/assets/{file}" => dashboard::asset,
    get "/api/v1/openapi.json" => openapi::handler,
    get "/api/v1/status" => routes::status,
    get "/api/v1/summary" => routes::summary,
    get "/api/v1/accounts" => routes::accounts,
    post "/api/v1/accounts/{name}/refresh" => routes::refresh,
    get "/api/v1/homes" => routes::homes,
    get "/api/v1/meters" => routes::meters,
    get "/api/v1/readings" => routes::readings,
    get "/api/v1/curve" => routes::curve,
    get "/api/v1/peaks" => routes::peaks,
    get "/api/v1/tempo" => routes::tempo,
    get "/api/v1/tempo/outlook" => routes::tempo_outlook,
    get "/api/v1/ecowatt" => routes::ecowatt,
    get "/api/v1/temperatures" => routes::temperatures,
    get "/api/v1/contracts" => routes::contracts,
    get "/api/v1/runs" => routes::runs,
    get "/api/v1/guests" => routes::guests,
    get "/api/v1/export" => routes::export,
}

/// The whole HTTP surface, ready to serve.
pub fn router(state: ApiState) -> Router {
    let ctx = Arc::new(Ctx {
        auth: auth::Auth::new(state.token.as_deref()),
        doors: doors::Doors::new(&state.allowed_hosts),
        api: state,
        cache: cache::AnswerCache::default(),
    });
    add_routes(Router::new())
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        // Inside the token check: only requests it let through reach the
        // cache.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&ctx),
            cache::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&ctx),
            auth::require_token,
        ))
        // Outermost: a foreign name or page is refused before anything.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&ctx),
            doors::guard,
        ))
        .with_state(ctx)
}

/// Serves [`router`] on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the HTTP listener's address")?;
    let open = state.token.is_none();
    tracing::info!(
        "HTTP API and dashboard on http://{addr}/{}",
        if open { "" } else { " (token required)" }
    );
    if open && !addr.ip().is_loopback() {
        // The configuration allowed it (api_open_to_network); say so.
        tracing::warn!(
            "the API and the dashboard are open to the network without a token \
             (api_open_to_network = true): anyone there can read the household's data"
        );
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the HTTP API")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path as OpenAPI writes it: `{*rest}` becomes `{rest}`.
    fn openapi_path(p: &str) -> String {
        p.replace("{*", "{")
    }

    #[test]
    fn every_route_is_in_the_openapi_document_and_back() {
        let doc = openapi::document();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                    documented.push((method.clone(), path.clone()));
                }
            }
        }
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), openapi_path(p)))
            .collect();
        served.sort();
        documented.sort();
        assert_eq!(served, documented);
        // Every operation says what it answers, and every path parameter
        // is declared.
        for (method, path) in &documented {
            let op = &paths[path][method];
            assert!(op["summary"].is_string(), "{method} {path}: summary");
            assert!(
                op["responses"]["200"].is_object() || op["responses"]["202"].is_object(),
                "{method} {path}: success response"
            );
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path");
                assert!(declared, "{method} {path}: path parameter {name}");
            }
        }
    }

    #[test]
    fn the_document_asks_for_a_token_only_when_one_is_configured() {
        let with = openapi::document_for(true).to_string();
        assert!(with.contains("\"security\"") && with.contains("bearer"));
        assert!(with.contains("components/responses/401"));
        let without = openapi::document_for(false);
        let text = without.to_string();
        assert!(
            !text.contains("bearer") && !text.contains("\"401\""),
            "{text}"
        );
        assert!(without["components"]["responses"]["400"].is_object());
        // /healthz keeps its answer; the others lose only their 401.
        assert!(without["paths"]["/readyz"]["get"]["responses"]["503"].is_object());
    }

    /// What the server does with a parameter's value, the document says:
    /// an empty optional value is the parameter left out, an empty
    /// required one is refused, and the page's `lang` takes any string.
    #[test]
    fn the_document_says_what_the_server_takes() {
        let doc = openapi::document();
        let param = |path: &str, name: &str| -> serde_json::Value {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .unwrap_or_else(|| panic!("{path}: no parameter {name}"))["schema"]
                .clone()
        };
        for (path, name) in [
            ("/api/v1/readings", "meter"),
            ("/api/v1/temperatures", "home"),
        ] {
            assert_eq!(param(path, name)["minLength"], 1, "{path} {name}");
        }
        for (path, name) in [
            ("/api/v1/readings", "to"),
            ("/api/v1/readings", "from"),
            ("/api/v1/readings", "granularity"),
            ("/api/v1/runs", "limit"),
            ("/api/v1/export", "format"),
            ("/api/v1/export", "meter"),
        ] {
            let any = param(path, name)["anyOf"].clone();
            assert!(
                any.as_array()
                    .is_some_and(|a| a.iter().any(|s| s["maxLength"] == 0)),
                "{path} {name}: an empty value is allowed: {any}"
            );
        }
        assert_eq!(param("/", "lang"), serde_json::json!({"type": "string"}));
        // And the server does take them so.
        let uri: axum::http::Uri = "/x?to=&meter=&limit=".parse().unwrap();
        let p = params::Params::parse(&uri, &["to", "meter", "limit"]).unwrap();
        assert_eq!(p.date("to").unwrap(), None);
        assert_eq!(p.limit().unwrap(), params::DEFAULT_RUNS);
        assert!(p.required("meter", "a meter").is_err());
    }

    #[test]
    fn errors_are_json_with_a_message() {
        let res = ApiError::bad_request("from is after to").into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let res = ApiError::unavailable("busy").into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "30");
    }
}
