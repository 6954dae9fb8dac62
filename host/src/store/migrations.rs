//! Versioned schema migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version` (0 for a new
//! file). Migration N brings the schema from version N-1 to N; each runs in
//! its own `BEGIN IMMEDIATE` transaction together with the `user_version`
//! bump, so a failed migration leaves the file at the previous version and a
//! second process opening the same file at the same time waits (busy
//! timeout) and then finds nothing left to do. Migrations are embedded in the
//! binary with `include_str!`; a file written by a newer hellowatt (a higher
//! version than [`LATEST`]) is refused rather than guessed at.
//!
//! To change the schema, add `migrations/NNNN_what.sql` and a line to
//! [`MIGRATIONS`]; never edit a migration that has shipped.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, TransactionBehavior};

/// Every migration, in order: `(version it brings the schema to, SQL)`.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_scheduler_state.sql")),
    (3, include_str!("migrations/0003_guest_registry.sql")),
    (4, include_str!("migrations/0004_guest_slots.sql")),
    (5, include_str!("migrations/0005_failed_parts.sql")),
    (6, include_str!("migrations/0006_home_assistant.sql")),
    (7, include_str!("migrations/0007_curve_by_start_only.sql")),
    (8, include_str!("migrations/0008_subscribed_power.sql")),
    (9, include_str!("migrations/0009_ecowatt.sql")),
];

/// The schema version this code writes and reads.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The schema version recorded in the file.
pub fn schema_version(conn: &Connection) -> Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .context("reading the schema version (PRAGMA user_version)")
}

fn too_new(found: i64) -> anyhow::Error {
    anyhow::anyhow!(
        "database schema version {found} is newer than this hellowatt supports ({LATEST}): \
         upgrade hellowatt or use another database file"
    )
}

/// Returns the file's schema version, or the "newer than this hellowatt
/// supports" error when this code cannot read it.
pub fn refuse_newer(conn: &Connection) -> Result<i64> {
    let found = schema_version(conn)?;
    if found > LATEST {
        return Err(too_new(found));
    }
    if found < 0 {
        bail!("database schema version {found} is not one hellowatt ever wrote");
    }
    Ok(found)
}

/// Brings the schema up to [`LATEST`]; returns the versions applied.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>> {
    let found = refuse_newer(conn)?;
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS {
        if version <= found {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("starting the transaction of migration {version}"))?;
        // Another process may have migrated between our read and our lock.
        let current = schema_version(&tx)?;
        if current > LATEST {
            return Err(too_new(current));
        }
        if current >= version {
            continue;
        }
        if current != version - 1 {
            bail!("database schema version {current} cannot take migration {version}");
        }
        tx.execute_batch(sql)
            .with_context(|| format!("applying schema migration {version}"))?;
        tx.pragma_update(None, "user_version", version)
            .with_context(|| format!("recording schema version {version}"))?;
        tx.commit()
            .with_context(|| format!("committing schema migration {version}"))?;
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, (version, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
        }
    }

    #[test]
    fn migrates_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 0);
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (1..=LATEST).collect::<Vec<_>>()
        );
        assert_eq!(schema_version(&conn).unwrap(), LATEST);
        // A second pass has nothing to do and changes nothing.
        assert!(migrate(&mut conn).unwrap().is_empty());
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for t in [
            "accounts",
            "contracts",
            "curve_points",
            "curve_revisions",
            "daily_periods",
            "daily_readings",
            "daily_revisions",
            "ecowatt_days",
            "ecowatt_hours",
            "fetch_windows",
            "homes",
            "meters",
            "sync_runs",
            "temperatures",
            "tempo_days",
        ] {
            assert!(
                tables.iter().any(|x| x == t),
                "missing table {t} in {tables:?}"
            );
        }
        let fk: Vec<(String, i64, String, i64)> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(fk.is_empty());
    }

    /// Migration 5 rebuilds two tables: what version 4 held is all there.
    #[test]
    fn migration_5_keeps_the_windows_and_temperatures() {
        let mut conn = Connection::open_in_memory().unwrap();
        for &(version, sql) in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO accounts (id, name) VALUES (1, 'home');
             INSERT INTO sync_runs (id, account_id, started_at, guest_name, guest_version,
                 guest_sha256, range_start, range_end)
                 VALUES (1, 1, 10, 'hellowatt', '1.0.0', 'abc', '2026-01-01', '2026-01-31');
             INSERT INTO homes (id, account_id) VALUES ('42', 1);
             INSERT INTO temperatures VALUES ('42', '2026-01-05', 3.5, 1, 1);
             INSERT INTO fetch_windows (account_id, subject, kind, start_date, end_date,
                 status, detail, first_run, last_run, changed_at)
                 VALUES (1, '42', 'temperature', '2026-01-01', '2026-01-31',
                 'not-available', 'no data', 1, 1, 20);",
        )
        .unwrap();
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (5..=LATEST).collect::<Vec<_>>()
        );
        let t: (String, String, f64) = conn
            .query_row(
                "SELECT period, date, celsius FROM temperatures WHERE home_id = '42'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(t, ("day".into(), "2026-01-05".into(), 3.5));
        let w: (String, String) = conn
            .query_row("SELECT status, detail FROM fetch_windows", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(w, ("not-available".into(), "no data".into()));
        // A failed window holds its error as JSON, and only JSON.
        let bad = conn.execute(
            "INSERT INTO fetch_windows (account_id, subject, kind, start_date, end_date,
                 status, detail, first_run, last_run, changed_at)
                 VALUES (1, '42', 'temperature', '2026-02-01', '2026-02-28',
                 'failed', 'not json', 1, 1, 20)",
            [],
        );
        assert!(bad.is_err());
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "database schema version {} is newer than this hellowatt supports ({LATEST}): \
                 upgrade hellowatt or use another database file",
                LATEST + 1
            )
        );
        // Nothing was created.
        let n: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        // Simulate: the schema's first table already exists, so migration 1
        // fails half-way; the transaction must undo all of it.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE meters (x INTEGER)")
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            format!("{err:#}").contains("applying schema migration 1"),
            "{err:#}"
        );
        assert_eq!(schema_version(&conn).unwrap(), 0);
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'accounts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }
}
