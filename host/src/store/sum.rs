//! Sums of stored values by bucket (month, year), computed in Rust over
//! rows read in key order, as SQLite's `sum()` would compute them.
//!
//! Why not `GROUP BY substr(date, …)`: SQLite cannot see that a prefix of
//! the key keeps its order, so it sorts every row of the range in a temporary
//! b-tree first; for the API's year and month questions that sort was most
//! of the answer's cost. Reading the rows in key order and cutting buckets
//! here needs no sort.
//!
//! # What it owns
//! - [`Sum`]: SQLite's `sum()` of REAL values, bit for bit
//!   (Kahan–Babuška–Neumaier, as SQLite 3.43 and later; no value is NULL),
//!   so an answer does not change by a last digit with the way it is
//!   computed.
//!
//! # What it must never do
//! - Read the database: callers give it the values.

/// SQLite's `sum()` of REAL values (the store's columns are `REAL` in
/// `STRICT` tables, so they never hold integers): the running sum with its
/// compensation, `None` while no value was added.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sum {
    sum: f64,
    err: f64,
    count: u32,
}

impl Sum {
    /// Adds a value; `None` (SQL NULL) is skipped, as `sum()` skips it.
    pub(super) fn add(&mut self, value: Option<f64>) {
        let Some(r) = value else { return };
        // kahanBabuskaNeumaierStep of sqlite3.c; the first value gives
        // sum = r and err = 0 as its kahanBabuskaNeumaierInit does.
        let s = self.sum;
        let t = s + r;
        if s.abs() > r.abs() {
            self.err += (s - t) + r;
        } else {
            self.err += (r - t) + s;
        }
        self.sum = t;
        self.count += 1;
    }

    /// The sum, `None` when no value was added (sumFinalize: the
    /// compensation is added unless it overflowed).
    pub(super) fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| {
            if self.err.is_finite() {
                self.sum + self.err
            } else {
                self.sum
            }
        })
    }

    /// How many values were added (SQL `count(column)`).
    pub(super) fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::Connection;

    fn sqlite_sum(conn: &Connection, values: &[Option<f64>]) -> Option<f64> {
        conn.execute("DELETE FROM t", []).unwrap();
        for v in values {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v]).unwrap();
        }
        conn.query_row("SELECT sum(v) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    fn connection() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL) STRICT", [])
            .unwrap();
        conn
    }

    fn ours(values: &[Option<f64>]) -> Option<f64> {
        let mut s = Sum::default();
        values.iter().for_each(|v| s.add(*v));
        s.value()
    }

    #[test]
    fn known_sums_are_sqlites_to_the_bit() {
        let conn = connection();
        for values in [
            vec![],
            vec![None, None],
            vec![Some(0.1), Some(0.2), Some(0.3)],
            // Where a naive sum loses the small values (1e16 + 1 + -1e16).
            vec![Some(1e16), Some(1.0), None, Some(-1e16)],
            vec![Some(-0.0)],
        ] {
            let (a, b) = (ours(&values), sqlite_sum(&conn, &values));
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{values:?}");
        }
        assert_eq!(ours(&[Some(1e16), Some(1.0), Some(-1e16)]), Some(1.0));
    }

    proptest! {
        #[test]
        fn any_values_sum_as_sqlite_sums_them(
            values in prop::collection::vec(
                prop::option::weighted(0.9, prop_oneof![
                    -1e4f64..1e4,
                    (0u32..100_000).prop_map(|x| f64::from(x) / 1000.0),
                    // Wide but not overflowing: the store holds no infinity.
                    -1e300f64..1e300,
                ]),
                0..60,
            )
        ) {
            let conn = connection();
            let (a, b) = (ours(&values), sqlite_sum(&conn, &values));
            prop_assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits));
            let mut s = Sum::default();
            values.iter().for_each(|v| s.add(*v));
            prop_assert_eq!(s.count() as usize, values.iter().flatten().count());
        }
    }
}
