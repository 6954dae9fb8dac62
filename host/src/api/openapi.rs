//! `/api/v1/openapi.json`: the OpenAPI 3.1 description of every route.
//!
//! Written by hand, next to the routes, and held to them twice:
//! - a unit test in `mod.rs` holds its paths and methods to
//!   [`ROUTES`](super::ROUTES), both ways;
//! - the integration test `answers_match_the_openapi_document`
//!   (`host/tests/it/api.rs`) calls every operation over a store with an
//!   item in every array, and validates each answer (successes, and the
//!   400, 401, 404 and 503 errors) against the schema given here for its
//!   status and content type (JSON Schema 2020-12, `$ref`s resolved in this
//!   document). The answers' objects are [`closed`]: every key required
//!   unless said optional, no other key allowed, so that a key added to or
//!   dropped from an answer without this document fails that test. (An
//!   object keyed by data, meter ids say, would stay open: none today.)
//!
//! Why not generated: the handlers (`routes.rs`) answer `serde_json::Value`s
//! built with `json!`, so a generator such as utoipa, which derives schemas
//! from typed handlers, has nothing to derive from. When the handlers return
//! typed rows, generate the document with utoipa, and keep the integration
//! test as the check that the answers are what it says.

use super::params::{
    DEFAULT_RUNS, MAX_CURVE_DAYS, MAX_DAYS, MAX_DAYS_AGGREGATED, MAX_PEAK_DAYS, MAX_RUNS,
};
use super::{ApiError, Shared};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};

pub async fn handler(State(ctx): State<Shared>, uri: Uri) -> Result<Json<Value>, ApiError> {
    super::params::Params::parse(&uri, &[])?;
    Ok(Json(document_for(ctx.api.token.is_some())))
}

/// The document as this service answers: without a token configured,
/// nothing asks for one, so the document declares no security scheme and
/// no 401.
pub fn document_for(token_required: bool) -> Value {
    let mut doc = document();
    if !token_required {
        if let Some(top) = doc.as_object_mut() {
            top.remove("security");
        }
        if let Some(components) = doc["components"].as_object_mut() {
            components.remove("securitySchemes");
            if let Some(responses) = components
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                responses.remove("401");
            }
        }
        if let Some(paths) = doc["paths"].as_object_mut() {
            for op in paths
                .values_mut()
                .filter_map(Value::as_object_mut)
                .flat_map(|p| p.values_mut())
            {
                if let Some(op) = op.as_object_mut() {
                    op.remove("security");
                    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut)
                    {
                        responses.remove("401");
                    }
                }
            }
        }
    }
    doc
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

fn nullable_ref(name: &str) -> Value {
    json!({ "oneOf": [r(name), {"type": "null"}] })
}

fn query(name: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({
        "name": name, "in": "query", "required": required,
        "description": description, "schema": schema,
    })
}

/// An optional parameter's schema: the server takes an empty value as the
/// parameter left out.
fn or_empty(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]})
}

fn date_param(name: &str, description: &str) -> Value {
    query(
        name,
        false,
        &format!("{description} Empty: as if left out."),
        or_empty(r("Date")),
    )
}

fn meter_param(required: bool) -> Value {
    // Required: an empty value is refused (400) like a missing one.
    let schema = if required {
        json!({"type": "string", "minLength": 1})
    } else {
        or_empty(json!({"type": "string"}))
    };
    query(
        "meter",
        required,
        "A meter id (PDL or PCE) from /api/v1/meters; unknown: 404.",
        schema,
    )
}

fn granularity_param() -> Value {
    query(
        "granularity",
        false,
        "How days are grouped (default day; empty: the default).",
        or_empty(json!({"type": "string", "enum": ["day", "month", "year"], "default": "day"})),
    )
}

fn json_body(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema}},
    })
}

/// Success plus the usual errors of a JSON route.
fn responses(ok: Value, errors: &[&str]) -> Value {
    let mut out = json!({ "200": ok });
    for e in errors {
        out[*e] = json!({ "$ref": format!("#/components/responses/{e}") });
    }
    out["401"] = json!({ "$ref": "#/components/responses/401" });
    out["503"] = json!({ "$ref": "#/components/responses/503" });
    out
}

fn op(summary: &str, description: &str, parameters: Vec<Value>, responses: Value) -> Value {
    json!({
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": responses,
    })
}

/// The document.
pub fn document() -> Value {
    let range_note = |default: &str, max: i64| {
        format!(
            "Inclusive range of Europe/Paris days. Defaults: {default}. At most {max} days; \
             from after to is a 400."
        )
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hellowatt",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A household's helloWatt data, brought home: daily electricity and gas \
                consumption and cost per tariff period, solar production and injection, the \
                30-minute load curve, Tempo colours, temperatures and contracts. Days are \
                YYYY-MM-DD (Europe/Paris), instants ISO-8601 with the Paris offset, energies \
                kWh, money EUR. A value the site did not give is null, never 0. Every bad \
                parameter is a 400 {\"error\": \"...\"}, an unknown meter, home or account a 404.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {
                "summary": "Liveness",
                "description": "Answers `ok` while the process serves HTTP. Never needs the token.",
                "security": [],
                "parameters": [],
                "responses": {"200": {"description": "Alive.",
                    "content": {"text/plain": {"schema": {"type": "string", "const": "ok\n"}}}}},
            }},
            "/readyz": {"get": {
                "summary": "Readiness",
                "description": "200 when the store answers and a guest is active, else 503 with the reason.",
                "parameters": [],
                "responses": {
                    "200": json_body("Ready.", r("Ready")),
                    "401": {"$ref": "#/components/responses/401"},
                    "503": json_body("Not ready: `error` says why.", r("NotReady")),
                },
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics",
                "description": "Text format 0.0.4: hellowatt_last_success_timestamp_seconds, \
                    hellowatt_consecutive_failures, hellowatt_breaker_open, hellowatt_paused \
                    (per account), hellowatt_days_missing (per meter), \
                    hellowatt_sync_duration_seconds (histogram), hellowatt_site_requests_total, \
                    hellowatt_runs_total{outcome}, hellowatt_guest_info, \
                    hellowatt_guest_swaps_total, hellowatt_guest_refusals_total, \
                    hellowatt_build_info.",
                "parameters": [],
                "responses": {
                    "200": {"description": "The exposition.",
                        "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
                    "400": {"$ref": "#/components/responses/400"},
                    "401": {"$ref": "#/components/responses/401"},
                    "503": {"$ref": "#/components/responses/503"},
                },
            }},
            "/": {"get": {
                "summary": "Dashboard page",
                "description": "The offline dashboard (HTML, no external resource). With a token \
                    configured, open it as /?token=<token>; the answer sets a cookie that opens \
                    the page and its assets, and the page sends the token to the API.",
                "parameters": [
                    query("token", false, "The API token, for browsers.", json!({"type": "string"})),
                    query("lang", false, "Labels: en for English; any other value, or none, French \
                        (read by the page's script, not by the server).",
                        json!({"type": "string"})),
                ],
                "responses": {
                    "200": {"description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}}},
                    "401": {"$ref": "#/components/responses/401"},
                },
            }},
            "/assets/{file}": {"get": {
                "summary": "Dashboard assets",
                "description": "The page's script and style sheet (app.js, style.css), embedded in the binary.",
                "parameters": [{"name": "file", "in": "path", "required": true,
                    "schema": {"type": "string", "enum": ["app.js", "style.css"]}}],
                "responses": {
                    "200": {"description": "The file.", "content": {
                        "text/javascript": {"schema": {"type": "string"}},
                        "text/css": {"schema": {"type": "string"}}}},
                    "401": {"$ref": "#/components/responses/401"},
                    "404": {"$ref": "#/components/responses/404"},
                },
            }},
            "/api/v1/openapi.json": {"get": op(
                "This document", "The OpenAPI 3.1 description of every route.", vec![],
                responses(json_body("OpenAPI document.", json!({"type": "object"})), &["400"]),
            )},
            "/api/v1/status": {"get": op(
                "Service status",
                "Version, active guest, and per configured account: next run, last success, \
                 newest day, failures in a row, breaker and pause.",
                vec![],
                responses(json_body("Status.", r("Status")), &["400"]),
            )},
            "/api/v1/summary": {"get": op(
                "Dashboard tile",
                "Per meter: yesterday, this month and this year (the month and year of \
                 yesterday, up to yesterday): kWh, EUR, solar production and injection; the \
                 Tempo colour of today and tomorrow as /api/v1/tempo/outlook resolves it \
                 (null: unknown) with its source and the number of disagreements; the last \
                 successful sync; the guest's status.",
                vec![],
                responses(json_body("The tile.", r("Summary")), &["400"]),
            )},
            "/api/v1/accounts": {"get": op(
                "Accounts",
                "Configured accounts, then accounts found only in the store, with their homes, \
                 meters, last run and last success.",
                vec![],
                responses(json_body("Accounts.", json!({"type": "array", "items": r("Account")})), &["400"]),
            )},
            "/api/v1/accounts/{name}/refresh": {"post": {
                "summary": "Manual refresh",
                "description": "Files a refresh request for a configured account. The service \
                    starts the run within seconds unless the minimum interval between manual \
                    refreshes forbids it (its logs and /api/v1/status say so).",
                "parameters": [{"name": "name", "in": "path", "required": true,
                    "description": "A configured account's name.", "schema": {"type": "string"}}],
                "responses": {
                    "202": json_body("Queued.", r("Refresh")),
                    "400": {"$ref": "#/components/responses/400"},
                    "401": {"$ref": "#/components/responses/401"},
                    "404": {"$ref": "#/components/responses/404"},
                    "503": {"$ref": "#/components/responses/503"},
                },
            }},
            "/api/v1/homes": {"get": op(
                "Homes", "Homes with their address and meters.", vec![],
                responses(json_body("Homes.", json!({"type": "array", "items": r("Home")})), &["400"]),
            )},
            "/api/v1/meters": {"get": op(
                "Meters", "Every stored meter with its home, account and first and last day with data.", vec![],
                responses(json_body("Meters.", json!({"type": "array", "items": r("Meter")})), &["400"]),
            )},
            "/api/v1/readings": {"get": op(
                "Readings by day, month or year",
                &format!("Sums of a meter's daily readings per bucket; every bucket of the range \
                    is listed, with null sums when no day has the value. Every row has the tariff \
                    periods summed over its days (kWh and EUR per `Tempo-<colour>-HP|HC`, `HP`, \
                    `HC`, `Base`, as the site names them); day rows add the Tempo colour \
                    (electricity). Sums of several days are rounded to 0.001 kWh and 0.0001 EUR. {} Day granularity: at most {MAX_DAYS} days, \
                    month and year: {MAX_DAYS_AGGREGATED}.",
                    "Defaults: to = yesterday; from = 30 days, 12 calendar months or 3 calendar \
                     years back, by granularity."),
                vec![meter_param(true), granularity_param(),
                     date_param("from", "First day (see the defaults)."),
                     date_param("to", "Last day (default yesterday).")],
                responses(json_body("Readings.", r("Readings")), &["400", "404"]),
            )},
            "/api/v1/curve": {"get": op(
                "Load curve",
                &range_note("yesterday only", MAX_CURVE_DAYS),
                vec![meter_param(true), date_param("from", "First day."), date_param("to", "Last day.")],
                responses(json_body("Curve points by start.", r("Curve")), &["400", "404"]),
            )},
            "/api/v1/peaks": {"get": op(
                "Power peaks",
                &format!("The highest mean power of each day (granularity day) or month (granularity \
                 month: its highest day's) of an electricity meter, from the stored load curve: the \
                 point with the most energy per minute, kWh x 60 / minutes, the earliest of equal \
                 ones. Days and months without a curve are absent; a gas meter has none. \
                 granularity=year: 400. {}",
                 range_note("by day the 30 days up to yesterday, by month the 12 months up to \
                 yesterday's", MAX_PEAK_DAYS)),
                vec![meter_param(true),
                     query("granularity", false, "day (default) or month; empty: the default.",
                        or_empty(json!({"type": "string", "enum": ["day", "month"], "default": "day"}))),
                     date_param("from", "First day."), date_param("to", "Last day.")],
                responses(json_body("Peaks by day or month.", r("Peaks")), &["400", "404"]),
            )},
            "/api/v1/tempo": {"get": op(
                "Tempo days",
                &range_note("the 31 days before tomorrow, and tomorrow", MAX_DAYS),
                vec![date_param("from", "First day."), date_param("to", "Last day (default tomorrow).")],
                responses(json_body("Tempo days by day and source.", r("TempoDays")), &["400"]),
            )},
            "/api/v1/tempo/outlook": {"get": op(
                "Tempo outlook",
                "Today's and tomorrow's Tempo colour and the counters of the season (1 September \
                 to 31 August) holding today. A day's colour is the Tempo service's when it knows \
                 one, else the tariff keys' when every meter showing one agrees; otherwise null \
                 (unknown). Quotas: 22 red, 43 white, blue the rest (300, 301 in a leap season). \
                 used counts the season's days up to and including tomorrow whose colour is \
                 known (an announced day counts, as RTE and EDF count it); remaining never goes \
                 below 0, over_quota says by how much a colour exceeds its quota. disagreements \
                 lists every day of the season where the Tempo service and a meter's tariff keys \
                 both know a colour and differ.",
                vec![],
                responses(json_body("The outlook.", r("TempoOutlook")), &["400"]),
            )},
            "/api/v1/ecowatt": {"get": op(
                "EcoWatt signals",
                &format!("RTE's EcoWatt signals as last published: each day's level (1 green, 2 \
                 orange, 3 red; null when RTE gave none) and each hour's (0 green with low-carbon \
                 production to 3), from the EcoWatt guest. A day RTE has not published is absent. \
                 {}", range_note("today and the three days after it", MAX_DAYS)),
                vec![date_param("from", "First day (default today)."),
                     date_param("to", "Last day (default today + 3).")],
                responses(json_body("EcoWatt days.", r("EcoWatt")), &["400"]),
            )},
            "/api/v1/temperatures": {"get": op(
                "Temperatures",
                &range_note("the 30 days up to yesterday", MAX_DAYS),
                vec![query("home", true, "A home id from /api/v1/homes; unknown: 404.", json!({"type": "string", "minLength": 1})),
                     date_param("from", "First day."), date_param("to", "Last day.")],
                responses(json_body("Daily temperatures.", r("Temperatures")), &["400", "404"]),
            )},
            "/api/v1/contracts": {"get": op(
                "Contracts", "Contracts of every home, or of one account's.",
                vec![query("account", false, "An account's name; unknown: 404.", json!({"type": "string"}))],
                responses(json_body("Contracts.", json!({"type": "array", "items": r("Contract")})), &["400", "404"]),
            )},
            "/api/v1/runs": {"get": op(
                "Sync history", "Runs, newest first.",
                vec![query("account", false, "An account's name; unknown: 404.", json!({"type": "string"})),
                     query("limit", false, &format!("How many (default {DEFAULT_RUNS}, at most {MAX_RUNS})."),
                        or_empty(json!({"type": "integer", "minimum": 1, "maximum": MAX_RUNS, "default": DEFAULT_RUNS})))],
                responses(json_body("Runs.", json!({"type": "array", "items": r("Run")})), &["400", "404"]),
            )},
            "/api/v1/guests": {"get": op(
                "Guests", "The active guest, the hot-swap counters and the registry's history.", vec![],
                responses(json_body("Guests.", r("Guests")), &["400"]),
            )},
            "/api/v1/export": {"get": {
                "summary": "Export",
                "description": "Every meter (or one) over a range and granularity, as CSV (RFC 4180: a \
                    header row, units in the column names, missing values empty, then two \
                    columns per tariff period present, tariff_<period>_kwh and \
                    tariff_<period>_eur) or JSON (units stated, each row with its periods), \
                    as an attachment. Ranges and defaults as /api/v1/readings.",
                "parameters": [
                    query("format", false, "csv (default) or json.",
                        or_empty(json!({"type": "string", "enum": ["csv", "json"], "default": "csv"}))),
                    granularity_param(),
                    date_param("from", "First day."), date_param("to", "Last day (default yesterday)."),
                    meter_param(false),
                ],
                "responses": {
                    "200": {"description": "The export, with Content-Disposition: attachment.",
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/json": {"schema": r("Export")}}},
                    "400": {"$ref": "#/components/responses/400"},
                    "401": {"$ref": "#/components/responses/401"},
                    "404": {"$ref": "#/components/responses/404"},
                    "503": {"$ref": "#/components/responses/503"},
                },
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "Required on every route but /healthz when the service has a token configured."}},
            "responses": {
                "400": json_body("A bad parameter: the message says what is wrong and how to fix it.", r("Error")),
                "401": json_body("The token is missing or wrong (WWW-Authenticate: Bearer).", r("Error")),
                "404": json_body("Unknown meter, home, account or route.", r("Error")),
                "503": json_body("The database is busy; retry after Retry-After seconds.", r("Error")),
            },
            "schemas": schemas(),
        },
    })
}

/// An answer's object whose keys are fixed: every property is required
/// but those named `optional`, and no other key is allowed, so that a key
/// an answer gains or loses without the document fails the API test
/// (`host/tests/it/api.rs`).
fn closed_with(properties: Value, optional: &[&str]) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| {
            p.keys()
                .filter(|k| !optional.contains(&k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "type": "object", "properties": properties,
        "required": required, "additionalProperties": false,
    })
}

fn closed(properties: Value) -> Value {
    closed_with(properties, &[])
}

/// The properties of `a` and of `b` together (a closed object cannot be
/// made with `allOf`: `additionalProperties` sees only its own branch).
fn merged(a: &Value, b: Value) -> Value {
    let mut out = a.clone();
    if let (Some(o), Value::Object(more)) = (out.as_object_mut(), b) {
        o.extend(more);
    }
    out
}

/// An answer's `units`: each key's unit as a constant (an object for a
/// nested group), as the answer states them.
fn units(stated: Value) -> Value {
    match stated {
        Value::Object(keys) => closed(Value::Object(
            keys.into_iter().map(|(k, v)| (k, units(v))).collect(),
        )),
        unit => json!({ "const": unit }),
    }
}

/// Day rows have `tempo`; month and year rows do not.
fn day_rows_only(mut readings: Value) -> Value {
    readings["if"] = json!({"properties": {"granularity": {"const": "day"}}});
    readings["then"] = json!({"properties": {"rows": {"items": {"required": ["tempo"]}}}});
    readings["else"] = json!({"properties": {"rows": {"items": {"properties": {"tempo": false}}}}});
    readings
}

fn schemas() -> Value {
    let num = || nullable("number");
    let amounts = json!({
        "kwh": num(), "eur": num(), "subscription_eur": num(), "co2_kg": num(),
        "solar_production_kwh": num(), "solar_production_eur": num(),
        "injection_kwh": num(), "injection_eur": num(),
    });
    let cost = json!({"total_eur": {"type": ["number", "null"],
        "description": "The cost with the subscription: eur (the consumption's cost) plus subscription_eur."}});
    let amount_units = json!({
        "kwh": "kWh", "eur": "EUR", "subscription_eur": "EUR", "total_eur": "EUR", "co2_kg": "kg",
        "solar_production_kwh": "kWh", "solar_production_eur": "EUR",
        "injection_kwh": "kWh", "injection_eur": "EUR",
    });
    let total = merged(
        &json!({
            "bucket": {"type": "string", "description": "2026-01-05, 2026-01 or 2026."},
            "start": r("Date"), "end": r("Date"),
            "day_count": {"type": "integer", "description": "Calendar days of the bucket within the range."},
            "stored_days": {"type": "integer", "description": "Days with a stored reading."},
            "value_count": {"type": "integer", "description": "Days with a kWh value; fewer than day_count: days are missing from the sums."},
        }),
        merged(&amounts, cost.clone()),
    );
    let figures = json!({
        "from": r("Date"), "to": r("Date"),
        "day_count": {"type": "integer"}, "value_count": {"type": "integer"},
        "kwh": num(), "eur": num(), "subscription_eur": num(), "total_eur": num(),
        "solar_production_kwh": num(), "injection_kwh": num(), "injection_eur": num(),
    });
    let guest = json!({
        "name": {"type": "string"}, "version": {"type": "string"},
        "sha256": {"type": "string"}, "contract": {"type": "string"},
        "active": {"type": "boolean"},
    });
    let counters = json!({"swaps": {"type": "integer"}, "refusals": {"type": "integer"}});
    let entries: Vec<(&str, Value)> = vec![
        ("Error", closed(json!({"error": {"type": "string"}}))),
        (
            "Date",
            json!({"type": "string", "format": "date", "description": "YYYY-MM-DD, Europe/Paris."}),
        ),
        (
            "Instant",
            json!({"type": "string", "format": "date-time",
            "description": "ISO-8601 in Europe/Paris, e.g. 2026-11-28T15:07:00+01:00."}),
        ),
        (
            "Energy",
            json!({"type": "string", "enum": ["electricity", "gas"]}),
        ),
        (
            "TempoColour",
            json!({"type": "string", "enum": ["blue", "white", "red"]}),
        ),
        ("Guest", closed(guest.clone())),
        (
            "Ready",
            closed(json!({
            "ready": {"const": true}, "schema_version": {"type": "integer"}, "guest": r("Guest")})),
        ),
        (
            "NotReady",
            closed(json!({
            "ready": {"const": false}, "error": {"type": "string"},
            "schema_version": {"type": ["integer", "null"], "description": "null: the store does not answer."},
            "guest": r("Guest")})),
        ),
        (
            "Since",
            closed(json!({"since": r("Instant"), "detail": {"type": "string"}})),
        ),
        (
            "AccountStatus",
            closed(json!({
            "name": {"type": "string"},
            "next_run": {"type": ["string", "null"], "description": "e.g. daily run at 2026-11-29T15:07:00+01:00, or blocked: …"},
            "last_success": nullable_ref("Instant"), "last_attempt": nullable_ref("Instant"),
            "newest_day": nullable_ref("Date"),
            "consecutive_failures": {"type": "integer"},
            "breaker": {"oneOf": [{"type": "null"}, closed(json!({
                "since": r("Instant"), "detail": {"type": "string"},
                "action_needed": {"type": "boolean",
                    "description": "true: the site accepted the log-in but wants a person to act there first; false: it rejected the credentials."}}))]},
            "paused": nullable_ref("Since"),
            "last_decision": nullable("string"),
            "retry_not_before": nullable_ref("Instant"), "rate_limited_until": nullable_ref("Instant"),
            "state_error": nullable("string")})),
        ),
        (
            "Status",
            closed(json!({
            "version": {"type": "string"}, "generated_at": r("Instant"), "guest": r("Guest"),
            "accounts": {"type": "array", "items": r("AccountStatus")}})),
        ),
        ("Figures", closed(figures.clone())),
        (
            "SummaryMeter",
            closed(json!({
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "account": {"type": "string"}, "home_id": {"type": "string"},
            "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date"),
            "yesterday": closed(merged(&figures, json!({
                "date": r("Date"), "tempo": nullable_ref("TempoColour")}))),
            "month": r("Figures"), "year": r("Figures")})),
        ),
        (
            "Summary",
            closed(json!({
            "generated_at": r("Instant"), "today": r("Date"), "yesterday": r("Date"),
            "tempo": closed(json!({
                "today": nullable_ref("TempoColour"), "tomorrow": nullable_ref("TempoColour"),
                "source": nullable_ref("TempoSource"), "tomorrow_source": nullable_ref("TempoSource"),
                "disagreements": {"type": "integer", "description": "Days of the season where the \
                    Tempo service and a meter's tariff keys differ (see /api/v1/tempo/outlook)."}})),
            "last_sync": {"oneOf": [{"type": "null"}, closed(json!({
                "at": r("Instant"), "account": {"type": "string"}, "run_id": {"type": "integer"},
                "from": r("Date"), "to": r("Date")}))]},
            "guest": closed(merged(&guest, counters.clone())),
            "accounts": {"type": "array", "items": closed(json!({
                "name": {"type": "string"},
                "next_run": {"oneOf": [{"type": "null"}, closed(json!({
                    "kind": {"type": "string", "enum": ["daily", "retry", "backfill", "manual",
                        "tempo_catch_up", "tempo_tomorrow", "ecowatt", "credentials_rejected",
                        "action_needed", "site_changed"],
                        "description": "What happens next: a run (daily, retry, backfill, \
                        manual, for the Tempo slot tempo_catch_up, tempo_tomorrow, for the \
                        EcoWatt slot ecowatt) or why none can start (credentials_rejected, \
                        action_needed, site_changed)."},
                    "at": {"oneOf": [{"type": "null"}, r("Instant")],
                        "description": "When the run starts (at once when past); null when blocked."},
                    "since": {"oneOf": [{"type": "null"}, r("Instant")],
                        "description": "Since when no run can start; null for a run."},
                    "text": {"type": "string", "description": "The same in English, as \
                        /api/v1/status says it (e.g. daily run at 2026-11-29T15:07:00+01:00)."}}))],
                    "description": "The scheduler's next step; null when not known yet."},
                "last_success": nullable_ref("Instant"), "consecutive_failures": {"type": "integer"},
                "breaker_open": {"type": "boolean"},
                "action_needed": {"type": "boolean", "description": "The site wants a person to act there before hellowatt can log in."},
                "paused": {"type": "boolean"},
                "state_error": nullable("string")}))},
            "home_assistant": {"oneOf": [{"type": "null"}, closed(json!({
                "url": {"type": "string", "description": "Home Assistant's address (ha_url)."},
                "last_attempt": nullable_ref("Instant"), "last_success": nullable_ref("Instant"),
                "error": {"oneOf": [{"type": "null"}, {"type": "string"}], "description": "Why the \
                    last push failed; null when it succeeded. The next run sends again what it \
                    could not."},
                "statistics": {"type": "integer", "description": "Statistics the last successful \
                    push found in the store."},
                "hours_sent": {"type": "integer", "description": "Hours the last successful push \
                    sent (0: Home Assistant had them all)."}}))],
                "description": "The long-term statistics pushed to Home Assistant; null when \
                    ha_url is not set."},
            "meters": {"type": "array", "items": r("SummaryMeter")},
            "units": units(json!({"kwh": "kWh", "eur": "EUR", "solar_production_kwh": "kWh",
                "injection_kwh": "kWh", "injection_eur": "EUR"}))})),
        ),
        (
            "Account",
            closed(json!({
            "name": {"type": "string"}, "configured": {"type": "boolean"},
            "homes": {"type": "array", "items": {"type": "string"}},
            "meters": {"type": "array", "items": {"type": "string"}},
            "last_run": nullable_ref("Run"), "last_success": nullable_ref("Instant")})),
        ),
        (
            "Refresh",
            closed(json!({
            "queued": {"const": true}, "account": {"type": "string"}, "note": {"type": "string"}})),
        ),
        (
            "Home",
            closed(json!({
            "id": {"type": "string"}, "account": {"type": "string"},
            "address": nullable("string"), "postal_code": nullable("string"), "city": nullable("string"),
            "meters": {"type": "array", "items": closed(json!({
                "meter_id": {"type": "string"}, "energy": r("Energy"),
                "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date")}))}})),
        ),
        (
            "Meter",
            closed(json!({
            "account": {"type": "string"}, "home_id": {"type": "string"},
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "address": nullable("string"), "postal_code": nullable("string"), "city": nullable("string"),
            "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date")})),
        ),
        (
            "PeriodValue",
            closed(json!({
            "period": {"type": "string", "description": "The site's key: Base, HP, HC, Tempo-blue-HC…"},
            "kwh": num(), "eur": num()})),
        ),
        (
            "ReadingRow",
            closed_with(
                merged(
                    &total,
                    json!({
            "periods": {"type": "array", "items": r("PeriodValue"),
                "description": "The tariff periods summed over the row's days, sorted by name."},
            "tempo": {"oneOf": [r("TempoColour"), {"type": "null"}],
                "description": "Day granularity only; null: unknown or not an electricity meter."}}),
                ),
                &["tempo"],
            ),
        ),
        (
            "Readings",
            day_rows_only(closed(json!({
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "granularity": {"type": "string", "enum": ["day", "month", "year"]},
            "from": r("Date"), "to": r("Date"),
            "units": units(merged(&amount_units, json!({"periods": {"kwh": "kWh", "eur": "EUR"}}))),
            "missing": {"type": "string"},
            "cost": {"type": "string", "description": "What eur, subscription_eur and total_eur each count."},
            "rows": {"type": "array", "items": r("ReadingRow")}}))),
        ),
        (
            "Curve",
            closed(json!({
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "from": r("Date"), "to": r("Date"),
            "units": units(json!({"kwh": "kWh", "minutes": "min"})),
            "points": {"type": "array", "items": closed(json!({
                "start": r("Instant"), "start_utc": {"type": "integer", "description": "Unix seconds."},
                "date": r("Date"), "minutes": {"type": "integer"}, "kwh": num()}))}})),
        ),
        (
            "Peaks",
            closed(json!({
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "granularity": {"type": "string", "enum": ["day", "month"]},
            "from": r("Date"), "to": r("Date"),
            "units": units(json!({"kw": "kW", "minutes": "min"})),
            "method": {"type": "string"},
            "peaks": {"type": "array", "items": closed(json!({
                "bucket": {"type": "string", "description": "The day (YYYY-MM-DD) or month (YYYY-MM)."},
                "kw": {"type": "number", "description": "Mean power of the peak's point."},
                "at": r("Instant"), "at_utc": {"type": "integer", "description": "Unix seconds."},
                "date": r("Date"), "minutes": {"type": "integer"},
                "points": {"type": "integer", "description": "Points with a value in the bucket."}}))}})),
        ),
        (
            "EcoWatt",
            closed(json!({
            "from": r("Date"), "to": r("Date"),
            "levels": {"type": "object", "additionalProperties": {"type": "string"}},
            "days": {"type": "array", "items": closed(json!({
                "date": r("Date"),
                "level": {"type": ["integer", "null"], "minimum": 1, "maximum": 3},
                "generated_at": {"oneOf": [r("Instant"), {"type": "null"}]},
                "hours": {"type": "array", "items": closed(json!({
                    "start": r("Instant"), "start_utc": {"type": "integer", "description": "Unix seconds."},
                    "level": {"type": "integer", "minimum": 0, "maximum": 3}}))}}))}})),
        ),
        (
            "TempoDay",
            closed(json!({
            "date": r("Date"), "colour": nullable_ref("TempoColour"),
            "source": r("TempoSource"),
            "meter_id": nullable("string")})),
        ),
        (
            "TempoSource",
            json!({"type": "string", "enum": ["tariff-keys", "service"]}),
        ),
        (
            "TempoOutlookDay",
            closed(json!({
            "date": r("Date"), "colour": nullable_ref("TempoColour"),
            "source": nullable_ref("TempoSource")})),
        ),
        (
            "TempoCount",
            closed(json!({
            "quota": {"type": "integer"}, "used": {"type": "integer"},
            "remaining": {"type": "integer", "minimum": 0},
            "over_quota": {"type": "integer", "minimum": 0,
                "description": "used - quota when above the quota, else 0."}})),
        ),
        (
            "TempoOutlook",
            closed(json!({
            "generated_at": r("Instant"),
            "today": r("TempoOutlookDay"), "tomorrow": r("TempoOutlookDay"),
            "season": closed(json!({
                "start": r("Date"), "end": r("Date"),
                "days": {"type": "integer", "enum": [365, 366]},
                "counted_to": {"allOf": [r("Date")], "description": "Tomorrow, or the season's \
                    end when tomorrow starts the next one."},
                "unknown_days": {"type": "integer", "description": "Days from start to \
                    counted_to with no known colour: the used counts are a lower bound."},
                "colours": closed(json!({
                    "blue": r("TempoCount"), "white": r("TempoCount"), "red": r("TempoCount")}))})),
            "disagreements": {"type": "array", "items": closed(json!({
                "date": r("Date"), "service": r("TempoColour"), "tariff": r("TempoColour"),
                "meter_id": {"type": "string"}}))}})),
        ),
        (
            "TempoDays",
            closed(json!({
            "from": r("Date"), "to": r("Date"),
            "days": {"type": "array", "items": r("TempoDay")}})),
        ),
        (
            "Temperatures",
            closed(json!({
            "home_id": {"type": "string"}, "from": r("Date"), "to": r("Date"),
            "units": units(json!({"celsius": "°C"})),
            "days": {"type": "array", "items": closed(json!({
                "date": r("Date"), "celsius": {"type": "number"}}))},
            "months": {"type": "array", "description": "Monthly means, where the site gives those: each dated its month's first day.",
                "items": closed(json!({"date": r("Date"), "celsius": {"type": "number"}}))}})),
        ),
        (
            "Contract",
            closed(json!({
            "home_id": {"type": "string"}, "energy": nullable_ref("Energy"),
            "provider": nullable("string"), "offer": nullable("string"),
            "state": {"type": "string"}, "active": {"type": "boolean"},
            "subscribed_kva": {"type": ["number", "null"],
                "description": "The subscribed power (kVA) when the site gives it; null when not."}})),
        ),
        (
            "Run",
            closed(json!({
            "id": {"type": "integer"}, "account": {"type": "string"},
            "started_at": r("Instant"), "finished_at": nullable_ref("Instant"),
            "duration_seconds": nullable("integer"),
            "outcome": {"type": "string", "enum": ["running", "success", "failed"]},
            "error_kind": nullable("string"), "error_message": nullable("string"),
            "guest": closed(json!({"name": {"type": "string"},
                "version": {"type": "string"}, "sha256": {"type": "string"}})),
            "from": r("Date"), "to": r("Date"),
            "stats": closed(json!({"inserted": {"type": "integer"},
                "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                "revisions": {"type": "integer"}})),
            "requests": {"type": "integer"}})),
        ),
        (
            "Guests",
            closed(json!({
            "active": r("Guest"),
            "counters": closed(counters),
            "history": {"type": "array", "items": closed(json!({
                "sha256": {"type": "string"}, "name": {"type": "string"},
                "version": {"type": "string"}, "state": {"type": "string"},
                "reason": nullable("string"), "at": r("Instant")}))}})),
        ),
        (
            "ExportRow",
            closed(merged(
                &total,
                json!({"meter_id": {"type": "string"}, "energy": r("Energy"),
                    "periods": {"type": "array", "items": r("PeriodValue"),
                        "description": "The tariff periods summed over the row's days, sorted by name."}}),
            )),
        ),
        (
            "Export",
            closed(json!({
            "granularity": {"type": "string", "enum": ["day", "month", "year"]},
            "from": r("Date"), "to": r("Date"),
            "units": units(merged(&amount_units, json!({"periods": {"kwh": "kWh", "eur": "EUR"}}))),
            "missing": {"type": "string"},
            "cost": {"type": "string", "description": "What eur, subscription_eur and total_eur each count."},
            "rounding": {"type": "string", "description": "How sums of several days are rounded."},
            "rows": {"type": "array", "items": r("ExportRow")}})),
        ),
    ];
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}
