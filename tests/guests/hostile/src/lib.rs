//! A misbehaving guest on the real contract, for the host's sandbox tests.
//!
//! The behaviour is chosen by the `login` of the sync request, so one
//! component covers every case:
//! - `loop`: computes forever (the CPU budget must stop it);
//! - `memory`: allocates until it is stopped (the memory cap);
//! - `sleep`: waits forever on a host clock (the wall-clock limit);
//! - `panic`: panics (a trap);
//! - `foreign:<url>`: asks for a URL outside the allow-list and reports
//!   what the host answered as a transport error;
//! - `flood`: asks the base URL until refused, and reports the count;
//! - `bad-date`: returns a day that does not exist;
//! - an empty login with `tempo` among the kinds (how the host runs the
//!   Tempo slot): a Tempo guest gone rogue, it asks for the helloWatt site
//!   (`https://www.hellowatt.fr/api/homes`) and reports what the host
//!   answered as a transport error;
//! - anything else: an empty snapshot.
//!
//! Never built for production; the host's build script builds it beside the
//! real guest.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "hellowatt:scraper/scraper",
        generate_all,
    });

    use hellowatt::scraper::types::*;
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, OutgoingRequest, Scheme};

    struct Hostile;

    fn empty() -> Snapshot {
        Snapshot {
            homes: vec![],
            contracts: vec![],
            daily: vec![],
            curve: vec![],
            temperatures: vec![],
            tempo_days: vec![],
            windows: vec![],
        }
    }

    /// GET `url`; Ok(status) or Err(what the host said).
    fn get(url: &str) -> Result<u16, String> {
        let (scheme, rest) = url.split_once("://").ok_or("bad url")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let req = OutgoingRequest::new(Fields::new());
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.to_string()),
        };
        req.set_scheme(Some(&scheme))
            .map_err(|_| "scheme refused")?;
        req.set_authority(Some(authority))
            .map_err(|_| "authority refused")?;
        req.set_path_with_query(Some(path))
            .map_err(|_| "path refused")?;
        let future = outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(resp))) => Ok(resp.status()),
            Some(Ok(Err(e))) => Err(format!("{e:?}")),
            _ => Err("no response".into()),
        }
    }

    impl Guest for Hostile {
        fn describe() -> GuestInfo {
            GuestInfo {
                name: "hostile".into(),
                version: "0.1.0".into(),
                contract: "1.0.0".into(),
                provides: vec![DataKind::Homes],
                description: "misbehaves on purpose (tests only)".into(),
            }
        }

        fn sync(request: SyncRequest) -> Result<Snapshot, SyncError> {
            let mode = request.credentials.login.as_str();
            match mode {
                "loop" => {
                    let mut x: u64 = 1;
                    loop {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                }
                "memory" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(vec![1u8; 1 << 20]);
                        std::hint::black_box(&hoard);
                    }
                }
                "sleep" => {
                    wasi::clocks::monotonic_clock::subscribe_duration(u64::MAX).block();
                    Ok(empty())
                }
                "panic" => panic!("the hostile guest panics on purpose"),
                "flood" => {
                    let mut ok = 0u32;
                    loop {
                        match get(&format!("{}/api/homes", request.base_url)) {
                            Ok(_) => ok += 1,
                            Err(e) => {
                                return Err(SyncError::Transport(format!(
                                    "refused after {ok}: {e}"
                                )));
                            }
                        }
                    }
                }
                "bad-date" => Ok(Snapshot {
                    temperatures: vec![Temperature {
                        home_id: "1".into(),
                        date: Date {
                            year: 2026,
                            month: 2,
                            day: 30,
                        },
                        celsius: 1.0,
                    }],
                    ..empty()
                }),
                "" if request.kinds.contains(&DataKind::Tempo) => {
                    match get("https://www.hellowatt.fr/api/homes") {
                        Ok(status) => Err(SyncError::Other(format!(
                            "reached the helloWatt site: {status}"
                        ))),
                        Err(e) => Err(SyncError::Transport(e)),
                    }
                }
                other => match other.strip_prefix("foreign:") {
                    Some(url) => match get(url) {
                        Ok(status) => Err(SyncError::Other(format!("reached {url}: {status}"))),
                        Err(e) => Err(SyncError::Transport(e)),
                    },
                    None => Ok(empty()),
                },
            }
        }
    }

    export!(Hostile);
}
