//! A fingerprint of the stored data, for tests and `hellowatt` diagnostics:
//! two databases (or one database at two moments) with equal digests hold
//! equal data.
//!
//! It covers the schema version and every table except the bookkeeping
//! (`sync_runs`, the per-run journal that every run writes; the scheduler's
//! state and requests; the guest registry; what Home Assistant was sent)
//! and SQLite's own: found in
//! `sqlite_schema`, so a table added by a later migration is covered
//! without touching this file. Rows are read in the order of all their
//! columns, values are hashed with their type (so `1`, `1.0` and `'1'`
//! differ, and NULL is not 0), and the hash is FNV-1a over 128 bits: a
//! fingerprint against accidents, not a defence against forgery.

use super::Store;
use anyhow::{Context, Result};
use rusqlite::types::ValueRef;

/// FNV-1a, 128 bits.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Fnv128 {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn write_len(&mut self, n: usize) {
        self.write(&(n as u64).to_le_bytes());
    }

    fn write_value(&mut self, v: ValueRef<'_>) {
        match v {
            ValueRef::Null => self.write(&[0]),
            ValueRef::Integer(i) => {
                self.write(&[1]);
                self.write(&i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                self.write(&[2]);
                self.write(&f.to_bits().to_le_bytes());
            }
            ValueRef::Text(t) => {
                self.write(&[3]);
                self.write_len(t.len());
                self.write(t);
            }
            ValueRef::Blob(b) => {
                self.write(&[4]);
                self.write_len(b.len());
                self.write(b);
            }
        }
    }
}

/// The tables a digest covers, by name.
fn data_tables(store: &Store) -> Result<Vec<String>> {
    let mut stmt = store
        .conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT IN ('sync_runs', 'scheduler_state', 'service_requests', 'guests', \
             'guest_history', 'ha_statistics', 'ha_push') ORDER BY name",
        )
        .context("preparing the table list")?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .context("listing the tables")?
        .collect::<rusqlite::Result<_>>()
        .context("reading the table list")?;
    Ok(names)
}

impl Store {
    /// `schema 1; accounts 1, contracts 2, ...; fnv1a-128 <32 hex digits>`:
    /// the row count of every data table and a hash of all their content
    /// (everything but `sync_runs`), in a stable order. Equal digests mean
    /// equal content; a second sync that changes nothing leaves it equal.
    pub fn content_digest(&self) -> Result<String> {
        let version = self.schema_version()?;
        let mut hash = Fnv128::new();
        hash.write(&version.to_le_bytes());
        let mut counts = Vec::new();
        for table in data_tables(self)? {
            let quoted = format!("\"{}\"", table.replace('"', "\"\""));
            let columns = self
                .conn
                .prepare(&format!("SELECT * FROM {quoted} LIMIT 0"))
                .with_context(|| format!("reading the columns of {table}"))?
                .column_count();
            let order: Vec<String> = (1..=columns).map(|i| i.to_string()).collect();
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT * FROM {quoted} ORDER BY {}",
                    order.join(", ")
                ))
                .with_context(|| format!("preparing the read of {table}"))?;
            let mut rows = stmt.query([]).with_context(|| format!("reading {table}"))?;
            hash.write_len(table.len());
            hash.write(table.as_bytes());
            let mut n: u64 = 0;
            while let Some(row) = rows.next().with_context(|| format!("reading {table}"))? {
                for i in 0..columns {
                    let v = row.get_ref(i).with_context(|| format!("reading {table}"))?;
                    hash.write_value(v);
                }
                n += 1;
            }
            hash.write(&n.to_le_bytes());
            counts.push(format!("{table} {n}"));
        }
        Ok(format!(
            "schema {version}; {}; fnv1a-128 {:032x}",
            counts.join(", "),
            hash.0
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn fnv_matches_the_reference_vectors() {
        // From the FNV reference (draft-eastlake-fnv): FNV-1a 128 of "" and "a".
        assert_eq!(Fnv128::new().0, 0x6c62272e07bb014262b821756295c58d);
        let mut h = Fnv128::new();
        h.write(b"a");
        assert_eq!(h.0, 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn digest_lists_every_data_table_but_the_run_journal() {
        let mut store = Store::open_in_memory().unwrap();
        let empty = store.content_digest().unwrap();
        assert!(
            empty.starts_with(&format!(
                "schema {}; accounts 0, contracts 0, curve_points 0",
                super::super::migrations::LATEST
            )),
            "{empty}"
        );
        assert!(!empty.contains("sync_runs"));
        assert!(!empty.contains("guest"));
        assert!(!empty.contains("scheduler_state"));
        assert!(!empty.contains("sqlite_sequence"));
        // A new account is content; a second run of it is not.
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-02"), 1)
            .unwrap();
        let with_account = store.content_digest().unwrap();
        assert_ne!(with_account, empty);
        store
            .finish_run(
                run,
                &super::super::RunOutcome::Success,
                &Default::default(),
                3,
                2,
            )
            .unwrap();
        store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-02"), 5)
            .unwrap();
        assert_eq!(store.content_digest().unwrap(), with_account);
    }

    #[test]
    fn digest_sees_a_single_value_change() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 1)
            .unwrap();
        store.ingest(run, ACCOUNT, &sample(), 2).unwrap();
        let before = store.content_digest().unwrap();
        // Behind the store's back: one period's EUR from 1.25 to NULL.
        store
            .conn
            .execute(
                "UPDATE daily_periods SET eur = NULL \
                 WHERE period = 'Tempo-blue-HC' AND date = '2026-01-05'",
                [],
            )
            .unwrap();
        let after = store.content_digest().unwrap();
        assert_ne!(before, after);
        // Same row counts: only the hash differs.
        assert_eq!(
            before.rsplit_once(';').unwrap().0,
            after.rsplit_once(';').unwrap().0
        );
    }
}
