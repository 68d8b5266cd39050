//! `aispend anomalies`: spend anomalies per owner and service, denial of wallet per API key
//! and user, retry loops and hidden costs, in one report with a `kind` column.

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::cli::AnomaliesArgs;
use crate::commands::load::Inputs;
use crate::error::{PolicyFailure, hinted};
use crate::model::costs;
use crate::output::{self, TableSpec};
use crate::report::anomalies::{self, Flag, columns};
use crate::report::{request_rows, retries, showback, wallet};
use crate::settings::{Period, Settings};

/// Runs the command.
pub fn run(settings: &Settings, args: &AnomaliesArgs) -> Result<()> {
    let fail_on_anomaly = match args.fail_on.as_deref() {
        None => false,
        Some("anomaly") => true,
        Some(other) => {
            return Err(hinted(
                format!("`--fail-on {other}` is not a policy result of `anomalies`"),
                "use `--fail-on anomaly`",
            ));
        }
    };
    let inputs = Inputs::load(settings, &[])?;
    if inputs.costs.is_none() && inputs.requests.is_none() {
        return Err(hinted(
            "no bill and no gateway logs to look at",
            "pass `--cur`, `--focus` or `--gateway`, or list sources under `[sources]`",
        ));
    }
    let flags = flags(settings, &inputs)?;

    let flagged = flags.iter().filter(|f| f.is_anomaly()).count();
    tracing::info!(
        "{flagged} anomalies flagged ({} rows with hidden costs)",
        flags.len() - flagged
    );
    let frame = anomalies::flags_frame(&flags)?;
    let spec = TableSpec { totals: Vec::new(), percents: Vec::new() };
    output::emit(&frame, &settings.global, &spec)?;
    if fail_on_anomaly && flagged > 0 {
        return Err(PolicyFailure(format!(
            "{flagged} anomalies flagged (see the rows whose `{}` is not `hidden_cost`)",
            columns::KIND
        ))
        .into());
    }
    Ok(())
}

/// Every flag of the period: spend anomalies, denial of wallet, retry loops and hidden
/// costs (also used by `monthly`).
pub fn flags(settings: &Settings, inputs: &Inputs) -> Result<Vec<Flag>> {
    let keys = inputs.plan.names();
    let config = &settings.config.anomalies;
    let range = day_range(&settings.period);
    let mut flags: Vec<Flag> = Vec::new();
    if let Some(bill) = &inputs.costs {
        let history = until(bill.clone(), &settings.period);
        flags.extend(anomalies::spend_anomalies(&history, &keys, settings.tz, range, config)?);
    }
    let requests = match &inputs.requests {
        Some(requests) => request_rows::read(&requests.frame, &keys, settings.tz)?,
        None => Vec::new(),
    };
    flags.extend(wallet::denial_of_wallet(&requests, range, config));
    let loops = retries::retry_loops(&requests, range, config.retry_min_attempts);
    flags.extend(loops.iter().map(retries::RetryLoop::flag));
    let in_range: Vec<request_rows::Request> =
        requests.into_iter().filter(|r| r.day.is_some_and(|d| within(d, range))).collect();
    let bill = inputs.costs.clone().map(|b| showback::filter_period(b, &settings.period));
    let bill = bill.unwrap_or_else(|| empty_bill(&keys));
    flags.extend(retries::hidden_costs(bill, &in_range, &keys)?);
    Ok(flags)
}

/// The days of the period, `[from, to)`; unbounded for all the data.
pub fn day_range(period: &Period) -> (Option<NaiveDate>, Option<NaiveDate>) {
    match period.bounds() {
        Some((start, end)) => (Some(start.date_naive()), Some(end.date_naive())),
        None => (None, None),
    }
}

/// True when a day lies in `[from, to)`.
fn within(day: NaiveDate, range: (Option<NaiveDate>, Option<NaiveDate>)) -> bool {
    range.0.is_none_or(|f| day >= f) && range.1.is_none_or(|t| day < t)
}

/// The bill up to the end of the period: the period and its history.
fn until(bill: LazyFrame, period: &Period) -> LazyFrame {
    match period.bounds() {
        Some((_, end)) => bill.filter(
            col(costs::CHARGE_PERIOD_START)
                .lt(lit(end.timestamp_millis()).cast(crate::model::instant_dtype())),
        ),
        None => bill,
    }
}

/// A bill without lines, for runs with gateway logs only.
fn empty_bill(keys: &[String]) -> LazyFrame {
    let mut columns = vec![
        Column::new(costs::SERVICE_NAME.into(), Vec::<Option<String>>::new()),
        Column::new(costs::USAGE_TYPE.into(), Vec::<Option<String>>::new()),
        crate::ingest::builder::money_column(costs::BILLED_COST, std::iter::empty()),
    ];
    columns.extend(keys.iter().map(|k| Column::new(k.into(), Vec::<Option<String>>::new())));
    DataFrame::new_infer_height(columns).unwrap_or_default().lazy()
}
