//! How a daily reading's amounts sit in the tables: the columns of
//! `daily_readings` and `daily_revisions`, reading them back from a row,
//! and the "missing day" rule that the ingest and the queries share.
//!
//! It owns the mapping between [`Amounts`] and those columns. It must
//! never run a statement: the ingest writes, the queries read.

use hellowatt_snapshot::{Amounts, PeriodValue};
use rusqlite::Row;
use rusqlite::ToSql;

/// The amount columns of `daily_readings` (and `daily_revisions`), in the
/// order of [`Amounts::NAMES`] (a test holds the two together).
pub(super) const DAILY_COLUMNS: &str = "kwh, eur, subscription_eur, co2_kg, \
    solar_production_kwh, solar_production_eur, injection_kwh, injection_eur";

/// Reads [`Amounts`] from `row`, starting at column `first` (the columns
/// of [`DAILY_COLUMNS`], in its order).
pub(super) fn read_amounts(row: &Row<'_>, first: usize) -> rusqlite::Result<Amounts> {
    let mut values = [None; 8];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.get(first + i)?;
    }
    Ok(Amounts::from_values(values))
}

/// `?1` meter, `?2` day, `?3`..`?10` the amounts (in the order of
/// [`DAILY_COLUMNS`]), `?11` run: what the daily insert and update bind.
pub(super) fn reading_params<'a>(
    meter_id: &'a dyn ToSql,
    date: &'a dyn ToSql,
    amounts: &'a [Option<f64>; 8],
    run: &'a i64,
) -> [&'a dyn ToSql; 11] {
    let [a, b, c, d, e, f, g, h] = amounts;
    [meter_id, date, a, b, c, d, e, f, g, h, run]
}

/// A day the site listed without a single value.
pub(super) fn is_missing(amounts: &Amounts, periods: &[PeriodValue]) -> bool {
    amounts.is_empty() && periods.iter().all(|p| p.kwh.is_none() && p.eur.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_the_amounts_in_order() {
        let columns: Vec<&str> = DAILY_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(columns, Amounts::NAMES);
    }
}
