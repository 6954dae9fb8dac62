//! The Tempo season: 1 September to 31 August, 22 red days, 43 white days,
//! and blue for every other day (300, or 301 in a season holding a 29
//! February). The calendar rule the host (quotas, the Tempo slot's
//! backfill) and the simulated site (season labels, the demo's colours)
//! share. A fact of the model, like [`Date`]: it holds no behaviour of
//! either side.

use crate::{Date, TempoColour};
use serde::Serialize;

/// Red days in a season (RTE's rule since the Tempo option began).
pub const RED_DAYS: u32 = 22;
/// White days in a season.
pub const WHITE_DAYS: u32 = 43;

/// A Tempo season: 1 September to the next 31 August, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TempoSeason {
    pub start: Date,
    pub end: Date,
}

impl TempoSeason {
    /// The season holding `date`.
    pub fn holding(date: Date) -> TempoSeason {
        let first_year = if date.month >= 9 {
            date.year
        } else {
            date.year - 1
        };
        TempoSeason {
            start: Date {
                year: first_year,
                month: 9,
                day: 1,
            },
            end: Date {
                year: first_year + 1,
                month: 8,
                day: 31,
            },
        }
    }

    /// 366 when the season holds a 29 February, else 365.
    pub fn days(&self) -> u32 {
        // Counted, not looked up: the calendar decides about 29 February.
        let n = self.end.days_since_epoch() - self.start.days_since_epoch() + 1;
        if n > 365 { 366 } else { 365 }
    }

    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// How many days of `colour` the season has.
    pub fn quota(&self, colour: TempoColour) -> u32 {
        match colour {
            TempoColour::Red => RED_DAYS,
            TempoColour::White => WHITE_DAYS,
            TempoColour::Blue => self.days() - RED_DAYS - WHITE_DAYS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TempoColour::{Blue, Red, White};

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn seasons_run_from_1_september_to_31_august() {
        let s = TempoSeason::holding(d("2026-08-31"));
        assert_eq!((s.start, s.end), (d("2025-09-01"), d("2026-08-31")));
        let s = TempoSeason::holding(d("2026-09-01"));
        assert_eq!((s.start, s.end), (d("2026-09-01"), d("2027-08-31")));
        assert_eq!(s.days(), 365);
        assert_eq!((s.quota(Blue), s.quota(White), s.quota(Red)), (300, 43, 22));
        // 2027-09-01 to 2028-08-31 holds 29 February 2028.
        let leap = TempoSeason::holding(d("2028-02-29"));
        assert_eq!(leap.start, d("2027-09-01"));
        assert_eq!(leap.days(), 366);
        assert_eq!(leap.quota(Blue), 301);
        assert!(leap.contains(d("2028-08-31")) && !leap.contains(d("2028-09-01")));
        assert_eq!(TempoSeason::holding(d("2026-01-01")).start, d("2025-09-01"));
        assert_eq!(TempoSeason::holding(d("2027-02-28")).start, d("2026-09-01"));
    }
}
