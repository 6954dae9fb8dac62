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

/// What a person can ask of the running service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Close the breaker, lift a pause or a cool-down.
    Reset,
    /// Run now (the scheduler enforces the minimum interval).
    Refresh,
}

impl Request {
    fn as_str(self) -> &'static str {
        match self {
            Request::Reset => "reset",
            Request::Refresh => "refresh",
        }
    }
}

impl Store {
    /// Files a request for the service (creating the account's row if needed).
    pub fn file_request(&mut self, account: &str, request: Request, now_utc: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction()
            .context("starting to file a request")?;
        tx.execute(
            "INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [account],
        )
        .with_context(|| format!("recording the account {account:?}"))?;
        tx.execute(
            "INSERT INTO service_requests (account_id, kind, requested_at) \
             SELECT id, ?2, ?3 FROM accounts WHERE name = ?1",
            rusqlite::params![account, request.as_str(), now_utc],
        )
        .context("filing the request")?;
        tx.commit().context("committing the request")
    }

    /// Takes the account's pending requests, oldest first, marking them handled.
    pub fn take_requests(&mut self, account: &str, now_utc: i64) -> Result<Vec<Request>> {
        // Immediate: it reads then writes, and a deferred transaction whose
        // read saw a snapshot another connection (the API filing a request)
        // has since changed cannot become a writer (SQLITE_BUSY_SNAPSHOT,
        // which the busy timeout does not retry).
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .context("starting to take requests")?;
        let kinds: Vec<String> = {
            let mut stmt = tx
                .prepare(
                    "SELECT r.kind FROM service_requests r JOIN accounts a ON a.id = r.account_id \
                     WHERE a.name = ?1 AND r.handled_at IS NULL ORDER BY r.id",
                )
                .context("preparing the request query")?;
            stmt.query_map([account], |r| r.get(0))
                .context("reading requests")?
                .collect::<rusqlite::Result<_>>()
                .context("reading requests")?
        };
        tx.execute(
            "UPDATE service_requests SET handled_at = ?2 WHERE handled_at IS NULL \
             AND account_id = (SELECT id FROM accounts WHERE name = ?1)",
            rusqlite::params![account, now_utc],
        )
        .context("marking requests handled")?;
        tx.commit().context("committing handled requests")?;
        Ok(kinds
            .iter()
            .filter_map(|k| match k.as_str() {
                "reset" => Some(Request::Reset),
                "refresh" => Some(Request::Refresh),
                _ => None,
            })
            .collect())
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

    #[test]
    fn requests_are_taken_once() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.take_requests("home", 1).unwrap().is_empty());
        store.file_request("home", Request::Reset, 2).unwrap();
        store.file_request("home", Request::Refresh, 3).unwrap();
        store.file_request("other", Request::Refresh, 3).unwrap();
        assert_eq!(
            store.take_requests("home", 4).unwrap(),
            vec![Request::Reset, Request::Refresh]
        );
        assert!(store.take_requests("home", 5).unwrap().is_empty());
        assert_eq!(
            store.take_requests("other", 5).unwrap(),
            vec![Request::Refresh]
        );
    }
}
