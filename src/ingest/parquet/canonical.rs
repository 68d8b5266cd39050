//! Canonical Parquet, the `costs` frame as aispend writes it (for example `fetch`), read
//! back into the same frame.
//!
//! Owners are not resolved again: the taxonomy columns the plan names are read as they are
//! (lower-cased when the plan normalizes), and absent ones are added as nulls.

use anyhow::Result;
use polars::prelude::*;

use super::columns::Columns;
use crate::enrich::taxonomy::TagPlan;
use crate::model::costs;

/// Canonical Parquet (written by aispend, for example `fetch`): taxonomy columns that are
/// missing are added as nulls so frames of every source line up.
pub(super) fn frame(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
    let mut select: Vec<Expr> = costs::FIXED
        .iter()
        .map(|name| match *name {
            n if costs::MONEY.contains(&n) || n == costs::CONSUMED_QUANTITY => c.money(n).alias(n),
            costs::CHARGE_PERIOD_START => c.instant(name).alias(*name),
            costs::TAG_CONFLICTS | costs::OWNER_FALLBACKS => match c.find(name) {
                Some(real) => {
                    col(real.as_str()).cast(DataType::UInt32).fill_null(lit(0u32)).alias(*name)
                }
                None => lit(0u32).alias(*name),
            },
            costs::PROVISIONAL => match c.find(name) {
                Some(real) => {
                    col(real.as_str()).cast(DataType::Boolean).fill_null(lit(false)).alias(*name)
                }
                None => lit(false).alias(*name),
            },
            costs::SOURCE_FILE => lit(c.path.clone()).alias(*name),
            costs::BILLING_CURRENCY => c.currency(name).alias(*name),
            _ => c.text(name).alias(*name),
        })
        .collect();
    for name in plan.names() {
        let value = c.text(&name);
        let value = if plan.normalize { value.str().to_lowercase() } else { value };
        select.push(value.alias(name.as_str()));
    }
    Ok(frame.select(select))
}
