//! Time, cookies and tokens as Django hands them out: HTTP dates, the
//! `csrftoken` and `sessionid` cookies, random secrets, CSRF masking and
//! the stateless CSRF check of `CsrfViewMiddleware`.
//!
//! It owns the rules listed under "CSRF" and "Cookies" in `site.rs`'s doc,
//! and the record of issued secrets ([`issued_secrets`]) that the tests
//! search logs for. It must never keep a session: sessions and accounts
//! are the demo site's (`site.rs`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hellowatt_fixtures::SITE_ORIGIN;

use super::wire::{SimRequest, last_value};

/// `Sat, 28 Nov 2026 17:40:00 GMT` (IMF-fixdate).
pub(crate) fn http_date(unix: i64) -> String {
    // Before 1970 is not a date this site ever sends.
    let secs = u64::try_from(unix).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

const CSRF_COOKIE_AGE: i64 = 31_449_600;
const SESSION_COOKIE_AGE: i64 = 1_209_600;

/// Django's `csrftoken` cookie, attributes in Django's order.
pub(crate) fn csrf_set_cookie(secret: &str) -> String {
    format!(
        "csrftoken={secret}; expires={}; Max-Age={CSRF_COOKIE_AGE}; Path=/; SameSite=Lax",
        http_date(crate::now_utc() + CSRF_COOKIE_AGE)
    )
}

/// Django's `sessionid` cookie.
pub(crate) fn session_set_cookie(id: &str) -> String {
    format!(
        "sessionid={id}; expires={}; HttpOnly; Max-Age={SESSION_COOKIE_AGE}; Path=/; SameSite=Lax",
        http_date(crate::now_utc() + SESSION_COOKIE_AGE)
    )
}

/// Django's deletion of the session cookie (log-out).
pub(crate) fn session_delete_cookie() -> String {
    "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
        .to_string()
}

/// Unpredictable enough for a local fake (not for a real site): std's
/// randomly keyed hasher over a counter and the clock.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.finish()
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut bits = random_u64();
    let mut left = 10;
    for _ in 0..len {
        if left == 0 {
            bits = random_u64();
            left = 10;
        }
        out.push(char::from(
            alphabet[(bits % alphabet.len() as u64) as usize],
        ));
        bits /= alphabet.len() as u64;
        left -= 1;
    }
    out
}

/// Django's `CSRF_ALLOWED_CHARS` (ascii_letters + digits).
const CSRF_CHARS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CSRF_SECRET_LENGTH: usize = 32;

/// Every secret the simulated sites of this process handed out (CSRF
/// secrets, masked form tokens, session keys), newest last, at most
/// [`ISSUED_KEPT`]: what a secrets scan looks for in logs and files.
static ISSUED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
const ISSUED_KEPT: usize = 10_000;

fn issued(secret: String) -> String {
    let mut all = ISSUED.lock().unwrap_or_else(|e| e.into_inner());
    if all.len() >= ISSUED_KEPT {
        all.remove(0);
    }
    all.push(secret.clone());
    secret
}

/// The secrets handed out so far in this process (tests only).
pub fn issued_secrets() -> Vec<String> {
    ISSUED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A new bearer token as RTE's gateway hands them out (52 characters).
pub(crate) fn new_bearer_token() -> String {
    issued(random_string(CSRF_CHARS, 52))
}

/// A new 32-character CSRF secret.
pub(crate) fn new_csrf_secret() -> String {
    issued(random_string(CSRF_CHARS, CSRF_SECRET_LENGTH))
}

/// A new session key (Django: 32 lowercase letters and digits).
pub(crate) fn new_session_key() -> String {
    issued(random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32))
}

fn csrf_index(c: u8) -> Option<usize> {
    CSRF_CHARS.iter().position(|&x| x == c)
}

/// Django's `_mask_cipher_secret`: a random mask and the secret shifted by
/// it, 64 characters.
pub(crate) fn mask_csrf(secret: &str) -> String {
    let mask = random_string(CSRF_CHARS, CSRF_SECRET_LENGTH);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| {
            let (s, m) = (csrf_index(s).unwrap_or(0), csrf_index(m).unwrap_or(0));
            char::from(CSRF_CHARS[(s + m) % CSRF_CHARS.len()])
        })
        .collect();
    issued(format!("{mask}{cipher}"))
}

/// Django's `_check_token_format` then `_unmask_cipher_token`: the secret a
/// 32- or 64-character token stands for.
pub(crate) fn csrf_secret_of(token: &str) -> Result<String, &'static str> {
    if token.len() != CSRF_SECRET_LENGTH && token.len() != 2 * CSRF_SECRET_LENGTH {
        return Err("has incorrect length");
    }
    if !token.bytes().all(|c| csrf_index(c).is_some()) {
        return Err("has invalid characters");
    }
    if token.len() == CSRF_SECRET_LENGTH {
        return Ok(token.to_string());
    }
    let (mask, cipher) = token.split_at(CSRF_SECRET_LENGTH);
    Ok(cipher
        .bytes()
        .zip(mask.bytes())
        .map(|(c, m)| {
            let n = CSRF_CHARS.len();
            let (c, m) = (csrf_index(c).unwrap_or(0), csrf_index(m).unwrap_or(0));
            char::from(CSRF_CHARS[(c + n - m) % n])
        })
        .collect())
}

/// Django's CSRF check of an unsafe request. `cookie_ok` may refuse a
/// well-formed cookie (Scenario mode accepts only the ones it handed out);
/// `extra_tokens` are tokens accepted as they are (form tokens of recorded
/// pages). The error is Django's reason, for `served()`.
///
/// An `Origin`, when sent, must be the simulated site's own (`http://<Host>`)
/// or the real site's (`https://www.hellowatt.fr`): the simulated site
/// stands for the real one, where that origin is the request's own and
/// passes, and public clients send it hard-coded whatever host they are
/// pointed at. Any other origin fails, as on Django. No `Referer` check:
/// Django checks it only over HTTPS, and only when no `Origin` is sent.
pub(crate) fn csrf_check(
    req: &SimRequest,
    cookie_ok: impl Fn(&str) -> bool,
    extra_tokens: &[String],
) -> Result<(), String> {
    if let Some(origin) = req.header("origin") {
        let own = format!("http://{}", req.header("host").unwrap_or(""));
        if origin != own && origin != SITE_ORIGIN {
            return Err(format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            ));
        }
    }
    let Some(cookie) = req.cookie("csrftoken") else {
        return Err("CSRF cookie not set.".into());
    };
    let secret = csrf_secret_of(&cookie).map_err(|e| format!("CSRF cookie {e}."))?;
    if !cookie_ok(&cookie) {
        return Err("CSRF cookie not set (not one this site handed out).".into());
    }
    let form_token = last_value(&req.form(), "csrfmiddlewaretoken").filter(|t| !t.is_empty());
    let (token, source) = match form_token {
        Some(t) => (t, "POST"),
        None => match req.header("x-csrftoken") {
            Some(t) => (t.to_string(), "the 'X-Csrftoken' HTTP header"),
            None => return Err("CSRF token missing.".into()),
        },
    };
    if extra_tokens.contains(&token) {
        return Ok(());
    }
    let got = csrf_secret_of(&token).map_err(|e| format!("CSRF token from {source} {e}."))?;
    if got != secret {
        return Err(format!("CSRF token from {source} incorrect."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_masking_round_trips() {
        let secret = new_csrf_secret();
        assert_eq!(secret.len(), 32);
        let a = mask_csrf(&secret);
        let b = mask_csrf(&secret);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b, "a new mask every time");
        assert_eq!(csrf_secret_of(&a).unwrap(), secret);
        assert_eq!(csrf_secret_of(&b).unwrap(), secret);
        assert_eq!(csrf_secret_of(&secret).unwrap(), secret);
        assert!(csrf_secret_of("short").is_err());
        assert!(csrf_secret_of(&"!".repeat(32)).is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_887_600), "Sat, 28 Nov 2026 17:40:00 GMT");
    }
}
