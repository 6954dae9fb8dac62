//! The guest registry's tables (`guests`, `guest_history`, migrations 3
//! and 4): per slot (the helloWatt scraper's, the Tempo service's), which
//! guest component serves, which one is the last-known-good, which ones
//! were refused and why, and the history of every verdict.
//!
//! The store keeps the registry's decisions and enforces their shape (one
//! active guest, one previous, a refusal has a reason); it never judges a
//! guest nor reads a component's bytes: the registry (`crate::registry`)
//! does. Like `sync_runs`, this is bookkeeping and stays out of the content
//! digest.

use super::{Store, truncate};
use anyhow::{Context, Result, bail};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

/// Longest refusal reason kept, in characters (the log has the full report).
const MAX_REASON: usize = 8000;

/// Where a guest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestState {
    /// Serves the runs.
    Active,
    /// The last-known-good: what a roll-back restores.
    Previous,
    /// Failed the validation gate.
    Refused,
    /// Served once, pushed out by later activations.
    Retired,
}

impl GuestState {
    pub fn as_str(self) -> &'static str {
        match self {
            GuestState::Active => "active",
            GuestState::Previous => "previous",
            GuestState::Refused => "refused",
            GuestState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> Option<GuestState> {
        Some(match s {
            "active" => GuestState::Active,
            "previous" => GuestState::Previous,
            "refused" => GuestState::Refused,
            "retired" => GuestState::Retired,
            _ => return None,
        })
    }

    /// True for a guest that passed the gate once (active, previous, retired).
    pub fn was_accepted(self) -> bool {
        !matches!(self, GuestState::Refused)
    }
}

impl std::fmt::Display for GuestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component the registry is recording a verdict on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGuest {
    pub sha256: String,
    /// What `describe` said; `None` when it was refused before.
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract: Option<String>,
    pub size: u64,
    /// Where it came from: a file path, or `bundled`.
    pub source: String,
}

/// A row of `guests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestRecord {
    pub sha256: String,
    /// The slot it was judged for (`hellowatt`, `tempo`).
    pub slot: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract: Option<String>,
    pub size: u64,
    pub source: String,
    pub state: GuestState,
    /// Why it was refused (or could not be restored).
    pub reason: Option<String>,
    /// Fingerprint of what a refusal judged.
    pub inputs: Option<String>,
    pub first_seen: i64,
    pub updated_at: i64,
}

/// A row of `guest_history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestEvent {
    pub id: i64,
    pub at: i64,
    pub sha256: String,
    /// The slot of the guest it is about.
    pub slot: String,
    /// `bundled`, `activated`, `refused`, `rolled-back` or `fallback`.
    pub event: String,
    pub detail: Option<String>,
}

const GUEST_COLUMNS: &str = "sha256, name, version, contract, size, source, state, reason, inputs, \
     first_seen, updated_at, slot";

fn guest_from_row(row: &Row<'_>) -> rusqlite::Result<GuestRecord> {
    let state: String = row.get(6)?;
    let size: i64 = row.get(4)?;
    Ok(GuestRecord {
        sha256: row.get(0)?,
        name: row.get(1)?,
        version: row.get(2)?,
        contract: row.get(3)?,
        size: u64::try_from(size).unwrap_or(0),
        source: row.get(5)?,
        state: GuestState::parse(&state)
            .ok_or_else(|| super::unknown_word(6, "guest state", &state))?,
        reason: row.get(7)?,
        inputs: row.get(8)?,
        first_seen: row.get(9)?,
        updated_at: row.get(10)?,
        slot: row.get(11)?,
    })
}

fn check_sha(sha256: &str) -> Result<()> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{sha256:?} is not a SHA-256 in hex");
    }
    Ok(())
}

/// Inserts the guest in `state` or moves it there, refreshing what
/// `describe` said about it; `reason` and `inputs` are the refusal's (none
/// for another state).
fn upsert(
    tx: &rusqlite::Transaction<'_>,
    slot: &str,
    g: &NewGuest,
    state: GuestState,
    refusal: Option<(&str, Option<&str>)>,
    now: i64,
) -> Result<()> {
    let (reason, inputs) = match refusal {
        Some((reason, inputs)) => (Some(reason), inputs),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO guests (sha256, name, version, contract, size, source, state, reason, inputs, \
           first_seen, updated_at, slot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11) \
         ON CONFLICT (sha256) DO UPDATE SET \
           name = coalesce(excluded.name, name), version = coalesce(excluded.version, version), \
           contract = coalesce(excluded.contract, contract), size = excluded.size, \
           source = excluded.source, state = excluded.state, reason = excluded.reason, \
           inputs = excluded.inputs, updated_at = excluded.updated_at, slot = excluded.slot",
        params![
            g.sha256,
            g.name,
            g.version,
            g.contract,
            i64::try_from(g.size).unwrap_or(i64::MAX),
            g.source,
            state.as_str(),
            reason,
            inputs,
            now,
            slot
        ],
    )
    .with_context(|| format!("recording the guest {}", g.sha256))?;
    Ok(())
}

fn event(
    tx: &rusqlite::Transaction<'_>,
    sha256: &str,
    event: &str,
    detail: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO guest_history (at, sha256, event, detail) VALUES (?1, ?2, ?3, ?4)",
        params![now, sha256, event, detail.map(|d| truncate(d, MAX_REASON))],
    )
    .with_context(|| format!("recording the {event} event of the guest {sha256}"))?;
    Ok(())
}

/// The SHA-256 of the guest of `slot` in a state that has at most one
/// (active, previous).
fn sha_in(tx: &rusqlite::Transaction<'_>, slot: &str, state: GuestState) -> Result<Option<String>> {
    tx.query_row(
        "SELECT sha256 FROM guests WHERE slot = ?1 AND state = ?2",
        params![slot, state.as_str()],
        |r| r.get(0),
    )
    .optional()
    .with_context(|| format!("reading the {state} {slot} guest"))
}

impl Store {
    /// Every guest the registry has judged: active first, then previous,
    /// refused, retired; newest first within each.
    pub fn guests(&self) -> Result<Vec<GuestRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {GUEST_COLUMNS} FROM guests ORDER BY \
                 CASE state WHEN 'active' THEN 0 WHEN 'previous' THEN 1 WHEN 'refused' THEN 2 ELSE 3 END, \
                 updated_at DESC, sha256"
            ))
            .context("preparing the guest list")?;
        stmt.query_map([], guest_from_row)
            .context("listing the guests")?
            .collect::<rusqlite::Result<_>>()
            .context("reading the guests")
    }

    /// One guest by the SHA-256 of its component.
    pub fn guest(&self, sha256: &str) -> Result<Option<GuestRecord>> {
        self.conn
            .query_row(
                &format!("SELECT {GUEST_COLUMNS} FROM guests WHERE sha256 = ?1"),
                [sha256],
                guest_from_row,
            )
            .optional()
            .with_context(|| format!("reading the guest {sha256}"))
    }

    /// The guest of `slot` in a state that has at most one (active,
    /// previous).
    pub fn guest_in(&self, slot: &str, state: GuestState) -> Result<Option<GuestRecord>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {GUEST_COLUMNS} FROM guests WHERE slot = ?1 AND state = ?2 \
                     ORDER BY updated_at DESC LIMIT 1"
                ),
                params![slot, state.as_str()],
                guest_from_row,
            )
            .optional()
            .with_context(|| format!("reading the {state} {slot} guest"))
    }

    /// Makes `g` the active guest in one transaction: the active one becomes
    /// the previous (last-known-good), the previous one is retired. Making
    /// the active guest active again only records the event.
    pub fn activate_guest(
        &mut self,
        slot: &str,
        g: &NewGuest,
        what: &str,
        detail: Option<&str>,
        now: i64,
    ) -> Result<()> {
        check_sha(&g.sha256)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting to activate a guest")?;
        let active = sha_in(&tx, slot, GuestState::Active)?;
        if active.as_deref() != Some(g.sha256.as_str()) {
            // The order keeps the one-active and one-previous indexes true
            // after every statement.
            tx.execute(
                "UPDATE guests SET state = 'retired', updated_at = ?2 \
                 WHERE slot = ?3 AND state = 'previous' AND sha256 <> ?1",
                params![g.sha256, now, slot],
            )
            .context("retiring the previous guest")?;
            // The newcomer may be the previous one (installed again).
            tx.execute(
                "UPDATE guests SET state = 'retired', updated_at = ?2 \
                 WHERE state = 'previous' AND sha256 = ?1",
                params![g.sha256, now],
            )
            .context("moving the previous guest aside")?;
            tx.execute(
                "UPDATE guests SET state = 'previous', updated_at = ?1 \
                 WHERE slot = ?2 AND state = 'active'",
                params![now, slot],
            )
            .context("keeping the active guest as the previous one")?;
        }
        upsert(&tx, slot, g, GuestState::Active, None, now)?;
        event(&tx, &g.sha256, what, detail, now)?;
        tx.commit().context("committing the guest activation")
    }

    /// Records a refusal: the guest is `refused` with its reason, unless it
    /// is the active or the previous guest, which keep their state (a
    /// re-check that failed does not unseat the guest that serves; the event
    /// is in the history).
    pub fn refuse_guest(
        &mut self,
        slot: &str,
        g: &NewGuest,
        reason: &str,
        inputs: Option<&str>,
        now: i64,
    ) -> Result<()> {
        check_sha(&g.sha256)?;
        let reason = truncate(reason, MAX_REASON);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting to record a refusal")?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM guests WHERE sha256 = ?1",
                [&g.sha256],
                |r| r.get(0),
            )
            .optional()
            .context("reading the guest's state")?;
        if !matches!(state.as_deref(), Some("active" | "previous")) {
            upsert(
                &tx,
                slot,
                g,
                GuestState::Refused,
                Some((reason, inputs)),
                now,
            )?;
        }
        event(&tx, &g.sha256, "refused", Some(reason), now)?;
        tx.commit().context("committing the refusal")
    }

    /// Swaps the active and the previous guest (a roll-back; a second one
    /// rolls forward again). Returns the SHA-256 of the guest now active.
    pub fn rollback_guest(&mut self, slot: &str, now: i64) -> Result<String> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting the roll-back")?;
        let previous = sha_in(&tx, slot, GuestState::Previous)?;
        let Some(previous) = previous else {
            bail!("there is no previous {slot} guest to roll back to");
        };
        let active = sha_in(&tx, slot, GuestState::Active)?;
        // Through `retired` for a moment: the indexes allow one of each.
        tx.execute(
            "UPDATE guests SET state = 'retired', updated_at = ?2 WHERE sha256 = ?1",
            params![previous, now],
        )
        .context("rolling back (1/3)")?;
        tx.execute(
            "UPDATE guests SET state = 'previous', updated_at = ?1 \
             WHERE slot = ?2 AND state = 'active'",
            params![now, slot],
        )
        .context("rolling back (2/3)")?;
        tx.execute(
            "UPDATE guests SET state = 'active', updated_at = ?2 WHERE sha256 = ?1",
            params![previous, now],
        )
        .context("rolling back (3/3)")?;
        let detail = active.map(|a| format!("replaces {a}"));
        event(&tx, &previous, "rolled-back", detail.as_deref(), now)?;
        tx.commit().context("committing the roll-back")?;
        Ok(previous)
    }

    /// The history, newest first.
    pub fn guest_history(&self, limit: usize) -> Result<Vec<GuestEvent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT h.id, h.at, h.sha256, h.event, h.detail, g.slot \
                 FROM guest_history h JOIN guests g ON g.sha256 = h.sha256 \
                 ORDER BY h.id DESC LIMIT ?1",
            )
            .context("preparing the guest history")?;
        stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(GuestEvent {
                id: r.get(0)?,
                at: r.get(1)?,
                sha256: r.get(2)?,
                event: r.get(3)?,
                detail: r.get(4)?,
                slot: r.get(5)?,
            })
        })
        .context("reading the guest history")?
        .collect::<rusqlite::Result<_>>()
        .context("reading the guest history")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: u8, name: &str) -> NewGuest {
        NewGuest {
            sha256: format!("{n:02x}").repeat(32),
            name: Some(name.into()),
            version: Some("1.0.0".into()),
            contract: Some("1.0.0".into()),
            size: 10,
            source: format!("/guests/{name}.wasm"),
        }
    }

    fn states(store: &Store) -> Vec<(String, GuestState)> {
        store
            .guests()
            .unwrap()
            .into_iter()
            .map(|r| (r.name.unwrap_or_default(), r.state))
            .collect()
    }

    #[test]
    fn activations_keep_one_active_and_one_previous() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.guest_in("w", GuestState::Active).unwrap(), None);
        store
            .activate_guest("w", &g(1, "a"), "bundled", None, 1)
            .unwrap();
        store
            .activate_guest("w", &g(2, "b"), "activated", None, 2)
            .unwrap();
        store
            .activate_guest("w", &g(3, "c"), "activated", None, 3)
            .unwrap();
        assert_eq!(
            states(&store),
            [
                ("c".into(), GuestState::Active),
                ("b".into(), GuestState::Previous),
                ("a".into(), GuestState::Retired)
            ]
        );
        // Activating the active one again changes nothing but the history.
        store
            .activate_guest("w", &g(3, "c"), "activated", None, 4)
            .unwrap();
        assert_eq!(states(&store)[1], ("b".into(), GuestState::Previous));
        // Activating the previous one: it is active, the active one previous.
        store
            .activate_guest("w", &g(2, "b"), "activated", None, 5)
            .unwrap();
        assert_eq!(
            states(&store),
            [
                ("b".into(), GuestState::Active),
                ("c".into(), GuestState::Previous),
                ("a".into(), GuestState::Retired)
            ]
        );
        let back = store.rollback_guest("w", 6).unwrap();
        assert_eq!(back, g(3, "c").sha256);
        assert_eq!(
            store
                .guest_in("w", GuestState::Previous)
                .unwrap()
                .unwrap()
                .name,
            Some("b".into())
        );
        let h = store.guest_history(10).unwrap();
        assert_eq!(h.len(), 6);
        assert_eq!(h[0].event, "rolled-back");
        assert_eq!(h[5].event, "bundled");
    }

    #[test]
    fn refusals_keep_their_reason_and_never_unseat_the_active_guest() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.rollback_guest("w", 1).is_err());
        store
            .activate_guest("w", &g(1, "a"), "bundled", None, 1)
            .unwrap();
        let bad = NewGuest {
            name: None,
            version: None,
            contract: None,
            ..g(9, "")
        };
        store
            .refuse_guest("w", &bad, "not a component", Some("in1"), 2)
            .unwrap();
        let r = store.guest(&bad.sha256).unwrap().unwrap();
        assert_eq!(r.state, GuestState::Refused);
        assert_eq!(r.reason.as_deref(), Some("not a component"));
        assert_eq!(r.inputs.as_deref(), Some("in1"));
        // A re-check of the active guest that fails leaves it active.
        store
            .refuse_guest("w", &g(1, "a"), "fails x", Some("in2"), 3)
            .unwrap();
        assert_eq!(
            store.guest(&g(1, "a").sha256).unwrap().unwrap().state,
            GuestState::Active
        );
        // A refused guest accepted later loses its old reason.
        store
            .activate_guest("w", &g(9, "fixed"), "activated", None, 4)
            .unwrap();
        let r = store.guest(&bad.sha256).unwrap().unwrap();
        assert_eq!((r.state, r.reason), (GuestState::Active, None));
        assert_eq!(r.name.as_deref(), Some("fixed"));
        assert!(
            store
                .refuse_guest(
                    "w",
                    &NewGuest {
                        sha256: "xyz".into(),
                        ..bad
                    },
                    "r",
                    None,
                    5
                )
                .is_err()
        );
    }

    #[test]
    fn each_slot_has_its_own_active_and_previous_guest() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .activate_guest("hellowatt", &g(1, "hellowatt"), "bundled", None, 1)
            .unwrap();
        store
            .activate_guest("tempo", &g(2, "tempo"), "bundled", None, 2)
            .unwrap();
        store
            .activate_guest("tempo", &g(3, "tempo"), "activated", None, 3)
            .unwrap();
        let active =
            |store: &Store, slot| store.guest_in(slot, GuestState::Active).unwrap().unwrap();
        assert_eq!(active(&store, "hellowatt").sha256, g(1, "").sha256);
        assert_eq!(active(&store, "tempo").sha256, g(3, "").sha256);
        assert_eq!(
            store.guest_in("hellowatt", GuestState::Previous).unwrap(),
            None
        );
        // Rolling back one slot leaves the other alone.
        assert!(store.rollback_guest("hellowatt", 4).is_err());
        assert_eq!(store.rollback_guest("tempo", 4).unwrap(), g(2, "").sha256);
        assert_eq!(active(&store, "hellowatt").sha256, g(1, "").sha256);
        let history = store.guest_history(10).unwrap();
        assert_eq!(history[0].slot, "tempo");
        assert_eq!(history.last().unwrap().slot, "hellowatt");
    }
}
