//! What the host does for a guest as a browser does for a page's script
//! (design.md: "a guest is like the JavaScript of a web page"): it holds
//! the user's password and the site's session, and lends the guest only
//! what page script could see.
//!
//! A [`Browser`] stands between one run of a guest and its one origin:
//! - [`Browser::outgoing`], before a request leaves: the password
//!   placeholder is refused anywhere but the log-in's password field,
//!   where the real password takes its place ([`login`]); the jar's
//!   cookies are added and a guest's `Cookie` naming a held one refused
//!   ([`jar`]); for a service the host holds a bearer token for (RTE's
//!   EcoWatt API), the token is added as `Authorization` and a guest's own
//!   `Authorization` refused, as a browser sends an `HttpOnly` cookie.
//! - [`Browser::incoming`], before the guest reads an answer: every cookie
//!   is kept, `HttpOnly` ones are taken out of what the guest reads, and
//!   the password, the held cookie values and the bearer token are
//!   scrubbed from headers and body in every form a site writes them
//!   ([`scrub`]).
//!
//! It owns those rules, and nothing of the network, origins or policy
//! (the host's `sandbox::policy` calls it; guest-kit's native cassette
//! tests call it too, so that a guest's tests meet the same browser). It
//! must never log, and never put a secret in a refusal.

pub mod jar;
pub mod login;
pub mod scrub;

use http::HeaderMap;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
pub use jar::{Jar, Refusal};
pub use login::{BodyKind, LogIn, MAX_LOG_INS};
pub use scrub::Scrubber;

/// How placeholders start: guests see this and a random tail.
pub const PLACEHOLDER_PREFIX: &str = "hellowatt-password-";

/// A placeholder for the password of one run: the prefix and 32 hex
/// digits of `random`. Only unreserved characters, so that a form or JSON
/// encoding carries it unchanged.
pub fn placeholder(random: [u8; 16]) -> String {
    let mut out = String::from(PLACEHOLDER_PREFIX);
    for b in random {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The browser of one run.
#[derive(Debug)]
pub struct Browser {
    placeholder: String,
    login: Option<LogIn>,
    /// The bearer token the host adds to every request, when it holds one.
    bearer: Option<String>,
    https: bool,
    jar: Jar,
    log_ins: u32,
    scrubber: Scrubber,
    /// The jar generation the scrubber was built from.
    scrubber_generation: u64,
}

impl Browser {
    /// `login`: the log-in request and account, when the slot logs in;
    /// `https`: whether the origin is https (`Secure` cookies).
    pub fn new(placeholder: String, login: Option<LogIn>, https: bool) -> Browser {
        let scrubber = Scrubber::new(
            login.as_ref().map(|l| l.password.as_str()),
            &placeholder,
            [],
        );
        Browser {
            placeholder,
            login,
            bearer: None,
            https,
            jar: Jar::default(),
            log_ins: 0,
            scrubber,
            scrubber_generation: 0,
        }
    }

    /// The browser adds `Authorization: Bearer <token>` to every request
    /// and refuses a guest's own `Authorization`; the token is scrubbed
    /// from answers. An empty token changes nothing.
    pub fn with_bearer(mut self, token: &str) -> Browser {
        if !token.is_empty() {
            self.bearer = Some(token.to_string());
            self.scrubber = self.new_scrubber();
        }
        self
    }

    fn new_scrubber(&self) -> Scrubber {
        Scrubber::with_token(
            self.login.as_ref().map(|l| l.password.as_str()),
            &self.placeholder,
            self.jar.held_values(),
            self.bearer.as_deref(),
        )
    }

    /// What the guest receives in place of the password.
    pub fn placeholder(&self) -> &str {
        &self.placeholder
    }

    pub fn jar(&self) -> &Jar {
        &self.jar
    }

    /// Prepares a request to leave, or says why it may not: see the crate
    /// doc. `path` and `query` are the request's, as sent.
    pub fn outgoing(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &mut HeaderMap,
        body: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let ph = self.placeholder.as_str();
        if path.contains(ph) || query.contains(ph) {
            return Err(
                "the password placeholder is in the URL: it may only be the log-in's password \
                 field"
                    .to_string(),
            );
        }
        if let Some(name) = headers
            .iter()
            .find(|(_, v)| contains(v.as_bytes(), ph.as_bytes()))
            .map(|(k, _)| k.as_str())
        {
            return Err(format!(
                "the password placeholder is in the header {name}: it may only be the log-in's \
                 password field"
            ));
        }
        match &self.login {
            Some(login) if login.is_login_request(method, path) => {
                if self.log_ins >= MAX_LOG_INS {
                    return Err(format!(
                        "more than {MAX_LOG_INS} log-ins in one run: refused (a guest that \
                         needs more is not logging in)"
                    ));
                }
                let kind = BodyKind::of(headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
                *body = login.fill(ph, kind, body)?;
                self.log_ins += 1;
                // The password is not as long as the placeholder.
                if headers.contains_key(CONTENT_LENGTH) {
                    headers.insert(CONTENT_LENGTH, http::HeaderValue::from(body.len()));
                }
            }
            _ if contains(body, ph.as_bytes()) => {
                return Err(format!(
                    "the password placeholder is in the body of {method} {path}, which is not \
                     the log-in: it may only be the log-in's password field"
                ));
            }
            _ => {}
        }
        if let Some(token) = &self.bearer {
            if headers.contains_key(AUTHORIZATION) {
                return Err(
                    "the guest set an Authorization header: only the host sends the \
                            service's token"
                        .to_string(),
                );
            }
            let value = http::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| "the host's token is not a valid header value".to_string())?;
            headers.insert(AUTHORIZATION, value);
        }
        self.jar.dress(headers, path, self.https)
    }

    /// Makes an answer fit for the guest to read: see the crate doc. The
    /// `Content-Length`, if any, is that of the scrubbed body.
    pub fn incoming(&mut self, headers: &mut HeaderMap, body: &mut Vec<u8>) {
        self.jar.absorb(headers);
        if self.jar.generation() != self.scrubber_generation {
            self.scrubber = self.new_scrubber();
            self.scrubber_generation = self.jar.generation();
        }
        let set_cookies: Vec<_> = headers.get_all(SET_COOKIE).iter().cloned().collect();
        if !set_cookies.is_empty() {
            headers.remove(SET_COOKIE);
            for v in set_cookies {
                if v.to_str().is_ok_and(Jar::visible) {
                    headers.append(SET_COOKIE, v);
                }
            }
        }
        for value in headers.values_mut() {
            if let Some(clean) = self.scrubber.scrub(value.as_bytes())
                && let Ok(clean) = http::HeaderValue::from_bytes(&clean)
            {
                *value = clean;
            }
        }
        if let Some(clean) = self.scrubber.scrub(body) {
            *body = clean;
        }
        // The original length would tell how long the scrubbed secret was.
        if headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, http::HeaderValue::from(body.len()));
        }
    }
}

/// Headers as name-value pairs (guests and cassettes carry them so) to a
/// map; a pair that is no valid header is refused, named.
pub fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, Refusal> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("{k:?} is not a header name"))?;
        let value =
            http::HeaderValue::from_str(v).map_err(|_| format!("the {k} header is not text"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// A map's headers as pairs, in order; values that are not text are left
/// out.
pub fn header_pairs(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    const PW: &str = "Secret-pass-2026!";

    fn browser() -> Browser {
        Browser::new(
            placeholder([7; 16]),
            Some(LogIn {
                method: "POST".into(),
                path: "/accounts/login/".into(),
                login: "me@example.org".into(),
                password: PW.into(),
            }),
            true,
        )
    }

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        h
    }

    #[test]
    fn a_run_logs_in_keeps_the_session_and_scrubs_echoes() {
        let mut b = browser();
        let ph = b.placeholder().to_string();
        assert_eq!(ph, format!("{PLACEHOLDER_PREFIX}{}", "07".repeat(16)));

        let mut h = form_headers();
        let mut body = format!("login=me%40example.org&password={ph}").into_bytes();
        h.insert(CONTENT_LENGTH, body.len().into());
        b.outgoing("POST", "/accounts/login/", "", &mut h, &mut body)
            .unwrap();
        assert_eq!(body, b"login=me%40example.org&password=Secret-pass-2026%21");
        assert_eq!(h.get(CONTENT_LENGTH).unwrap(), &body.len().to_string());

        // The site's answer: a session (held), a token (visible), and the
        // password echoed back.
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "sessionid=sess-0123456789; HttpOnly; Path=/"
                .parse()
                .unwrap(),
        );
        h.append(SET_COOKIE, "csrftoken=tok-abc; Path=/".parse().unwrap());
        h.insert(CONTENT_LENGTH, "999".parse().unwrap());
        h.insert("x-echo", "Secret-pass-2026%21".parse().unwrap());
        let mut body = br#"{"value": "Secret-pass-2026!", "s": "sess-0123456789"}"#.to_vec();
        b.incoming(&mut h, &mut body);
        let seen: Vec<_> = h.get_all(SET_COOKIE).iter().collect();
        assert_eq!(seen, ["csrftoken=tok-abc; Path=/"]);
        assert_eq!(h.get("x-echo").unwrap().to_str().unwrap(), ph);
        let text = String::from_utf8(body.clone()).unwrap();
        assert_eq!(
            text,
            format!(r#"{{"value": "{ph}", "s": "[cookie held by the host]"}}"#)
        );
        assert_eq!(h.get(CONTENT_LENGTH).unwrap(), &body.len().to_string());

        // The next request carries the session; the guest never named it.
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "csrftoken=tok-abc".parse().unwrap());
        b.outgoing("GET", "/api/homes", "", &mut h, &mut Vec::new())
            .unwrap();
        assert_eq!(
            h.get(COOKIE).unwrap(),
            "sessionid=sess-0123456789; csrftoken=tok-abc"
        );
    }

    #[test]
    fn the_placeholder_anywhere_else_is_refused() {
        let mut b = browser();
        let ph = b.placeholder().to_string();
        let refused = |b: &mut Browser,
                       method: &str,
                       path: &str,
                       query: &str,
                       h: &mut HeaderMap,
                       body: &str| {
            b.outgoing(method, path, query, h, &mut body.as_bytes().to_vec())
                .unwrap_err()
        };
        assert!(
            refused(
                &mut b,
                "GET",
                "/api/homes",
                &format!("q={ph}"),
                &mut HeaderMap::new(),
                ""
            )
            .contains("URL")
        );
        assert!(
            refused(
                &mut b,
                "GET",
                &format!("/api/{ph}"),
                "",
                &mut HeaderMap::new(),
                ""
            )
            .contains("URL")
        );
        let mut h = HeaderMap::new();
        h.insert("x-note", format!("a {ph}").parse().unwrap());
        assert!(refused(&mut b, "GET", "/api/homes", "", &mut h, "").contains("header x-note"));
        let e = refused(
            &mut b,
            "POST",
            "/api/user",
            "",
            &mut form_headers(),
            &format!("bio={ph}"),
        );
        assert!(e.contains("not the log-in"), "{e}");
        assert!(!e.contains(PW));
    }

    #[test]
    fn log_ins_are_counted() {
        let mut b = browser();
        let ph = b.placeholder().to_string();
        for i in 0..=MAX_LOG_INS {
            let mut body = format!("login=me%40example.org&password={ph}").into_bytes();
            let r = b.outgoing(
                "POST",
                "/accounts/login/",
                "",
                &mut form_headers(),
                &mut body,
            );
            assert_eq!(r.is_ok(), i < MAX_LOG_INS, "log-in #{i}: {r:?}");
        }
    }

    #[test]
    fn without_a_log_in_nothing_is_substituted() {
        let mut b = Browser::new(placeholder([1; 16]), None, true);
        let ph = b.placeholder().to_string();
        let mut body = format!("password={ph}").into_bytes();
        assert!(
            b.outgoing(
                "POST",
                "/accounts/login/",
                "",
                &mut form_headers(),
                &mut body
            )
            .is_err()
        );
        let mut h = HeaderMap::new();
        let mut body = b"{}".to_vec();
        b.incoming(&mut h, &mut body);
        assert_eq!(body, b"{}");
    }
    #[test]
    fn a_held_bearer_token_is_sent_by_the_host_only_and_never_read() {
        const TOKEN: &str = "Tok3n-held-by-the-host-0123456789";
        let mut b = Browser::new("ph".into(), None, true).with_bearer(TOKEN);
        // The host adds it to every request.
        let mut h = HeaderMap::new();
        b.outgoing(
            "GET",
            "/open_api/ecowatt/v5/signals",
            "",
            &mut h,
            &mut vec![],
        )
        .unwrap();
        assert_eq!(h.get(AUTHORIZATION).unwrap(), &format!("Bearer {TOKEN}"));
        // A guest's own Authorization (a guess, a copy) is refused, named,
        // without the token in the refusal.
        for own in ["Bearer guess", "Basic aWQ6c2VjcmV0"] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, own.parse().unwrap());
            let e = b
                .outgoing(
                    "GET",
                    "/open_api/ecowatt/v5/signals",
                    "",
                    &mut h,
                    &mut vec![],
                )
                .unwrap_err();
            assert!(e.contains("Authorization") && !e.contains(TOKEN), "{e}");
        }
        // An answer that echoes it shows the guest a stand-in, in every form.
        let mut h = HeaderMap::new();
        h.insert("x-echo", format!("Bearer {TOKEN}").parse().unwrap());
        let mut body = format!("{{\"auth\": \"Bearer {TOKEN}\"}}").into_bytes();
        b.incoming(&mut h, &mut body);
        let seen = format!("{h:?} {}", String::from_utf8_lossy(&body));
        assert!(!seen.contains(TOKEN), "{seen}");
        assert!(seen.contains(scrub::HELD_TOKEN), "{seen}");
        // Without a token nothing is added, and an empty one is none.
        for mut b in [
            Browser::new("ph".into(), None, true),
            Browser::new("ph".into(), None, true).with_bearer(""),
        ] {
            let mut h = HeaderMap::new();
            b.outgoing("GET", "/x", "", &mut h, &mut vec![]).unwrap();
            assert!(h.get(AUTHORIZATION).is_none());
        }
    }
}
