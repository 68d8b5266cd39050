//! Budget status: spend to date, the threshold ladder, forecasts, soft and hard state.
//!
//! Pure: spend points, the run's "now" and the configuration in, [`BudgetStatus`] out.
//!
//! - **Where spend comes from.** A scope that names an `api_key` or a `user` is spent by the
//!   gateway: each request's priced cost, else its logged cost (requests with neither are
//!   counted apart as unpriced). A scope of taxonomy keys only is spent by the invoice when a
//!   bill is given (the dollars allocated to each owner and day, which include what the
//!   gateway does not see), and by the gateway otherwise. [`SpendSource`] says which.
//! - **The period** is the calendar month (or UTC day, for `period = "daily"`) that contains
//!   the instant just before "now". Spend before its start never counts; "now" is exclusive,
//!   so the status as of the end of day 20 is "now" = day 21 at 00:00.
//! - **Thresholds** are percentages of `limit`; one is reached when spend is greater than or
//!   equal to it, on the UTC day of the spend that took the running total there.
//! - **Run-rate forecast**: spend / elapsed × period length, with elapsed time measured to
//!   the second (whole days at the end of a day; hours within a daily budget's day).
//! - **Recent forecast**: spend + (spend of the last 7 days / 7 days) × time remaining; the
//!   window is 6 hours for a daily budget, and shrinks to the elapsed time early in a period.
//!   It reacts to a change of pace (a new app, a runaway key) that the run rate averages out.
//! - The forecast notification fires when the run-rate forecast reaches the limit (AWS
//!   Budgets' `FORECASTED` notification at 100%).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, TimeZone as _, Utc};
use polars::prelude::*;

use crate::config::BudgetConfig;
use crate::ingest::builder::money_values;
use crate::model::{allocations, metrics};
use crate::money::Money;
use crate::report::ledger::{RequestRow, Scope};

/// Day column of the owner-and-day invoice frame (`date`, owner keys, `amount`).
pub const DAY: &str = metrics::DATE;

/// One amount spent at an instant (a request, or a day of invoice cost at its midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendPoint {
    pub at: DateTime<Utc>,
    pub amount: Money,
}

/// Where a budget's spend was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendSource {
    Gateway,
    Invoice,
}

impl SpendSource {
    /// `gateway` or `invoice`.
    pub fn label(self) -> &'static str {
        match self {
            SpendSource::Gateway => "gateway",
            SpendSource::Invoice => "invoice",
        }
    }
}

/// The soft and hard state of a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok,
    Soft,
    Hard,
}

impl State {
    /// `ok`, `soft` or `hard`.
    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Soft => "soft",
            State::Hard => "hard",
        }
    }
}

/// The current period of a budget, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `2026-11` or `2026-11-05`.
    pub label: String,
}

/// Spend of one UTC day and the running total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpend {
    pub day: NaiveDate,
    pub spend: Money,
    pub cumulative: Money,
}

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    pub percent: u32,
    pub amount: Money,
    pub reached_on: Option<NaiveDate>,
}

/// The value a budget buys, to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueStatus {
    pub metric: String,
    pub value: Money,
    pub target: Money,
    /// Spend / value; `None` when no value was recorded.
    pub cost_per_unit: Option<Money>,
    /// Limit / target: what each unit may cost at plan.
    pub target_cost_per_unit: Option<Money>,
}

/// The recommended action and its estimated effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    pub action: String,
    pub effect: String,
    pub saving: Option<Money>,
}

/// Where one budget stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    pub name: String,
    pub scope: String,
    pub period: BudgetPeriod,
    pub as_of: DateTime<Utc>,
    pub source: SpendSource,
    pub limit: Money,
    pub soft_limit: Money,
    pub hard_limit: Money,
    pub spend: Money,
    pub thresholds: Vec<Threshold>,
    pub soft_reached_on: Option<NaiveDate>,
    pub hard_reached_on: Option<NaiveDate>,
    pub state: State,
    pub forecast_run_rate: Money,
    pub forecast_recent: Money,
    pub forecast_over: bool,
    pub unpriced_requests: u64,
    /// Spend per UTC day of the period up to "now", zero days included.
    pub days: Vec<DaySpend>,
    pub value: Option<ValueStatus>,
    pub recommendation: Option<Recommendation>,
}

/// The period of `budget` that holds the instant just before `now`.
pub fn budget_period(budget: &BudgetConfig, now: DateTime<Utc>) -> BudgetPeriod {
    let last = (now - Duration::milliseconds(1)).date_naive();
    if budget.period == "daily" {
        let start = crate::settings::midnight(last);
        return BudgetPeriod { start, end: start + Duration::days(1), label: last.to_string() };
    }
    let first = NaiveDate::from_ymd_opt(last.year(), last.month(), 1).unwrap_or(last);
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
    BudgetPeriod {
        start: crate::settings::midnight(first),
        end: crate::settings::midnight(next),
        label: format!("{:04}-{:02}", first.year(), first.month()),
    }
}

/// Length of the recent-forecast window for a budget's period.
fn recent_window(budget: &BudgetConfig) -> Duration {
    if budget.period == "daily" { Duration::hours(6) } else { Duration::days(7) }
}

/// Spend, ladder, forecasts and state of one budget from its spend points.
///
/// Points outside `[period start, now)` are ignored; that is how the period resets.
pub fn evaluate(
    budget: &BudgetConfig,
    scope: &Scope,
    source: SpendSource,
    points: &[SpendPoint],
    now: DateTime<Utc>,
) -> BudgetStatus {
    let period = budget_period(budget, now);
    let mut points: Vec<SpendPoint> =
        points.iter().copied().filter(|p| period.start <= p.at && p.at < now).collect();
    points.sort_by_key(|p| p.at);
    let spend: Money = points.iter().map(|p| p.amount).sum();

    let mut thresholds: Vec<Threshold> = budget
        .thresholds
        .iter()
        .map(|percent| Threshold {
            percent: *percent,
            amount: budget.limit.mul_ratio(i128::from(*percent), 100),
            reached_on: None,
        })
        .collect();
    for threshold in &mut thresholds {
        threshold.reached_on = reached_on(&points, threshold.amount);
    }
    let soft_reached_on = reached_on(&points, budget.soft());
    let hard_reached_on = reached_on(&points, budget.hard());
    let state = if spend >= budget.hard() {
        State::Hard
    } else if spend >= budget.soft() {
        State::Soft
    } else {
        State::Ok
    };

    let days = daily_spend(&points, &period, now);
    let (forecast_run_rate, forecast_recent) =
        forecasts(&points, spend, &period, now, recent_window(budget));
    BudgetStatus {
        name: budget.name.clone(),
        scope: scope.label(),
        period,
        as_of: now,
        source,
        limit: budget.limit,
        soft_limit: budget.soft(),
        hard_limit: budget.hard(),
        spend,
        thresholds,
        soft_reached_on,
        hard_reached_on,
        state,
        forecast_over: forecast_run_rate >= budget.limit,
        forecast_run_rate,
        forecast_recent,
        unpriced_requests: 0,
        days,
        value: None,
        recommendation: None,
    }
}

/// Spend per UTC day from the period's first day to the day before "now" ends; `points` are
/// already cut to `[start, now)`.
fn daily_spend(points: &[SpendPoint], period: &BudgetPeriod, now: DateTime<Utc>) -> Vec<DaySpend> {
    let mut per_day: BTreeMap<NaiveDate, Money> = BTreeMap::new();
    for point in points {
        *per_day.entry(point.at.date_naive()).or_default() += point.amount;
    }
    let first = period.start.date_naive();
    let last = (now.min(period.end) - Duration::milliseconds(1)).date_naive();
    let mut days = Vec::new();
    let mut cumulative = Money::ZERO;
    let mut day = first;
    while day <= last {
        let spend = per_day.get(&day).copied().unwrap_or_default();
        cumulative += spend;
        days.push(DaySpend { day, spend, cumulative });
        day = day.succ_opt().unwrap_or(day + Duration::days(1));
    }
    days
}

/// The UTC day on which the running total first reached `amount`.
fn reached_on(points: &[SpendPoint], amount: Money) -> Option<NaiveDate> {
    let mut total = Money::ZERO;
    for point in points {
        total += point.amount;
        if total >= amount {
            return Some(point.at.date_naive());
        }
    }
    None
}

/// Run-rate and recent-days forecasts for the end of the period.
fn forecasts(
    points: &[SpendPoint],
    spend: Money,
    period: &BudgetPeriod,
    now: DateTime<Utc>,
    window: Duration,
) -> (Money, Money) {
    let now = now.min(period.end);
    let elapsed = (now - period.start).num_seconds();
    let length = (period.end - period.start).num_seconds();
    if elapsed <= 0 {
        return (spend, spend);
    }
    let run_rate = spend.mul_ratio(i128::from(length), i128::from(elapsed));

    let window = window.num_seconds().min(elapsed);
    let window_start = now - Duration::seconds(window);
    let recent: Money = points.iter().filter(|p| p.at >= window_start).map(|p| p.amount).sum();
    let remaining = (period.end - now).num_seconds();
    let recent_forecast = spend + recent.mul_ratio(i128::from(remaining), i128::from(window));
    (run_rate, recent_forecast)
}

/// Spend points of the requests in a scope, and how many requests had no cost.
pub fn gateway_points(rows: &[RequestRow], scope: &Scope) -> (Vec<SpendPoint>, u64) {
    let mut unpriced = 0;
    let mut points = Vec::new();
    for row in rows.iter().filter(|r| scope.matches(r)) {
        match row.cost {
            Some(amount) => points.push(SpendPoint { at: row.at, amount }),
            None => unpriced += 1,
        }
    }
    (points, unpriced)
}

/// Spend points of a scope from the invoice allocated per owner and day: a frame with
/// `date` (Date), owner columns and `amount` (Decimal). Each day counts from its midnight.
pub fn invoice_points(owner_days: &DataFrame, scope: &Scope) -> Result<Vec<SpendPoint>> {
    let days = owner_days.column(DAY)?.cast(&DataType::Int32)?;
    let days = days.i32()?;
    let amounts = money_values(owner_days.column(allocations::AMOUNT)?)?;
    let owners = owner_columns(owner_days, scope)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let mut points = Vec::new();
    for (row, amount) in amounts.iter().enumerate() {
        if !scope.matches_owners(&owners_at(&owners, row)) {
            continue;
        }
        let (Some(day), Some(amount)) = (days.get(row), *amount) else { continue };
        let at = Utc.from_utc_datetime(
            &(epoch + Duration::days(i64::from(day))).and_hms_opt(0, 0, 0).unwrap_or_default(),
        );
        points.push(SpendPoint { at, amount });
    }
    Ok(points)
}

/// The string columns of the scope's taxonomy keys (a missing column matches nothing).
fn owner_columns(frame: &DataFrame, scope: &Scope) -> Result<Vec<(String, StringChunked)>> {
    let mut columns = Vec::new();
    for (key, _) in scope.taxonomy_pairs() {
        if let Ok(column) = frame.column(key) {
            columns.push((key.clone(), column.cast(&DataType::String)?.str()?.clone()));
        }
    }
    Ok(columns)
}

/// The owner values of one row.
fn owners_at(columns: &[(String, StringChunked)], row: usize) -> BTreeMap<String, String> {
    columns
        .iter()
        .filter_map(|(key, values)| values.get(row).map(|v| (key.clone(), v.to_string())))
        .collect()
}

/// The business value a budget bought in `[start, now)` from the `metrics` frame (`date`,
/// owner keys, `metric`, `value`). `None` when the budget sets no value target, or its scope
/// names an API key or user, which metrics are not kept by.
pub fn value_status(
    budget: &BudgetConfig,
    scope: &Scope,
    metrics_frame: &DataFrame,
    status: &BudgetStatus,
) -> Result<Option<ValueStatus>> {
    let Some(target) = &budget.value else { return Ok(None) };
    if scope.needs_gateway() {
        return Ok(None);
    }
    let days = metrics_frame.column(metrics::DATE)?.cast(&DataType::Int32)?;
    let days = days.i32()?;
    let names = metrics_frame.column(metrics::METRIC)?.cast(&DataType::String)?;
    let names = names.str()?;
    let values = money_values(metrics_frame.column(metrics::VALUE)?)?;
    let owners = owner_columns(metrics_frame, scope)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let first = status.period.start.date_naive();
    let mut value = Money::ZERO;
    for (row, amount) in values.iter().enumerate() {
        let Some(day) = days.get(row).map(|d| epoch + Duration::days(i64::from(d))) else {
            continue;
        };
        let in_period = first <= day && crate::settings::midnight(day) < status.as_of;
        if in_period
            && names.get(row) == Some(target.metric.as_str())
            && scope.matches_owners(&owners_at(&owners, row))
        {
            value += amount.unwrap_or_default();
        }
    }
    let per = |amount: Money, units: Money| {
        (units.raw() > 0).then(|| amount.mul_ratio(crate::money::ONE, units.raw()))
    };
    Ok(Some(ValueStatus {
        metric: target.metric.clone(),
        value,
        target: target.target,
        cost_per_unit: per(status.spend, value),
        target_cost_per_unit: per(status.limit, target.target),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn budget(toml: &str) -> BudgetConfig {
        Config::parse(toml).unwrap().budgets.remove(0)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn dollars(units: i64) -> Money {
        Money::from_units(units)
    }

    fn scope() -> Scope {
        Scope::from_pairs(&[("dept".into(), "sales".into())])
    }

    /// One point per day at noon, `amount` each, for days `first..=last` of November 2026.
    fn daily(amount: Money, first: u32, last: u32) -> Vec<SpendPoint> {
        (first..=last)
            .map(|day| SpendPoint { at: at(&format!("2026-11-{day:02}T12:00:00Z")), amount })
            .collect()
    }

    #[test]
    fn pilot_reaches_seventy_percent_on_day_twenty_and_forecasts_over() {
        // $2,000 a month, soft $1,500, hard $2,000; November has 30 days. $70 a day for 20
        // days is exactly $1,400 at the end of day 20 = 70% of $2,000.
        let pilot = budget(
            "[[budgets]]\nname = \"pilot\"\nscope = { dept = \"sales\" }\nlimit = 2000\n\
             soft_limit = 1500\nhard_limit = 2000\n",
        );
        let now = at("2026-11-21T00:00:00Z");
        let status =
            evaluate(&pilot, &scope(), SpendSource::Invoice, &daily(dollars(70), 1, 20), now);
        assert_eq!(status.spend, dollars(1400));
        let day_twenty = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(status.thresholds[0].percent, 70);
        assert_eq!(status.thresholds[0].reached_on, day_twenty);
        assert_eq!(status.thresholds[1].reached_on, None);
        assert_eq!(status.soft_reached_on, None);
        assert_eq!(status.state, State::Ok);
        // Run rate: 1,400 / 20 days × 30 days = 2,100 ≥ 2,000, so the forecast fires.
        assert_eq!(status.forecast_run_rate, dollars(2100));
        assert!(status.forecast_over);
        // Recent: 1,400 + (490 over the last 7 days / 7) × 10 days left = 2,100.
        assert_eq!(status.forecast_recent, dollars(2100));
        // One row per day 1..=20, $70 each, the last running total $1,400.
        assert_eq!(status.days.len(), 20);
        assert_eq!(status.days[19].spend, dollars(70));
        assert_eq!(status.days[19].cumulative, dollars(1400));
    }

    #[test]
    fn department_forty_of_hundred_by_day_ten_forecasts_hundred_twenty() {
        // $4 a day for 10 days = $40; 40 / 10 × 30 = 120 > 100: over.
        let dept = budget("[[budgets]]\nname = \"d\"\nscope = { dept = \"sales\" }\nlimit = 100\n");
        let now = at("2026-11-11T00:00:00Z");
        let status =
            evaluate(&dept, &scope(), SpendSource::Invoice, &daily(dollars(4), 1, 10), now);
        assert_eq!(status.spend, dollars(40));
        assert_eq!(status.forecast_run_rate, dollars(120));
        assert!(status.forecast_over);
    }

    #[test]
    fn daily_key_budget_resets_and_projects_from_hours() {
        // $10 a day. $3 yesterday does not count; $6 between 00:00 and 12:00 projects
        // 6 / 12 h × 24 h = $12.
        let key = budget(
            "[[budgets]]\nname = \"k\"\nscope = { api_key = \"sk-1\" }\nlimit = 10\n\
             period = \"daily\"\n",
        );
        let points = [
            SpendPoint { at: at("2026-11-04T18:00:00Z"), amount: dollars(3) },
            SpendPoint { at: at("2026-11-05T01:00:00Z"), amount: dollars(2) },
            SpendPoint { at: at("2026-11-05T11:00:00Z"), amount: dollars(4) },
        ];
        let scope = Scope::from_pairs(&[("api_key".into(), "sk-1".into())]);
        let status =
            evaluate(&key, &scope, SpendSource::Gateway, &points, at("2026-11-05T12:00:00Z"));
        assert_eq!(status.period.label, "2026-11-05");
        assert_eq!(status.spend, dollars(6));
        assert_eq!(status.forecast_run_rate, dollars(12));
        assert!(status.forecast_over);
        assert_eq!(status.thresholds[0].reached_on, None, "70% is $7; $6 is below");
    }

    proptest::proptest! {
        /// Whatever was spent before the period, the status is the same: the period resets.
        /// And with spending only, a higher rung is never reached before a lower one.
        #[test]
        fn earlier_spend_never_changes_the_status(
            before in proptest::collection::vec((0i64..40 * 86_400, 0i64..10_000), 0..20),
            during in proptest::collection::vec((0i64..20 * 86_400, 0i64..10_000), 0..20),
        ) {
            let dept = budget(
                "[[budgets]]\nname = \"d\"\nscope = { dept = \"sales\" }\nlimit = 500\n",
            );
            let start = at("2026-11-01T00:00:00Z");
            let now = at("2026-11-21T00:00:00Z");
            let cents = |c: i64| Money::from_cents(i128::from(c));
            let inside: Vec<SpendPoint> = during
                .iter()
                .map(|(s, c)| SpendPoint { at: start + Duration::seconds(*s), amount: cents(*c) })
                .collect();
            let mut all = inside.clone();
            all.extend(before.iter().map(|(s, c)| SpendPoint {
                at: start - Duration::seconds(*s + 1),
                amount: cents(*c),
            }));
            let alone = evaluate(&dept, &scope(), SpendSource::Invoice, &inside, now);
            let mixed = evaluate(&dept, &scope(), SpendSource::Invoice, &all, now);
            proptest::prop_assert_eq!(&alone, &mixed);
            for pair in alone.thresholds.windows(2) {
                if let Some(higher) = pair[1].reached_on {
                    proptest::prop_assert!(pair[0].reached_on.is_some_and(|lower| lower <= higher));
                }
            }
        }
    }

    #[test]
    fn month_before_the_period_never_counts() {
        let dept = budget("[[budgets]]\nname = \"d\"\nscope = { dept = \"sales\" }\nlimit = 100\n");
        let points = [
            SpendPoint { at: at("2026-10-31T23:59:59Z"), amount: dollars(500) },
            SpendPoint { at: at("2026-11-01T00:00:00Z"), amount: dollars(1) },
        ];
        let status =
            evaluate(&dept, &scope(), SpendSource::Invoice, &points, at("2026-11-02T00:00:00Z"));
        assert_eq!(status.spend, dollars(1));
        assert_eq!(status.state, State::Ok);
    }

    #[test]
    fn threshold_is_reached_at_equality_and_hard_state_follows() {
        // $50 a day against $100: day 2 reaches exactly 100% (hard, since hard = limit).
        let dept = budget("[[budgets]]\nname = \"d\"\nscope = { dept = \"sales\" }\nlimit = 100\n");
        let status = evaluate(
            &dept,
            &scope(),
            SpendSource::Invoice,
            &daily(dollars(50), 1, 2),
            at("2026-11-03T00:00:00Z"),
        );
        assert_eq!(status.thresholds[1].reached_on, NaiveDate::from_ymd_opt(2026, 11, 2));
        assert_eq!(status.state, State::Hard);
        assert_eq!(status.hard_reached_on, NaiveDate::from_ymd_opt(2026, 11, 2));
    }

    #[test]
    fn invoice_points_follow_scope_and_value_per_hour_saved() {
        let mut frame = df!(
            DAY => [NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(); 2],
            "dept" => ["sales", "ops"],
        )
        .unwrap();
        frame
            .with_column(crate::ingest::builder::money_column(
                allocations::AMOUNT,
                [Some(dollars(30)), Some(dollars(99))].into_iter(),
            ))
            .unwrap();
        let points = invoice_points(&frame, &scope()).unwrap();
        assert_eq!(points, [SpendPoint { at: at("2026-11-01T00:00:00Z"), amount: dollars(30) }]);

        // $30 spent, 12 hours saved: $2.50 an hour; at plan $100 / 200 h = $0.50.
        let dept = budget(
            "[[budgets]]\nname = \"d\"\nscope = { dept = \"sales\" }\nlimit = 100\n\
             value = { metric = \"hours_saved\", target = 200 }\n",
        );
        let status =
            evaluate(&dept, &scope(), SpendSource::Invoice, &points, at("2026-11-02T00:00:00Z"));
        let mut metrics_frame = df!(
            metrics::DATE => [NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(); 2],
            "dept" => ["sales", "sales"],
            metrics::METRIC => ["hours_saved", "tickets"],
        )
        .unwrap();
        metrics_frame
            .with_column(crate::ingest::builder::money_column(
                metrics::VALUE,
                [Some(dollars(12)), Some(dollars(7))].into_iter(),
            ))
            .unwrap();
        let value = value_status(&dept, &scope(), &metrics_frame, &status).unwrap().unwrap();
        assert_eq!(value.value, dollars(12));
        assert_eq!(value.cost_per_unit, Some(Money::parse("2.5").unwrap()));
        assert_eq!(value.target_cost_per_unit, Some(Money::parse("0.5").unwrap()));
    }
}
