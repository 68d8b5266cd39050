//! Showback: cost per owner for a period, with share and tag coverage.
//!
//! Pure: a `costs` frame in, a report frame and its coverage out. Untagged cost is the owner
//! `__unallocated__`, never dropped. Two currencies are never added: every sum, share and
//! total is per billing currency.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::ingest::builder::{money_column, money_values};
use crate::model::{UNALLOCATED, costs};
use crate::money::Money;
use crate::settings::Period;

/// Columns of the showback report.
pub mod columns {
    pub const SHARE: &str = "share";
    pub const LINE_ITEMS: &str = "line_items";
    pub const CURRENCY: &str = "currency";
}

/// How much of the cost carries an owner, per key and currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// (key, currency) to (tagged billed cost, total billed cost, untagged line items).
    pub by_key: BTreeMap<(String, String), (Money, Money, u64)>,
    /// Lines whose tag sources disagreed on some key.
    pub conflicts: u64,
}

/// Keeps the lines of the period: `--month` by billing period, a range by charge start.
pub fn filter_period(frame: LazyFrame, period: &Period) -> LazyFrame {
    match period {
        Period::All => frame,
        Period::Month { month, .. } => {
            frame.filter(col(costs::BILLING_PERIOD).eq(lit(month.as_str())))
        }
        Period::Range { start, end } => {
            let at = |instant: &chrono::DateTime<chrono::Utc>| {
                lit(instant.timestamp_millis()).cast(crate::model::instant_dtype())
            };
            frame.filter(
                col(costs::CHARGE_PERIOD_START)
                    .gt_eq(at(start))
                    .and(col(costs::CHARGE_PERIOD_START).lt(at(end))),
            )
        }
    }
}

/// Cost per owner. `keys` are canonical owner columns present in `frame`.
///
/// One streaming pass groups the lines by period, owner (untagged kept apart) and currency;
/// the coverage comes from those groups, then untagged becomes `__unallocated__`.
pub fn showback(frame: LazyFrame, keys: &[String]) -> Result<(DataFrame, Coverage)> {
    showback_of_pieces(std::iter::once(frame), keys)
}

/// [`showback`] over a bill read piece by piece: each piece is summed on its own, so only
/// one piece is in memory at a time, and the sums of the pieces are added exactly.
pub fn showback_of_pieces(
    pieces: impl IntoIterator<Item = LazyFrame>,
    keys: &[String],
) -> Result<(DataFrame, Coverage)> {
    let mut partial = Vec::new();
    for piece in pieces {
        let sums = group_sums(
            piece,
            keys,
            &[
                len().cast(DataType::UInt64).alias(columns::LINE_ITEMS),
                col(costs::TAG_CONFLICTS)
                    .gt(lit(0u32))
                    .cast(DataType::UInt64)
                    .sum()
                    .alias("__conflicts"),
            ],
        );
        partial.push(sums.collect_with_engine(Engine::Streaming)?.unwrap_single().lazy());
    }
    let grouped = match partial.len() {
        0 => return Err(anyhow::anyhow!("no bill to show back")),
        1 => partial.remove(0).collect()?,
        _ => {
            let args = UnionArgs { rechunk: false, parallel: false, ..UnionArgs::default() };
            group_sums(
                concat(partial, args)?,
                keys,
                &[col(columns::LINE_ITEMS).sum(), col("__conflicts").sum()],
            )
            .collect()?
        }
    };
    let coverage = coverage_of_groups(&grouped, keys)?;
    let mut owned = grouped.drop("__conflicts")?.lazy();
    for key in keys {
        owned = owned.with_column(col(key.as_str()).fill_null(lit(UNALLOCATED)));
    }
    let mut sort_by: Vec<String> = vec![costs::BILLING_PERIOD.into()];
    sort_by.extend(keys.iter().cloned());
    sort_by.push(costs::BILLING_CURRENCY.into());
    let grouped = owned.collect()?.sort(sort_by, SortMultipleOptions::default())?;
    let report = with_share(grouped)?;
    Ok((report, coverage))
}

/// Billed and effective cost summed per period, owner and currency, with `counts` (the line
/// and conflict counts) alongside.
fn group_sums(frame: LazyFrame, keys: &[String], counts: &[Expr]) -> LazyFrame {
    let mut group: Vec<Expr> = vec![col(costs::BILLING_PERIOD)];
    group.extend(keys.iter().map(|k| col(k.as_str())));
    group.push(col(costs::BILLING_CURRENCY));
    let mut sums = vec![col(costs::BILLED_COST).sum(), col(costs::EFFECTIVE_COST).sum()];
    sums.extend(counts.iter().cloned());
    frame.group_by(group).agg(sums)
}

/// Tagged and total billed cost per key and currency, from the groups of [`showback`].
fn coverage_of_groups(grouped: &DataFrame, keys: &[String]) -> Result<Coverage> {
    let mut result = Coverage::default();
    let billed = money_values(grouped.column(costs::BILLED_COST)?)?;
    let lines = grouped.column(columns::LINE_ITEMS)?.u64()?.clone();
    let conflicts = grouped.column("__conflicts")?.u64()?.clone();
    let currencies = grouped.column(costs::BILLING_CURRENCY)?.str()?.clone();
    let owners: Vec<Column> =
        keys.iter().map(|k| grouped.column(k).cloned()).collect::<PolarsResult<_>>()?;
    for row in 0..grouped.height() {
        let currency = currencies.get(row).unwrap_or("").to_string();
        let amount = billed[row].unwrap_or_default();
        result.conflicts += conflicts.get(row).unwrap_or(0);
        for (key, owner) in keys.iter().zip(&owners) {
            let entry = result.by_key.entry((key.clone(), currency.clone())).or_default();
            entry.1 += amount;
            if owner.get(row)?.is_null() {
                entry.2 += lines.get(row).unwrap_or(0);
            } else {
                entry.0 += amount;
            }
        }
    }
    Ok(result)
}

/// Adds `share` (of the effective cost of the same period and currency) and renames the
/// currency column.
fn with_share(mut frame: DataFrame) -> Result<DataFrame> {
    let effective = money_values(frame.column(costs::EFFECTIVE_COST)?)?;
    let periods = frame.column(costs::BILLING_PERIOD)?.str()?.clone();
    let currencies = frame.column(costs::BILLING_CURRENCY)?.str()?.clone();
    let key = |row: usize| {
        (periods.get(row).unwrap_or("").to_string(), currencies.get(row).unwrap_or("").to_string())
    };
    let mut totals: BTreeMap<(String, String), Money> = BTreeMap::new();
    for (row, value) in effective.iter().enumerate() {
        *totals.entry(key(row)).or_default() += value.unwrap_or_default();
    }
    let share: Vec<Option<f64>> = effective
        .iter()
        .enumerate()
        .map(|(row, value)| {
            let total = totals[&key(row)];
            (!total.is_zero()).then(|| crate::money::ratio(value.unwrap_or_default(), total))
        })
        .collect();
    frame.with_column(Column::new(columns::SHARE.into(), share))?;
    frame.rename(costs::BILLING_CURRENCY, columns::CURRENCY.into())?;
    let mut order: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(std::string::ToString::to_string)
        .filter(|n| ![columns::SHARE, columns::LINE_ITEMS, columns::CURRENCY].contains(&n.as_str()))
        .collect();
    order.extend([columns::SHARE.into(), columns::LINE_ITEMS.into(), columns::CURRENCY.into()]);
    Ok(frame.select(order)?)
}

/// The billing periods of a `costs` frame, sorted.
pub fn periods(frame: Option<LazyFrame>) -> Result<Vec<String>> {
    let Some(frame) = frame else { return Ok(Vec::new()) };
    let found = frame
        .select([col(costs::BILLING_PERIOD)])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let mut periods: Vec<String> =
        found.column(costs::BILLING_PERIOD)?.str()?.iter().flatten().map(str::to_string).collect();
    periods.sort();
    Ok(periods)
}

/// Builds a one-column money frame (used by tests and other reports).
pub fn money_frame(name: &str, values: &[Money]) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![money_column(name, values.iter().copied().map(Some))])?)
}
