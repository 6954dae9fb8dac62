//! The component's edge: the exported `describe` and `sync`, and
//! `Transport` over `wasi:http`.
//!
//! This module owns what only this guest does at the edge: which request
//! fields the flow gets (never the credentials) and the body limit of each
//! request (the flow's `max_body`, an overflow handed back for the flow to
//! name). The bindings, the WIT <-> model conversions and the `wasi:http`
//! mechanics are `hellowatt-guest-kit`'s. It must never hold flow or
//! parsing logic (that is `api` and `parse`), and it drops the credentials
//! at once: they are never read, logged or kept.

use crate::api::{self, SyncRequest};
use crate::transport::{Request, Response, Transport};
use hellowatt_guest_kit::bindings::{self, hellowatt::scraper::types as wit};
use hellowatt_guest_kit::convert::{
    date_from_wit, error_to_wit, guest_info, kind_from_wit, tempo_day_to_wit, window_to_wit,
};
use hellowatt_guest_kit::logging::HostLog;
use hellowatt_guest_kit::wasi_http::{Outgoing, TooLarge, WasiHttp};
use hellowatt_snapshot::SyncError;

struct Component;

bindings::export!(Component);

impl bindings::Guest for Component {
    fn describe() -> wit::GuestInfo {
        guest_info(
            crate::NAME,
            crate::VERSION,
            crate::CONTRACT,
            &api::PROVIDES,
            crate::DESCRIPTION,
        )
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

/// A bare GET; at most `max_body + 1` bytes are read, and the flow refuses
/// a body that long in its own words.
impl Transport for WasiHttp {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        WasiHttp::send(
            self,
            &Outgoing {
                method: "GET",
                path: &req.path,
                query: "",
                headers: &req.headers,
                body: &[],
                max_body: req.max_body,
                too_large: TooLarge::Truncate,
            },
        )
    }
}

/// Only the two lists `api::sync` fills (Tempo days and windows) are
/// converted; the flow never produces homes, readings or temperatures.
/// The kit's whole-snapshot `snapshot_to_wit` would be the same answer,
/// but its conversions of the other five lists would add about 4.4 KB
/// (2.3%) to this component for code that never runs.
fn snapshot_to_wit(s: hellowatt_snapshot::Snapshot) -> wit::Snapshot {
    wit::Snapshot {
        homes: Vec::new(),
        contracts: Vec::new(),
        daily: Vec::new(),
        curve: Vec::new(),
        temperatures: Vec::new(),
        tempo_days: s.tempo_days.into_iter().map(tempo_day_to_wit).collect(),
        windows: s.windows.into_iter().map(window_to_wit).collect(),
    }
}
