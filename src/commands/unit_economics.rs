//! `aispend unit-economics --month M`: cost per request, transaction, active user and 1K
//! tokens per owner group, with business metrics and the change since the previous month.

use anyhow::Result;
use chrono::Months;

use crate::cli::UnitEconomicsArgs;
use crate::commands::load::Inputs;
use crate::enrich::taxonomy::canonical_key;
use crate::error::hinted;
use crate::output::{self, TableSpec};
use crate::report::request_rows;
use crate::report::unit_economics::{self, CHANGE_COLUMNS};
use crate::settings::{Period, Settings};

/// Runs the command.
pub fn run(settings: &Settings, args: &UnitEconomicsArgs) -> Result<()> {
    let Period::Month { start, end, .. } = settings.period else {
        return Err(hinted("`unit-economics` works on one month", "pass `--month YYYY-MM`"));
    };
    let keys: Vec<String> =
        args.by.iter().filter(|k| !k.trim().is_empty()).map(|k| canonical_key(k)).collect();
    let inputs = Inputs::load(settings, &keys)?;
    let Some(requests) = &inputs.requests else {
        return Err(hinted(
            "`unit-economics` needs the LLM gateway logs",
            "pass `--gateway`, or list them under `[sources] gateway` in aispend.toml",
        ));
    };
    let rows = request_rows::read(&requests.frame, &keys, settings.tz)?;
    let previous_start = start
        .checked_sub_months(Months::new(1))
        .ok_or_else(|| anyhow::anyhow!("the month before `{start}` is out of range"))?;
    let report = unit_economics::unit_economics(
        &rows,
        inputs.metrics.as_ref(),
        &keys,
        (start, end),
        (previous_start, start),
    )?;
    let unpriced: u64 = report.column("unpriced_requests")?.u64()?.iter().flatten().sum();
    if unpriced > 0 {
        tracing::warn!(
            "{unpriced} requests have no price and are left out of every average; add their \
             models under `[[prices.override]]` or `[prices] litellm`"
        );
    }
    if inputs.metrics.is_none() {
        tracing::info!("no business metrics: pass `--metrics` for cost per business transaction");
    }
    let spec = TableSpec {
        totals: vec!["requests".into(), "unpriced_requests".into(), "cost".into()],
        percents: CHANGE_COLUMNS.iter().map(|c| (*c).to_string()).collect(),
    };
    output::emit(&report, &settings.global, &spec)
}
