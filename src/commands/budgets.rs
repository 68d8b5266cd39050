//! `aispend budgets status|export|apply`: where each budget stands, the definitions that
//! enforce it, and applying them to AWS Budgets.
//!
//! `status` is as of the end of `--as-of DAY`, else the end of `--month` (or now, when the
//! month is still running), else now. Invoice spend per owner and day is the billed cost as
//! `chargeback` allocates it; requests are priced from the price book.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use polars::prelude::*;

use crate::aws::budgets as aws;
use crate::cli::{Basis, BudgetsCommand};
use crate::commands::attribution;
use crate::commands::load::Inputs;
use crate::enrich::prices::PriceBook;
use crate::error::{PolicyFailure, hinted};
use crate::output::{self, TableSpec};
use crate::report::budget_export;
use crate::report::budget_run::{self, BudgetInputs};
use crate::report::budgets::{BudgetStatus, State};
use crate::report::ledger;
use crate::settings::{Period, Settings, parse_day};

/// Runs a `budgets` subcommand.
pub fn run(settings: &Settings, command: &BudgetsCommand) -> Result<()> {
    if settings.config.budgets.is_empty() {
        return Err(hinted(
            "the configuration has no budgets",
            "add a `[[budgets]]` table with `name`, `scope` and `limit` to `aispend.toml`",
        ));
    }
    match command {
        BudgetsCommand::Status { as_of, fail_on, daily } => {
            status(settings, as_of.as_deref(), fail_on.as_deref(), *daily)
        }
        BudgetsCommand::Export { target, account_id } => {
            export(settings, target, account_id.as_deref())
        }
        BudgetsCommand::Apply { account_id, dry_run, endpoint_url } => {
            apply(settings, account_id.as_deref(), *dry_run, endpoint_url.as_deref())
        }
    }
}

/// `budgets status`.
fn status(
    settings: &Settings,
    as_of: Option<&str>,
    fail_on: Option<&str>,
    daily: bool,
) -> Result<()> {
    let fail_at = match fail_on {
        None => None,
        Some("soft") => Some(State::Soft),
        Some("hard") => Some(State::Hard),
        Some(other) => {
            return Err(hinted(
                format!("`--fail-on {other}` is not a limit"),
                "use `soft` or `hard`",
            ));
        }
    };
    let now = resolve_now(&settings.period, as_of, Utc::now())?;
    if settings.tz != chrono_tz::UTC {
        // TODO(#5): day buckets in `--tz` for budgets; periods and thresholds are UTC now.
        tracing::warn!("budgets count days and months in UTC; `--tz` is not applied to them");
    }
    let inputs = Inputs::load(settings, &[])?;
    let statuses = compute_statuses(settings, &inputs, now)?;
    for status in &statuses {
        warn_about(status);
    }
    if inputs.metrics.is_none() && settings.config.budgets.iter().any(|b| b.value.is_some()) {
        tracing::info!("no business metrics given: cost per unit of value is left empty");
    }

    let frame = if daily {
        budget_run::daily_frame(&statuses)?
    } else {
        budget_run::status_frame(&statuses)?
    };
    let spec = TableSpec { totals: Vec::new(), percents: vec!["spend_share".into()] };
    output::emit(&frame, &settings.global, &spec)?;
    policy_result(&statuses, fail_at)
}

/// "Now" for the status: the end of `--as-of`, else the end of the period or the clock.
/// The status of every budget as of `now` (also used by `monthly`).
pub fn compute_statuses(
    settings: &Settings,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> Result<Vec<BudgetStatus>> {
    let keys = inputs.plan.names();
    let rows = match &inputs.requests {
        Some(requests) => Some(ledger::request_rows(&requests.frame, &keys)?),
        None => None,
    };
    let invoice = match &inputs.costs {
        Some(_) => Some(invoice_by_owner_day(settings, inputs)?),
        None => None,
    };
    let pricer = PriceBook::load(&settings.config)?;
    let budget_inputs = BudgetInputs {
        requests: rows.as_deref(),
        invoice: invoice.as_ref(),
        metrics: inputs.metrics.as_ref(),
    };
    budget_run::statuses(&settings.config, budget_inputs, now, &pricer)
}

fn resolve_now(
    period: &Period,
    as_of: Option<&str>,
    clock: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let Some(day) = as_of else {
        return Ok(period.bounds().map_or(clock, |(_, end)| end.min(clock)));
    };
    let now = parse_day(day, "--as-of")? + Duration::days(1);
    if let Some((start, end)) = period.bounds()
        && (now <= start || now > end)
    {
        return Err(hinted(
            format!("`--as-of {day}` is outside the period `{}`", period.label()),
            "pick a day within `--month`, or leave `--month` out",
        ));
    }
    Ok(now)
}

/// Billed invoice dollars per owner and day, allocated as `chargeback` allocates them (tags,
/// gateway share, rules), over the settings' period.
fn invoice_by_owner_day(settings: &Settings, inputs: &Inputs) -> Result<DataFrame> {
    let attributed = attribution::attribute(settings, inputs, Basis::Billed)?;
    attribution::warn_notes(&attributed.notes);
    let frame = crate::allocate::to_frame(
        &attributed.allocations,
        &attributed.units,
        &attributed.keys,
        attribution::basis_name(Basis::Billed),
    )?;
    budget_run::owner_days(&frame, &attributed.keys)
}

/// Soft and hard states and forecast notifications on stderr.
fn warn_about(status: &BudgetStatus) {
    if status.state != State::Ok {
        tracing::warn!(
            "budget `{}` is past its {} limit: {} spent of {}",
            status.name,
            status.state.label(),
            status.spend.cents_string(),
            status.limit.cents_string()
        );
    }
    if status.forecast_over {
        tracing::warn!(
            "budget `{}` is forecast to reach {} of {} by the end of {}",
            status.name,
            status.forecast_run_rate.cents_string(),
            status.limit.cents_string(),
            status.period.label
        );
    }
    if status.unpriced_requests > 0 {
        tracing::warn!(
            "budget `{}`: {} requests have neither a price nor a logged cost and are not in \
             its spend; add their models to `[[prices.override]]`",
            status.name,
            status.unpriced_requests
        );
    }
}

/// Exit 1 when some budget is at or past the limit asked for.
fn policy_result(statuses: &[BudgetStatus], fail_at: Option<State>) -> Result<()> {
    let Some(fail_at) = fail_at else { return Ok(()) };
    let failing: Vec<String> = statuses
        .iter()
        .filter(|s| s.state >= fail_at)
        .map(|s| format!("`{}` ({})", s.name, s.state.label()))
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    Err(PolicyFailure(format!(
        "{} past the {} limit: {}",
        if failing.len() == 1 { "1 budget is" } else { "budgets are" },
        fail_at.label(),
        failing.join(", ")
    ))
    .into())
}

/// `budgets export --target aws|terraform|litellm|portkey`.
fn export(settings: &Settings, target: &str, account_id: Option<&str>) -> Result<()> {
    let config = &settings.config;
    let (mut bytes, warnings) = match target {
        "aws" | "terraform" => {
            let (budgets, warnings) = budget_export::aws_budgets(config)?;
            let bytes = if target == "aws" {
                let account = account_id.unwrap_or_else(|| {
                    tracing::warn!(
                        "no `--account-id`: the JSON carries the placeholder `ACCOUNT_ID`"
                    );
                    "ACCOUNT_ID"
                });
                serde_json::to_vec_pretty(&budget_export::aws_json(&budgets, account))?
            } else {
                budget_export::terraform(&budgets)?.into_bytes()
            };
            (bytes, warnings)
        }
        "litellm" | "portkey" => {
            let (document, warnings) = if target == "litellm" {
                budget_export::litellm(config)?
            } else {
                budget_export::portkey(config)?
            };
            (serde_json::to_vec_pretty(&document)?, warnings)
        }
        other => {
            return Err(hinted(
                format!("`--target {other}` is not a budget target"),
                "use `aws`, `terraform`, `litellm` or `portkey`",
            ));
        }
    };
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    match settings.global.out.as_deref() {
        Some(target) => output::write_target(target, &bytes),
        None => output::write_stdout(&bytes),
    }
}

/// `budgets apply [--dry-run]`.
fn apply(
    settings: &Settings,
    account_id: Option<&str>,
    dry_run: bool,
    endpoint_url: Option<&str>,
) -> Result<()> {
    let account = account_id.map(str::to_string).or_else(|| std::env::var("AWS_ACCOUNT_ID").ok());
    let Some(account) = account else {
        return Err(hinted(
            "`budgets apply` needs the AWS account id",
            "pass `--account-id 123456789012` or set `AWS_ACCOUNT_ID`",
        ));
    };
    let (wanted, warnings) = budget_export::aws_budgets(&settings.config)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let api = aws::SdkBudgets::connect(endpoint_url)?;
    let changes = aws::plan(&api, &account, &wanted)?;
    if !dry_run {
        aws::apply(&api, &account, &changes)?;
    }
    let state = if dry_run { "planned" } else { "done" };
    let described: Vec<(String, &str, String)> =
        changes.iter().map(aws::Change::describe).collect();
    let frame = DataFrame::new_infer_height(vec![
        Column::new("budget".into(), described.iter().map(|d| d.0.clone()).collect::<Vec<_>>()),
        Column::new("change".into(), described.iter().map(|d| d.1).collect::<Vec<_>>()),
        Column::new("detail".into(), described.iter().map(|d| d.2.clone()).collect::<Vec<_>>()),
        Column::new(
            "status".into(),
            described
                .iter()
                .map(|d| if d.1 == "unchanged" { "unchanged" } else { state })
                .collect::<Vec<_>>(),
        ),
    ])?;
    output::emit(&frame, &settings.global, &TableSpec::default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn as_of_is_the_end_of_the_day_and_stays_in_the_month() {
        let month = Period::month("2026-11").unwrap();
        let clock: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let now = resolve_now(&month, Some("2026-11-20"), clock).unwrap();
        assert_eq!(now.to_rfc3339(), "2026-11-21T00:00:00+00:00");
        assert_eq!(
            resolve_now(&month, None, clock).unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert!(resolve_now(&month, Some("2026-12-02"), clock).is_err());
        let running: DateTime<Utc> = "2026-11-05T12:00:00Z".parse().unwrap();
        assert_eq!(resolve_now(&month, None, running).unwrap(), running);
    }
}
