//! EcoWatt as the outputs show it at an instant: today's and tomorrow's
//! stored days and the stored hour that holds now ([`Store::ecowatt_now`]),
//! read once here so that MQTT and `/metrics` say the same.
//!
//! It reads what [`Store::ecowatt`] reads and never writes. A level the
//! store lacks stays `None`: never green by default.

use super::Store;
use anyhow::{Context, Result};
use hellowatt_snapshot::{Date, EcoWattDay, EcoWattHour};

/// RTE publishes the day and the three after it.
pub const ECOWATT_DAYS_AHEAD: i64 = 3;

/// The EcoWatt signal around an instant, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcoWattNow {
    pub today: Option<EcoWattDay>,
    pub tomorrow: Option<EcoWattDay>,
    /// The stored hour whose `start..start + 1 h` holds the instant.
    pub hour: Option<EcoWattHour>,
    /// Whether any day from yesterday on is stored, i.e. EcoWatt is
    /// collected: a household without RTE credentials has none.
    pub collected: bool,
}

impl Store {
    /// Today's and tomorrow's EcoWatt days and the hour holding `now`
    /// (UTC seconds, normally inside `today`).
    pub fn ecowatt_now(&self, today: Date, now: i64) -> Result<EcoWattNow> {
        let days = self
            .ecowatt(today.add_days(-1), today.add_days(ECOWATT_DAYS_AHEAD))
            .context("reading the EcoWatt days around today")?;
        let hour = days
            .iter()
            .flat_map(|d| &d.hours)
            .find(|h| (h.start..h.start + 3600).contains(&now))
            .copied();
        let day = |date: Date| days.iter().find(|d| d.date == date).cloned();
        Ok(EcoWattNow {
            today: day(today),
            tomorrow: day(today.succ()),
            hour,
            collected: !days.is_empty(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{d, ecowatt_days, store_with_ecowatt};
    use super::*;

    #[test]
    fn today_tomorrow_and_the_hour_holding_now() {
        let today = d("2026-11-28");
        let store = store_with_ecowatt(ecowatt_days(today));
        let now = store
            .ecowatt_now(today, today.paris_time_utc(3, 59))
            .unwrap();
        assert!(now.collected);
        assert_eq!(now.today.as_ref().map(|d| d.level), Some(Some(2)));
        assert_eq!(now.tomorrow.as_ref().map(|d| d.level), Some(None));
        assert_eq!(
            now.hour,
            Some(EcoWattHour {
                start: today.paris_time_utc(3, 0),
                level: 3
            })
        );
        // An hour the store lacks is unknown, not green.
        let late = store
            .ecowatt_now(today, today.paris_time_utc(23, 0))
            .unwrap();
        assert_eq!(late.hour, None);
        // Yesterday's day alone still says EcoWatt is collected.
        let next = store.ecowatt_now(d("2026-11-30"), 0).unwrap();
        assert!(next.collected && next.today.is_none() && next.tomorrow.is_none());
        // Two days later: nothing from yesterday on.
        assert_eq!(
            store.ecowatt_now(d("2026-12-01"), 0).unwrap(),
            EcoWattNow::default()
        );
    }
}
