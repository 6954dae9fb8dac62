//! What is published: the sensor catalogue (Home Assistant discovery
//! configs) and the retained JSON states built from the store (the module
//! docs say why each sensor has its classes). It reads the store and never
//! writes it, and never touches the network.

use super::config::{
    ECOWATT_NODE, MqttConfig, PAYLOAD_OFFLINE, PAYLOAD_ONLINE, TEMPO_NODE, masked, meter_node,
    topic_id,
};
use crate::store::{
    EcoWattNow, Granularity, MeterRecord, RunOutcome, Store, TempoOutlook, TotalRow,
};
use anyhow::{Context, Result};
use hellowatt_snapshot::{
    Date, EcoWattDay, Energy, TemperaturePeriod, TempoColour, TempoDay, TempoSource, paris_iso,
};
use serde_json::{Map, Value, json};

/// How far back a meter's Tempo and temperature history is looked at to
/// decide whether it gets those sensors.
const HISTORY_DAYS: i64 = 400;

/// One retained QoS 1 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
}

/// What a publish sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    pub meters: usize,
    /// Discovery configs (one per sensor, the Tempo device's included).
    pub sensors: usize,
    /// Whether the Tempo outlook's state was sent.
    pub tempo: bool,
    /// Whether the EcoWatt state was sent.
    pub ecowatt: bool,
    /// Every message, configs and states.
    pub messages: usize,
}

/// Every key of a meter's state JSON, in order. Keys that do not apply to
/// a meter (Tempo on gas) are present with `null`.
pub const STATE_KEYS: [&str; 45] = [
    "meter_id",
    "energy",
    "day",
    "month",
    "year",
    "energy_total",
    "cost_total",
    "energy_yesterday",
    "cost_yesterday",
    "energy_month",
    "cost_month",
    "energy_year",
    "cost_year",
    "periods_month_kwh",
    "periods_month_eur",
    "periods_year_kwh",
    "periods_year_eur",
    "subscription_total",
    "subscription_yesterday",
    "subscription_month",
    "subscription_year",
    "cost_with_subscription_total",
    "cost_with_subscription_yesterday",
    "cost_with_subscription_month",
    "cost_with_subscription_year",
    "production_total",
    "injection_total",
    "injection_earnings_total",
    "production_yesterday",
    "production_month",
    "production_year",
    "injection_yesterday",
    "injection_month",
    "injection_year",
    "tempo_yesterday",
    "tempo_today",
    "tempo_tomorrow",
    "temperature_yesterday",
    "peak_power_yesterday",
    "peak_power_yesterday_at",
    "peak_power_month",
    "subscribed_power",
    "last_day",
    "last_sync",
    "collection",
];

/// Every key of the Tempo outlook's state JSON, in order.
pub const TEMPO_STATE_KEYS: [&str; 14] = [
    "today",
    "tomorrow",
    "today_source",
    "tomorrow_source",
    "season_start",
    "season_end",
    "blue_used",
    "blue_remaining",
    "white_used",
    "white_remaining",
    "red_used",
    "red_remaining",
    "unknown_days",
    "disagreements",
];

/// Every key of the EcoWatt state JSON, in order.
pub const ECOWATT_STATE_KEYS: [&str; 6] = [
    "today",
    "tomorrow",
    "hour",
    "today_attributes",
    "tomorrow_attributes",
    "hour_attributes",
];

/// What a sensor is for Home Assistant.
#[derive(Clone, Copy)]
struct Sensor {
    key: &'static str,
    name: &'static str,
    device_class: Option<&'static str>,
    state_class: Option<&'static str>,
    unit: Option<&'static str>,
    precision: Option<u8>,
    icon: Option<&'static str>,
    diagnostic: bool,
    /// A state key holding an object: the sensor's attributes.
    attributes: Option<&'static str>,
    /// An `enum` sensor's states, in the order Home Assistant lists them.
    options: &'static [&'static str],
}

const fn energy(
    key: &'static str,
    name: &'static str,
    state_class: Option<&'static str>,
) -> Sensor {
    Sensor {
        key,
        name,
        device_class: Some("energy"),
        state_class,
        unit: Some("kWh"),
        precision: Some(2),
        icon: None,
        diagnostic: false,
        attributes: None,
        options: &[],
    }
}

const fn money(key: &'static str, name: &'static str, state_class: Option<&'static str>) -> Sensor {
    Sensor {
        key,
        name,
        device_class: Some("monetary"),
        state_class,
        unit: Some("EUR"),
        precision: Some(2),
        icon: None,
        diagnostic: false,
        attributes: None,
        options: &[],
    }
}

const fn with_icon(s: Sensor, icon: &'static str) -> Sensor {
    Sensor {
        icon: Some(icon),
        ..s
    }
}

const fn with_attributes(s: Sensor, key: &'static str) -> Sensor {
    Sensor {
        attributes: Some(key),
        ..s
    }
}

const fn tempo(key: &'static str, name: &'static str) -> Sensor {
    Sensor {
        key,
        name,
        device_class: Some("enum"),
        state_class: None,
        unit: None,
        precision: None,
        icon: Some("mdi:calendar-star"),
        diagnostic: false,
        attributes: None,
        options: &TEMPO_OPTIONS,
    }
}

const TOTAL_INCREASING: Option<&str> = Some("total_increasing");
const TOTAL: Option<&str> = Some("total");

/// Every meter's consumption and cost: the consumption's cost (`cost_*`,
/// as helloWatt's `eurosDetailed` without `subscription`), the
/// subscription, and both (what the Home Assistant clients call the cost).
const CONSUMPTION: [Sensor; 16] = [
    energy("energy_total", "Consommation (cumul)", TOTAL_INCREASING),
    money("cost_total", "Coût de la consommation (cumul)", TOTAL),
    energy("energy_yesterday", "Consommation d'hier", None),
    money("cost_yesterday", "Coût de la consommation d'hier", None),
    with_attributes(
        energy("energy_month", "Consommation du mois", None),
        "periods_month_kwh",
    ),
    with_attributes(
        money("cost_month", "Coût de la consommation du mois", None),
        "periods_month_eur",
    ),
    with_attributes(
        energy("energy_year", "Consommation de l'année", None),
        "periods_year_kwh",
    ),
    with_attributes(
        money("cost_year", "Coût de la consommation de l'année", None),
        "periods_year_eur",
    ),
    money("subscription_total", "Abonnement (cumul)", TOTAL),
    money("subscription_yesterday", "Abonnement d'hier", None),
    money("subscription_month", "Abonnement du mois", None),
    money("subscription_year", "Abonnement de l'année", None),
    money(
        "cost_with_subscription_total",
        "Coût abonnement compris (cumul)",
        TOTAL,
    ),
    money(
        "cost_with_subscription_yesterday",
        "Coût abonnement compris d'hier",
        None,
    ),
    money(
        "cost_with_subscription_month",
        "Coût abonnement compris du mois",
        None,
    ),
    money(
        "cost_with_subscription_year",
        "Coût abonnement compris de l'année",
        None,
    ),
];

/// Electricity meters with solar values.
const SOLAR: [Sensor; 9] = [
    with_icon(
        energy(
            "production_total",
            "Production solaire (cumul)",
            TOTAL_INCREASING,
        ),
        "mdi:solar-power",
    ),
    with_icon(
        energy(
            "injection_total",
            "Injection réseau (cumul)",
            TOTAL_INCREASING,
        ),
        "mdi:transmission-tower-export",
    ),
    with_icon(
        money("injection_earnings_total", "Revente (cumul)", TOTAL),
        "mdi:cash-plus",
    ),
    with_icon(
        energy("production_yesterday", "Production solaire d'hier", None),
        "mdi:solar-power",
    ),
    with_icon(
        energy("production_month", "Production solaire du mois", None),
        "mdi:solar-power",
    ),
    with_icon(
        energy("production_year", "Production solaire de l'année", None),
        "mdi:solar-power",
    ),
    with_icon(
        energy("injection_yesterday", "Injection réseau d'hier", None),
        "mdi:transmission-tower-export",
    ),
    with_icon(
        energy("injection_month", "Injection réseau du mois", None),
        "mdi:transmission-tower-export",
    ),
    with_icon(
        energy("injection_year", "Injection réseau de l'année", None),
        "mdi:transmission-tower-export",
    ),
];

/// Electricity meters with Tempo days.
const TEMPO: [Sensor; 3] = [
    tempo("tempo_yesterday", "Tempo hier"),
    tempo("tempo_today", "Tempo aujourd'hui"),
    tempo("tempo_tomorrow", "Tempo demain"),
];

const TEMPO_OPTIONS: [&str; 3] = ["blue", "white", "red"];

const fn days(key: &'static str, name: &'static str, icon: &'static str) -> Sensor {
    Sensor {
        key,
        name,
        device_class: None,
        state_class: Some("measurement"),
        unit: Some("jours"),
        precision: Some(0),
        icon: Some(icon),
        diagnostic: false,
        attributes: None,
        options: &[],
    }
}

/// The Tempo device's sensors.
const TEMPO_OUTLOOK: [Sensor; 9] = [
    tempo("today", "Tempo aujourd'hui"),
    tempo("tomorrow", "Tempo demain"),
    days("blue_used", "Jours bleus utilisés", "mdi:calendar-check"),
    days(
        "blue_remaining",
        "Jours bleus restants",
        "mdi:calendar-clock",
    ),
    days("white_used", "Jours blancs utilisés", "mdi:calendar-check"),
    days(
        "white_remaining",
        "Jours blancs restants",
        "mdi:calendar-clock",
    ),
    days("red_used", "Jours rouges utilisés", "mdi:calendar-check"),
    days(
        "red_remaining",
        "Jours rouges restants",
        "mdi:calendar-clock",
    ),
    Sensor {
        key: "disagreements",
        name: "Désaccords Tempo",
        device_class: None,
        state_class: Some("measurement"),
        unit: None,
        precision: Some(0),
        icon: Some("mdi:alert-circle-outline"),
        diagnostic: true,
        attributes: None,
        options: &[],
    },
];

/// The words of the EcoWatt sensors, by level: 0 (the hours' green with
/// low-carbon production) to 3. Stable keys, like Tempo's colours.
const ECOWATT_LEVELS: [&str; 4] = ["green_low_carbon", "green", "orange", "red"];

const fn ecowatt(
    key: &'static str,
    name: &'static str,
    options: &'static [&'static str],
) -> Sensor {
    Sensor {
        key,
        name,
        device_class: Some("enum"),
        state_class: None,
        unit: None,
        precision: None,
        icon: Some("mdi:transmission-tower"),
        diagnostic: false,
        attributes: None,
        options,
    }
}

/// The EcoWatt device's sensors: a day's level is 1 to 3, an hour's 0 to 3.
const ECOWATT: [Sensor; 3] = [
    with_attributes(
        ecowatt("today", "EcoWatt aujourd'hui", ECOWATT_DAY_OPTIONS),
        "today_attributes",
    ),
    with_attributes(
        ecowatt("tomorrow", "EcoWatt demain", ECOWATT_DAY_OPTIONS),
        "tomorrow_attributes",
    ),
    with_attributes(
        ecowatt("hour", "EcoWatt heure en cours", &ECOWATT_LEVELS),
        "hour_attributes",
    ),
];

/// A day's levels: 1 to 3 (low-carbon production is said per hour).
const ECOWATT_DAY_OPTIONS: &[&str] = &["green", "orange", "red"];

/// Meters whose home has temperatures.
const TEMPERATURE: Sensor = Sensor {
    key: "temperature_yesterday",
    name: "Température extérieure d'hier",
    device_class: Some("temperature"),
    state_class: Some("measurement"),
    unit: Some("°C"),
    precision: Some(1),
    icon: None,
    diagnostic: false,
    attributes: None,
    options: &[],
};

const fn power(key: &'static str, name: &'static str) -> Sensor {
    Sensor {
        key,
        name,
        device_class: Some("power"),
        state_class: Some("measurement"),
        unit: Some("kW"),
        precision: Some(2),
        icon: Some("mdi:flash-alert"),
        diagnostic: false,
        attributes: None,
        options: &[],
    }
}

/// Electricity meters with a load curve: the highest mean power of a
/// half-hour (kWh x 2), yesterday's with its time, and the month's.
const PEAKS: [Sensor; 3] = [
    power("peak_power_yesterday", "Puissance maximale d'hier"),
    Sensor {
        key: "peak_power_yesterday_at",
        name: "Heure de la puissance maximale d'hier",
        device_class: Some("timestamp"),
        state_class: None,
        unit: None,
        precision: None,
        icon: Some("mdi:clock-alert-outline"),
        diagnostic: false,
        attributes: None,
        options: &[],
    },
    power("peak_power_month", "Puissance maximale du mois"),
];

/// Electricity meters whose supply contract gives its subscribed power.
const SUBSCRIBED: Sensor = Sensor {
    key: "subscribed_power",
    name: "Puissance souscrite",
    device_class: Some("apparent_power"),
    state_class: None,
    unit: Some("kVA"),
    precision: Some(0),
    icon: Some("mdi:gauge"),
    diagnostic: false,
    attributes: None,
    options: &[],
};

/// The words of the `collection` sensor: how the account's collection
/// stands (see [`collection`]).
const COLLECTION_OPTIONS: [&str; 5] = [
    "ok",
    "retrying",
    "paused",
    "credentials-rejected",
    "action-needed",
];

/// Every meter.
const DIAGNOSTICS: [Sensor; 3] = [
    Sensor {
        key: "last_day",
        name: "Dernier jour relevé",
        device_class: Some("date"),
        state_class: None,
        unit: None,
        precision: None,
        icon: None,
        diagnostic: true,
        attributes: None,
        options: &[],
    },
    Sensor {
        key: "last_sync",
        name: "Dernière synchronisation",
        device_class: Some("timestamp"),
        state_class: None,
        unit: None,
        precision: None,
        icon: Some("mdi:cloud-sync"),
        diagnostic: true,
        attributes: None,
        options: &[],
    },
    Sensor {
        key: "collection",
        name: "Collecte",
        device_class: Some("enum"),
        state_class: None,
        unit: None,
        precision: None,
        icon: Some("mdi:cloud-alert"),
        diagnostic: true,
        attributes: None,
        options: &COLLECTION_OPTIONS,
    },
];

/// How the account's collection stands, from the scheduler's saved state:
/// the site changed and a new guest is awaited (`paused`), the password was
/// refused, the site wants a person to act, runs are failing and retried,
/// or all is well. What Home Assistant shows on the day the site changes.
fn collection(store: &Store, account: &str) -> Result<&'static str> {
    let Some(saved) = store.scheduler_state(account)? else {
        return Ok("ok");
    };
    // A state this version cannot read says nothing alarming by itself.
    let Ok(state) = serde_json::from_str::<crate::scheduler::AccountState>(&saved) else {
        return Ok("ok");
    };
    Ok(match (&state.breaker, &state.paused) {
        (Some(b), _) if b.action_needed => "action-needed",
        (Some(_), _) => "credentials-rejected",
        (None, Some(_)) => "paused",
        _ if state.consecutive_failures > 0 => "retrying",
        _ => "ok",
    })
}

fn round(v: Option<f64>, decimals: i32) -> Value {
    match v {
        Some(x) if x.is_finite() => json!(hellowatt_snapshot::round_to(x, decimals)),
        _ => Value::Null,
    }
}

fn kwh(v: Option<f64>) -> Value {
    round(v, 3)
}

fn eur(v: Option<f64>) -> Value {
    round(v, 4)
}

/// Sums of buckets, `None` when no bucket has the value.
fn sum(rows: &[TotalRow], field: impl Fn(&TotalRow) -> Option<f64>) -> Option<f64> {
    rows.iter()
        .filter_map(field)
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// The colour of `day` for `meter`: the Tempo service's, else the meter's
/// tariff keys'.
fn colour_of(tempo: &[TempoDay], meter: &str, day: Date) -> Option<TempoColour> {
    let service = tempo
        .iter()
        .find(|t| t.date == day && t.source == TempoSource::Service)
        .and_then(|t| t.colour);
    service.or_else(|| {
        tempo
            .iter()
            .find(|t| {
                t.date == day
                    && t.source == TempoSource::TariffKeys
                    && t.meter_id.as_deref() == Some(meter)
            })
            .and_then(|t| t.colour)
    })
}

fn has_tempo(tempo: &[TempoDay], meter: &str) -> bool {
    tempo.iter().any(|t| {
        t.source == TempoSource::Service
            || (t.source == TempoSource::TariffKeys && t.meter_id.as_deref() == Some(meter))
    })
}

/// When the account's last successful run finished (ISO 8601, Paris).
fn last_sync(store: &Store, account: &str) -> Result<Option<String>> {
    let runs = store.runs(Some(account), 1000)?;
    Ok(runs
        .iter()
        .find(|r| r.outcome == Some(RunOutcome::Success))
        .and_then(|r| r.finished_at)
        .map(paris_iso))
}

/// The messages of one publish: for every meter, its discovery configs
/// then its state; then the Tempo and EcoWatt devices'. Reads the store
/// only; EcoWatt's current hour is the clock's.
pub fn messages(cfg: &MqttConfig, store: &Store, today: Date) -> Result<Vec<Message>> {
    messages_at(cfg, store, today, crate::clock::now_utc())
}

/// [`messages`] with EcoWatt's current hour the one holding `now` (UTC
/// seconds).
pub fn messages_at(cfg: &MqttConfig, store: &Store, today: Date, now: i64) -> Result<Vec<Message>> {
    let yesterday = today.add_days(-1);
    let tomorrow = today.succ();
    let month_start = today.first_of_month();
    let year_start = Date {
        year: today.year,
        month: 1,
        day: 1,
    };
    let tempo_days = store.tempo_days(today.add_days(-HISTORY_DAYS), tomorrow)?;
    let outlook = store
        .tempo_outlook(today)
        .context("reading the Tempo outlook for MQTT")?;
    let mut out = Vec::new();
    let mut accounts: Vec<(String, Option<String>, &'static str)> = Vec::new();
    for meter in store.meters(None)? {
        let (sync, standing) = match accounts.iter().find(|(a, ..)| *a == meter.account) {
            Some((_, s, c)) => (s.clone(), *c),
            None => {
                let s = last_sync(store, &meter.account)?;
                let c = collection(store, &meter.account)?;
                accounts.push((meter.account.clone(), s.clone(), c));
                (s, c)
            }
        };
        let (state, sensors) = meter_state(
            store,
            &meter,
            today,
            yesterday,
            month_start,
            year_start,
            &tempo_days,
            &outlook,
            sync,
            standing,
        )
        .with_context(|| format!("reading meter {} for MQTT", masked(&meter.meter_id)))?;
        device_messages(
            &mut out,
            cfg,
            (&meter_node(&meter.meter_id), &device(&meter)),
            cfg.state_topic(&meter.meter_id),
            &sensors,
            state,
        );
    }
    // A household without any Tempo day (a gas-only or Base contract)
    // gets no Tempo device.
    if !tempo_days.is_empty() {
        let device = device_of(
            TEMPO_NODE,
            "helloWatt Tempo",
            "helloWatt",
            "Calendrier Tempo (saison du 1er septembre au 31 août)",
        );
        device_messages(
            &mut out,
            cfg,
            (TEMPO_NODE, &device),
            cfg.tempo_state_topic(),
            &TEMPO_OUTLOOK,
            tempo_state(&outlook),
        );
    }
    let signal = store
        .ecowatt_now(today, now)
        .context("reading EcoWatt for MQTT")?;
    // Without RTE credentials nothing is stored: no three dead entities.
    if signal.collected {
        // RTE's signal, whichever service brings it.
        let device = device_of(
            ECOWATT_NODE,
            "helloWatt EcoWatt",
            "RTE",
            "Signal EcoWatt (tension du réseau électrique)",
        );
        device_messages(
            &mut out,
            cfg,
            (ECOWATT_NODE, &device),
            cfg.ecowatt_state_topic(),
            &ECOWATT,
            ecowatt_state(&signal, today),
        );
    }
    Ok(out)
}

/// The messages of a device (a meter, Tempo, EcoWatt): each sensor's
/// discovery config, then the state.
fn device_messages(
    out: &mut Vec<Message>,
    cfg: &MqttConfig,
    (node, device): (&str, &Value),
    state_topic: String,
    sensors: &[Sensor],
    state: Map<String, Value>,
) {
    for s in sensors {
        out.push(Message {
            topic: cfg.node_config_topic(node, s.key),
            payload: discovery(cfg, node, &state_topic, s, device).to_string(),
        });
    }
    out.push(Message {
        topic: state_topic,
        payload: Value::Object(state).to_string(),
    });
}

/// A Home Assistant device of the household.
fn device_of(node: &str, name: &str, manufacturer: &str, model: &str) -> Value {
    json!({
        "identifiers": [node],
        "name": name,
        "manufacturer": manufacturer,
        "model": model,
        "sw_version": env!("CARGO_PKG_VERSION"),
    })
}

/// A level's word, `null` (Home Assistant: unknown) outside 0..=3.
fn ecowatt_level(level: Option<u8>) -> Value {
    level
        .and_then(|l| ECOWATT_LEVELS.get(usize::from(l)))
        .map_or(Value::Null, |w| json!(w))
}

/// A day's attributes: its date, its hours' levels by position in the day
/// (23, 24 or 25 of them; `null` for an hour not stored) and when RTE
/// generated it.
fn ecowatt_day_attributes(date: Date, day: Option<&EcoWattDay>) -> Value {
    let midnight = date.paris_midnight_utc();
    let mut hours = vec![Value::Null; usize::try_from(date.paris_day_hours()).unwrap_or(24)];
    for h in day.map_or(&[][..], |d| &d.hours) {
        let at = usize::try_from((h.start - midnight).div_euclid(3600)).ok();
        if let Some(slot) = at.and_then(|i| hours.get_mut(i)) {
            *slot = ecowatt_level(Some(h.level));
        }
    }
    json!({
        "date": date.to_string(),
        "hours": hours,
        "generated_at": day.and_then(|d| d.generated_at).map(paris_iso),
    })
}

/// The EcoWatt state: every key of [`ECOWATT_STATE_KEYS`].
fn ecowatt_state(e: &EcoWattNow, today: Date) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert(
        "today".into(),
        ecowatt_level(e.today.as_ref().and_then(|d| d.level)),
    );
    s.insert(
        "tomorrow".into(),
        ecowatt_level(e.tomorrow.as_ref().and_then(|d| d.level)),
    );
    s.insert("hour".into(), ecowatt_level(e.hour.map(|h| h.level)));
    s.insert(
        "today_attributes".into(),
        ecowatt_day_attributes(today, e.today.as_ref()),
    );
    s.insert(
        "tomorrow_attributes".into(),
        ecowatt_day_attributes(today.succ(), e.tomorrow.as_ref()),
    );
    s.insert(
        "hour_attributes".into(),
        json!({
            "start": e.hour.map(|h| paris_iso(h.start)),
            "end": e.hour.map(|h| paris_iso(h.start + 3600)),
        }),
    );
    debug_assert!(ECOWATT_STATE_KEYS.iter().all(|k| s.contains_key(*k)));
    debug_assert_eq!(s.len(), ECOWATT_STATE_KEYS.len());
    s
}

/// The Tempo outlook's state: every key of [`TEMPO_STATE_KEYS`].
fn tempo_state(o: &TempoOutlook) -> Map<String, Value> {
    let colour = |c: Option<TempoColour>| c.map_or(Value::Null, |c| json!(c.as_str()));
    let source = |d: &crate::store::OutlookDay| d.resolved.map_or(Value::Null, |r| json!(r.source));
    let mut s = Map::new();
    s.insert("today".into(), colour(o.today.colour()));
    s.insert("tomorrow".into(), colour(o.tomorrow.colour()));
    s.insert("today_source".into(), source(&o.today));
    s.insert("tomorrow_source".into(), source(&o.tomorrow));
    s.insert("season_start".into(), json!(o.season.start.to_string()));
    s.insert("season_end".into(), json!(o.season.end.to_string()));
    for c in crate::store::TEMPO_COLOURS {
        let n = o.season.colours.get(c);
        s.insert(format!("{}_used", c.as_str()), json!(n.used));
        s.insert(format!("{}_remaining", c.as_str()), json!(n.remaining));
    }
    s.insert("unknown_days".into(), json!(o.season.unknown_days));
    s.insert("disagreements".into(), json!(o.disagreements.len()));
    debug_assert!(TEMPO_STATE_KEYS.iter().all(|k| s.contains_key(*k)));
    debug_assert_eq!(s.len(), TEMPO_STATE_KEYS.len());
    s
}

#[allow(clippy::too_many_arguments)]
fn meter_state(
    store: &Store,
    meter: &MeterRecord,
    today: Date,
    yesterday: Date,
    month_start: Date,
    year_start: Date,
    tempo_days: &[TempoDay],
    outlook: &TempoOutlook,
    last_sync: Option<String>,
    collection: &'static str,
) -> Result<(Map<String, Value>, Vec<Sensor>)> {
    let id = meter.meter_id.as_str();
    let all = match meter.first_day {
        Some(first) => {
            let end = meter.last_day.map_or(today, |l| l.max(today));
            store.totals(id, Granularity::Year, first, end)?
        }
        None => Vec::new(),
    };
    let day = store.totals(id, Granularity::Day, yesterday, yesterday)?;
    let month = store.totals(id, Granularity::Month, month_start, today)?;
    let year = store.totals(id, Granularity::Year, year_start, today)?;

    let electricity = meter.energy == Energy::Electricity;
    let production_total = sum(&all, |r| r.amounts.solar_production_kwh);
    let injection_total = sum(&all, |r| r.amounts.injection_kwh);
    let injection_earnings_total = sum(&all, |r| r.amounts.injection_eur);
    let solar = electricity
        && (production_total.is_some()
            || injection_total.is_some()
            || injection_earnings_total.is_some());
    let tempo = electricity && has_tempo(tempo_days, id);
    let colour = |d: Date| {
        if electricity {
            colour_of(tempo_days, id, d).map_or(Value::Null, |c| json!(c.as_str()))
        } else {
            Value::Null
        }
    };
    let temperatures = store.temperatures(&meter.home_id, today.add_days(-HISTORY_DAYS), today)?;
    // Yesterday's own mean, never the month's dated on the 1st.
    let temperature = temperatures
        .iter()
        .find(|t| t.date == yesterday && t.period == TemperaturePeriod::Day)
        .map(|t| t.celsius);

    let mut s = Map::new();
    s.insert("meter_id".into(), json!(id));
    s.insert("energy".into(), json!(meter.energy.as_str()));
    s.insert("day".into(), json!(yesterday.to_string()));
    s.insert("month".into(), json!(&month_start.to_string()[..7]));
    s.insert("year".into(), json!(year_start.year.to_string()));
    s.insert("energy_total".into(), kwh(sum(&all, |r| r.amounts.kwh)));
    s.insert("cost_total".into(), eur(sum(&all, |r| r.amounts.eur)));
    for (suffix, rows) in [("yesterday", &day), ("month", &month), ("year", &year)] {
        s.insert(
            format!("energy_{suffix}"),
            kwh(sum(rows, |r| r.amounts.kwh)),
        );
        s.insert(format!("cost_{suffix}"), eur(sum(rows, |r| r.amounts.eur)));
    }
    // The month's and year's tariff periods (Tempo colours, HP/HC), as the
    // attributes of the month's and year's sensors.
    for (suffix, granularity, start) in [
        ("month", Granularity::Month, month_start),
        ("year", Granularity::Year, year_start),
    ] {
        let (mut by_kwh, mut by_eur) = (Map::new(), Map::new());
        for p in store
            .period_totals(id, granularity, start, today)?
            .into_values()
            .flatten()
        {
            by_kwh.insert(p.period.clone(), kwh(p.kwh));
            by_eur.insert(p.period, eur(p.eur));
        }
        s.insert(format!("periods_{suffix}_kwh"), Value::Object(by_kwh));
        s.insert(format!("periods_{suffix}_eur"), Value::Object(by_eur));
    }
    for (suffix, rows) in [
        ("total", &all),
        ("yesterday", &day),
        ("month", &month),
        ("year", &year),
    ] {
        s.insert(
            format!("subscription_{suffix}"),
            eur(sum(rows, |r| r.amounts.subscription_eur)),
        );
        s.insert(
            format!("cost_with_subscription_{suffix}"),
            eur(sum(rows, |r| r.total_eur)),
        );
    }
    s.insert("production_total".into(), kwh(production_total));
    s.insert("injection_total".into(), kwh(injection_total));
    s.insert(
        "injection_earnings_total".into(),
        eur(injection_earnings_total),
    );
    for (suffix, rows) in [("yesterday", &day), ("month", &month), ("year", &year)] {
        s.insert(
            format!("production_{suffix}"),
            kwh(sum(rows, |r| r.amounts.solar_production_kwh)),
        );
        s.insert(
            format!("injection_{suffix}"),
            kwh(sum(rows, |r| r.amounts.injection_kwh)),
        );
    }
    // Today and tomorrow are the household's: the outlook's, on every
    // electricity meter.
    let outlook_colour = |c: Option<TempoColour>| match c {
        Some(c) if electricity => json!(c.as_str()),
        _ => Value::Null,
    };
    s.insert("tempo_yesterday".into(), colour(yesterday));
    s.insert("tempo_today".into(), outlook_colour(outlook.today.colour()));
    s.insert(
        "tempo_tomorrow".into(),
        outlook_colour(outlook.tomorrow.colour()),
    );
    s.insert("temperature_yesterday".into(), round(temperature, 2));
    // Peaks from the stored curve (electricity only: gas has no curve).
    let (peak_day, peak_month, curve) = if electricity {
        (
            store
                .power_peaks(id, Granularity::Day, yesterday, yesterday)?
                .pop(),
            store
                .power_peaks(id, Granularity::Month, month_start, today)?
                .pop(),
            store.has_curve_since(id, today.add_days(-HISTORY_DAYS))?,
        )
    } else {
        (None, None, false)
    };
    s.insert(
        "peak_power_yesterday".into(),
        round(peak_day.as_ref().map(|p| p.kw), 3),
    );
    s.insert(
        "peak_power_yesterday_at".into(),
        peak_day.map_or(Value::Null, |p| json!(paris_iso(p.start_utc))),
    );
    s.insert(
        "peak_power_month".into(),
        round(peak_month.map(|p| p.kw), 3),
    );
    let subscribed = if electricity {
        store.subscribed_kva(&meter.home_id)?
    } else {
        None
    };
    s.insert("subscribed_power".into(), round(subscribed, 1));
    s.insert(
        "last_day".into(),
        meter.last_day.map_or(Value::Null, |d| json!(d.to_string())),
    );
    s.insert(
        "last_sync".into(),
        last_sync.map_or(Value::Null, Value::from),
    );
    s.insert("collection".into(), json!(collection));
    debug_assert!(STATE_KEYS.iter().all(|k| s.contains_key(*k)));
    debug_assert_eq!(s.len(), STATE_KEYS.len());

    let mut sensors: Vec<Sensor> = CONSUMPTION.to_vec();
    if meter.energy == Energy::Gas {
        for s in &mut sensors {
            if s.device_class == Some("energy") {
                s.icon = Some("mdi:fire");
            }
        }
    }
    if solar {
        sensors.extend(SOLAR);
    }
    if tempo {
        sensors.extend(TEMPO);
    }
    if !temperatures.is_empty() {
        sensors.push(TEMPERATURE);
    }
    if curve {
        sensors.extend(PEAKS);
    }
    if subscribed.is_some() {
        sensors.push(SUBSCRIBED);
    }
    sensors.extend(DIAGNOSTICS);
    Ok((s, sensors))
}

/// The Home Assistant device of a meter.
fn device(meter: &MeterRecord) -> Value {
    let (kind, model) = match meter.energy {
        Energy::Electricity => ("électricité", "Point de livraison électricité (PDL)"),
        Energy::Gas => ("gaz", "Point de comptage gaz (PCE)"),
    };
    json!({
        "identifiers": [format!("hellowatt_{}", topic_id(&meter.meter_id))],
        "name": format!("helloWatt {kind} {}", masked(&meter.meter_id)),
        "manufacturer": "helloWatt",
        "model": model,
        "sw_version": env!("CARGO_PKG_VERSION"),
    })
}

/// One sensor's discovery config.
fn discovery(cfg: &MqttConfig, node: &str, state_topic: &str, s: &Sensor, device: &Value) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(s.name));
    c.insert("unique_id".into(), json!(format!("{node}_{}", s.key)));
    c.insert("state_topic".into(), json!(state_topic));
    c.insert(
        "value_template".into(),
        json!(format!("{{{{ value_json.{} }}}}", s.key)),
    );
    c.insert("availability_topic".into(), json!(cfg.status_topic()));
    c.insert("payload_available".into(), json!(PAYLOAD_ONLINE));
    c.insert("payload_not_available".into(), json!(PAYLOAD_OFFLINE));
    c.insert("qos".into(), json!(1));
    if let Some(v) = s.device_class {
        c.insert("device_class".into(), json!(v));
    }
    if let Some(v) = s.state_class {
        c.insert("state_class".into(), json!(v));
    }
    if let Some(v) = s.unit {
        c.insert("unit_of_measurement".into(), json!(v));
    }
    if let Some(v) = s.precision {
        c.insert("suggested_display_precision".into(), json!(v));
    }
    if !s.options.is_empty() {
        c.insert("options".into(), json!(s.options));
    }
    if let Some(v) = s.icon {
        c.insert("icon".into(), json!(v));
    }
    if s.diagnostic {
        c.insert("entity_category".into(), json!("diagnostic"));
    }
    if let Some(key) = s.attributes {
        c.insert("json_attributes_topic".into(), json!(state_topic));
        c.insert(
            "json_attributes_template".into(),
            json!(format!("{{{{ value_json.{key} | tojson }}}}")),
        );
    }
    c.insert("device".into(), device.clone());
    c.insert(
        "origin".into(),
        json!({"name": "hellowatt", "sw_version": env!("CARGO_PKG_VERSION")}),
    );
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{ecowatt_days, store_with_ecowatt};
    use std::collections::BTreeMap;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn cfg() -> MqttConfig {
        MqttConfig::from_url("mqtt://127.0.0.1:1883").unwrap()
    }

    fn by_topic(out: &[Message]) -> BTreeMap<String, Value> {
        out.iter()
            .map(|m| (m.topic.clone(), serde_json::from_str(&m.payload).unwrap()))
            .collect()
    }

    const TODAY: &str = "2026-11-28";

    /// Today orange with a red hour at 3 and 23:00 missing, tomorrow
    /// published without a level.
    fn seeded() -> Store {
        store_with_ecowatt(ecowatt_days(d(TODAY)))
    }

    #[test]
    fn ecowatt_state_is_the_stores() {
        let store = seeded();
        let cfg = cfg();
        let today = d(TODAY);
        let now = today.paris_time_utc(3, 30);
        let out = messages_at(&cfg, &store, today, now).unwrap();
        let sent = by_topic(&out);
        let state = &sent["hellowatt/ecowatt/signal"];
        for key in ECOWATT_STATE_KEYS {
            assert!(state.get(key).is_some(), "no {key}");
        }
        // Each value against the store's rows, read independently.
        let days = store.ecowatt(today, today.succ()).unwrap();
        let word = |l: u8| ["green_low_carbon", "green", "orange", "red"][usize::from(l)];
        assert_eq!(days[0].level, Some(2));
        assert_eq!(state["today"], word(days[0].level.unwrap()));
        assert_eq!(state["tomorrow"], Value::Null, "tomorrow has no level");
        let at_3 = days[0]
            .hours
            .iter()
            .find(|h| (h.start..h.start + 3600).contains(&now))
            .unwrap();
        assert_eq!(at_3.level, 3);
        assert_eq!(state["hour"], word(at_3.level));
        assert_eq!(state["hour_attributes"]["start"], paris_iso(at_3.start));
        let hours = state["today_attributes"]["hours"].as_array().unwrap();
        assert_eq!(hours.len(), 24);
        for h in &days[0].hours {
            let i = usize::try_from((h.start - today.paris_midnight_utc()) / 3600).unwrap();
            assert_eq!(hours[i], word(h.level), "hour {i}");
        }
        assert_eq!(hours[23], Value::Null, "an hour not stored is unknown");
        assert_eq!(state["today_attributes"]["date"], TODAY);
        assert_eq!(
            state["today_attributes"]["generated_at"],
            paris_iso(days[0].generated_at.unwrap())
        );
        let tomorrow = &state["tomorrow_attributes"];
        assert_eq!(tomorrow["date"], "2026-11-29");
        assert!(
            tomorrow["hours"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_null)
        );
        assert_eq!(tomorrow["generated_at"], Value::Null);

        // An hour the store lacks: unknown, not green.
        let late = messages_at(&cfg, &store, today, today.paris_time_utc(23, 10)).unwrap();
        let late = by_topic(&late);
        assert_eq!(late["hellowatt/ecowatt/signal"]["hour"], Value::Null);
        assert_eq!(
            late["hellowatt/ecowatt/signal"]["hour_attributes"]["start"],
            Value::Null
        );

        // Three enum sensors of the device, each with its attributes.
        for (key, options) in [
            ("today", &["green", "orange", "red"][..]),
            ("tomorrow", &["green", "orange", "red"][..]),
            ("hour", &["green_low_carbon", "green", "orange", "red"][..]),
        ] {
            let c = &sent[&format!("homeassistant/sensor/hellowatt-ecowatt/{key}/config")];
            assert_eq!(c["device_class"], "enum", "{key}");
            assert_eq!(c["options"], json!(options), "{key}");
            assert_eq!(c["state_topic"], "hellowatt/ecowatt/signal");
            assert_eq!(c["value_template"], format!("{{{{ value_json.{key} }}}}"));
            assert_eq!(
                c["json_attributes_template"],
                format!("{{{{ value_json.{key}_attributes | tojson }}}}")
            );
            assert_eq!(c["device"]["identifiers"], json!(["hellowatt-ecowatt"]));
            assert_eq!(c["unique_id"], format!("hellowatt-ecowatt_{key}"));
        }
        let configs = sent
            .keys()
            .filter(|t| t.contains("/hellowatt-ecowatt/"))
            .count();
        assert_eq!(configs, 3);
    }

    #[test]
    fn no_ecowatt_device_without_a_day_from_yesterday_on() {
        let cfg = cfg();
        let today = d(TODAY);
        let now = today.paris_time_utc(12, 0);
        let nothing = messages_at(&cfg, &Store::open_in_memory().unwrap(), today, now).unwrap();
        assert!(nothing.iter().all(|m| !m.topic.contains("ecowatt")));
        // Days before yesterday only: EcoWatt is no longer collected.
        let store = seeded();
        let later = d("2026-12-01");
        let old = messages_at(&cfg, &store, later, later.paris_time_utc(12, 0)).unwrap();
        assert!(old.iter().all(|m| !m.topic.contains("ecowatt")));
        // Yesterday's day alone keeps the device, everything unknown.
        let next = d("2026-11-30");
        let kept = by_topic(&messages_at(&cfg, &store, next, next.paris_time_utc(12, 0)).unwrap());
        let state = &kept["hellowatt/ecowatt/signal"];
        assert_eq!(state["today"], Value::Null);
        assert_eq!(state["tomorrow"], Value::Null);
        assert_eq!(state["hour"], Value::Null);
    }
}
