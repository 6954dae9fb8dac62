//! Home Assistant long-term statistics: each hour's consumption, cost and
//! solar figures filed at the hour it happened, not at the hour a sync
//! brought it, through Home Assistant's WebSocket API
//! (`recorder/import_statistics`), with no custom integration to install.
//!
//! It owns the `ha_*` keys of the configuration ([`HaKeys`] →
//! [`HaConfig`]), the series (`series.rs`: what each hour holds), the
//! WebSocket client (`client.rs`) and the push ([`push`]): which hours to
//! send, and the record of what Home Assistant accepted (the store's
//! `ha_statistics`). It reads the store's data and never writes it; it
//! never receives a helloWatt credential; the token lives in a [`Secret`]
//! that nothing here logs or formats. It is off when `ha_url` is unset.
//!
//! # Statistics
//! External statistics of source `hellowatt`, one per meter and quantity,
//! `hellowatt:<meter>_<quantity>` (the meter's PDL or PCE, lower case):
//! - `energy` (kWh) and `cost` (EUR): consumption, electricity or gas;
//! - `energy_<period>` and `cost_<period>` for each tariff period other
//!   than `Base` (`hp`, `hc`, `tempo_blue_hp`, …);
//! - `production` and `injection` (kWh) and `injection_compensation` (EUR)
//!   on meters with solar figures.
//!
//! Each hour carries its amount (`state`) and the running total (`sum`)
//! from the series' first stored hour. Where the hours come from (the
//! curve, or the day's total at Paris midnight) is `series.rs`.
//!
//! # The push
//! After every sync run (and when the service starts; during a backfill,
//! once it is done, since its months arrive newest first), the series are
//! computed from the store and compared with what Home Assistant last
//! accepted. From the first hour that differs (a new day, a corrected day,
//! a backfill that reaches further back), that hour and every later one are
//! sent again, so every later `sum` follows a correction. Nothing differs:
//! nothing is sent, and when the last push succeeded Home Assistant is not
//! even contacted. Sending the same hours twice changes nothing there
//! (an import replaces the rows of the same hour). A statistic Home
//! Assistant no longer lists (its database was reset, someone deleted it)
//! is sent whole again.
//!
//! # Failures
//! Home Assistant down, a refused token or a refused import never fail a
//! sync: the push records the error (status, `/metrics`, the dashboard)
//! and the hours it could not send are sent by the next push.

mod client;
mod series;

pub use client::{HaClient, HaError};
pub use series::{Hour, Series, Unit, of_meter, statistic_id};

use crate::sandbox::redact::Secret;
use crate::store::{LedgerHours, Store};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// Hours per import message: Home Assistant's WebSocket server takes
/// messages up to 4 MiB, and an hour is about 80 bytes of JSON.
const HOURS_PER_IMPORT: usize = 5000;

/// How long one command may take (an import is queued, not committed, by
/// the time Home Assistant answers).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The `ha_*` keys as the configuration gives them.
#[derive(Debug, Default)]
pub struct HaKeys {
    pub url: Option<String>,
    pub token: Option<Secret>,
    pub ca_file: Option<PathBuf>,
}

/// Where Home Assistant is and how to authenticate.
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `ws://host:port/api/websocket` or `wss://…`.
    pub url: url::Url,
    pub token: Secret,
    /// Certificate authorities for `https://` (else the system's).
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl HaConfig {
    /// The address as people configured it (`http://host:8123`).
    pub fn display_url(&self) -> String {
        let scheme = if self.url.scheme() == "wss" {
            "https"
        } else {
            "http"
        };
        match self.url.port() {
            Some(port) => format!(
                "{scheme}://{}:{port}",
                self.url.host_str().unwrap_or_default()
            ),
            None => format!("{scheme}://{}", self.url.host_str().unwrap_or_default()),
        }
    }
}

impl HaKeys {
    /// `None` when `ha_url` is unset (and no other key is: a token without
    /// an address is a mistake worth saying).
    pub fn resolve(self) -> Result<Option<HaConfig>> {
        let Some(raw) = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            if self.token.is_some() || self.ca_file.is_some() {
                bail!(
                    "ha_token or ha_ca_file is set but ha_url is not: set ha_url to Home \
                     Assistant's address (e.g. http://homeassistant.local:8123)"
                );
            }
            return Ok(None);
        };
        let url = websocket_url(raw)?;
        let token = self.token.ok_or_else(|| {
            anyhow!(
                "ha_url is set but no token: create a long-lived access token in Home Assistant \
                 (your profile, Security tab), save it in a file only you can read (chmod 600) \
                 and set ha_token_file to it"
            )
        })?;
        if token.expose().trim().is_empty() || token.expose().chars().any(char::is_whitespace) {
            bail!("ha_token: the token is empty or has spaces in it: paste it whole, on one line");
        }
        Ok(Some(HaConfig {
            url,
            token,
            ca_file: self.ca_file,
            timeout: DEFAULT_TIMEOUT,
        }))
    }
}

/// `http(s)://host[:port][/]` (or `ws(s)://…`) → the WebSocket API's URL.
fn websocket_url(raw: &str) -> Result<url::Url> {
    let fix = "write Home Assistant's address as http://HOST:8123 (or https://HOST)";
    let url = url::Url::parse(raw).map_err(|e| anyhow!("ha_url {raw:?}: {e}: {fix}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        bail!("ha_url must not hold a user or password (the token authenticates): {fix}");
    }
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => bail!("ha_url: the scheme {other:?} is not one Home Assistant serves: {fix}"),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow!("ha_url {raw:?} has no host: {fix}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        bail!("ha_url {raw:?} has a query or fragment: {fix}");
    }
    // A Home Assistant behind a reverse proxy under a path keeps it.
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/websocket").unwrap_or(path);
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    url::Url::parse(&format!("{scheme}://{host}{port}{path}/api/websocket"))
        .with_context(|| format!("ha_url {raw:?}: {fix}"))
}

/// The hours of one statistic to send: every hour from the first that
/// Home Assistant does not have as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: String,
    pub name: String,
    pub unit: Unit,
    pub hours: Vec<Hour>,
}

/// Every series of every meter in the store.
pub fn all_series(store: &Store) -> Result<Vec<Series>> {
    let mut out = Vec::new();
    for meter in store.meters(None)? {
        let (Some(first), Some(last)) = (meter.first_day, meter.last_day) else {
            continue;
        };
        let days = store.daily(&meter.meter_id, first, last)?;
        // The curve may reach past the daily readings (or before them).
        let (from, to) = (
            first.add_days(-366 * 5),
            last.add_days(366).max(crate::clock::today()),
        );
        let curve = store.curve(&meter.meter_id, from, to)?;
        out.extend(of_meter(&meter, &days, &curve));
    }
    Ok(out)
}

/// What to send so that Home Assistant holds `series` given that it holds
/// `ledger`. An hour Home Assistant has and the series no longer has (a
/// day that had only its total at midnight and now has its curve keeps its
/// midnight hour; never the other way round, but a stored day is never
/// removed either) is sent as an empty hour with the sum carried over, and
/// stays one.
pub fn plan(series: &[Series], ledger: &BTreeMap<String, LedgerHours>) -> Vec<Upload> {
    let empty = LedgerHours::new();
    let mut out = Vec::new();
    for s in series {
        let had = ledger.get(&s.id).unwrap_or(&empty);
        let computed: BTreeMap<i64, f64> = s.hours.iter().map(|h| (h.start, h.state)).collect();
        let starts: BTreeSet<i64> = computed.keys().chain(had.keys()).copied().collect();
        let mut sum = 0.0;
        let wanted: Vec<Hour> = starts
            .into_iter()
            .map(|start| {
                let state = computed.get(&start).copied().unwrap_or(0.0);
                sum += state;
                Hour { start, state, sum }
            })
            .collect();
        let first_change = wanted
            .iter()
            .position(|h| had.get(&h.start) != Some(&(h.state, h.sum)));
        if let Some(i) = first_change {
            out.push(Upload {
                id: s.id.clone(),
                name: s.name.clone(),
                unit: s.unit,
                hours: wanted[i..].to_vec(),
            });
        }
    }
    out
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Series computed from the store.
    pub series: usize,
    /// Statistics sent (in part or whole) and hours sent.
    pub uploads: usize,
    pub hours: usize,
    /// Statistics Home Assistant no longer had, sent whole again.
    pub forgotten: usize,
    /// Whether Home Assistant was contacted at all.
    pub contacted: bool,
}

/// Brings Home Assistant's statistics up to the store; see the module
/// docs. The outcome is recorded in the store (`ha_push`) either way;
/// `full` sends every hour again, whatever was sent before.
pub async fn push(
    store: &tokio::sync::Mutex<Store>,
    config: &HaConfig,
    full: bool,
    now: i64,
) -> Result<PushReport> {
    let result = push_inner(store, config, full).await;
    let mut guard = store.lock().await;
    let outcome = match &result {
        Ok(r) => Ok((r.series as u64, r.hours as u64)),
        Err(e) => Err(format!("{e:#}")),
    };
    guard.record_ha_push(now, outcome.as_ref().map(|v| *v).map_err(String::as_str))?;
    result
}

async fn push_inner(
    store: &tokio::sync::Mutex<Store>,
    config: &HaConfig,
    full: bool,
) -> Result<PushReport> {
    let (series, mut ledger, last_ok) = {
        let store = store.lock().await;
        let series = all_series(&store).context("computing the statistics from the store")?;
        let ledger = if full {
            BTreeMap::new()
        } else {
            store.ha_ledger()?
        };
        let last_ok = store.ha_push_state()?.is_some_and(|s| s.error.is_none());
        (series, ledger, last_ok)
    };
    let mut report = PushReport {
        series: series.len(),
        ..PushReport::default()
    };
    if last_ok && plan(&series, &ledger).is_empty() {
        return Ok(report);
    }
    report.contacted = true;
    let mut client = HaClient::connect(config).await?;
    let listed = client
        .call(json!({"type": "recorder/list_statistic_ids", "statistic_type": "sum"}))
        .await?;
    let known: BTreeSet<String> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["statistic_id"].as_str().map(str::to_owned))
        .collect();
    let gone: Vec<String> = ledger
        .keys()
        .filter(|id| !known.contains(*id))
        .cloned()
        .collect();
    for id in &gone {
        ledger.remove(id);
        store.lock().await.ha_forget(id)?;
    }
    report.forgotten = gone.len();
    let uploads = plan(&series, &ledger);
    for upload in &uploads {
        for chunk in upload.hours.chunks(HOURS_PER_IMPORT) {
            client.call(import_command(upload, chunk)).await?;
            let accepted: Vec<(i64, f64, f64)> =
                chunk.iter().map(|h| (h.start, h.state, h.sum)).collect();
            store.lock().await.ha_accepted(&upload.id, &accepted)?;
            report.hours += chunk.len();
        }
        report.uploads += 1;
    }
    client.close().await;
    Ok(report)
}

/// `recorder/import_statistics` for `hours` of `upload`. `has_mean` rather
/// than the newer `mean_type`: Home Assistant before 2025.4 refuses keys it
/// does not know, and later ones still take `has_mean`.
fn import_command(upload: &Upload, hours: &[Hour]) -> serde_json::Value {
    let stats: Vec<serde_json::Value> = hours
        .iter()
        .map(|h| {
            json!({
                "start": hellowatt_snapshot::paris_iso(h.start),
                "state": h.state,
                "sum": h.sum,
            })
        })
        .collect();
    json!({
        "type": "recorder/import_statistics",
        "metadata": {
            "has_mean": false,
            "has_sum": true,
            "name": upload.name,
            "source": "hellowatt",
            "statistic_id": upload.id,
            "unit_of_measurement": upload.unit.as_str(),
        },
        "stats": stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(hours: &[(i64, f64)]) -> Series {
        let mut sum = 0.0;
        Series {
            id: "hellowatt:1_energy".into(),
            name: "n".into(),
            unit: Unit::Kwh,
            hours: hours
                .iter()
                .map(|&(start, state)| {
                    sum += state;
                    Hour { start, state, sum }
                })
                .collect(),
        }
    }

    fn ledger_of(upload: &[Upload]) -> BTreeMap<String, LedgerHours> {
        let mut ledger: BTreeMap<String, LedgerHours> = BTreeMap::new();
        for u in upload {
            let hours = ledger.entry(u.id.clone()).or_default();
            let from = u.hours[0].start;
            hours.retain(|&start, _| start < from);
            hours.extend(u.hours.iter().map(|h| (h.start, (h.state, h.sum))));
        }
        ledger
    }

    #[test]
    fn a_first_push_sends_everything_and_a_second_nothing() {
        let s = [series(&[(0, 1.0), (3600, 2.0), (7200, 3.0)])];
        let first = plan(&s, &BTreeMap::new());
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].hours, s[0].hours);
        assert_eq!(plan(&s, &ledger_of(&first)), vec![]);
    }

    #[test]
    fn a_corrected_hour_sends_it_and_every_later_sum() {
        let before = [series(&[(0, 1.0), (3600, 2.0), (7200, 3.0), (10800, 4.0)])];
        let ledger = ledger_of(&plan(&before, &BTreeMap::new()));
        let after = [series(&[(0, 1.0), (3600, 2.5), (7200, 3.0), (10800, 4.0)])];
        let upload = plan(&after, &ledger);
        assert_eq!(
            upload[0]
                .hours
                .iter()
                .map(|h| (h.start, h.sum))
                .collect::<Vec<_>>(),
            [(3600, 3.5), (7200, 6.5), (10800, 10.5)]
        );
        // History that grows backwards re-sends everything after it.
        let earlier = [series(&[
            (-3600, 0.5),
            (0, 1.0),
            (3600, 2.0),
            (7200, 3.0),
            (10800, 4.0),
        ])];
        assert_eq!(plan(&earlier, &ledger)[0].hours.len(), 5);
    }

    #[test]
    fn an_hour_home_assistant_has_and_the_series_dropped_becomes_empty_for_good() {
        let before = [series(&[(0, 24.0), (86400, 20.0)])];
        let ledger = ledger_of(&plan(&before, &BTreeMap::new()));
        // Day one now has its curve: 1.0 in each hour from 3600 on.
        let hourly: Vec<(i64, f64)> = (1..24)
            .map(|h| (h * 3600, 1.0))
            .chain([(86400, 20.0)])
            .collect();
        let after = [series(&hourly)];
        let upload = plan(&after, &ledger);
        assert_eq!(
            upload[0].hours[0],
            Hour {
                start: 0,
                state: 0.0,
                sum: 0.0
            }
        );
        assert_eq!(upload[0].hours.last().unwrap().sum, 43.0);
        assert_eq!(
            plan(&after, &ledger_of(&upload)),
            vec![],
            "and it stays that way"
        );
    }

    #[test]
    fn ha_url_becomes_the_websocket_url() {
        for (raw, want) in [
            (
                "http://homeassistant.local:8123",
                "ws://homeassistant.local:8123/api/websocket",
            ),
            (
                "http://127.0.0.1:8123/",
                "ws://127.0.0.1:8123/api/websocket",
            ),
            (
                "https://ha.example.org",
                "wss://ha.example.org/api/websocket",
            ),
            (
                "https://ha.example.org/ha/",
                "wss://ha.example.org/ha/api/websocket",
            ),
            (
                "ws://[::1]:8123/api/websocket",
                "ws://[::1]:8123/api/websocket",
            ),
        ] {
            assert_eq!(websocket_url(raw).unwrap().as_str(), want, "{raw}");
        }
        for (raw, says) in [
            ("homeassistant.local:8123", "scheme"),
            ("ftp://ha", "scheme"),
            ("http://user:pw@ha:8123", "user or password"),
            ("http://ha:8123/?x=1", "query"),
        ] {
            let e = websocket_url(raw).unwrap_err().to_string();
            assert!(e.contains(says), "{raw}: {e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }

    #[test]
    fn the_keys_need_each_other() {
        let token = || Some(Secret::new("abc.def.ghi".to_string()));
        assert!(HaKeys::default().resolve().unwrap().is_none());
        let e = HaKeys {
            token: token(),
            ..HaKeys::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("ha_url"), "{e}");
        let e = HaKeys {
            url: Some("http://ha:8123".into()),
            ..HaKeys::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("ha_token_file"), "{e}");
        let config = HaKeys {
            url: Some("http://ha:8123".into()),
            token: token(),
            ca_file: None,
        }
        .resolve()
        .unwrap()
        .unwrap();
        assert_eq!(config.display_url(), "http://ha:8123");
        assert!(
            !format!("{config:?}").contains("abc.def.ghi"),
            "the token is never formatted"
        );
    }
}
