//! MQTT output: after each sync, one retained JSON state per meter and Home
//! Assistant discovery configs, so that every meter appears in Home
//! Assistant as a device whose sensors can feed the Energy dashboard.
//!
//! It owns the MQTT keys of the configuration ([`MqttKeys`] →
//! [`MqttConfig`]), the connection to the broker (rumqttc, its event loop in
//! a task, reconnecting with back-off), the topic layout and the payloads.
//! It reads the store and never writes it; it never receives a helloWatt
//! credential, and the broker password lives in a [`Secret`] that nothing
//! here logs or formats. It is off when `mqtt_url` is not set.
//!
//! # Topics (all retained, QoS 1)
//! - `<prefix>/status`: `online` once connected, `offline` as the last will
//!   (the broker publishes it when the connection dies) and on a clean
//!   [`MqttPublisher::shutdown`]. Every sensor uses it as its availability.
//! - `<prefix>/<meter>/state`: one JSON object per meter with every key of
//!   [`STATE_KEYS`], `null` for a value the store does not have.
//! - `<discovery_prefix>/sensor/hellowatt_<meter>/<key>/config`: one Home
//!   Assistant discovery config per sensor, reading `<key>` from the state.
//! - `<prefix>/tempo/outlook`: the household's Tempo outlook, one JSON
//!   object with every key of [`TEMPO_STATE_KEYS`], once the store has any
//!   Tempo day; its sensors' configs are
//!   `<discovery_prefix>/sensor/hellowatt-tempo/<key>/config` (a hyphen,
//!   where meters have an underscore, so that no meter id can collide).
//!
//! `<meter>` is the PDL or PCE (anything outside `[A-Za-z0-9_-]` becomes
//! `_`). The full meter id appears in topics, `unique_id`s and device
//! identifiers only; names show it masked (`0951…59`).
//!
//! # Home Assistant choices
//! - **The Energy dashboard needs cumulative counters.** helloWatt gives
//!   one value per past day, a day or two late. A "yesterday" sensor with
//!   `state_class: total` and a `last_reset` would lose a day whenever two
//!   days arrive in one sync. So each meter has `energy_total`, the sum of
//!   every stored daily kWh (`device_class: energy`, `state_class:
//!   total_increasing`, kWh): HA's statistics take the difference between
//!   two states, so days that arrive late or together are all counted. HA
//!   records the increase in the hour the sync published it, not on the day
//!   it was used: MQTT has no way to import past statistics. Stored history
//!   that grows backwards later (a larger backfill) shows up as one jump;
//!   HA's statistics editor can fix that hour.
//! - **Gas in kWh is `device_class: energy`.** HA's `gas` class accepts
//!   volumes only (m³, ft³, CCF, L); its Energy dashboard accepts an energy
//!   sensor in kWh as a gas source.
//! - **Costs are `device_class: monetary`, unit `EUR`.** HA allows only
//!   `state_class: total` for monetary, so `cost_total` (the sum of every
//!   stored daily consumption cost, subscription excluded) is `total`
//!   without `last_reset`: a counter that never resets, usable as the
//!   Energy dashboard's "entity tracking the total costs".
//! - **Solar**: `production_total` and `injection_total` (energy,
//!   `total_increasing`; injection is the dashboard's "return to grid") and
//!   `injection_earnings_total` (monetary, `total`), on electricity meters
//!   that have any stored solar value.
//! - **Yesterday, this month, this year** (kWh and EUR, production and
//!   injection) are informative: `device_class` energy or monetary and *no*
//!   `state_class`. HA rejects `measurement` for these classes, and a
//!   `total` would offer them to the Energy dashboard, where they would
//!   double count. Without a state class they keep no long-term statistics.
//! - **Tempo** yesterday, today and tomorrow are `device_class: enum` with
//!   `options: [blue, white, red]` (electricity meters with Tempo data).
//!   Yesterday's colour is the Tempo service's when known, else the one the
//!   meter's tariff keys show; today and tomorrow are the store's outlook
//!   (`Store::tempo_outlook`: the service's colour, else the tariff keys'
//!   when the meters agree), the same on every meter.
//! - **The Tempo device** ("helloWatt Tempo") holds what belongs to the
//!   household rather than a meter: today and tomorrow (enum), and the
//!   season's used and remaining days per colour (`state_class:
//!   measurement`, unit `jours`, no device class: HA's `duration` would
//!   convert them to hours) and the number of days where the Tempo service
//!   and a meter's tariff keys disagree. Tomorrow is `null` (HA: unknown)
//!   until it is announced.
//! - **Missing is not zero.** A missing value is JSON `null` and every
//!   template is plain `{{ value_json.<key> }}`: Jinja renders `None` as
//!   the text `None`, which HA's MQTT sensor turns into the `unknown`
//!   state (its `PAYLOAD_NONE`) before any number, date or option parsing.
//!   No `| float(0)`-style default anywhere. Every key is always present,
//!   so no template meets an undefined variable.
//! - `last_sync` (`device_class: timestamp`, ISO 8601 with the Paris
//!   offset) and `last_day` (`device_class: date`) are diagnostics.
//! - Entity names are French and short: HA shows them after the device
//!   name ("helloWatt électricité 0951…59 Consommation (cumul)").
//!
//! # Failures
//! A broker that is down or refuses us never fails a sync: the publisher
//! reconnects in the background (1 s doubling to 60 s, logging a warning
//! when the connection is lost and when it is back), re-sends `online` and
//! the last published messages on every reconnection (the broker may have
//! lost its retained messages), and [`MqttPublisher::publish_snapshot`]
//! returns an error after `ack_timeout` for the caller to log as a warning.

use crate::config::Secret;
use crate::store::{Granularity, MeterRecord, RunOutcome, Store, TempoOutlook, TotalRow};
use anyhow::{Context, Result, anyhow, bail};
use hellowatt_snapshot::{Date, Energy, TempoColour, TempoDay, TempoSource, paris_iso};
use rumqttc::tokio_rustls::rustls;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, Outgoing, QoS,
    TlsConfiguration, Transport,
};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The configuration keys this module reads (each also `HELLOWATT_<KEY>`).
pub const KEYS: [&str; 8] = [
    "mqtt_url",
    "mqtt_username",
    "mqtt_password",
    "mqtt_password_file",
    "mqtt_prefix",
    "mqtt_discovery_prefix",
    "mqtt_ca_file",
    "mqtt_client_id",
];

pub const DEFAULT_PREFIX: &str = "hellowatt";
pub const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";
pub const DEFAULT_CLIENT_ID: &str = "hellowatt";
/// How long [`MqttPublisher::publish_snapshot`] waits for the broker.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(10);

const PAYLOAD_ONLINE: &str = "online";
const PAYLOAD_OFFLINE: &str = "offline";
const KEEP_ALIVE: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Largest packet either way: a discovery config is about 1 KiB.
const MAX_PACKET: usize = 256 * 1024;
/// How far back a meter's Tempo and temperature history is looked at to
/// decide whether it gets those sensors.
const HISTORY_DAYS: i64 = 400;

/// The MQTT keys as the configuration gives them (raw, unchecked).
#[derive(Default, Clone)]
pub struct MqttKeys {
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    pub prefix: Option<String>,
    pub discovery_prefix: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_id: Option<String>,
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// A host name or IP address (an IPv6 address in brackets).
    pub host: String,
    pub port: u16,
    /// `mqtts://`: TLS, checked against `ca_file` or the system's roots.
    pub tls: bool,
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// The checked MQTT configuration. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub broker: Broker,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// State and status topics start with it.
    pub prefix: String,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// PEM file of the certificate authorities to trust (TLS only); the
    /// system's bundle when unset.
    pub ca_file: Option<PathBuf>,
    pub client_id: String,
    /// How long a publish waits for the broker's acknowledgements.
    pub ack_timeout: Duration,
}

impl MqttKeys {
    /// `None` when MQTT is off (no `mqtt_url`); an error naming the key
    /// otherwise.
    pub fn resolve(self) -> Result<Option<MqttConfig>> {
        let url = self.url.as_deref().map(str::trim).unwrap_or("");
        if url.is_empty() {
            let set: Vec<&str> = [
                ("mqtt_username", self.username.is_some()),
                ("mqtt_password", self.password.is_some()),
                ("mqtt_password_file", self.password_file.is_some()),
                ("mqtt_prefix", self.prefix.is_some()),
                ("mqtt_discovery_prefix", self.discovery_prefix.is_some()),
                ("mqtt_ca_file", self.ca_file.is_some()),
                ("mqtt_client_id", self.client_id.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
            if !set.is_empty() {
                bail!(
                    "{} set but mqtt_url is not: set mqtt_url (e.g. mqtt://localhost:1883) \
                     to turn MQTT on, or remove the MQTT keys",
                    set.join(", ")
                );
            }
            return Ok(None);
        }
        let broker = parse_url(url)?;
        let password = match (self.password, self.password_file) {
            (Some(_), Some(_)) => {
                bail!("set mqtt_password or mqtt_password_file, not both")
            }
            (Some(p), None) => Some(Secret::new(p)),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("mqtt_password_file: reading {}", path.display()))?;
                Some(Secret::new(text.trim_end_matches(['\r', '\n'])))
            }
            (None, None) => None,
        };
        let username = self.username.filter(|u| !u.is_empty());
        if password.is_some() && username.is_none() {
            bail!(
                "mqtt_password is set without mqtt_username: MQTT needs a user name with a password"
            );
        }
        if self.ca_file.is_some() && !broker.tls {
            bail!("mqtt_ca_file is set but mqtt_url is mqtt://: use mqtts:// for TLS");
        }
        if broker.tls && broker.host.starts_with('[') {
            bail!("mqtt_url: give the broker's host name, not an IPv6 address, for mqtts://");
        }
        let prefix = topic_prefix("mqtt_prefix", self.prefix, DEFAULT_PREFIX)?;
        let discovery_prefix = topic_prefix(
            "mqtt_discovery_prefix",
            self.discovery_prefix,
            DEFAULT_DISCOVERY_PREFIX,
        )?;
        let client_id = self
            .client_id
            .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
        if client_id.is_empty()
            || client_id.len() > 64
            || !client_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "mqtt_client_id: {client_id:?}: use 1 to 64 letters, digits, '-' or '_' \
                 (default {DEFAULT_CLIENT_ID:?})"
            );
        }
        Ok(Some(MqttConfig {
            broker,
            username,
            password,
            prefix,
            discovery_prefix,
            ca_file: self.ca_file,
            client_id,
            ack_timeout: DEFAULT_ACK_TIMEOUT,
        }))
    }
}

impl MqttConfig {
    /// A configuration with every default but the broker URL.
    pub fn from_url(url: &str) -> Result<MqttConfig> {
        MqttKeys {
            url: Some(url.to_owned()),
            ..MqttKeys::default()
        }
        .resolve()?
        .ok_or_else(|| anyhow!("mqtt_url is empty"))
    }

    /// `<prefix>/status`.
    pub fn status_topic(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// `<prefix>/<meter>/state`.
    pub fn state_topic(&self, meter_id: &str) -> String {
        format!("{}/{}/state", self.prefix, topic_id(meter_id))
    }

    /// `<discovery_prefix>/sensor/hellowatt_<meter>/<key>/config`.
    pub fn config_topic(&self, meter_id: &str, key: &str) -> String {
        self.node_config_topic(&meter_node(meter_id), key)
    }

    /// `<prefix>/tempo/outlook`.
    pub fn tempo_state_topic(&self) -> String {
        format!("{}/tempo/outlook", self.prefix)
    }

    /// `<discovery_prefix>/sensor/hellowatt-tempo/<key>/config`.
    pub fn tempo_config_topic(&self, key: &str) -> String {
        self.node_config_topic(TEMPO_NODE, key)
    }

    fn node_config_topic(&self, node: &str, key: &str) -> String {
        format!("{}/sensor/{node}/{key}/config", self.discovery_prefix)
    }
}

/// `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883).
fn parse_url(url: &str) -> Result<Broker> {
    let usage = "write it mqtt://host:1883 or mqtts://host:8883";
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("mqtt_url: {url:?} is not a URL: {usage}");
    };
    let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "mqtt" | "tcp" => (false, 1883),
        "mqtts" | "ssl" => (true, 8883),
        other => bail!("mqtt_url: unknown scheme {other:?}: {usage}"),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        // Never echo the URL: it holds a password.
        bail!(
            "mqtt_url must not hold credentials: put them in mqtt_username and \
             mqtt_password (or mqtt_password_file)"
        );
    }
    if authority.contains(['/', '?', '#']) {
        bail!("mqtt_url: {url:?} has a path or query: {usage}");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| anyhow!("mqtt_url: {url:?}: unclosed '[' in the host: {usage}"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            bail!("mqtt_url: {url:?}: {addr:?} is not an IPv6 address: {usage}");
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                anyhow!("mqtt_url: {url:?}: expected ':port' after the address: {usage}")
            })?),
        };
        (format!("[{addr}]"), port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c))
    {
        bail!("mqtt_url: {url:?} has no valid host: {usage}");
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                bail!("mqtt_url: {url:?}: the port {p:?} is not a number from 1 to 65535: {usage}")
            }
        },
    };
    Ok(Broker { host, port, tls })
}

fn topic_prefix(key: &str, value: Option<String>, default: &str) -> Result<String> {
    let Some(v) = value else {
        return Ok(default.to_owned());
    };
    let ok = !v.is_empty()
        && v.len() <= 128
        && !v.starts_with('/')
        && !v.ends_with('/')
        && !v.contains("//")
        && !v.contains(['+', '#'])
        && !v.starts_with('$')
        && !v.chars().any(|c| c.is_control() || c.is_whitespace());
    if !ok {
        bail!(
            "{key}: {v:?} is not a usable topic prefix: use letters, digits and '/' \
             between levels, without '+', '#', spaces or a leading or trailing '/' \
             (default {default:?})"
        );
    }
    Ok(v)
}

/// A meter's discovery node id: `hellowatt_<meter>`.
fn meter_node(meter_id: &str) -> String {
    format!("hellowatt_{}", topic_id(meter_id))
}

/// A meter id as a topic level and discovery node id: `[A-Za-z0-9_-]`.
pub fn topic_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The meter id as names show it: `09512345678959` → `0951…59`.
pub fn masked(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 6 {
        return id.to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

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
    /// Every message, configs and states.
    pub messages: usize,
}

/// Every key of a meter's state JSON, in order. Keys that do not apply to
/// a meter (Tempo on gas) are present with `null`.
pub const STATE_KEYS: [&str; 28] = [
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
    "last_day",
    "last_sync",
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
    }
}

const fn with_icon(s: Sensor, icon: &'static str) -> Sensor {
    Sensor {
        icon: Some(icon),
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
    }
}

const TOTAL_INCREASING: Option<&str> = Some("total_increasing");
const TOTAL: Option<&str> = Some("total");

/// Every meter's consumption and cost.
const CONSUMPTION: [Sensor; 8] = [
    energy("energy_total", "Consommation (cumul)", TOTAL_INCREASING),
    money("cost_total", "Coût (cumul)", TOTAL),
    energy("energy_yesterday", "Consommation d'hier", None),
    money("cost_yesterday", "Coût d'hier", None),
    energy("energy_month", "Consommation du mois", None),
    money("cost_month", "Coût du mois", None),
    energy("energy_year", "Consommation de l'année", None),
    money("cost_year", "Coût de l'année", None),
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

/// The Tempo device's node id (see the module docs for the hyphen).
const TEMPO_NODE: &str = "hellowatt-tempo";

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
    },
];

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
};

/// Every meter.
const DIAGNOSTICS: [Sensor; 2] = [
    Sensor {
        key: "last_day",
        name: "Dernier jour relevé",
        device_class: Some("date"),
        state_class: None,
        unit: None,
        precision: None,
        icon: None,
        diagnostic: true,
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
    },
];

fn round(v: Option<f64>, decimals: i32) -> Value {
    match v {
        Some(x) if x.is_finite() => {
            let f = 10f64.powi(decimals);
            json!((x * f).round() / f)
        }
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
/// then its state. Reads the store only.
pub fn messages(cfg: &MqttConfig, store: &Store, today: Date) -> Result<Vec<Message>> {
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
    let mut last_syncs: Vec<(String, Option<String>)> = Vec::new();
    for meter in store.meters(None)? {
        let sync = match last_syncs.iter().find(|(a, _)| *a == meter.account) {
            Some((_, s)) => s.clone(),
            None => {
                let s = last_sync(store, &meter.account)?;
                last_syncs.push((meter.account.clone(), s.clone()));
                s
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
        )
        .with_context(|| format!("reading meter {} for MQTT", masked(&meter.meter_id)))?;
        let device = device(&meter);
        let node = meter_node(&meter.meter_id);
        let state_topic = cfg.state_topic(&meter.meter_id);
        for s in &sensors {
            out.push(Message {
                topic: cfg.config_topic(&meter.meter_id, s.key),
                payload: discovery(cfg, &node, &state_topic, s, &device).to_string(),
            });
        }
        out.push(Message {
            topic: state_topic,
            payload: Value::Object(state).to_string(),
        });
    }
    // A household without any Tempo day (a gas-only or Base contract)
    // gets no Tempo device.
    if !tempo_days.is_empty() {
        let device = tempo_device();
        let state_topic = cfg.tempo_state_topic();
        for s in &TEMPO_OUTLOOK {
            out.push(Message {
                topic: cfg.tempo_config_topic(s.key),
                payload: discovery(cfg, TEMPO_NODE, &state_topic, s, &device).to_string(),
            });
        }
        out.push(Message {
            topic: state_topic,
            payload: Value::Object(tempo_state(&outlook)).to_string(),
        });
    }
    Ok(out)
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

/// The Home Assistant device of the household's Tempo calendar.
fn tempo_device() -> Value {
    json!({
        "identifiers": [TEMPO_NODE],
        "name": "helloWatt Tempo",
        "manufacturer": "helloWatt",
        "model": "Calendrier Tempo (saison du 1er septembre au 31 août)",
        "sw_version": env!("CARGO_PKG_VERSION"),
    })
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
    let production_total = sum(&all, |r| r.solar_production_kwh);
    let injection_total = sum(&all, |r| r.injection_kwh);
    let injection_earnings_total = sum(&all, |r| r.injection_eur);
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
    let temperature = temperatures
        .iter()
        .find(|t| t.date == yesterday)
        .map(|t| t.celsius);

    let mut s = Map::new();
    s.insert("meter_id".into(), json!(id));
    s.insert("energy".into(), json!(meter.energy.as_str()));
    s.insert("day".into(), json!(yesterday.to_string()));
    s.insert("month".into(), json!(&month_start.to_string()[..7]));
    s.insert("year".into(), json!(year_start.year.to_string()));
    s.insert("energy_total".into(), kwh(sum(&all, |r| r.kwh)));
    s.insert("cost_total".into(), eur(sum(&all, |r| r.eur)));
    for (suffix, rows) in [("yesterday", &day), ("month", &month), ("year", &year)] {
        s.insert(format!("energy_{suffix}"), kwh(sum(rows, |r| r.kwh)));
        s.insert(format!("cost_{suffix}"), eur(sum(rows, |r| r.eur)));
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
            kwh(sum(rows, |r| r.solar_production_kwh)),
        );
        s.insert(
            format!("injection_{suffix}"),
            kwh(sum(rows, |r| r.injection_kwh)),
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
    s.insert(
        "last_day".into(),
        meter.last_day.map_or(Value::Null, |d| json!(d.to_string())),
    );
    s.insert(
        "last_sync".into(),
        last_sync.map_or(Value::Null, Value::from),
    );
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
    if s.device_class == Some("enum") {
        c.insert("options".into(), json!(TEMPO_OPTIONS));
    }
    if let Some(v) = s.icon {
        c.insert("icon".into(), json!(v));
    }
    if s.diagnostic {
        c.insert("entity_category".into(), json!("diagnostic"));
    }
    c.insert("device".into(), device.clone());
    c.insert(
        "origin".into(),
        json!({"name": "hellowatt", "sw_version": env!("CARGO_PKG_VERSION")}),
    );
    Value::Object(c)
}

/// What the event-loop task and the publisher share.
struct Shared {
    /// PUBACKs received since the start.
    acked: watch::Sender<u64>,
    connected: watch::Sender<bool>,
    last_error: std::sync::Mutex<Option<String>>,
    /// The last publish, sent again after a reconnection.
    retained: std::sync::Mutex<Vec<Message>>,
    /// One publish at a time.
    publishing: tokio::sync::Mutex<()>,
}

/// A connection to the broker; see the module docs. Dropping it without
/// [`MqttPublisher::shutdown`] closes the connection uncleanly, so the
/// broker publishes the last will (`offline`).
pub struct MqttPublisher {
    client: AsyncClient,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
    cfg: Arc<MqttConfig>,
}

impl MqttPublisher {
    /// Starts the connection in the background (it must run inside a Tokio
    /// runtime) and returns at once: a broker that is down is retried, not
    /// an error. Errors are configuration errors (a CA file that cannot be
    /// read, no system CA bundle for `mqtts://`).
    pub fn connect(cfg: &MqttConfig) -> Result<MqttPublisher> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow!("the MQTT publisher needs a Tokio runtime"))?;
        let mut options = MqttOptions::new(
            cfg.client_id.clone(),
            cfg.broker.host.clone(),
            cfg.broker.port,
        );
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_last_will(LastWill::new(
                cfg.status_topic(),
                PAYLOAD_OFFLINE,
                QoS::AtLeastOnce,
                true,
            ));
        if let Some(user) = &cfg.username {
            let password = cfg.password.as_ref().map_or("", |p| p.expose());
            options.set_credentials(user.clone(), password);
        }
        if cfg.broker.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(tls_config(cfg.ca_file.as_deref())?),
            )));
        }
        let (client, eventloop) = AsyncClient::new(options, 1024);
        let shared = Arc::new(Shared {
            acked: watch::Sender::new(0),
            connected: watch::Sender::new(false),
            last_error: std::sync::Mutex::new(None),
            retained: std::sync::Mutex::new(Vec::new()),
            publishing: tokio::sync::Mutex::new(()),
        });
        let task = handle.spawn(drive(
            eventloop,
            client.clone(),
            shared.clone(),
            cfg.broker.to_string(),
            cfg.status_topic(),
        ));
        Ok(MqttPublisher {
            client,
            shared,
            task: Some(task),
            cfg: Arc::new(cfg.clone()),
        })
    }

    /// Waits until the broker has accepted the connection.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.shared.connected.subscribe();
        let connected = matches!(
            tokio::time::timeout(timeout, rx.wait_for(|c| *c)).await,
            Ok(Ok(_))
        );
        if connected {
            Ok(())
        } else {
            Err(self.unreachable(&format!("no connection within {} s", timeout.as_secs_f32())))
        }
    }

    /// Reads the store now and returns the publish to await: the store is
    /// not held while waiting for the broker (release its lock before
    /// awaiting), and the future is `Send`. It resolves once the broker
    /// has acknowledged as many messages as were sent, or with an error
    /// after `ack_timeout` (the caller logs it; the messages stay queued
    /// and are sent again on reconnection).
    pub fn publish_snapshot(
        &self,
        store: &Store,
        today: Date,
    ) -> impl Future<Output = Result<PublishReport>> + Send + 'static {
        let built = messages(&self.cfg, store, today);
        let count =
            |m: &[Message], suffix: &str| m.iter().filter(|m| m.topic.ends_with(suffix)).count();
        let meters = built.as_ref().map_or(0, |m| count(m, "/state"));
        let sensors = built.as_ref().map_or(0, |m| count(m, "/config"));
        let tempo_topic = self.cfg.tempo_state_topic();
        let tempo = built
            .as_ref()
            .is_ok_and(|m| m.iter().any(|m| m.topic == tempo_topic));
        let client = self.client.clone();
        let shared = self.shared.clone();
        let cfg = self.cfg.clone();
        async move {
            let messages = built?;
            let total = messages.len();
            publish(&client, &shared, &cfg, messages).await?;
            Ok(PublishReport {
                meters,
                sensors,
                tempo,
                messages: total,
            })
        }
    }

    /// Publishes `offline`, disconnects cleanly and stops the task.
    pub async fn shutdown(mut self) {
        let status = self.cfg.status_topic();
        let offline = self
            .client
            .publish(status, QoS::AtLeastOnce, true, PAYLOAD_OFFLINE);
        let _ = tokio::time::timeout(Duration::from_secs(2), offline).await;
        let base = *self.shared.acked.borrow();
        let mut acked = self.shared.acked.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), acked.wait_for(|n| *n > base)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.disconnect()).await;
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn unreachable(&self, what: &str) -> anyhow::Error {
        unreachable_error(&self.shared, &self.cfg, what)
    }
}

impl Drop for MqttPublisher {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn unreachable_error(shared: &Shared, cfg: &MqttConfig, what: &str) -> anyhow::Error {
    let last = shared
        .last_error
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    match last {
        Some(e) => anyhow!("MQTT broker {}: {what} (last error: {e})", cfg.broker),
        None => anyhow!("MQTT broker {}: {what}", cfg.broker),
    }
}

async fn publish(
    client: &AsyncClient,
    shared: &Shared,
    cfg: &MqttConfig,
    messages: Vec<Message>,
) -> Result<()> {
    let _one_at_a_time = shared.publishing.lock().await;
    let deadline = tokio::time::Instant::now() + cfg.ack_timeout;
    if let Ok(mut r) = shared.retained.lock() {
        r.clone_from(&messages);
    }
    let mut acked = shared.acked.subscribe();
    let target = *acked.borrow() + messages.len() as u64;
    let n = messages.len();
    for (i, m) in messages.into_iter().enumerate() {
        let send = client.publish(m.topic, QoS::AtLeastOnce, true, m.payload);
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(unreachable_error(shared, cfg, &format!("publish: {e}"))),
            Err(_) => {
                return Err(unreachable_error(
                    shared,
                    cfg,
                    &format!(
                        "{} of {n} messages not even queued within {} s",
                        n - i,
                        cfg.ack_timeout.as_secs()
                    ),
                ));
            }
        }
    }
    let done = matches!(
        tokio::time::timeout_at(deadline, acked.wait_for(|a| *a >= target)).await,
        Ok(Ok(_))
    );
    if done {
        return Ok(());
    }
    let missing = target.saturating_sub(*acked.borrow()).min(n as u64);
    Err(unreachable_error(
        shared,
        cfg,
        &format!(
            "{missing} of {n} messages not acknowledged within {} s; they are sent \
             again when the connection is back",
            cfg.ack_timeout.as_secs()
        ),
    ))
}

/// The event loop: polls the connection, counts acknowledgements,
/// announces `online` (and re-sends the last publish) on every connection,
/// and backs off while the broker is unreachable.
async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    shared: Arc<Shared>,
    broker: String,
    status: String,
) {
    let mut backoff = Duration::from_secs(1);
    let mut connections = 0u64;
    let mut failing = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                connections += 1;
                backoff = Duration::from_secs(1);
                if failing {
                    tracing::info!(%broker, "MQTT connection is back");
                } else {
                    tracing::info!(%broker, "MQTT connected");
                }
                failing = false;
                shared.connected.send_replace(true);
                let mut resend = vec![Message {
                    topic: status.clone(),
                    payload: PAYLOAD_ONLINE.into(),
                }];
                if connections > 1
                    && let Ok(r) = shared.retained.lock()
                {
                    resend.extend(r.iter().cloned());
                }
                let client = client.clone();
                tokio::spawn(async move {
                    for m in resend {
                        if client
                            .publish(m.topic, QoS::AtLeastOnce, true, m.payload)
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            Ok(Event::Incoming(Incoming::PubAck(_))) => {
                shared.acked.send_modify(|n| *n += 1);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                shared.connected.send_replace(false);
                tracing::info!(%broker, "MQTT disconnected");
                return;
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => return,
            Err(e) => {
                shared.connected.send_replace(false);
                let text = describe(&e);
                if !failing {
                    tracing::warn!(
                        %broker,
                        "MQTT connection failed: {text}; retrying in the background"
                    );
                } else {
                    tracing::debug!(%broker, "MQTT connection failed again: {text}");
                }
                if let Ok(mut last) = shared.last_error.lock() {
                    *last = Some(text);
                }
                failing = true;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A connection error in words (it never holds the password).
fn describe(e: &ConnectionError) -> String {
    use rumqttc::ConnectReturnCode as Code;
    match e {
        ConnectionError::ConnectionRefused(Code::BadUserNamePassword | Code::NotAuthorized) => {
            "the broker refused the user name or password, or does not allow this user \
             (mqtt_username, mqtt_password)"
                .into()
        }
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?})")
        }
        other => other.to_string(),
    }
}

/// A rustls client configuration with the ring provider (the one the host
/// already links) trusting `ca_file`, or the system's CA bundle.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => system_bundle().ok_or_else(|| {
            anyhow!(
                "mqtts:// needs certificate authorities: no system CA bundle found \
                 (install ca-certificates, or set mqtt_ca_file to a PEM file)"
            )
        })?,
    };
    let key = if ca_file.is_some() {
        "mqtt_ca_file"
    } else {
        "the system CA bundle"
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .with_context(|| format!("{key}: reading {}", path.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("{key}: {} is not PEM", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("{key}: a certificate of {} is invalid", path.display()))?;
    }
    if roots.is_empty() {
        bail!("{key}: {} holds no certificate", path.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The system's CA bundle: `SSL_CERT_FILE`, then the usual places.
fn system_bundle() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
        return Some(PathBuf::from(p));
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}
