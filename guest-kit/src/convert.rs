//! The only place where the contract's WIT types meet the plain model of
//! `hellowatt-snapshot`, for every guest: the request in, `describe`'s
//! guest info, the snapshot and the error out.
//!
//! This module owns field-for-field conversions and nothing else. It must
//! never hold flow or parsing logic, or drop or invent data (a `None` stays
//! a `None`, never a zero).

use crate::bindings::hellowatt::scraper::types as wit;
use hellowatt_snapshot as model;

/// `describe()`'s answer from a guest's constants.
pub fn guest_info(
    name: &str,
    version: &str,
    contract: &str,
    provides: &[model::DataKind],
    description: &str,
) -> wit::GuestInfo {
    wit::GuestInfo {
        name: name.to_string(),
        version: version.to_string(),
        contract: contract.to_string(),
        provides: provides.iter().map(|k| kind_to_wit(*k)).collect(),
        description: description.to_string(),
    }
}

/// The request of one `sync` call; a date that is no calendar day is
/// refused.
pub fn request_from_wit(r: wit::SyncRequest) -> Result<model::SyncRequest, model::SyncError> {
    Ok(model::SyncRequest {
        start: date_from_wit(&r.start)?,
        end: date_from_wit(&r.end)?,
        kinds: r.kinds.iter().map(|k| kind_from_wit(*k)).collect(),
        base_url: r.base_url,
        login: r.credentials.login,
        password_placeholder: r.credentials.password_placeholder,
    })
}

/// A day of the request; a WIT date that is no calendar day is refused.
pub fn date_from_wit(d: &wit::Date) -> Result<model::Date, model::SyncError> {
    model::Date::new(d.year, d.month, d.day).map_err(|e| model::SyncError::Other {
        detail: format!("the request's date is not a day: {e}"),
    })
}

pub fn date_to_wit(d: model::Date) -> wit::Date {
    wit::Date {
        year: d.year,
        month: d.month,
        day: d.day,
    }
}

pub fn kind_from_wit(k: wit::DataKind) -> model::DataKind {
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

pub fn kind_to_wit(k: model::DataKind) -> wit::DataKind {
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

fn energy_to_wit(e: model::Energy) -> wit::Energy {
    match e {
        model::Energy::Electricity => wit::Energy::Electricity,
        model::Energy::Gas => wit::Energy::Gas,
    }
}

fn colour_to_wit(c: model::TempoColour) -> wit::TempoColour {
    match c {
        model::TempoColour::Blue => wit::TempoColour::Blue,
        model::TempoColour::White => wit::TempoColour::White,
        model::TempoColour::Red => wit::TempoColour::Red,
    }
}

/// The whole snapshot, list by list.
pub fn snapshot_to_wit(s: model::Snapshot) -> wit::Snapshot {
    wit::Snapshot {
        homes: s.homes.into_iter().map(home_to_wit).collect(),
        contracts: s.contracts.into_iter().map(contract_to_wit).collect(),
        daily: s.daily.into_iter().map(daily_to_wit).collect(),
        curve: s.curve.into_iter().map(curve_point_to_wit).collect(),
        temperatures: s.temperatures.into_iter().map(temperature_to_wit).collect(),
        tempo_days: s.tempo_days.into_iter().map(tempo_day_to_wit).collect(),
        ecowatt: s.ecowatt.into_iter().map(ecowatt_day_to_wit).collect(),
        windows: s.windows.into_iter().map(window_to_wit).collect(),
        api_version: s.api_version,
    }
}

pub fn home_to_wit(h: model::Home) -> wit::Home {
    wit::Home {
        id: h.id,
        address: h.address,
        postal_code: h.postal_code,
        city: h.city,
        meters: h
            .meters
            .into_iter()
            .map(|m| wit::Meter {
                id: m.id,
                energy: energy_to_wit(m.energy),
            })
            .collect(),
    }
}

pub fn contract_to_wit(c: model::Contract) -> wit::Contract {
    wit::Contract {
        home_id: c.home_id,
        energy: c.energy.map(energy_to_wit),
        provider: c.provider,
        offer: c.offer,
        state: c.state,
        active: c.active,
        subscribed_kva: c.subscribed_kva,
    }
}

pub fn ecowatt_day_to_wit(d: model::EcoWattDay) -> wit::EcowattDay {
    wit::EcowattDay {
        date: date_to_wit(d.date),
        level: d.level,
        hours: d
            .hours
            .into_iter()
            .map(|h| wit::EcowattHour {
                start: h.start,
                level: h.level,
            })
            .collect(),
        generated_at: d.generated_at,
    }
}

pub fn daily_to_wit(r: model::DailyReading) -> wit::DailyReading {
    wit::DailyReading {
        meter_id: r.meter_id,
        date: date_to_wit(r.date),
        periods: r
            .periods
            .into_iter()
            .map(|p| wit::PeriodValue {
                period: p.period,
                kwh: p.kwh,
                eur: p.eur,
            })
            .collect(),
        kwh: r.amounts.kwh,
        eur: r.amounts.eur,
        subscription_eur: r.amounts.subscription_eur,
        co2_kg: r.amounts.co2_kg,
        solar_production_kwh: r.amounts.solar_production_kwh,
        solar_production_eur: r.amounts.solar_production_eur,
        injection_kwh: r.amounts.injection_kwh,
        injection_eur: r.amounts.injection_eur,
    }
}

pub fn curve_point_to_wit(p: model::CurvePoint) -> wit::CurvePoint {
    wit::CurvePoint {
        meter_id: p.meter_id,
        start: p.start,
        date: date_to_wit(p.date),
        minutes: p.minutes,
        kwh: p.kwh,
    }
}

pub fn temperature_to_wit(t: model::Temperature) -> wit::Temperature {
    wit::Temperature {
        home_id: t.home_id,
        date: date_to_wit(t.date),
        period: match t.period {
            model::TemperaturePeriod::Day => wit::TemperaturePeriod::Day,
            model::TemperaturePeriod::Month => wit::TemperaturePeriod::Month,
        },
        celsius: t.celsius,
    }
}

pub fn tempo_day_to_wit(t: model::TempoDay) -> wit::TempoDay {
    wit::TempoDay {
        date: date_to_wit(t.date),
        colour: t.colour.map(colour_to_wit),
        source: match t.source {
            model::TempoSource::TariffKeys => wit::TempoSource::TariffKeys,
            model::TempoSource::Service => wit::TempoSource::Service,
        },
        meter_id: t.meter_id,
    }
}

pub fn window_to_wit(w: model::Window) -> wit::Window {
    wit::Window {
        subject: w.subject,
        kind: kind_to_wit(w.kind),
        start: date_to_wit(w.start),
        end: date_to_wit(w.end),
        status: match w.status {
            model::WindowStatus::Complete => wit::WindowStatus::Complete,
            model::WindowStatus::FetchOngoing => wit::WindowStatus::FetchOngoing,
            model::WindowStatus::SiteError(d) => wit::WindowStatus::SiteError(d),
            model::WindowStatus::NotAvailable(d) => wit::WindowStatus::NotAvailable(d),
            model::WindowStatus::Failed(e) => wit::WindowStatus::Failed(error_to_wit(e)),
        },
    }
}

pub fn error_to_wit(e: model::SyncError) -> wit::SyncError {
    match e {
        model::SyncError::CredentialsRejected { detail } => {
            wit::SyncError::CredentialsRejected(detail)
        }
        model::SyncError::RateLimited(r) => wit::SyncError::RateLimited(wit::RateLimit {
            retry_after_seconds: r.retry_after_seconds,
            detail: r.detail,
        }),
        model::SyncError::SessionLost { detail } => wit::SyncError::SessionLost(detail),
        model::SyncError::ActionNeeded { detail } => wit::SyncError::ActionNeeded(detail),
        model::SyncError::SiteUnavailable(u) => wit::SyncError::SiteUnavailable(wit::Unavailable {
            status: u.status,
            retry_after_seconds: u.retry_after_seconds,
            detail: u.detail,
        }),
        model::SyncError::SiteChanged(c) => wit::SyncError::SiteChanged(wit::SiteChange {
            location: c.location,
            detail: c.detail,
        }),
        model::SyncError::Transport { detail } => wit::SyncError::Transport(detail),
        model::SyncError::Other { detail } => wit::SyncError::Other(detail),
    }
}
