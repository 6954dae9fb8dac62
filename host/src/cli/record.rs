//! `hellowatt record`: a sync against a site (the real one, or any URL)
//! written as a fixture scenario, anonymised, so that a user hit by a site
//! change can share it safely and a guest author can fix the guest against
//! it (`hellowatt guest check --fixtures`).
//!
//! It owns the anonymisation, deny by default: the e-mail and password,
//! cookie values and CSRF tokens, and every string and number of a JSON
//! answer whose key is not on a list known to be safe ([`KEPT`]: the
//! measures, the site's own words, what the guest needs to read the
//! answer) are replaced by a placeholder of the same shape, the same one
//! everywhere (request lines, headers, bodies, the golden outcome), so the
//! scenario still replays. A new field that holds personal data under a
//! key nobody listed is replaced like an address. The report lists what was
//! kept, by key. Before anything is written, the whole scenario is scanned
//! for every replaced value: one left means nothing is written. It must
//! never write an exchange it has not anonymised.

use crate::config::{Account, Config};
use crate::sandbox::policy::{Backend, PolicyHooks};
use crate::sandbox::redact::{Redactor, percent_encode};
use crate::sandbox::runtime::{Guest, Runtime};
use anyhow::{Context, Result, bail};
use hellowatt_fixtures::{Exchange, write_request, write_response};
use hellowatt_snapshot::SyncRequest;
use hellowatt_snapshot::{Date, Outcome};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The placeholder password of recorded scenarios (replay sends it back).
pub const RECORDED_PASSWORD: &str = "Recorded-password-1!";
pub const RECORDED_LOGIN: &str = "recorded.user@example.org";

/// The JSON values known to be safe to share, by key (lower case, `_`
/// dropped; `parent.key` where the key alone is ambiguous, `parent.*` for
/// every key of an object): the measures and their dates, the site's own
/// words (errors, form labels, the log-in's `location`), and the contract
/// and tariff words a guest reads. Every other string or number is
/// replaced.
const KEPT: [&str; 33] = [
    // Measures.
    "datetime",
    "date",
    "kwhdetailed.*",
    "eurosdetailed.*",
    "valueco2",
    "injectionvaluekwh",
    "injectionvalueeur",
    "solarproductionvaluekwh",
    "solarproductionvalueeur",
    "measuretimegap",
    "valuecelsius",
    // The site's own words.
    "error.identifier",
    "error.message",
    "detail",
    // allauth's answer to the log-in: its top-level `location`, the form's
    // messages and widgets (an address's `label` is not kept).
    ".location",
    "errors",
    "login.label",
    "password.label",
    "remember.label",
    "helptext",
    "attrs.placeholder",
    "attrs.autocomplete",
    "attrs.type",
    "fieldorder",
    // Contracts and tariffs.
    "contractstate",
    "energytype",
    "energy",
    "provider.name",
    "offer.name",
    "tariffoption",
    "hometype",
    "subscribedpower",
    "subscribedpowerkva",
];

/// Whether the value at `parent.key` may be kept as it is.
fn kept(parent: &str, key: &str) -> Option<String> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "");
    let (parent, key) = (norm(parent), norm(key));
    // `.key` for a key of the top-level object.
    let pair = format!("{parent}.{key}");
    let any = format!("{parent}.*");
    KEPT.iter()
        .find(|k| **k == key || **k == pair || **k == any)
        .map(|k| k.to_string())
}

/// What a recording produced.
#[derive(Debug)]
pub struct RecordReport {
    pub dir: PathBuf,
    pub exchanges: usize,
    pub replaced: usize,
    pub outcome_kind: String,
    /// Values kept as they are, by the [`KEPT`] entry that allowed them,
    /// with their count: what a person checks before sharing the file.
    pub kept: Vec<(String, usize)>,
    /// Values under other keys kept because they are too short to carry
    /// an identity (one or two characters: a count, a flag), by key.
    pub kept_short: Vec<(String, usize)>,
    /// Answers that were neither JSON nor a log-in or error page, replaced
    /// whole (the scenario may then not replay as recorded).
    pub replaced_bodies: usize,
}

impl RecordReport {
    /// The report's lines about what was kept.
    pub fn kept_lines(&self) -> String {
        let list = |items: &[(String, usize)]| {
            items
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!("kept as they are: {}", list(&self.kept));
        if self.replaced_bodies > 0 {
            out.push_str(&format!(
                "\n{} answer(s) that were not JSON removed whole",
                self.replaced_bodies
            ));
        }
        if !self.kept_short.is_empty() {
            out.push_str(&format!(
                "\nkept, too short to identify anyone: {}",
                list(&self.kept_short)
            ));
        }
        out
    }
}

/// What the deny-by-default pass kept, counted by reason.
#[derive(Default)]
struct Kept {
    safe: std::collections::BTreeMap<String, usize>,
    short: std::collections::BTreeMap<String, usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Replaced wherever it appears.
    Text,
    /// Replaced only where no digit touches it (a home id inside a number
    /// is not that home id).
    Number,
}

/// Original → placeholder, applied longest first.
#[derive(Default)]
struct Anonymizer {
    pairs: Vec<(String, String, Class)>,
    counter: usize,
}

impl Anonymizer {
    fn add(&mut self, original: &str, placeholder: String, class: Class) {
        let original = original.trim();
        if original.len() < 3 || self.pairs.iter().any(|(o, _, _)| o == original) {
            return;
        }
        for (o, p) in [
            (original.to_string(), placeholder.clone()),
            (percent_encode(original), percent_encode(&placeholder)),
        ] {
            if !self.pairs.iter().any(|(x, _, _)| *x == o) {
                self.pairs.push((o, p, class));
            }
        }
        self.pairs
            .sort_by_key(|(o, _, _)| std::cmp::Reverse(o.len()));
    }

    /// A placeholder of the same length and character classes, so that
    /// formats (14 digits, 64-character tokens) survive.
    fn shaped(&mut self, original: &str) -> String {
        self.counter += 1;
        let mut n = self.counter.wrapping_mul(2_654_435_761);
        original
            .chars()
            .enumerate()
            .map(|(i, c)| {
                n = n
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let r = (n >> 33) as u32;
                // A number keeps a non-zero first digit (JSON has no 0123).
                if i == 0 && ('1'..='9').contains(&c) {
                    char::from_digit(r % 9 + 1, 10).unwrap_or('1')
                } else if c.is_ascii_digit() {
                    char::from_digit(r % 10, 10).unwrap_or('0')
                } else if c.is_ascii_lowercase() {
                    (b'a' + (r % 26) as u8) as char
                } else if c.is_ascii_uppercase() {
                    (b'A' + (r % 26) as u8) as char
                } else if c.is_alphanumeric() {
                    'x'
                } else {
                    c
                }
            })
            .collect()
    }

    fn add_shaped(&mut self, original: &str, class: Class) {
        if self.pairs.iter().any(|(o, _, _)| o == original.trim()) {
            return;
        }
        let p = self.shaped(original.trim());
        self.add(original, p, class);
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (o, p, class) in &self.pairs {
            out = match class {
                Class::Text => out.replace(o.as_str(), p),
                Class::Number => replace_number(&out, o, p),
            };
        }
        out
    }

    fn apply_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.apply(text).into_bytes(),
            // Binary bodies are not expected from the site; keep none.
            Err(_) => b"(binary body removed by hellowatt record)".to_vec(),
        }
    }

    /// Values still present in `text`, for the final check.
    fn leftovers(&self, text: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(o, _, class)| match class {
                Class::Text => text.contains(o.as_str()),
                Class::Number => replace_number(text, o, "") != text,
            })
            .map(|(o, _, _)| {
                format!(
                    "{}… ({} characters)",
                    o.chars().take(2).collect::<String>(),
                    o.len()
                )
            })
            .collect()
    }
}

fn replace_number(text: &str, number: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(number) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + number.len()..].chars().next();
        let touches = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
        out.push_str(&rest[..i]);
        out.push_str(if touches(before) || touches(after) {
            number
        } else {
            with
        });
        rest = &rest[i + number.len()..];
    }
    out.push_str(rest);
    out
}

/// Every way the password can be written (a form body encodes `*` and
/// spaces otherwise than a URL does, JSON and HTML escape it): each becomes
/// the placeholder, which needs no escaping anywhere.
fn learn_password(a: &mut Anonymizer, password: &str) {
    for form in hellowatt_browser::scrub::forms(password) {
        a.add(&form, RECORDED_PASSWORD.into(), Class::Text);
    }
}

/// Every `name=value` of cookies and forms, tokens in headers and pages.
fn learn_tokens(a: &mut Anonymizer, exchanges: &[Exchange]) {
    for e in exchanges {
        for (k, v) in &e.request.headers {
            match k.to_ascii_lowercase().as_str() {
                "cookie" => {
                    for pair in v.split(';') {
                        if let Some((_, value)) = pair.split_once('=') {
                            a.add_shaped(value, Class::Text);
                        }
                    }
                }
                "x-csrftoken" => a.add_shaped(v, Class::Text),
                _ => {}
            }
        }
        for (k, v) in hellowatt_fixtures::form_pairs(&e.request.body) {
            if k == "csrfmiddlewaretoken" {
                a.add_shaped(&v, Class::Text);
            }
        }
        for (k, v) in &e.response.headers {
            if k.eq_ignore_ascii_case("set-cookie")
                && let Some((_, value)) = v.split(';').next().and_then(|p| p.split_once('='))
            {
                a.add_shaped(value, Class::Text);
            }
        }
        let body = String::from_utf8_lossy(&e.response.body);
        let mut rest = body.as_ref();
        while let Some(i) = rest.find("csrfmiddlewaretoken") {
            rest = &rest[i + 19..];
            if let Some(v) = rest.find("value=\"").map(|j| &rest[j + 7..])
                && let Some(end) = v.find('"')
            {
                a.add_shaped(&v[..end], Class::Text);
            }
        }
    }
}

/// Every string and number of a JSON body, but those [`kept`] allows, is
/// replaced (deny by default). `parent` is the key of the enclosing object.
fn learn_json(a: &mut Anonymizer, kept_report: &mut Kept, value: &Value, parent: &str, key: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                learn_json(a, kept_report, v, key, k);
            }
        }
        Value::Array(items) => {
            for v in items {
                learn_json(a, kept_report, v, parent, key);
            }
        }
        Value::String(s) if !s.trim().is_empty() => {
            learn_leaf(a, kept_report, s, parent, key);
        }
        Value::Number(n) => learn_leaf(a, kept_report, &n.to_string(), parent, key),
        _ => {}
    }
}

fn learn_leaf(a: &mut Anonymizer, kept_report: &mut Kept, text: &str, parent: &str, key: &str) {
    if let Some(rule) = kept(parent, key) {
        *kept_report.safe.entry(rule).or_default() += 1;
        return;
    }
    if text.trim().len() < 3 {
        // `Anonymizer::add` keeps these too: replacing every "3" would
        // rewrite the measures.
        *kept_report.short.entry(key.to_string()).or_default() += 1;
        return;
    }
    // Digits only (an id, a postal code): never inside a longer number.
    let class = if text.bytes().all(|b| b.is_ascii_digit()) {
        Class::Number
    } else {
        Class::Text
    };
    a.add_shaped(text, class);
    // As the body writes it when it escapes (`\n`, `\"`, `\u00e9`): the
    // raw bytes must not keep the decoded value's original either.
    let escaped = serde_json::Value::String(text.to_string()).to_string();
    let escaped = &escaped[1..escaped.len() - 1];
    if escaped != text.trim() {
        a.add_shaped(escaped, Class::Text);
    }
}

/// A body that is not JSON holds text no key names: kept (anonymised like
/// the rest) only where a guest needs it, the log-in pages and error pages;
/// any other is replaced, and the report says so.
fn keeps_text_body(e: &Exchange) -> bool {
    let login_page = e.request.method == "GET"
        && (e.request.path.ends_with("/accounts/login/")
            || e.request.path.ends_with("/mon-compte/me-connecter"));
    login_page || e.response.status >= 400 || e.response.body.is_empty()
}

/// Records one sync of `[from, to]` (one guest call, as scenarios are) into
/// `out`, which must not exist yet.
pub async fn record(
    runtime: &Runtime,
    guest: &Guest,
    config: &Config,
    account: &Account,
    from: Date,
    to: Date,
    out: &Path,
) -> Result<RecordReport> {
    if out.exists() {
        bail!(
            "{} already exists: give a new folder for the scenario",
            out.display()
        );
    }
    let (login, password) = account.credentials()?;
    let redactor = Arc::new(Redactor::for_account(password.expose(), login));
    let hooks = PolicyHooks::new(
        config.site.clone(),
        config.http.clone(),
        Backend::Record(Mutex::new(Vec::new())),
        redactor,
    )
    .with_account(login, password.expose());
    let mut run = runtime.start(guest, hooks.clone(), &config.limits).await?;
    let call = SyncRequest {
        base_url: config.site.url(),
        login: login.to_string(),
        password_placeholder: hooks.placeholder(),
        start: from,
        end: to,
        kinds: account.kinds.clone(),
    };
    let outcome = match run.sync(&call).await {
        Ok(answer) => Outcome::from_result(answer),
        Err(e) => bail!("the guest was stopped by the sandbox, nothing recorded: {e}"),
    };
    let exchanges = hooks.recorded();

    let mut a = Anonymizer::default();
    learn_password(&mut a, password.expose());
    a.add(login, RECORDED_LOGIN.into(), Class::Text);
    learn_tokens(&mut a, &exchanges);
    let mut kept_report = Kept::default();
    for e in &exchanges {
        if let Ok(json) = serde_json::from_slice::<Value>(&e.response.body) {
            learn_json(&mut a, &mut kept_report, &json, "", "");
        }
    }
    // The origin recorded against becomes the canonical one of fixtures.
    let site = config.site.url();
    let origin = |t: String| t.replace(&site, hellowatt_fixtures::SITE_ORIGIN);

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut replaced_bodies = 0;
    for (i, e) in exchanges.iter().enumerate() {
        let mut req = e.request.clone();
        req.path = a.apply(&req.path);
        req.query = a.apply(&req.query);
        req.headers = req
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), origin(a.apply(v))))
            .collect();
        req.body = a.apply_bytes(&req.body);
        let mut resp = e.response.clone();
        resp.headers = resp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), origin(a.apply(v))))
            .collect();
        let json = serde_json::from_slice::<Value>(&e.response.body).is_ok();
        resp.body = if json || keeps_text_body(e) {
            a.apply_bytes(&resp.body)
        } else {
            replaced_bodies += 1;
            format!(
                "(an answer that is not JSON, {} bytes, removed by hellowatt record: it may \
                 hold personal data no rule names)",
                e.response.body.len()
            )
            .into_bytes()
        };
        files.push((format!("{:03}-request.http", i + 1), write_request(&req)));
        files.push((format!("{:03}-response.http", i + 1), write_response(&resp)));
    }
    let golden = a.apply(&serde_json::to_string_pretty(&outcome)?);
    files.push(("golden.json".into(), format!("{golden}\n").into_bytes()));
    let kind = match &outcome {
        Outcome::Snapshot(_) => "snapshot".to_string(),
        Outcome::Error(e) => e.kind().to_string(),
    };
    let meta = serde_json::json!({
        "description": format!("Recorded by hellowatt record from {site} ({from} to {to}); outcome: {kind}. Anonymised."),
        "login": RECORDED_LOGIN,
        "password": RECORDED_PASSWORD,
        "start": from,
        "end": to,
        "kinds": account.kinds,
    });
    files.push((
        "scenario.json".into(),
        format!("{}\n", serde_json::to_string_pretty(&meta)?).into_bytes(),
    ));

    // Nothing is written while any original value is left anywhere.
    for (name, bytes) in &files {
        let left = a.leftovers(&String::from_utf8_lossy(bytes));
        if !left.is_empty() {
            bail!(
                "anonymisation left {} value(s) in {name} ({}): nothing written",
                left.len(),
                left.join(", ")
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, bytes) in &files {
        std::fs::write(out.join(name), bytes).with_context(|| format!("writing {name}"))?;
    }
    Ok(RecordReport {
        dir: out.to_path_buf(),
        exchanges: exchanges.len(),
        replaced: a.pairs.len(),
        outcome_kind: kind,
        kept: kept_report.safe.into_iter().collect(),
        kept_short: kept_report.short.into_iter().collect(),
        replaced_bodies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_in_every_encoding() {
        let mut a = Anonymizer::default();
        learn_password(&mut a, "Soleil*2026 !Paris");
        for body in [
            "login=x&password=Soleil*2026+%21Paris&csrfmiddlewaretoken=t",
            "{\"password\": \"Soleil*2026 !Paris\"}",
            "value=\"Soleil*2026 !Paris\"",
            "Soleil%2A2026%20%21Paris",
        ] {
            let out = a.apply(body);
            assert!(!out.contains("Soleil"), "{out}");
            assert!(out.contains(RECORDED_PASSWORD), "{out}");
            assert!(a.leftovers(&out).is_empty(), "{out}");
        }
    }

    #[test]
    fn only_listed_keys_are_kept() {
        assert_eq!(
            kept("kwhDetailed", "Tempo-blue-HC").as_deref(),
            Some("kwhdetailed.*")
        );
        assert_eq!(kept("provider", "name").as_deref(), Some("provider.name"));
        assert_eq!(kept("values", "datetime").as_deref(), Some("datetime"));
        assert_eq!(kept("", "location").as_deref(), Some(".location"));
        assert_eq!(kept("login", "label").as_deref(), Some("login.label"));
        // A place, a person, an id, or a key nobody listed: replaced.
        for (parent, key) in [
            ("address", "label"),
            ("home", "location"),
            ("home", "type"),
            ("area", "name"),
            ("", "address"),
            ("", "id"),
            ("", "coOccupant"),
            ("enedisHome", "pdl"),
            ("", "startDate"),
        ] {
            assert_eq!(kept(parent, key), None, "{parent}.{key}");
        }
    }

    #[test]
    fn numbers_are_replaced_only_whole() {
        assert_eq!(
            replace_number("/api/homes/418263/x", "418263", "100001"),
            "/api/homes/100001/x"
        );
        assert_eq!(
            replace_number("{\"v\": 4182634, \"w\": 1.418263}", "418263", "1"),
            "{\"v\": 4182634, \"w\": 1.418263}"
        );
    }

    #[test]
    fn placeholders_keep_the_shape_and_are_consistent() {
        let mut a = Anonymizer::default();
        a.add_shaped("09517362840159", Class::Text);
        a.add("jeanne@example.fr", RECORDED_LOGIN.into(), Class::Text);
        let text = a.apply("pdl 09517362840159, again 09517362840159, login=jeanne%40example.fr");
        assert!(
            !text.contains("09517362840159") && !text.contains("jeanne"),
            "{text}"
        );
        let pdl = text.split(", ").next().unwrap().trim_start_matches("pdl ");
        assert_eq!(pdl.len(), 14);
        assert!(pdl.bytes().all(|b| b.is_ascii_digit()));
        assert!(text.contains(&format!("again {pdl}")));
        assert!(text.contains("recorded.user%40example.org"));
        assert!(a.leftovers(&text).is_empty());
    }
}
