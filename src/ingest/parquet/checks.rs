//! Checks of a Parquet bill made once, when it is opened and before its lazy frames are
//! built, so that a bad file fails with its file, row, row group, column and a hint.
//!
//! The schema first: a money column must be a double, a decimal, an integer or text, and a tag
//! column a `MAP<string,string>` or JSON text. Then the columns every line needs, and then
//! the values, in one pass over the few columns concerned: a line must have a billing period
//! (its start, else the usage or charge period start); a FOCUS line must have `BilledCost`,
//! `EffectiveCost` and a `ChargeCategory` of the FOCUS set. Blank currency codes are counted
//! for a warning, and so are the commitment lines that the file lacks amortization columns for.

use anyhow::Result;
use polars::prelude::*;

use super::super::cur_csv::{self, Commitment, LineItemType, amortization, names as cur};
use super::super::focus_csv::{self, names as focus};
use super::{Columns, ParquetKind, row_group_sizes, scan};
use crate::error::{InputError, hinted};
use crate::model::costs;

/// Runs every check of a file of this kind; warnings go to the log.
pub(super) fn check(kind: ParquetKind, c: &Columns) -> Result<()> {
    check_types(kind, c)?;
    match kind {
        ParquetKind::Cur2 => check_cur2(c),
        ParquetKind::Focus => check_focus(c),
        ParquetKind::Canonical => Ok(()),
    }
}

/// The money and tag columns of each kind.
fn typed_columns(kind: ParquetKind) -> (Vec<&'static str>, Vec<&'static str>) {
    match kind {
        ParquetKind::Cur2 => (
            super::cur2::AMOUNT_COLUMNS
                .into_iter()
                .chain([cur::USAGE_AMOUNT.1, cur::PUBLIC_COST.1])
                .collect(),
            vec![cur::TAGS_MAP, cur::COST_CATEGORY_MAP],
        ),
        ParquetKind::Focus => (
            vec![
                focus::BILLED_COST,
                focus::EFFECTIVE_COST,
                focus::LIST_COST,
                focus::CONSUMED_QUANTITY,
            ],
            vec![focus::TAGS],
        ),
        ParquetKind::Canonical => {
            let mut money = costs::MONEY.to_vec();
            money.push(costs::CONSUMED_QUANTITY);
            (money, Vec::new())
        }
    }
}

/// Fails on a money or tag column of a type aispend cannot read exactly.
fn check_types(kind: ParquetKind, c: &Columns) -> Result<()> {
    let (money, tags) = typed_columns(kind);
    for name in money {
        let Some((real, dtype)) = c.column(name) else { continue };
        if !is_money_type(&dtype) {
            return Err(hinted(
                format!(
                    "cannot read `{}`: column `{real}`: expected a double, a decimal or text, \
                     found the type `{}`",
                    c.path,
                    type_name(&dtype)
                ),
                "amounts must be numbers (double or decimal) or decimal text; fix the tool that \
                 wrote the file",
            ));
        }
    }
    for name in tags {
        let Some((real, dtype)) = c.column(name) else { continue };
        if !is_tag_type(&dtype) {
            return Err(hinted(
                format!(
                    "cannot read `{}`: column `{real}`: expected a MAP<string,string> or a JSON \
                     string, found the type `{}`",
                    c.path,
                    type_name(&dtype)
                ),
                "tags are a map of text keys to text values, as AWS exports them, or a JSON \
                 object such as `{\"user_dept\": \"sales\"}`",
            ));
        }
    }
    Ok(())
}

/// True for the types a money column may have: every one converts exactly.
pub(super) fn is_money_type(dtype: &DataType) -> bool {
    match dtype {
        DataType::Decimal(precision, _) => *precision <= crate::money::PRECISION,
        DataType::Float64
        | DataType::Float32
        | DataType::String
        | DataType::Categorical(..)
        | DataType::Enum(..)
        | DataType::Null => true,
        other => other.is_integer(),
    }
}

/// True for a Parquet `MAP<string,string>` (a list of key and value structs to Polars), text
/// or an all-null column.
fn is_tag_type(dtype: &DataType) -> bool {
    let text = |dtype: &DataType| {
        matches!(dtype, DataType::String | DataType::Categorical(..) | DataType::Enum(..))
    };
    match dtype {
        DataType::String | DataType::Null => true,
        DataType::List(inner) => match inner.as_ref() {
            DataType::Struct(fields) => {
                fields.len() == 2 && text(fields[0].dtype()) && text(fields[1].dtype())
            }
            _ => false,
        },
        _ => false,
    }
}

/// A column type as Parquet users know it: `MAP<string, i64>` rather than a list of structs.
fn type_name(dtype: &DataType) -> String {
    if let DataType::List(inner) = dtype
        && let DataType::Struct(fields) = inner.as_ref()
        && fields.len() == 2
    {
        return format!("MAP<{}, {}>", type_name(fields[0].dtype()), type_name(fields[1].dtype()));
    }
    match dtype {
        DataType::String => "string".into(),
        DataType::Boolean => "boolean".into(),
        other => other.to_string(),
    }
}

/// CUR 2.0: the columns a line needs, its billing period, its currency, and the commitment
/// lines the file cannot amortize.
fn check_cur2(c: &Columns) -> Result<()> {
    let mut missing = Vec::new();
    if c.find(cur::LINE_ITEM_TYPE.1).is_none() {
        missing.push(format!("`{}`", cur::LINE_ITEM_TYPE.1));
    }
    if c.find(cur::PERIOD_START.1).is_none() && c.find(cur::USAGE_START.1).is_none() {
        missing.push(format!("`{}` or `{}`", cur::PERIOD_START.1, cur::USAGE_START.1));
    }
    required(c, &missing)?;
    let currency = c.find(cur::CURRENCY.1);
    if currency.is_none() {
        tracing::warn!("`{}` has no currency column; its amounts are taken as USD", c.path);
    }
    let period = c.find(cur::PERIOD_START.1).unwrap_or_else(|| cur::USAGE_START.1.to_string());
    let checks = [Check {
        name: "__period",
        bad: c.instant(cur::PERIOD_START.1).is_null().and(c.instant(cur::USAGE_START.1).is_null()),
        column: period,
        expected: "a billing period start, or else a usage start date",
        hint: "every line item needs `bill_billing_period_start_date` or \
               `line_item_usage_start_date` to say which month it bills; check the export",
    }];
    let blank = run(c, &checks, currency.as_deref())?;
    if let Some(currency) = currency {
        cur_csv::warn_null_currency(&c.path, &currency, blank);
    }
    warn_unamortized(c)
}

/// FOCUS: the columns a line needs, its mandatory amounts, its charge category, its billing
/// period and its currency.
fn check_focus(c: &Columns) -> Result<()> {
    if c.find(focus::BILLING_PERIOD_START).is_none() && c.find(focus::CHARGE_PERIOD_START).is_none()
    {
        let both = format!("`{}` or `{}`", focus::BILLING_PERIOD_START, focus::CHARGE_PERIOD_START);
        required(c, &[both])?;
    }
    let currency = c.find(focus::BILLING_CURRENCY);
    if currency.is_none() {
        tracing::warn!(
            "`{}` has no `{}` column; its amounts are taken as USD",
            c.path,
            focus::BILLING_CURRENCY
        );
    }
    let mut checks = vec![Check {
        name: "__billed",
        bad: null_amount(c, focus::BILLED_COST),
        column: c.find(focus::BILLED_COST).unwrap_or_default(),
        expected: "an amount (`BilledCost` is mandatory and never null in FOCUS)",
        hint: focus_csv::MANDATORY_HINT,
    }];
    match c.find(focus::EFFECTIVE_COST) {
        Some(column) => checks.push(Check {
            name: "__effective",
            bad: null_amount(c, focus::EFFECTIVE_COST),
            column,
            expected: "an amount (`EffectiveCost` is mandatory and never null in FOCUS)",
            hint: focus_csv::MANDATORY_HINT,
        }),
        None => focus_csv::warn_missing_column(
            &c.path,
            focus::EFFECTIVE_COST,
            focus_csv::NO_EFFECTIVE_COST,
        ),
    }
    match c.find(focus::CHARGE_CATEGORY) {
        Some(column) => {
            let set: Vec<String> =
                focus_csv::CHARGE_CATEGORIES.iter().map(|c| c.to_ascii_lowercase()).collect();
            let valid = c
                .text(focus::CHARGE_CATEGORY)
                .str()
                .to_lowercase()
                .is_in(lit(Series::new("set".into(), set)).implode(false), false)
                .fill_null(lit(false));
            checks.push(Check {
                name: "__category",
                bad: valid.not(),
                column,
                expected: focus_csv::CATEGORY_EXPECTED,
                hint: focus_csv::CATEGORY_HINT,
            });
        }
        None => focus_csv::warn_missing_column(
            &c.path,
            focus::CHARGE_CATEGORY,
            focus_csv::NO_CHARGE_CATEGORY,
        ),
    }
    let period =
        c.find(focus::BILLING_PERIOD_START).unwrap_or_else(|| focus::CHARGE_PERIOD_START.into());
    checks.push(Check {
        name: "__period",
        bad: c
            .instant(focus::BILLING_PERIOD_START)
            .is_null()
            .and(c.instant(focus::CHARGE_PERIOD_START).is_null()),
        column: period,
        expected: "a billing period start, or else a charge period start",
        hint: "every FOCUS line needs `BillingPeriodStart` (mandatory) to say which month it \
               bills; check the export",
    });
    let blank = run(c, &checks, currency.as_deref())?;
    if let Some(currency) = currency {
        cur_csv::warn_null_currency(&c.path, &currency, blank);
    }
    Ok(())
}

/// True where an amount is null: a null number, or blank or `NULL` text (text is converted
/// for this, numbers are not).
fn null_amount(c: &Columns, name: &str) -> Expr {
    match c.column(name) {
        Some((_, DataType::String | DataType::Categorical(..) | DataType::Enum(..))) => {
            c.money(name).is_null()
        }
        _ => c.raw(name).is_null(),
    }
}

/// Fails when required columns are missing.
fn required(c: &Columns, missing: &[String]) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    Err(hinted(
        format!("`{}` lacks required columns: {}", c.path, missing.join(", and ")),
        "export the bill with its default columns: aispend needs each line's type for its \
         effective cost and a date for its billing period",
    ))
}

/// A condition no row may meet.
struct Check {
    /// The name of its result in the checking query.
    name: &'static str,
    bad: Expr,
    /// The column blamed, as the file spells it.
    column: String,
    expected: &'static str,
    hint: &'static str,
}

/// Runs the checks in one pass and fails at the first row that breaks one; returns the number
/// of blank cells of the currency column, when there is one.
fn run(c: &Columns, checks: &[Check], currency: Option<&str>) -> Result<u64> {
    const ROW: &str = "__row";
    let mut outputs: Vec<Expr> = checks
        .iter()
        .map(|check| col(ROW).filter(check.bad.clone()).min().alias(check.name))
        .collect();
    if let Some(currency) = currency {
        let blank = col(currency).cast(DataType::String).map(
            |column| blank_cells(&column),
            |_, field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
        );
        outputs.push(blank.cast(DataType::UInt64).sum().alias("__blank_currency"));
    }
    let result = scan(&c.path)?.with_row_index(ROW, None).select(outputs).collect()?;
    for check in checks {
        let first = result.column(check.name)?.cast(&DataType::UInt64)?;
        if let Some(row) = first.u64()?.get(0) {
            let row = usize::try_from(row).unwrap_or(usize::MAX);
            let found = value_at(c, &check.column, row).unwrap_or_else(|| "null".into());
            return Err(InputError {
                file: c.path.clone(),
                location: place(&c.path, row),
                column: check.column.clone(),
                expected: check.expected.to_string(),
                found,
                hint: Some(check.hint.to_string()),
            }
            .into());
        }
    }
    if currency.is_none() {
        return Ok(0);
    }
    let blank = result.column("__blank_currency")?.cast(&DataType::UInt64)?;
    Ok(blank.u64()?.get(0).unwrap_or(0))
}

/// True for the cells of a text column that are null, blank or `NULL`, read without copying
/// a value.
fn blank_cells(column: &Column) -> PolarsResult<Column> {
    let blank: BooleanChunked = column
        .str()?
        .iter()
        .map(|value| {
            Some(value.is_none_or(|v| {
                let v = v.trim();
                v.is_empty() || v.eq_ignore_ascii_case("null")
            }))
        })
        .collect();
    Ok(blank.with_name(column.name().clone()).into_column())
}

/// The text of one cell, `None` when it is null or the column is absent.
fn value_at(c: &Columns, column: &str, row: usize) -> Option<String> {
    c.find(column)?;
    let offset = i64::try_from(row).ok()?;
    let cell = scan(&c.path).ok()?.slice(offset, 1).select([col(column)]).collect().ok()?;
    match cell.column(column).ok()?.get(0).ok()? {
        AnyValue::Null => None,
        AnyValue::String(text) => Some(text.to_string()),
        AnyValue::StringOwned(text) => Some(text.to_string()),
        other => Some(other.to_string()),
    }
}

/// "row 1000007 (row 7 of row group 2)", 1-based; "row 7" when the footer cannot be read.
pub(crate) fn place(path: &str, row: usize) -> String {
    let Ok(sizes) = row_group_sizes(path) else {
        return format!("row {}", row + 1);
    };
    let mut start = 0;
    for (group, size) in sizes.iter().enumerate() {
        if row < start + size {
            return format!("row {} (row {} of row group {})", row + 1, row - start + 1, group + 1);
        }
        start += size;
    }
    format!("row {}", row + 1)
}

/// Counts the commitment lines that count at their unblended cost because the file lacks
/// an amortization column, and warns once per commitment. The file is read for this only
/// when it lacks such a column.
fn warn_unamortized(c: &Columns) -> Result<()> {
    let unamortized = c.unamortized();
    if !unamortized.contains(&true) {
        return Ok(());
    }
    let missing: [Vec<&str>; 2] = Commitment::ALL.map(|commitment| {
        commitment
            .columns()
            .iter()
            .filter(|pair| c.find(pair.1).is_none())
            .map(|pair| pair.1)
            .collect()
    });
    let texts = [cur::LINE_ITEM_TYPE.1, cur::RI_ARN.1, cur::PRODUCT_CODE.1, cur::DESCRIPTION.1];
    let select: Vec<Expr> = texts
        .iter()
        .enumerate()
        .map(|(index, name)| c.text(name).alias(format!("__{index}")))
        .collect();
    let frame = scan(&c.path)?.select(select).collect()?;
    let columns: Vec<StringChunked> = (0..texts.len())
        .map(|index| Ok(frame.column(&format!("__{index}"))?.str()?.rechunk().into_owned()))
        .collect::<PolarsResult<_>>()?;
    let mut counts = [0u64; 2];
    for row in 0..frame.height() {
        let text = |index: usize| columns[index].get(row).unwrap_or("");
        let kind = LineItemType::parse(text(0));
        if let (_, Some(commitment)) = amortization(kind, text(1), text(2), text(3))
            && unamortized[commitment.index()]
        {
            counts[commitment.index()] += 1;
        }
    }
    cur_csv::warn_unamortized(&c.path, &missing, &counts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(value: DataType) -> DataType {
        let fields =
            vec![Field::new("key".into(), DataType::String), Field::new("value".into(), value)];
        DataType::List(Box::new(DataType::Struct(fields)))
    }

    #[test]
    fn money_and_tag_columns_have_the_types_that_convert_exactly() {
        for dtype in
            [DataType::Float32, DataType::String, DataType::Int64, DataType::Decimal(38, 9)]
        {
            assert!(is_money_type(&dtype), "{dtype}");
        }
        for dtype in [DataType::Boolean, DataType::Binary, DataType::Decimal(40, 2)] {
            assert!(!is_money_type(&dtype), "{dtype}");
        }
        assert!(is_tag_type(&map_of(DataType::String)));
        assert!(is_tag_type(&DataType::String));
        assert!(!is_tag_type(&map_of(DataType::Int64)));
        assert!(!is_tag_type(&DataType::Int64));
        assert_eq!(type_name(&map_of(DataType::Int64)), "MAP<string, i64>");
        assert_eq!(type_name(&DataType::Boolean), "boolean");
    }
}
