//! The cookie jar of one run, kept by the host as a browser keeps it.
//!
//! It owns every cookie the site sets (`Set-Cookie`), which of them page
//! script may see (all but `HttpOnly` ones, Django's `sessionid`), and the
//! `Cookie` header each request carries. It must never hand a held
//! (`HttpOnly`) cookie's name or value to the guest, and never let a guest
//! set one.

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    name: String,
    value: String,
    /// `HttpOnly`: held by the host, never shown to the guest.
    held: bool,
    /// `Secure`: sent over https only.
    secure: bool,
    path: String,
}

/// The cookies of one origin. One cookie per name: the one origin a run
/// talks to sets each of its cookies on one path.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    cookies: Vec<Stored>,
    /// Bumped whenever the held values change, so that a scrubber built
    /// from them knows when to rebuild.
    generation: u64,
}

/// Why a request was refused: what the guest did, in words.
pub type Refusal = String;

impl Jar {
    /// Keeps every `Set-Cookie` of an answer; a cookie whose `Max-Age` is
    /// zero or negative, or whose `Expires` has passed, is removed.
    pub fn absorb(&mut self, headers: &HeaderMap) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let Ok(c) = cookie::Cookie::parse(value) else {
                continue;
            };
            let removed = c.max_age().is_some_and(|a| a.whole_seconds() <= 0)
                || c.expires_datetime()
                    .is_some_and(|at| c.max_age().is_none() && at.unix_timestamp() <= now);
            let old = self.cookies.iter().position(|s| s.name == c.name());
            if let Some(i) = old {
                let gone = self.cookies.remove(i);
                if gone.held {
                    self.generation += 1;
                }
            }
            if removed {
                continue;
            }
            let held = c.http_only().unwrap_or(false);
            if held {
                self.generation += 1;
            }
            self.cookies.push(Stored {
                name: c.name().to_string(),
                value: c.value().to_string(),
                held,
                secure: c.secure().unwrap_or(false),
                path: c.path().unwrap_or("/").to_string(),
            });
        }
    }

    /// Whether the `Set-Cookie` header value sets a cookie the guest may
    /// see (a cookie without `HttpOnly`). An unreadable one is hidden.
    pub fn visible(set_cookie: &str) -> bool {
        cookie::Cookie::parse(set_cookie).is_ok_and(|c| !c.http_only().unwrap_or(false))
    }

    /// The values the host holds from the guest, for scrubbing answers.
    pub fn held_values(&self) -> impl Iterator<Item = &str> {
        self.cookies
            .iter()
            .filter(|c| c.held)
            .map(|c| c.value.as_str())
    }

    /// Changes whenever [`Jar::held_values`] does.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets the request's one `Cookie` header: the jar's cookies for
    /// `path`, and those the guest named itself (as page script may set a
    /// visible cookie). A guest's `Cookie` that names a held cookie is
    /// refused: only the host sends the session.
    pub fn dress(&self, headers: &mut HeaderMap, path: &str, https: bool) -> Result<(), Refusal> {
        let mut guest: Vec<(String, String)> = Vec::new();
        for value in headers.get_all(COOKIE) {
            let text = value
                .to_str()
                .map_err(|_| "the guest's Cookie header is not text".to_string())?;
            for pair in text.split(';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let name = name.trim();
                if self.cookies.iter().any(|c| c.held && c.name == name) {
                    return Err(format!(
                        "the guest set a Cookie header naming {name}, a cookie the host holds \
                         (HttpOnly): only the host sends it"
                    ));
                }
                guest.push((name.to_string(), value.trim().to_string()));
            }
        }
        let mut pairs: Vec<String> = Vec::new();
        for c in &self.cookies {
            if (c.secure && !https) || !path_matches(&c.path, path) {
                continue;
            }
            // Page script may overwrite a visible cookie; never a held one.
            if !c.held && guest.iter().any(|(n, _)| *n == c.name) {
                continue;
            }
            pairs.push(format!("{}={}", c.name, c.value));
        }
        pairs.extend(guest.into_iter().map(|(n, v)| format!("{n}={v}")));
        headers.remove(COOKIE);
        if !pairs.is_empty() {
            let value = http::HeaderValue::from_str(&pairs.join("; "))
                .map_err(|_| "a cookie value is not a valid header".to_string())?;
            headers.insert(COOKIE, value);
        }
        Ok(())
    }
}

/// RFC 6265's path match: `/api` matches `/api`, `/api/x`, not `/apix`.
fn path_matches(cookie_path: &str, path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(set_cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for s in set_cookies {
            h.append(SET_COOKIE, s.parse().unwrap());
        }
        h
    }

    fn sent(jar: &Jar, guest_cookie: Option<&str>, path: &str) -> Result<Option<String>, String> {
        let mut h = HeaderMap::new();
        if let Some(c) = guest_cookie {
            h.insert(COOKIE, c.parse().unwrap());
        }
        jar.dress(&mut h, path, true)?;
        Ok(h.get(COOKIE).map(|v| v.to_str().unwrap().to_string()))
    }

    #[test]
    fn keeps_holds_and_removes() {
        let mut jar = Jar::default();
        jar.absorb(&answer(&[
            "csrftoken=tok1; Max-Age=31449600; Path=/; SameSite=Lax",
            "sessionid=sess1; expires=Sun, 15 Mar 2099 18:07:04 GMT; HttpOnly; Max-Age=1209600; Path=/",
        ]));
        assert_eq!(jar.held_values().collect::<Vec<_>>(), ["sess1"]);
        assert_eq!(
            sent(&jar, None, "/api/homes").unwrap().as_deref(),
            Some("csrftoken=tok1; sessionid=sess1")
        );
        let before = jar.generation();
        jar.absorb(&answer(&[
            r#"sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"#,
        ]));
        assert_ne!(jar.generation(), before);
        assert_eq!(jar.held_values().count(), 0);
        assert_eq!(
            sent(&jar, None, "/").unwrap().as_deref(),
            Some("csrftoken=tok1")
        );
        // Expired by date alone.
        jar.absorb(&answer(&[
            "csrftoken=x; expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ]));
        assert_eq!(sent(&jar, None, "/").unwrap(), None);
    }

    #[test]
    fn the_guest_sees_and_sets_visible_cookies_only() {
        assert!(Jar::visible("csrftoken=t; Path=/; SameSite=Lax"));
        assert!(!Jar::visible("sessionid=s; HttpOnly; Path=/"));
        assert!(!Jar::visible("sessionid=s; httponly"));
        assert!(!Jar::visible("not a cookie"));

        let mut jar = Jar::default();
        jar.absorb(&answer(&[
            "csrftoken=tok1; Path=/",
            "sessionid=sess1; HttpOnly; Path=/",
        ]));
        // A visible cookie the guest names is the guest's value; a new one
        // is added.
        assert_eq!(
            sent(&jar, Some("csrftoken=mine; theme=dark"), "/")
                .unwrap()
                .as_deref(),
            Some("sessionid=sess1; csrftoken=mine; theme=dark")
        );
        for forged in ["sessionid=guess", "a=b; sessionid", " sessionid =x"] {
            let e = sent(&jar, Some(forged), "/").unwrap_err();
            assert!(e.contains("sessionid") && e.contains("host holds"), "{e}");
        }
    }

    #[test]
    fn paths_and_secure() {
        let mut jar = Jar::default();
        jar.absorb(&answer(&["a=1; Path=/api", "b=2; Secure; Path=/"]));
        assert_eq!(
            sent(&jar, None, "/api/x").unwrap().as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(sent(&jar, None, "/apix").unwrap().as_deref(), Some("b=2"));
        let mut h = HeaderMap::new();
        jar.dress(&mut h, "/api", false).unwrap();
        assert_eq!(h.get(COOKIE).unwrap(), "a=1");
        assert!(path_matches("/", "/anything"));
        assert!(!path_matches("/api/", "/api"));
    }
}
