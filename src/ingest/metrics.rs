//! Business metrics (CSV: `date`, owner keys, `metric`, `value`) into the `metrics` frame.

use anyhow::Result;
use polars::prelude::*;

use crate::enrich::taxonomy::TagPlan;

/// Reads every metrics source: columns `date` (Date), owner keys, `metric`, `value`
/// (Decimal(38, 18)).
pub fn read_metrics(sources: &[String], plan: &TagPlan) -> Result<DataFrame> {
    let _ = (sources, plan);
    Err(crate::error::hinted("business metrics are not read yet", "see issue 3"))
}
