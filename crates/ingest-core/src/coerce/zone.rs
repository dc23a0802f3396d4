//! Local (wall clock) times to UTC in the text format's zone, resolving DST transitions as
//! PostgreSQL does (appendix B.2 of its manual): a time in a spring-forward gap takes the
//! offset in effect just before the transition (so 02:30 in a 02:00→03:00 gap is 03:30 of
//! the new offset); an ambiguous time in a fall-back overlap takes the offset in effect just
//! after it (the later of the two instants).

use std::cell::Cell;

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::iso::{MICROS_PER_DAY, MICROS_PER_SECOND};

/// Local days whose offset is remembered (direct-mapped by day number).
const CACHED_DAYS: usize = 1024;
/// In a cache slot: the day has a transition, resolve each time separately.
const MIXED: i32 = i32::MIN;

pub(super) struct Zone {
    tz: Tz,
    /// UTC itself: no conversion at all.
    is_utc: bool,
    /// `(local day, its one offset or MIXED)`: chrono-tz lookups are the slow part.
    days: Vec<Cell<(i64, i32)>>,
}

impl Zone {
    pub(super) fn new(tz: Tz) -> Zone {
        let is_utc = matches!(
            tz,
            Tz::UTC
                | Tz::Etc__UTC
                | Tz::Etc__UCT
                | Tz::Etc__Universal
                | Tz::Etc__Zulu
                | Tz::UCT
                | Tz::Universal
                | Tz::Zulu
        );
        let days = if is_utc {
            Vec::new()
        } else {
            vec![Cell::new((i64::MIN, 0)); CACHED_DAYS]
        };
        Zone { tz, is_utc, days }
    }

    /// Microseconds since the epoch, UTC, of a local time given as microseconds since the
    /// epoch of the wall clock. `None` when outside chrono's range.
    pub(super) fn to_utc(&self, local_micros: i64) -> Option<i64> {
        if self.is_utc {
            return Some(local_micros);
        }
        let day = local_micros.div_euclid(MICROS_PER_DAY);
        let slot = &self.days[day.rem_euclid(CACHED_DAYS as i64) as usize];
        let offset = match slot.get() {
            (cached, offset) if cached == day && offset != MIXED => offset,
            (cached, _) if cached == day => self.offset_of_local(local_micros)?,
            _ => {
                // A day with one offset from its first to its last microsecond has no
                // transition (zones never have two in a day).
                let first = self.single_offset(day * MICROS_PER_DAY);
                let last = self.single_offset((day + 1) * MICROS_PER_DAY - 1);
                let uniform = first.filter(|_| first == last);
                slot.set((day, uniform.unwrap_or(MIXED)));
                match uniform {
                    Some(offset) => offset,
                    None => self.offset_of_local(local_micros)?,
                }
            }
        };
        local_micros.checked_sub(i64::from(offset) * MICROS_PER_SECOND)
    }

    fn naive(local_micros: i64) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_micros(local_micros).map(|dt| dt.naive_utc())
    }

    /// The offset of a local time that is neither in a gap nor in an overlap.
    fn single_offset(&self, local_micros: i64) -> Option<i32> {
        match self
            .tz
            .offset_from_local_datetime(&Self::naive(local_micros)?)
        {
            LocalResult::Single(offset) => Some(offset.fix().local_minus_utc()),
            _ => None,
        }
    }

    /// Seconds east of UTC that apply to a local time.
    fn offset_of_local(&self, local_micros: i64) -> Option<i32> {
        let local = Self::naive(local_micros)?;
        match self.tz.offset_from_local_datetime(&local) {
            LocalResult::Single(offset) => Some(offset.fix().local_minus_utc()),
            // The offset after the transition is the smaller one (clocks went back).
            LocalResult::Ambiguous(a, b) => {
                Some(a.fix().local_minus_utc().min(b.fix().local_minus_utc()))
            }
            LocalResult::None => {
                // The offset a day earlier, before the transition (zones never have two
                // transitions a day apart).
                let before = local.checked_sub_signed(chrono::TimeDelta::days(1))?;
                Some(
                    self.tz
                        .offset_from_utc_datetime(&before)
                        .fix()
                        .local_minus_utc(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc_of(tz: Tz, local: &str) -> String {
        let micros = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let utc = Zone::new(tz).to_utc(micros).unwrap();
        DateTime::from_timestamp_micros(utc)
            .unwrap()
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    #[test]
    fn plain_offsets() {
        assert_eq!(utc_of(Tz::UTC, "2024-01-15 10:00"), "2024-01-15 10:00");
        assert_eq!(
            utc_of(Tz::America__Sao_Paulo, "2024-01-15 10:00"),
            "2024-01-15 13:00"
        );
        assert_eq!(
            utc_of(Tz::Asia__Kolkata, "2024-01-15 10:00"),
            "2024-01-15 04:30"
        );
        // Summer time in São Paulo until 2019: -02.
        assert_eq!(
            utc_of(Tz::America__Sao_Paulo, "2018-01-15 10:00"),
            "2018-01-15 12:00"
        );
    }

    #[test]
    fn gaps_shift_forward_like_postgresql() {
        // PostgreSQL's manual: '2018-03-11 02:30' in America/New_York is 03:30 EDT.
        assert_eq!(
            utc_of(Tz::America__New_York, "2018-03-11 02:30"),
            "2018-03-11 07:30"
        );
        // São Paulo jumped from 00:00 to 01:00 on 2018-11-04: 00:30 is 01:30 -02.
        assert_eq!(
            utc_of(Tz::America__Sao_Paulo, "2018-11-04 00:30"),
            "2018-11-04 03:30"
        );
    }

    proptest! {
        #[test]
        fn the_day_cache_changes_nothing(hours in proptest::collection::vec(-200_000i64..600_000, 1..200), minute in 0i64..60) {
            // Local times 1947-2038, around many DST transitions, through one zone's cache
            // and resolved one by one.
            for tz in [Tz::America__Sao_Paulo, Tz::America__New_York, Tz::Australia__Lord_Howe] {
                let shared = Zone::new(tz);
                for round in 0..2 {
                    for h in &hours {
                        let local = (h * 60 + minute + round) * 60_000_000;
                        let uncached = shared.offset_of_local(local).map(|o| local - i64::from(o) * MICROS_PER_SECOND);
                        prop_assert_eq!(shared.to_utc(local), uncached);
                    }
                }
            }
        }
    }

    #[test]
    fn overlaps_take_the_offset_after_the_transition() {
        // PostgreSQL's manual: '2018-11-04 01:30' in America/New_York is 01:30 EST.
        assert_eq!(
            utc_of(Tz::America__New_York, "2018-11-04 01:30"),
            "2018-11-04 06:30"
        );
        // São Paulo went from 00:00 -02 back to 23:00 -03 on 2018-02-18.
        assert_eq!(
            utc_of(Tz::America__Sao_Paulo, "2018-02-17 23:30"),
            "2018-02-18 02:30"
        );
    }
}
