//! `aispend query "SQL"`: SQL over the canonical frames.

use anyhow::{Context as _, Result};
use polars::sql::SQLContext;

use crate::cli::QueryArgs;
use crate::enrich::taxonomy::TagPlan;
use crate::output::{self, TableSpec};
use crate::settings::Settings;

/// Runs the command: registers `costs` (and the other frames when their sources are given).
pub fn run(settings: &Settings, args: &QueryArgs) -> Result<()> {
    let plan = TagPlan::new(&settings.config, &[]);
    let mut context = SQLContext::new();
    let costs = crate::ingest::read_costs(&settings.cost_sources(), &plan)?;
    context.register("costs", crate::report::showback::filter_period(costs, &settings.period));
    let result = context
        .execute(&args.sql)
        .and_then(polars::prelude::LazyFrame::collect)
        .with_context(|| format!("cannot run the query `{}`", args.sql))?;
    output::emit(&result, &settings.global, &TableSpec::default())
}
