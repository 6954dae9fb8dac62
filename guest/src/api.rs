//! The flow of one `sync` call: log in (or reuse the session), list the
//! homes, then per home its contracts, its monthly windows of daily
//! electricity, load curve and gas, and its temperatures.
//!
//! This module owns the reference flow of `fixtures/README.md`: which
//! requests, in which order, with which query (`startDate`/`endDate` at
//! Europe/Paris midnight, percent-encoded), the re-login on 401/403 once
//! per call, the gas 500 meaning "no gas contract" (asked once per home),
//! and the assembly of the snapshot and its windows. It must never parse a
//! payload itself (that is `parse`), talk to `wasi:http` (that is the
//! `Transport`), or hold state between calls other than the `Session` it
//! is given.

use crate::errors::{self, site_changed};
use crate::logging::{Level, Log};
use crate::parse::{self, Page};
use crate::session::Session;
use crate::transport::{BaseUrl, Response, Transport};
use hellowatt_snapshot::{
    DataKind, Date, Energy, Meter, Snapshot, SyncError, Window, WindowStatus,
};
use serde_json::Value;

/// The data kinds this guest provides (not `tempo`: it reads Tempo colours
/// from tariff keys only, with the daily electricity).
pub const PROVIDES: [DataKind; 5] = [
    DataKind::Homes,
    DataKind::ElectricityDaily,
    DataKind::ElectricityCurve,
    DataKind::GasDaily,
    DataKind::Temperature,
];

/// The window detail of a home whose gas endpoint answers 500.
pub const NO_GAS_CONTRACT: &str = "no gas contract";

/// What the host asks of one `sync` call (the model's, shared with the
/// host and the other guests).
pub use hellowatt_snapshot::SyncRequest;

/// Runs one `sync`. `session` is the slot kept between calls of one
/// instance: reused when it belongs to the same base URL and login.
pub fn sync(
    transport: &mut dyn Transport,
    session: &mut Option<Session>,
    req: &SyncRequest,
    log: &mut dyn Log,
) -> Result<Snapshot, SyncError> {
    run(transport, session, req, log)
}

/// Calendar months of `start..=end`, clipped to it.
pub fn month_windows(start: Date, end: Date) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut s = start;
    while s <= end {
        let e = s.last_of_month().min(end);
        out.push((s, e));
        s = e.succ();
    }
    out
}

/// Percent-encodes a query component: everything but unreserved
/// characters (so `:` is `%3A` and `+` is `%2B`).
pub fn query_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `startDate` = local midnight of the first day, `endDate` = local
/// midnight of the day after the last (exclusive), each with its own
/// Europe/Paris offset.
pub fn window_query(start: Date, end: Date) -> String {
    format!(
        "startDate={}&endDate={}",
        query_encode(&start.paris_midnight_iso()),
        query_encode(&end.succ().paris_midnight_iso())
    )
}

/// The longest stretch of the load curve asked in one request. No public
/// client asks for more than a day; a week keeps a 24-month backfill near
/// a hundred requests per meter, and a refusal moves the session to one
/// day at a time.
pub const CURVE_DAYS: i64 = 7;

/// Stretches of at most `days` days covering `start..=end`, in order.
pub fn chunks(start: Date, end: Date, days: i64) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut s = start;
    while s <= end {
        let e = s.add_days(days - 1).min(end);
        out.push((s, e));
        s = e.succ();
    }
    out
}

/// Errors that end the whole call: the session itself is in question, the
/// site asked to slow down, or the way to it failed (the host refused a
/// request, at its cap say, or the connection broke): every later part
/// would meet the same. Anything else fails only its part.
fn fatal(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::CredentialsRejected { .. }
            | SyncError::RateLimited(_)
            | SyncError::SessionLost { .. }
            | SyncError::ActionNeeded { .. }
            | SyncError::Transport { .. }
    )
}

/// A part's outcome: its records and status, or the failure it becomes
/// (a fatal error goes up through `?` before this).
fn part<T>(r: Result<T, SyncError>) -> Result<Result<T, SyncError>, SyncError> {
    match r {
        Err(e) if fatal(&e) => Err(e),
        other => Ok(other),
    }
}

fn run(
    transport: &mut dyn Transport,
    slot: &mut Option<Session>,
    req: &SyncRequest,
    log: &mut dyn Log,
) -> Result<Snapshot, SyncError> {
    if req.start > req.end {
        return Err(SyncError::Other {
            detail: format!(
                "the window starts ({}) after it ends ({})",
                req.start, req.end
            ),
        });
    }
    let wanted = |k: DataKind| req.kinds.contains(&k);
    let mut snap = Snapshot::default();
    if !PROVIDES.into_iter().any(wanted) {
        log.info("nothing asked that this guest provides");
        return Ok(snap);
    }
    let origin = BaseUrl::parse(&req.base_url)?.origin();
    let session = Session::reuse_or_new(slot, &origin, &req.login);
    let mut c = Client {
        t: transport,
        session,
        origin,
        placeholder: &req.password_placeholder,
        relogged: false,
        relogin_failed: None,
        log,
    };
    if c.session.is_logged_in() {
        c.log.info("reusing the session of a previous call");
    } else {
        c.session.login(c.t, &c.origin, c.placeholder, c.log)?;
    }

    // The log-in and the homes are the call: without them nothing else
    // can be asked.
    let homes = {
        let path = "/api/homes";
        let v = c.get_json(path, String::new())?;
        parse::homes(&v).map_err(|e| site_changed(&format!("GET {path}"), e.0))?
    };
    c.log.info(&format!("{} home(s)", homes.len()));
    let months = month_windows(req.start, req.end);

    for h in &homes {
        let home_id = &h.home.id;
        // Every snapshot lists the homes: it describes every meter its
        // records name. `homes` asked means the contracts too.
        snap.homes.push(h.home.clone());
        if wanted(DataKind::Homes) {
            let path = format!("/api/homes/{home_id}/contracts");
            let got = part(c.get_json(&path, String::new()).and_then(|v| {
                parse::contracts(&v, home_id).map_err(|e| site_changed(&format!("GET {path}"), e.0))
            }))?;
            let status = match got {
                Ok(contracts) => {
                    snap.contracts.extend(contracts);
                    WindowStatus::Complete
                }
                Err(e) => c.failed("contracts", home_id, e),
            };
            // The contracts' own window, so that a failure is asked again.
            snap.windows
                .push(window(home_id, DataKind::Homes, req.start, req.end, status));
        }
        let elec_kinds = wanted(DataKind::ElectricityDaily) || wanted(DataKind::ElectricityCurve);
        if elec_kinds && h.pdl.is_none() {
            c.log.warn(&format!(
                "home {home_id}: no electricity delivery point, no electricity asked"
            ));
        }
        let mut no_gas = false;
        for &(ws, we) in &months {
            let range = format!("{ws}..{we}");
            if let (true, Some(pdl)) = (wanted(DataKind::ElectricityDaily), &h.pdl) {
                let path = format!("/api/homes/{home_id}/sge_measures/conso_daily");
                c.log
                    .info(&format!("home {home_id}: electricity-daily {range}"));
                let got = part(c.get(&path, window_query(ws, we)).and_then(|resp| {
                    read_page(
                        &format!("GET {path}"),
                        &resp,
                        |body| parse::typed::daily(body, pdl, ws, we),
                        |v| parse::daily(v, pdl, ws, we),
                    )
                }))?;
                let status = match got {
                    Ok(page) => {
                        warn_set_aside(c.log, &page, "electricity-daily", pdl);
                        snap.tempo_days
                            .extend(page.records.iter().filter_map(parse::tempo_day));
                        snap.daily.extend(page.records);
                        page.status
                    }
                    Err(e) => c.failed("electricity-daily", pdl, e),
                };
                snap.windows
                    .push(window(pdl, DataKind::ElectricityDaily, ws, we, status));
            }
            if let (true, Some(pdl)) = (wanted(DataKind::ElectricityCurve), &h.pdl) {
                c.curve(home_id, pdl, ws, we, &mut snap)?;
            }
            if wanted(DataKind::GasDaily) {
                let meter = &h.gas_meter;
                if no_gas {
                    let status = WindowStatus::NotAvailable(NO_GAS_CONTRACT.into());
                    snap.windows
                        .push(window(meter, DataKind::GasDaily, ws, we, status));
                    continue;
                }
                let path = format!("/api/homes/{home_id}/adict_measures/conso_daily");
                c.log.info(&format!("home {home_id}: gas-daily {range}"));
                let got = part(c.get(&path, window_query(ws, we)))?;
                if got.as_ref().is_ok_and(|r| r.status == 500) {
                    c.log.info(&format!(
                        "home {home_id}: the gas endpoint answered 500: no gas contract"
                    ));
                    no_gas = true;
                    let status = WindowStatus::NotAvailable(NO_GAS_CONTRACT.into());
                    snap.windows
                        .push(window(meter, DataKind::GasDaily, ws, we, status));
                    continue;
                }
                let location = format!("GET {path}");
                let got = part(got.and_then(|resp| {
                    read_page(
                        &location,
                        &resp,
                        |body| parse::typed::daily(body, meter, ws, we),
                        |v| parse::daily(v, meter, ws, we),
                    )
                }))?;
                let status = match got {
                    Ok(page) => {
                        warn_set_aside(c.log, &page, "gas-daily", meter);
                        snap.daily.extend(page.records);
                        page.status
                    }
                    Err(e) => c.failed("gas-daily", meter, e),
                };
                snap.windows
                    .push(window(meter, DataKind::GasDaily, ws, we, status));
            }
        }
        // A gas meter the site does not name is listed once readings name it.
        let gas_read = snap.daily.iter().any(|r| r.meter_id == h.gas_meter);
        if !h.gas_named
            && gas_read
            && let Some(home) = snap.homes.iter_mut().find(|x| &x.id == home_id)
        {
            home.meters.push(Meter {
                id: h.gas_meter.clone(),
                energy: Energy::Gas,
            });
        }
        if wanted(DataKind::Temperature) {
            let path = format!("/api/homes/{home_id}/temperature_measures/yearly");
            c.log.info(&format!("home {home_id}: temperature"));
            // The dates, as the one public client that reads it sends them.
            let got = part(
                c.get_json(&path, window_query(req.start, req.end))
                    .and_then(|v| {
                        parse::temperatures(&v, home_id, req.start, req.end)
                            .map_err(|e| site_changed(&format!("GET {path}"), e.0))
                    }),
            )?;
            let status = match got {
                Ok(page) => {
                    warn_set_aside(c.log, &page, "temperature", home_id);
                    snap.temperatures.extend(page.records);
                    page.status
                }
                Err(e) => c.failed("temperature", home_id, e),
            };
            // One request for the whole range: one window for it.
            snap.windows.push(window(
                home_id,
                DataKind::Temperature,
                req.start,
                req.end,
                status,
            ));
        }
    }
    // The log-in failing ends the call, a log-in again too: the parts
    // after it were not asked (no session), and the error says why.
    if let Some(e) = c.relogin_failed.take() {
        return Err(e);
    }
    snap.api_version = Some(c.session.api_version().to_string());
    c.log.info(&format!(
        "done: {} daily reading(s), {} curve point(s), {} temperature(s), {} window(s)",
        snap.daily.len(),
        snap.curve.len(),
        snap.temperatures.len(),
        snap.windows.len()
    ));
    Ok(snap)
}

fn window(subject: &str, kind: DataKind, start: Date, end: Date, status: WindowStatus) -> Window {
    Window {
        subject: subject.to_string(),
        kind,
        start,
        end,
        status,
    }
}

/// Reports values set aside. Days outside the window are expected from the
/// yearly temperature endpoint (it always answers a year), so they are
/// noted at debug level there and warned about elsewhere.
fn warn_set_aside<T>(log: &mut dyn Log, page: &Page<T>, kind: &str, subject: &str) {
    // A range, not a list: a year of dropped days must stay one short line.
    let days = |d: &[Date]| match (d.iter().min(), d.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => String::new(),
    };
    if !page.outside.is_empty() {
        let level = if kind == "temperature" {
            Level::Debug
        } else {
            Level::Warn
        };
        log.log(
            level,
            &format!(
                "{kind} {subject}: dropped {} value(s) outside the asked window ({})",
                page.outside.len(),
                days(&page.outside)
            ),
        );
    }
    if !page.duplicates.is_empty() {
        log.warn(&format!(
            "{kind} {subject}: {} duplicated value(s) ignored, the first kept ({})",
            page.duplicates.len(),
            days(&page.duplicates)
        ));
    }
}

/// The logged-in side of the flow: API requests with re-login.
struct Client<'a> {
    t: &'a mut dyn Transport,
    session: &'a mut Session,
    origin: String,
    /// What the log-in form's password field takes (the host fills it).
    placeholder: &'a str,
    /// Logged in again during this call already (allowed once).
    relogged: bool,
    /// Logging in again failed: nothing more is asked, and the call ends
    /// with this error.
    relogin_failed: Option<SyncError>,
    log: &'a mut dyn Log,
}

impl Client<'_> {
    /// An API `GET`; a 406 moves to the next API version and repeats; on
    /// 401/403 logs in again (once per call) and repeats.
    fn get(&mut self, path: &str, query: String) -> Result<Response, SyncError> {
        if let Some(e) = &self.relogin_failed {
            return Err(e.clone());
        }
        let resp = self.send_versioned(path, &query)?;
        if !matches!(resp.status, 401 | 403) {
            return Ok(self.opened(resp));
        }
        // A log-in that went somewhere else is not tried again: the site
        // waits for a person.
        if self.relogged || self.session.unconfirmed().is_some() {
            return Err(self.refusal(resp.status));
        }
        self.relogged = true;
        self.log.info(&format!(
            "GET {path} answered {}: logging in again",
            resp.status
        ));
        if let Err(e) = self
            .session
            .login(self.t, &self.origin, self.placeholder, self.log)
        {
            // Without it every later request would answer 401 and read as
            // a lost session; the log-in's own error is the cause.
            self.log
                .warn(&format!("logging in again failed, the call ends: {e}"));
            self.relogin_failed = Some(e.clone());
            return Err(e);
        }
        let resp = self.send_versioned(path, &query)?;
        if matches!(resp.status, 401 | 403) {
            return Err(self.refusal(resp.status));
        }
        Ok(self.opened(resp))
    }

    /// An answer the API gave (not a refusal of the session): a 2xx proves
    /// the session opens it.
    fn opened(&mut self, resp: Response) -> Response {
        if (200..300).contains(&resp.status) {
            self.session.confirm();
        }
        resp
    }

    /// The session refused for good: a person must act on the site if the
    /// log-in went somewhere else, else the session is lost.
    fn refusal(&self, status: u16) -> SyncError {
        match self.session.unconfirmed() {
            Some(went_to) => crate::session::action_needed(went_to),
            None => session_lost(status),
        }
    }

    /// One `GET` under the session's API version, moving to the next one
    /// while the site answers 406.
    fn send_versioned(&mut self, path: &str, query: &str) -> Result<Response, SyncError> {
        loop {
            let req = self
                .session
                .api_request(&self.origin, path.to_string(), query.to_string());
            let resp = self.session.send(self.t, req)?;
            if resp.status != 406 {
                return Ok(resp);
            }
            let refused = self.session.api_version();
            if !self.session.next_api_version() {
                return Ok(resp);
            }
            self.log.warn(&format!(
                "GET {path}: the site does not take API version {refused} (HTTP 406); \
                 asking with {}",
                self.session.api_version()
            ));
        }
    }

    /// An API `GET` whose answer must be a 2xx JSON.
    fn get_json(&mut self, path: &str, query: String) -> Result<Value, SyncError> {
        let resp = self.get(path, query)?;
        let location = format!("GET {path}");
        errors::check_status(&location, &resp)?;
        errors::expect_json(&location, &resp)
    }

    /// A part that could not be read: logged, and its window's status.
    fn failed(&mut self, what: &str, subject: &str, e: SyncError) -> WindowStatus {
        if self.relogin_failed.is_none() {
            self.log.warn(&format!(
                "{what} {subject}: this part failed, the rest goes on: {e}"
            ));
        }
        WindowStatus::Failed(e)
    }

    /// The load curve of `ws..=we`, a few days per request: one window per
    /// request, each complete or failed on its own. A range the site
    /// refuses (400, 413, 422) is asked again one day at a time, and so is
    /// the rest of the session.
    fn curve(
        &mut self,
        home_id: &str,
        pdl: &str,
        ws: Date,
        we: Date,
        snap: &mut Snapshot,
    ) -> Result<(), SyncError> {
        let path = format!("/api/homes/{home_id}/sge_measures/courbe");
        let mut cs = ws;
        while cs <= we {
            // Read again for every stretch: a refusal earlier in this month
            // makes the rest of it one day per request too.
            let days = if self.session.curve_by_day() {
                1
            } else {
                CURVE_DAYS
            };
            let ce = cs.add_days(days - 1).min(we);
            self.log
                .info(&format!("home {home_id}: electricity-curve {cs}..{ce}"));
            let got = part(self.get(&path, window_query(cs, ce)))?;
            let refused = got
                .as_ref()
                .is_ok_and(|r| matches!(r.status, 400 | 413 | 422));
            if cs < ce && refused {
                self.log.warn(&format!(
                    "GET {path}: {cs}..{ce} refused; asking one day at a time"
                ));
                self.session.set_curve_by_day();
                for (day, _) in chunks(cs, ce, 1) {
                    let got = part(self.get(&path, window_query(day, day)))?;
                    self.curve_window(&path, pdl, (day, day), got, snap)?;
                }
            } else {
                self.curve_window(&path, pdl, (cs, ce), got, snap)?;
            }
            cs = ce.succ();
        }
        Ok(())
    }

    /// Reads one curve answer into its records and window.
    fn curve_window(
        &mut self,
        path: &str,
        pdl: &str,
        (start, end): (Date, Date),
        got: Result<Response, SyncError>,
        snap: &mut Snapshot,
    ) -> Result<(), SyncError> {
        let location = format!("GET {path}");
        let page = part(got.and_then(|resp| {
            read_page(
                &location,
                &resp,
                |body| parse::typed::curve(body, pdl, start, end),
                |v| parse::curve(v, pdl, start, end),
            )
        }))?;
        let status = match page {
            Ok(page) => {
                warn_set_aside(self.log, &page, "electricity-curve", pdl);
                snap.curve.extend(page.records);
                page.status
            }
            Err(e) => self.failed("electricity-curve", pdl, e),
        };
        snap.windows
            .push(window(pdl, DataKind::ElectricityCurve, start, end, status));
        Ok(())
    }
}

/// A measure answer (2xx JSON) into its page: read the typed way
/// ([`parse::typed`]) when that reading is sure, else through a `Value` tree
/// ([`parse`]), with its tolerance and its error messages.
fn read_page<T>(
    location: &str,
    resp: &Response,
    typed: impl FnOnce(&[u8]) -> Option<Page<T>>,
    value: impl FnOnce(&Value) -> Result<Page<T>, parse::ShapeError>,
) -> Result<Page<T>, SyncError> {
    errors::check_status(location, resp)?;
    if !errors::looks_like_html(resp)
        && let Some(page) = typed(&resp.body)
    {
        return Ok(page);
    }
    let v = errors::expect_json(location, resp)?;
    value(&v).map_err(|e| site_changed(location, e.0))
}

fn session_lost(status: u16) -> SyncError {
    SyncError::SessionLost {
        detail: format!("the site answered {status} again after logging in again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    /// What the faults `duplicated_days_keep_the_first_value` and
    /// `a_day_outside_the_window_is_dropped` leave in the guest's log.
    #[test]
    fn days_set_aside_are_warned_about() {
        let v = serde_json::json!({"values": [
            {"datetime": "2026-01-31T00:00:00+01:00", "kwhDetailed": {"Base": 2.0}},
            {"datetime": "2026-01-31T12:00:00+01:00", "kwhDetailed": {"Base": 3.0}},
            {"datetime": "2026-02-01T00:00:00+01:00", "kwhDetailed": {"Base": 4.0}},
            {"datetime": "2025-12-31T00:00:00+01:00", "kwhDetailed": {"Base": 5.0}}
        ]});
        let page = crate::parse::daily(&v, "m", d("2026-01-01"), d("2026-01-31")).unwrap();
        assert_eq!(page.records.len(), 1);
        assert_eq!(
            page.records[0].amounts.kwh,
            Some(2.0),
            "the first value is kept"
        );
        let mut log = crate::logging::Collect::default();
        warn_set_aside(&mut log, &page, "electricity-daily", "m");
        assert_eq!(
            log.0,
            vec![
                (
                    Level::Warn,
                    "electricity-daily m: dropped 2 value(s) outside the asked window \
                     (2025-12-31 to 2026-02-01)"
                        .to_string()
                ),
                (
                    Level::Warn,
                    "electricity-daily m: 1 duplicated value(s) ignored, the first kept \
                     (2026-01-31)"
                        .to_string()
                ),
            ]
        );
        // The yearly temperatures always overflow the window: noted, not warned.
        let mut log = crate::logging::Collect::default();
        warn_set_aside(&mut log, &page, "temperature", "h");
        assert_eq!(log.0[0].0, Level::Debug);
    }

    #[test]
    fn dst_windows_carry_both_offsets() {
        assert_eq!(
            window_query(d("2026-03-01"), d("2026-03-31")),
            "startDate=2026-03-01T00%3A00%3A00%2B01%3A00&endDate=2026-04-01T00%3A00%3A00%2B02%3A00"
        );
        assert_eq!(
            window_query(d("2026-10-01"), d("2026-10-31")),
            "startDate=2026-10-01T00%3A00%3A00%2B02%3A00&endDate=2026-11-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(
            window_query(d("2026-01-01"), d("2026-01-31")),
            "startDate=2026-01-01T00%3A00%3A00%2B01%3A00&endDate=2026-02-01T00%3A00%3A00%2B01%3A00"
        );
    }

    #[test]
    fn curve_stretches_are_a_week_at_most_from_the_first_day() {
        let pairs = |v: Vec<(Date, Date)>| -> Vec<(u8, u8)> {
            v.into_iter().map(|(a, b)| (a.day, b.day)).collect()
        };
        assert_eq!(
            pairs(chunks(d("2026-01-01"), d("2026-01-31"), CURVE_DAYS)),
            vec![(1, 7), (8, 14), (15, 21), (22, 28), (29, 31)]
        );
        assert_eq!(
            pairs(chunks(d("2026-02-01"), d("2026-02-28"), CURVE_DAYS)),
            vec![(1, 7), (8, 14), (15, 21), (22, 28)]
        );
        // From the window's first day, not the calendar week.
        assert_eq!(
            pairs(chunks(d("2026-03-10"), d("2026-03-20"), CURVE_DAYS)),
            vec![(10, 16), (17, 20)]
        );
        assert_eq!(
            pairs(chunks(d("2026-03-05"), d("2026-03-05"), CURVE_DAYS)),
            vec![(5, 5)]
        );
        // One day at a time after a refusal.
        let by_day = chunks(d("2026-02-08"), d("2026-02-10"), 1);
        assert_eq!(pairs(by_day), vec![(8, 8), (9, 9), (10, 10)]);
        assert!(chunks(d("2026-02-02"), d("2026-02-01"), CURVE_DAYS).is_empty());
        // Across a month's end when asked so (the flow never does: it
        // cuts months first).
        assert_eq!(
            chunks(d("2026-01-30"), d("2026-02-02"), CURVE_DAYS),
            vec![(d("2026-01-30"), d("2026-02-02"))]
        );
    }

    #[test]
    fn months_are_clipped() {
        assert_eq!(
            month_windows(d("2026-01-15"), d("2026-03-02")),
            vec![
                (d("2026-01-15"), d("2026-01-31")),
                (d("2026-02-01"), d("2026-02-28")),
                (d("2026-03-01"), d("2026-03-02")),
            ]
        );
        assert_eq!(
            month_windows(d("2026-05-05"), d("2026-05-05")),
            vec![(d("2026-05-05"), d("2026-05-05"))]
        );
        assert!(month_windows(d("2026-05-06"), d("2026-05-05")).is_empty());
        assert_eq!(month_windows(d("2025-12-31"), d("2026-01-01")).len(), 2);
    }
}
