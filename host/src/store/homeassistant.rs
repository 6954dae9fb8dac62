//! What Home Assistant was last given (`ha_statistics`) and how the last
//! push went (`ha_push`). The store keeps these as the push left them and
//! never computes a statistic: `homeassistant/` owns their meaning.

use super::Store;
use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::BTreeMap;

/// One hour Home Assistant accepted: `(state, sum)` by hour start.
pub type LedgerHours = BTreeMap<i64, (f64, f64)>;

/// How the last push to Home Assistant went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HaPushState {
    /// Unix seconds.
    pub attempted_at: i64,
    /// The last push that succeeded (this one or an earlier one).
    pub succeeded_at: Option<i64>,
    /// Why the last attempt failed; `None` when it succeeded.
    pub error: Option<String>,
    /// Series and hours sent by the last successful push.
    pub series: u64,
    pub hours_sent: u64,
    /// Hours sent by every push since the database was made.
    pub sent_total: u64,
}

impl Store {
    /// Every statistic's accepted hours, by statistic id.
    pub fn ha_ledger(&self) -> Result<BTreeMap<String, LedgerHours>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT statistic_id, start_utc, state, sum FROM ha_statistics")
            .context("preparing the Home Assistant ledger query")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, f64>(3)?,
                ))
            })
            .context("querying the Home Assistant ledger")?;
        let mut out: BTreeMap<String, LedgerHours> = BTreeMap::new();
        for row in rows {
            let (id, start, state, sum) = row.context("reading the Home Assistant ledger")?;
            out.entry(id).or_default().insert(start, (state, sum));
        }
        Ok(out)
    }

    /// Records that Home Assistant accepted `hours` of `statistic_id`, and
    /// that they replace every hour it had from the first of them on.
    pub fn ha_accepted(&mut self, statistic_id: &str, hours: &[(i64, f64, f64)]) -> Result<()> {
        let Some(&(from, _, _)) = hours.first() else {
            return Ok(());
        };
        let tx = self
            .conn
            .transaction()
            .context("starting to record a Home Assistant push")?;
        tx.execute(
            "DELETE FROM ha_statistics WHERE statistic_id = ?1 AND start_utc >= ?2",
            params![statistic_id, from],
        )
        .context("clearing the hours Home Assistant was sent again")?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO ha_statistics (statistic_id, start_utc, state, sum) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .context("preparing the Home Assistant ledger insert")?;
            for &(start, state, sum) in hours {
                insert
                    .execute(params![statistic_id, start, state, sum])
                    .with_context(|| format!("recording {statistic_id} at {start}"))?;
            }
        }
        tx.commit().context("committing a Home Assistant push")
    }

    /// Forgets what Home Assistant was given of `statistic_id` (it no
    /// longer has it: the next push sends it whole).
    pub fn ha_forget(&mut self, statistic_id: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM ha_statistics WHERE statistic_id = ?1",
                [statistic_id],
            )
            .with_context(|| format!("forgetting {statistic_id}"))?;
        Ok(())
    }

    /// How the last push went, if there was one.
    pub fn ha_push_state(&self) -> Result<Option<HaPushState>> {
        self.conn
            .query_row(
                "SELECT attempted_at, succeeded_at, error, series, hours_sent, sent_total \
                 FROM ha_push WHERE id = 1",
                [],
                |r| {
                    Ok(HaPushState {
                        attempted_at: r.get(0)?,
                        succeeded_at: r.get(1)?,
                        error: r.get(2)?,
                        series: r.get(3)?,
                        hours_sent: r.get(4)?,
                        sent_total: r.get(5)?,
                    })
                },
            )
            .optional()
            .context("reading the last Home Assistant push")
    }

    /// Records a push: `Ok((series, hours sent))` or the error's text.
    pub fn record_ha_push(&mut self, now: i64, outcome: Result<(u64, u64), &str>) -> Result<()> {
        let (ok, error, series, hours) = match outcome {
            Ok((series, hours)) => (true, None, series, hours),
            Err(e) => (false, Some(e), 0, 0),
        };
        self.conn
            .execute(
                "INSERT INTO ha_push (id, attempted_at, succeeded_at, error, series, hours_sent, \
                 sent_total) VALUES (1, ?1, CASE WHEN ?2 THEN ?1 END, ?3, ?4, ?5, ?5) \
                 ON CONFLICT (id) DO UPDATE SET attempted_at = ?1, \
                 succeeded_at = CASE WHEN ?2 THEN ?1 ELSE succeeded_at END, error = ?3, \
                 series = CASE WHEN ?2 THEN ?4 ELSE series END, \
                 hours_sent = CASE WHEN ?2 THEN ?5 ELSE hours_sent END, \
                 sent_total = sent_total + ?5",
                params![now, ok, error, series, hours],
            )
            .context("recording the Home Assistant push")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_replaces_the_hours_from_its_first_on_and_keeps_the_earlier_ones() {
        let mut store = Store::open_in_memory().unwrap();
        let id = "hellowatt:1_energy";
        store
            .ha_accepted(id, &[(0, 1.0, 1.0), (3600, 2.0, 3.0), (7200, 3.0, 6.0)])
            .unwrap();
        store.ha_accepted(id, &[(3600, 5.0, 6.0)]).unwrap();
        let ledger = store.ha_ledger().unwrap();
        assert_eq!(
            ledger[id].iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [(0, (1.0, 1.0)), (3600, (5.0, 6.0))]
        );
        store.ha_forget(id).unwrap();
        assert!(store.ha_ledger().unwrap().is_empty());
    }

    #[test]
    fn a_failed_push_keeps_the_last_success() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.ha_push_state().unwrap(), None);
        store.record_ha_push(100, Ok((3, 48))).unwrap();
        store
            .record_ha_push(200, Err("Home Assistant is down"))
            .unwrap();
        let state = store.ha_push_state().unwrap().unwrap();
        assert_eq!(state.attempted_at, 200);
        assert_eq!(state.succeeded_at, Some(100));
        assert_eq!(state.error.as_deref(), Some("Home Assistant is down"));
        assert_eq!(
            (state.series, state.hours_sent, state.sent_total),
            (3, 48, 48)
        );
        store.record_ha_push(300, Ok((3, 2))).unwrap();
        let state = store.ha_push_state().unwrap().unwrap();
        assert_eq!((state.succeeded_at, state.error), (Some(300), None));
        assert_eq!(state.sent_total, 50);
    }
}
