//! Secret redaction for everything a guest says and every error a run
//! reports.
//!
//! A run's `Redactor` starts with the configured password (and login), and
//! the HTTP policy adds cookie values and CSRF tokens as they pass. Any text
//! that leaves a run (guest log lines, guest error details, sandbox errors)
//! goes through `redact`. It must never store or print what it holds.
//! [`Secret`] is the type that carries a configured secret to the parts
//! that need it, and prints as `[redacted]`.

use std::sync::Mutex;

/// A password or other secret: readable only through `expose`, printed
/// as `[redacted]` by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Secrets shorter than this are not redacted: they would match ordinary
/// words, and no real secret is that short.
const MIN_SECRET_LEN: usize = 4;

#[derive(Default)]
pub struct Redactor {
    secrets: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl Redactor {
    pub fn with_secrets<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// The redactor of an account's run: its password, and its e-mail (the
    /// site's log-in is an e-mail address: a login that is not one, as in
    /// tests that pick a guest's behaviour by it, is left as it is).
    pub fn for_account(password: &str, login: &str) -> Redactor {
        let r = Redactor::with_secrets([password]);
        if login.contains('@') {
            r.add(login);
        }
        r
    }

    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut all = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|s| s == secret) {
            all.push(secret.to_string());
            // Longest first, so a secret that contains another is replaced whole.
            all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        // The percent-encoded form appears in form bodies and URLs.
        let encoded = percent_encode(secret);
        if encoded != secret && !all.contains(&encoded) {
            all.push(encoded);
            all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let all = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in all.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as a
/// form body or a query carries a secret.
pub(crate) fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
}

/// Everything is escaped but RFC 3986's unreserved characters.
const UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_email_is_redacted_with_its_password() {
        let r = Redactor::for_account("Secret-pass-2026!", "jeanne@example.org");
        let out = r.redact("jeanne@example.org with Secret-pass-2026!");
        assert!(!out.contains("jeanne") && !out.contains("Secret"), "{out}");
        // A login that is no e-mail (a test's mode word) stays readable.
        let r = Redactor::for_account("Secret-pass-2026!", "panic");
        assert!(r.redact("panicked").contains("panicked"));
    }

    #[test]
    fn redacts_plain_and_encoded() {
        let r = Redactor::with_secrets(["Secret-pass-2026!", "ab"]);
        r.add("cookievalue123");
        let text =
            "login=x&password=Secret-pass-2026%21 Secret-pass-2026! sessionid=cookievalue123 ab";
        let out = r.redact(text);
        assert!(!out.contains("Secret-pass"), "{out}");
        assert!(!out.contains("cookievalue123"), "{out}");
        assert!(out.ends_with(" ab"), "short strings are kept: {out}");
    }
}
