//! `hellowatt export`: the stored readings of any range and granularity as
//! CSV (a header row, units in the column names, RFC 4180 quoting) or JSON
//! (units stated), each row with its tariff periods summed.
//!
//! It owns the exported formats and reads only through the store's queries;
//! it must never write to the store.

use crate::store::{Granularity, Store, TotalRow};
use anyhow::{Context, Result, bail};
use hellowatt_snapshot::{Date, Energy, PeriodValue};
use serde::Serialize;
use std::collections::BTreeSet;

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

/// One exported row: a meter's bucket (day, month or year) and its tariff
/// periods summed.
#[derive(Debug, Serialize)]
struct Row<'a> {
    meter_id: &'a str,
    energy: Energy,
    #[serde(flatten)]
    total: &'a TotalRow,
    periods: &'a [PeriodValue],
}

/// The fixed columns; then two per tariff period present in the export,
/// `tariff_<period>_kwh` and `tariff_<period>_eur`, sorted by period.
const CSV_COLUMNS: [&str; 16] = [
    "meter_id",
    "energy",
    "period",
    "start",
    "end",
    "days",
    "stored_days",
    "days_with_value",
    "consumption_kwh",
    "cost_eur",
    "subscription_eur",
    "total_cost_eur",
    "solar_production_kwh",
    "solar_production_eur",
    "injection_kwh",
    "injection_eur",
];

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
        let mut periods = store.period_totals(&m.meter_id, granularity, from, to)?;
        for t in store.totals(&m.meter_id, granularity, from, to)? {
            let p = periods.remove(&t.bucket).unwrap_or_default();
            rows.push((m.meter_id.clone(), m.energy, t, p));
        }
    }
    Ok(match format {
        Format::Csv => csv(&rows)?,
        Format::Json => {
            let rows: Vec<Row<'_>> = rows
                .iter()
                .map(|(id, energy, t, p)| Row {
                    meter_id: id,
                    energy: *energy,
                    total: t,
                    periods: p,
                })
                .collect();
            let doc = serde_json::json!({
                "granularity": granularity.as_str(),
                "from": from,
                "to": to,
                "units": {
                    "kwh": "kWh", "eur": "EUR", "subscription_eur": "EUR", "total_eur": "EUR",
                    "solar_production_kwh": "kWh", "solar_production_eur": "EUR",
                    "injection_kwh": "kWh", "injection_eur": "EUR", "co2_kg": "kg",
                    "periods": {"kwh": "kWh", "eur": "EUR"}
                },
                "missing": "null means the site gave no value; it is never a zero",
                "cost": "eur is the consumption's cost, subscription_eur the subscription, \
                         total_eur both",
                "rounding": "sums of several days are rounded to 0.001 kWh and 0.0001 EUR",
                "rows": rows,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
    })
}

type ExportRow = (String, Energy, TotalRow, Vec<PeriodValue>);

/// RFC 4180 through the `csv` crate: a meter id or period name with a comma,
/// a quote or a line break is quoted, never split.
fn csv(rows: &[ExportRow]) -> Result<String> {
    let tariffs: BTreeSet<&str> = rows
        .iter()
        .flat_map(|(_, _, _, p)| p.iter().map(|p| p.period.as_str()))
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    for t in &tariffs {
        header.push(format!("tariff_{t}_kwh"));
        header.push(format!("tariff_{t}_eur"));
    }
    out.write_record(&header)
        .context("writing the CSV header")?;
    for (id, energy, t, periods) in rows {
        let mut record = vec![
            id.clone(),
            energy.as_str().to_owned(),
            t.bucket.clone(),
            t.start.to_string(),
            t.end.to_string(),
            t.day_count.to_string(),
            t.stored_days.to_string(),
            t.value_count.to_string(),
            num(t.amounts.kwh),
            num(t.amounts.eur),
            num(t.amounts.subscription_eur),
            num(t.total_eur),
            num(t.amounts.solar_production_kwh),
            num(t.amounts.solar_production_eur),
            num(t.amounts.injection_kwh),
            num(t.amounts.injection_eur),
        ];
        for tariff in &tariffs {
            let p = periods.iter().find(|p| p.period == *tariff);
            record.push(num(p.and_then(|p| p.kwh)));
            record.push(num(p.and_then(|p| p.eur)));
        }
        out.write_record(&record).context("writing a CSV row")?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("finishing the CSV: {e}"))?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_snapshot::Amounts;

    fn row(id: &str, periods: &[(&str, f64)]) -> ExportRow {
        let start = Date::parse("2026-01-01").unwrap();
        let total = TotalRow {
            bucket: "2026-01".into(),
            start,
            end: Date::parse("2026-01-31").unwrap(),
            day_count: 31,
            stored_days: 31,
            value_count: 31,
            amounts: Amounts {
                kwh: Some(35.16),
                ..Amounts::default()
            },
            total_eur: None,
        };
        let periods = periods
            .iter()
            .map(|(name, kwh)| PeriodValue {
                period: (*name).into(),
                kwh: Some(*kwh),
                eur: None,
            })
            .collect();
        (id.into(), Energy::Electricity, total, periods)
    }

    #[test]
    fn csv_quotes_what_needs_it_and_gives_each_tariff_two_columns() {
        let text = csv(&[
            row("0951,\"7\"", &[("HP", 20.0), ("HC", 15.16)]),
            row("plain", &[("Base", 35.16)]),
        ])
        .unwrap();
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            &header[16..],
            [
                "tariff_Base_kwh",
                "tariff_Base_eur",
                "tariff_HC_kwh",
                "tariff_HC_eur",
                "tariff_HP_kwh",
                "tariff_HP_eur"
            ]
        );
        let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(&records[0][0], "0951,\"7\"", "read back whole");
        assert!(text.contains("\"0951,\"\"7\"\"\""), "{text}");
        assert_eq!(
            records[0].iter().skip(16).collect::<Vec<_>>(),
            ["", "", "15.16", "", "20", ""]
        );
        assert_eq!(
            records[1].iter().skip(16).collect::<Vec<_>>(),
            ["35.16", "", "", "", "", ""]
        );
        assert_eq!(&records[1][8], "35.16");
    }
}
