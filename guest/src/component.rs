//! The component's edge: the exported `describe` and `sync`, the session
//! kept between `sync` calls of one instance, and `Transport` over
//! `wasi:http`.
//!
//! This module owns what only this guest does at the edge: which request
//! fields the flow gets (the credentials included), the session slot, and
//! the body limit of its requests. The bindings, the WIT <-> model
//! conversions and the `wasi:http` mechanics are `hellowatt-guest-kit`'s.
//! It must never hold flow or parsing logic (that is `api`, `session`,
//! `parse`), and never log or keep the password anywhere but the call's
//! request.

use crate::api::{self, SyncRequest};
use crate::session::Session;
use crate::transport::{Request, Response, Transport};
use hellowatt_guest_kit::bindings::{self, hellowatt::scraper::types as wit};
use hellowatt_guest_kit::convert::{
    date_from_wit, error_to_wit, guest_info, kind_from_wit, snapshot_to_wit,
};
use hellowatt_guest_kit::logging::HostLog;
use hellowatt_guest_kit::wasi_http::{Outgoing, TooLarge, WasiHttp};
use hellowatt_snapshot as model;
use std::cell::RefCell;

/// Refuse bodies beyond this: the site's monthly payloads are far smaller.
const MAX_BODY: usize = 64 * 1024 * 1024;

thread_local! {
    /// The session of this instance: cookies and CSRF token of one base URL
    /// and login, reused by the next `sync` call of the same instance.
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

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
        if cfg!(feature = "trap") {
            panic!("the `trap` test build of the guest panics on purpose");
        }
        let req = SyncRequest {
            start: date_from_wit(&request.start).map_err(error_to_wit)?,
            end: date_from_wit(&request.end).map_err(error_to_wit)?,
            kinds: request.kinds.iter().map(|k| kind_from_wit(*k)).collect(),
            base_url: request.base_url,
            login: request.credentials.login,
            password: request.credentials.password,
        };
        let result = match WasiHttp::new(&req.base_url) {
            Ok(mut transport) => SESSION.with(|slot| match slot.try_borrow_mut() {
                Ok(mut slot) => api::sync(&mut transport, &mut slot, &req, &mut HostLog),
                Err(_) => Err(model::SyncError::Other {
                    detail: "sync called while another sync runs".into(),
                }),
            }),
            Err(e) => Err(e),
        };
        result.map(snapshot_to_wit).map_err(error_to_wit)
    }
}

/// Every request of the flow, read fully; a body beyond `MAX_BODY` is a
/// transport error.
impl Transport for WasiHttp {
    fn send(&mut self, req: &Request) -> Result<Response, model::SyncError> {
        WasiHttp::send(
            self,
            &Outgoing {
                method: req.method,
                path: &req.path,
                query: &req.query,
                headers: &req.headers,
                body: &req.body,
                max_body: MAX_BODY,
                too_large: TooLarge::Fail,
            },
        )
    }
}
