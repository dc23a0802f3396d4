//! When a registered source runs: `every` (a duration) or five-field `cron` in a time
//! zone (croner). Ticks are computed from the scheduled time, not from when a process
//! happened to look, so every process agrees on them; missed ticks (the service was down)
//! collapse into the next one to come.

use chrono::{DateTime, Utc};
use croner::Cron;

use crate::spec::{Schedule, SpecError, duration};

/// A schedule, read and checked.
#[derive(Debug, Clone)]
pub enum Ticks {
    Every(chrono::Duration),
    Cron(Box<Cron>, chrono_tz::Tz),
}

impl Ticks {
    pub fn of(schedule: &Schedule) -> Result<Ticks, SpecError> {
        match (&schedule.every, &schedule.cron) {
            (Some(every), _) => {
                let d = duration(every, "schedule.every")?;
                Ok(Ticks::Every(chrono::Duration::from_std(d).map_err(
                    |_| SpecError::Invalid(format!("schedule.every {every:?}: too long")),
                )?))
            }
            (None, Some(cron)) => {
                if cron.split_whitespace().count() != 5 {
                    return Err(SpecError::Invalid(format!(
                        "schedule.cron {cron:?}: five fields (minute hour day-of-month month day-of-week)"
                    )));
                }
                let parsed: Cron = cron
                    .parse()
                    .map_err(|e| SpecError::Invalid(format!("schedule.cron {cron:?}: {e}")))?;
                let zone = schedule.timezone.as_deref().unwrap_or("UTC");
                let tz: chrono_tz::Tz = zone.parse().map_err(|_| {
                    SpecError::Invalid(format!(
                        "schedule.timezone {zone:?}: not a time zone (e.g. America/Sao_Paulo)"
                    ))
                })?;
                Ok(Ticks::Cron(Box::new(parsed), tz))
            }
            (None, None) => Err(SpecError::Invalid(
                "schedule: give `every` or `cron`".into(),
            )),
        }
    }

    /// The first tick of a source registered (or resumed) at `now`: at once for `every`,
    /// the next matching minute for `cron`.
    pub fn first(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Ticks::Every(_) => now,
            Ticks::Cron(..) => self.after(now, now),
        }
    }

    /// The tick after the one scheduled for `scheduled`, and after `now`.
    pub fn after(&self, scheduled: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Ticks::Every(every) => {
                let mut next = scheduled + *every;
                if next <= now {
                    let behind =
                        (now - scheduled).num_milliseconds() / every.num_milliseconds().max(1);
                    next = scheduled + *every * (behind as i32 + 1);
                }
                next
            }
            Ticks::Cron(cron, tz) => {
                let from = scheduled.max(now).with_timezone(tz);
                cron.find_next_occurrence(&from, false)
                    .map(|t| t.with_timezone(&Utc))
                    // A pattern that never matches again (Feb 30th): in a year, look again.
                    .unwrap_or(now + chrono::Duration::days(365))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(every: Option<&str>, cron: Option<&str>, tz: Option<&str>) -> Schedule {
        Schedule {
            every: every.map(str::to_string),
            cron: cron.map(str::to_string),
            timezone: tz.map(str::to_string),
        }
    }

    #[test]
    fn every_counts_from_the_scheduled_time_and_skips_what_was_missed() {
        let t = Ticks::of(&schedule(Some("5m"), None, None)).unwrap();
        let s = at("2026-12-06T10:00:00Z");
        assert_eq!(
            t.after(s, at("2026-12-06T10:00:01Z")),
            at("2026-12-06T10:05:00Z")
        );
        // Down for an hour: the next tick is the next one to come, not twelve at once.
        assert_eq!(
            t.after(s, at("2026-12-06T11:02:00Z")),
            at("2026-12-06T11:05:00Z")
        );
        assert_eq!(t.first(s), s);
    }

    #[test]
    fn cron_runs_in_its_time_zone() {
        let t = Ticks::of(&schedule(
            None,
            Some("0 6 * * *"),
            Some("America/Sao_Paulo"),
        ))
        .unwrap();
        // 06:00 in São Paulo (UTC-3) is 09:00 UTC.
        let now = at("2026-12-06T10:00:00Z");
        assert_eq!(t.first(now), at("2026-12-07T09:00:00Z"));
        let every_15 = Ticks::of(&schedule(None, Some("*/15 * * * *"), None)).unwrap();
        assert_eq!(
            every_15.after(at("2026-12-06T10:15:00Z"), at("2026-12-06T10:15:02Z")),
            at("2026-12-06T10:30:00Z")
        );
        assert!(Ticks::of(&schedule(None, Some("0 6 * *"), None)).is_err());
        assert!(Ticks::of(&schedule(None, Some("0 6 * * *"), Some("Mars/Olympus"))).is_err());
        assert!(Ticks::of(&schedule(None, Some("61 6 * * *"), None)).is_err());
    }
}
