//! `hellowatt guest check`: proves a guest against the recorded scenarios.
//!
//! Each scenario's cassette is replayed inside the same HTTP policy and
//! sandbox limits as production (no socket is opened), and the guest's
//! outcome is compared field by field with the golden one. This part owns
//! that verdict and its report; it must never change a guest or a fixture.

use crate::sandbox::policy::{Backend, HttpLimits, Origin, PolicyHooks, RequestRules};
use crate::sandbox::redact::Redactor;
use crate::sandbox::runtime::{Guest, Limits, Runtime};
use crate::sandbox::validate;
use anyhow::Result;
use hellowatt_fixtures::{Replay, Scenario};
use hellowatt_snapshot::SyncRequest;
use hellowatt_snapshot::{Difference, Outcome, diff_outcomes};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The verdict on one scenario.
#[derive(Debug)]
pub struct ScenarioResult {
    pub name: String,
    /// Field differences with the golden outcome.
    pub differences: Vec<Difference>,
    /// A failure that is not a difference: the sandbox stopped the guest,
    /// or its records failed the host's checks.
    pub failure: Option<String>,
    /// Requests the policy refused (outside the cassette or the rules).
    pub denied: Vec<String>,
    /// Recorded exchanges the guest never asked for (information only).
    pub unused: Vec<String>,
}

impl ScenarioResult {
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.failure.is_none()
    }
}

/// Replays one scenario, under the requests its slot allows in production.
pub async fn check_scenario(
    runtime: &Runtime,
    guest: &Guest,
    scenario: &Scenario,
    limits: &Limits,
    requests: &RequestRules,
) -> Result<ScenarioResult> {
    let redactor = Arc::new(Redactor::with_secrets([
        scenario.request.password.as_str(),
        scenario.request.bearer.as_str(),
    ]));
    // The scenarios of a slot were recorded against its site; a guest of
    // another name is replayed as a helloWatt scraper.
    let origin = crate::slot::Slot::parse(&guest.info.name)
        .unwrap_or(crate::slot::Slot::Hellowatt)
        .recorded_origin();
    // The scenario's account logs in as the configured one would: the
    // guest gets a placeholder, the replay sees the recorded password.
    let hooks = PolicyHooks::new(
        Origin::parse(origin).map_err(anyhow::Error::msg)?,
        HttpLimits {
            pacing: std::time::Duration::ZERO,
            requests: requests.clone(),
            ..HttpLimits::default()
        },
        Backend::Replay(Mutex::new(Replay::new(
            scenario.exchanges.clone(),
            origin,
            true,
        ))),
        redactor,
    )
    .with_account(&scenario.request.login, &scenario.request.password)
    // The bearer token the host would add (RTE's, for the EcoWatt slot).
    .with_bearer(&scenario.request.bearer);
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        differences: vec![],
        failure: None,
        denied: vec![],
        unused: vec![],
    };
    let mut run = runtime.start(guest, hooks.clone(), limits).await?;
    let call = SyncRequest {
        base_url: origin.to_string(),
        login: scenario.request.login.clone(),
        password_placeholder: hooks.placeholder(),
        start: scenario.request.start,
        end: scenario.request.end,
        kinds: scenario.request.kinds.clone(),
    };
    match run.sync(&call).await {
        Ok(answer) => {
            if let Ok(snapshot) = &answer
                && let Err(e) = validate::snapshot(snapshot, call.start, call.end)
                    .and_then(|()| validate::asked(snapshot, &call.kinds))
            {
                result.failure = Some(format!("records refused by the host: {e}"));
            }
            result.differences = diff_outcomes(&scenario.golden, &Outcome::from_result(answer));
        }
        Err(e) => result.failure = Some(e.to_string()),
    }
    let traffic = hooks.traffic();
    result.denied = traffic
        .denied
        .iter()
        .map(|d| format!("{}: {}", d.request, d.reason))
        .collect();
    result.unused = hooks.replay_unused();
    Ok(result)
}

/// Replays every scenario; the report is in scenario order.
pub async fn check_all(
    runtime: &Runtime,
    guest: &Guest,
    scenarios: &[Scenario],
    limits: &Limits,
    requests: &RequestRules,
) -> Result<Vec<ScenarioResult>> {
    let mut out = Vec::with_capacity(scenarios.len());
    for s in scenarios {
        out.push(check_scenario(runtime, guest, s, limits, requests).await?);
    }
    Ok(out)
}

/// A report a person reads: one line per scenario, details under failures.
pub fn report(guest: &Guest, results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "guest {} {} (contract {}, sha256 {})",
        guest.info.name, guest.info.version, guest.info.contract, guest.sha256
    );
    let _ = writeln!(out, "imports: {}", guest.imports.join(", "));
    for r in results {
        if r.passed() {
            let _ = writeln!(out, "  ok    {}", r.name);
            continue;
        }
        let _ = writeln!(out, "  FAIL  {}", r.name);
        if let Some(f) = &r.failure {
            let _ = writeln!(out, "        {f}");
        }
        for d in &r.differences {
            let _ = writeln!(out, "        {d}");
        }
        for d in &r.denied {
            let _ = writeln!(out, "        denied {d}");
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let _ = writeln!(out, "{passed} passed, {} failed", results.len() - passed);
    out
}

/// A shipped scenario that a guest's own scenario replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersession {
    /// The shipped scenario's name.
    pub shipped: String,
    /// The guest's scenario that replaces it.
    pub by: String,
}

impl std::fmt::Display for Supersession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (shipped) by {}", self.shipped, self.by)
    }
}

/// The scenarios a candidate is proven on: those shipped with the host,
/// but for the ones its own scenarios supersede, and its own.
///
/// The trust rule: a guest may supersede a shipped scenario only when it
/// is signed by a trusted publisher key (`signed_by`, the key that
/// verified it). A shipped scenario can expect an error for exactly the
/// change a fixed guest must accept (`site-changed`); letting any guest
/// drop it would let a stranger's guest skip the host's proof, so the
/// person who trusts the key vouches for the replacement. Naming a
/// scenario that is not shipped is a mistake, refused too.
pub fn proving_set(
    shipped: &[Scenario],
    own: Vec<Scenario>,
    signed_by: Option<&str>,
) -> Result<(Vec<Scenario>, Vec<Supersession>), String> {
    let mut superseded = Vec::new();
    for s in &own {
        for name in &s.supersedes {
            if !shipped.iter().any(|x| &x.name == name) {
                return Err(format!(
                    "scenario {} supersedes {name:?}, which is not a scenario shipped with \
                     this hellowatt (shipped: {})",
                    s.name,
                    shipped
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if signed_by.is_none() {
                return Err(format!(
                    "scenario {} supersedes the shipped scenario {name:?}: only a guest signed \
                     by a trusted publisher key may replace a shipped scenario (sign it with \
                     `hellowatt guest sign` and trust the key in `trusted_keys`)",
                    s.name
                ));
            }
            superseded.push(Supersession {
                shipped: name.clone(),
                by: s.name.clone(),
            });
        }
    }
    let mut set: Vec<Scenario> = shipped
        .iter()
        .filter(|x| !superseded.iter().any(|s| s.shipped == x.name))
        .cloned()
        .collect();
    set.extend(own);
    Ok((set, superseded))
}

/// The report's line on superseded scenarios (empty when none).
pub fn superseded_lines(superseded: &[Supersession], signed_by: Option<&str>) -> String {
    if superseded.is_empty() {
        return String::new();
    }
    let key = signed_by.map_or(String::new(), |k| {
        format!(" (the guest is signed by key {})", &k[..k.len().min(16)])
    });
    format!(
        "superseded{key}: {}\n",
        superseded
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, supersedes: &[&str]) -> Scenario {
        let shipped = hellowatt_fixtures::embedded_scenarios().unwrap();
        Scenario {
            name: name.into(),
            supersedes: supersedes.iter().map(|s| s.to_string()).collect(),
            ..shipped[0].clone()
        }
    }

    #[test]
    fn only_a_signed_guest_supersedes_a_shipped_scenario() {
        let shipped = vec![scenario("base", &[]), scenario("site-changed", &[])];
        let fix = || vec![scenario("v2.fixtures/renamed", &["site-changed"])];

        // Unsigned: refused, saying how to sign.
        let err = proving_set(&shipped, fix(), None).unwrap_err();
        assert!(
            err.contains("site-changed") && err.contains("trusted publisher key"),
            "{err}"
        );

        // Signed by a trusted key: the shipped one is replaced, and said so.
        let (set, superseded) = proving_set(&shipped, fix(), Some("ab12cd34")).unwrap();
        let names: Vec<&str> = set.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["base", "v2.fixtures/renamed"]);
        assert_eq!(
            superseded,
            [Supersession {
                shipped: "site-changed".into(),
                by: "v2.fixtures/renamed".into()
            }]
        );
        let line = superseded_lines(&superseded, Some("ab12cd34"));
        assert_eq!(
            line,
            "superseded (the guest is signed by key ab12cd34): site-changed (shipped) by \
             v2.fixtures/renamed\n"
        );

        // Naming what is not shipped is a mistake, whoever signed.
        let wrong = vec![scenario("mine", &["no-such"])];
        let err = proving_set(&shipped, wrong, Some("ab12cd34")).unwrap_err();
        assert!(
            err.contains("\"no-such\"") && err.contains("base, site-changed"),
            "{err}"
        );

        // Own scenarios that supersede nothing need no signature.
        let (set, superseded) = proving_set(&shipped, vec![scenario("extra", &[])], None).unwrap();
        assert_eq!(set.len(), 3);
        assert!(superseded.is_empty());
    }
}
