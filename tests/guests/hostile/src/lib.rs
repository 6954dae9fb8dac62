//! A misbehaving guest on the real contract, for the host's sandbox tests.
//!
//! The behaviour is chosen by the `login` of the sync request, so one
//! component covers every case:
//! - `loop`: computes forever (the CPU budget must stop it);
//! - `memory`: allocates until it is stopped (the memory cap);
//! - `sleep`: waits forever on a host clock (the wall-clock limit);
//! - `panic`: panics (a trap);
//! - `unreachable`: executes wasm's `unreachable` (a trap without a panic);
//! - `stack`: recurses with a 512-byte array in each frame; Rust keeps it
//!   on its shadow stack in linear memory (1 MiB), which runs out first:
//!   below address 0, an out-of-bounds memory access;
//! - `deep-call`: recurses with scalar locals only (nothing in linear
//!   memory), until wasmtime's native stack limit (`max_wasm_stack`) stops
//!   it: "call stack exhausted";
//! - `foreign:<url>`: asks for a URL outside the allow-list and reports
//!   what the host answered as a transport error; `<url>` may be any
//!   `scheme:rest` (`file:///etc/passwd`, `data:,x`, `gopher://h/`): other
//!   schemes go out as wasi:http `Scheme::Other`;
//! - `flood`: asks the base URL until refused, and reports the count;
//! - `flood-parallel`: starts requests without waiting for any answer
//!   until one is refused, and reports the count;
//! - `handles`: creates host resources (`fields`) and keeps them all, until
//!   the host stops it;
//! - `bad-date`: returns a day that does not exist;
//! - `bad:<case>`: returns one record with an out-of-range value, the case
//!   named as in [`component::bad`] (`neg-kwh`, `nan-celsius`, `year-1900`…);
//! - `records:<n>`: returns `n` Tempo days (the smallest record): a
//!   snapshot past the host's record cap, or past the memory cap;
//! - `big-string:<mib>`: returns a home whose address is `mib` MiB long;
//! - `alias:<n>:<kib>`: returns `n` homes whose addresses all point at the
//!   same `kib` KiB of guest memory (a hand-made lowering no honest guest
//!   produces: the host copies each one, `n` × `kib` KiB in all);
//! - an empty login with `ecowatt` among the kinds (how the host runs the
//!   EcoWatt slot): every attempt at RTE's credentials a guest could make
//!   (its own `Authorization`, a token of its own from RTE's token
//!   endpoint), then the signals as the host lets it read them; what each
//!   attempt got, and everything it read, go to its log (see
//!   [`ecowatt_leak`]);
//! - an empty login with `tempo` among the kinds (how the host runs the
//!   Tempo slot): a Tempo guest gone rogue, it asks for the helloWatt site
//!   (`https://www.hellowatt.fr/api/homes`) and reports what the host
//!   answered as a transport error;
//! - `demo@hellowatt.test`, the simulated site's demo account (the host
//!   fills the password only into a log-in naming the configured account,
//!   so the mode is that account): `leak`, every attempt at the user's
//!   secrets a guest author could make on contract 2 (see [`leak`]). It
//!   reports what each attempt got in its log, and returns one home whose
//!   address holds what it read of the site's answers, so that whatever it
//!   saw would reach the store, the API and MQTT;
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
    use wasi::http::types::{
        Fields, FutureIncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasi::io::streams::StreamError;

    struct Hostile;

    /// `hellowatt_sim::DEMO_LOGIN`: the account the `leak` mode runs as.
    const LEAK_ACCOUNT: &str = "demo@hellowatt.test";

    fn empty() -> Snapshot {
        Snapshot {
            homes: vec![],
            contracts: vec![],
            daily: vec![],
            curve: vec![],
            temperatures: vec![],
            tempo_days: vec![],
            ecowatt: vec![],
            windows: vec![],
            api_version: None,
        }
    }

    /// Starts `method` on `url` (`scheme:rest`) with these headers, and a
    /// body when given (none is taken otherwise); Err(what the host said).
    fn start(
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<FutureIncomingResponse, String> {
        let (scheme, rest) = url.split_once(':').ok_or("bad url")?;
        let (authority, path) = match rest.strip_prefix("//") {
            Some(r) => match r.find('/') {
                // `file:///etc/passwd`: an empty authority is no authority.
                Some(0) => (None, r),
                Some(i) => (Some(&r[..i]), &r[i..]),
                None => (Some(r), "/"),
            },
            // `data:,x`, `mailto:x`: no authority; keep a path the request
            // accepts so that only the scheme is what the host judges.
            None => (None, "/"),
        };
        let fields = Fields::new();
        for (k, v) in headers {
            fields
                .append(&k.to_string(), &v.as_bytes().to_vec())
                .map_err(|e| format!("header {k}: {e:?}"))?;
        }
        let req = OutgoingRequest::new(fields);
        req.set_method(&method).map_err(|_| "method refused")?;
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.to_string()),
        };
        req.set_scheme(Some(&scheme))
            .map_err(|_| format!("scheme {scheme:?} refused by the request"))?;
        req.set_authority(authority)
            .map_err(|_| "authority refused")?;
        req.set_path_with_query(Some(path))
            .map_err(|_| "path refused")?;
        let Some(body) = body else {
            return outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"));
        };
        let outgoing = req.body().map_err(|_| "no body")?;
        let future = outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
        {
            let stream = outgoing.write().map_err(|_| "no body stream")?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| format!("writing the body: {e:?}"))?;
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(|e| format!("{e:?}"))?;
        Ok(future)
    }

    fn start_get(url: &str) -> Result<FutureIncomingResponse, String> {
        start(Method::Get, url, &[], None)
    }

    /// GET `url`; Ok(status) or Err(what the host said).
    fn get(url: &str) -> Result<u16, String> {
        send(Method::Get, url)
    }

    /// `method` on `url` without a body; Ok(status) or Err(what the host
    /// said).
    fn send(method: Method, url: &str) -> Result<u16, String> {
        let future = start(method, url, &[], None)?;
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(resp))) => Ok(resp.status()),
            Some(Ok(Err(e))) => Err(format!("{e:?}")),
            _ => Err("no response".into()),
        }
    }

    /// What one exchange gave: the status, the headers and the body, or
    /// what the host said.
    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    /// Sends `method` `path` (with its query) to the base URL with these
    /// headers and body, and reads the whole answer.
    fn exchange(
        base_url: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, String> {
        let future = start(method, &format!("{base_url}{path}"), headers, Some(body))?;
        future.subscribe().block();
        let resp = match future.get() {
            Some(Ok(Ok(resp))) => resp,
            Some(Ok(Err(e))) => return Err(format!("{e:?}")),
            _ => return Err("no response".into()),
        };
        let headers = resp
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let mut body = Vec::new();
        let incoming = resp.consume().map_err(|_| "no answer body")?;
        let stream = incoming.stream().map_err(|_| "no answer stream")?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend(chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(format!("reading the answer: {e:?}")),
            }
        }
        Ok(Answer {
            status: resp.status(),
            headers,
            body,
        })
    }

    /// The `csrftoken` cookie an answer sets, as page script sees it.
    fn csrf_set_by(answer: &Result<Answer, String>) -> Option<String> {
        answer.as_ref().ok()?.headers.iter().find_map(|(k, v)| {
            let value = v.strip_prefix("csrftoken=").filter(|_| k == "set-cookie")?;
            Some(value.split(';').next().unwrap_or("").to_string())
        })
    }

    /// Every way a guest on contract 2 could reach the user's password or
    /// session, tried in turn against the configured site; then the
    /// honest log-in and an API call. Each line of `report` says what one
    /// attempt got; `seen` gathers everything the guest read.
    pub(crate) fn leak(request: &SyncRequest) -> Snapshot {
        let base = request.base_url.as_str();
        let ph = request.credentials.password_placeholder.as_str();
        let login = request.credentials.login.as_str();
        let login_enc = login.replace('@', "%40");
        let mut report: Vec<String> = Vec::new();
        let mut seen = String::new();
        let mut note = |what: &str, got: &Result<Answer, String>, seen: &mut String| {
            let line = match got {
                Ok(a) => {
                    for (k, v) in &a.headers {
                        seen.push_str(&format!("{k}: {v}\n"));
                    }
                    seen.push_str(&String::from_utf8_lossy(&a.body));
                    format!("{what}: HTTP {}", a.status)
                }
                Err(e) => format!("{what}: refused ({e})"),
            };
            report.push(line);
        };
        let form = [("Content-Type", "application/x-www-form-urlencoded")];

        // The log-in page: its token, and whatever cookies the guest sees.
        let page = exchange(base, Method::Get, "/accounts/login/", &[], b"");
        let csrf = csrf_set_by(&page).unwrap_or_default();
        note("the log-in page", &page, &mut seen);
        let with_token = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-CSRFToken", csrf.as_str()),
        ];
        let token = format!("&csrfmiddlewaretoken={csrf}");

        let text = [("Content-Type", "text/plain")];
        let x_note = [("X-Note", ph)];
        let attempts: [(&str, Method, String, &[(&str, &str)], String); 8] = [
            // A typed guess instead of the placeholder: an oracle on the
            // user's password.
            (
                "a typed password",
                Method::Post,
                "/accounts/login/".into(),
                &with_token,
                format!("login={login_enc}&password=Guess-0000{token}"),
            ),
            // The placeholder, for the author's own account.
            (
                "another account",
                Method::Post,
                "/accounts/login/".into(),
                &with_token,
                format!("login=author%40evil.example&password={ph}{token}"),
            ),
            // The placeholder twice: the password and a note beside it.
            (
                "a second field",
                Method::Post,
                "/accounts/login/".into(),
                &with_token,
                format!("login={login_enc}&password={ph}&note={ph}{token}"),
            ),
            // The placeholder in a body the host cannot read as a form.
            (
                "a text body",
                Method::Post,
                "/accounts/login/".into(),
                &text,
                format!("login={login_enc}&password={ph}"),
            ),
            // A URL, a header, other paths.
            (
                "the URL",
                Method::Get,
                format!("/api/homes?q={ph}"),
                &[],
                String::new(),
            ),
            (
                "a header",
                Method::Get,
                "/api/homes".into(),
                &x_note,
                String::new(),
            ),
            (
                "a profile",
                Method::Post,
                "/api/user".into(),
                &form,
                format!("first_name={ph}"),
            ),
            (
                "a sign-up form",
                Method::Post,
                "/accounts/signup/".into(),
                &form,
                format!("email={login_enc}&password1={ph}"),
            ),
        ];
        for (what, method, path, headers, body) in attempts {
            let got = exchange(base, method, &path, headers, body.as_bytes());
            note(what, &got, &mut seen);
        }

        // The honest log-in: the host fills the password in.
        let body = format!("login={login_enc}&password={ph}{token}");
        let got = exchange(
            base,
            Method::Post,
            "/accounts/login/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-CSRFToken", csrf.as_str()),
                ("X-Requested-With", "XMLHttpRequest"),
                ("Referer", &format!("{base}/accounts/login/")),
                ("Origin", base),
            ],
            body.as_bytes(),
        );
        note("the log-in", &got, &mut seen);
        let csrf_after = csrf_set_by(&got).unwrap_or_else(|| csrf.clone());
        let api = [
            ("Accept", "application/json; version=1.48"),
            ("X-CSRFToken", csrf_after.as_str()),
            ("X-Requested-With", "XMLHttpRequest"),
        ];
        // A forged session cookie, then the host's own.
        let forged = [("Cookie", "sessionid=forged-by-the-guest")];
        let got = exchange(base, Method::Get, "/api/homes", &forged, b"");
        note("a forged session", &got, &mut seen);
        let got = exchange(base, Method::Get, "/api/homes", &api, b"");
        note("the homes", &got, &mut seen);
        let got = exchange(base, Method::Get, "/api/user", &api, b"");
        note("the profile", &got, &mut seen);
        // Log-ins until the host stops them: guesses by repetition.
        for i in 0..4 {
            let got = exchange(
                base,
                Method::Post,
                "/accounts/login/",
                &with_token,
                body.as_bytes(),
            );
            note(&format!("log-in again #{i}"), &got, &mut seen);
        }

        for line in &report {
            hellowatt::scraper::log::log(
                hellowatt::scraper::log::Level::Warn,
                &format!("leak: {line}"),
            );
        }
        // Everything read, into the log (in lines the host keeps whole)
        // and into a home's address (as much as the host takes).
        let printable = log_seen(&seen);
        // The host takes 1000 bytes of free text: the end, where the
        // log-in's answer and the API's are.
        let address = printable[printable.len().saturating_sub(900)..].to_string();
        Snapshot {
            homes: vec![Home {
                id: "1".into(),
                address: Some(address),
                postal_code: None,
                city: Some(
                    report
                        .join("; ")
                        .chars()
                        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
                        .take(900)
                        .collect(),
                ),
                // A meter with a day of data, so that MQTT publishes it.
                meters: vec![Meter {
                    id: "01234567890123".into(),
                    energy: Energy::Electricity,
                }],
            }],
            daily: vec![reading(request.start)],
            ..empty()
        }
    }

    /// In the EcoWatt slot: tries to send a credential of its own and to
    /// get a token itself, then reads the signals; logs what each attempt
    /// got and every header and body it read (the host holds RTE's client
    /// credentials and adds the bearer token: neither may show here).
    pub(crate) fn ecowatt_leak(request: &SyncRequest) -> Snapshot {
        const SIGNALS: &str = "/open_api/ecowatt/v5/signals";
        let base = request.base_url.as_str();
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let attempts: [(&str, Method, &str, &[(&str, &str)], &[u8]); 5] = [
            (
                "a bearer of its own",
                Method::Get,
                SIGNALS,
                &[("Authorization", "Bearer guessed-token")],
                b"",
            ),
            (
                "Basic credentials of its own",
                Method::Get,
                SIGNALS,
                &[("Authorization", "Basic Z3Vlc3M6Z3Vlc3M=")],
                b"",
            ),
            (
                "a token from RTE",
                Method::Post,
                "/token/oauth/",
                &form,
                b"grant_type=client_credentials",
            ),
            (
                "a token from RTE by GET",
                Method::Get,
                "/token/oauth/",
                &[],
                b"",
            ),
            (
                "the signals",
                Method::Get,
                SIGNALS,
                &[("Accept", "application/json")],
                b"",
            ),
        ];
        let mut seen = String::new();
        for (what, method, path, headers, body) in attempts {
            let line = match exchange(base, method, path, headers, body) {
                Ok(a) => {
                    for (k, v) in &a.headers {
                        seen.push_str(&format!("{k}: {v}\n"));
                    }
                    seen.push_str(&String::from_utf8_lossy(&a.body));
                    format!("{what}: HTTP {}", a.status)
                }
                Err(e) => format!("{what}: refused ({e})"),
            };
            hellowatt::scraper::log::log(
                hellowatt::scraper::log::Level::Warn,
                &format!("ecowatt-leak: {line}"),
            );
        }
        log_seen(&seen);
        empty()
    }

    /// Logs everything read, in lines the host keeps whole, and returns it
    /// as printable ASCII: the host refuses invisible and control
    /// characters in free text, and the secrets at stake are ASCII.
    fn log_seen(seen: &str) -> String {
        let printable: String = seen
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .collect();
        let chars: Vec<char> = printable.chars().collect();
        for part in chars.chunks(1500) {
            let part: String = part.iter().collect();
            hellowatt::scraper::log::log(
                hellowatt::scraper::log::Level::Info,
                &format!("seen: {part}"),
            );
        }
        printable
    }

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    fn reading(d: Date) -> DailyReading {
        DailyReading {
            meter_id: "01234567890123".into(),
            date: d,
            periods: vec![],
            kwh: Some(10.0),
            eur: Some(2.0),
            subscription_eur: None,
            co2_kg: None,
            solar_production_kwh: None,
            solar_production_eur: None,
            injection_kwh: None,
            injection_eur: None,
        }
    }

    fn home(id: String, address: String) -> Home {
        Home {
            id,
            address: Some(address),
            postal_code: None,
            city: None,
            meters: vec![],
        }
    }

    /// One record with one out-of-range value, dated `day` (inside the
    /// asked window unless the case is about the date).
    pub(crate) fn bad(case: &str, day: Date) -> Option<Snapshot> {
        let daily = |f: &dyn Fn(&mut DailyReading)| {
            let mut r = reading(day);
            f(&mut r);
            Snapshot {
                daily: vec![r],
                ..empty()
            }
        };
        let temperature = |celsius: f64, d: Date| Snapshot {
            temperatures: vec![Temperature {
                home_id: "1".into(),
                date: d,
                period: TemperaturePeriod::Day,
                celsius,
            }],
            ..empty()
        };
        let midnight = paris_midnight_utc(day);
        let curve = |start: i64, minutes: u16, kwh: Option<f64>| Snapshot {
            curve: vec![CurvePoint {
                meter_id: "01234567890123".into(),
                start,
                date: day,
                minutes,
                kwh,
            }],
            ..empty()
        };
        Some(match case {
            "neg-kwh" => daily(&|r| r.kwh = Some(-1.0)),
            "neg-injection" => daily(&|r| r.injection_kwh = Some(-2.5)),
            "neg-solar" => daily(&|r| r.solar_production_kwh = Some(-0.1)),
            "huge-kwh" => daily(&|r| r.kwh = Some(1e12)),
            "nan-kwh" => daily(&|r| r.kwh = Some(f64::NAN)),
            "inf-kwh" => daily(&|r| r.kwh = Some(f64::INFINITY)),
            "nan-eur" => daily(&|r| r.eur = Some(f64::NAN)),
            "inf-eur" => daily(&|r| r.eur = Some(f64::INFINITY)),
            "neg-inf-eur" => daily(&|r| r.subscription_eur = Some(f64::NEG_INFINITY)),
            "nan-period" => daily(&|r| {
                r.periods = vec![PeriodValue {
                    period: "HC".into(),
                    kwh: Some(f64::NAN),
                    eur: None,
                }]
            }),
            "year-1900" => daily(&|r| r.date = date(1900, 1, 1)),
            "year-2100" => daily(&|r| r.date = date(2100, 1, 1)),
            "empty-meter" => daily(&|r| r.meter_id = String::new()),
            "nan-celsius" => temperature(f64::NAN, day),
            "inf-celsius" => temperature(f64::INFINITY, day),
            "neg-inf-celsius" => temperature(f64::NEG_INFINITY, day),
            "hot-celsius" => temperature(300.0, day),
            "celsius-2100" => temperature(5.0, date(2100, 1, 1)),
            "curve-7d" => curve(midnight + 7 * 86_400, 30, Some(0.2)),
            "curve-start-max" => curve(i64::MAX, 30, Some(0.2)),
            "curve-start-min" => curve(i64::MIN, 30, Some(0.2)),
            "curve-nan" => curve(midnight, 30, Some(f64::NAN)),
            "curve-neg" => curve(midnight, 30, Some(-0.5)),
            "curve-0min" => curve(midnight, 0, Some(0.1)),
            // Plausible EcoWatt signals, from a slot that never asks for
            // them: a helloWatt guest must not write RTE's signals.
            "ecowatt-unasked" => Snapshot {
                ecowatt: vec![EcowattDay {
                    date: day,
                    level: Some(3),
                    hours: vec![EcowattHour {
                        start: midnight,
                        level: 3,
                    }],
                    generated_at: None,
                }],
                ..empty()
            },
            "window-detail" => Snapshot {
                windows: vec![Window {
                    subject: "01234567890123".into(),
                    kind: DataKind::ElectricityDaily,
                    start: day,
                    end: day,
                    status: WindowStatus::SiteError("x".repeat(4 << 20)),
                }],
                ..empty()
            },
            "many-meters" => Snapshot {
                homes: vec![Home {
                    meters: (0..300_000)
                        .map(|i| Meter {
                            id: format!("{i}"),
                            energy: Energy::Electricity,
                        })
                        .collect(),
                    ..home("1".into(), "x".into())
                }],
                ..empty()
            },
            "many-periods" => daily(&|r| {
                r.periods = (0..300_000)
                    .map(|i| PeriodValue {
                        period: format!("{i}"),
                        kwh: None,
                        eur: None,
                    })
                    .collect()
            }),
            _ => return None,
        })
    }

    /// Local midnight of `d` in Europe/Paris, near enough for a test
    /// record: winter offset (the hostile cases use January).
    fn paris_midnight_utc(d: Date) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(d.year) - i64::from(d.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (i64::from(d.month) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(d.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400 - 3600
    }

    /// `n` homes whose addresses share one buffer of `kib` KiB. The
    /// strings are leaked on purpose: the canonical ABI's post-return would
    /// free the same buffer `n` times.
    fn aliased(n: usize, kib: usize) -> Snapshot {
        let buffer: &'static mut [u8] = Vec::leak(vec![b'a'; kib * 1024]);
        let (ptr, len) = (buffer.as_mut_ptr(), buffer.len());
        let homes = (0..n)
            .map(|i| {
                // SAFETY: hostile on purpose. Every String points at the
                // same leaked bytes (valid UTF-8); nothing in this guest
                // frees them, and the host only reads them.
                let address = unsafe { String::from_raw_parts(ptr, len, len) };
                home(format!("{i}"), address)
            })
            .collect();
        Snapshot { homes, ..empty() }
    }

    impl Guest for Hostile {
        fn describe() -> GuestInfo {
            GuestInfo {
                name: "hostile".into(),
                version: "0.1.0".into(),
                contract: "4.0.0".into(),
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
                "unreachable" => core::arch::wasm32::unreachable(),
                "stack" => {
                    // Endless on purpose. The array lives on Rust's shadow
                    // stack in linear memory, 512 bytes a call: that stack
                    // (1 MiB) runs out long before wasmtime's native stack
                    // limit, and running below address 0 traps as an
                    // out-of-bounds memory access. `deep-call` reaches the
                    // native limit.
                    #[allow(unconditional_recursion)]
                    fn deeper(n: u64) -> u64 {
                        let frame = std::hint::black_box([n; 64]);
                        deeper(frame[3] + 1) + frame[7]
                    }
                    Err(SyncError::Other(format!("{}", deeper(0))))
                }
                "deep-call" => {
                    // Endless on purpose, with nothing in linear memory: a
                    // u64 is a wasm local, so no frame moves the shadow
                    // stack pointer, and only wasmtime's limit on the native
                    // stack stops it (a wasm "call stack exhausted" trap).
                    #[allow(unconditional_recursion)]
                    #[inline(never)]
                    fn deeper(n: u64) -> u64 {
                        // Not `black_box(n)`: given a value, black_box
                        // stores it in a stack slot whose address it takes,
                        // which on wasm is a 16-byte shadow-stack frame per
                        // call. `black_box(())` has no operand (an empty asm
                        // with a memory clobber): it only keeps the call.
                        std::hint::black_box(());
                        // Two operations after the call, not one
                        // accumulator: no tail call, so no loop.
                        deeper(n.wrapping_add(1)).rotate_left(7) ^ n
                    }
                    Err(SyncError::Other(format!("{}", deeper(0))))
                }
                "handles" => {
                    let mut kept = Vec::new();
                    loop {
                        kept.push(Fields::new());
                        std::hint::black_box(&kept);
                    }
                }
                "flood-parallel" => {
                    let mut pending = Vec::new();
                    loop {
                        match start_get(&format!("{}/api/homes", request.base_url)) {
                            Ok(f) => pending.push(f),
                            Err(e) => {
                                return Err(SyncError::Transport(format!(
                                    "refused after {}: {e}",
                                    pending.len()
                                )));
                            }
                        }
                        // The host answers a refusal through the future:
                        // look at the newest one without waiting.
                        if let Some(Ok(Err(e))) = pending.last().and_then(|f| f.get()) {
                            return Err(SyncError::Transport(format!(
                                "refused after {}: {e:?}",
                                pending.len() - 1
                            )));
                        }
                    }
                }
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
                        period: TemperaturePeriod::Day,
                        celsius: 1.0,
                    }],
                    ..empty()
                }),
                "" if request.kinds.contains(&DataKind::Ecowatt) => Ok(ecowatt_leak(&request)),
                "" if request.kinds.contains(&DataKind::Tempo) => {
                    match get("https://www.hellowatt.fr/api/homes") {
                        Ok(status) => Err(SyncError::Other(format!(
                            "reached the helloWatt site: {status}"
                        ))),
                        Err(e) => Err(SyncError::Transport(e)),
                    }
                }
                LEAK_ACCOUNT => Ok(leak(&request)),
                other => {
                    // `post:URL`: a POST where the guest has no business
                    // posting (a profile, a sign-up form).
                    if let Some(url) = other.strip_prefix("post:") {
                        return match send(Method::Post, url) {
                            Ok(status) => {
                                Err(SyncError::Other(format!("posted to {url}: {status}")))
                            }
                            Err(e) => Err(SyncError::Transport(e)),
                        };
                    }
                    if let Some(url) = other.strip_prefix("foreign:") {
                        return match get(url) {
                            Ok(status) => Err(SyncError::Other(format!("reached {url}: {status}"))),
                            Err(e) => Err(SyncError::Transport(e)),
                        };
                    }
                    if let Some(case) = other.strip_prefix("bad:") {
                        return bad(case, request.start)
                            .ok_or_else(|| SyncError::Other(format!("no bad case {case}")));
                    }
                    let number = |s: &str| {
                        s.parse::<usize>()
                            .map_err(|e| SyncError::Other(e.to_string()))
                    };
                    if let Some(n) = other.strip_prefix("records:") {
                        let n = number(n)?;
                        let mut tempo_days = Vec::with_capacity(n);
                        tempo_days.resize(
                            n,
                            TempoDay {
                                date: request.start,
                                colour: Some(TempoColour::Blue),
                                source: TempoSource::Service,
                                meter_id: None,
                            },
                        );
                        return Ok(Snapshot {
                            tempo_days,
                            ..empty()
                        });
                    }
                    if let Some(mib) = other.strip_prefix("big-string:") {
                        let address = "a".repeat(number(mib)? << 20);
                        return Ok(Snapshot {
                            homes: vec![home("1".into(), address)],
                            ..empty()
                        });
                    }
                    if let Some(spec) = other.strip_prefix("alias:") {
                        let (n, kib) = spec.split_once(':').unwrap_or((spec, "1"));
                        return Ok(aliased(number(n)?, number(kib)?));
                    }
                    Ok(empty())
                }
            }
        }
    }

    export!(Hostile);
}
