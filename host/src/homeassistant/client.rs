//! A client of Home Assistant's WebSocket API (`/api/websocket`): the
//! authentication phase, then commands answered by `result` messages
//! matched by id. It speaks the protocol and decides nothing about
//! statistics.
//!
//! The token is sent once, in the `auth` message, and is in no error, log
//! line or `Debug` output: [`HaError`] texts are the host's own, and Home
//! Assistant's own answers to a refused token never repeat it.

use super::HaConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long a connection and its authentication may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why talking to Home Assistant failed, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    #[error(
        "Home Assistant at {url} cannot be reached ({detail}): check that it runs and that \
         ha_url is its address"
    )]
    Unreachable { url: String, detail: String },
    #[error(
        "Home Assistant at {url} refused the token: create a long-lived access token (your \
         Home Assistant profile, Security tab) and put it in ha_token_file"
    )]
    TokenRefused { url: String },
    #[error(
        "Home Assistant refused {command}: {message} (the token's user must be an \
         administrator to import statistics)"
    )]
    Refused { command: String, message: String },
    #[error("Home Assistant did not answer {what} within {seconds} s")]
    Timeout { what: String, seconds: u64 },
    #[error("Home Assistant's answer to {what} is not what its WebSocket API gives: {detail}")]
    Protocol { what: String, detail: String },
}

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// An authenticated connection.
pub struct HaClient {
    ws: WebSocketStream<Box<dyn Duplex>>,
    next_id: u64,
    timeout: Duration,
    /// Home Assistant's version, as its `auth_ok` says.
    pub version: String,
}

impl HaClient {
    /// Connects to `config.url` and authenticates with its token.
    pub async fn connect(config: &HaConfig) -> Result<HaClient, HaError> {
        let url = config.display_url();
        let unreachable = |detail: String| HaError::Unreachable {
            url: url.clone(),
            detail,
        };
        let connect = async {
            let host = config.url.host_str().unwrap_or_default().to_owned();
            let port = config.url.port_or_known_default().unwrap_or(8123);
            let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            let stream: Box<dyn Duplex> = if config.url.scheme() == "wss" {
                let tls =
                    crate::tls::client_config(config.ca_file.as_deref(), "ha_ca_file", "https://")
                        .map_err(|e| unreachable(format!("{e:#}")))?;
                let name = rumqttc::tokio_rustls::rustls::pki_types::ServerName::try_from(host)
                    .map_err(|e| unreachable(format!("not a TLS server name: {e}")))?;
                let connector = rumqttc::tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls));
                Box::new(
                    connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| unreachable(format!("TLS: {e}")))?,
                )
            } else {
                Box::new(tcp)
            };
            let (ws, _) = tokio_tungstenite::client_async(config.url.as_str(), stream)
                .await
                .map_err(|e| unreachable(format!("WebSocket: {e}")))?;
            let mut client = HaClient {
                ws,
                next_id: 1,
                timeout: config.timeout,
                version: String::new(),
            };
            client.authenticate(config).await?;
            Ok(client)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| HaError::Timeout {
                what: format!("the connection to {url}"),
                seconds: CONNECT_TIMEOUT.as_secs(),
            })?
    }

    async fn authenticate(&mut self, config: &HaConfig) -> Result<(), HaError> {
        let first = self.receive("the connection").await?;
        if first["type"] != "auth_required" {
            return Err(protocol("the connection", "no auth_required"));
        }
        let auth = json!({"type": "auth", "access_token": config.token.expose()});
        self.send(&auth, "the authentication").await?;
        let answer = self.receive("the authentication").await?;
        match answer["type"].as_str() {
            Some("auth_ok") => {
                self.version = answer["ha_version"].as_str().unwrap_or("").to_owned();
                Ok(())
            }
            Some("auth_invalid") => Err(HaError::TokenRefused {
                url: config.display_url(),
            }),
            _ => Err(protocol(
                "the authentication",
                "neither auth_ok nor auth_invalid",
            )),
        }
    }

    /// Sends `command` (an object with its `type`) and returns its result.
    pub async fn call(&mut self, mut command: Value) -> Result<Value, HaError> {
        let what = command["type"].as_str().unwrap_or("a command").to_owned();
        let id = self.next_id;
        self.next_id += 1;
        command["id"] = json!(id);
        self.send(&command, &what).await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let answer = tokio::time::timeout_at(deadline, self.receive(&what))
                .await
                .map_err(|_| HaError::Timeout {
                    what: what.clone(),
                    seconds: self.timeout.as_secs(),
                })??;
            // Events of subscriptions and pongs carry other ids.
            if answer["id"] != json!(id) || answer["type"] != "result" {
                continue;
            }
            if answer["success"] == json!(true) {
                return Ok(answer["result"].clone());
            }
            let error = &answer["error"];
            return Err(HaError::Refused {
                command: what,
                message: format!(
                    "{} ({})",
                    error["message"].as_str().unwrap_or("no message"),
                    error["code"].as_str().unwrap_or("no code")
                ),
            });
        }
    }

    async fn send(&mut self, message: &Value, what: &str) -> Result<(), HaError> {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .map_err(|e| protocol(what, &format!("sending: {e}")))
    }

    /// The next JSON message; Home Assistant may coalesce several answers
    /// into one JSON array (`coalesce_messages`), which it only does when
    /// the client asks for it: this client does not.
    async fn receive(&mut self, what: &str) -> Result<Value, HaError> {
        loop {
            let message = self
                .ws
                .next()
                .await
                .ok_or_else(|| protocol(what, "the connection closed"))?
                .map_err(|e| protocol(what, &format!("receiving: {e}")))?;
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .map_err(|e| protocol(what, &format!("not JSON: {e}")));
                }
                Message::Close(_) => return Err(protocol(what, "the connection closed")),
                _ => continue,
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

fn protocol(what: &str, detail: &str) -> HaError {
    HaError::Protocol {
        what: what.to_owned(),
        detail: detail.to_owned(),
    }
}
