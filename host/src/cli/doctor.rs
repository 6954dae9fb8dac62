//! `hellowatt doctor`: what a user runs first, and attaches to a bug
//! report. With the configured account, it asks the site for each part
//! once (log-in and homes with their contracts, one day of each daily
//! series, the curve of one day, the temperature) on one guest instance
//! (one log-in, as a run), then the Tempo service, then RTE's token for the
//! EcoWatt slot (the token only: the signals allow one call every 15
//! minutes, which the running service needs), and prints one line per
//! step: the HTTP statuses of its requests, whether the answer was
//! understood or what differs, and the time it took. It ends with what to
//! do next.
//!
//! It owns the steps and their report. It must never print a secret or a
//! person's data: the report holds request methods and paths (the site's
//! ids in them masked), statuses and the guest's typed outcomes, which
//! pass the run's redactor (the password) and the same masking. It stores
//! nothing.

use crate::config::{Account, Config};
use crate::sandbox::policy::{Backend, JournalEntry, PolicyHooks};
use crate::sandbox::redact::Redactor;
use crate::sandbox::runtime::{Guest, Runtime};
use anyhow::Result;
use hellowatt_snapshot::{DataKind, Date, Snapshot, SyncError, SyncRequest, WindowStatus};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub step: &'static str,
    /// `GET /api/homes/{id}/contracts 200`, one per request.
    pub requests: Vec<String>,
    pub verdict: Verdict,
    pub elapsed: Duration,
}

/// What came of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every answer was understood; the note says what came (counts only).
    Understood(String),
    /// The site has no such data for this account (no gas contract, say).
    NotAvailable(String),
    /// Not asked: the account does not take this kind, or an earlier step
    /// failed in a way that makes it pointless.
    Skipped(String),
    /// The step failed: the typed error, masked.
    Failed { kind: String, detail: String },
}

impl Verdict {
    fn failed(&self) -> bool {
        matches!(self, Verdict::Failed { .. })
    }
}

/// The whole report, and what to do next.
#[derive(Debug, Clone)]
pub struct Report {
    pub steps: Vec<StepReport>,
}

impl Report {
    pub fn ok(&self) -> bool {
        !self.steps.iter().any(|s| s.verdict.failed())
    }

    /// The table and the advice, as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let width = self.steps.iter().map(|s| s.step.len()).max().unwrap_or(4);
        let _ = writeln!(out, "{:width$}  {:>7}  result", "step", "time");
        for s in &self.steps {
            let (word, note) = match &s.verdict {
                Verdict::Understood(n) => ("ok", n.clone()),
                Verdict::NotAvailable(n) => ("none", n.clone()),
                Verdict::Skipped(n) => ("skipped", n.clone()),
                Verdict::Failed { kind, detail } => ("FAILED", format!("{kind}: {detail}")),
            };
            let _ = writeln!(
                out,
                "{:width$}  {:>5} ms  {word}: {note}",
                s.step,
                s.elapsed.as_millis()
            );
            for r in &s.requests {
                let _ = writeln!(out, "{:width$}            {r}", "");
            }
        }
        out.push('\n');
        out.push_str(&self.advice());
        out
    }

    /// What to do next, from the first failure.
    pub fn advice(&self) -> String {
        let Some((step, kind, detail)) = self.steps.iter().find_map(|s| match &s.verdict {
            Verdict::Failed { kind, detail } => Some((s.step, kind.as_str(), detail.as_str())),
            _ => None,
        }) else {
            return "every step answered as this guest expects: the site works with hellowatt.\n"
                .to_string();
        };
        let next = match kind {
            // RTE's refusal says which keys to check; the helloWatt advice
            // would name the wrong ones.
            _ if step == ECOWATT_STEP => detail,
            "site-changed" => {
                "the site answers something this guest does not understand: record it with \
                 `hellowatt record` (an anonymised scenario, safe to share) and look for a new \
                 guest, or report it with the scenario"
            }
            other => crate::cli::advice(other),
        };
        format!("{step} failed: {next}\n")
    }
}

/// Masks the site's ids in a path or a message: a run of five digits or
/// more (home ids, PDL and PCE numbers) becomes `{id}`.
pub fn mask_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 5 {
            out.push_str("{id}");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// One request as the report shows it: the path is the guest's choice, so
/// it goes through the redactor (the password, the e-mail) and the id mask.
fn request_line(e: &JournalEntry, redactor: &Redactor) -> String {
    let status = e
        .status
        .map_or_else(|| "refused or failed".to_string(), |s| s.to_string());
    format!(
        "{} {} -> {status} ({} ms)",
        e.method,
        mask_ids(&redactor.redact(&e.path)),
        e.elapsed.as_millis()
    )
}

/// The steps on the helloWatt site, in order: (name, kinds, days back).
const SITE_STEPS: [(&str, DataKind); 5] = [
    ("log-in, homes, contracts", DataKind::Homes),
    ("electricity, one day", DataKind::ElectricityDaily),
    ("load curve, one day", DataKind::ElectricityCurve),
    ("gas, one day", DataKind::GasDaily),
    ("temperature", DataKind::Temperature),
];

/// Runs every step. `today` is the Paris day the steps count back from:
/// one day is the day before yesterday, which the site has (D-2).
pub async fn diagnose(
    runtime: &Runtime,
    guest: &Guest,
    tempo_guest: Option<&Guest>,
    config: &Config,
    account: &Account,
    today: Date,
) -> Result<Report> {
    let day = today.add_days(-2);
    let (login, password) = account.credentials()?;
    let redactor = Arc::new(Redactor::for_account(password.expose(), login));
    let hooks = PolicyHooks::new(
        config.site.clone(),
        config.http.clone(),
        Backend::Network,
        Arc::clone(&redactor),
    )
    .with_account(login, password.expose())
    .with_journal();
    let mut steps = Vec::new();
    let mut run = runtime.start(guest, hooks.clone(), &config.limits).await?;
    let mut stop: Option<String> = None;
    for (name, kind) in SITE_STEPS {
        if let Some(why) = &stop {
            steps.push(skipped(name, why.clone()));
            continue;
        }
        if kind != DataKind::Homes && !account.kinds.contains(&kind) {
            steps.push(skipped(name, "not among this account's kinds".into()));
            continue;
        }
        let call = SyncRequest {
            base_url: config.site.url(),
            login: login.to_string(),
            password_placeholder: hooks.placeholder(),
            start: day,
            end: day,
            kinds: vec![kind],
        };
        let started = Instant::now();
        let answer = run.sync(&call).await;
        let elapsed = started.elapsed();
        let requests = hooks
            .take_journal()
            .iter()
            .map(|e| request_line(e, &redactor))
            .collect();
        let verdict = match answer {
            Ok(Ok(snapshot)) => verdict_of(&snapshot, kind),
            Ok(Err(e)) => {
                let v = failed(&e, &redactor);
                if kind == DataKind::Homes || session_wide(&e) {
                    stop = Some(format!("an earlier step failed ({})", e.kind()));
                }
                v
            }
            Err(e) => {
                stop = Some("the sandbox stopped the guest".into());
                Verdict::Failed {
                    kind: e.kind().to_string(),
                    detail: mask_ids(&redactor.redact(&e.to_string())),
                }
            }
        };
        steps.push(StepReport {
            step: name,
            requests,
            verdict,
            elapsed,
        });
    }
    drop(run);
    steps.push(match (tempo_guest, &config.tempo) {
        (Some(g), Some(tempo)) => tempo_step(runtime, g, tempo, config, today).await,
        _ => skipped(
            "Tempo service",
            "the Tempo slot is off (tempo_url = \"off\")".into(),
        ),
    });
    steps.push(match &config.ecowatt {
        Some(ecowatt) => ecowatt_token_step(ecowatt).await,
        None => skipped(
            ECOWATT_STEP,
            "EcoWatt is off: no RTE credentials (rte_client_id, rte_client_secret_file)".into(),
        ),
    });
    Ok(Report { steps })
}

/// The EcoWatt step's name.
const ECOWATT_STEP: &str = "RTE EcoWatt token";

/// Asks RTE for a token with the configured application, as the service
/// does before each EcoWatt run; never the signals (one call every 15
/// minutes: the running service's).
async fn ecowatt_token_step(ecowatt: &crate::config::EcowattConfig) -> StepReport {
    use crate::sync::rte_token::{TOKEN_PATH, TokenBroker};
    let broker = TokenBroker::new(ecowatt);
    let started = Instant::now();
    let verdict = match broker.token(crate::clock::now_utc()).await {
        Ok(_) => Verdict::Understood(
            "RTE gave the application a token (the signals are not asked here: RTE allows one \
             call every 15 minutes, and the service makes them)"
                .into(),
        ),
        Err(e) => Verdict::Failed {
            kind: e.kind().to_string(),
            detail: e.to_string(),
        },
    };
    StepReport {
        step: ECOWATT_STEP,
        requests: vec![format!("POST {TOKEN_PATH}")],
        verdict,
        elapsed: started.elapsed(),
    }
}

async fn tempo_step(
    runtime: &Runtime,
    guest: &Guest,
    tempo: &crate::config::TempoConfig,
    config: &Config,
    today: Date,
) -> StepReport {
    let name = "Tempo service";
    let redactor = Arc::new(Redactor::with_secrets(Vec::<&str>::new()));
    let hooks = PolicyHooks::new(
        tempo.primary.clone(),
        tempo.http.clone(),
        Backend::Network,
        Arc::clone(&redactor),
    )
    .with_journal();
    let started = Instant::now();
    let verdict = match runtime.start(guest, hooks.clone(), &config.limits).await {
        Ok(mut run) => {
            let call = SyncRequest {
                base_url: tempo.primary.url(),
                login: String::new(),
                password_placeholder: hooks.placeholder(),
                start: today,
                end: today,
                kinds: vec![DataKind::Tempo],
            };
            match run.sync(&call).await {
                Ok(Ok(s)) => {
                    let known = s.tempo_days.iter().filter(|d| d.colour.is_some()).count();
                    Verdict::Understood(format!("{known} colour(s) known of today and tomorrow"))
                }
                Ok(Err(e)) => failed(&e, &redactor),
                Err(e) => Verdict::Failed {
                    kind: e.kind().to_string(),
                    detail: mask_ids(&e.to_string()),
                },
            }
        }
        Err(e) => Verdict::Failed {
            kind: "sandbox".into(),
            detail: format!("{e:#}"),
        },
    };
    StepReport {
        step: name,
        requests: hooks
            .take_journal()
            .iter()
            .map(|e| request_line(e, &redactor))
            .collect(),
        verdict,
        elapsed: started.elapsed(),
    }
}

fn skipped(step: &'static str, why: String) -> StepReport {
    StepReport {
        step,
        requests: Vec::new(),
        verdict: Verdict::Skipped(why),
        elapsed: Duration::ZERO,
    }
}

/// Errors after which the next steps would fail the same way.
fn session_wide(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::CredentialsRejected { .. }
            | SyncError::RateLimited(_)
            | SyncError::SessionLost { .. }
            | SyncError::ActionNeeded { .. }
    )
}

fn failed(e: &SyncError, redactor: &Redactor) -> Verdict {
    Verdict::Failed {
        kind: e.kind().to_string(),
        detail: mask_ids(&redactor.redact(&e.to_string())),
    }
}

/// What a step's snapshot says of its kind: counts, never values.
fn verdict_of(s: &Snapshot, kind: DataKind) -> Verdict {
    let windows: Vec<&WindowStatus> = s
        .windows
        .iter()
        .filter(|w| w.kind == kind)
        .map(|w| &w.status)
        .collect();
    if let Some(WindowStatus::Failed(e)) = windows
        .iter()
        .find(|w| matches!(w, WindowStatus::Failed(_)))
    {
        return Verdict::Failed {
            kind: e.kind().to_string(),
            detail: mask_ids(&e.to_string()),
        };
    }
    if let Some(WindowStatus::NotAvailable(why)) = windows
        .iter()
        .find(|w| matches!(w, WindowStatus::NotAvailable(_)))
    {
        return Verdict::NotAvailable(mask_ids(why));
    }
    let version = s
        .api_version
        .as_deref()
        .map(|v| format!(", API version {v}"))
        .unwrap_or_default();
    let note = match kind {
        DataKind::Homes => format!(
            "{} home(s), {} meter(s), {} contract(s)",
            s.homes.len(),
            s.homes.iter().map(|h| h.meters.len()).sum::<usize>(),
            s.contracts.len()
        ),
        DataKind::ElectricityDaily | DataKind::GasDaily => {
            format!("{} daily reading(s)", s.daily.len())
        }
        DataKind::ElectricityCurve => format!("{} curve point(s)", s.curve.len()),
        DataKind::Temperature => {
            let months = s
                .temperatures
                .iter()
                .filter(|t| t.period == hellowatt_snapshot::TemperaturePeriod::Month)
                .count();
            format!(
                "{} temperature(s), {months} of them a month's mean",
                s.temperatures.len()
            )
        }
        DataKind::Tempo => format!("{} Tempo day(s)", s.tempo_days.len()),
        DataKind::Ecowatt => format!("{} EcoWatt day(s)", s.ecowatt.len()),
    };
    let pending = windows
        .iter()
        .any(|w| matches!(w, WindowStatus::FetchOngoing | WindowStatus::SiteError(_)));
    let pending = if pending {
        " (the site has not got all of it yet)"
    } else {
        ""
    };
    Verdict::Understood(format!("{note}{pending}{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_masked() {
        assert_eq!(
            mask_ids("GET /api/homes/640218/sge_measures/courbe"),
            "GET /api/homes/{id}/sge_measures/courbe"
        );
        assert_eq!(mask_ids("PDL 01234567890123 in 2026"), "PDL {id} in 2026");
        assert_eq!(mask_ids("HTTP 502"), "HTTP 502");
    }

    #[test]
    fn the_advice_follows_the_first_failure() {
        let step = |step, verdict| StepReport {
            step,
            requests: vec![],
            verdict,
            elapsed: Duration::from_millis(3),
        };
        let good = Report {
            steps: vec![step("a", Verdict::Understood("1 home(s)".into()))],
        };
        assert!(good.ok());
        assert!(good.advice().contains("works with hellowatt"));
        let bad = Report {
            steps: vec![
                step("a", Verdict::Understood("x".into())),
                step(
                    "b",
                    Verdict::Failed {
                        kind: "site-changed".into(),
                        detail: "missing field".into(),
                    },
                ),
                step(
                    "c",
                    Verdict::Failed {
                        kind: "credentials-rejected".into(),
                        detail: "no".into(),
                    },
                ),
            ],
        };
        assert!(!bad.ok());
        assert!(bad.advice().starts_with("b failed:"), "{}", bad.advice());
        assert!(bad.advice().contains("hellowatt record"));
        let table = bad.render();
        assert!(
            table.contains("FAILED: site-changed: missing field"),
            "{table}"
        );
    }
}
