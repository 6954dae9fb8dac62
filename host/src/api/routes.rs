//! The JSON routes: what each answers, read from the store and the service.
//!
//! Shapes: days are `YYYY-MM-DD`, instants ISO-8601 in Europe/Paris
//! (`2026-11-28T15:07:00+01:00`), energies in kWh, money in EUR, and a value
//! the site did not give is `null`, never 0. Collections are arrays; ranged
//! answers are objects that repeat the range they cover (defaults resolved).

use super::params::{self, MAX_CURVE_DAYS, MAX_DAYS, MAX_PEAK_DAYS, Params};
use super::{ApiError, READY_WAIT, Shared, with_store, with_store_within};
use crate::api::export::{self, Format};
use crate::scheduler::AccountState;
use crate::store::{
    Granularity, MeterRecord, Request, RunOutcome, RunRecord, Store, TempoOutlook, TotalRow,
};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hellowatt_snapshot::{
    Date, Energy, PeriodValue, TemperaturePeriod, TempoColour, TempoDay, TempoSource, paris_iso,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type JsonResult = Result<Json<Value>, ApiError>;

/// How many runs are searched for the newest success.
const RUNS_SEARCHED: usize = 500;

fn iso(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(paris_iso(t)))
}

fn today(ctx: &Shared) -> Date {
    Date::paris_day_of(ctx.api.service.now_utc())
}

fn generated_at(ctx: &Shared) -> String {
    paris_iso(ctx.api.service.now_utc())
}

fn ids<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none yet".into()
    } else {
        v.join(", ")
    }
}

/// The stored meter `id`, or a 404 listing the known ones.
fn find_meter(store: &Store, id: &str) -> Result<MeterRecord, ApiError> {
    let meters = store.meters(None)?;
    match meters.iter().find(|m| m.meter_id == id) {
        Some(m) => Ok(m.clone()),
        None => Err(ApiError::not_found(format!(
            "no meter {id:?} in the database (known: {}): see /api/v1/meters",
            ids(meters.iter().map(|m| m.meter_id.as_str()))
        ))),
    }
}

/// An account is known when configured or when the store has its data.
fn check_account(store: &Store, configured: &[String], name: &str) -> Result<(), ApiError> {
    if configured.iter().any(|a| a == name)
        || !store.meters(Some(name))?.is_empty()
        || !store.runs(Some(name), 1)?.is_empty()
    {
        return Ok(());
    }
    Err(ApiError::not_found(format!(
        "no account {name:?} (configured: {}): see /api/v1/accounts",
        ids(configured.iter().map(String::as_str))
    )))
}

/// A run as the API shows it.
fn run_json(r: &RunRecord) -> Value {
    let (outcome, kind, message) = match &r.outcome {
        None => ("running", None, None),
        Some(RunOutcome::Success) => ("success", None, None),
        Some(RunOutcome::Failed { kind, message }) => {
            ("failed", Some(kind.as_str()), Some(message.as_str()))
        }
    };
    json!({
        "id": r.id,
        "account": r.account,
        "started_at": paris_iso(r.started_at),
        "finished_at": iso(r.finished_at),
        "duration_seconds": r.finished_at.map(|f| f - r.started_at),
        "outcome": outcome,
        "error_kind": kind,
        "error_message": message,
        "guest": r.guest,
        "from": r.start,
        "to": r.end,
        "stats": r.stats,
        "requests": r.requests,
    })
}

/// The saved scheduler state of an account, and why it could not be read.
fn account_state(saved: Option<&str>) -> (AccountState, Option<String>) {
    match saved {
        None => (AccountState::default(), None),
        Some(json) => match serde_json::from_str::<AccountState>(json) {
            Ok(s) => (s, None),
            Err(e) => (
                AccountState::default(),
                Some(format!("the saved scheduler state is unreadable: {e}")),
            ),
        },
    }
}

/// An account's line of `/status` (never the credentials' fingerprint).
fn account_status(name: &str, saved: Option<&str>, next_run: Option<String>) -> Value {
    let (s, error) = account_state(saved);
    json!({
        "name": name,
        "next_run": next_run,
        "last_success": iso(s.last_success),
        "last_attempt": iso(s.last_attempt),
        "newest_day": s.newest_day,
        "consecutive_failures": s.consecutive_failures,
        "breaker": s.breaker.map(|b| json!({
            "since": paris_iso(b.opened_at),
            "detail": b.detail,
            "action_needed": b.action_needed,
        })),
        "paused": s.paused.map(|p| json!({"since": paris_iso(p.since), "detail": p.detail})),
        "last_decision": s.last_decision,
        "retry_not_before": iso(s.not_before),
        "rate_limited_until": iso(s.rate_limited_until),
        "state_error": error,
    })
}

fn guest_json(ctx: &Shared) -> Value {
    let g = ctx.api.service.guest();
    json!({
        "name": g.name,
        "version": g.version,
        "sha256": g.sha256,
        "contract": g.contract,
        "active": ctx.api.service.guest_active(),
    })
}

fn daily_units() -> Value {
    json!({
        "kwh": "kWh", "eur": "EUR", "subscription_eur": "EUR", "total_eur": "EUR", "co2_kg": "kg",
        "solar_production_kwh": "kWh", "solar_production_eur": "EUR",
        "injection_kwh": "kWh", "injection_eur": "EUR",
        "periods": {"kwh": "kWh", "eur": "EUR"}
    })
}

/// A meter's Tempo colour by day: the Tempo service's when it knows one,
/// else the one the meter's tariff keys show (the store's rule, see
/// `store/tempo.rs`, applied to one meter). Gas meters have none.
fn tempo_by_day(days: &[TempoDay], meter: &MeterRecord) -> BTreeMap<Date, TempoColour> {
    let mut out = BTreeMap::new();
    if meter.energy != Energy::Electricity {
        return out;
    }
    for t in days.iter().filter(|t| {
        t.source == TempoSource::TariffKeys && t.meter_id.as_deref() == Some(&meter.meter_id)
    }) {
        if let Some(c) = t.colour {
            out.insert(t.date, c);
        }
    }
    // Second, so that the service's colour replaces the tariff keys'.
    for t in days.iter().filter(|t| t.source == TempoSource::Service) {
        if let Some(c) = t.colour {
            out.insert(t.date, c);
        }
    }
    out
}

/// The Tempo outlook as `/api/v1/tempo/outlook` answers it.
fn outlook_json(outlook: &TempoOutlook, generated_at: String) -> Result<Value, ApiError> {
    let mut doc = serde_json::to_value(outlook).map_err(anyhow::Error::from)?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("generated_at".into(), Value::String(generated_at));
    }
    Ok(doc)
}

// ---------------------------------------------------------------- health

pub async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

pub async fn readyz(State(ctx): State<Shared>) -> Response {
    let store = with_store_within(&ctx, READY_WAIT, |s| {
        s.schema_version().map_err(ApiError::from)
    })
    .await;
    let guest = guest_json(&ctx);
    let active = ctx.api.service.guest_active();
    match (store, active) {
        (Ok(version), true) => Json(json!({
            "ready": true, "schema_version": version, "guest": guest
        }))
        .into_response(),
        (store, _) => {
            let mut why = Vec::new();
            if let Err(e) = &store {
                why.push(format!("the store does not answer: {}", e.message));
            }
            if !active {
                why.push("no guest is active: check the guest folder and the logs".into());
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "ready": false,
                    "error": why.join("; "),
                    "schema_version": store.ok(),
                    "guest": guest,
                })),
            )
                .into_response()
        }
    }
}

// ------------------------------------------------------- service status

pub async fn status(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let accounts = ctx.api.service.accounts();
    let names = accounts.clone();
    let saved = with_store(&ctx, move |store| {
        names
            .iter()
            .map(|a| store.scheduler_state(a))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(ApiError::from)
    })
    .await?;
    let lines: Vec<Value> = accounts
        .iter()
        .zip(&saved)
        .map(|(a, s)| account_status(a, s.as_deref(), ctx.api.service.next_run(a)))
        .collect();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "generated_at": generated_at(&ctx),
        "guest": guest_json(&ctx),
        "accounts": lines,
    })))
}

pub async fn guests(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let history: Vec<Value> = ctx
        .api
        .service
        .guest_history()
        .into_iter()
        .map(|h| {
            json!({
                "sha256": h.sha256, "name": h.name, "version": h.version,
                "state": h.state, "reason": h.reason, "at": paris_iso(h.at),
            })
        })
        .collect();
    Ok(Json(json!({
        "active": guest_json(&ctx),
        "counters": ctx.api.service.counters(),
        "history": history,
    })))
}

// -------------------------------------------------------------- listings

pub async fn accounts(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let configured = ctx.api.service.accounts();
    let out = with_store(&ctx, move |store| {
        let meters = store.meters(None)?;
        let mut names = configured.clone();
        for m in &meters {
            if !names.contains(&m.account) {
                names.push(m.account.clone());
            }
        }
        let runs = store.runs(None, RUNS_SEARCHED)?;
        let mut out = Vec::new();
        for name in names {
            let mine: Vec<&MeterRecord> = meters.iter().filter(|m| m.account == name).collect();
            let mut homes: Vec<&str> = mine.iter().map(|m| m.home_id.as_str()).collect();
            homes.dedup();
            let last_run = store.runs(Some(&name), 1)?;
            let last_success = runs
                .iter()
                .find(|r| r.account == name && r.outcome == Some(RunOutcome::Success));
            out.push(json!({
                "name": name,
                "configured": configured.contains(&name),
                "homes": homes,
                "meters": mine.iter().map(|m| m.meter_id.as_str()).collect::<Vec<_>>(),
                "last_run": last_run.first().map(run_json),
                "last_success": iso(last_success.and_then(|r| r.finished_at)),
            }));
        }
        Ok(out)
    })
    .await?;
    Ok(Json(Value::Array(out)))
}

pub async fn homes(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let meters = with_store(&ctx, |store| Ok(store.meters(None)?)).await?;
    let mut homes: Vec<Value> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for m in &meters {
        let key = (m.account.clone(), m.home_id.clone());
        let meter = json!({
            "meter_id": m.meter_id, "energy": m.energy,
            "first_day": m.first_day, "last_day": m.last_day,
        });
        match keys.iter().position(|k| *k == key) {
            Some(i) => {
                if let Some(list) = homes[i]["meters"].as_array_mut() {
                    list.push(meter);
                }
            }
            None => {
                keys.push(key);
                homes.push(json!({
                    "id": m.home_id, "account": m.account, "address": m.address,
                    "postal_code": m.postal_code, "city": m.city, "meters": [meter],
                }));
            }
        }
    }
    Ok(Json(Value::Array(homes)))
}

pub async fn meters(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let meters = with_store(&ctx, |store| Ok(store.meters(None)?)).await?;
    Ok(Json(
        serde_json::to_value(meters).map_err(anyhow::Error::from)?,
    ))
}

pub async fn contracts(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    let p = Params::parse(&uri, &["account"])?;
    let account = p.get("account").map(str::to_owned);
    let configured = ctx.api.service.accounts();
    let contracts = with_store(&ctx, move |store| {
        if let Some(a) = &account {
            check_account(store, &configured, a)?;
        }
        Ok(store.contracts(account.as_deref())?)
    })
    .await?;
    Ok(Json(
        serde_json::to_value(contracts).map_err(anyhow::Error::from)?,
    ))
}

pub async fn runs(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    let p = Params::parse(&uri, &["account", "limit"])?;
    let limit = p.limit()?;
    let account = p.get("account").map(str::to_owned);
    let configured = ctx.api.service.accounts();
    let runs = with_store(&ctx, move |store| {
        if let Some(a) = &account {
            check_account(store, &configured, a)?;
        }
        Ok(store.runs(account.as_deref(), limit)?)
    })
    .await?;
    Ok(Json(Value::Array(runs.iter().map(run_json).collect())))
}

// ------------------------------------------------------------- readings

#[derive(Serialize)]
struct ReadingRow<'a> {
    #[serde(flatten)]
    total: &'a TotalRow,
    periods: &'a [PeriodValue],
    #[serde(skip_serializing_if = "Option::is_none")]
    tempo: Option<Option<TempoColour>>,
}

#[derive(Serialize)]
struct ReadingsDoc<'a> {
    meter_id: &'a str,
    energy: Energy,
    granularity: &'static str,
    from: Date,
    to: Date,
    units: Value,
    missing: &'static str,
    cost: &'static str,
    rows: Vec<ReadingRow<'a>>,
}

/// A typed answer serialised straight into the body, on the blocking task
/// that read it: no `serde_json::Value` tree for thousands of rows.
fn json_body<T: Serialize>(doc: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(doc).map_err(anyhow::Error::from)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

pub async fn readings(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    let p = Params::parse(&uri, &["meter", "granularity", "from", "to"])?;
    let meter = p
        .required("meter", "give a meter id from /api/v1/meters")?
        .to_owned();
    let granularity = p.granularity(Granularity::Day)?;
    let yesterday = today(&ctx).add_days(-1);
    let (from, to) = p.range(
        yesterday,
        |to| params::default_from(granularity, to),
        params::max_days(granularity),
    )?;
    with_store(&ctx, move |store| {
        let m = find_meter(store, &meter)?;
        let totals = store.totals(&meter, granularity, from, to)?;
        let periods = store.period_totals(&meter, granularity, from, to)?;
        // Day rows only: a month has no single colour.
        let tempo = if granularity == Granularity::Day {
            Some(tempo_by_day(&store.tempo_days(from, to)?, &m))
        } else {
            None
        };
        let rows = totals
            .iter()
            .map(|t| ReadingRow {
                total: t,
                periods: periods.get(&t.bucket).map_or(&[], Vec::as_slice),
                tempo: tempo.as_ref().map(|by_day| by_day.get(&t.start).copied()),
            })
            .collect();
        json_body(&ReadingsDoc {
            meter_id: &m.meter_id,
            energy: m.energy,
            granularity: granularity.as_str(),
            from,
            to,
            units: daily_units(),
            missing: "null means the site gave no value; it is never a zero",
            cost: "eur is the consumption's cost, subscription_eur the subscription, total_eur both",
            rows,
        })
    })
    .await
}

#[derive(Serialize)]
struct CurvePointRow {
    start: String,
    start_utc: i64,
    date: Date,
    minutes: u16,
    kwh: Option<f64>,
}

#[derive(Serialize)]
struct CurveDoc<'a> {
    meter_id: &'a str,
    energy: Energy,
    from: Date,
    to: Date,
    units: Value,
    points: Vec<CurvePointRow>,
}

pub async fn curve(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    let p = Params::parse(&uri, &["meter", "from", "to"])?;
    let meter = p
        .required("meter", "give an electricity meter id from /api/v1/meters")?
        .to_owned();
    let yesterday = today(&ctx).add_days(-1);
    let (from, to) = p.range(yesterday, |to| to, MAX_CURVE_DAYS)?;
    with_store(&ctx, move |store| {
        let m = find_meter(store, &meter)?;
        let points = store
            .curve(&meter, from, to)?
            .into_iter()
            .map(|c| CurvePointRow {
                start: paris_iso(c.start),
                start_utc: c.start,
                date: c.date,
                minutes: c.minutes,
                kwh: c.kwh,
            })
            .collect();
        json_body(&CurveDoc {
            meter_id: &m.meter_id,
            energy: m.energy,
            from,
            to,
            units: json!({"kwh": "kWh", "minutes": "min"}),
            points,
        })
    })
    .await
}

#[derive(Serialize)]
struct PeakRow {
    /// The day (`2026-01-05`) or month (`2026-01`).
    bucket: String,
    kw: f64,
    at: String,
    at_utc: i64,
    date: Date,
    minutes: u16,
    points: u32,
}

#[derive(Serialize)]
struct PeaksDoc<'a> {
    meter_id: &'a str,
    energy: Energy,
    granularity: &'static str,
    from: Date,
    to: Date,
    units: Value,
    method: &'static str,
    peaks: Vec<PeakRow>,
}

/// The highest mean power of each day or month, from the stored curve.
pub async fn peaks(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    let p = Params::parse(&uri, &["meter", "granularity", "from", "to"])?;
    let meter = p
        .required("meter", "give an electricity meter id from /api/v1/meters")?
        .to_owned();
    let granularity = p.granularity(Granularity::Day)?;
    if granularity == Granularity::Year {
        return Err(ApiError::bad_request(
            "power peaks are by day or by month: use granularity=day or granularity=month",
        ));
    }
    let yesterday = today(&ctx).add_days(-1);
    let (from, to) = p.range(
        yesterday,
        |to| params::default_from(granularity, to),
        MAX_PEAK_DAYS,
    )?;
    with_store(&ctx, move |store| {
        let m = find_meter(store, &meter)?;
        let peaks = store
            .power_peaks(&meter, granularity, from, to)?
            .into_iter()
            .map(|p| PeakRow {
                at: paris_iso(p.start_utc),
                bucket: p.bucket,
                kw: p.kw,
                at_utc: p.start_utc,
                date: p.date,
                minutes: p.minutes,
                points: p.points,
            })
            .collect();
        json_body(&PeaksDoc {
            meter_id: &m.meter_id,
            energy: m.energy,
            granularity: granularity.as_str(),
            from,
            to,
            units: json!({"kw": "kW", "minutes": "min"}),
            method: "the curve point with the most energy per minute: kWh x 60 / minutes \
                     (a half-hour's kWh x 2), the earliest of equal ones",
            peaks,
        })
    })
    .await
}

#[derive(Serialize)]
struct EcoWattHourRow {
    start: String,
    start_utc: i64,
    level: u8,
}

#[derive(Serialize)]
struct EcoWattDayRow {
    date: Date,
    level: Option<u8>,
    generated_at: Option<String>,
    hours: Vec<EcoWattHourRow>,
}

/// RTE's EcoWatt signals as stored: today and the days published after it
/// by default.
pub async fn ecowatt(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    let p = Params::parse(&uri, &["from", "to"])?;
    let today = today(&ctx);
    let (from, to) = p.range(today.add_days(3), |to| today.min(to), MAX_DAYS)?;
    let days = with_store(&ctx, move |store| Ok(store.ecowatt(from, to)?)).await?;
    let days: Vec<EcoWattDayRow> = days
        .into_iter()
        .map(|d| EcoWattDayRow {
            date: d.date,
            level: d.level,
            generated_at: d.generated_at.map(paris_iso),
            hours: d
                .hours
                .into_iter()
                .map(|h| EcoWattHourRow {
                    start: paris_iso(h.start),
                    start_utc: h.start,
                    level: h.level,
                })
                .collect(),
        })
        .collect();
    Ok(Json(json!({
        "from": from,
        "to": to,
        "levels": {"0": "green, low-carbon production", "1": "green", "2": "orange: the grid is tense", "3": "red: cuts likely without less use"},
        "days": days,
    })))
}

pub async fn tempo(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    let p = Params::parse(&uri, &["from", "to"])?;
    let tomorrow = today(&ctx).add_days(1);
    let (from, to) = p.range(tomorrow, |to| to.add_days(-31), MAX_DAYS)?;
    let days = with_store(&ctx, move |store| Ok(store.tempo_days(from, to)?)).await?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "days": days,
    })))
}

pub async fn tempo_outlook(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let today = today(&ctx);
    let outlook = with_store(&ctx, move |store| Ok(store.tempo_outlook(today)?)).await?;
    Ok(Json(outlook_json(&outlook, generated_at(&ctx))?))
}

pub async fn temperatures(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    let p = Params::parse(&uri, &["home", "from", "to"])?;
    let home = p
        .required("home", "give a home id from /api/v1/homes")?
        .to_owned();
    let yesterday = today(&ctx).add_days(-1);
    let (from, to) = p.range(yesterday, |to| to.add_days(-29), MAX_DAYS)?;
    let doc = with_store(&ctx, move |store| {
        let meters = store.meters(None)?;
        if !meters.iter().any(|m| m.home_id == home) {
            let mut homes: Vec<&str> = meters.iter().map(|m| m.home_id.as_str()).collect();
            homes.dedup();
            return Err(ApiError::not_found(format!(
                "no home {home:?} in the database (known: {}): see /api/v1/homes",
                ids(homes.into_iter())
            )));
        }
        // A day's mean and a month's (the site may give either) apart: a
        // month's is dated its first day, which may precede `from`.
        let all = store.temperatures(&home, from, to)?;
        let of = |period: TemperaturePeriod| -> Vec<Value> {
            all.iter()
                .filter(|t| t.period == period)
                .map(|t| json!({"date": t.date, "celsius": t.celsius}))
                .collect()
        };
        Ok(json!({
            "home_id": home,
            "from": from,
            "to": to,
            "units": {"celsius": "°C"},
            "days": of(TemperaturePeriod::Day),
            "months": of(TemperaturePeriod::Month),
        }))
    })
    .await?;
    Ok(Json(doc))
}

// -------------------------------------------------------------- summary

/// A tile's figures over one bucket of totals.
fn figures(t: Option<&TotalRow>) -> Value {
    match t {
        Some(t) => json!({
            "from": t.start, "to": t.end,
            "day_count": t.day_count, "value_count": t.value_count,
            "kwh": t.amounts.kwh, "eur": t.amounts.eur,
            "subscription_eur": t.amounts.subscription_eur, "total_eur": t.total_eur,
            "solar_production_kwh": t.amounts.solar_production_kwh,
            "injection_kwh": t.amounts.injection_kwh, "injection_eur": t.amounts.injection_eur,
        }),
        None => Value::Null,
    }
}

pub async fn summary(State(ctx): State<Shared>, uri: Uri) -> JsonResult {
    Params::parse(&uri, &[])?;
    let today = today(&ctx);
    let yesterday = today.add_days(-1);
    let month_from = yesterday.first_of_month();
    let year_from = Date {
        year: yesterday.year,
        month: 1,
        day: 1,
    };
    let accounts = ctx.api.service.accounts();
    let names = accounts.clone();
    let ha_url = ctx.api.service.home_assistant();
    let (meters, tempo_now, last_sync, saved, ha_push) = with_store(&ctx, move |store| {
        let tempo = store.tempo_days(yesterday, yesterday)?;
        let mut meters = Vec::new();
        for m in store.meters(None)? {
            let colours = tempo_by_day(&tempo, &m);
            let day = store.totals(&m.meter_id, Granularity::Day, yesterday, yesterday)?;
            let month = store.totals(&m.meter_id, Granularity::Month, month_from, yesterday)?;
            let year = store.totals(&m.meter_id, Granularity::Year, year_from, yesterday)?;
            let mut y = figures(day.first());
            if let Some(obj) = y.as_object_mut() {
                obj.insert("date".into(), json!(yesterday));
                obj.insert("tempo".into(), json!(colours.get(&yesterday)));
            }
            meters.push(json!({
                "meter_id": m.meter_id, "energy": m.energy,
                "account": m.account, "home_id": m.home_id,
                "first_day": m.first_day, "last_day": m.last_day,
                "yesterday": y,
                "month": figures(month.first()),
                "year": figures(year.first()),
            }));
        }
        // Today and tomorrow are the household's (the outlook's), not a
        // meter's; the full outlook is /api/v1/tempo/outlook.
        let outlook = store.tempo_outlook(today)?;
        let tempo_now = json!({
            "today": outlook.today.colour(),
            "tomorrow": outlook.tomorrow.colour(),
            "source": outlook.today.resolved.map(|r| r.source),
            "tomorrow_source": outlook.tomorrow.resolved.map(|r| r.source),
            "disagreements": outlook.disagreements.len(),
        });
        let last_sync = store
            .runs(None, RUNS_SEARCHED)?
            .into_iter()
            .find(|r| r.outcome == Some(RunOutcome::Success))
            .map(|r| {
                json!({
                    "at": iso(r.finished_at), "account": r.account, "run_id": r.id,
                    "from": r.start, "to": r.end,
                })
            });
        let saved = names
            .iter()
            .map(|a| store.scheduler_state(a))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((meters, tempo_now, last_sync, saved, store.ha_push_state()?))
    })
    .await?;
    let home_assistant = ha_url.map(|url| {
        let push = ha_push.as_ref();
        json!({
            "url": url,
            "last_attempt": iso(push.map(|p| p.attempted_at)),
            "last_success": iso(push.and_then(|p| p.succeeded_at)),
            "error": push.and_then(|p| p.error.clone()),
            "statistics": push.map_or(0, |p| p.series),
            "hours_sent": push.map_or(0, |p| p.hours_sent),
        })
    });
    let account_lines: Vec<Value> = accounts
        .iter()
        .zip(&saved)
        .map(|(a, s)| {
            let (st, error) = account_state(s.as_deref());
            json!({
                "name": a,
                // Structured, so that the dashboard words it in its reader's
                // language; `text` is the English of /api/v1/status.
                "next_run": ctx.api.service.next_step(a).map(|n| json!({
                    "kind": n.kind, "at": iso(n.at), "since": iso(n.since), "text": n.text,
                })),
                "last_success": iso(st.last_success),
                "consecutive_failures": st.consecutive_failures,
                "breaker_open": st.breaker.is_some(),
                "action_needed": st.breaker.as_ref().is_some_and(|b| b.action_needed),
                "paused": st.paused.is_some(),
                "state_error": error,
            })
        })
        .collect();
    let mut guest = guest_json(&ctx);
    let counters = ctx.api.service.counters();
    if let Some(g) = guest.as_object_mut() {
        g.insert("swaps".into(), json!(counters.swaps));
        g.insert("refusals".into(), json!(counters.refusals));
    }
    Ok(Json(json!({
        "generated_at": generated_at(&ctx),
        "today": today,
        "yesterday": yesterday,
        "tempo": tempo_now,
        "last_sync": last_sync,
        "guest": guest,
        "accounts": account_lines,
        "home_assistant": home_assistant,
        "meters": meters,
        "units": {"kwh": "kWh", "eur": "EUR", "solar_production_kwh": "kWh",
                  "injection_kwh": "kWh", "injection_eur": "EUR"},
    })))
}

// -------------------------------------------------------------- actions

pub async fn refresh(
    State(ctx): State<Shared>,
    name: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(|e| {
        ApiError::bad_request(format!("the account name in the path is not valid: {e}"))
    })?;
    Params::parse(&uri, &[])?;
    let configured = ctx.api.service.accounts();
    if !configured.contains(&name) {
        return Err(ApiError::not_found(format!(
            "no account {name:?} is configured (configured: {}): a refresh is for an account \
             the service runs",
            ids(configured.iter().map(String::as_str))
        )));
    }
    let now = ctx.api.service.now_utc();
    let account = name.clone();
    with_store(&ctx, move |store| {
        Ok(store.file_request(&account, Request::Refresh, now)?)
    })
    .await?;
    tracing::info!(account = %name, "refresh requested through the API");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "queued": true,
            "account": name,
            "note": "the service starts it within seconds unless the minimum interval forbids it",
        })),
    )
        .into_response())
}

pub async fn export(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    let p = Params::parse(&uri, &["format", "granularity", "from", "to", "meter"])?;
    let format = match p.get("format") {
        None => Format::Csv,
        Some(f) => Format::parse(f).map_err(|e| ApiError::bad_request(format!("{e:#}")))?,
    };
    let granularity = p.granularity(Granularity::Day)?;
    let yesterday = today(&ctx).add_days(-1);
    let (from, to) = p.range(
        yesterday,
        |to| params::default_from(granularity, to),
        params::max_days(granularity),
    )?;
    let meter = p.get("meter").map(str::to_owned);
    let name_meter = meter.clone();
    let body = with_store(&ctx, move |store| {
        if let Some(m) = &meter {
            find_meter(store, m)?;
        }
        Ok(export::export(
            store,
            format,
            granularity,
            from,
            to,
            meter.as_deref(),
        )?)
    })
    .await?;
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let mut file = format!("hellowatt-{}-{from}-{to}", granularity.as_str());
    if let Some(m) = name_meter {
        file.push('-');
        file.extend(
            m.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_'),
        );
    }
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}.{ext}\""))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the export's file name: {e}")))?;
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    Ok(res)
}

// ------------------------------------------------------------ fallbacks

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {method} {}: the routes are listed in /api/v1/openapi.json",
        uri.path()
    ))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut res = (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"error": format!(
            "{} does not take {method}: see /api/v1/openapi.json",
            uri.path()
        )})),
    )
        .into_response();
    if let Some((m, _)) = super::ROUTES
        .iter()
        .find(|(_, p)| route_matches(p, uri.path()))
        && let Ok(v) = HeaderValue::from_str(&m.to_ascii_uppercase())
    {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// Whether an axum route pattern (`/a/{x}/b`) matches a path.
fn route_matches(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_paths() {
        assert!(route_matches(
            "/api/v1/accounts/{name}/refresh",
            "/api/v1/accounts/home/refresh"
        ));
        assert!(!route_matches(
            "/api/v1/accounts/{name}/refresh",
            "/api/v1/accounts//refresh"
        ));
        assert!(route_matches("/healthz", "/healthz"));
        assert!(!route_matches("/healthz", "/readyz"));
    }

    #[test]
    fn unreadable_state_is_reported_not_fatal() {
        let (s, e) = account_state(Some("{\"consecutive_failures\": \"x\"}"));
        assert_eq!(s, AccountState::default());
        assert!(e.is_some());
        let line = account_status(
            "home",
            Some(r#"{"breaker": {"opened_at": 0, "detail": "rejected", "credentials": "fp-123"}}"#),
            None,
        );
        assert_eq!(line["breaker"]["detail"], "rejected");
        assert!(!line.to_string().contains("fp-123"));
    }
}
