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
    let redactor = Arc::new(Redactor::with_secrets([scenario.request.password.as_str()]));
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
    .with_account(&scenario.request.login, &scenario.request.password);
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
