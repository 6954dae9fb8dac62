//! Configuration: a TOML file (`--config`), every key overridable by an
//! environment variable `HELLOWATT_<KEY>`, so that one account runs with no
//! file at all.
//!
//! It owns the keys, their defaults and their checks; a mistake names the
//! key (and the variable it came from) and how to fix it. It must never
//! print a password: `Secret` has no readable `Debug` or `Display`.

use crate::sandbox::policy::{
    DEFAULT_SITE, HELLOWATT_LOGIN, HttpLimits, LoginRequest, Origin, RequestRules,
};
use crate::sandbox::runtime::Limits;
use crate::slot::Slot;
use anyhow::{Context, Result, anyhow, bail};
use hellowatt_snapshot::DataKind;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::sandbox::redact::Secret;

/// The keys of the file, each also read from `HELLOWATT_<KEY>`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    account: Option<String>,
    email: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    db: Option<PathBuf>,
    site_url: Option<String>,
    guest: Option<PathBuf>,
    kinds: Option<Vec<String>>,
    pacing_ms: Option<u64>,
    request_timeout_seconds: Option<u64>,
    max_response_mib: Option<u64>,
    max_requests: Option<u32>,
    allowed_requests: Option<Vec<String>>,
    login_request: Option<String>,
    memory_mib: Option<u64>,
    cpu_seconds: Option<u64>,
    call_timeout_seconds: Option<u64>,
    run_timeout_seconds: Option<u64>,
    daily_at: Option<String>,
    retry_every_hours: Option<u64>,
    backfill_months: Option<u32>,
    refresh_days: Option<u32>,
    manual_min_interval_minutes: Option<u64>,
    mqtt_url: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password: Option<String>,
    mqtt_password_file: Option<PathBuf>,
    mqtt_prefix: Option<String>,
    mqtt_discovery_prefix: Option<String>,
    mqtt_ca_file: Option<PathBuf>,
    mqtt_client_id: Option<String>,
    ha_url: Option<String>,
    ha_token: Option<String>,
    ha_token_file: Option<PathBuf>,
    ha_ca_file: Option<PathBuf>,
    listen: Option<String>,
    api_token: Option<String>,
    api_token_file: Option<PathBuf>,
    allowed_hosts: Option<Vec<String>>,
    api_open_to_network: Option<bool>,
    guests_dir: Option<PathBuf>,
    fixtures_dir: Option<PathBuf>,
    trusted_keys: Option<Vec<String>>,
    tempo: Option<String>,
    tempo_url: Option<String>,
    tempo_allowed_requests: Option<Vec<String>>,
    tempo_fallback_url: Option<String>,
    tempo_pacing_ms: Option<u64>,
    tempo_announce_at: Option<String>,
    tempo_retry_minutes: Option<u64>,
    ecowatt: Option<String>,
    ecowatt_url: Option<String>,
    ecowatt_allowed_requests: Option<Vec<String>>,
    ecowatt_every_minutes: Option<u64>,
    rte_client_id: Option<String>,
    rte_client_secret: Option<String>,
    rte_client_secret_file: Option<PathBuf>,
    /// Several accounts (file only); the top-level account keys then stay unset.
    #[serde(default)]
    accounts: Vec<FileAccount>,
}

/// One `[[accounts]]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAccount {
    name: String,
    email: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    kinds: Option<Vec<String>>,
}

/// (key, kind of value) — the environment overlay needs to know how to
/// read a string from a variable.
const KEYS: [(&str, ValueKind); 57] = [
    ("account", ValueKind::Text),
    ("email", ValueKind::Text),
    ("password", ValueKind::Text),
    ("password_file", ValueKind::Text),
    ("db", ValueKind::Text),
    ("site_url", ValueKind::Text),
    ("guest", ValueKind::Text),
    ("kinds", ValueKind::List),
    ("pacing_ms", ValueKind::Integer),
    ("request_timeout_seconds", ValueKind::Integer),
    ("max_response_mib", ValueKind::Integer),
    ("max_requests", ValueKind::Integer),
    ("allowed_requests", ValueKind::List),
    ("login_request", ValueKind::Text),
    ("memory_mib", ValueKind::Integer),
    ("cpu_seconds", ValueKind::Integer),
    ("call_timeout_seconds", ValueKind::Integer),
    ("run_timeout_seconds", ValueKind::Integer),
    ("daily_at", ValueKind::Text),
    ("retry_every_hours", ValueKind::Integer),
    ("backfill_months", ValueKind::Integer),
    ("refresh_days", ValueKind::Integer),
    ("manual_min_interval_minutes", ValueKind::Integer),
    ("mqtt_url", ValueKind::Text),
    ("mqtt_username", ValueKind::Text),
    ("mqtt_password", ValueKind::Text),
    ("mqtt_password_file", ValueKind::Text),
    ("mqtt_prefix", ValueKind::Text),
    ("mqtt_discovery_prefix", ValueKind::Text),
    ("mqtt_ca_file", ValueKind::Text),
    ("mqtt_client_id", ValueKind::Text),
    ("ha_url", ValueKind::Text),
    ("ha_token", ValueKind::Text),
    ("ha_token_file", ValueKind::Text),
    ("ha_ca_file", ValueKind::Text),
    ("listen", ValueKind::Text),
    ("api_token", ValueKind::Text),
    ("api_token_file", ValueKind::Text),
    ("allowed_hosts", ValueKind::List),
    ("api_open_to_network", ValueKind::Bool),
    ("guests_dir", ValueKind::Text),
    ("fixtures_dir", ValueKind::Text),
    ("trusted_keys", ValueKind::List),
    ("tempo", ValueKind::Text),
    ("tempo_url", ValueKind::Text),
    ("tempo_allowed_requests", ValueKind::List),
    ("tempo_fallback_url", ValueKind::Text),
    ("tempo_pacing_ms", ValueKind::Integer),
    ("tempo_announce_at", ValueKind::Text),
    ("tempo_retry_minutes", ValueKind::Integer),
    ("ecowatt", ValueKind::Text),
    ("ecowatt_url", ValueKind::Text),
    ("ecowatt_allowed_requests", ValueKind::List),
    ("ecowatt_every_minutes", ValueKind::Integer),
    ("rte_client_id", ValueKind::Text),
    ("rte_client_secret", ValueKind::Text),
    ("rte_client_secret_file", ValueKind::Text),
];

#[derive(Clone, Copy)]
enum ValueKind {
    Text,
    Integer,
    List,
    Bool,
}

/// The kinds a sync asks for when the configuration names none.
pub const DEFAULT_KINDS: [DataKind; 5] = [
    DataKind::Homes,
    DataKind::ElectricityDaily,
    DataKind::ElectricityCurve,
    DataKind::GasDaily,
    DataKind::Temperature,
];

/// One helloWatt account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The local name (rows in the store are filed under it).
    pub name: String,
    pub email: Option<String>,
    pub password: Option<Secret>,
    pub kinds: Vec<DataKind>,
}

impl Account {
    /// The credentials, or what to do to give them.
    pub fn credentials(&self) -> Result<(&str, &Secret)> {
        match (&self.email, &self.password) {
            (Some(e), Some(p)) if !e.is_empty() && !p.expose().is_empty() => Ok((e, p)),
            _ => bail!(
                "no helloWatt credentials for account {:?}: set HELLOWATT_EMAIL and \
                 HELLOWATT_PASSWORD (or `email` and `password`/`password_file` in the \
                 configuration file)",
                self.name
            ),
        }
    }

    /// Tells a changed password from the one the breaker opened on, without
    /// revealing it: 16 bits of SHA-256 over the e-mail and password. The
    /// scheduler saves it in the database, so it must not be a usable hash
    /// of the password: 16 bits confirm no guess (65 536 passwords share
    /// each value), and a change goes unnoticed once in 65 536 (then
    /// `hellowatt reset` does it).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.email.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        h.update(self.password.as_ref().map_or("", |p| p.expose()).as_bytes());
        hex::encode(&h.finalize()[..2])
    }
}

/// How `hellowatt run` schedules and backfills.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Paris wall-clock time of the first daily attempt.
    pub daily_at: (u8, u8),
    pub retry_every: Duration,
    /// History fetched at first start, in months.
    pub backfill_months: u32,
    /// Days re-read on every daily run, to catch late data and corrections.
    pub refresh_days: u32,
    pub manual_min_interval: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            daily_at: (15, 0),
            retry_every: Duration::from_secs(2 * 3600),
            backfill_months: 24,
            refresh_days: 30,
            manual_min_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// The public Tempo service the `tempo` guest reads. Its origins and pacing
/// are the host's decision, like the helloWatt site's: the Tempo guest may
/// reach exactly these origins, the helloWatt guest never does.
#[derive(Debug, Clone)]
pub struct TempoConfig {
    /// The default source (api-couleur-tempo.fr).
    pub primary: Origin,
    /// Asked when the default source is down or changed (RTE's
    /// tempoLight); `None` when `tempo_fallback_url = "off"`.
    pub fallback: Option<Origin>,
    /// The HTTP limits of the Tempo guest's runs: the site's, with the
    /// Tempo pacing.
    pub http: HttpLimits,
    /// Paris time from which tomorrow's colour is looked for (RTE announces
    /// it at about 10:40).
    pub announce_at: (u8, u8),
    /// How often to look again while tomorrow's colour is unknown, and to
    /// retry after a failure.
    pub retry_every: Duration,
}

/// RTE's EcoWatt signals, read by the `ecowatt` guest with an OAuth2 token
/// the host obtains from the client credentials it keeps (the guest never
/// sees them, nor the token). On only when credentials are configured.
#[derive(Debug, Clone)]
pub struct EcowattConfig {
    /// RTE's API portal: its token endpoint (the host's) and the signals
    /// (the guest's).
    pub origin: Origin,
    /// The application's client id and secret (a free RTE account).
    pub client_id: Secret,
    pub client_secret: Secret,
    /// The HTTP limits of the EcoWatt guest's runs.
    pub http: HttpLimits,
    /// How often the signals are asked (RTE allows one call every 15
    /// minutes per application).
    pub every: Duration,
}

/// What `status` and the service's start say when EcoWatt is off: how to
/// turn it on.
pub const ECOWATT_OFF: &str = "EcoWatt is off: no RTE credentials are configured. To see RTE's \
     EcoWatt signals (the grid's stress level, today and the next three days, hour by hour), \
     create an application with the EcoWatt v5 API on RTE's data portal (data.rte-france.com, a \
     free account), then set rte_client_id and rte_client_secret_file (or \
     HELLOWATT_RTE_CLIENT_ID and HELLOWATT_RTE_CLIENT_SECRET) and restart the service.";

/// RTE's API portal.
pub const DEFAULT_ECOWATT_URL: &str = "https://digital.iservices.rte-france.com";

/// The shortest period between two EcoWatt calls RTE allows.
pub const ECOWATT_MIN_PERIOD: Duration = Duration::from_secs(15 * 60);

/// The public Tempo services, as their operators publish them.
pub const DEFAULT_TEMPO_URL: &str = "https://www.api-couleur-tempo.fr";
pub const DEFAULT_TEMPO_FALLBACK_URL: &str = "https://www.services-rte.com";

#[derive(Debug, Clone)]
pub struct Config {
    pub accounts: Vec<Account>,
    pub db: PathBuf,
    pub site: Origin,
    /// A guest file to use instead of the bundled one.
    pub guest: Option<PathBuf>,
    pub http: HttpLimits,
    pub limits: Limits,
    pub service: ServiceConfig,
    /// MQTT for Home Assistant; off when `mqtt_url` is unset.
    pub mqtt: Option<crate::mqtt::MqttConfig>,
    /// Home Assistant's long-term statistics; off when `ha_url` is unset.
    pub home_assistant: Option<crate::homeassistant::HaConfig>,
    /// Where `hellowatt run` serves the API and dashboard; `None` = off.
    pub listen: Option<std::net::SocketAddr>,
    /// When set, the API requires it as a bearer token.
    pub api_token: Option<Secret>,
    /// Names the API is reached by, beside IP addresses and `localhost`.
    pub allowed_hosts: Vec<String>,
    /// The API is served to the network without a token, on purpose.
    pub api_open_to_network: bool,
    /// The folder people drop guests into (`hellowatt run` watches it).
    pub guests_dir: PathBuf,
    /// Scenarios a candidate guest must pass; `None`: the built-in ones.
    pub fixtures_dir: Option<PathBuf>,
    /// Trusted publisher keys (hex Ed25519); empty: unsigned guests pass.
    pub trusted_keys: Vec<String>,
    /// The Tempo service; `None` when `tempo = "off"`.
    pub tempo: Option<TempoConfig>,
    /// RTE's EcoWatt signals; `None` without RTE credentials or with
    /// `ecowatt = "off"`.
    pub ecowatt: Option<EcowattConfig>,
}

/// The API's default address: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Config {
    /// The requests `slot`'s guest may make: its configured rules, or the
    /// slot's defaults.
    pub fn requests_for(&self, slot: Slot) -> RequestRules {
        match slot {
            Slot::Hellowatt => self.http.requests.clone(),
            Slot::Tempo => self
                .tempo
                .as_ref()
                .map_or_else(|| slot.default_requests(), |t| t.http.requests.clone()),
            Slot::Ecowatt => self
                .ecowatt
                .as_ref()
                .map_or_else(|| slot.default_requests(), |e| e.http.requests.clone()),
        }
    }

    /// One account against `site`, stored in `db`, with no pacing, nothing
    /// served, no MQTT, the bundled guests and every other key at its
    /// default: what the demo, the tests and the benchmarks run against the
    /// simulated site. Not for the real site (no pacing).
    pub fn for_test_site(site: Origin, account: Account, db: &Path) -> Config {
        Config {
            accounts: vec![account],
            db: db.to_path_buf(),
            site,
            guest: None,
            http: HttpLimits {
                pacing: Duration::ZERO,
                ..HttpLimits::default()
            },
            limits: Limits::default(),
            service: ServiceConfig::default(),
            mqtt: None,
            home_assistant: None,
            listen: None,
            api_token: None,
            allowed_hosts: Vec::new(),
            api_open_to_network: false,
            guests_dir: "guests".into(),
            fixtures_dir: None,
            trusted_keys: Vec::new(),
            tempo: None,
            ecowatt: None,
        }
    }

    /// The named account, or the only one.
    pub fn account(&self, name: Option<&str>) -> Result<&Account> {
        let names = || {
            self.accounts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self.accounts.iter().find(|a| a.name == n).ok_or_else(|| {
                anyhow!(
                    "no account {n:?} in the configuration (accounts: {})",
                    names()
                )
            }),
            None => match self.accounts.as_slice() {
                [one] => Ok(one),
                [] => bail!("no account configured: set HELLOWATT_EMAIL and HELLOWATT_PASSWORD"),
                _ => bail!(
                    "several accounts are configured ({}): name one with --account",
                    names()
                ),
            },
        }
    }
}

impl Config {
    /// Reads the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        Config::load_from(file, |k| std::env::var(k).ok())
    }

    pub fn load_from(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "reading the configuration file {} (give --config an existing file, or \
                         leave it out and set HELLOWATT_* variables)",
                        path.display()
                    )
                })?;
                let table: toml::Table = toml::from_str(&text).map_err(|e| {
                    // The line number, never the line: it may hold a password.
                    let line = e
                        .span()
                        .and_then(|span| text.get(..span.start))
                        .map(|before| format!(" line {}:", before.matches('\n').count() + 1))
                        .unwrap_or_default();
                    anyhow!(
                        "{}:{line} {}: write each setting as key = value, with text in double \
                         quotes (e.g. email = \"you@example.org\")",
                        path.display(),
                        e.message().trim_end()
                    )
                    .context("the configuration file is not valid TOML")
                })?;
                let has_password = table.contains_key("password")
                    || table.contains_key("mqtt_password")
                    || table.contains_key("api_token")
                    || table.contains_key("ha_token")
                    || table.contains_key("rte_client_secret")
                    || table
                        .get("accounts")
                        .and_then(|a| a.as_array())
                        .is_some_and(|list| list.iter().any(|a| a.get("password").is_some()));
                if has_password {
                    check_private(path)?;
                }
                table
            }
            None => toml::Table::new(),
        };
        for (key, kind) in KEYS {
            let var = format!("HELLOWATT_{}", key.to_ascii_uppercase());
            let Some(raw) = env(&var) else { continue };
            let value = match kind {
                ValueKind::Text => toml::Value::String(raw),
                ValueKind::Integer => match raw.trim().parse::<i64>() {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => bail!("{var}={raw:?} is not a whole number"),
                },
                ValueKind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "1" => toml::Value::Boolean(true),
                    "false" | "no" | "off" | "0" => toml::Value::Boolean(false),
                    _ => bail!("{var}={raw:?} is neither true nor false"),
                },
                ValueKind::List => toml::Value::Array(
                    raw.split(',')
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_string()))
                        .collect(),
                ),
            };
            table.insert(key.to_string(), value);
        }
        // Serde's "invalid type" would name neither the key nor the fix.
        for (key, kind) in KEYS {
            if let (ValueKind::Bool, Some(v)) = (kind, table.get(key))
                && !v.is_bool()
            {
                bail!("{key} = {v}: write true or false, without quotes");
            }
            if let (ValueKind::Integer, Some(v)) = (kind, table.get(key))
                && v.as_integer().is_none_or(|n| n < 0)
            {
                bail!(
                    "{key} = {v}: write a whole number of {}, without quotes or sign",
                    unit_of(key)
                );
            }
        }
        let file_config: FileConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let origin = match file {
                        Some(p) => format!("in {}", p.display()),
                        None => "in the environment".into(),
                    };
                    anyhow!(
                        "configuration error {origin}: {} (known keys: {})",
                        e.message(),
                        KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    )
                })?;
        file_config.resolve()
    }
}

/// What a number key counts, from the last word of its name.
fn unit_of(key: &str) -> &str {
    match key.rsplit('_').next().unwrap_or(key) {
        "ms" => "milliseconds",
        "mib" => "MiB",
        word => word,
    }
}

fn password(key: &str, password: Option<String>, file: Option<PathBuf>) -> Result<Option<Secret>> {
    match (password, file) {
        (Some(_), Some(_)) => bail!("set `{key}` or `{key}_file`, not both"),
        (Some(p), None) => Ok(Some(Secret::new(p))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "reading {key}_file {} (name an existing file that holds the {key} alone, \
                     or set `{key}` instead)",
                    path.display()
                )
            })?;
            Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
        }
        (None, None) => Ok(None),
    }
}

fn kinds(key: &str, list: Option<Vec<String>>) -> Result<Vec<DataKind>> {
    let Some(list) = list else {
        return Ok(DEFAULT_KINDS.to_vec());
    };
    list.iter()
        .map(|k| {
            DataKind::parse(k).ok_or_else(|| {
                anyhow!(
                    "{key}: unknown data kind {k:?} (known: {})",
                    DataKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// A slot's allowed requests: the configured list, or the slot's defaults.
/// The EcoWatt keys of a configuration, taken apart before the rest is
/// resolved.
struct EcowattKeys {
    ecowatt: Option<String>,
    url: Option<String>,
    allowed_requests: Option<Vec<String>>,
    every_minutes: Option<u64>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
}

impl EcowattKeys {
    /// On with both RTE credentials (unless `ecowatt = "off"`), off
    /// without; one credential alone, or `ecowatt = "on"` without them, is
    /// an error that says what to set.
    fn resolve(
        self,
        http: &HttpLimits,
        site: &Origin,
        tempo: Option<&TempoConfig>,
    ) -> Result<Option<EcowattConfig>> {
        const HOW: &str = "create an application with the EcoWatt v5 API on RTE's data portal \
                           (data.rte-france.com, a free account) and set rte_client_id and \
                           rte_client_secret_file";
        if let Some(path) = &self.client_secret_file {
            check_private_secret("rte_client_secret_file", path)?;
        }
        let id = self.client_id.filter(|i| !i.trim().is_empty());
        let secret = password(
            "rte_client_secret",
            self.client_secret,
            self.client_secret_file,
        )?
        .filter(|s| !s.expose().trim().is_empty());
        let wanted = match self.ecowatt.as_deref().map(str::trim) {
            None => id.is_some() || secret.is_some(),
            Some("on") => true,
            Some("off") => return Ok(None),
            Some(other) => bail!("ecowatt: {other:?} is neither \"on\" nor \"off\""),
        };
        if !wanted {
            return Ok(None);
        }
        let (client_id, client_secret) = match (id, secret) {
            (Some(id), Some(secret)) => (Secret::new(id.trim()), secret),
            (Some(_), None) => bail!("rte_client_id is set without rte_client_secret: {HOW}"),
            (None, Some(_)) => bail!("rte_client_secret is set without rte_client_id: {HOW}"),
            (None, None) => bail!("ecowatt = \"on\" needs RTE credentials: {HOW}"),
        };
        let origin = Origin::parse(self.url.as_deref().unwrap_or(DEFAULT_ECOWATT_URL))
            .map_err(|e| anyhow!("ecowatt_url: {e}"))?;
        if origin == *site || tempo.is_some_and(|t| t.primary == origin) {
            bail!(
                "ecowatt_url must differ from site_url and tempo_url: each guest has origins of \
                 its own"
            );
        }
        let every = self.every_minutes.unwrap_or(60);
        if Duration::from_secs(every * 60) < ECOWATT_MIN_PERIOD {
            bail!(
                "ecowatt_every_minutes: {every} is less than 15 (RTE allows one call every 15 minutes)"
            );
        }
        Ok(Some(EcowattConfig {
            origin,
            client_id,
            client_secret,
            http: HttpLimits {
                pacing: Duration::ZERO,
                max_requests: 4,
                requests: request_rules(
                    "ecowatt_allowed_requests",
                    self.allowed_requests.as_deref(),
                    Slot::Ecowatt,
                )?,
                ..http.clone()
            },
            every: Duration::from_secs(every * 60),
        }))
    }
}

fn request_rules(key: &str, items: Option<&[String]>, slot: Slot) -> Result<RequestRules> {
    match items {
        Some(items) => RequestRules::parse(items)
            .map_err(|e| anyhow!("{key}: {e} (default: {})", slot.default_requests())),
        None => Ok(slot.default_requests()),
    }
}

fn positive(key: &str, v: Option<u64>, default: u64) -> Result<u64> {
    match v {
        Some(0) => bail!("{key} must be greater than 0"),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

/// `15:00` → (15, 0).
fn time_of_day(key: &str, s: &str) -> Result<(u8, u8)> {
    let parsed = s.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.trim().parse::<u8>().ok()?, m.trim().parse::<u8>().ok()?);
        (h < 24 && m < 60 && s.len() <= 5).then_some((h, m))
    });
    parsed
        .ok_or_else(|| anyhow!("{key}: {s:?} is not a time of day: write it HH:MM, e.g. \"15:00\""))
}

impl FileConfig {
    fn resolve(self) -> Result<Config> {
        let ecowatt_keys = EcowattKeys {
            ecowatt: self.ecowatt,
            url: self.ecowatt_url,
            allowed_requests: self.ecowatt_allowed_requests,
            every_minutes: self.ecowatt_every_minutes,
            client_id: self.rte_client_id,
            client_secret: self.rte_client_secret,
            client_secret_file: self.rte_client_secret_file,
        };
        let top_level_account = self.account.is_some()
            || self.email.is_some()
            || self.password.is_some()
            || self.password_file.is_some()
            || self.kinds.is_some();
        let accounts = if self.accounts.is_empty() {
            let name = self.account.unwrap_or_else(|| "default".into());
            vec![Account {
                name,
                email: self.email,
                password: password("password", self.password, self.password_file)?,
                kinds: kinds("kinds", self.kinds)?,
            }]
        } else {
            if top_level_account {
                bail!(
                    "the configuration has [[accounts]] sections and also top-level account keys \
                     (account, email, password, password_file, kinds, or their HELLOWATT_ \
                     variables): move them into the [[accounts]] sections"
                );
            }
            let mut out: Vec<Account> = Vec::new();
            for (i, a) in self.accounts.into_iter().enumerate() {
                let key = format!("accounts[{i}]");
                if out.iter().any(|o| o.name == a.name) {
                    bail!("{key}: the name {:?} is used twice", a.name);
                }
                out.push(Account {
                    email: a.email,
                    password: password(&format!("{key}.password"), a.password, a.password_file)?,
                    kinds: kinds(&format!("{key}.kinds"), a.kinds)?,
                    name: a.name,
                });
            }
            out
        };
        for a in &accounts {
            if a.name.trim().is_empty()
                || a.name.len() > 64
                || a.name.chars().any(|c| c.is_control())
            {
                bail!(
                    "account name {:?}: use 1 to 64 printable characters",
                    a.name
                );
            }
            if a.name.starts_with('@') {
                bail!(
                    "account name {:?}: names starting with @ are hellowatt's own (the Tempo \
                     service's runs are filed under {:?}): choose another name",
                    a.name,
                    crate::slot::TEMPO_ACCOUNT
                );
            }
        }
        let site = Origin::parse(self.site_url.as_deref().unwrap_or(DEFAULT_SITE))
            .map_err(|e| anyhow!("site_url: {e}"))?;
        let defaults = HttpLimits::default();
        let http = HttpLimits {
            pacing: self
                .pacing_ms
                .map(Duration::from_millis)
                .unwrap_or(defaults.pacing),
            request_timeout: Duration::from_secs(positive(
                "request_timeout_seconds",
                self.request_timeout_seconds,
                defaults.request_timeout.as_secs(),
            )?),
            max_response_bytes: positive(
                "max_response_mib",
                self.max_response_mib,
                defaults.max_response_bytes >> 20,
            )? << 20,
            max_requests: match self.max_requests {
                Some(0) => bail!("max_requests must be greater than 0"),
                Some(n) => n,
                None => defaults.max_requests,
            },
            requests: request_rules(
                "allowed_requests",
                self.allowed_requests.as_deref(),
                Slot::Hellowatt,
            )?,
        };
        let login = match &self.login_request {
            Some(item) => LoginRequest::parse(item, &http.requests)
                .map_err(|e| anyhow!("login_request: {e}"))?,
            None => LoginRequest::parse(HELLOWATT_LOGIN, &http.requests).map_err(|e| {
                anyhow!(
                    "allowed_requests must allow the log-in ({HELLOWATT_LOGIN}), or set \
                     login_request to the log-in the rules allow: {e}"
                )
            })?,
        };
        let http = HttpLimits {
            requests: http.requests.clone().with_login(Some(login)),
            ..http
        };
        let limit_defaults = Limits::default();
        let memory_mib = positive(
            "memory_mib",
            self.memory_mib,
            (limit_defaults.memory_bytes >> 20) as u64,
        )?;
        let limits = Limits {
            memory_bytes: usize::try_from(memory_mib << 20).context("memory_mib is too large")?,
            cpu_per_call: Duration::from_secs(positive(
                "cpu_seconds",
                self.cpu_seconds,
                limit_defaults.cpu_per_call.as_secs(),
            )?),
            wall_per_call: Duration::from_secs(positive(
                "call_timeout_seconds",
                self.call_timeout_seconds,
                limit_defaults.wall_per_call.as_secs(),
            )?),
            wall_per_run: Duration::from_secs(positive(
                "run_timeout_seconds",
                self.run_timeout_seconds,
                limit_defaults.wall_per_run.as_secs(),
            )?),
        };
        let sd = ServiceConfig::default();
        let service = ServiceConfig {
            daily_at: match &self.daily_at {
                Some(t) => time_of_day("daily_at", t)?,
                None => sd.daily_at,
            },
            retry_every: Duration::from_secs(
                positive(
                    "retry_every_hours",
                    self.retry_every_hours,
                    sd.retry_every.as_secs() / 3600,
                )? * 3600,
            ),
            backfill_months: match self.backfill_months {
                Some(m) if m > 240 => bail!("backfill_months: {m} is more than 20 years"),
                Some(m) => m,
                None => sd.backfill_months,
            },
            refresh_days: match self.refresh_days {
                Some(d) if d > 366 => bail!("refresh_days: {d} is more than a year"),
                Some(d) => d,
                None => sd.refresh_days,
            },
            manual_min_interval: self
                .manual_min_interval_minutes
                .map(|m| Duration::from_secs(m * 60))
                .unwrap_or(sd.manual_min_interval),
        };
        let mqtt = crate::mqtt::MqttKeys {
            url: self.mqtt_url,
            username: self.mqtt_username,
            password: self.mqtt_password,
            password_file: self.mqtt_password_file,
            prefix: self.mqtt_prefix,
            discovery_prefix: self.mqtt_discovery_prefix,
            ca_file: self.mqtt_ca_file,
            client_id: self.mqtt_client_id,
        }
        .resolve()?;
        if let Some(path) = &self.ha_token_file {
            check_private_secret("ha_token_file", path)?;
        }
        let home_assistant = crate::homeassistant::HaKeys {
            url: self.ha_url,
            token: password("ha_token", self.ha_token, self.ha_token_file)?,
            ca_file: self.ha_ca_file,
        }
        .resolve()?;
        let listen: Option<std::net::SocketAddr> = match self.listen.as_deref().map(str::trim) {
            Some("off") => None,
            other => Some(other.unwrap_or(DEFAULT_LISTEN).parse().map_err(|_| {
                anyhow!(
                    "listen: {:?} is not an address: write it IP:PORT (e.g. {DEFAULT_LISTEN}, or \
                     0.0.0.0:8080 for the whole network), or \"off\"",
                    other.unwrap_or_default()
                )
            })?),
        };
        let api_token = match password("api_token", self.api_token, self.api_token_file)? {
            Some(t) if t.expose().trim().len() < 16 => {
                bail!("api_token: use at least 16 characters (e.g. `openssl rand -hex 24`)")
            }
            other => other,
        };
        let api_open_to_network = self.api_open_to_network.unwrap_or(false);
        if let Some(addr) = listen
            && !addr.ip().is_loopback()
            && api_token.is_none()
            && !api_open_to_network
        {
            bail!(
                "listen = {addr} serves the API and the dashboard to the network, and no \
                 api_token is set: anyone there could read the meters, the address and every \
                 reading, and start syncs. Set api_token (or api_token_file), or listen on \
                 127.0.0.1:{}, or set api_open_to_network = true to serve it without a token \
                 on purpose",
                addr.port()
            );
        }
        let allowed_hosts = self.allowed_hosts.unwrap_or_default();
        for h in &allowed_hosts {
            let plain = !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !plain {
                bail!(
                    "allowed_hosts: {h:?} is not a host name: write names only, without \
                     scheme, port or path (e.g. \"nas.lan\")"
                );
            }
        }
        let tempo = match self.tempo.as_deref().map(str::trim) {
            None | Some("on") => Some(TempoConfig {
                primary: Origin::parse(self.tempo_url.as_deref().unwrap_or(DEFAULT_TEMPO_URL))
                    .map_err(|e| anyhow!("tempo_url: {e}"))?,
                fallback: match self.tempo_fallback_url.as_deref().map(str::trim) {
                    Some("off") => None,
                    other => Some(
                        Origin::parse(other.unwrap_or(DEFAULT_TEMPO_FALLBACK_URL))
                            .map_err(|e| anyhow!("tempo_fallback_url: {e} (or \"off\")"))?,
                    ),
                },
                http: HttpLimits {
                    pacing: Duration::from_millis(self.tempo_pacing_ms.unwrap_or(1000)),
                    requests: request_rules(
                        "tempo_allowed_requests",
                        self.tempo_allowed_requests.as_deref(),
                        Slot::Tempo,
                    )?,
                    ..http.clone()
                },
                announce_at: match &self.tempo_announce_at {
                    Some(t) => time_of_day("tempo_announce_at", t)?,
                    None => (11, 0),
                },
                retry_every: Duration::from_secs(
                    positive("tempo_retry_minutes", self.tempo_retry_minutes, 30)? * 60,
                ),
            }),
            Some("off") => None,
            Some(other) => bail!("tempo: {other:?} is neither \"on\" nor \"off\""),
        };
        if let Some(t) = &tempo
            && (t.primary == site || t.fallback.as_ref() == Some(&site))
        {
            bail!(
                "tempo_url and tempo_fallback_url must differ from site_url ({}): each guest has \
                 origins of its own",
                site.url()
            );
        }
        let ecowatt = ecowatt_keys.resolve(&http, &site, tempo.as_ref())?;
        Ok(Config {
            tempo,
            ecowatt,
            guests_dir: self.guests_dir.unwrap_or_else(|| PathBuf::from("guests")),
            fixtures_dir: self.fixtures_dir,
            trusted_keys: self.trusted_keys.unwrap_or_default(),
            mqtt,
            home_assistant,
            listen,
            api_token,
            allowed_hosts,
            api_open_to_network,
            accounts,
            db: self.db.unwrap_or_else(|| PathBuf::from("hellowatt.db")),
            site,
            guest: self.guest,
            http,
            limits,
            service,
        })
    }
}

/// A file holding a password must not be readable by other users.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading the permissions of {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} holds a password and can be read by other users (mode {:o}): run `chmod 600 {}`, \
             or move the password to HELLOWATT_PASSWORD or a password_file",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<()> {
    Ok(())
}

/// A file that holds a token alone must not be readable by other users.
#[cfg(unix)]
fn check_private_secret(key: &str, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        // `password` says that the file is missing, and what to do.
        return Ok(());
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{key} {} can be read by other users (mode {:o}): run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_secret(_: &str, _: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_alone_is_enough() {
        let c = Config::load_from(
            None,
            env(&[
                ("HELLOWATT_EMAIL", "a@example.org"),
                ("HELLOWATT_PASSWORD", "Pass-word-2026!"),
                ("HELLOWATT_DB", "/tmp/x.db"),
                ("HELLOWATT_SITE_URL", "http://127.0.0.1:8080"),
                ("HELLOWATT_PACING_MS", "0"),
                ("HELLOWATT_KINDS", "homes, gas-daily"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.account(None).unwrap().credentials().unwrap().1.expose(),
            "Pass-word-2026!"
        );
        assert_eq!(c.site.url(), "http://127.0.0.1:8080");
        assert_eq!(c.http.pacing, Duration::ZERO);
        assert_eq!(
            c.accounts[0].kinds,
            vec![DataKind::Homes, DataKind::GasDaily]
        );
        assert_eq!(c.accounts[0].name, "default");
        assert!(!format!("{c:?}").contains("Pass-word"));

        // The password in a file only the service can read (a systemd
        // credential, a container secret), still no configuration file.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "File-pass-2026!\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let file = file.display().to_string();
        let c = Config::load_from(
            None,
            env(&[
                ("HELLOWATT_EMAIL", "a@example.org"),
                ("HELLOWATT_PASSWORD_FILE", file.as_str()),
            ]),
        )
        .unwrap();
        let (email, password) = c.account(None).unwrap().credentials().unwrap();
        assert_eq!(email, "a@example.org");
        assert_eq!(
            password.expose(),
            "File-pass-2026!",
            "read, its newline dropped"
        );
    }

    /// dist/hellowatt.service hands the password over as an encrypted
    /// credential: the variable names the file systemd decrypts it to, and
    /// the configuration it installs, with that variable, has credentials.
    /// The unit's exposure as systemd rates it, where `systemd-analyze`
    /// exists (skipped, and said, elsewhere): 3.0 or lower.
    #[test]
    fn the_service_unit_exposes_little() {
        let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/hellowatt.service");
        let out = match std::process::Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&unit)
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                eprintln!("skipped: systemd-analyze is not here ({e})");
                return;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let level = text
            .lines()
            .find_map(|l| {
                l.split("Overall exposure level for hellowatt.service: ")
                    .nth(1)
            })
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no exposure level in systemd-analyze's answer:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        println!("exposure level of dist/hellowatt.service: {level}");
        assert!(level <= 3.0, "exposure {level} > 3.0:\n{text}");
        // What the JIT needs stays allowed: writable-then-executable memory.
        let unit_text = std::fs::read_to_string(&unit).unwrap();
        assert!(!unit_text.contains("\nMemoryDenyWriteExecute=yes"));
    }

    #[test]
    fn the_service_unit_passes_the_password_as_a_credential_file() {
        let unit = include_str!("../../dist/hellowatt.service");
        let setting = |prefix: &str| {
            unit.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in dist/hellowatt.service"))
        };
        let (name, _) = setting("LoadCredentialEncrypted=")
            .split_once(':')
            .expect("LoadCredentialEncrypted=NAME:FILE");
        let variable = setting("Environment=HELLOWATT_PASSWORD_FILE=");
        assert_eq!(
            variable,
            format!("%d/{name}"),
            "the variable names the credential"
        );

        // %d is the service's credentials folder; systemd-creds decrypts
        // what `printf '%s'` encrypted: the password with no newline.
        let credentials = tempfile::tempdir().unwrap();
        let file = credentials.path().join(name);
        std::fs::write(&file, "Cred-pass-2026!").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        let file = variable.replace("%d", &credentials.path().display().to_string());
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/config.example.toml");
        let c = Config::load_from(
            Some(&example),
            env(&[
                ("HELLOWATT_DB", setting("Environment=HELLOWATT_DB=")),
                ("HELLOWATT_PASSWORD_FILE", file.as_str()),
            ]),
        )
        .unwrap();
        let (email, password) = c.account(None).unwrap().credentials().unwrap();
        assert_eq!(email, "you@example.org");
        assert_eq!(password.expose(), "Cred-pass-2026!");
    }

    #[test]
    fn mistakes_name_the_key() {
        let e = Config::load_from(None, env(&[("HELLOWATT_PACING_MS", "fast")])).unwrap_err();
        assert!(e.to_string().contains("HELLOWATT_PACING_MS"), "{e}");
        let e = Config::load_from(None, env(&[("HELLOWATT_KINDS", "electricity")])).unwrap_err();
        assert!(
            e.to_string().contains("unknown data kind \"electricity\""),
            "{e}"
        );
        let e = Config::load_from(None, env(&[("HELLOWATT_SITE_URL", "ftp://x")])).unwrap_err();
        assert!(e.to_string().contains("site_url"), "{e}");
        assert!(
            Config::load_from(None, env(&[])).unwrap().accounts[0]
                .credentials()
                .is_err()
        );
    }

    #[test]
    fn files_and_their_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "email = \"a@example.org\"\npasword = \"typo\"\n").unwrap();
        let e = Config::load_from(Some(&path), env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("pasword"), "{e:#}");

        std::fs::write(
            &path,
            "email = \"a@example.org\"\npassword = \"Pass-word-2026!\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Config::load_from(Some(&path), env(&[])).unwrap_err();
            assert!(e.to_string().contains("chmod 600"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let c =
            Config::load_from(Some(&path), env(&[("HELLOWATT_EMAIL", "b@example.org")])).unwrap();
        assert_eq!(
            c.accounts[0].email.as_deref(),
            Some("b@example.org"),
            "the environment wins"
        );
    }

    #[test]
    fn several_accounts_and_the_service_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let pass = dir.path().join("flat.pass");
        std::fs::write(&pass, "Flat-pass-2026!\n").unwrap();
        std::fs::write(
            &path,
            format!(
                "daily_at = \"16:30\"\nbackfill_months = 6\n\
                 [[accounts]]\nname = \"house\"\nemail = \"a@example.org\"\n\
                 password_file = \"{}\"\n\
                 [[accounts]]\nname = \"flat\"\nemail = \"b@example.org\"\n\
                 password_file = \"{}\"\nkinds = [\"homes\"]\n",
                pass.display(),
                pass.display()
            ),
        )
        .unwrap();
        let c = Config::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(c.service.daily_at, (16, 30));
        assert_eq!(c.service.backfill_months, 6);
        assert_eq!(c.accounts.len(), 2);
        let flat = c.account(Some("flat")).unwrap();
        assert_eq!(flat.credentials().unwrap().1.expose(), "Flat-pass-2026!");
        assert_eq!(flat.kinds, vec![DataKind::Homes]);
        assert!(
            c.account(None)
                .unwrap_err()
                .to_string()
                .contains("--account")
        );
        assert!(
            c.account(Some("nope"))
                .unwrap_err()
                .to_string()
                .contains("house, flat")
        );
        assert_ne!(c.accounts[0].fingerprint(), c.accounts[1].fingerprint());
        assert!(!c.accounts[0].fingerprint().contains("Flat"));

        let e = Config::load_from(Some(&path), env(&[("HELLOWATT_EMAIL", "x@example.org")]))
            .unwrap_err();
        assert!(e.to_string().contains("[[accounts]]"), "{e}");
        let e = Config::load_from(None, env(&[("HELLOWATT_DAILY_AT", "3pm")])).unwrap_err();
        assert!(e.to_string().contains("daily_at"), "{e}");
    }

    /// Every mistake of the table gets a message naming the key (or the
    /// variable) and saying what to write instead. (docs/hardening.md)
    #[test]
    fn every_mistake_names_the_key_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| {
            let path = dir.path().join("c.toml");
            std::fs::write(&path, text).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
            Config::load_from(Some(&path), env(&[]))
        };
        let missing = dir.path().join("nowhere").display().to_string();
        let cases: Vec<(&str, Result<Config>, &[&str])> = vec![
            (
                "unknown key",
                file("pasword = \"x\"\n"),
                &["pasword", "known keys"],
            ),
            (
                "not TOML",
                file("email = \n"),
                &["not valid TOML", "c.toml", "key = value", "double quotes"],
            ),
            (
                "text for a number",
                file("pacing_ms = \"fast\"\n"),
                &[
                    "pacing_ms = \"fast\"",
                    "whole number of milliseconds",
                    "without quotes",
                ],
            ),
            (
                "negative number",
                file("pacing_ms = -5\n"),
                &["pacing_ms = -5", "whole number of milliseconds", "sign"],
            ),
            (
                "zero timeout",
                file("request_timeout_seconds = 0\n"),
                &["request_timeout_seconds", "greater than 0"],
            ),
            (
                "zero requests",
                file("max_requests = 0\n"),
                &["max_requests", "greater than 0"],
            ),
            (
                "the API on the network without a token",
                file("listen = \"0.0.0.0:8080\"\n"),
                &[
                    "listen = 0.0.0.0:8080",
                    "no api_token is set",
                    "127.0.0.1:8080",
                    "api_open_to_network = true",
                ],
            ),
            (
                "the API on a LAN address without a token",
                file("listen = \"192.168.1.20:8080\"\n"),
                &["no api_token is set"],
            ),
            (
                "a switch in quotes",
                file("api_open_to_network = \"yes\"\n"),
                &["api_open_to_network", "true or false"],
            ),
            (
                "an allowed host with a scheme",
                file("allowed_hosts = [\"http://nas.lan\"]\n"),
                &["allowed_hosts", "not a host name", "nas.lan"],
            ),
            (
                "site path",
                file("site_url = \"https://www.hellowatt.fr/fr\"\n"),
                &["site_url", "path", "https://www.hellowatt.fr"],
            ),
            (
                "site scheme",
                file("site_url = \"ftp://x\"\n"),
                &["site_url", "https://"],
            ),
            (
                "daily_at",
                file("daily_at = \"3pm\"\n"),
                &["daily_at", "HH:MM"],
            ),
            (
                "backfill",
                file("backfill_months = 999\n"),
                &["backfill_months", "20 years"],
            ),
            (
                "refresh",
                file("refresh_days = 999\n"),
                &["refresh_days", "a year"],
            ),
            (
                "listen",
                file("listen = \"8080\"\n"),
                &["listen", "IP:PORT", "off"],
            ),
            (
                "short token",
                file("api_token = \"abc\"\n"),
                &["api_token", "16 characters"],
            ),
            (
                "both passwords",
                file(&format!(
                    "password = \"a\"\npassword_file = \"{missing}\"\n"
                )),
                &["password", "password_file", "not both"],
            ),
            (
                "missing password file",
                file(&format!("password_file = \"{missing}\"\n")),
                &[
                    "password_file",
                    "nowhere",
                    "an existing file",
                    "set `password` instead",
                ],
            ),
            (
                "unknown kind",
                file("kinds = [\"electricity\"]\n"),
                &["kinds", "electricity", "known:"],
            ),
            (
                "twice the same account",
                file("[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"a\"\n"),
                &["accounts[1]", "\"a\"", "twice"],
            ),
            (
                "reserved account name",
                file("account = \"@tempo\"\n"),
                &["@tempo", "choose another name"],
            ),
            (
                "empty account name",
                file("account = \" \"\n"),
                &["account name", "printable"],
            ),
            (
                "accounts and top level",
                file("email = \"a@b\"\n[[accounts]]\nname = \"a\"\n"),
                &["[[accounts]]", "move them"],
            ),
            (
                "tempo switch",
                file("tempo = \"yes\"\n"),
                &["tempo", "\"on\"", "\"off\""],
            ),
            (
                "ecowatt switch",
                file("ecowatt = \"yes\"\n"),
                &["ecowatt", "\"on\"", "\"off\""],
            ),
            (
                "ecowatt on without credentials",
                file("ecowatt = \"on\"\n"),
                &["RTE credentials", "rte_client_id", "data.rte-france.com"],
            ),
            (
                "rte id alone",
                file("rte_client_id = \"app-1\"\n"),
                &["rte_client_id is set without rte_client_secret"],
            ),
            (
                "ecowatt too often",
                file(
                    "rte_client_id = \"app-1\"\nrte_client_secret = \"s3cret-rte\"\n\
                     ecowatt_every_minutes = 5\n",
                ),
                &["ecowatt_every_minutes", "15"],
            ),
            (
                "ecowatt = site",
                file(
                    "rte_client_id = \"app-1\"\nrte_client_secret = \"s3cret-rte\"\n\
                     ecowatt_url = \"https://www.hellowatt.fr\"\n",
                ),
                &["ecowatt_url", "differ"],
            ),
            (
                "tempo url",
                file("tempo_url = \"api-couleur-tempo.fr\"\n"),
                &["tempo_url", "https://"],
            ),
            (
                "tempo fallback",
                file("tempo_fallback_url = \"https://x/y\"\n"),
                &["tempo_fallback_url", "path", "\"off\""],
            ),
            (
                "tempo = site",
                file("tempo_url = \"https://www.hellowatt.fr\"\n"),
                &["tempo_url", "site_url", "differ"],
            ),
            (
                "tempo announce",
                file("tempo_announce_at = \"25:00\"\n"),
                &["tempo_announce_at", "HH:MM"],
            ),
            (
                "tempo retry",
                file("tempo_retry_minutes = 0\n"),
                &["tempo_retry_minutes", "greater than 0"],
            ),
            (
                "allowed requests",
                file("allowed_requests = [\"DELETE /api/*\"]\n"),
                &[
                    "allowed_requests",
                    "GET, POST or HEAD",
                    "default: GET /accounts/login/",
                ],
            ),
            (
                "tempo allowed requests",
                file("tempo_allowed_requests = [\"GET api\"]\n"),
                &["tempo_allowed_requests", "METHOD /path", "default: GET /*"],
            ),
            (
                "mqtt url",
                file("mqtt_url = \"http://broker\"\n"),
                &["mqtt_url", "mqtt://"],
            ),
            (
                "env number",
                Config::load_from(None, env(&[("HELLOWATT_MEMORY_MIB", "lots")])),
                &["HELLOWATT_MEMORY_MIB", "whole number"],
            ),
            (
                "env kind",
                Config::load_from(None, env(&[("HELLOWATT_KINDS", "gas")])),
                &["kinds", "gas", "known:"],
            ),
        ];
        let mut failures = Vec::new();
        for (case, result, wanted) in cases {
            match result {
                Ok(_) => failures.push(format!("{case}: accepted")),
                Err(e) => {
                    let text = format!("{e:#}");
                    for w in wanted {
                        if !text.contains(w) {
                            failures.push(format!("{case}: {w:?} missing from {text:?}"));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// EcoWatt is on with both RTE credentials (a file's secret or a
    /// variable), off without them or with `ecowatt = "off"`.
    #[test]
    fn ecowatt_follows_the_rte_credentials() {
        let off = Config::load_from(None, env(&[])).unwrap();
        assert!(off.ecowatt.is_none());
        assert_eq!(
            off.requests_for(Slot::Ecowatt).to_string(),
            "GET /open_api/ecowatt/*"
        );
        let creds = [
            ("HELLOWATT_RTE_CLIENT_ID", "app-1"),
            ("HELLOWATT_RTE_CLIENT_SECRET", "s3cret-rte-app"),
        ];
        let on = Config::load_from(None, env(&creds)).unwrap();
        let e = on.ecowatt.as_ref().expect("on with credentials");
        assert_eq!(e.origin.url(), DEFAULT_ECOWATT_URL);
        assert_eq!(e.client_secret.expose(), "s3cret-rte-app");
        assert_eq!(e.every, Duration::from_secs(3600));
        assert!(!format!("{on:?}").contains("s3cret-rte-app"));
        let mut off_again = creds.to_vec();
        off_again.push(("HELLOWATT_ECOWATT", "off"));
        assert!(
            Config::load_from(None, env(&off_again))
                .unwrap()
                .ecowatt
                .is_none()
        );
    }

    /// Each slot's allowed requests: its defaults, or the configured list
    /// (a file's array, or a variable's comma-separated items).
    #[test]
    fn allowed_requests_per_slot() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(
            c.requests_for(Slot::Hellowatt).to_string(),
            "GET /accounts/login/, GET /mon-compte/me-connecter, POST /accounts/login/, GET /api/*"
        );
        assert_eq!(c.requests_for(Slot::Tempo).to_string(), "GET /*");
        let c = Config::load_from(
            None,
            env(&[
                (
                    "HELLOWATT_ALLOWED_REQUESTS",
                    "GET /login, POST /login, GET /v2/api/*",
                ),
                ("HELLOWATT_LOGIN_REQUEST", "POST /login"),
                ("HELLOWATT_TEMPO_ALLOWED_REQUESTS", "GET /api/jourTempo/*"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.requests_for(Slot::Hellowatt)
                .login()
                .map(|l| l.to_string()),
            Some("POST /login".into())
        );
        assert_eq!(c.requests_for(Slot::Tempo).login(), None);
        // The log-in must be one of the allowed requests, a POST to one
        // path: the password goes nowhere else.
        for (rules, login, says) in [
            (
                "GET /login, POST /login",
                None,
                "allowed_requests must allow the log-in",
            ),
            (
                "GET /api/*, POST /accounts/login/",
                Some("POST /api/user"),
                "allow it there too",
            ),
            (
                "GET /api/*, POST /accounts/login/",
                Some("GET /api/x"),
                "a POST to one exact path",
            ),
            (
                "GET /api/*, POST /accounts/*",
                Some("POST /accounts/*"),
                "a POST to one exact path",
            ),
        ] {
            let mut vars = vec![("HELLOWATT_ALLOWED_REQUESTS", rules)];
            vars.extend(login.map(|l| ("HELLOWATT_LOGIN_REQUEST", l)));
            let e = format!("{:#}", Config::load_from(None, env(&vars)).unwrap_err());
            assert!(e.contains(says), "{rules} / {login:?}: {e}");
        }
        assert_eq!(
            c.requests_for(Slot::Hellowatt).to_string(),
            "GET /login, POST /login, GET /v2/api/*"
        );
        assert_eq!(
            c.requests_for(Slot::Tempo).to_string(),
            "GET /api/jourTempo/*"
        );
        assert!(c.requests_for(Slot::Tempo).allows("GET", "/cms/x").is_err());
    }

    /// The API may serve the network with a token, or without one when
    /// the configuration says so in words; on loopback it needs neither.
    #[test]
    fn the_api_on_the_network() {
        let token = ("HELLOWATT_API_TOKEN", "0123456789abcdef0123");
        for vars in [
            vec![("HELLOWATT_LISTEN", "0.0.0.0:8080"), token],
            vec![
                ("HELLOWATT_LISTEN", "0.0.0.0:8080"),
                ("HELLOWATT_API_OPEN_TO_NETWORK", "yes"),
            ],
            vec![("HELLOWATT_LISTEN", "[::1]:8080")],
            vec![],
        ] {
            let c = Config::load_from(None, env(&vars)).unwrap();
            assert!(c.listen.is_some(), "{vars:?}");
        }
        // `status` says which, in one sentence.
        for (vars, says) in [
            (
                vec![("HELLOWATT_LISTEN", "0.0.0.0:8080"), token],
                "The API at http://0.0.0.0:8080/ asks every client for the API token.",
            ),
            (
                vec![
                    ("HELLOWATT_LISTEN", "0.0.0.0:8080"),
                    ("HELLOWATT_API_OPEN_TO_NETWORK", "true"),
                ],
                "The API at http://0.0.0.0:8080/ is OPEN to the network without a token \
                 (api_open_to_network = true): set api_token.",
            ),
            (
                vec![],
                "The API at http://127.0.0.1:8080/ answers this machine only, without a token.",
            ),
            (
                vec![("HELLOWATT_LISTEN", "off")],
                "The API and dashboard are off (listen = \"off\").",
            ),
        ] {
            let c = Config::load_from(None, env(&vars)).unwrap();
            assert_eq!(crate::cli::status::api_door(&c), says);
        }
        let c = Config::load_from(
            None,
            env(&[("HELLOWATT_ALLOWED_HOSTS", "nas.lan, hellowatt.home.example")]),
        )
        .unwrap();
        assert!(
            crate::cli::status::api_door(&c)
                .ends_with("; it also answers as nas.lan, hellowatt.home.example.")
        );
        assert_eq!(c.allowed_hosts, ["nas.lan", "hellowatt.home.example"]);
        assert!(!c.api_open_to_network);
        let e = Config::load_from(None, env(&[("HELLOWATT_API_OPEN_TO_NETWORK", "maybe")]))
            .unwrap_err();
        assert!(e.to_string().contains("neither true nor false"), "{e}");
    }

    #[test]
    fn the_example_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/config.example.toml");
        let c = Config::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(c.accounts.len(), 1);
        assert_eq!(c.service.daily_at, (15, 0));
        assert_eq!(c.site.url(), DEFAULT_SITE);
    }
}
