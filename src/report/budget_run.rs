//! Every budget of a run: its spend source, its status, its value and the action to take.
//!
//! Pure: request rows, the invoice per owner and day, the metrics frame, the run's "now"
//! and a pricer in; one [`BudgetStatus`] per `[[budgets]]` entry out. A scope with an API key
//! or user is spent by the gateway; a taxonomy scope by the invoice when one is given, else
//! by the gateway (see `report::budgets`). A recommendation's effect is estimated on the
//! scope's requests of the period so far, with the same functions as `aispend whatif`.
//! [`status_frame`] and [`daily_frame`] are the tables `aispend budgets status` prints, for
//! any command that reports budgets (the monthly job).

use anyhow::Result;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use polars::prelude::*;

use crate::config::{BudgetConfig, Config, HardLimitAction};
use crate::error::Hinted;
use crate::ingest::builder::money_column;
use crate::model::allocations;
use crate::money::Money;
use crate::report::budgets::{self, BudgetStatus, Recommendation, SpendSource, State};
use crate::report::ledger::{RequestPricer, RequestRow, Scope};
use crate::report::whatif;

/// What a budget run reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct BudgetInputs<'a> {
    /// Gateway requests, in time order.
    pub requests: Option<&'a [RequestRow]>,
    /// Invoice per owner and day: `date`, owner keys, `amount`.
    pub invoice: Option<&'a DataFrame>,
    /// Business metrics: `date`, owner keys, `metric`, `value`.
    pub metrics: Option<&'a DataFrame>,
}

/// The status of every budget of the configuration as of `now`.
pub fn statuses(
    config: &Config,
    inputs: BudgetInputs<'_>,
    now: DateTime<Utc>,
    pricer: &dyn RequestPricer,
) -> Result<Vec<BudgetStatus>> {
    let mut result = Vec::new();
    for budget in &config.budgets {
        let scope = Scope::of_budget(budget, config)?;
        let (source, points, unpriced) = match (inputs.invoice, inputs.requests) {
            (Some(invoice), _) if !scope.needs_gateway() => {
                (SpendSource::Invoice, budgets::invoice_points(invoice, &scope)?, 0)
            }
            (_, Some(rows)) => {
                let (points, unpriced) = budgets::gateway_points(rows, &scope);
                (SpendSource::Gateway, points, unpriced)
            }
            _ => {
                return Err(Hinted {
                    message: format!("budget `{}` has no spend to read", budget.name),
                    hint: "give gateway logs (`--gateway`) or, for taxonomy scopes, a bill \
                           (`--cur`, `--focus`)"
                        .into(),
                }
                .into());
            }
        };
        let mut status = budgets::evaluate(budget, &scope, source, &points, now);
        status.unpriced_requests = unpriced;
        if let Some(metrics) = inputs.metrics {
            status.value = budgets::value_status(budget, &scope, metrics, &status)?;
        }
        let scope_rows: Vec<RequestRow> = inputs
            .requests
            .unwrap_or_default()
            .iter()
            .filter(|r| scope.matches(r) && status.period.start <= r.at && r.at < now)
            .cloned()
            .collect();
        status.recommendation =
            recommend(budget, &status, &scope_rows, &config.critical.apps, pricer);
        result.push(status);
    }
    Ok(result)
}

/// The day column of the `allocations` frame (`allocate::to_frame`).
pub const ALLOCATION_DAY: &str = "day";

/// Invoice dollars per owner and day from the `allocations` frame (every invoice dollar with
/// its owner, by tags, gateway share or rule): `date`, owner keys, `amount`.
pub fn owner_days(allocations_frame: &DataFrame, keys: &[String]) -> Result<DataFrame> {
    let mut group = vec![col(ALLOCATION_DAY).alias(budgets::DAY)];
    group.extend(keys.iter().map(|k| col(k.as_str())));
    Ok(allocations_frame
        .clone()
        .lazy()
        .group_by(group)
        .agg([col(allocations::AMOUNT).sum()])
        .collect()?)
}

/// The value part of a status.
fn value(s: &BudgetStatus) -> Option<&budgets::ValueStatus> {
    s.value.as_ref()
}

/// The recommendation of a status.
fn action(s: &BudgetStatus) -> Option<&budgets::Recommendation> {
    s.recommendation.as_ref()
}

/// The status table.
pub fn status_frame(statuses: &[BudgetStatus]) -> Result<DataFrame> {
    let text = |get: &dyn Fn(&BudgetStatus) -> Option<String>| -> Vec<Option<String>> {
        statuses.iter().map(get).collect()
    };
    let money = |name: &str, get: &dyn Fn(&BudgetStatus) -> Option<Money>| {
        money_column(name, statuses.iter().map(get))
    };
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    let ladder = |s: &BudgetStatus| {
        let rungs: Vec<String> = s
            .thresholds
            .iter()
            .map(|t| format!("{}%: {}", t.percent, day(t.reached_on).unwrap_or("-".into())))
            .collect();
        Some(rungs.join("; "))
    };
    let share: Vec<Option<f64>> =
        statuses.iter().map(|s| Some(s.spend.to_f64_lossy() / s.limit.to_f64_lossy())).collect();
    let columns = vec![
        Column::new("budget".into(), text(&|s| Some(s.name.clone()))),
        Column::new("scope".into(), text(&|s| Some(s.scope.clone()))),
        Column::new("period".into(), text(&|s| Some(s.period.label.clone()))),
        Column::new(
            "as_of".into(),
            // Spend counts up to `as_of`, exclusive: a status of a whole day (`--as-of
            // 2026-11-20`) ends at the next midnight, shown as the last second of that day.
            text(&|s| {
                let shown = if s.as_of.time() == chrono::NaiveTime::MIN {
                    s.as_of - chrono::Duration::seconds(1)
                } else {
                    s.as_of
                };
                Some(shown.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            }),
        ),
        Column::new("source".into(), text(&|s| Some(s.source.label().into()))),
        money("limit", &|s| Some(s.limit)),
        money("soft_limit", &|s| Some(s.soft_limit)),
        money("hard_limit", &|s| Some(s.hard_limit)),
        money("spend", &|s| Some(s.spend)),
        Column::new("spend_share".into(), share),
        Column::new("thresholds_reached".into(), text(&ladder)),
        Column::new("soft_reached_on".into(), text(&|s| day(s.soft_reached_on))),
        Column::new("hard_reached_on".into(), text(&|s| day(s.hard_reached_on))),
        Column::new("state".into(), text(&|s| Some(s.state.label().into()))),
        money("forecast_run_rate", &|s| Some(s.forecast_run_rate)),
        money("forecast_recent", &|s| Some(s.forecast_recent)),
        Column::new(
            "forecast_notification".into(),
            statuses.iter().map(|s| s.forecast_over).collect::<Vec<bool>>(),
        ),
        Column::new("value_metric".into(), text(&|s| value(s).map(|v| v.metric.clone()))),
        money("value", &|s| value(s).map(|v| v.value)),
        money("value_target", &|s| value(s).map(|v| v.target)),
        money("cost_per_value", &|s| value(s).and_then(|v| v.cost_per_unit)),
        money("target_cost_per_value", &|s| value(s).and_then(|v| v.target_cost_per_unit)),
        Column::new(
            "action".into(),
            text(&|s| Some(action(s).map_or("none".into(), |a| a.action.clone()))),
        ),
        Column::new("action_effect".into(), text(&|s| action(s).map(|a| a.effect.clone()))),
        money("estimated_saving", &|s| action(s).and_then(|a| a.saving)),
        Column::new(
            "unpriced_requests".into(),
            statuses.iter().map(|s| s.unpriced_requests).collect::<Vec<u64>>(),
        ),
    ];
    Ok(DataFrame::new_infer_height(columns)?)
}

/// One row per budget and day: spend, running total and its share of the limit.
pub fn daily_frame(statuses: &[BudgetStatus]) -> Result<DataFrame> {
    let rows: Vec<(&BudgetStatus, &budgets::DaySpend)> =
        statuses.iter().flat_map(|s| s.days.iter().map(move |d| (s, d))).collect();
    let text = |get: &dyn Fn(&BudgetStatus) -> String| {
        rows.iter().map(|(s, _)| get(s)).collect::<Vec<String>>()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("budget".into(), text(&|s| s.name.clone())),
        Column::new("scope".into(), text(&|s| s.scope.clone())),
        Column::new("period".into(), text(&|s| s.period.label.clone())),
        Column::new("day".into(), rows.iter().map(|(_, d)| d.day).collect::<Vec<NaiveDate>>()),
        money_column("spend", rows.iter().map(|(_, d)| Some(d.spend))),
        money_column("cumulative_spend", rows.iter().map(|(_, d)| Some(d.cumulative))),
        Column::new(
            "spend_share".into(),
            rows.iter()
                .map(|(s, d)| d.cumulative.to_f64_lossy() / s.limit.to_f64_lossy())
                .collect::<Vec<f64>>(),
        ),
    ])?)
}

/// Output factor of the route estimate behind a recommendation (see `whatif`), per mille.
pub const ROUTE_OUTPUT_FACTOR_PER_MILLE: i64 = 1300;

/// The action to take for a budget past its soft limit or forecast over its limit, with its
/// effect estimated on the period's requests of the scope (`rows`, already cut to the scope
/// and `[period start, now)`). `None` while the budget is on track.
pub fn recommend(
    budget: &BudgetConfig,
    status: &BudgetStatus,
    rows: &[RequestRow],
    critical_apps: &[String],
    pricer: &dyn RequestPricer,
) -> Option<Recommendation> {
    if status.state == State::Ok && !status.forecast_over {
        return None;
    }
    let Some(action) = &budget.action else {
        return Some(Recommendation {
            action: "review".into(),
            effect: "no action is set for the hard limit; add `action` to the budget".into(),
            saving: None,
        });
    };
    let no_logs = rows.is_empty();
    let (name, effect, saving) = match action {
        HardLimitAction::Throttle { rpm } => {
            let outcomes = whatif::throttle(rows, *rpm);
            let delayed: u64 = outcomes.iter().map(|o| o.delayed).sum();
            let held: Money = outcomes.iter().map(|o| o.delayed_spend).sum();
            let effect = format!(
                "{delayed} of {} requests this period went over {rpm} per minute per key; \
                 {} of spend would have been delayed",
                rows.len(),
                held.cents_string()
            );
            (format!("throttle {rpm} rpm"), effect, Some(held))
        }
        HardLimitAction::Route { from, to } => {
            let movable: Vec<RequestRow> =
                rows.iter().filter(|r| !whatif::is_critical(r, critical_apps)).cloned().collect();
            let outcome = whatif::route(&movable, from, to, ROUTE_OUTPUT_FACTOR_PER_MILLE, pricer);
            let effect = format!(
                "{} non-critical requests of `{from}` this period cost {}; on `{to}` they \
                 would have saved {} to {} (output tokens kept, or 1.3 times as many); \
                 {} unpriced",
                outcome.requests - outcome.unpriced,
                outcome.current.cents_string(),
                outcome.saving_low().cents_string(),
                outcome.saving_high().cents_string(),
                outcome.unpriced
            );
            (format!("route {from} -> {to}"), effect, Some(outcome.saving_low()))
        }
        HardLimitAction::Cache { ttl_seconds } => {
            let ttl = ttl_seconds.unwrap_or(DEFAULT_CACHE_TTL_SECONDS);
            let seconds = i64::try_from(ttl).unwrap_or(i64::MAX);
            let outcome = whatif::exact_repeat_cache(rows, Duration::seconds(seconds));
            let effect = format!(
                "{} exact repeats within {ttl} s this period would have come from a cache, \
                 saving {}",
                outcome.affected,
                outcome.saving().cents_string()
            );
            (format!("cache {ttl} s"), effect, Some(outcome.saving()))
        }
    };
    Some(if no_logs {
        Recommendation {
            action: name,
            effect: "no gateway logs for this scope: effect not estimated".into(),
            saving: None,
        }
    } else {
        Recommendation { action: name, effect, saving }
    })
}

/// TTL of a `cache` action without `ttl_seconds`.
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 3600;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::ledger::{OverridePrices, sha256_hex};

    fn request(at: &str, key: &str, cost: Option<&str>) -> RequestRow {
        RequestRow {
            at: at.parse().unwrap(),
            api_key: Some(sha256_hex(key)),
            model: "big".into(),
            cost: cost.map(|c| Money::parse(c).unwrap()),
            ..RequestRow::default()
        }
    }

    #[test]
    fn daily_key_budget_from_gateway_logs_with_throttle_effect() {
        // $10 a day for `sk-1` (logged hashed). Yesterday's $3 does not count. Today: $2 at
        // 01:00, then $4, $0.50 and $0.50 within the minute 11:00, and one unpriced request:
        // $7 by 12:00, so 70% is reached today and the run rate is 7 / 12 h × 24 h = $14.
        // At 2 rpm the third request of 11:00 ($0.50) would have been delayed. `sk-2` is
        // another key.
        let config = Config::parse(
            "[[budgets]]\nname = \"bot\"\nscope = { api_key = \"sk-1\" }\nlimit = 10\n\
             period = \"daily\"\naction = { kind = \"throttle\", rpm = 2 }\n",
        )
        .unwrap();
        let rows = [
            request("2026-11-04T18:00:00Z", "sk-1", Some("3")),
            request("2026-11-05T01:00:00Z", "sk-1", Some("2")),
            request("2026-11-05T11:00:10Z", "sk-1", Some("4")),
            request("2026-11-05T11:00:20Z", "sk-1", Some("0.5")),
            request("2026-11-05T11:00:30Z", "sk-1", Some("0.5")),
            request("2026-11-05T11:30:00Z", "sk-1", None),
            request("2026-11-05T11:40:00Z", "sk-2", Some("50")),
        ];
        let inputs = BudgetInputs { requests: Some(&rows), ..BudgetInputs::default() };
        let now = "2026-11-05T12:00:00Z".parse().unwrap();
        let result = statuses(&config, inputs, now, &OverridePrices::default()).unwrap();
        let status = &result[0];
        assert_eq!(status.source, SpendSource::Gateway);
        assert_eq!(status.spend, Money::from_units(7));
        assert_eq!(status.unpriced_requests, 1);
        assert_eq!(status.forecast_run_rate, Money::from_units(14));
        assert_eq!(status.thresholds[0].reached_on, chrono::NaiveDate::from_ymd_opt(2026, 11, 5));
        let action = status.recommendation.as_ref().unwrap();
        assert_eq!(action.action, "throttle 2 rpm");
        assert_eq!(action.saving, Some(Money::parse("0.5").unwrap()));
    }

    #[test]
    fn allocations_sum_per_owner_and_day() {
        // Two allocations of sales on 1 November ($2 by tags, $3 by gateway share) and one
        // of ops: sales has $5 that day.
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut frame = df!(
            ALLOCATION_DAY => [day, day, day],
            "dept" => ["sales", "sales", "ops"],
            allocations::METHOD => ["tags", "gateway_share", "tags"],
        )
        .unwrap();
        let amounts =
            [Some(Money::from_units(2)), Some(Money::from_units(3)), Some(Money::from_cents(1))];
        frame.with_column(money_column(allocations::AMOUNT, amounts.into_iter())).unwrap();
        let days = owner_days(&frame, &["dept".into()]).unwrap();
        let scope = Scope::from_pairs(&[("dept".into(), "sales".into())]);
        let points = budgets::invoice_points(&days, &scope).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].amount, Money::from_units(5));
    }

    #[test]
    fn key_budget_without_gateway_logs_is_an_error_with_a_hint() {
        let config =
            Config::parse("[[budgets]]\nname = \"k\"\nscope = { user = \"ann\" }\nlimit = 1\n")
                .unwrap();
        let now = "2026-11-05T12:00:00Z".parse().unwrap();
        let error = statuses(&config, BudgetInputs::default(), now, &OverridePrices::default())
            .unwrap_err();
        assert!(error.to_string().contains("`k` has no spend"), "{error}");
    }
}
