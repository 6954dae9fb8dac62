//! The connection to the broker: rumqttc's event loop in a task, the last
//! will, reconnection with back-off, TLS, and a publish that waits for
//! every acknowledgement. It publishes what `payload` built and decides
//! nothing about topics or payloads.

use super::config::{MqttConfig, PAYLOAD_OFFLINE, PAYLOAD_ONLINE};
use super::payload::{Message, PublishReport, messages};
use crate::store::Store;
use anyhow::{Result, anyhow};
use hellowatt_snapshot::Date;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, Outgoing, QoS,
    TlsConfiguration, Transport,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const KEEP_ALIVE: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Largest packet either way: a discovery config is about 1 KiB.
const MAX_PACKET: usize = 256 * 1024;

/// What the event-loop task and the publisher share.
struct Shared {
    /// PUBACKs received since the start.
    acked: watch::Sender<u64>,
    connected: watch::Sender<bool>,
    last_error: std::sync::Mutex<Option<String>>,
    /// The last publish, sent again after a reconnection.
    retained: std::sync::Mutex<Vec<Message>>,
    /// One publish at a time.
    publishing: tokio::sync::Mutex<()>,
}

/// A connection to the broker; see the module docs. Dropping it without
/// [`MqttPublisher::shutdown`] closes the connection uncleanly, so the
/// broker publishes the last will (`offline`).
pub struct MqttPublisher {
    client: AsyncClient,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
    cfg: Arc<MqttConfig>,
}

impl MqttPublisher {
    /// Starts the connection in the background (it must run inside a Tokio
    /// runtime) and returns at once: a broker that is down is retried, not
    /// an error. Errors are configuration errors (a CA file that cannot be
    /// read, no system CA bundle for `mqtts://`).
    pub fn connect(cfg: &MqttConfig) -> Result<MqttPublisher> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow!("the MQTT publisher needs a Tokio runtime"))?;
        let mut options = MqttOptions::new(
            cfg.client_id.clone(),
            cfg.broker.host.clone(),
            cfg.broker.port,
        );
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_last_will(LastWill::new(
                cfg.status_topic(),
                PAYLOAD_OFFLINE,
                QoS::AtLeastOnce,
                true,
            ));
        if let Some(user) = &cfg.username {
            let password = cfg.password.as_ref().map_or("", |p| p.expose());
            options.set_credentials(user.clone(), password);
        }
        if cfg.broker.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(crate::tls::client_config(
                    cfg.ca_file.as_deref(),
                    "mqtt_ca_file",
                    "mqtts://",
                )?),
            )));
        }
        let (client, eventloop) = AsyncClient::new(options, 1024);
        let shared = Arc::new(Shared {
            acked: watch::Sender::new(0),
            connected: watch::Sender::new(false),
            last_error: std::sync::Mutex::new(None),
            retained: std::sync::Mutex::new(Vec::new()),
            publishing: tokio::sync::Mutex::new(()),
        });
        let task = handle.spawn(drive(
            eventloop,
            client.clone(),
            shared.clone(),
            cfg.broker.to_string(),
            cfg.status_topic(),
        ));
        Ok(MqttPublisher {
            client,
            shared,
            task: Some(task),
            cfg: Arc::new(cfg.clone()),
        })
    }

    /// Waits until the broker has accepted the connection.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.shared.connected.subscribe();
        let connected = matches!(
            tokio::time::timeout(timeout, rx.wait_for(|c| *c)).await,
            Ok(Ok(_))
        );
        if connected {
            Ok(())
        } else {
            Err(self.unreachable(&format!("no connection within {} s", timeout.as_secs_f32())))
        }
    }

    /// Reads the store now and returns the publish to await: the store is
    /// not held while waiting for the broker (release its lock before
    /// awaiting), and the future is `Send`. It resolves once the broker
    /// has acknowledged as many messages as were sent, or with an error
    /// after `ack_timeout` (the caller logs it; the messages stay queued
    /// and are sent again on reconnection).
    pub fn publish_snapshot(
        &self,
        store: &Store,
        today: Date,
    ) -> impl Future<Output = Result<PublishReport>> + Send + 'static {
        let built = messages(&self.cfg, store, today);
        let count =
            |m: &[Message], suffix: &str| m.iter().filter(|m| m.topic.ends_with(suffix)).count();
        let meters = built.as_ref().map_or(0, |m| count(m, "/state"));
        let sensors = built.as_ref().map_or(0, |m| count(m, "/config"));
        let sent = |topic: String| {
            built
                .as_ref()
                .is_ok_and(|m| m.iter().any(|m| m.topic == topic))
        };
        let tempo = sent(self.cfg.tempo_state_topic());
        let ecowatt = sent(self.cfg.ecowatt_state_topic());
        let client = self.client.clone();
        let shared = self.shared.clone();
        let cfg = self.cfg.clone();
        async move {
            let messages = built?;
            let total = messages.len();
            publish(&client, &shared, &cfg, messages).await?;
            Ok(PublishReport {
                meters,
                sensors,
                tempo,
                ecowatt,
                messages: total,
            })
        }
    }

    /// Publishes `offline`, disconnects cleanly and stops the task.
    pub async fn shutdown(mut self) {
        let status = self.cfg.status_topic();
        let offline = self
            .client
            .publish(status, QoS::AtLeastOnce, true, PAYLOAD_OFFLINE);
        let _ = tokio::time::timeout(Duration::from_secs(2), offline).await;
        let base = *self.shared.acked.borrow();
        let mut acked = self.shared.acked.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), acked.wait_for(|n| *n > base)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.disconnect()).await;
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn unreachable(&self, what: &str) -> anyhow::Error {
        unreachable_error(&self.shared, &self.cfg, what)
    }
}

impl Drop for MqttPublisher {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn unreachable_error(shared: &Shared, cfg: &MqttConfig, what: &str) -> anyhow::Error {
    let last = shared
        .last_error
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    match last {
        Some(e) => anyhow!("MQTT broker {}: {what} (last error: {e})", cfg.broker),
        None => anyhow!("MQTT broker {}: {what}", cfg.broker),
    }
}

async fn publish(
    client: &AsyncClient,
    shared: &Shared,
    cfg: &MqttConfig,
    messages: Vec<Message>,
) -> Result<()> {
    let _one_at_a_time = shared.publishing.lock().await;
    let deadline = tokio::time::Instant::now() + cfg.ack_timeout;
    if let Ok(mut r) = shared.retained.lock() {
        r.clone_from(&messages);
    }
    let mut acked = shared.acked.subscribe();
    let target = *acked.borrow() + messages.len() as u64;
    let n = messages.len();
    for (i, m) in messages.into_iter().enumerate() {
        let send = client.publish(m.topic, QoS::AtLeastOnce, true, m.payload);
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(unreachable_error(shared, cfg, &format!("publish: {e}"))),
            Err(_) => {
                return Err(unreachable_error(
                    shared,
                    cfg,
                    &format!(
                        "{} of {n} messages not even queued within {} s",
                        n - i,
                        cfg.ack_timeout.as_secs()
                    ),
                ));
            }
        }
    }
    let done = matches!(
        tokio::time::timeout_at(deadline, acked.wait_for(|a| *a >= target)).await,
        Ok(Ok(_))
    );
    if done {
        return Ok(());
    }
    let missing = target.saturating_sub(*acked.borrow()).min(n as u64);
    Err(unreachable_error(
        shared,
        cfg,
        &format!(
            "{missing} of {n} messages not acknowledged within {} s; they are sent \
             again when the connection is back",
            cfg.ack_timeout.as_secs()
        ),
    ))
}

/// The event loop: polls the connection, counts acknowledgements,
/// announces `online` (and re-sends the last publish) on every connection,
/// and backs off while the broker is unreachable.
async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    shared: Arc<Shared>,
    broker: String,
    status: String,
) {
    let mut backoff = Duration::from_secs(1);
    let mut connections = 0u64;
    let mut failing = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                connections += 1;
                backoff = Duration::from_secs(1);
                if failing {
                    tracing::info!(%broker, "MQTT connection is back");
                } else {
                    tracing::info!(%broker, "MQTT connected");
                }
                failing = false;
                shared.connected.send_replace(true);
                let mut resend = vec![Message {
                    topic: status.clone(),
                    payload: PAYLOAD_ONLINE.into(),
                }];
                if connections > 1
                    && let Ok(r) = shared.retained.lock()
                {
                    resend.extend(r.iter().cloned());
                }
                let client = client.clone();
                tokio::spawn(async move {
                    for m in resend {
                        if client
                            .publish(m.topic, QoS::AtLeastOnce, true, m.payload)
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            Ok(Event::Incoming(Incoming::PubAck(_))) => {
                shared.acked.send_modify(|n| *n += 1);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                shared.connected.send_replace(false);
                tracing::info!(%broker, "MQTT disconnected");
                return;
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => return,
            Err(e) => {
                shared.connected.send_replace(false);
                let text = describe(&e);
                if !failing {
                    tracing::warn!(
                        %broker,
                        "MQTT connection failed: {text}; retrying in the background"
                    );
                } else {
                    tracing::debug!(%broker, "MQTT connection failed again: {text}");
                }
                if let Ok(mut last) = shared.last_error.lock() {
                    *last = Some(text);
                }
                failing = true;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A connection error in words (it never holds the password).
fn describe(e: &ConnectionError) -> String {
    use rumqttc::ConnectReturnCode as Code;
    match e {
        ConnectionError::ConnectionRefused(Code::BadUserNamePassword | Code::NotAuthorized) => {
            "the broker refused the user name or password, or does not allow this user \
             (mqtt_username, mqtt_password)"
                .into()
        }
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?})")
        }
        // The handshake failed before any MQTT packet: the user name and
        // password were not sent.
        ConnectionError::Tls(e) if e.to_string().contains("certificate") => format!(
            "the broker's TLS certificate is not trusted ({e}): it is not the broker mqtt_url \
             names, or its certificate is not signed by mqtt_ca_file (or the system's \
             authorities); nothing was sent to it"
        ),
        other => other.to_string(),
    }
}
