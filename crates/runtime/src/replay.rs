//! Replaying the catalog over archived logs as its schedules would have run it: every alert at
//! each tick of its own `rate(…)` schedule in `(from, to]`, in time order.
//!
//! This is what a deployed account would have seen, one run at a time, with the same runner and
//! the same dedup (a recorded run tags its events, so a later tick leaves them out). It is slow by
//! design (one run per alert per tick) and exact by construction, which makes it the reference a
//! faster backtest is compared against.
//!
//! Ticks fall on multiples of the rate since the Unix epoch (`rate(5 minutes)`: :00, :05, …).
//! EventBridge counts from when the rule was created; aligned ticks make a replay reproducible.
//! `cron(…)` schedules are refused: a replay would have to guess them.

use chrono::{DateTime, TimeDelta, Utc};

/// At most this many runs in one replay (a month of 5-minute ticks for 100 alerts is 864,000).
pub const MAX_RUNS: usize = 2_000_000;

/// Why a replay cannot be planned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    /// `to` is not after `from`.
    #[error("the replay's end ({to}) is not after its start ({from})")]
    Empty {
        /// Start.
        from: String,
        /// End.
        to: String,
    },
    /// The schedule is not `rate(N unit)`.
    #[error("alert {alert}: schedule {schedule:?} cannot be replayed (only rate(N minutes|hours|days) can)")]
    Schedule {
        /// The alert.
        alert: String,
        /// Its schedule.
        schedule: String,
    },
    /// Too many runs.
    #[error("the replay would make more than {MAX_RUNS} runs: shorten the span or choose alerts")]
    TooLong,
}

/// The period of a `rate(N unit)` schedule.
pub fn rate(schedule: &str) -> Option<TimeDelta> {
    let (num, unit) = schedule.strip_prefix("rate(")?.strip_suffix(')')?.split_once(' ')?;
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    n.checked_mul(secs).and_then(TimeDelta::try_seconds)
}

/// The runs of a replay, in order: `(tick, index into names)`, ticks on multiples of each
/// schedule's rate in `(from, to]`; at one tick, alerts in the order given.
pub fn schedule(
    alerts: &[(String, String)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, usize)>, ReplayError> {
    if to <= from {
        return Err(ReplayError::Empty {
            from: tripline_event::format_timestamp(from),
            to: tripline_event::format_timestamp(to),
        });
    }
    let mut runs = Vec::new();
    for (i, (alert, expression)) in alerts.iter().enumerate() {
        let ticks = Ticks::new(alert, expression, from, to)?;
        if runs.len().saturating_add(usize::try_from(ticks.len()).unwrap_or(usize::MAX)) > MAX_RUNS {
            return Err(ReplayError::TooLong);
        }
        runs.extend(ticks.iter().map(|at| (at, i)));
    }
    runs.sort_by_key(|&(at, i)| (at, i));
    Ok(runs)
}

/// The ticks of one alert's schedule in `(from, to]`: multiples of its rate since the epoch.
#[derive(Clone, Copy, Debug)]
pub struct Ticks {
    start: i64,
    pub(crate) period: TimeDelta,
    /// The last tick (or `from` when there is none).
    pub(crate) last: DateTime<Utc>,
    pub(crate) count: u64,
}

impl Ticks {
    /// The ticks of `schedule` in `(from, to]`, at most [`MAX_RUNS`].
    pub fn new(
        alert: &str,
        schedule: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Self, ReplayError> {
        if to <= from {
            return Err(ReplayError::Empty {
                from: tripline_event::format_timestamp(from),
                to: tripline_event::format_timestamp(to),
            });
        }
        let period = rate(schedule).ok_or_else(|| ReplayError::Schedule {
            alert: alert.to_string(),
            schedule: schedule.to_string(),
        })?;
        let p = period.num_seconds();
        let start = from.timestamp().div_euclid(p).saturating_add(1).saturating_mul(p);
        let end = to.timestamp().div_euclid(p).saturating_mul(p);
        let count = if end < start { 0 } else { (end - start) / p + 1 };
        if count > MAX_RUNS as i64 {
            return Err(ReplayError::TooLong);
        }
        let last = DateTime::from_timestamp(end, 0).filter(|_| count > 0).unwrap_or(from);
        Ok(Ticks { start, period, last, count: count.unsigned_abs() })
    }

    /// The first tick.
    pub fn first(&self) -> Option<DateTime<Utc>> {
        (self.count > 0).then(|| DateTime::from_timestamp(self.start, 0)).flatten()
    }

    /// Every tick, in order.
    pub fn iter(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        (0..self.count).map_while(move |i| self.nth(i))
    }

    /// Tick `i` (from 0).
    fn nth(&self, i: u64) -> Option<DateTime<Utc>> {
        i64::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(self.period.num_seconds()))
            .and_then(|d| self.start.checked_add(d))
            .and_then(|t| DateTime::from_timestamp(t, 0))
    }

    /// The ticks at or after `at`, in order.
    pub fn from(&self, at: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let p = self.period.num_seconds().max(1);
        // The index of the first tick at or after `at`.
        let skip = at.timestamp().saturating_sub(self.start);
        let first = if skip <= 0 { 0 } else { skip.saturating_add(p - 1) / p };
        let first =
            if at.timestamp_subsec_nanos() > 0 && skip >= 0 && skip % p == 0 { first + 1 } else { first };
        let first = u64::try_from(first).unwrap_or(u64::MAX);
        (first..self.count).map_while(move |i| self.nth(i))
    }

    /// How many.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        tripline_dsl::parse_timestamp(s).unwrap()
    }

    #[test]
    fn rates() {
        assert_eq!(rate("rate(5 minutes)"), Some(TimeDelta::minutes(5)));
        assert_eq!(rate("rate(1 hour)"), Some(TimeDelta::hours(1)));
        assert_eq!(rate("rate(2 days)"), Some(TimeDelta::days(2)));
        assert_eq!(rate("rate(0 minutes)"), None);
        assert_eq!(rate("cron(0 12 * * ? *)"), None);
        assert_eq!(rate(&format!("rate({} days)", i64::MAX)), None);
    }

    #[test]
    fn ticks_are_aligned_and_ordered() {
        let alerts = vec![
            ("a".to_string(), "rate(5 minutes)".to_string()),
            ("b".to_string(), "rate(15 minutes)".to_string()),
        ];
        let runs = schedule(&alerts, t("2024-06-03T00:02:00Z"), t("2024-06-03T00:30:00Z")).unwrap();
        let shown: Vec<String> = runs
            .iter()
            .map(|(at, i)| format!("{} {}", &tripline_event::format_timestamp(*at)[11..16], alerts[*i].0))
            .collect();
        assert_eq!(
            shown,
            ["00:05 a", "00:10 a", "00:15 a", "00:15 b", "00:20 a", "00:25 a", "00:30 a", "00:30 b"]
        );
        // `from` itself is not a tick (a run there belongs to the span before); `to` is.
        let runs = schedule(&alerts[..1], t("2024-06-03T00:00:00Z"), t("2024-06-03T00:05:00Z")).unwrap();
        assert_eq!(runs, vec![(t("2024-06-03T00:05:00Z"), 0)]);
    }

    #[test]
    fn refusals() {
        let cron = vec![("c".to_string(), "cron(0 12 * * ? *)".to_string())];
        let err = schedule(&cron, t("2024-06-03T00:00:00Z"), t("2024-06-04T00:00:00Z")).unwrap_err();
        assert!(
            err.to_string().contains("alert c: schedule \"cron(0 12 * * ? *)\" cannot be replayed"),
            "{err}"
        );
        let a = vec![("a".to_string(), "rate(1 minute)".to_string())];
        assert!(matches!(
            schedule(&a, t("2024-06-04T00:00:00Z"), t("2024-06-03T00:00:00Z")),
            Err(ReplayError::Empty { .. })
        ));
        assert_eq!(
            schedule(&a, t("1700-01-01T00:00:00Z"), t("2200-01-01T00:00:00Z")),
            Err(ReplayError::TooLong)
        );
    }
}
