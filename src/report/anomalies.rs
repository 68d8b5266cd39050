//! Spend anomalies: daily billed spend per owner and per service against a robust baseline.
//!
//! The baseline of a day is the median and the median absolute deviation (MAD) of the days
//! before it. It is aware of the weekday: when at least `weekday_min_points` days with the
//! same weekday lie in the last `weekday_weeks` weeks, only those days form the baseline (so a
//! quiet Sunday is compared with Sundays); otherwise every day of the trailing
//! `window_days` does. Nothing is flagged before `min_history_days` days of history lie in the
//! trailing window. A day without any line is missing, not zero: it is neither evaluated nor
//! part of any baseline.
//!
//! A day is flagged when its spend is above the median by at least `min_impact` dollars and
//! by more than `min_relative` of the median, and, when the MAD is not zero, by more than
//! `threshold` robust deviations (`1.4826 × MAD`). A flat history (MAD 0) never divides by
//! zero: the first two conditions decide alone. Only rises are flagged. Commitment lines (RI
//! and Savings Plan fees: charge category `purchase`, line types `RIFee`, `Fee`,
//! `SavingsPlanRecurringFee`, `SavingsPlanUpfrontFee`) are left out, so the monthly fee on
//! the 1st is never a spike. Denial of wallet and retry loops live in [`super::wallet`].

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{Datelike as _, NaiveDate};
use polars::prelude::*;

use crate::config::AnomalyConfig;
use crate::ingest::builder::money_column;
use crate::model::costs;
use crate::money::Money;
use crate::report::frames::{self, date_column, mad, median};

/// Line item types of commitment purchases, never spikes.
pub const COMMITMENT_TYPES: [&str; 4] =
    ["RIFee", "Fee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee"];

/// The scale that makes a MAD comparable with a standard deviation of normal data.
const MAD_SCALE: f64 = 1.4826;

/// Columns of the anomalies report.
pub mod columns {
    pub const KIND: &str = "kind";
    pub const SUBJECT_TYPE: &str = "subject_type";
    pub const SUBJECT: &str = "subject";
    pub const DAY: &str = "day";
    pub const EXPECTED: &str = "expected";
    pub const ACTUAL: &str = "actual";
    pub const IMPACT: &str = "impact";
    pub const REASON: &str = "reason";
}

/// Kinds of rows in the anomalies report.
pub mod kinds {
    pub const SPEND: &str = "spend";
    pub const DENIAL_OF_WALLET: &str = "denial_of_wallet";
    pub const RETRY_LOOP: &str = "retry_loop";
    pub const HIDDEN_COST: &str = "hidden_cost";
}

/// One row of the anomalies report.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// One of [`kinds`].
    pub kind: &'static str,
    /// `owner`, `service`, `api_key`, `user` or `trace`.
    pub subject_type: String,
    pub subject: String,
    pub day: Option<NaiveDate>,
    pub expected: Option<Money>,
    pub actual: Money,
    pub impact: Money,
    /// Why, with the values behind it.
    pub reason: String,
}

impl Flag {
    /// True for flags that `--fail-on anomaly` fails on (hidden costs are information).
    pub fn is_anomaly(&self) -> bool {
        self.kind != kinds::HIDDEN_COST
    }
}

/// The report frame of flags, in the order given.
pub fn flags_frame(flags: &[Flag]) -> Result<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&Flag) -> String| {
        Column::new(name.into(), flags.iter().map(get).collect::<Vec<_>>())
    };
    let days: Vec<Option<NaiveDate>> = flags.iter().map(|f| f.day).collect();
    Ok(DataFrame::new_infer_height(vec![
        text(columns::KIND, &|f| f.kind.to_string()),
        text(columns::SUBJECT_TYPE, &|f| f.subject_type.clone()),
        text(columns::SUBJECT, &|f| f.subject.clone()),
        date_column(columns::DAY, &days)?,
        money_column(columns::EXPECTED, flags.iter().map(|f| f.expected)),
        money_column(columns::ACTUAL, flags.iter().map(|f| Some(f.actual))),
        money_column(columns::IMPACT, flags.iter().map(|f| Some(f.impact))),
        text(columns::REASON, &|f| f.reason.clone()),
    ])?)
}

/// A day judged against its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFlag {
    pub day: NaiveDate,
    pub expected: Money,
    pub actual: Money,
    pub impact: Money,
    pub reason: String,
}

/// Flags the days of `series` in `[from, to)` (all days when unbounded).
pub fn flag_series(
    series: &BTreeMap<NaiveDate, Money>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    config: &AnomalyConfig,
) -> Vec<DayFlag> {
    let in_range = |day: &NaiveDate| from.is_none_or(|f| *day >= f) && to.is_none_or(|t| *day < t);
    series
        .iter()
        .filter(|(day, _)| in_range(day))
        .filter_map(|(day, actual)| judge_day(series, *day, *actual, config))
        .collect()
}

/// The verdict on one day, `None` when it is not an anomaly or history is too short.
fn judge_day(
    series: &BTreeMap<NaiveDate, Money>,
    day: NaiveDate,
    actual: Money,
    config: &AnomalyConfig,
) -> Option<DayFlag> {
    let window_start = day - chrono::Duration::days(config.window_days.into());
    let window: Vec<Money> = series.range(window_start..day).map(|(_, v)| *v).collect();
    if window.len() < config.min_history_days as usize {
        return None;
    }
    let weekday_start = day - chrono::Duration::weeks(config.weekday_weeks.into());
    let same_weekday: Vec<Money> = series
        .range(weekday_start..day)
        .filter(|(d, _)| d.weekday() == day.weekday())
        .map(|(_, v)| *v)
        .collect();
    let (basis, label) = if same_weekday.len() >= config.weekday_min_points as usize {
        (same_weekday, format!("same-weekday days ({})", day.weekday()))
    } else {
        (window, format!("days in the last {}", config.window_days))
    };
    let expected = median(&basis)?;
    let deviation = mad(&basis, expected)?;
    let impact = actual - expected;
    if impact < config.min_impact || impact.is_zero() {
        return None;
    }
    let relative = impact.to_f64_lossy() / expected.abs().to_f64_lossy();
    if expected.abs().to_f64_lossy() > 0.0 && relative <= config.min_relative {
        return None;
    }
    let count = basis.len();
    let reason = if deviation.is_zero() {
        format!(
            "{} is {} above the flat median {} of {count} {label}; with no deviation (MAD 0) it \
             is flagged because the rise is at least `min_impact` {} and {:.0}% of the median",
            actual.cents_string(),
            impact.cents_string(),
            expected.cents_string(),
            config.min_impact.cents_string(),
            relative * 100.0
        )
    } else {
        let score = impact.to_f64_lossy() / (MAD_SCALE * deviation.to_f64_lossy());
        if score <= config.threshold {
            return None;
        }
        format!(
            "{} is {} above the median {} of {count} {label} (MAD {}, robust z {score:.1} > {})",
            actual.cents_string(),
            impact.cents_string(),
            expected.cents_string(),
            deviation.cents_string(),
            config.threshold
        )
    };
    Some(DayFlag { day, expected, actual, impact, reason })
}

/// Keeps every line that is not a commitment purchase.
pub fn without_commitments(frame: LazyFrame) -> LazyFrame {
    let mut commitment = col(costs::CHARGE_CATEGORY).eq(lit("purchase")).fill_null(lit(false));
    for kind in COMMITMENT_TYPES {
        commitment = commitment.or(col(costs::LINE_ITEM_TYPE).eq(lit(kind)).fill_null(lit(false)));
    }
    frame.filter(commitment.not())
}

/// Daily amounts per (group values, currency).
pub type DailySeries = BTreeMap<(Vec<String>, String), BTreeMap<NaiveDate, Money>>;

/// Daily billed spend series per group (`by` columns, nulls as `__unallocated__`) and
/// currency, commitments left out.
pub fn daily_series(frame: LazyFrame, by: &[String], tz: chrono_tz::Tz) -> Result<DailySeries> {
    let mut group = vec![frames::day_expr(costs::CHARGE_PERIOD_START, tz)?.alias("__day")];
    group.push(col(costs::BILLING_CURRENCY));
    group.extend(by.iter().map(|k| col(k.as_str())));
    let daily = without_commitments(frame)
        .group_by(group)
        .agg([col(costs::BILLED_COST).sum()])
        .collect()?;
    let days = frames::dates(&daily, "__day")?;
    let currencies = frames::strings(&daily, costs::BILLING_CURRENCY)?;
    let owners = frames::owners(&daily, by)?;
    let billed = frames::moneys(&daily, costs::BILLED_COST)?;
    let mut series: DailySeries = BTreeMap::new();
    for row in 0..daily.height() {
        let Some(day) = days[row] else { continue };
        let key = (owners[row].clone(), currencies[row].clone().unwrap_or_default());
        *series.entry(key).or_default().entry(day).or_default() += billed[row].unwrap_or_default();
    }
    Ok(series)
}

/// Spend anomalies per owner (`keys`) and per service over `[from, to)`; the frame must
/// hold the history before `from` too.
pub fn spend_anomalies(
    frame: &LazyFrame,
    keys: &[String],
    tz: chrono_tz::Tz,
    range: (Option<NaiveDate>, Option<NaiveDate>),
    config: &AnomalyConfig,
) -> Result<Vec<Flag>> {
    let mut flags = Vec::new();
    let groupings: [(&str, Vec<String>); 2] =
        [("owner", keys.to_vec()), ("service", vec![costs::SERVICE_NAME.to_string()])];
    for (subject_type, by) in groupings {
        for ((values, currency), series) in daily_series(frame.clone(), &by, tz)? {
            let subject = if subject_type == "owner" {
                frames::owner_label(&by, &values)
            } else {
                values.join(",")
            };
            for day in flag_series(&series, range.0, range.1, config) {
                flags.push(Flag {
                    kind: kinds::SPEND,
                    subject_type: subject_type.to_string(),
                    subject: subject.clone(),
                    day: Some(day.day),
                    expected: Some(day.expected),
                    actual: day.actual,
                    impact: day.impact,
                    reason: format!("{} ({currency})", day.reason),
                });
            }
        }
    }
    Ok(flags)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(n - 1)
    }

    fn config() -> AnomalyConfig {
        AnomalyConfig::default()
    }

    /// Days 1-30 at 95, 100, 105 repeating, day 31 missing, day 32 at 102.
    fn cycling_series() -> BTreeMap<NaiveDate, Money> {
        let mut series = BTreeMap::new();
        for n in 1..=30 {
            series.insert(
                day(n),
                Money::from_units([95, 100, 105][usize::try_from((n - 1) % 3).unwrap()]),
            );
        }
        series.insert(day(32), Money::from_units(102));
        series
    }

    #[test]
    fn cycling_history_with_missing_day_flags_nothing() {
        assert_eq!(flag_series(&cycling_series(), None, None, &config()), vec![]);
    }

    #[test]
    fn spike_after_cycling_history_is_flagged_against_the_median() {
        let mut series = cycling_series();
        series.insert(day(33), Money::from_units(400));
        let flags = flag_series(&series, None, None, &config());
        assert_eq!(flags.len(), 1, "{flags:?}");
        // Day 33's weekday peers in the last 8 weeks are days 26, 19, 12 and 5: 100, 95, 105
        // and 100, median 100. (All 27 days of the window give 100 as well: 8 x 95, 9 x 100,
        // 102, 9 x 105, the 14th is 100.) Impact 400 - 100 = 300.
        assert_eq!(flags[0].day, day(33));
        assert_eq!(flags[0].expected, Money::from_units(100));
        assert_eq!(flags[0].impact, Money::from_units(300));
        assert!(flags[0].reason.contains("same-weekday"), "{}", flags[0].reason);
    }

    #[test]
    fn nothing_is_flagged_before_the_minimum_history() {
        let mut series = BTreeMap::new();
        for n in 1..=13 {
            series.insert(day(n), Money::from_units(10));
        }
        series.insert(day(14), Money::from_units(1000));
        // Only 13 days of history before day 14: below the minimum of 14.
        assert_eq!(flag_series(&series, None, None, &config()), vec![]);
    }

    #[test]
    fn flat_history_does_not_divide_by_zero() {
        let mut series = BTreeMap::new();
        for n in 1..=22 {
            series.insert(day(n), Money::from_units(50));
        }
        assert_eq!(flag_series(&series, None, None, &config()), vec![]);
        series.insert(day(23), Money::from_units(150));
        let flags = flag_series(&series, None, None, &config());
        // Median 50, MAD 0; 150 - 50 = 100 is above min_impact 1 and 20% of 50.
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].expected, Money::from_units(50));
        assert_eq!(flags[0].impact, Money::from_units(100));
        assert!(flags[0].reason.contains("MAD 0"), "{}", flags[0].reason);
    }

    #[test]
    fn range_limits_the_days_judged() {
        let mut series = cycling_series();
        series.insert(day(33), Money::from_units(400));
        assert_eq!(flag_series(&series, Some(day(1)), Some(day(33)), &config()), vec![]);
        assert_eq!(flag_series(&series, Some(day(33)), Some(day(34)), &config()).len(), 1);
    }

    fn costs_frame(rows: &[(i64, &str, &str, &str, &str)]) -> LazyFrame {
        // (day, service, line item type, charge category, billed)
        let start: Vec<i64> =
            rows.iter().map(|r| i64::from(frames::epoch_days(day(r.0))) * 86_400_000).collect();
        let billed: Vec<Option<Money>> =
            rows.iter().map(|r| Some(Money::parse(r.4).unwrap())).collect();
        let mut frame = df!(
            costs::CHARGE_PERIOD_START => start,
            costs::SERVICE_NAME => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            costs::LINE_ITEM_TYPE => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            costs::CHARGE_CATEGORY => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            costs::BILLING_CURRENCY => vec!["USD"; rows.len()],
            "team" => vec![Some("search"); rows.len()],
        )
        .unwrap();
        frame.with_column(money_column(costs::BILLED_COST, billed.into_iter())).unwrap();
        frame
            .lazy()
            .with_column(col(costs::CHARGE_PERIOD_START).cast(crate::model::instant_dtype()))
    }

    #[test]
    fn ri_fee_on_the_first_is_not_an_anomaly() {
        // 31 days of $10 usage in January, then 1 February: $10 usage and a $300 RIFee.
        let mut rows: Vec<(i64, &str, &str, &str, &str)> =
            (1..=32).map(|n| (n, "AmazonEC2", "Usage", "usage", "10")).collect();
        rows.push((32, "AmazonEC2", "RIFee", "purchase", "300"));
        let flags = spend_anomalies(
            &costs_frame(&rows),
            &["team".to_string()],
            chrono_tz::UTC,
            (Some(day(32)), Some(day(33))),
            &config(),
        )
        .unwrap();
        assert_eq!(flags, vec![]);
    }

    #[test]
    fn usage_spike_is_flagged_per_owner_and_service() {
        let mut rows: Vec<(i64, &str, &str, &str, &str)> =
            (1..=20).map(|n| (n, "AmazonBedrock", "Usage", "usage", "10")).collect();
        rows.push((21, "AmazonBedrock", "Usage", "usage", "60"));
        let flags = spend_anomalies(
            &costs_frame(&rows),
            &["team".to_string()],
            chrono_tz::UTC,
            (None, None),
            &config(),
        )
        .unwrap();
        // Median 10, MAD 0: 60 - 10 = 50, once for the owner and once for the service.
        let subjects: Vec<&str> = flags.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["team=search", "AmazonBedrock"]);
        assert!(flags.iter().all(|f| f.impact == Money::from_units(50)));
        let frame = flags_frame(&flags).unwrap();
        assert_eq!(frame.height(), 2);
    }
}
