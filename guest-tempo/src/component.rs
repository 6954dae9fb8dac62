//! The component's edge: the bindings of `wit/scraper.wit`, the exported
//! `describe` and `sync`, and the conversions between the contract's types
//! and the plain model of `hellowatt-snapshot`.
//!
//! This module owns the only place where WIT types meet the model. It must
//! never hold flow or parsing logic (that is `api` and `parse`), and it
//! drops the credentials at once: they are never read, logged or kept.

use crate::api::{self, SyncRequest};
use crate::logging::{Level, Log};
use crate::wasi_http::WasiHttp;
use hellowatt_snapshot as model;

/// The bindings of the contract (and of the WASI packages it uses), kept
/// in their own module so their names do not meet the model's. Generated
/// code: lints are the generator's business.
#[allow(clippy::too_many_arguments)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scraper",
        generate_all,
    });
}

use bindings::hellowatt::scraper::log as host_log;
use bindings::hellowatt::scraper::types as wit;

struct Component;

bindings::export!(Component with_types_in bindings);

impl bindings::Guest for Component {
    fn describe() -> wit::GuestInfo {
        wit::GuestInfo {
            name: crate::NAME.to_string(),
            version: crate::VERSION.to_string(),
            contract: crate::CONTRACT.to_string(),
            provides: api::PROVIDES.iter().map(|k| kind_to_wit(*k)).collect(),
            description: crate::DESCRIPTION.to_string(),
        }
    }

    fn sync(request: wit::SyncRequest) -> Result<wit::Snapshot, wit::SyncError> {
        // `request.credentials` is dropped unread with `request`.
        let req = SyncRequest {
            start: date_from_wit(&request.start).map_err(error_to_wit)?,
            end: date_from_wit(&request.end).map_err(error_to_wit)?,
            kinds: request.kinds.iter().map(|k| kind_from_wit(*k)).collect(),
            base_url: request.base_url,
        };
        let mut transport = WasiHttp::new(&req.base_url).map_err(error_to_wit)?;
        api::sync(&mut transport, &req, &mut HostLog)
            .map(snapshot_to_wit)
            .map_err(error_to_wit)
    }
}

/// Routes the flow's diagnostics to the host's `log` import.
struct HostLog;

impl Log for HostLog {
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Trace => host_log::Level::Trace,
            Level::Debug => host_log::Level::Debug,
            Level::Info => host_log::Level::Info,
            Level::Warn => host_log::Level::Warn,
            Level::Error => host_log::Level::Error,
        };
        host_log::log(level, message);
    }
}

// ------------------------------------------------------------ conversions

fn date_from_wit(d: &wit::Date) -> Result<model::Date, model::SyncError> {
    model::Date::new(d.year, d.month, d.day).map_err(|e| model::SyncError::Other {
        detail: format!("the request's date is not a day: {e}"),
    })
}

fn date_to_wit(d: model::Date) -> wit::Date {
    wit::Date {
        year: d.year,
        month: d.month,
        day: d.day,
    }
}

fn kind_from_wit(k: wit::DataKind) -> model::DataKind {
    match k {
        wit::DataKind::Homes => model::DataKind::Homes,
        wit::DataKind::ElectricityDaily => model::DataKind::ElectricityDaily,
        wit::DataKind::ElectricityCurve => model::DataKind::ElectricityCurve,
        wit::DataKind::GasDaily => model::DataKind::GasDaily,
        wit::DataKind::Temperature => model::DataKind::Temperature,
        wit::DataKind::Tempo => model::DataKind::Tempo,
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
    }
}

/// Only the two lists `api::sync` fills (Tempo days and windows) are
/// converted; the flow never produces homes, readings or temperatures.
fn snapshot_to_wit(s: model::Snapshot) -> wit::Snapshot {
    wit::Snapshot {
        homes: Vec::new(),
        contracts: Vec::new(),
        daily: Vec::new(),
        curve: Vec::new(),
        temperatures: Vec::new(),
        tempo_days: s
            .tempo_days
            .into_iter()
            .map(|t| wit::TempoDay {
                date: date_to_wit(t.date),
                colour: t.colour.map(|c| match c {
                    model::TempoColour::Blue => wit::TempoColour::Blue,
                    model::TempoColour::White => wit::TempoColour::White,
                    model::TempoColour::Red => wit::TempoColour::Red,
                }),
                source: match t.source {
                    model::TempoSource::TariffKeys => wit::TempoSource::TariffKeys,
                    model::TempoSource::Service => wit::TempoSource::Service,
                },
                meter_id: t.meter_id,
            })
            .collect(),
        windows: s
            .windows
            .into_iter()
            .map(|w| wit::Window {
                subject: w.subject,
                kind: kind_to_wit(w.kind),
                start: date_to_wit(w.start),
                end: date_to_wit(w.end),
                status: match w.status {
                    model::WindowStatus::Complete => wit::WindowStatus::Complete,
                    model::WindowStatus::FetchOngoing => wit::WindowStatus::FetchOngoing,
                    model::WindowStatus::SiteError(d) => wit::WindowStatus::SiteError(d),
                    model::WindowStatus::NotAvailable(d) => wit::WindowStatus::NotAvailable(d),
                },
            })
            .collect(),
    }
}

fn error_to_wit(e: model::SyncError) -> wit::SyncError {
    match e {
        model::SyncError::CredentialsRejected { detail } => {
            wit::SyncError::CredentialsRejected(detail)
        }
        model::SyncError::RateLimited(r) => wit::SyncError::RateLimited(wit::RateLimit {
            retry_after_seconds: r.retry_after_seconds,
            detail: r.detail,
        }),
        model::SyncError::SessionLost { detail } => wit::SyncError::SessionLost(detail),
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
