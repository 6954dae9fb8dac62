//! The flow of one `sync` call: which service, which requests, and the
//! snapshot they make.
//!
//! This module owns the choice of source (RTE's `tempoLight` when the base
//! URL's host is `www.services-rte.com`, api-couleur-tempo.fr's
//! `jourTempo` otherwise), the switch to `tempoLight` on the same origin
//! when the FIRST `jourTempo` request answers 404 (a mirror or test site
//! that serves only the RTE API), the window's limits (start before end,
//! at most 400 days), each request's body limit (an answer beyond it is
//! handed back cut, `TooLarge::Truncate`, for `parse` to name), and the
//! assembly of the snapshot: one `tempo-day` per day of the window, colour
//! `none` when not known yet, and one `window`. It must never read the
//! request's credentials, parse a payload itself (that is `parse`), talk
//! to `wasi:http` (that is the `Transport`), retry, try another origin
//! (the host may call again with RTE's origin: its choice), or return a
//! day outside the window.

use crate::errors::{check_status, site_changed};
use crate::logging::Log;
use crate::parse::{self, JOUR_TEMPO_MAX_BODY, TEMPO_LIGHT_MAX_BODY};
use crate::transport::{BaseUrl, Request, TooLarge, Transport};
use hellowatt_guest_kit::errors::check_window;
use hellowatt_snapshot::{
    DataKind, Date, Snapshot, SyncError, SyncRequest, TempoColour, TempoDay, TempoSource, Window,
    WindowStatus,
};

/// The data kinds this guest provides.
pub const PROVIDES: [DataKind; 1] = [DataKind::Tempo];

/// The longest window one `sync` serves: a season and a month, and at most
/// 400 `jourTempo` requests.
pub const MAX_WINDOW_DAYS: i64 = 400;

/// The host whose base URL means `tempoLight` from the first request.
pub const RTE_HOST: &str = "www.services-rte.com";

/// `jourTempo` of one day: `{JOUR_TEMPO_PATH}{YYYY-MM-DD}`.
pub const JOUR_TEMPO_PATH: &str = "/api/jourTempo/";

/// RTE's season so far, no query.
pub const TEMPO_LIGHT_PATH: &str = "/cms/open_data/v1/tempoLight";

/// The `subject` of the window this guest returns.
pub const SUBJECT: &str = "tempo";

/// Where the colours come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// api-couleur-tempo.fr, one request per day.
    JourTempo,
    /// RTE, one request per sync.
    TempoLight,
}

/// The source a base URL starts with.
pub fn source_for(base: &BaseUrl) -> Source {
    if base.host() == RTE_HOST {
        Source::TempoLight
    } else {
        Source::JourTempo
    }
}

/// Every day of `start..=end`.
fn days(start: Date, end: Date) -> impl Iterator<Item = Date> {
    let first = start.days_since_epoch();
    (first..=end.days_since_epoch()).map(Date::from_days_since_epoch)
}

/// Runs one `sync`. Of the request it reads the base URL, the window and
/// the kinds: never `login` or `password` (the host passes empty ones;
/// this guest has no use for them).
pub fn sync(
    transport: &mut dyn Transport,
    req: &SyncRequest,
    log: &mut dyn Log,
) -> Result<Snapshot, SyncError> {
    if !req.kinds.contains(&DataKind::Tempo) {
        log.info("tempo not asked: nothing to do");
        return Ok(Snapshot::default());
    }
    let (start, end) = (req.start, req.end);
    check_window(start, end, MAX_WINDOW_DAYS, "this guest serves")?;
    let base = BaseUrl::parse(&req.base_url)?;
    let colours = match source_for(&base) {
        Source::TempoLight => from_tempo_light(transport, start, end, log)?,
        Source::JourTempo => from_jour_tempo(transport, start, end, log)?,
    };
    let unknown = colours.iter().filter(|(_, c)| c.is_none()).count();
    log.info(&format!(
        "tempo {start}..{end}: {} day(s), {unknown} not known yet",
        colours.len()
    ));
    Ok(Snapshot {
        tempo_days: colours
            .into_iter()
            .map(|(date, colour)| TempoDay {
                date,
                colour,
                source: TempoSource::Service,
                meter_id: None,
            })
            .collect(),
        windows: vec![Window {
            subject: SUBJECT.to_string(),
            kind: DataKind::Tempo,
            start,
            end,
            status: WindowStatus::Complete,
        }],
        ..Snapshot::default()
    })
}

type Colours = Vec<(Date, Option<TempoColour>)>;

fn from_jour_tempo(
    t: &mut dyn Transport,
    start: Date,
    end: Date,
    log: &mut dyn Log,
) -> Result<Colours, SyncError> {
    let mut out = Vec::new();
    for day in days(start, end) {
        let req = Request::get(format!("{JOUR_TEMPO_PATH}{day}"), "")
            .max_body(JOUR_TEMPO_MAX_BODY, TooLarge::Truncate)
            .header("Accept", "application/json");
        let resp = t.send(&req)?;
        let location = req.location();
        if out.is_empty() && resp.status == 404 {
            log.warn(&format!(
                "{location} answered 404: reading {TEMPO_LIGHT_PATH} on the same origin instead"
            ));
            return from_tempo_light(t, start, end, log);
        }
        check_status(&location, &resp)?;
        let colour =
            parse::jour_tempo(&resp.body, day).map_err(|e| site_changed(&location, e.0))?;
        out.push((day, colour));
    }
    Ok(out)
}

fn from_tempo_light(
    t: &mut dyn Transport,
    start: Date,
    end: Date,
    log: &mut dyn Log,
) -> Result<Colours, SyncError> {
    let req = Request::get(TEMPO_LIGHT_PATH, "")
        .max_body(TEMPO_LIGHT_MAX_BODY, TooLarge::Truncate)
        .header("Accept", "application/json");
    let resp = t.send(&req)?;
    let location = req.location();
    check_status(&location, &resp)?;
    let season = parse::tempo_light(&resp.body).map_err(|e| site_changed(&location, e.0))?;
    log.info(&format!("{location}: {} announced day(s)", season.len()));
    Ok(days(start, end)
        .map(|day| (day, season.get(&day).copied()))
        .collect())
}
