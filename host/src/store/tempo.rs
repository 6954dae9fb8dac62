//! The Tempo outlook: which colour a day has once every stored source is
//! weighed, where the household stands in the season's quotas, and where
//! the sources contradict each other.
//!
//! # What it owns
//! - The resolved colour of a day ([`Store::tempo_colours`]): the Tempo
//!   service's colour when it knows one, else the tariff keys' colour when
//!   every meter that shows one agrees. Meters that disagree among
//!   themselves, with no service colour, leave the day unknown: guessing
//!   would make the counters lie.
//! - The outlook ([`Store::tempo_outlook`]): today, tomorrow, the season's
//!   counters and the disagreements between the service and the tariff
//!   keys (worded for people by `cli::status`).
//!
//! # What it must never do
//! - Write: it reads `tempo_days` as the ingests left it. A wrong colour is
//!   fixed by the source that stored it, never here.
//! - Hide a problem: an over-quota season keeps its real `used` count (the
//!   excess is reported in `over_quota`, `remaining` stops at 0), and every
//!   date where the service and a meter differ is listed, not settled
//!   silently.
//! - Invent a colour: a day no source knows stays unknown (`None`), and is
//!   counted as such, never as blue.

use super::Store;
use anyhow::{Context, Result};
use hellowatt_snapshot::{Date, TempoColour, TempoSeason, TempoSource};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The colours in the order outputs list them.
pub const TEMPO_COLOURS: [TempoColour; 3] =
    [TempoColour::Blue, TempoColour::White, TempoColour::Red];

/// A day's colour and the source it was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResolvedColour {
    pub colour: TempoColour,
    pub source: TempoSource,
}

/// Today or tomorrow in the outlook. Serialised as `{date, colour,
/// source}`, with `null` colour and source when no source knows the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlookDay {
    pub date: Date,
    pub resolved: Option<ResolvedColour>,
}

impl OutlookDay {
    pub fn colour(&self) -> Option<TempoColour> {
        self.resolved.map(|r| r.colour)
    }
}

impl Serialize for OutlookDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("OutlookDay", 3)?;
        st.serialize_field("date", &self.date)?;
        st.serialize_field("colour", &self.resolved.map(|r| r.colour))?;
        st.serialize_field("source", &self.resolved.map(|r| r.source))?;
        st.end()
    }
}

/// One colour's counters in a season.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColourCount {
    pub quota: u32,
    /// Days of the season, up to and including tomorrow, with this colour.
    pub used: u32,
    /// `quota - used`, never below 0.
    pub remaining: u32,
    /// `used - quota` when the season has more days of this colour than its
    /// quota (a source is wrong, or the quota changed), else 0.
    pub over_quota: u32,
}

impl ColourCount {
    fn new(quota: u32, used: u32) -> ColourCount {
        ColourCount {
            quota,
            used,
            remaining: quota.saturating_sub(used),
            over_quota: used.saturating_sub(quota),
        }
    }
}

/// Counters of every colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColourCounts {
    pub blue: ColourCount,
    pub white: ColourCount,
    pub red: ColourCount,
}

impl ColourCounts {
    pub fn get(&self, colour: TempoColour) -> &ColourCount {
        match colour {
            TempoColour::Blue => &self.blue,
            TempoColour::White => &self.white,
            TempoColour::Red => &self.red,
        }
    }
}

/// Where the season stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeasonCount {
    pub start: Date,
    pub end: Date,
    /// 365 or 366.
    pub days: u32,
    /// The last day counted: tomorrow, or the season's end when tomorrow
    /// starts the next season.
    pub counted_to: Date,
    /// Days from `start` to `counted_to` that no source knows the colour
    /// of: while it is above 0 the `used` counts are a lower bound.
    pub unknown_days: u32,
    pub colours: ColourCounts,
}

/// A date where the Tempo service and a meter's tariff keys both know a
/// colour, and not the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TempoDisagreement {
    pub date: Date,
    pub service: TempoColour,
    pub tariff: TempoColour,
    pub meter_id: String,
}

/// Today, tomorrow and the season, as every output shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TempoOutlook {
    pub today: OutlookDay,
    pub tomorrow: OutlookDay,
    pub season: SeasonCount,
    /// Within the season, up to tomorrow, by date then meter.
    pub disagreements: Vec<TempoDisagreement>,
}

/// What the stored rows of one date say.
#[derive(Debug, Default)]
struct DateRows {
    /// Known colours of the service's rows (normally one row, meter NULL).
    service: Vec<TempoColour>,
    /// Known colours of the tariff keys, by meter.
    tariff: BTreeMap<String, TempoColour>,
}

/// The one colour every item agrees on; `None` for none or a conflict.
fn agreed(mut colours: impl Iterator<Item = TempoColour>) -> Option<TempoColour> {
    let first = colours.next()?;
    colours.all(|c| c == first).then_some(first)
}

impl DateRows {
    fn resolve(&self) -> Option<ResolvedColour> {
        // Two service rows that disagree (a meter id on a service row would
        // allow it) leave the service unsure: the tariff keys decide then.
        if let Some(colour) = agreed(self.service.iter().copied()) {
            return Some(ResolvedColour {
                colour,
                source: TempoSource::Service,
            });
        }
        agreed(self.tariff.values().copied()).map(|colour| ResolvedColour {
            colour,
            source: TempoSource::TariffKeys,
        })
    }

    fn disagreements(&self, date: Date, out: &mut Vec<TempoDisagreement>) {
        let mut service = self.service.clone();
        service.dedup();
        for s in service {
            for (meter, t) in &self.tariff {
                if *t != s {
                    out.push(TempoDisagreement {
                        date,
                        service: s,
                        tariff: *t,
                        meter_id: meter.clone(),
                    });
                }
            }
        }
    }
}

impl Store {
    /// The stored rows of `from..=to`, grouped by date.
    fn tempo_rows(&self, from: Date, to: Date) -> Result<BTreeMap<Date, DateRows>> {
        let mut by_date: BTreeMap<Date, DateRows> = BTreeMap::new();
        for t in self.tempo_days(from, to)? {
            let Some(colour) = t.colour else {
                continue;
            };
            let rows = by_date.entry(t.date).or_default();
            match (t.source, t.meter_id) {
                (TempoSource::Service, _) => rows.service.push(colour),
                (TempoSource::TariffKeys, Some(meter)) => {
                    rows.tariff.insert(meter, colour);
                }
                // Ingest refuses tariff keys without a meter; a hand-edited
                // row without one says nothing about any meter.
                (TempoSource::TariffKeys, None) => {}
            }
        }
        Ok(by_date)
    }

    /// The resolved colour of every day of `from..=to` that has one (see
    /// the module docs); days no source knows are absent.
    pub fn tempo_colours(&self, from: Date, to: Date) -> Result<BTreeMap<Date, ResolvedColour>> {
        Ok(self
            .tempo_rows(from, to)?
            .into_iter()
            .filter_map(|(date, rows)| rows.resolve().map(|r| (date, r)))
            .collect())
    }

    /// Today and tomorrow, the counters of the season holding `today` and
    /// the season's disagreements. `used` counts the season's days up to
    /// and including tomorrow whose colour is known: an announced day
    /// counts as used, as RTE and EDF count it.
    pub fn tempo_outlook(&self, today: Date) -> Result<TempoOutlook> {
        let tomorrow = today.succ();
        let season = TempoSeason::holding(today);
        let counted_to = tomorrow.min(season.end);
        let rows = self
            .tempo_rows(season.start, tomorrow)
            .with_context(|| format!("reading the Tempo days from {}", season.start))?;
        let day = |date: Date| OutlookDay {
            date,
            resolved: rows.get(&date).and_then(DateRows::resolve),
        };
        let mut used = [0u32; 3];
        let mut known = 0u32;
        let mut disagreements = Vec::new();
        for (date, r) in rows.range(season.start..=counted_to) {
            if let Some(resolved) = r.resolve() {
                known += 1;
                if let Some(i) = TEMPO_COLOURS.iter().position(|c| *c == resolved.colour) {
                    used[i] += 1;
                }
            }
            r.disagreements(*date, &mut disagreements);
        }
        let counted = counted_to.days_since_epoch() - season.start.days_since_epoch() + 1;
        let counted = u32::try_from(counted).context("counting the season's days")?;
        let count = |i: usize| ColourCount::new(season.quota(TEMPO_COLOURS[i]), used[i]);
        Ok(TempoOutlook {
            today: day(today),
            tomorrow: day(tomorrow),
            season: SeasonCount {
                start: season.start,
                end: season.end,
                days: season.days(),
                counted_to,
                unknown_days: counted.saturating_sub(known),
                colours: ColourCounts {
                    blue: count(0),
                    white: count(1),
                    red: count(2),
                },
            },
            disagreements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ACCOUNT, d, guest, home};
    use super::*;
    use hellowatt_snapshot::{Home, Meter, Snapshot, TempoDay};

    const PDL: &str = super::super::test_support::PDL;
    const PDL2: &str = "98765432109876";

    fn service(date: &str, colour: Option<TempoColour>) -> TempoDay {
        TempoDay {
            date: d(date),
            colour,
            source: TempoSource::Service,
            meter_id: None,
        }
    }

    fn keys(date: &str, meter: &str, colour: TempoColour) -> TempoDay {
        TempoDay {
            date: d(date),
            colour: Some(colour),
            source: TempoSource::TariffKeys,
            meter_id: Some(meter.into()),
        }
    }

    /// A store holding the test home, a second electricity meter and
    /// `days`, stored through the ingest as the guests would.
    fn store_with(days: Vec<TempoDay>) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let mut h: Home = home();
        h.meters.push(Meter {
            id: PDL2.into(),
            energy: hellowatt_snapshot::Energy::Electricity,
        });
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2024-09-01"), d("2027-08-31"), 1)
            .unwrap();
        let snapshot = Snapshot {
            homes: vec![h],
            tempo_days: days,
            ..Snapshot::default()
        };
        store.ingest(run, ACCOUNT, &snapshot, 2).unwrap();
        store
    }

    use TempoColour::{Blue, Red, White};

    #[test]
    fn the_service_beats_the_tariff_keys_which_must_agree() {
        let store = store_with(vec![
            // The service decides, even against both meters.
            service("2026-01-05", Some(Red)),
            keys("2026-01-05", PDL, White),
            keys("2026-01-05", PDL2, White),
            // No service colour: the meters agree.
            service("2026-01-06", None),
            keys("2026-01-06", PDL, White),
            keys("2026-01-06", PDL2, White),
            // The meters disagree among themselves: unknown.
            keys("2026-01-07", PDL, Blue),
            keys("2026-01-07", PDL2, White),
            // One meter alone is enough.
            keys("2026-01-08", PDL2, Blue),
        ]);
        let c = store
            .tempo_colours(d("2026-01-01"), d("2026-01-31"))
            .unwrap();
        let r = |colour, source| ResolvedColour { colour, source };
        assert_eq!(c[&d("2026-01-05")], r(Red, TempoSource::Service));
        assert_eq!(c[&d("2026-01-06")], r(White, TempoSource::TariffKeys));
        assert!(!c.contains_key(&d("2026-01-07")), "meters disagree");
        assert_eq!(c[&d("2026-01-08")], r(Blue, TempoSource::TariffKeys));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn counters_count_known_days_up_to_tomorrow() {
        let store = store_with(vec![
            // Last season: not counted.
            keys("2026-08-31", PDL, Red),
            keys("2026-09-01", PDL, Blue),
            keys("2026-09-02", PDL, Blue),
            service("2026-11-27", Some(White)),
            service("2026-11-28", Some(Red)),
            // Tomorrow, announced: counted.
            service("2026-11-29", Some(Red)),
            // After tomorrow (not possible today, but never counted).
            service("2026-11-30", Some(Red)),
        ]);
        let o = store.tempo_outlook(d("2026-11-28")).unwrap();
        assert_eq!(o.today.colour(), Some(Red));
        assert_eq!(o.tomorrow.date, d("2026-11-29"));
        assert_eq!(o.tomorrow.colour(), Some(Red));
        let s = &o.season;
        assert_eq!(
            (s.start, s.end, s.days),
            (d("2026-09-01"), d("2027-08-31"), 365)
        );
        assert_eq!(s.counted_to, d("2026-11-29"));
        assert_eq!(s.colours.blue, ColourCount::new(300, 2));
        assert_eq!(s.colours.white, ColourCount::new(43, 1));
        assert_eq!(
            s.colours.red,
            ColourCount {
                quota: 22,
                used: 2,
                remaining: 20,
                over_quota: 0
            }
        );
        // 1 September to 29 November is 90 days, 5 of them known.
        assert_eq!(s.unknown_days, 85);
        assert!(o.disagreements.is_empty());
    }

    #[test]
    fn an_over_quota_season_is_reported_not_hidden() {
        let days: Vec<TempoDay> = (0..25)
            .map(|i| service(&d("2026-12-01").add_days(i).to_string(), Some(Red)))
            .collect();
        let store = store_with(days);
        let o = store.tempo_outlook(d("2027-01-10")).unwrap();
        let red = o.season.colours.red;
        assert_eq!((red.used, red.remaining, red.over_quota), (25, 0, 3));
        let said = crate::cli::status::tempo_sentences(&o).join("\n");
        assert!(
            said.contains("25 of 22 red days (0 left, 3 OVER QUOTA)"),
            "{said}"
        );
    }

    #[test]
    fn an_unannounced_tomorrow_is_unknown() {
        let store = store_with(vec![
            service("2026-11-28", Some(White)),
            service("2026-11-29", None),
        ]);
        let o = store.tempo_outlook(d("2026-11-28")).unwrap();
        assert_eq!(
            o.today.resolved,
            Some(ResolvedColour {
                colour: White,
                source: TempoSource::Service
            })
        );
        assert_eq!(o.tomorrow.resolved, None);
        assert_eq!(o.season.colours.white.used, 1);
        let json = serde_json::to_value(o.tomorrow).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"date": "2026-11-29", "colour": null, "source": null})
        );
        let json = serde_json::to_value(o.today).unwrap();
        assert_eq!(json["source"], "service");
    }

    #[test]
    fn the_last_day_of_a_season_counts_to_its_end() {
        let store = store_with(vec![
            service("2027-08-31", Some(Blue)),
            service("2027-09-01", Some(Blue)),
        ]);
        let o = store.tempo_outlook(d("2027-08-31")).unwrap();
        assert_eq!(o.season.end, d("2027-08-31"));
        assert_eq!(o.season.counted_to, d("2027-08-31"));
        assert_eq!(o.tomorrow.colour(), Some(Blue), "tomorrow is still shown");
        assert_eq!(
            o.season.colours.blue.used, 1,
            "next season's day not counted"
        );
        assert_eq!(o.season.unknown_days, 364);
    }

    #[test]
    fn every_disagreement_is_listed() {
        let store = store_with(vec![
            service("2026-11-20", Some(Red)),
            keys("2026-11-20", PDL, White),
            keys("2026-11-20", PDL2, Red),
            service("2026-11-21", Some(Blue)),
            keys("2026-11-21", PDL, White),
            keys("2026-11-21", PDL2, Red),
            // Agreement, and a service that does not know: no disagreement.
            service("2026-11-22", Some(Blue)),
            keys("2026-11-22", PDL, Blue),
            service("2026-11-23", None),
            keys("2026-11-23", PDL, Red),
            // Last season: not this outlook's business.
            service("2026-08-20", Some(Blue)),
            keys("2026-08-20", PDL, Red),
        ]);
        let o = store.tempo_outlook(d("2026-11-28")).unwrap();
        let got: Vec<(String, TempoColour, TempoColour, &str)> = o
            .disagreements
            .iter()
            .map(|x| (x.date.to_string(), x.service, x.tariff, x.meter_id.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-11-20".to_string(), Red, White, PDL),
                ("2026-11-21".to_string(), Blue, White, PDL),
                ("2026-11-21".to_string(), Blue, Red, PDL2),
            ]
        );
        // The service's colour is the one counted.
        assert_eq!(o.season.colours.red.used, 2, "20 and 23 November");
        assert_eq!(o.season.colours.blue.used, 2);
        let said = crate::cli::status::tempo_sentences(&o);
        assert!(
            said.contains(&format!(
                "DISAGREEMENT on Sat 21 Nov 2026: the Tempo service says blue, meter {PDL2}'s \
                 tariff keys say red."
            )),
            "{said:?}"
        );
    }

    #[test]
    fn an_empty_store_has_full_quotas_and_nothing_known() {
        let store = Store::open_in_memory().unwrap();
        let o = store.tempo_outlook(d("2026-09-01")).unwrap();
        assert_eq!(o.today.resolved, None);
        assert_eq!(o.season.colours.red, ColourCount::new(22, 0));
        assert_eq!(o.season.colours.blue.remaining, 300);
        assert_eq!(o.season.unknown_days, 2);
        assert!(o.disagreements.is_empty());
    }
}
