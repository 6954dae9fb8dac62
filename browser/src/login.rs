//! The log-in: the one request that carries the password, filled in by the
//! host as a password manager fills a form.
//!
//! It owns the rules of that substitution: only the configured log-in
//! request (method and path) of the allowed origin; only a form or JSON
//! body; the placeholder exactly as the `password` field's whole value and
//! nowhere else; the configured login in the body beside it (so that a
//! guest cannot post the password to an account of its author's); a typed
//! password other than the placeholder refused (so that a guest cannot try
//! guesses on the user's account); a few log-ins per run. It must never put
//! the password anywhere else, and never say the password in a refusal.

use crate::jar::Refusal;

/// The field whose value is the password, in a form or a JSON body.
pub const PASSWORD_FIELD: &str = "password";
/// The fields that may name the account (allauth: `login`; others:
/// `email`, `username`).
pub const LOGIN_FIELDS: [&str; 3] = ["login", "email", "username"];
/// Log-in requests one run may send: the first, one after a lost session,
/// one more. A flow that needs more is not logging in.
pub const MAX_LOG_INS: u32 = 3;

/// The configured log-in request and the account.
#[derive(Clone, PartialEq, Eq)]
pub struct LogIn {
    /// `POST`.
    pub method: String,
    /// `/accounts/login/`.
    pub path: String,
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for LogIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogIn")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The body's encoding, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
    Other,
}

impl BodyKind {
    pub fn of(content_type: Option<&str>) -> BodyKind {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match media.as_deref() {
            Some("application/x-www-form-urlencoded") => BodyKind::Form,
            Some(m) if m == "application/json" || m.ends_with("+json") => BodyKind::Json,
            _ => BodyKind::Other,
        }
    }
}

impl LogIn {
    pub fn is_login_request(&self, method: &str, path: &str) -> bool {
        method.eq_ignore_ascii_case(&self.method) && path == self.path
    }

    /// The log-in body with the password in the placeholder's place, after
    /// the rules above.
    pub fn fill(&self, placeholder: &str, kind: BodyKind, body: &[u8]) -> Result<Vec<u8>, Refusal> {
        let text = std::str::from_utf8(body)
            .map_err(|_| "the log-in body is not UTF-8 text".to_string())?;
        match kind {
            BodyKind::Form => self.fill_form(placeholder, text),
            BodyKind::Json => self.fill_json(placeholder, text),
            BodyKind::Other => Err(
                "the log-in body must be a form (application/x-www-form-urlencoded) or JSON"
                    .to_string(),
            ),
        }
    }

    fn fill_form(&self, placeholder: &str, text: &str) -> Result<Vec<u8>, Refusal> {
        let mut password_at = None;
        let mut names_account = false;
        for (i, pair) in text.split('&').enumerate() {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name);
            let value = form_decode(value);
            if name == PASSWORD_FIELD {
                if password_at.is_some() {
                    return Err("the log-in form has two password fields".to_string());
                }
                if value != placeholder {
                    return Err(typed_password());
                }
                password_at = Some(i);
            } else if value.contains(placeholder) || name.contains(placeholder) {
                return Err(elsewhere(&format!("the form field {name:?}")));
            } else if LOGIN_FIELDS.contains(&name.as_str()) {
                if value != self.login {
                    return Err(other_account());
                }
                names_account = true;
            }
        }
        let Some(at) = password_at else {
            return Err("the log-in form has no password field".to_string());
        };
        if !names_account {
            return Err(no_account());
        }
        let filled: Vec<String> = text
            .split('&')
            .enumerate()
            .map(|(i, pair)| {
                if i == at {
                    format!("{PASSWORD_FIELD}={}", form_encode(&self.password))
                } else {
                    pair.to_string()
                }
            })
            .collect();
        Ok(filled.join("&").into_bytes())
    }

    fn fill_json(&self, placeholder: &str, text: &str) -> Result<Vec<u8>, Refusal> {
        let mut value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| "the log-in body is not JSON, as its Content-Type says".to_string())?;
        let Some(object) = value.as_object_mut() else {
            return Err("the log-in body is not a JSON object".to_string());
        };
        let mut names_account = false;
        for (name, v) in object.iter() {
            if name == PASSWORD_FIELD {
                if v.as_str() != Some(placeholder) {
                    return Err(typed_password());
                }
            } else if name.contains(placeholder) || v.to_string().contains(placeholder) {
                return Err(elsewhere(&format!("the JSON field {name:?}")));
            } else if LOGIN_FIELDS.contains(&name.as_str()) {
                if v.as_str() != Some(self.login.as_str()) {
                    return Err(other_account());
                }
                names_account = true;
            }
        }
        if !object.contains_key(PASSWORD_FIELD) {
            return Err("the log-in body has no password field".to_string());
        }
        if !names_account {
            return Err(no_account());
        }
        object.insert(
            PASSWORD_FIELD.to_string(),
            serde_json::Value::String(self.password.clone()),
        );
        serde_json::to_vec(&value).map_err(|_| "the log-in body could not be written".to_string())
    }
}

fn typed_password() -> Refusal {
    "the log-in's password field must be the placeholder the host gave: a guest never types \
     a password"
        .to_string()
}

fn elsewhere(place: &str) -> Refusal {
    format!("the password placeholder is in {place}: it may only be the log-in's password field")
}

fn other_account() -> Refusal {
    "the log-in names another account than the configured one".to_string()
}

fn no_account() -> Refusal {
    format!(
        "the log-in body names no account (one of the fields {})",
        LOGIN_FIELDS.join(", ")
    )
}

/// `application/x-www-form-urlencoded` decoding of one component.
fn form_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// `application/x-www-form-urlencoded` encoding of one component, as a
/// browser submits a form (and as the host writes the password into the
/// log-in form: `scrub::forms` lists it).
pub(crate) fn form_encode(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'*')
        .remove(b' ');
    percent_encoding::utf8_percent_encode(s, KEEP)
        .to_string()
        .replace(' ', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PH: &str = "hellowatt-password-0123456789abcdef";

    fn login() -> LogIn {
        LogIn {
            method: "POST".into(),
            path: "/accounts/login/".into(),
            login: "me@example.org".into(),
            password: "S3cret pass&=+é!".into(),
        }
    }

    #[test]
    fn the_password_goes_into_the_password_field_only() {
        let l = login();
        let form = format!("login=me%40example.org&password={PH}&csrfmiddlewaretoken=t");
        let filled = l.fill(PH, BodyKind::Form, form.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(filled).unwrap(),
            "login=me%40example.org&password=S3cret+pass%26%3D%2B%C3%A9%21&csrfmiddlewaretoken=t"
        );
        let json = format!(r#"{{"email": "me@example.org", "password": "{PH}"}}"#);
        let filled: serde_json::Value =
            serde_json::from_slice(&l.fill(PH, BodyKind::Json, json.as_bytes()).unwrap()).unwrap();
        assert_eq!(filled["password"], "S3cret pass&=+é!");
        assert_eq!(filled["email"], "me@example.org");
        assert!(l.is_login_request("post", "/accounts/login/"));
        assert!(!l.is_login_request("POST", "/accounts/login"));
    }

    #[test]
    fn every_other_use_is_refused() {
        let l = login();
        let cases: Vec<(BodyKind, String, &str)> = vec![
            (
                BodyKind::Form,
                "login=me%40example.org&password=guess-1234".into(),
                "placeholder the host gave",
            ),
            (
                BodyKind::Form,
                format!("login=me%40example.org&password={PH}&note={PH}"),
                "\"note\"",
            ),
            (
                BodyKind::Form,
                format!("login=me%40example.org&password={PH}&x=a{PH}b"),
                "\"x\"",
            ),
            (
                BodyKind::Form,
                format!("login=author%40evil.example&password={PH}"),
                "another account",
            ),
            (BodyKind::Form, format!("password={PH}"), "names no account"),
            (
                BodyKind::Form,
                "login=me%40example.org".into(),
                "no password field",
            ),
            (
                BodyKind::Form,
                format!("login=me%40example.org&password={PH}&password={PH}"),
                "two password",
            ),
            (
                BodyKind::Json,
                format!(r#"{{"login": "me@example.org", "password": "{PH}", "bio": "{PH}"}}"#),
                "\"bio\"",
            ),
            (
                BodyKind::Json,
                format!(r#"{{"login": "me@example.org", "password": "{PH}", "x": ["{PH}"]}}"#),
                "\"x\"",
            ),
            (
                BodyKind::Json,
                format!(r#"{{"login": "me@example.org", "password": ["{PH}"]}}"#),
                "placeholder the host gave",
            ),
            (BodyKind::Json, format!(r#"["{PH}"]"#), "not a JSON object"),
            (BodyKind::Other, format!("password={PH}"), "form"),
        ];
        for (kind, body, says) in cases {
            let e = l.fill(PH, kind, body.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
            assert!(!e.contains("S3cret"), "{e}");
        }
    }

    #[test]
    fn body_kinds() {
        assert_eq!(
            BodyKind::of(Some("application/x-www-form-urlencoded; charset=UTF-8")),
            BodyKind::Form
        );
        assert_eq!(BodyKind::of(Some("Application/JSON")), BodyKind::Json);
        assert_eq!(
            BodyKind::of(Some("application/vnd.api+json")),
            BodyKind::Json
        );
        assert_eq!(BodyKind::of(Some("text/plain")), BodyKind::Other);
        assert_eq!(BodyKind::of(None), BodyKind::Other);
        assert!(!format!("{:?}", login()).contains("S3cret"));
    }
}
