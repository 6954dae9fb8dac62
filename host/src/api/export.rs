//! `hellowatt export`: the stored readings of any range and granularity as
//! CSV (a header row, units in the column names) or JSON (units stated).
//!
//! It owns the exported formats and reads only through the store's queries;
//! it must never write to the store.

use crate::store::{Granularity, Store, TotalRow};
use anyhow::{Result, bail};
use hellowatt_snapshot::{Date, Energy};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => bail!("unknown export format {other:?}: use csv or json"),
        }
    }
}

/// One exported row: a meter's bucket (day, month or year).
#[derive(Debug, Serialize)]
struct Row<'a> {
    meter_id: &'a str,
    energy: Energy,
    #[serde(flatten)]
    total: &'a TotalRow,
}

const CSV_HEADER: &str = "meter_id,energy,period,start,end,days,stored_days,days_with_value,\
consumption_kwh,cost_eur,subscription_eur,total_cost_eur,solar_production_kwh,\
solar_production_eur,injection_kwh,injection_eur";

fn num(v: Option<f64>) -> String {
    // Empty, never 0: a missing value stays missing in a spreadsheet too.
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// Exports every meter (or one) over `[from, to]`.
pub fn export(
    store: &Store,
    format: Format,
    granularity: Granularity,
    from: Date,
    to: Date,
    meter: Option<&str>,
) -> Result<String> {
    let meters = store.meters(None)?;
    if let Some(m) = meter
        && !meters.iter().any(|r| r.meter_id == m)
    {
        bail!(
            "no meter {m:?} in the database (known: {})",
            meters
                .iter()
                .map(|r| r.meter_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut rows = Vec::new();
    for m in meters
        .iter()
        .filter(|r| meter.is_none_or(|id| id == r.meter_id))
    {
        for t in store.totals(&m.meter_id, granularity, from, to)? {
            rows.push((m.meter_id.clone(), m.energy, t));
        }
    }
    Ok(match format {
        Format::Csv => {
            let mut out = String::from(CSV_HEADER);
            out.push('\n');
            for (id, energy, t) in &rows {
                let _ = writeln!(
                    out,
                    "{id},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    energy.as_str(),
                    t.bucket,
                    t.start,
                    t.end,
                    t.day_count,
                    t.stored_days,
                    t.value_count,
                    num(t.amounts.kwh),
                    num(t.amounts.eur),
                    num(t.amounts.subscription_eur),
                    num(t.total_eur),
                    num(t.amounts.solar_production_kwh),
                    num(t.amounts.solar_production_eur),
                    num(t.amounts.injection_kwh),
                    num(t.amounts.injection_eur),
                );
            }
            out
        }
        Format::Json => {
            let rows: Vec<Row<'_>> = rows
                .iter()
                .map(|(id, energy, t)| Row {
                    meter_id: id,
                    energy: *energy,
                    total: t,
                })
                .collect();
            let doc = serde_json::json!({
                "granularity": granularity.as_str(),
                "from": from,
                "to": to,
                "units": {
                    "kwh": "kWh", "eur": "EUR", "subscription_eur": "EUR", "total_eur": "EUR",
                    "solar_production_kwh": "kWh", "solar_production_eur": "EUR",
                    "injection_kwh": "kWh", "injection_eur": "EUR", "co2_kg": "kg"
                },
                "missing": "null means the site gave no value; it is never a zero",
                "cost": "eur is the consumption's cost, subscription_eur the subscription, \
                         total_eur both",
                "rows": rows,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
    })
}
