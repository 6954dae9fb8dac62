//! RTE's OAuth2 client credentials, held by the host: the bearer token the
//! EcoWatt guest's requests carry without the guest ever seeing it.
//!
//! # What it owns
//! - Asking RTE's token endpoint (`POST /token/oauth/` on the configured
//!   EcoWatt origin, `Authorization: Basic base64(id:secret)`, the form
//!   `grant_type=client_credentials`, as the public clients do) and
//!   reading its answer (`access_token`, `expires_in`; a number or a
//!   string).
//! - Keeping the token in memory until [`RENEW_BEFORE`] ahead of its
//!   expiry, so that a run every hour asks for a token every other hour
//!   (RTE's tokens live 7 200 s), and forgetting it when RTE refuses it.
//! - Telling a refusal of the credentials (400/401/403: check the keys,
//!   never retry blindly) from a service that is down.
//!
//! # What it must never do
//! Hand the client id, the secret or the token to a guest (the policy's
//! browser adds the token; see `PolicyHooks::with_bearer`), write any of
//! them to a log, an error or the store, or follow a redirect. An error
//! names RTE's error code when it is a plain word, never RTE's text.

use crate::config::{EcowattConfig, Secret};
use crate::sandbox::policy::fetch_whole;
use base64::Engine as _;
use std::sync::Mutex;
use std::time::Duration;
use wasmtime_wasi_http::RequestOptions;

/// RTE's token endpoint, on the EcoWatt origin.
pub const TOKEN_PATH: &str = "/token/oauth/";

/// A token is renewed this long before RTE says it expires.
pub const RENEW_BEFORE: i64 = 120;

/// A token whose answer gives no lifetime is kept this long.
const DEFAULT_LIFETIME: i64 = 600;

/// A token answer is a few hundred bytes.
const MAX_ANSWER: u64 = 64 * 1024;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// RTE refused the client credentials: the configuration must change.
    #[error("{0}")]
    Refused(String),
    /// The token endpoint could not be reached or answered oddly: try
    /// again later.
    #[error("{0}")]
    Unavailable(String),
}

impl TokenError {
    /// The run outcome's kind, in the contract's words.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Refused(_) => "credentials-rejected",
            TokenError::Unavailable(_) => "site-unavailable",
        }
    }
}

struct Held {
    token: Secret,
    /// Unix seconds from which a new token is asked.
    renew_at: i64,
}

/// The host's RTE application: its credentials and the token in hand.
pub struct TokenBroker {
    origin: crate::sandbox::policy::Origin,
    client_id: Secret,
    client_secret: Secret,
    held: Mutex<Option<Held>>,
    asked: std::sync::atomic::AtomicU32,
}

impl TokenBroker {
    pub fn new(config: &EcowattConfig) -> TokenBroker {
        TokenBroker {
            origin: config.origin.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            held: Mutex::new(None),
            asked: Default::default(),
        }
    }

    /// How many tokens were asked of RTE so far (this process).
    pub fn tokens_asked(&self) -> u32 {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The token in hand while it is fresh at `now` (Unix seconds), else
    /// a new one from RTE.
    pub async fn token(&self, now: i64) -> Result<Secret, TokenError> {
        if let Some(held) = &*self.lock()
            && now < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let (token, lifetime) = self.ask().await?;
        let renew_at = now + (lifetime - RENEW_BEFORE).max(lifetime / 2);
        *self.lock() = Some(Held {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// Drops the token in hand (RTE refused it: the next run asks anew).
    pub fn forget(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn ask(&self) -> Result<(Secret, i64), TokenError> {
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = format!("{}{TOKEN_PATH}", self.origin.url());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id.expose(),
            self.client_secret.expose()
        ));
        let unavailable = |why: String| {
            TokenError::Unavailable(format!(
                "RTE's token endpoint ({url}) {why}; hellowatt asks again later"
            ))
        };
        let host = match self.origin.url().split_once("://") {
            Some((_, host)) => host.to_string(),
            None => self.origin.host.clone(),
        };
        let request = http::Request::post(&url)
            .header(http::header::HOST, host)
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(b"grant_type=client_credentials".to_vec())
            .map_err(|_| unavailable("cannot be asked: the URL is not valid".into()))?;
        let options = RequestOptions {
            connect_timeout: Some(TIMEOUT),
            first_byte_timeout: Some(TIMEOUT),
            between_bytes_timeout: Some(TIMEOUT),
        };
        let (head, body) = fetch_whole(request, options, TIMEOUT, MAX_ANSWER)
            .await
            .map_err(|e| unavailable(format!("could not be reached ({e})")))?;
        let status = head.status.as_u16();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if matches!(status, 400 | 401 | 403) {
            // RTE's code (`invalid_client`) helps; its text could echo
            // what was sent, so it is never shown.
            let code = answer
                .get("error")
                .and_then(|e| e.as_str())
                .filter(|c| {
                    c.len() <= 40 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                })
                .map(|c| format!(", {c}"))
                .unwrap_or_default();
            return Err(TokenError::Refused(format!(
                "RTE refused the client credentials (HTTP {status}{code}): check rte_client_id \
                 and rte_client_secret (or rte_client_secret_file), and that the application \
                 on RTE's data portal has the EcoWatt v5 API"
            )));
        }
        if !(200..300).contains(&status) {
            return Err(unavailable(format!("answered HTTP {status}")));
        }
        let token = answer
            .get("access_token")
            .and_then(|t| t.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 4096 && !t.chars().any(char::is_control))
            .ok_or_else(|| unavailable("answered without an access_token".into()))?;
        let lifetime = match answer.get("expires_in") {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIFETIME);
        Ok((Secret::new(token), lifetime))
    }
}
