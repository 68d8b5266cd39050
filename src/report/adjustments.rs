//! Restatements: what changed per department since a closed month was last reported.
//!
//! A department's amount is the sum of a report's amount column per (department, currency),
//! read from the report frame of this run or from the CSV that an earlier run wrote. The
//! adjustment journal lists every (department, currency) whose amount differs, with the
//! previous amount, the current one and the difference (current minus previous); a
//! department present on one side only counts as zero on the other. Pure: no files.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ingest::builder::{money_column, money_values};
use crate::model::UNALLOCATED;
use crate::money::Money;

/// Columns of the adjustment journal (the first is named after the department column).
pub mod columns {
    pub const CURRENCY: &str = "currency";
    pub const PREVIOUS: &str = "previous";
    pub const CURRENT: &str = "current";
    pub const DIFFERENCE: &str = "difference";
}

/// One department's amount in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentAmount {
    pub key: String,
    pub currency: String,
    pub amount: Money,
}

/// The columns a comparison reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentBasis {
    /// The report name; its CSV file is `<report>.csv`.
    pub report: String,
    pub key_column: String,
    pub amount_column: String,
    pub currency_column: String,
}

/// Sums of a report frame per (department, currency), sorted.
pub fn totals_of_frame(
    frame: &DataFrame,
    basis: &AdjustmentBasis,
) -> Result<Vec<DepartmentAmount>> {
    let keys = frame.column(&basis.key_column)?.cast(&DataType::String)?;
    let currencies = frame.column(&basis.currency_column)?.cast(&DataType::String)?;
    let amounts = amounts(frame.column(&basis.amount_column)?)?;
    let (keys, currencies) = (keys.str()?, currencies.str()?);
    let mut totals = BTreeMap::new();
    for (row, amount) in amounts.iter().enumerate() {
        let key = keys.get(row).unwrap_or(UNALLOCATED).to_string();
        let currency = currencies.get(row).unwrap_or("").to_string();
        *totals.entry((key, currency)).or_insert(Money::ZERO) += amount.unwrap_or_default();
    }
    Ok(into_list(totals))
}

/// The amounts of a money column: decimals, or text such as the journal's cents.
pub fn amounts(column: &Column) -> Result<Vec<Option<Money>>> {
    if column.dtype() != &DataType::String {
        return money_values(column);
    }
    column
        .str()?
        .iter()
        .map(|text| match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => Money::parse(text).map(Some).with_context(|| {
                format!("column `{}`: expected an amount, found `{text}`", column.name())
            }),
        })
        .collect()
}

/// Sums of a report CSV (as `aispend` writes it) per (department, currency), sorted.
pub fn totals_of_csv(
    bytes: &[u8],
    basis: &AdjustmentBasis,
    what: &str,
) -> Result<Vec<DepartmentAmount>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().with_context(|| format!("cannot read `{what}`"))?.clone();
    let position = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!("`{what}` has no column `{name}`; it cannot be compared with this run")
        })
    };
    let (key, currency, amount) = (
        position(&basis.key_column)?,
        position(&basis.currency_column)?,
        position(&basis.amount_column)?,
    );
    let mut totals = BTreeMap::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("cannot read `{what}`"))?;
        let text = record.get(amount).unwrap_or("");
        let value = if text.is_empty() {
            Money::ZERO
        } else {
            Money::parse(text).map_err(|_| {
                crate::error::InputError::at_line(
                    what,
                    index as u64 + 2,
                    &basis.amount_column,
                    "a decimal amount",
                    text,
                )
            })?
        };
        let department = record.get(key).filter(|k| !k.is_empty()).unwrap_or(UNALLOCATED);
        let currency = record.get(currency).unwrap_or("");
        *totals.entry((department.to_string(), currency.to_string())).or_insert(Money::ZERO) +=
            value;
    }
    Ok(into_list(totals))
}

/// The adjustment journal, or `None` when nothing changed.
pub fn adjustments(
    previous: &[DepartmentAmount],
    current: &[DepartmentAmount],
    key_column: &str,
) -> Result<Option<DataFrame>> {
    let index = |list: &[DepartmentAmount]| -> BTreeMap<(String, String), Money> {
        list.iter().map(|d| ((d.key.clone(), d.currency.clone()), d.amount)).collect()
    };
    let (before, after) = (index(previous), index(current));
    let mut all: Vec<&(String, String)> = before.keys().chain(after.keys()).collect();
    all.sort();
    all.dedup();
    let mut rows: Vec<(&(String, String), Money, Money)> = Vec::new();
    for key in all {
        let old = before.get(key).copied().unwrap_or_default();
        let new = after.get(key).copied().unwrap_or_default();
        if old != new {
            rows.push((key, old, new));
        }
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new(key_column.into(), rows.iter().map(|(k, ..)| k.0.as_str()).collect::<Vec<_>>()),
        Column::new(
            columns::CURRENCY.into(),
            rows.iter().map(|(k, ..)| k.1.as_str()).collect::<Vec<_>>(),
        ),
        money_column(columns::PREVIOUS, rows.iter().map(|(_, old, _)| Some(*old))),
        money_column(columns::CURRENT, rows.iter().map(|(_, _, new)| Some(*new))),
        money_column(columns::DIFFERENCE, rows.iter().map(|(_, old, new)| Some(*new - *old))),
    ])?;
    Ok(Some(frame))
}

/// The sorted list form of a totals map.
fn into_list(totals: BTreeMap<(String, String), Money>) -> Vec<DepartmentAmount> {
    totals
        .into_iter()
        .map(|((key, currency), amount)| DepartmentAmount { key, currency, amount })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basis() -> AdjustmentBasis {
        AdjustmentBasis {
            report: "showback".into(),
            key_column: "dept".into(),
            amount_column: "effective_cost".into(),
            currency_column: "currency".into(),
        }
    }

    fn amount(key: &str, value: &str) -> DepartmentAmount {
        DepartmentAmount {
            key: key.into(),
            currency: "USD".into(),
            amount: Money::parse(value).unwrap(),
        }
    }

    #[test]
    fn csv_rows_sum_per_department() {
        let csv = b"billing_period,dept,team,effective_cost,currency\n\
            2025-01,ads,search,10.5,USD\n2025-01,ads,video,0.25,USD\n2025-01,,x,1,USD\n";
        let totals = totals_of_csv(csv, &basis(), "showback.csv").unwrap();
        // ads: 10.5 + 0.25 = 10.75; the blank department is `__unallocated__`.
        assert_eq!(totals, [amount("__unallocated__", "1"), amount("ads", "10.75")]);
        let bad = b"dept,effective_cost,currency\nads,ten,USD\n";
        let error = totals_of_csv(bad, &basis(), "showback.csv").unwrap_err();
        assert!(error.to_string().contains("line 2, column `effective_cost`"), "{error}");
    }

    #[test]
    fn a_credit_after_close_is_one_adjustment_line() {
        let before = [amount("ads", "100.00"), amount("search", "50.00")];
        // A late credit of 12.34 to ads; a new department with 0.01 of late usage.
        let after = [amount("ads", "87.66"), amount("search", "50.00"), amount("video", "0.01")];
        let frame = adjustments(&before, &after, "dept").unwrap().unwrap();
        assert_eq!(frame.height(), 2);
        let difference = money_values(frame.column(columns::DIFFERENCE).unwrap()).unwrap();
        assert_eq!(
            difference,
            [Some(Money::parse("-12.34").unwrap()), Some(Money::parse("0.01").unwrap())]
        );
        assert_eq!(adjustments(&before, &before, "dept").unwrap(), None);
    }
}
