//! `hellowatt status`: what is stored and how the service is doing, as plain
//! sentences a person reads, with Paris times in local form ("today at
//! 13:24", "Fri 4 Dec 2026"), never ISO timestamps.
//!
//! It owns the words only. Every fact comes from the store, the
//! configuration and the scheduler; it must never change any of them, and
//! never print a secret (it sees the configuration: only the URLs and names).

use crate::config::Config;
use crate::homeassistant::HaConfig;
use crate::store::{
    GuestState, HaPushState, OutlookDay, RunOutcome, RunRecord, Store, TempoOutlook,
};
use crate::{service, slot::Slot};
use anyhow::Result;
use hellowatt_snapshot::{DataKind, Date, TempoSource, WindowStatus, paris_offset_at};
use std::fmt::Write as _;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The whole report at `now` (Unix seconds), sections separated by a blank
/// line, each line a sentence.
pub fn report(store: &Store, config: &Config, runs: usize, now: i64) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "hellowatt status on {} at {} (Paris time).",
        day(Date::paris_day_of(now)),
        clock(now)
    );
    let _ = writeln!(
        out,
        "The database is {} (schema version {}).",
        config.db.display(),
        store.schema_version()?
    );
    let _ = writeln!(out, "The site is {}.", config.site.url());
    let _ = writeln!(out, "{}", api_door(config));

    section(&mut out, "Meters");
    let meters = store.meters(None)?;
    if meters.is_empty() {
        line(
            &mut out,
            "No meter yet: run `hellowatt sync` or start the service.",
        );
    }
    for m in &meters {
        let days = match (m.first_day, m.last_day) {
            (Some(a), Some(b)) => format!("has data {}", span(a, b)),
            _ => "has no day stored yet".to_owned(),
        };
        line(
            &mut out,
            &format!(
                "{}'s {} meter {} (home {}) {days}.",
                m.account,
                m.energy.as_str(),
                m.meter_id,
                m.home_id
            ),
        );
    }
    for w in store.windows(None)? {
        let w_ = &w.window;
        if w_.status != WindowStatus::Complete {
            line(
                &mut out,
                &format!(
                    "Not complete: {} of {} {}, {}.",
                    kind_words(w_.kind),
                    w_.subject,
                    span(w_.start, w_.end),
                    window_words(&w_.status)
                ),
            );
        }
    }

    section(&mut out, "Tempo");
    for sentence in tempo_sentences(&store.tempo_outlook(Date::paris_day_of(now))?) {
        line(&mut out, &sentence);
    }

    section(&mut out, "EcoWatt");
    match &config.ecowatt {
        None => line(&mut out, crate::config::ECOWATT_OFF),
        Some(e) => {
            line(
                &mut out,
                &format!(
                    "EcoWatt is on: RTE's signals are asked of {} every {} minutes, with a token \
                     hellowatt gets from the RTE application's credentials.",
                    e.origin.url(),
                    e.every.as_secs() / 60
                ),
            );
            let today = Date::paris_day_of(now);
            let days = store.ecowatt(today, today.add_days(crate::store::ECOWATT_DAYS_AHEAD))?;
            for sentence in ecowatt_sentences(&days, today) {
                line(&mut out, &sentence);
            }
        }
    }

    section(&mut out, "Schedule");
    for a in &config.accounts {
        let guest_sha = store
            .runs(Some(&a.name), 1)?
            .first()
            .map(|r| r.guest.sha256.clone())
            .unwrap_or_default();
        let outlook = service::account_outlook(store, a, config, &guest_sha)?;
        for sentence in schedule_sentences(&a.name, &outlook, now) {
            line(&mut out, &sentence);
        }
    }

    section(&mut out, "Guests");
    for sentence in guest_sentences(store)? {
        line(&mut out, &sentence);
    }

    if let Some(sentence) =
        home_assistant_sentence(config.home_assistant.as_ref(), store.ha_push_state()?, now)
    {
        section(&mut out, "Home Assistant");
        line(&mut out, &sentence);
    }

    section(&mut out, "Last runs");
    let last = store.runs(None, runs)?;
    if last.is_empty() {
        line(&mut out, "None yet.");
    }
    for r in &last {
        line(&mut out, &run_sentence(r, now));
    }
    Ok(out)
}

/// A message from elsewhere, ready to end a sentence of ours: without its
/// own final full stop.
fn bare(message: &str) -> &str {
    message.trim_end().trim_end_matches('.')
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

fn line(out: &mut String, sentence: &str) {
    let _ = writeln!(out, "  {sentence}");
}

/// Who may reach the API, in one sentence.
pub fn api_door(config: &Config) -> String {
    let Some(addr) = config.listen else {
        return "The API and dashboard are off (listen = \"off\").".into();
    };
    let who = match (config.api_token.is_some(), addr.ip().is_loopback()) {
        (true, _) => "asks every client for the API token",
        (false, true) => "answers this machine only, without a token",
        (false, false) => {
            "is OPEN to the network without a token (api_open_to_network = true): set api_token"
        }
    };
    let mut sentence = format!("The API at http://{addr}/ {who}");
    if !config.allowed_hosts.is_empty() {
        let _ = write!(
            sentence,
            "; it also answers as {}",
            config.allowed_hosts.join(", ")
        );
    }
    sentence.push('.');
    sentence
}

/// An EcoWatt level in words: 0 to 3 for an hour, 1 to 3 for a day.
pub fn ecowatt_level(level: u8) -> &'static str {
    match level {
        0 => "green with low-carbon production",
        1 => "green",
        2 => "orange",
        _ => "red",
    }
}

/// A sentence per stored EcoWatt day from `today`: its level, and the
/// hours that are not plain green, as Paris times.
pub fn ecowatt_sentences(days: &[hellowatt_snapshot::EcoWattDay], today: Date) -> Vec<String> {
    let mut out = Vec::new();
    if !days.iter().any(|d| d.date == today) {
        out.push("No EcoWatt signal is stored for today yet.".to_owned());
    }
    for d in days.iter().filter(|d| d.date >= today) {
        let name = match d.date.days_since_epoch() - today.days_since_epoch() {
            0 => format!("Today, {}", day(d.date)),
            1 => format!("Tomorrow, {}", day(d.date)),
            _ => day(d.date),
        };
        let level = d.level.map_or("not given", ecowatt_level);
        // Runs of hours at the same level, plain green left out.
        let mut runs: Vec<(u8, i64, i64)> = Vec::new();
        for h in &d.hours {
            match runs.last_mut() {
                Some((l, _, end)) if *l == h.level && *end == h.start => *end = h.start + 3600,
                _ => runs.push((h.level, h.start, h.start + 3600)),
            }
        }
        let mut parts: Vec<String> = Vec::new();
        for level in [3u8, 2, 0] {
            let spans: Vec<String> = runs
                .iter()
                .filter(|(l, _, _)| *l == level)
                .map(|(_, a, b)| format!("from {} to {}", clock(*a), clock(*b)))
                .collect();
            if !spans.is_empty() {
                parts.push(format!("{} {}", ecowatt_level(level), spans.join(" and ")));
            }
        }
        let hours = if d.hours.is_empty() {
            ", no hour given".to_owned()
        } else if parts.is_empty() {
            ", green all day".to_owned()
        } else {
            format!(": {}", parts.join("; "))
        };
        out.push(format!("{name}, EcoWatt is {level}{hours}."));
    }
    out
}

/// "Thu 3 Dec 2026".
pub fn day(d: Date) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[usize::from(d.weekday()) % 7],
        d.day,
        MONTHS[usize::from(d.month.saturating_sub(1)) % 12],
        d.year
    )
}

/// "from Thu 1 Oct 2026 to Wed 2 Dec 2026", or "on Thu 1 Oct 2026" for one
/// day.
pub fn span(from: Date, to: Date) -> String {
    if from == to {
        format!("on {}", day(from))
    } else {
        format!("from {} to {}", day(from), day(to))
    }
}

/// A Paris instant relative to `now`: "today at 13:24", "yesterday at
/// 06:10", "tomorrow at 06:10", otherwise "Fri 4 Dec 2026 at 06:10".
pub fn when(utc: i64, now: i64) -> String {
    let (d, today) = (Date::paris_day_of(utc), Date::paris_day_of(now));
    let date = match d.days_since_epoch() - today.days_since_epoch() {
        0 => "today".to_owned(),
        -1 => "yesterday".to_owned(),
        1 => "tomorrow".to_owned(),
        _ => day(d),
    };
    format!("{date} at {}", clock(utc))
}

/// The Paris wall-clock time of `utc`: "06:05".
fn clock(utc: i64) -> String {
    let minutes = (utc + i64::from(paris_offset_at(utc))).rem_euclid(86_400) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn kind_words(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Homes => "the homes and meters",
        DataKind::ElectricityDaily => "electricity by day",
        DataKind::ElectricityCurve => "the electricity load curve",
        DataKind::GasDaily => "gas by day",
        DataKind::Temperature => "the outdoor temperature",
        DataKind::Tempo => "the Tempo colours",
        DataKind::Ecowatt => "the EcoWatt signals",
    }
}

fn window_words(status: &WindowStatus) -> String {
    match status {
        WindowStatus::Complete => "complete".into(),
        WindowStatus::FetchOngoing => {
            "still being fetched by helloWatt from Enedis or GRDF (asked again on the next run)"
                .into()
        }
        WindowStatus::SiteError(d) => format!("the site answered with an error ({d})"),
        WindowStatus::NotAvailable(d) => format!("not available ({d})"),
        WindowStatus::Failed(e) => format!("could not be read ({e}); asked again on the next run"),
    }
}

fn colour_of(d: &OutlookDay) -> String {
    match d.resolved {
        None => "not known yet".to_owned(),
        Some(r) => format!(
            "{} ({})",
            r.colour.as_str(),
            match r.source {
                TempoSource::Service => "from the Tempo service",
                TempoSource::TariffKeys => "from the meter's tariff keys",
            }
        ),
    }
}

/// The Tempo part of `status` and of the demo's summary.
pub fn tempo_sentences(o: &TempoOutlook) -> Vec<String> {
    let s = &o.season;
    let mut out = vec![
        format!("Today, {}, is {}.", day(o.today.date), colour_of(&o.today)),
        format!(
            "Tomorrow, {}, is {}.",
            day(o.tomorrow.date),
            colour_of(&o.tomorrow)
        ),
    ];
    let counts: Vec<String> = crate::store::TEMPO_COLOURS
        .iter()
        .map(|c| {
            let n = s.colours.get(*c);
            let over = if n.over_quota > 0 {
                format!(", {} OVER QUOTA", n.over_quota)
            } else {
                String::new()
            };
            format!(
                "{} of {} {} days ({} left{over})",
                n.used,
                n.quota,
                c.as_str(),
                n.remaining
            )
        })
        .collect();
    out.push(format!(
        "The season {} has used {}.",
        span(s.start, s.end),
        counts.join(", ")
    ));
    if s.unknown_days > 0 {
        out.push(format!(
            "No colour is known for {} day(s) of the season up to {}: the days used may be more.",
            s.unknown_days,
            day(s.counted_to)
        ));
    }
    for d in &o.disagreements {
        out.push(format!(
            "DISAGREEMENT on {}: the Tempo service says {}, meter {}'s tariff keys say {}.",
            day(d.date),
            d.service.as_str(),
            d.meter_id,
            d.tariff.as_str()
        ));
    }
    out
}

fn schedule_sentences(account: &str, o: &service::AccountOutlook, now: i64) -> Vec<String> {
    use crate::scheduler::{Block, Next, Why};
    let mut out = vec![match &o.next {
        Next::At { utc, why } => {
            let what = match why {
                Why::Backfill => "the backfill of older history",
                Why::Daily => "the daily run",
                Why::Retry => "a retry",
                Why::Manual => "the refresh someone asked for",
            };
            let at = if *utc <= now {
                "starting now".to_owned()
            } else {
                when(*utc, now)
            };
            format!("Account {account}: the next run is {what}, {at}.")
        }
        Next::Blocked { block, since, .. } => {
            let why = match block {
                Block::CredentialsRejected => {
                    "helloWatt rejected the e-mail or password; fix them in the configuration, \
                     then run `hellowatt reset {account}`"
                }
                Block::ActionNeeded => {
                    "helloWatt wants a person to act on the site first; do what it asks in a \
                     browser, then refresh or run `hellowatt reset {account}`"
                }
                Block::SiteChanged => {
                    "the site changed; it is paused until a different guest is active (drop a \
                     new guest in the guests folder)"
                }
            };
            format!(
                "Account {account}: no run since {}, because {}.",
                when(*since, now),
                why.replace("{account}", account)
            )
        }
    }];
    let s = &o.state;
    if let Some(b) = &s.breaker {
        out.push(format!(
            "The circuit breaker is OPEN since {}: {}. Fix the password, or run `hellowatt \
             reset {account}`.",
            when(b.opened_at, now),
            bare(&b.detail)
        ));
    }
    if let Some(p) = &s.paused {
        out.push(format!(
            "Paused since {}: {}.",
            when(p.since, now),
            bare(&p.detail)
        ));
    }
    // Not `last_decision`: it is the log's sentence, with ISO times; what
    // it says is here in other words, and the runs below have the errors.
    if s.consecutive_failures > 0 {
        out.push(format!(
            "{} run(s) in a row failed (see the last runs below).",
            s.consecutive_failures
        ));
    }
    if let Some(until) = s.rate_limited_until.filter(|t| *t > now) {
        out.push(format!(
            "helloWatt asked to slow down: no request before {}.",
            when(until, now)
        ));
    }
    if let Some(t) = s.last_success {
        out.push(format!("The last successful run was {}.", when(t, now)));
    }
    if o.backfill_pending
        && !matches!(
            o.next,
            Next::At {
                why: Why::Backfill,
                ..
            }
        )
    {
        out.push("Older history is still to fetch (the backfill is pending).".into());
    }
    out
}

/// Which guest each slot runs, and the last one refused since.
pub fn guest_sentences(store: &Store) -> Result<Vec<String>> {
    let guests = store.guests()?;
    let mut out = Vec::new();
    for slot in Slot::ALL {
        let mine = || guests.iter().filter(|g| g.slot == slot.name());
        match mine().find(|g| g.state == GuestState::Active) {
            Some(g) => {
                out.push(format!(
                    "The {slot} slot runs the guest {} {} (sha256 {}).",
                    g.name.as_deref().unwrap_or("?"),
                    g.version.as_deref().unwrap_or("?"),
                    g.sha256
                ));
                if let Some(r) = mine()
                    .filter(|r| r.state == GuestState::Refused && r.updated_at >= g.updated_at)
                    .max_by_key(|r| r.updated_at)
                {
                    out.push(format!(
                        "The last {slot} guest refused was {} from {}: {}.",
                        r.sha256.get(..12).unwrap_or(&r.sha256),
                        r.source,
                        r.reason.as_deref().unwrap_or("no reason recorded")
                    ));
                }
            }
            None => out.push(format!(
                "The {slot} slot runs the bundled guest (the guest registry has not run yet)."
            )),
        }
    }
    Ok(out)
}

/// The Home Assistant push, when one is configured or was ever made.
pub fn home_assistant_sentence(
    config: Option<&HaConfig>,
    state: Option<HaPushState>,
    now: i64,
) -> Option<String> {
    let url = config.map_or_else(
        || "(ha_url is no longer set)".to_owned(),
        HaConfig::display_url,
    );
    match (config, state) {
        (None, None) => None,
        (Some(_), None) => Some(format!(
            "No statistics pushed to {url} yet: they are sent after the next run, or now with \
             `hellowatt ha push`."
        )),
        (_, Some(s)) => Some(match &s.error {
            None => format!(
                "{url} has {} statistics up to date since {} ({} hour(s) sent then).",
                s.series,
                when(s.attempted_at, now),
                s.hours_sent
            ),
            Some(e) => format!(
                "The push to {url} {} FAILED: {}. The last success was {}. The next run (or \
                 `hellowatt ha push`) sends again what it could not.",
                when(s.attempted_at, now),
                bare(e),
                s.succeeded_at
                    .map_or_else(|| "never".to_owned(), |t| when(t, now))
            ),
        }),
    }
}

fn run_sentence(r: &RunRecord, now: i64) -> String {
    let who = if r.account.starts_with('@') {
        format!("the {} slot", r.account.trim_start_matches('@'))
    } else {
        format!("account {}", r.account)
    };
    let outcome = match &r.outcome {
        None => "still running, or interrupted".to_string(),
        Some(RunOutcome::Success) => "ok".to_string(),
        Some(RunOutcome::Failed { kind, message }) => format!("FAILED ({kind}): {}", bare(message)),
    };
    let site = r
        .api_version
        .as_deref()
        .map(|v| format!(", site API {v}"))
        .unwrap_or_default();
    format!(
        "Run #{} {}, {who}, days {}: {outcome}; {} request(s), {} row(s) inserted, {} updated \
         (guest {} {}, {}{site}).",
        r.id.0,
        when(r.started_at, now),
        span(r.start, r.end),
        r.requests,
        r.stats.inserted,
        r.stats.updated,
        r.guest.name,
        r.guest.version,
        r.guest.sha256.get(..12).unwrap_or(""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn times_read_as_local_words_and_never_as_iso() {
        let now = d("2026-12-03").paris_time_utc(13, 20);
        assert_eq!(when(now, now), "today at 13:20");
        assert_eq!(
            when(d("2026-12-04").paris_time_utc(6, 5), now),
            "tomorrow at 06:05"
        );
        assert_eq!(
            when(d("2026-12-02").paris_time_utc(23, 59), now),
            "yesterday at 23:59"
        );
        assert_eq!(
            when(d("2026-12-07").paris_time_utc(0, 0), now),
            "Mon 7 Dec 2026 at 00:00"
        );
        // Summer time: the same UTC hour reads an hour later in July.
        assert_eq!(
            when(d("2026-07-14").paris_time_utc(9, 30), now),
            "Tue 14 Jul 2026 at 09:30"
        );
        assert_eq!(span(d("2026-10-01"), d("2026-10-01")), "on Thu 1 Oct 2026");
        assert_eq!(
            span(d("2026-02-28"), d("2026-03-01")),
            "from Sat 28 Feb 2026 to Sun 1 Mar 2026"
        );
    }

    #[test]
    fn the_tempo_part_says_what_is_unknown_over_quota_and_disputed() {
        use crate::store::{
            ColourCount, ColourCounts, ResolvedColour, SeasonCount, TempoDisagreement,
        };
        use hellowatt_snapshot::TempoColour;
        let count = |quota, used| ColourCount {
            quota,
            used,
            remaining: quota.saturating_sub(used),
            over_quota: used.saturating_sub(quota),
        };
        let o = TempoOutlook {
            today: OutlookDay {
                date: d("2026-11-28"),
                resolved: Some(ResolvedColour {
                    colour: TempoColour::White,
                    source: TempoSource::TariffKeys,
                }),
            },
            tomorrow: OutlookDay {
                date: d("2026-11-29"),
                resolved: None,
            },
            season: SeasonCount {
                start: d("2026-09-01"),
                end: d("2027-08-31"),
                days: 365,
                counted_to: d("2026-11-28"),
                unknown_days: 3,
                colours: ColourCounts {
                    blue: count(300, 80),
                    white: count(43, 2),
                    red: count(22, 23),
                },
            },
            disagreements: vec![TempoDisagreement {
                date: d("2026-11-20"),
                service: TempoColour::Red,
                tariff: TempoColour::White,
                meter_id: "09517362840159".into(),
            }],
        };
        assert_eq!(
            tempo_sentences(&o),
            [
                "Today, Sat 28 Nov 2026, is white (from the meter's tariff keys).",
                "Tomorrow, Sun 29 Nov 2026, is not known yet.",
                "The season from Tue 1 Sep 2026 to Tue 31 Aug 2027 has used 80 of 300 blue days \
                 (220 left), 2 of 43 white days (41 left), 23 of 22 red days (0 left, 1 OVER QUOTA).",
                "No colour is known for 3 day(s) of the season up to Sat 28 Nov 2026: the days \
                 used may be more.",
                "DISAGREEMENT on Fri 20 Nov 2026: the Tempo service says red, meter \
                 09517362840159's tariff keys say white.",
            ]
        );
    }
}
