//! The MQTT keys of the configuration, resolved into an [`MqttConfig`]
//! (broker URL, credentials, TLS, prefixes), and the topic names built
//! from them. It never connects and never logs the broker password.

use crate::sandbox::redact::Secret;
use anyhow::{Context, Result, anyhow, bail};
use std::path::PathBuf;
use std::time::Duration;

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

/// The availability topic's payloads (the last will says offline).
pub(super) const PAYLOAD_ONLINE: &str = "online";
pub(super) const PAYLOAD_OFFLINE: &str = "offline";

/// The Tempo device's node id (see the module docs for the hyphen).
pub(super) const TEMPO_NODE: &str = "hellowatt-tempo";

/// The EcoWatt device's node id (a hyphen too).
pub(super) const ECOWATT_NODE: &str = "hellowatt-ecowatt";

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

    /// `<prefix>/ecowatt/signal`.
    pub fn ecowatt_state_topic(&self) -> String {
        format!("{}/ecowatt/signal", self.prefix)
    }

    /// `<discovery_prefix>/sensor/<node>/<key>/config`.
    pub(super) fn node_config_topic(&self, node: &str, key: &str) -> String {
        format!("{}/sensor/{node}/{key}/config", self.discovery_prefix)
    }
}

/// `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883), read by
/// the `url` crate; what it accepts beyond that (credentials, a path, a
/// query) is refused here with what to write instead.
fn parse_url(url: &str) -> Result<Broker> {
    let usage = "write it mqtt://host:1883 or mqtts://host:8883";
    // `broker:1883` is a URL of scheme `broker` to the `url` crate: say
    // what people meant instead.
    if !url.contains("://") {
        bail!("mqtt_url: {url:?} is not a URL: {usage}");
    }
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        // The error may quote the input, which may hold a password.
        Err(_) if url.contains('@') => bail!(CREDENTIALS_IN_URL),
        Err(url::ParseError::InvalidPort) => {
            bail!("mqtt_url: {url:?}: the port is not a number from 1 to 65535: {usage}")
        }
        Err(url::ParseError::EmptyHost) => bail!("mqtt_url: {url:?} has no valid host: {usage}"),
        Err(e) => bail!("mqtt_url: {url:?} is not a URL ({e}): {usage}"),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Never echo the URL: it holds a password.
        bail!(CREDENTIALS_IN_URL);
    }
    let (tls, default_port) = match parsed.scheme() {
        "mqtt" | "tcp" => (false, 1883),
        "mqtts" | "ssl" => (true, 8883),
        other => bail!("mqtt_url: unknown scheme {other:?}: {usage}"),
    };
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        bail!("mqtt_url: {url:?} has a path or query: {usage}");
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(name))
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) =>
        {
            name.to_owned()
        }
        Some(url::Host::Ipv4(addr)) => addr.to_string(),
        Some(url::Host::Ipv6(addr)) => format!("[{addr}]"),
        _ => bail!("mqtt_url: {url:?} has no valid host: {usage}"),
    };
    let port = match parsed.port() {
        None => default_port,
        Some(0) => {
            bail!("mqtt_url: {url:?}: the port 0 is not a number from 1 to 65535: {usage}")
        }
        Some(n) => n,
    };
    Ok(Broker { host, port, tls })
}

const CREDENTIALS_IN_URL: &str = "mqtt_url must not hold credentials: put them in mqtt_username \
     and mqtt_password (or mqtt_password_file)";

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
pub(super) fn meter_node(meter_id: &str) -> String {
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
