//! Scrubbing: an answer never shows the guest the password or a held
//! cookie, whatever form the site wrote it in.
//!
//! It owns the forms a site echoes a typed password in (as typed, in a
//! form or URL encoding, JSON-escaped as Rust, Python and Django write it,
//! HTML-escaped) and their one-pass replacement. It must never be given a
//! value that is not a secret: everything it is given disappears from the
//! answers.

use aho_corasick::{AhoCorasick, MatchKind};

/// What a held cookie's value becomes in an answer.
pub const HELD_COOKIE: &str = "[cookie held by the host]";

/// What the host's bearer token becomes in an answer.
pub const HELD_TOKEN: &str = "[token held by the host]";

/// Replaces secrets in text, all forms in one pass.
#[derive(Debug, Clone)]
pub struct Scrubber {
    /// `None` when there is nothing to replace.
    matcher: Option<AhoCorasick>,
    replacements: Vec<String>,
}

impl Scrubber {
    /// `password` (if any) becomes `placeholder` in each of its forms; each
    /// held cookie value becomes [`HELD_COOKIE`]. Empty values are ignored.
    pub fn new<'a>(
        password: Option<&str>,
        placeholder: &str,
        held: impl IntoIterator<Item = &'a str>,
    ) -> Scrubber {
        Scrubber::with_token(password, placeholder, held, None)
    }

    /// [`Scrubber::new`], and the host's bearer `token` (if any) becomes
    /// [`HELD_TOKEN`] in each of its forms.
    pub fn with_token<'a>(
        password: Option<&str>,
        placeholder: &str,
        held: impl IntoIterator<Item = &'a str>,
        token: Option<&str>,
    ) -> Scrubber {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            for form in forms(p) {
                pairs.push((form, placeholder.to_string()));
            }
        }
        for value in held.into_iter().filter(|v| !v.is_empty()) {
            for form in forms(value) {
                pairs.push((form, HELD_COOKIE.to_string()));
            }
        }
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            for form in forms(t) {
                pairs.push((form, HELD_TOKEN.to_string()));
            }
        }
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        if pairs.is_empty() {
            return Scrubber {
                matcher: None,
                replacements: Vec::new(),
            };
        }
        // Leftmost-longest: a form that contains another is replaced whole.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(f, _)| f.as_bytes()))
            .expect("a handful of short patterns always builds");
        Scrubber {
            matcher: Some(matcher),
            replacements: pairs.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// The text with every secret replaced, or `None` when it held none
    /// (the common case: no copy).
    pub fn scrub(&self, text: &[u8]) -> Option<Vec<u8>> {
        let matcher = self.matcher.as_ref()?;
        if !matcher.is_match(text) {
            return None;
        }
        Some(matcher.replace_all_bytes(text, &self.replacements))
    }
}

/// The forms a site may echo `secret` in.
pub fn forms(secret: &str) -> Vec<String> {
    // As the host writes it into the log-in form (`*` kept, space `+`).
    let mut out = vec![secret.to_string(), crate::login::form_encode(secret)];
    for upper in [true, false] {
        out.push(percent(secret, upper, false));
        out.push(percent(secret, upper, true));
        out.push(json_ascii(secret, upper));
    }
    // serde_json's string of it, without the quotes (UTF-8 kept as is).
    let json = serde_json::Value::String(secret.to_string()).to_string();
    out.push(json[1..json.len() - 1].to_string());
    out.push(html(secret, "&#x27;"));
    out.push(html(secret, "&#39;"));
    out.sort();
    out.dedup();
    out
}

/// Percent-encoding of everything but RFC 3986's unreserved characters;
/// `plus`: a space as `+` (forms).
fn percent(s: &str, upper: bool, plus: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' if plus => out.push('+'),
            _ if upper => out.push_str(&format!("%{b:02X}")),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// JSON with every non-ASCII character as `\uXXXX` (UTF-16), as Python's
/// `json.dumps` and Django's `JsonResponse` write it.
fn json_ascii(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if upper {
                        out.push_str(&format!("\\u{u:04X}"));
                    } else {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
        }
    }
    out
}

/// HTML-escaped as Django's `escape` does (`apos` names its `'`).
fn html(s: &str, apos: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apos),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "P@ss wörd\"<'&>😀-2026!";

    #[test]
    fn every_echo_of_the_password_becomes_the_placeholder() {
        let s = Scrubber::new(Some(PW), "PLACEHOLDER", ["sessvalue123"]);
        let json_py = r#"P@ss w\u00f6rd\"<'&>\ud83d\ude00-2026!"#;
        let echoes = [
            PW.to_string(),
            "P%40ss+w%C3%B6rd%22%3C%27%26%3E%F0%9F%98%80-2026%21".to_string(),
            "P%40ss%20w%c3%b6rd%22%3c%27%26%3e%f0%9f%98%80-2026%21".to_string(),
            json_py.to_string(),
            r#"P@ss w\u00F6rd\"<'&>\uD83D\uDE00-2026!"#.to_string(),
            r#"P@ss wörd\"<'&>😀-2026!"#.to_string(),
            "P@ss wörd&quot;&lt;&#x27;&amp;&gt;😀-2026!".to_string(),
            "P@ss wörd&quot;&lt;&#39;&amp;&gt;😀-2026!".to_string(),
        ];
        for echo in &echoes {
            let body = format!(r#"{{"value": "{echo}", "cookie": "sessvalue123"}}"#);
            let out = String::from_utf8(s.scrub(body.as_bytes()).expect("found")).unwrap();
            assert_eq!(
                out, r#"{"value": "PLACEHOLDER", "cookie": "[cookie held by the host]"}"#,
                "{echo}"
            );
        }
        assert_eq!(s.scrub(b"{\"nothing\": 1}"), None);
        assert!(Scrubber::new(None, "x", []).scrub(PW.as_bytes()).is_none());
    }

    #[test]
    fn a_form_inside_another_is_replaced_whole() {
        // The password's JSON form contains the raw form's prefix: the
        // longest match wins, so nothing of it is left behind.
        let s = Scrubber::new(Some("ab\"cd"), "X", []);
        assert_eq!(s.scrub(br#"ab\"cd"#).unwrap(), b"X");
        assert_eq!(s.scrub(b"ab\"cd").unwrap(), b"X");
    }
}
