//! The flow of one `sync` call: one request, and the snapshot it makes.
//!
//! This module owns the window's limits (start before end, at most
//! [`MAX_WINDOW_DAYS`]: RTE publishes today and three days ahead), the
//! request (`GET` [`SIGNALS_PATH`], `Accept: application/json`, no
//! `Authorization`: the host adds the bearer token) with its body limit,
//! and the assembly: the days RTE gave in the window, and one window
//! whose status says `complete` (a day RTE has not published yet is
//! absent: the host asks again later). It must never read the request's
//! credentials, parse a payload itself, talk to `wasi:http`, or retry.

use crate::errors::{check_status, site_changed};
use crate::logging::Log;
use crate::parse::{self, SIGNALS_MAX_BODY};
use crate::transport::{BaseUrl, Request, TooLarge, Transport};
use hellowatt_guest_kit::errors::check_window;
use hellowatt_snapshot::{DataKind, Snapshot, SyncError, SyncRequest, Window, WindowStatus};

/// The data kinds this guest provides.
pub const PROVIDES: [DataKind; 1] = [DataKind::Ecowatt];

/// The signals, version 5.
pub const SIGNALS_PATH: &str = "/open_api/ecowatt/v5/signals";

/// The longest window one `sync` serves.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// The `subject` of the window this guest returns.
pub const SUBJECT: &str = "ecowatt";

/// Runs one `sync`. Of the request it reads the base URL, the window and
/// the kinds: never `login` or `password` (the host passes empty ones).
pub fn sync(
    transport: &mut dyn Transport,
    req: &SyncRequest,
    log: &mut dyn Log,
) -> Result<Snapshot, SyncError> {
    if !req.kinds.contains(&DataKind::Ecowatt) {
        log.info("ecowatt not asked: nothing to do");
        return Ok(Snapshot::default());
    }
    let (start, end) = (req.start, req.end);
    check_window(
        start,
        end,
        MAX_WINDOW_DAYS,
        "RTE publishes four days, and this guest serves",
    )?;
    // The origin is the host's to choose; parsing it checks its form.
    BaseUrl::parse(&req.base_url)?;
    let request = Request::get(SIGNALS_PATH, "")
        .max_body(SIGNALS_MAX_BODY, TooLarge::Truncate)
        .header("Accept", "application/json");
    let resp = transport.send(&request)?;
    let location = request.location();
    check_status(&location, &resp)?;
    let days =
        parse::signals(&resp.body, start, end, log).map_err(|e| site_changed(&location, e.0))?;
    log.info(&format!(
        "ecowatt {start}..{end}: {} day(s) published, {} hour(s)",
        days.len(),
        days.iter().map(|d| d.hours.len()).sum::<usize>()
    ));
    Ok(Snapshot {
        ecowatt: days,
        windows: vec![Window {
            subject: SUBJECT.to_string(),
            kind: DataKind::Ecowatt,
            start,
            end,
            status: WindowStatus::Complete,
        }],
        ..Snapshot::default()
    })
}
