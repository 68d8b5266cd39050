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
    /// (key, currency) to the coverage of that key in that currency.
    pub by_key: BTreeMap<(String, String), KeyCoverage>,
    /// Lines whose tag sources disagreed on some key.
    pub conflicts: u64,
}

/// The billed cost of one key: owned through a tag, owned through a fallback, or neither.
/// Each amount is kept signed (as the invoice adds it) and absolute (line by line), since a
/// share of a total that credits bring near zero could pass 100%.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCoverage {
    pub tagged: Money,
    pub by_fallback: Money,
    pub total: Money,
    pub tagged_absolute: Money,
    pub by_fallback_absolute: Money,
    pub total_absolute: Money,
    /// Line items with no owner for the key (they went to `__unallocated__`).
    pub untagged_lines: u64,
}

impl KeyCoverage {
    /// The tagged fraction of the absolute billed cost, 0 to 1 (1 when nothing is billed).
    pub fn tagged_fraction(&self) -> f64 {
        fraction(self.tagged_absolute, self.total_absolute)
    }

    /// The fraction owned through fallbacks, 0 to 1.
    pub fn fallback_fraction(&self) -> f64 {
        if self.total_absolute.is_zero() {
            return 0.0;
        }
        fraction(self.by_fallback_absolute, self.total_absolute)
    }

    /// The billed cost that went to `__unallocated__`, signed.
    pub fn untagged(&self) -> Money {
        self.total - self.tagged - self.by_fallback
    }
}

fn fraction(part: Money, whole: Money) -> f64 {
    if whole.is_zero() { 1.0 } else { crate::money::ratio(part, whole) }
}

/// Internal columns of the partial sums.
const CONFLICTS: &str = "__conflicts";
const BILLED_ABSOLUTE: &str = "__billed_absolute";

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
///
/// `owner_names` are the frame's owner columns in the order of its `owner_fallbacks` bits.
pub fn showback(
    frame: LazyFrame,
    keys: &[String],
    owner_names: &[String],
) -> Result<(DataFrame, Coverage)> {
    showback_of_pieces(std::iter::once(frame), keys, owner_names)
}

/// [`showback`] over a bill read piece by piece: each piece is summed on its own, so only
/// one piece is in memory at a time, and the sums of the pieces are added exactly.
pub fn showback_of_pieces(
    pieces: impl IntoIterator<Item = LazyFrame>,
    keys: &[String],
    owner_names: &[String],
) -> Result<(DataFrame, Coverage)> {
    let mut sums = PieceSums::new(keys, owner_names);
    for piece in pieces {
        sums.add(piece)?;
    }
    sums.finish()
}

/// The running sums of a showback over a bill that arrives piece by piece.
#[derive(Debug)]
pub struct PieceSums {
    keys: Vec<String>,
    owner_names: Vec<String>,
    partial: Vec<DataFrame>,
}

/// Partial sums kept before they are folded into one: many pieces of a high-cardinality
/// grouping (`--by resource_id`) must not pile up.
const FOLD_AT: usize = 16;

impl PieceSums {
    /// Sums grouped by these canonical owner columns; `owner_names` are the owner columns of
    /// the pieces in the order of their `owner_fallbacks` bits.
    pub fn new(keys: &[String], owner_names: &[String]) -> PieceSums {
        PieceSums { keys: keys.to_vec(), owner_names: owner_names.to_vec(), partial: Vec::new() }
    }

    /// Sums one piece, streaming, and keeps its groups.
    pub fn add(&mut self, piece: LazyFrame) -> Result<()> {
        let counts = [
            col(costs::BILLED_COST).abs().sum().alias(BILLED_ABSOLUTE),
            len().cast(DataType::UInt64).alias(columns::LINE_ITEMS),
            col(costs::TAG_CONFLICTS).gt(lit(0u32)).cast(DataType::UInt64).sum().alias(CONFLICTS),
        ];
        let sums = group_sums(piece, &self.keys, true, &counts);
        self.partial.push(sums.collect_with_engine(Engine::Streaming)?.unwrap_single());
        if self.partial.len() >= FOLD_AT {
            let folded = self.folded()?;
            self.partial = vec![folded];
        }
        Ok(())
    }

    /// The groups of every piece added into one frame.
    fn folded(&mut self) -> Result<DataFrame> {
        let mut partial = std::mem::take(&mut self.partial);
        if partial.len() == 1 {
            return Ok(partial.remove(0));
        }
        let args = UnionArgs { rechunk: false, parallel: false, ..UnionArgs::default() };
        let lazy: Vec<LazyFrame> = partial.into_iter().map(DataFrame::lazy).collect();
        Ok(group_sums(
            concat(lazy, args)?,
            &self.keys,
            true,
            &[col(BILLED_ABSOLUTE).sum(), col(columns::LINE_ITEMS).sum(), col(CONFLICTS).sum()],
        )
        .collect()?)
    }

    /// The report and its coverage.
    pub fn finish(mut self) -> Result<(DataFrame, Coverage)> {
        if self.partial.is_empty() {
            return Err(anyhow::anyhow!("no bill to show back"));
        }
        let keys = self.keys.clone();
        let grouped = self.folded()?;
        let coverage = coverage_of_groups(&grouped, &keys, &self.owner_names)?;
        let mut owned = group_sums(grouped.lazy(), &keys, false, &[col(columns::LINE_ITEMS).sum()]);
        for key in &keys {
            owned = owned.with_column(col(key.as_str()).fill_null(lit(UNALLOCATED)));
        }
        let mut sort_by: Vec<String> = vec![costs::BILLING_PERIOD.into()];
        sort_by.extend(keys.iter().cloned());
        sort_by.push(costs::BILLING_CURRENCY.into());
        let grouped = owned.collect()?.sort(sort_by, SortMultipleOptions::default())?;
        let report = with_share(grouped)?;
        Ok((report, coverage))
    }
}

/// Billed and effective cost summed per period, owner and currency (and which owners came
/// from fallbacks, `by_fallback`), with `counts` (the line and conflict counts) alongside.
fn group_sums(frame: LazyFrame, keys: &[String], by_fallback: bool, counts: &[Expr]) -> LazyFrame {
    let mut group: Vec<Expr> = vec![col(costs::BILLING_PERIOD)];
    group.extend(keys.iter().map(|k| col(k.as_str())));
    group.push(col(costs::BILLING_CURRENCY));
    if by_fallback {
        group.push(col(costs::OWNER_FALLBACKS));
    }
    let mut sums = vec![col(costs::BILLED_COST).sum(), col(costs::EFFECTIVE_COST).sum()];
    sums.extend(counts.iter().cloned());
    frame.group_by(group).agg(sums)
}

/// Tagged, fallback and total billed cost per key and currency, from the groups of
/// [`PieceSums`].
fn coverage_of_groups(
    grouped: &DataFrame,
    keys: &[String],
    owner_names: &[String],
) -> Result<Coverage> {
    let mut result = Coverage::default();
    let billed = money_values(grouped.column(costs::BILLED_COST)?)?;
    let absolute = money_values(grouped.column(BILLED_ABSOLUTE)?)?;
    let lines = grouped.column(columns::LINE_ITEMS)?.u64()?.clone();
    let conflicts = grouped.column(CONFLICTS)?.u64()?.clone();
    let fallbacks = grouped.column(costs::OWNER_FALLBACKS)?.cast(&DataType::UInt32)?;
    let fallbacks = fallbacks.u32()?.clone();
    let currencies = grouped.column(costs::BILLING_CURRENCY)?.str()?.clone();
    let owners: Vec<Column> =
        keys.iter().map(|k| grouped.column(k).cloned()).collect::<PolarsResult<_>>()?;
    let bits: Vec<Option<usize>> =
        keys.iter().map(|k| owner_names.iter().position(|n| n == k)).collect();
    for row in 0..grouped.height() {
        let currency = currencies.get(row).unwrap_or("").to_string();
        let amount = billed[row].unwrap_or_default();
        let magnitude = absolute[row].unwrap_or_default();
        let from_fallback = fallbacks.get(row).unwrap_or(0);
        result.conflicts += conflicts.get(row).unwrap_or(0);
        for ((key, owner), bit) in keys.iter().zip(&owners).zip(&bits) {
            let entry = result.by_key.entry((key.clone(), currency.clone())).or_default();
            entry.total += amount;
            entry.total_absolute += magnitude;
            if owner.get(row)?.is_null() {
                entry.untagged_lines += lines.get(row).unwrap_or(0);
            } else if bit.is_some_and(|bit| bit < 32 && from_fallback & (1 << bit) != 0) {
                entry.by_fallback += amount;
                entry.by_fallback_absolute += magnitude;
            } else {
                entry.tagged += amount;
                entry.tagged_absolute += magnitude;
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
    // The shares of each period and currency add up to exactly 1 (largest remainder).
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for row in 0..effective.len() {
        groups.entry(key(row)).or_default().push(row);
    }
    let mut share: Vec<Option<f64>> = vec![None; effective.len()];
    for rows in groups.values() {
        let values: Vec<Money> = rows.iter().map(|r| effective[*r].unwrap_or_default()).collect();
        for (row, value) in rows.iter().zip(crate::money::shares_of(&values)) {
            share[*row] = value;
        }
    }
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
