//! MQTT output: after each sync, one retained JSON state per meter and Home
//! Assistant discovery configs, so that every meter appears in Home
//! Assistant as a device whose sensors can feed the Energy dashboard.
//!
//! It owns the MQTT keys of the configuration ([`MqttKeys`] →
//! [`MqttConfig`]) and the topic layout (`config.rs`), the sensor catalogue
//! and the payloads (`payload.rs`), and the connection to the broker
//! (`client.rs`: rumqttc, its event loop in a task, reconnecting with
//! back-off).
//! It reads the store and never writes it; it never receives a helloWatt
//! credential, and the broker password lives in a [`Secret`] that nothing
//! here logs or formats. It is off when `mqtt_url` is not set.
//!
//! # Topics (all retained, QoS 1)
//! - `<prefix>/status`: `online` once connected, `offline` as the last will
//!   (the broker publishes it when the connection dies) and on a clean
//!   [`MqttPublisher::shutdown`]. Every sensor uses it as its availability.
//! - `<prefix>/<meter>/state`: one JSON object per meter with every key of
//!   [`STATE_KEYS`], `null` for a value the store does not have.
//! - `<discovery_prefix>/sensor/hellowatt_<meter>/<key>/config`: one Home
//!   Assistant discovery config per sensor, reading `<key>` from the state.
//! - `<prefix>/tempo/outlook`: the household's Tempo outlook, one JSON
//!   object with every key of [`TEMPO_STATE_KEYS`], once the store has any
//!   Tempo day; its sensors' configs are
//!   `<discovery_prefix>/sensor/hellowatt-tempo/<key>/config` (a hyphen,
//!   where meters have an underscore, so that no meter id can collide).
//! - `<prefix>/ecowatt/signal`: RTE's EcoWatt signal, one JSON object with
//!   every key of [`ECOWATT_STATE_KEYS`], once the store has an EcoWatt day
//!   from yesterday on (nothing for a household without RTE credentials);
//!   its sensors' configs are
//!   `<discovery_prefix>/sensor/hellowatt-ecowatt/<key>/config`.
//!
//! `<meter>` is the PDL or PCE (anything outside `[A-Za-z0-9_-]` becomes
//! `_`). The full meter id appears in topics, `unique_id`s and device
//! identifiers only; names show it masked (`0951…59`).
//!
//! # Home Assistant choices
//! - **The Energy dashboard needs cumulative counters.** helloWatt gives
//!   one value per past day, a day or two late. A "yesterday" sensor with
//!   `state_class: total` and a `last_reset` would lose a day whenever two
//!   days arrive in one sync. So each meter has `energy_total`, the sum of
//!   every stored daily kWh (`device_class: energy`, `state_class:
//!   total_increasing`, kWh): HA's statistics take the difference between
//!   two states, so days that arrive late or together are all counted. HA
//!   records the increase in the hour the sync published it, not on the day
//!   it was used: MQTT has no way to import past statistics. Stored history
//!   that grows backwards later (a larger backfill) shows up as one jump;
//!   HA's statistics editor can fix that hour. For history at the hours it
//!   happened, set `ha_url` (`homeassistant/`): long-term statistics
//!   imported over HA's WebSocket API, for the Energy dashboard instead of
//!   these sensors (not beside them: the dashboard would count twice).
//! - **Gas in kWh is `device_class: energy`.** HA's `gas` class accepts
//!   volumes only (m³, ft³, CCF, L); its Energy dashboard accepts an energy
//!   sensor in kWh as a gas source.
//! - **Costs are `device_class: monetary`, unit `EUR`.** HA allows only
//!   `state_class: total` for monetary, so `cost_total` (the sum of every
//!   stored daily consumption cost, subscription excluded) is `total`
//!   without `last_reset`: a counter that never resets, usable as the
//!   Energy dashboard's "entity tracking the total costs". The subscription
//!   and the cost with it (what the Home Assistant integrations call the
//!   cost) are sensors of their own: `subscription_*` and
//!   `cost_with_subscription_*`, `_total` ones `total` too.
//! - **Solar**: `production_total` and `injection_total` (energy,
//!   `total_increasing`; injection is the dashboard's "return to grid") and
//!   `injection_earnings_total` (monetary, `total`), on electricity meters
//!   that have any stored solar value.
//! - **Yesterday, this month, this year** (kWh and EUR, production and
//!   injection) are informative: `device_class` energy or monetary and *no*
//!   `state_class`. HA rejects `measurement` for these classes, and a
//!   `total` would offer them to the Energy dashboard, where they would
//!   double count. Without a state class they keep no long-term statistics.
//!   The month's and year's tariff periods (`Tempo-<colour>-HP|HC`, `HP`,
//!   `HC`, `Base`) are the attributes of those sensors (state keys
//!   `periods_{month,year}_{kwh,eur}`, objects by period): one sensor per
//!   period and scope would be dozens of entities per meter.
//! - **Tempo** yesterday, today and tomorrow are `device_class: enum` with
//!   `options: [blue, white, red]` (electricity meters with Tempo data).
//!   Yesterday's colour is the Tempo service's when known, else the one the
//!   meter's tariff keys show; today and tomorrow are the store's outlook
//!   (`Store::tempo_outlook`: the service's colour, else the tariff keys'
//!   when the meters agree), the same on every meter.
//! - **The Tempo device** ("helloWatt Tempo") holds what belongs to the
//!   household rather than a meter: today and tomorrow (enum), and the
//!   season's used and remaining days per colour (`state_class:
//!   measurement`, unit `jours`, no device class: HA's `duration` would
//!   convert them to hours) and the number of days where the Tempo service
//!   and a meter's tariff keys disagree. Tomorrow is `null` (HA: unknown)
//!   until it is announced.
//! - **The EcoWatt device** ("helloWatt EcoWatt"): today's and tomorrow's
//!   level (`device_class: enum`, `options: [green, orange, red]`) and the
//!   level of the stored hour holding the publish's instant (`options:
//!   [green_low_carbon, green, orange, red]`), stable keys like Tempo's
//!   colours, `null` when not published. Their attributes: each day's date,
//!   `hours` (its 23, 24 or 25 hours' levels in order, `null` for an hour
//!   not stored) and `generated_at`; the hour's `start` and `end`. The
//!   current hour is as of the last publish (after each sync and when the
//!   day turns): automations that need it to the hour read `hours`.
//! - **Missing is not zero.** A missing value is JSON `null` and every
//!   template is plain `{{ value_json.<key> }}`: Jinja renders `None` as
//!   the text `None`, which HA's MQTT sensor turns into the `unknown`
//!   state (its `PAYLOAD_NONE`) before any number, date or option parsing.
//!   No `| float(0)`-style default anywhere. Every key is always present,
//!   so no template meets an undefined variable.
//! - `last_sync` (`device_class: timestamp`, ISO 8601 with the Paris
//!   offset) and `last_day` (`device_class: date`) are diagnostics.
//! - Entity names are French and short: HA shows them after the device
//!   name ("helloWatt électricité 0951…59 Consommation (cumul)").
//!
//! # Failures
//! A broker that is down or refuses us never fails a sync: the publisher
//! reconnects in the background (1 s doubling to 60 s, logging a warning
//! when the connection is lost and when it is back), re-sends `online` and
//! the last published messages on every reconnection (the broker may have
//! lost its retained messages), and [`MqttPublisher::publish_snapshot`]
//! returns an error after `ack_timeout` for the caller to log as a warning.

mod client;
mod config;
mod payload;

pub use client::MqttPublisher;
pub use config::{
    Broker, DEFAULT_ACK_TIMEOUT, DEFAULT_CLIENT_ID, DEFAULT_DISCOVERY_PREFIX, DEFAULT_PREFIX, KEYS,
    MqttConfig, MqttKeys, masked, topic_id,
};
pub use payload::{
    ECOWATT_STATE_KEYS, Message, PublishReport, STATE_KEYS, TEMPO_STATE_KEYS, messages, messages_at,
};
