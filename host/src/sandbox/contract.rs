//! The contract seen from the host: the one `bindgen!` site on `wit/`, and
//! the conversions between the generated types and `hellowatt-snapshot`.
//!
//! Everything that crosses the sandbox boundary passes through here. This
//! module must never hold policy or storage: it only translates, and it
//! refuses values that cannot be represented (a day that does not exist).

use hellowatt_snapshot as model;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "hellowatt:scraper/scraper",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use self::hellowatt::scraper::log::Level as LogLevel;
pub use self::hellowatt::scraper::types as wit;

/// The contract versions this host runs. A guest built for another major
/// version is refused with both versions named.
pub const SUPPORTED_MAJOR: u64 = 4;

/// Why a guest on contract 1.x is refused, signed or not (see the
/// versioning rules in `wit/scraper.wit`).
pub const CONTRACT_1_REFUSED: &str = "the guest was built for contract hellowatt:scraper@1.x, \
     which handed guests the user's password: this host runs contract 4.x guests only, which \
     never see it. Rebuild the guest against wit/scraper.wit (4.0.0): the log-in form takes \
     `credentials.password-placeholder` in its password field, and the host keeps the session \
     cookie";

/// Why a guest on contract 2.x is refused: its records lack what 3.0.0
/// added (a failed part, a temperature's period), so the host cannot read
/// its answers.
pub const CONTRACT_2_REFUSED: &str = "the guest was built for contract hellowatt:scraper@2.x: \
     this host runs contract 4.x guests only. Rebuild the guest against wit/scraper.wit \
     (4.0.0): a window whose series failed says so with `window-status::failed`, a \
     temperature carries its `period`, a snapshot its `api-version`, a contract its \
     `subscribed-kva`, and a snapshot its `ecowatt` days";

/// Why a guest on contract 3.x is refused: its contract and snapshot
/// records lack 4.0.0's fields, so the host cannot read its answers.
pub const CONTRACT_3_REFUSED: &str = "the guest was built for contract hellowatt:scraper@3.x: \
     this host runs contract 4.x guests only. Rebuild the guest against wit/scraper.wit \
     (4.0.0): a contract carries `subscribed-kva` (none when the site does not give it) and \
     a snapshot its `ecowatt` days (empty for a guest that does not read RTE's signals)";

/// The refusal of a guest whose imports name an older major version of the
/// contract, if any.
pub fn refused_major(import: &str) -> Option<&'static str> {
    let version = import
        .strip_prefix("hellowatt:scraper/")?
        .split_once('@')?
        .1;
    match version.split('.').next()? {
        "1" => Some(CONTRACT_1_REFUSED),
        "2" => Some(CONTRACT_2_REFUSED),
        "3" => Some(CONTRACT_3_REFUSED),
        _ => None,
    }
}

/// Checks a guest's declared contract version against this host's.
pub fn check_contract_version(declared: &str) -> Result<(), String> {
    let major = declared
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(SUPPORTED_MAJOR) => Ok(()),
        Some(1) => Err(CONTRACT_1_REFUSED.to_string()),
        Some(2) => Err(CONTRACT_2_REFUSED.to_string()),
        Some(3) => Err(CONTRACT_3_REFUSED.to_string()),
        _ => Err(format!(
            "the guest was built for contract hellowatt:scraper@{declared}, this host runs \
             hellowatt:scraper@{} (major version {SUPPORTED_MAJOR}): use a guest built for \
             contract {SUPPORTED_MAJOR}.x",
            model::CONTRACT_VERSION
        )),
    }
}

// ---- host → guest ----

/// The request of one `sync` call, as the contract carries it.
pub fn request_to_wit(r: &model::SyncRequest) -> wit::SyncRequest {
    wit::SyncRequest {
        base_url: r.base_url.clone(),
        credentials: wit::Credentials {
            login: r.login.clone(),
            password_placeholder: r.password_placeholder.clone(),
        },
        start: date_to_wit(r.start),
        end: date_to_wit(r.end),
        kinds: r.kinds.iter().copied().map(kind_to_wit).collect(),
    }
}

fn date_to_wit(d: model::Date) -> wit::Date {
    wit::Date {
        year: d.year,
        month: d.month,
        day: d.day,
    }
}

fn kind_to_wit(k: model::DataKind) -> wit::DataKind {
    match k {
        model::DataKind::Homes => wit::DataKind::Homes,
        model::DataKind::ElectricityDaily => wit::DataKind::ElectricityDaily,
        model::DataKind::ElectricityCurve => wit::DataKind::ElectricityCurve,
        model::DataKind::GasDaily => wit::DataKind::GasDaily,
        model::DataKind::Temperature => wit::DataKind::Temperature,
        model::DataKind::Tempo => wit::DataKind::Tempo,
        model::DataKind::Ecowatt => wit::DataKind::Ecowatt,
    }
}

// ---- guest → host ----

/// A guest value that the model cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub String);

impl std::fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn date(d: &wit::Date, what: &str) -> Result<model::Date, Unrepresentable> {
    model::Date::new(d.year, d.month, d.day).map_err(|e| Unrepresentable(format!("{what}: {e}")))
}

fn kind(k: wit::DataKind) -> model::DataKind {
    match k {
        wit::DataKind::Homes => model::DataKind::Homes,
        wit::DataKind::ElectricityDaily => model::DataKind::ElectricityDaily,
        wit::DataKind::ElectricityCurve => model::DataKind::ElectricityCurve,
        wit::DataKind::GasDaily => model::DataKind::GasDaily,
        wit::DataKind::Temperature => model::DataKind::Temperature,
        wit::DataKind::Tempo => model::DataKind::Tempo,
        wit::DataKind::Ecowatt => model::DataKind::Ecowatt,
    }
}

fn energy(e: wit::Energy) -> model::Energy {
    match e {
        wit::Energy::Electricity => model::Energy::Electricity,
        wit::Energy::Gas => model::Energy::Gas,
    }
}

fn colour(c: wit::TempoColour) -> model::TempoColour {
    match c {
        wit::TempoColour::Blue => model::TempoColour::Blue,
        wit::TempoColour::White => model::TempoColour::White,
        wit::TempoColour::Red => model::TempoColour::Red,
    }
}

pub fn guest_info(i: wit::GuestInfo) -> model::GuestInfo {
    model::GuestInfo {
        name: i.name,
        version: i.version,
        contract: i.contract,
        provides: i.provides.into_iter().map(kind).collect(),
        description: i.description,
    }
}

pub fn snapshot(s: wit::Snapshot) -> Result<model::Snapshot, Unrepresentable> {
    let homes = s
        .homes
        .into_iter()
        .map(|h| model::Home {
            id: h.id,
            address: h.address,
            postal_code: h.postal_code,
            city: h.city,
            meters: h
                .meters
                .into_iter()
                .map(|m| model::Meter {
                    id: m.id,
                    energy: energy(m.energy),
                })
                .collect(),
        })
        .collect();
    let contracts = s
        .contracts
        .into_iter()
        .map(|c| model::Contract {
            home_id: c.home_id,
            energy: c.energy.map(energy),
            provider: c.provider,
            offer: c.offer,
            state: c.state,
            active: c.active,
            subscribed_kva: c.subscribed_kva,
        })
        .collect();
    let daily = s
        .daily
        .into_iter()
        .map(|r| {
            Ok(model::DailyReading {
                date: date(&r.date, "daily reading date")?,
                meter_id: r.meter_id,
                periods: r
                    .periods
                    .into_iter()
                    .map(|p| model::PeriodValue {
                        period: p.period,
                        kwh: p.kwh,
                        eur: p.eur,
                    })
                    .collect(),
                amounts: model::Amounts {
                    kwh: r.kwh,
                    eur: r.eur,
                    subscription_eur: r.subscription_eur,
                    co2_kg: r.co2_kg,
                    solar_production_kwh: r.solar_production_kwh,
                    solar_production_eur: r.solar_production_eur,
                    injection_kwh: r.injection_kwh,
                    injection_eur: r.injection_eur,
                },
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    let curve = s
        .curve
        .into_iter()
        .map(|p| {
            Ok(model::CurvePoint {
                date: date(&p.date, "curve point date")?,
                meter_id: p.meter_id,
                start: p.start,
                minutes: p.minutes,
                kwh: p.kwh,
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    let temperatures = s
        .temperatures
        .into_iter()
        .map(|t| {
            Ok(model::Temperature {
                date: date(&t.date, "temperature date")?,
                home_id: t.home_id,
                period: match t.period {
                    wit::TemperaturePeriod::Day => model::TemperaturePeriod::Day,
                    wit::TemperaturePeriod::Month => model::TemperaturePeriod::Month,
                },
                celsius: t.celsius,
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    let tempo_days = s
        .tempo_days
        .into_iter()
        .map(|t| {
            Ok(model::TempoDay {
                date: date(&t.date, "tempo day date")?,
                colour: t.colour.map(colour),
                source: match t.source {
                    wit::TempoSource::TariffKeys => model::TempoSource::TariffKeys,
                    wit::TempoSource::Service => model::TempoSource::Service,
                },
                meter_id: t.meter_id,
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    let ecowatt = s
        .ecowatt
        .into_iter()
        .map(|d| {
            Ok(model::EcoWattDay {
                date: date(&d.date, "EcoWatt day date")?,
                level: d.level,
                hours: d
                    .hours
                    .into_iter()
                    .map(|h| model::EcoWattHour {
                        start: h.start,
                        level: h.level,
                    })
                    .collect(),
                generated_at: d.generated_at,
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    let windows = s
        .windows
        .into_iter()
        .map(|w| {
            Ok(model::Window {
                start: date(&w.start, "window start")?,
                end: date(&w.end, "window end")?,
                subject: w.subject,
                kind: kind(w.kind),
                status: match w.status {
                    wit::WindowStatus::Complete => model::WindowStatus::Complete,
                    wit::WindowStatus::FetchOngoing => model::WindowStatus::FetchOngoing,
                    wit::WindowStatus::SiteError(s) => model::WindowStatus::SiteError(s),
                    wit::WindowStatus::NotAvailable(s) => model::WindowStatus::NotAvailable(s),
                    wit::WindowStatus::Failed(e) => model::WindowStatus::Failed(sync_error(e)),
                },
            })
        })
        .collect::<Result<_, Unrepresentable>>()?;
    Ok(model::Snapshot {
        homes,
        contracts,
        daily,
        curve,
        temperatures,
        tempo_days,
        ecowatt,
        windows,
        api_version: s.api_version,
    })
}

pub fn sync_error(e: wit::SyncError) -> model::SyncError {
    match e {
        wit::SyncError::CredentialsRejected(detail) => {
            model::SyncError::CredentialsRejected { detail }
        }
        wit::SyncError::RateLimited(r) => model::SyncError::RateLimited(model::RateLimit {
            retry_after_seconds: r.retry_after_seconds,
            detail: r.detail,
        }),
        wit::SyncError::SessionLost(detail) => model::SyncError::SessionLost { detail },
        wit::SyncError::ActionNeeded(detail) => model::SyncError::ActionNeeded { detail },
        wit::SyncError::SiteUnavailable(u) => {
            model::SyncError::SiteUnavailable(model::Unavailable {
                status: u.status,
                retry_after_seconds: u.retry_after_seconds,
                detail: u.detail,
            })
        }
        wit::SyncError::SiteChanged(c) => model::SyncError::SiteChanged(model::SiteChange {
            location: c.location,
            detail: c.detail,
        }),
        wit::SyncError::Transport(detail) => model::SyncError::Transport { detail },
        wit::SyncError::Other(detail) => model::SyncError::Other { detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions() {
        assert!(check_contract_version("4.0.0").is_ok());
        assert!(check_contract_version("4.4.2").is_ok());
        let err = check_contract_version("5.0.0").unwrap_err();
        assert!(err.contains("5.0.0") && err.contains("4.0.0"), "{err}");
        let err = check_contract_version("1.0.0").unwrap_err();
        assert!(err.contains("password"), "{err}");
        let err = check_contract_version("2.0.0").unwrap_err();
        assert!(err.contains("@2.x") && err.contains("4.0.0"), "{err}");
        let err = check_contract_version("3.0.0").unwrap_err();
        assert!(
            err.contains("@3.x") && err.contains("subscribed-kva"),
            "{err}"
        );
        assert!(check_contract_version("garbage").is_err());
    }

    #[test]
    fn older_majors_are_refused_by_their_imports() {
        assert_eq!(
            refused_major("hellowatt:scraper/log@1.0.0"),
            Some(CONTRACT_1_REFUSED)
        );
        assert_eq!(
            refused_major("hellowatt:scraper/types@2.0.0"),
            Some(CONTRACT_2_REFUSED)
        );
        assert_eq!(
            refused_major("hellowatt:scraper/types@3.0.0"),
            Some(CONTRACT_3_REFUSED)
        );
        assert_eq!(refused_major("hellowatt:scraper/log@4.0.0"), None);
        assert_eq!(refused_major("wasi:http/types@0.2.12"), None);
        assert_eq!(refused_major("hellowatt:scraper/log@21.0.0"), None);
    }

    #[test]
    fn impossible_dates_are_refused() {
        let s = wit::Snapshot {
            homes: vec![],
            contracts: vec![],
            daily: vec![],
            curve: vec![],
            temperatures: vec![wit::Temperature {
                home_id: "1".into(),
                date: wit::Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                },
                period: wit::TemperaturePeriod::Day,
                celsius: 3.0,
            }],
            tempo_days: vec![],
            ecowatt: vec![],
            windows: vec![],
            api_version: None,
        };
        let err = snapshot(s).unwrap_err();
        assert!(err.0.contains("2026-02-30"), "{err}");
    }
}
