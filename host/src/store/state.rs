//! The service's per-account memory across restarts: the scheduler's state
//! (breaker, pause, cool-down, last attempts) as a JSON document.
//!
//! The store keeps it opaque: it checks that it is JSON and never reads
//! inside; the scheduler owns its meaning. Like `sync_runs`, it is
//! bookkeeping, not data, and stays out of the content digest.

use super::Store;
use anyhow::{Context, Result};
use rusqlite::OptionalExtension;

impl Store {
    /// The saved state of an account, if any.
    pub fn scheduler_state(&self, account: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT s.state FROM scheduler_state s JOIN accounts a ON a.id = s.account_id \
                 WHERE a.name = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()
            .with_context(|| format!("reading the scheduler state of {account:?}"))
    }

    /// Saves an account's state (creating the account's row if needed).
    pub fn save_scheduler_state(&mut self, account: &str, json: &str, now_utc: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction()
            .context("starting to save the scheduler state")?;
        tx.execute(
            "INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [account],
        )
        .with_context(|| format!("recording the account {account:?}"))?;
        tx.execute(
            "INSERT INTO scheduler_state (account_id, state, updated_at) \
             SELECT id, ?2, ?3 FROM accounts WHERE name = ?1 \
             ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            rusqlite::params![account, json, now_utc],
        )
        .with_context(|| format!("saving the scheduler state of {account:?}"))?;
        tx.commit().context("committing the scheduler state")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_stays_out_of_the_digest() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.scheduler_state("home").unwrap(), None);
        store
            .save_scheduler_state("home", r#"{"a":1}"#, 10)
            .unwrap();
        let digest = store.content_digest().unwrap();
        store
            .save_scheduler_state("home", r#"{"a":2}"#, 11)
            .unwrap();
        assert_eq!(
            store.scheduler_state("home").unwrap().as_deref(),
            Some(r#"{"a":2}"#)
        );
        assert_eq!(store.content_digest().unwrap(), digest);
        assert!(store.save_scheduler_state("home", "not json", 12).is_err());
    }
}
