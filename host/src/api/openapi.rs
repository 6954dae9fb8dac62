//! `/api/v1/openapi.json`: the OpenAPI 3.1 description of every route,
//! written by hand next to the routes (a unit test in `mod.rs` holds it to
//! [`ROUTES`](super::ROUTES), both ways).

use super::params::{DEFAULT_RUNS, MAX_CURVE_DAYS, MAX_DAYS, MAX_DAYS_AGGREGATED, MAX_RUNS};
use super::{ApiError, Shared};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};

pub async fn handler(State(_): State<Shared>, uri: Uri) -> Result<Json<Value>, ApiError> {
    super::params::Params::parse(&uri, &[])?;
    Ok(Json(document()))
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

fn date_param(name: &str, description: &str) -> Value {
    query(name, false, description, r("Date"))
}

fn meter_param(required: bool) -> Value {
    query(
        "meter",
        required,
        "A meter id (PDL or PCE) from /api/v1/meters; unknown: 404.",
        json!({"type": "string"}),
    )
}

fn granularity_param() -> Value {
    query(
        "granularity",
        false,
        "How days are grouped (default day).",
        json!({"type": "string", "enum": ["day", "month", "year"], "default": "day"}),
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
                    "503": json_body("Not ready: `error` says why.", r("Ready")),
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
                    query("lang", false, "Labels: fr (default) or en.",
                        json!({"type": "string", "enum": ["fr", "en"]})),
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
                responses(json_body("OpenAPI document.", json!({"type": "object"})), &[]),
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
                    is listed, with null sums when no day has the value. Day rows add the tariff \
                    periods and the Tempo colour (electricity). {} Day granularity: at most {MAX_DAYS} days, \
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
            "/api/v1/temperatures": {"get": op(
                "Temperatures",
                &range_note("the 30 days up to yesterday", MAX_DAYS),
                vec![query("home", true, "A home id from /api/v1/homes; unknown: 404.", json!({"type": "string"})),
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
                        json!({"type": "integer", "minimum": 1, "maximum": MAX_RUNS, "default": DEFAULT_RUNS}))],
                responses(json_body("Runs.", json!({"type": "array", "items": r("Run")})), &["400", "404"]),
            )},
            "/api/v1/guests": {"get": op(
                "Guests", "The active guest, the hot-swap counters and the registry's history.", vec![],
                responses(json_body("Guests.", r("Guests")), &["400"]),
            )},
            "/api/v1/export": {"get": {
                "summary": "Export",
                "description": "Every meter (or one) over a range and granularity, as CSV (a \
                    header row, units in the column names, missing values empty) or JSON \
                    (units stated), as an attachment. Ranges and defaults as /api/v1/readings.",
                "parameters": [
                    query("format", false, "csv (default) or json.",
                        json!({"type": "string", "enum": ["csv", "json"], "default": "csv"})),
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

fn schemas() -> Value {
    let num = || nullable("number");
    let total_props = json!({
        "bucket": {"type": "string", "description": "2026-01-05, 2026-01 or 2026."},
        "start": r("Date"), "end": r("Date"),
        "day_count": {"type": "integer", "description": "Calendar days of the bucket within the range."},
        "stored_days": {"type": "integer", "description": "Days with a stored reading."},
        "value_count": {"type": "integer", "description": "Days with a kWh value; fewer than day_count: days are missing from the sums."},
        "kwh": num(), "eur": num(), "subscription_eur": num(), "co2_kg": num(),
        "solar_production_kwh": num(), "solar_production_eur": num(),
        "injection_kwh": num(), "injection_eur": num(),
    });
    let figures = json!({
        "type": "object",
        "properties": {
            "from": r("Date"), "to": r("Date"),
            "day_count": {"type": "integer"}, "value_count": {"type": "integer"},
            "kwh": num(), "eur": num(), "solar_production_kwh": num(),
            "injection_kwh": num(), "injection_eur": num(),
        },
    });
    let entries: Vec<(&str, Value)> = vec![
        (
            "Error",
            json!({"type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"}}}),
        ),
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
        (
            "Units",
            json!({"type": "object", "additionalProperties": true}),
        ),
        (
            "Guest",
            json!({"type": "object", "properties": {
            "name": {"type": "string"}, "version": {"type": "string"},
            "sha256": {"type": "string"}, "contract": {"type": "string"},
            "active": {"type": "boolean"}}}),
        ),
        (
            "Ready",
            json!({"type": "object", "properties": {
            "ready": {"type": "boolean"}, "error": {"type": "string"},
            "schema_version": nullable("integer"), "guest": r("Guest")}}),
        ),
        (
            "Since",
            json!({"type": "object", "properties": {"since": r("Instant"), "detail": {"type": "string"}}}),
        ),
        (
            "AccountStatus",
            json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "next_run": {"type": ["string", "null"], "description": "e.g. daily run at 2026-11-29T15:07:00+01:00, or blocked: …"},
            "last_success": nullable_ref("Instant"), "last_attempt": nullable_ref("Instant"),
            "newest_day": nullable_ref("Date"),
            "consecutive_failures": {"type": "integer"},
            "breaker": nullable_ref("Since"), "paused": nullable_ref("Since"),
            "last_decision": nullable("string"),
            "retry_not_before": nullable_ref("Instant"), "rate_limited_until": nullable_ref("Instant"),
            "state_error": nullable("string")}}),
        ),
        (
            "Status",
            json!({"type": "object", "properties": {
            "version": {"type": "string"}, "generated_at": r("Instant"), "guest": r("Guest"),
            "accounts": {"type": "array", "items": r("AccountStatus")}}}),
        ),
        ("Figures", figures),
        (
            "SummaryMeter",
            json!({"type": "object", "properties": {
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "account": {"type": "string"}, "home_id": {"type": "string"},
            "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date"),
            "yesterday": {"allOf": [r("Figures"), {"type": "object", "properties": {
                "date": r("Date"), "tempo": nullable_ref("TempoColour")}}]},
            "month": r("Figures"), "year": r("Figures")}}),
        ),
        (
            "Summary",
            json!({"type": "object", "properties": {
            "generated_at": r("Instant"), "today": r("Date"), "yesterday": r("Date"),
            "tempo": {"type": "object", "properties": {
                "today": nullable_ref("TempoColour"), "tomorrow": nullable_ref("TempoColour"),
                "source": nullable_ref("TempoSource"), "tomorrow_source": nullable_ref("TempoSource"),
                "disagreements": {"type": "integer", "description": "Days of the season where the \
                    Tempo service and a meter's tariff keys differ (see /api/v1/tempo/outlook)."}}},
            "last_sync": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
                "at": r("Instant"), "account": {"type": "string"}, "run_id": {"type": "integer"},
                "from": r("Date"), "to": r("Date")}}]},
            "guest": {"allOf": [r("Guest"), {"type": "object", "properties": {
                "swaps": {"type": "integer"}, "refusals": {"type": "integer"}}}]},
            "accounts": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "next_run": nullable("string"),
                "last_success": nullable_ref("Instant"), "consecutive_failures": {"type": "integer"},
                "breaker_open": {"type": "boolean"}, "paused": {"type": "boolean"},
                "state_error": nullable("string")}}},
            "meters": {"type": "array", "items": r("SummaryMeter")},
            "units": r("Units")}}),
        ),
        (
            "Account",
            json!({"type": "object", "properties": {
            "name": {"type": "string"}, "configured": {"type": "boolean"},
            "homes": {"type": "array", "items": {"type": "string"}},
            "meters": {"type": "array", "items": {"type": "string"}},
            "last_run": nullable_ref("Run"), "last_success": nullable_ref("Instant")}}),
        ),
        (
            "Refresh",
            json!({"type": "object", "properties": {
            "queued": {"const": true}, "account": {"type": "string"}, "note": {"type": "string"}}}),
        ),
        (
            "Home",
            json!({"type": "object", "properties": {
            "id": {"type": "string"}, "account": {"type": "string"},
            "address": nullable("string"), "postal_code": nullable("string"), "city": nullable("string"),
            "meters": {"type": "array", "items": {"type": "object", "properties": {
                "meter_id": {"type": "string"}, "energy": r("Energy"),
                "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date")}}}}}),
        ),
        (
            "Meter",
            json!({"type": "object", "properties": {
            "account": {"type": "string"}, "home_id": {"type": "string"},
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "address": nullable("string"), "postal_code": nullable("string"), "city": nullable("string"),
            "first_day": nullable_ref("Date"), "last_day": nullable_ref("Date")}}),
        ),
        (
            "TotalRow",
            json!({"type": "object", "properties": total_props}),
        ),
        (
            "PeriodValue",
            json!({"type": "object", "properties": {
            "period": {"type": "string", "description": "The site's key: Base, HP, HC, Tempo-blue-HC…"},
            "kwh": num(), "eur": num()}}),
        ),
        (
            "ReadingRow",
            json!({"allOf": [r("TotalRow"), {"type": "object", "properties": {
            "periods": {"type": "array", "items": r("PeriodValue"),
                "description": "Day granularity only."},
            "tempo": {"oneOf": [r("TempoColour"), {"type": "null"}],
                "description": "Day granularity only; null: unknown or not an electricity meter."}}}]}),
        ),
        (
            "Readings",
            json!({"type": "object", "properties": {
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "granularity": {"type": "string", "enum": ["day", "month", "year"]},
            "from": r("Date"), "to": r("Date"), "units": r("Units"),
            "missing": {"type": "string"},
            "rows": {"type": "array", "items": r("ReadingRow")}}}),
        ),
        (
            "Curve",
            json!({"type": "object", "properties": {
            "meter_id": {"type": "string"}, "energy": r("Energy"),
            "from": r("Date"), "to": r("Date"), "units": r("Units"),
            "points": {"type": "array", "items": {"type": "object", "properties": {
                "start": r("Instant"), "start_utc": {"type": "integer", "description": "Unix seconds."},
                "date": r("Date"), "minutes": {"type": "integer"}, "kwh": num()}}}}}),
        ),
        (
            "TempoDay",
            json!({"type": "object", "properties": {
            "date": r("Date"), "colour": nullable_ref("TempoColour"),
            "source": {"type": "string", "enum": ["tariff-keys", "service"]},
            "meter_id": nullable("string")}}),
        ),
        (
            "TempoSource",
            json!({"type": "string", "enum": ["tariff-keys", "service"]}),
        ),
        (
            "TempoOutlookDay",
            json!({"type": "object", "properties": {
            "date": r("Date"), "colour": nullable_ref("TempoColour"),
            "source": nullable_ref("TempoSource")}}),
        ),
        (
            "TempoCount",
            json!({"type": "object", "properties": {
            "quota": {"type": "integer"}, "used": {"type": "integer"},
            "remaining": {"type": "integer", "minimum": 0},
            "over_quota": {"type": "integer", "minimum": 0,
                "description": "used - quota when above the quota, else 0."}}}),
        ),
        (
            "TempoOutlook",
            json!({"type": "object", "properties": {
            "generated_at": r("Instant"),
            "today": r("TempoOutlookDay"), "tomorrow": r("TempoOutlookDay"),
            "season": {"type": "object", "properties": {
                "start": r("Date"), "end": r("Date"),
                "days": {"type": "integer", "enum": [365, 366]},
                "counted_to": {"allOf": [r("Date")], "description": "Tomorrow, or the season's \
                    end when tomorrow starts the next one."},
                "unknown_days": {"type": "integer", "description": "Days from start to \
                    counted_to with no known colour: the used counts are a lower bound."},
                "colours": {"type": "object", "properties": {
                    "blue": r("TempoCount"), "white": r("TempoCount"), "red": r("TempoCount")}}}},
            "disagreements": {"type": "array", "items": {"type": "object", "properties": {
                "date": r("Date"), "service": r("TempoColour"), "tariff": r("TempoColour"),
                "meter_id": {"type": "string"}}}}}}),
        ),
        (
            "TempoDays",
            json!({"type": "object", "properties": {
            "from": r("Date"), "to": r("Date"),
            "days": {"type": "array", "items": r("TempoDay")}}}),
        ),
        (
            "Temperatures",
            json!({"type": "object", "properties": {
            "home_id": {"type": "string"}, "from": r("Date"), "to": r("Date"), "units": r("Units"),
            "days": {"type": "array", "items": {"type": "object", "properties": {
                "date": r("Date"), "celsius": {"type": "number"}}}}}}),
        ),
        (
            "Contract",
            json!({"type": "object", "properties": {
            "home_id": {"type": "string"}, "energy": nullable_ref("Energy"),
            "provider": nullable("string"), "offer": nullable("string"),
            "state": {"type": "string"}, "active": {"type": "boolean"}}}),
        ),
        (
            "Run",
            json!({"type": "object", "properties": {
            "id": {"type": "integer"}, "account": {"type": "string"},
            "started_at": r("Instant"), "finished_at": nullable_ref("Instant"),
            "duration_seconds": nullable("integer"),
            "outcome": {"type": "string", "enum": ["running", "success", "failed"]},
            "error_kind": nullable("string"), "error_message": nullable("string"),
            "guest": {"type": "object", "properties": {"name": {"type": "string"},
                "version": {"type": "string"}, "sha256": {"type": "string"}}},
            "from": r("Date"), "to": r("Date"),
            "stats": {"type": "object", "properties": {"inserted": {"type": "integer"},
                "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                "revisions": {"type": "integer"}}},
            "requests": {"type": "integer"}}}),
        ),
        (
            "Guests",
            json!({"type": "object", "properties": {
            "active": r("Guest"),
            "counters": {"type": "object", "properties": {
                "swaps": {"type": "integer"}, "refusals": {"type": "integer"}}},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "sha256": {"type": "string"}, "name": {"type": "string"},
                "version": {"type": "string"}, "state": {"type": "string"},
                "reason": nullable("string"), "at": r("Instant")}}}}}),
        ),
        (
            "Export",
            json!({"type": "object", "properties": {
            "granularity": {"type": "string"}, "from": r("Date"), "to": r("Date"),
            "units": r("Units"), "missing": {"type": "string"},
            "rows": {"type": "array", "items": {"allOf": [r("TotalRow"), {"type": "object",
                "properties": {"meter_id": {"type": "string"}, "energy": r("Energy")}}]}}}}),
        ),
    ];
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}
