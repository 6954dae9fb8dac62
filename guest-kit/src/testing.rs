//! Helpers for the guests' native tests (feature `testing`, enabled as a
//! dev-dependency feature only): building a response, answering from a
//! cassette as the host's replay would (a [`Transport`], with the host's
//! browser between: the password filled into the log-in, the cookies
//! held, the answers scrubbed), and running every scenario of a folder
//! against its golden file.
//!
//! This module owns test plumbing only. It must never be enabled in a
//! guest's normal dependencies (a component would carry the fixtures), and
//! never know a guest's flow: which requests a scenario expects is the
//! cassette's business.

use crate::transport::{Request, Response, Transport, denied};
use hellowatt_browser::{Browser, LogIn, header_map, header_pairs};
use hellowatt_fixtures::{Exchange, Replay, ReplayRequest, Scenario};
use hellowatt_snapshot::{Outcome, Snapshot, SyncError, SyncRequest, diff_outcomes};

/// The password placeholder native tests give their guests (the host
/// draws a random one per run).
pub const PLACEHOLDER: &str = "hellowatt-password-00000000000000000000000000000000";

/// The log-in the cassettes were recorded with (the host's default).
pub const LOGIN_METHOD: &str = "POST";
pub const LOGIN_PATH: &str = "/accounts/login/";

/// A response with these headers and body.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// Answers from a cassette, with header checks on (as the host's `guest
/// check` does); a request the cassette refuses is a denied request, as
/// the host's policy would make it, and its reason is kept.
pub struct Replayer {
    pub replay: Replay,
    /// Why the cassette or the browser refused requests, in order.
    pub refusals: Vec<String>,
    origin: String,
    browser: Browser,
}

impl Replayer {
    /// `origin` is the site the guest believes it talks to. No account:
    /// the placeholder is refused everywhere.
    pub fn new(exchanges: Vec<Exchange>, origin: &str) -> Replayer {
        Replayer::from_replay(Replay::new(exchanges, origin, true), origin)
    }

    /// [`Replayer::new`] over a replay made already.
    pub fn from_replay(replay: Replay, origin: &str) -> Replayer {
        Replayer {
            replay,
            refusals: Vec::new(),
            origin: origin.to_string(),
            browser: Browser::new(PLACEHOLDER.to_string(), None, origin.starts_with("https:")),
        }
    }

    /// The browser holds this account's password for the log-in (the
    /// host's default log-in request), as the host does.
    pub fn logging_in(mut self, login: &str, password: &str) -> Replayer {
        self.browser = Browser::new(
            PLACEHOLDER.to_string(),
            Some(LogIn {
                method: LOGIN_METHOD.into(),
                path: LOGIN_PATH.into(),
                login: login.to_string(),
                password: password.to_string(),
            }),
            self.origin.starts_with("https:"),
        );
        self
    }

    /// A scenario's cassette, its account's password held by the browser
    /// for the log-in and its bearer token added to every request (as the
    /// host's `guest check` does).
    pub fn for_scenario(s: &Scenario, origin: &str) -> Replayer {
        let r = Replayer::new(s.exchanges.clone(), origin);
        let mut r = if s.request.password.is_empty() {
            r
        } else {
            r.logging_in(&s.request.login, &s.request.password)
        };
        r.browser = r.browser.with_bearer(&s.request.bearer);
        r
    }

    pub fn answer(&mut self, req: &ReplayRequest<'_>) -> Result<Response, SyncError> {
        assert!(
            !req.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("host")),
            "a guest never sets Host"
        );
        let mut headers = match header_map(req.headers) {
            Ok(h) => h,
            Err(e) => return Err(self.refuse(req.path, e)),
        };
        let mut body = req.body.to_vec();
        if let Err(e) =
            self.browser
                .outgoing(req.method, req.path, req.query, &mut headers, &mut body)
        {
            return Err(self.refuse(req.path, e));
        }
        let sent = header_pairs(&headers);
        let answer = self.replay.answer(&ReplayRequest {
            headers: &sent,
            body: &body,
            ..*req
        });
        match answer {
            Ok(resp) => {
                let mut headers = match header_map(&resp.headers) {
                    Ok(h) => h,
                    Err(e) => return Err(self.refuse(req.path, e)),
                };
                let mut body = resp.body;
                self.browser.incoming(&mut headers, &mut body);
                Ok(Response {
                    status: resp.status,
                    headers: header_pairs(&headers),
                    body,
                })
            }
            Err(e) => Err(self.refuse(req.path, e.to_string())),
        }
    }

    fn refuse(&mut self, path: &str, why: String) -> SyncError {
        self.refusals.push(why);
        denied(&self.origin, path)
    }

    /// The problem of a run that left recorded exchanges unasked: the
    /// cassette records exactly the flow (no call skipped, none repeated
    /// beyond the recording).
    pub fn unused_problem(&self) -> Option<String> {
        let unused = self.replay.unused();
        (!unused.is_empty())
            .then(|| format!("recorded exchanges never asked: {}", unused.join(", ")))
    }
}

/// The cassette answers every request, as the host's replay would.
impl Transport for Replayer {
    fn send(&mut self, req: &Request) -> Result<Response, SyncError> {
        self.answer(&ReplayRequest {
            method: req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        })
    }
}

/// Replays one scenario through `sync` (a guest's flow, called natively as
/// the component would be, with the scenario's window and kinds, the
/// recorded origin as the base URL and [`PLACEHOLDER`]) and says what is
/// wrong: each difference from the golden, recorded exchanges never asked,
/// requests the cassette or the browser refused, and with
/// `HELLOWATT_SHOW_GOT` set the whole outcome.
pub fn replay_problems(
    s: &Scenario,
    origin: &str,
    sync: impl FnOnce(&mut Replayer, &SyncRequest) -> Result<Snapshot, SyncError>,
) -> Vec<String> {
    let mut t = Replayer::for_scenario(s, origin);
    let req = SyncRequest {
        base_url: origin.to_string(),
        login: s.request.login.clone(),
        password_placeholder: PLACEHOLDER.to_string(),
        start: s.request.start,
        end: s.request.end,
        kinds: s.request.kinds.clone(),
    };
    let got = Outcome::from_result(sync(&mut t, &req));
    let mut problems: Vec<String> = diff_outcomes(&s.golden, &got)
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    problems.extend(t.unused_problem());
    for refusal in &t.refusals {
        problems.push(format!("replay refused: {refusal}"));
    }
    if !problems.is_empty() && std::env::var_os("HELLOWATT_SHOW_GOT").is_some() {
        problems.push(format!("got: {got:?}"));
    }
    problems
}

/// Checks every scenario with `check` (which lists what is wrong with
/// one) and fails naming each failing scenario and its problems. `what`
/// names the set in the summary line (`shared`, `Tempo`). An empty set
/// fails too: a check that ran on nothing proved nothing.
pub fn assert_scenarios(
    what: &str,
    scenarios: &[Scenario],
    check: impl Fn(&Scenario) -> Vec<String>,
) {
    assert!(
        !scenarios.is_empty(),
        "no {what} scenario to check: the scenario folder is empty or was not found"
    );
    let mut failures = Vec::new();
    for s in scenarios {
        let problems = check(s);
        if !problems.is_empty() {
            failures.push(format!(
                "scenario {} ({}):\n  {}",
                s.name,
                s.description,
                problems.join("\n  ")
            ));
        }
    }
    eprintln!(
        "{} {what} scenario(s), {} failing",
        scenarios.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[cfg(test)]
mod tests {
    use super::assert_scenarios;

    #[test]
    #[should_panic(expected = "no shared scenario to check")]
    fn an_empty_set_of_scenarios_fails() {
        assert_scenarios("shared", &[], |_| Vec::new());
    }
}
