//! `aispend lifecycle`: zombie models, idle provisioned capacity and the last day each model
//! was used.

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::cli::LifecycleArgs;
use crate::commands::load::Inputs;
use crate::error::hinted;
use crate::model::costs;
use crate::output::{self, TableSpec};
use crate::report::lifecycle::{self, columns};
use crate::report::{frames, request_rows};
use crate::settings::{Settings, parse_day};

/// Runs the command.
pub fn run(settings: &Settings, args: &LifecycleArgs) -> Result<()> {
    if args.days == 0 {
        return Err(hinted("`--days 0` leaves no window to look for requests", "use `--days 14`"));
    }
    let inputs = Inputs::load(settings, &[])?;
    let Some(bill) = inputs.costs else {
        return Err(hinted(
            "`lifecycle` needs the bill",
            "pass `--cur` or `--focus`, or list sources under `[sources]` in aispend.toml",
        ));
    };
    let keys = inputs.plan.names();
    let as_of = match &args.as_of {
        Some(text) => parse_day(text, "--as-of")?.date_naive(),
        None => last_day(bill.clone(), settings.tz)?
            .ok_or_else(|| hinted("the bill has no dated line", "pass `--as-of YYYY-MM-DD`"))?,
    };
    let requests = if let Some(requests) = &inputs.requests {
        request_rows::read(&requests.frame, &keys, settings.tz)?
    } else {
        tracing::warn!(
            "no gateway logs: every billed model and endpoint counts as unused; pass \
             `--gateway` to see which ones requests still reach"
        );
        Vec::new()
    };
    let report =
        lifecycle::lifecycle(bill, &requests, &keys, &settings.config.models, as_of, args.days)?;
    let statuses = frames::strings(&report, columns::STATUS)?;
    let zombies = statuses.iter().flatten().filter(|s| *s == "zombie" || *s == "unrequested");
    tracing::info!(
        "as of {as_of}, {} items billed in the last {} days without a request",
        zombies.count(),
        args.days
    );
    let spec = TableSpec { totals: vec![columns::SAVING.into()], percents: Vec::new() };
    output::emit(&report, &settings.global, &spec)
}

/// The last day of the bill in the run's time zone.
fn last_day(bill: LazyFrame, tz: chrono_tz::Tz) -> Result<Option<NaiveDate>> {
    let last = bill.select([col(costs::CHARGE_PERIOD_START).max()]).collect()?;
    Ok(frames::instants(&last, costs::CHARGE_PERIOD_START)?
        .first()
        .copied()
        .flatten()
        .map(|instant| frames::day_in(instant, tz)))
}
