//! CUR 2.0 Parquet (the AWS Data Exports table) into the canonical frame.
//!
//! The billed (unblended) and effective (amortized) cost of each line are computed together,
//! one row at a time, by the rules of FORMATS.md §1.6: only the amounts a line's type needs
//! are converted. The child rows of EKS and ECS split cost allocation are dropped, since
//! their parents already carry the cost. Tags and cost categories go to [`finish`].

use anyhow::Result;
use polars::prelude::*;

use super::super::cur_csv::{LineItemType, amortization, is_split_child, names as cur};
use super::cells::{MoneyCells, TextCells, broadcast};
use super::columns::{Columns, month_of};
use super::owners::{TagInputs, finish};
use crate::enrich::taxonomy::TagPlan;
use crate::model::{self, costs};
use crate::money::Money;

/// CUR 2.0 Parquet into the canonical frame.
pub(super) fn frame(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
    let start = c.instant(cur::USAGE_START.1);
    let period_start = c.instant(cur::PERIOD_START.1).fill_null(start.clone());
    let invoice = c.text(cur::INVOICE.1);
    let frame = match c.find(cur::OPERATION.1) {
        Some(operation) => frame.filter(col(operation.as_str()).map(
            |column| not_split_child(&column),
            |_, field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
        )),
        None => frame,
    };
    let frame = frame.with_column(amounts_expr(c).alias("__amounts"));
    let fixed = vec![
        start.clone().fill_null(period_start.clone()).alias(costs::CHARGE_PERIOD_START),
        month_of(period_start).alias(costs::BILLING_PERIOD),
        lit("AWS").alias(costs::PROVIDER),
        c.text(cur::PAYER.1).alias(costs::BILLING_ACCOUNT_ID),
        c.text(cur::ACCOUNT.1).alias(costs::SUB_ACCOUNT_ID),
        invoice.clone().alias(costs::INVOICE_ID),
        c.text(cur::PRODUCT_CODE.1).alias(costs::SERVICE_NAME),
        c.text(cur::REGION.1).alias(costs::REGION_ID),
        c.text(cur::USAGE_TYPE.1).alias(costs::USAGE_TYPE),
        charge_category_expr(c).alias(costs::CHARGE_CATEGORY),
        c.text(cur::LINE_ITEM_TYPE.1).alias(costs::LINE_ITEM_TYPE),
        c.text(cur::RESOURCE.1).alias(costs::RESOURCE_ID),
        lit(NULL).cast(DataType::String).alias(costs::MODEL),
        lit(NULL).cast(DataType::String).alias(costs::TOKEN_TYPE),
        when(counts_usage_expr(c))
            .then(c.money(cur::USAGE_AMOUNT.1))
            .otherwise(lit(NULL).cast(model::money_dtype()))
            .alias(costs::CONSUMED_QUANTITY),
        c.text(cur::PRICING_UNIT.1).alias(costs::CONSUMED_UNIT),
        amount_field(costs::BILLED_COST),
        amount_field(costs::EFFECTIVE_COST),
        c.money(cur::PUBLIC_COST.1).alias(costs::LIST_COST),
        c.currency(cur::CURRENCY.1).alias(costs::BILLING_CURRENCY),
        lit(c.path.clone()).alias(costs::SOURCE_FILE),
    ];
    let tags = TagInputs {
        tags: c.find(cur::TAGS_MAP),
        categories: c.find(cur::COST_CATEGORY_MAP),
        account: c.text(cur::ACCOUNT.1),
        resource: c.text(cur::RESOURCE.1),
        prefixed: true,
        path: c.path.clone(),
    };
    finish(frame, fixed, tags, invoice.is_null(), plan)
}

/// The canonical charge category of each line's [`LineItemType`]. An expression apart from
/// the amounts, so a report that does not read it never computes it.
fn charge_category_expr(c: &Columns) -> Expr {
    c.raw(cur::LINE_ITEM_TYPE.1).cast(DataType::String).map(
        |column| {
            let kinds = column.str()?;
            let categories: StringChunked = kinds
                .iter()
                .map(|kind| Some(LineItemType::parse(kind.unwrap_or("")).charge_category()))
                .collect();
            Ok(categories.with_name(column.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
    )
}

/// True for the lines whose [`LineItemType`] counts usage quantity.
fn counts_usage_expr(c: &Columns) -> Expr {
    c.raw(cur::LINE_ITEM_TYPE.1).cast(DataType::String).map(
        |column| {
            let kinds = column.str()?;
            let usage: BooleanChunked = kinds
                .iter()
                .map(|kind| Some(LineItemType::parse(kind.unwrap_or("")).counts_usage_quantity()))
                .collect();
            Ok(usage.with_name(column.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
    )
}

/// A field of the `__amounts` struct, named as the canonical column.
fn amount_field(name: &'static str) -> Expr {
    col("__amounts").struct_().field_by_name(name).alias(name)
}

/// The amounts the effective cost of FORMATS.md §1.6 reads, in the order of `__amounts`.
pub(super) const AMOUNT_COLUMNS: [&str; 7] = [
    cur::UNBLENDED.1,
    cur::SP_EFFECTIVE.1,
    cur::SP_COMMITMENT.1,
    cur::SP_USED.1,
    cur::RI_EFFECTIVE.1,
    cur::RI_UNUSED_UPFRONT.1,
    cur::RI_UNUSED_RECURRING.1,
];

/// The billed (unblended) and effective cost of FORMATS.md §1.6 as one struct column
/// `__amounts`, one row at a time: only the amounts the line item type needs are converted,
/// so a usage line costs one conversion, not seven.
fn amounts_expr(c: &Columns) -> Expr {
    let texts = [cur::LINE_ITEM_TYPE.1, cur::PRODUCT_CODE.1, cur::DESCRIPTION.1, cur::RI_ARN.1];
    let amounts = AMOUNT_COLUMNS;
    let mut inputs: Vec<Expr> =
        texts.iter().chain(amounts.iter()).map(|name| c.raw(name)).collect();
    let names: Vec<String> =
        amounts.iter().map(|name| c.find(name).unwrap_or_else(|| (*name).to_string())).collect();
    let unamortized = c.unamortized();
    let path = c.path.clone();
    let first = inputs.remove(0);
    first.map_many(
        move |columns| amounts_of_batch(columns, &path, &names, unamortized),
        &inputs,
        |_, _| Ok(amounts_field()),
    )
}

/// The struct [`amounts_of_batch`] returns.
fn amounts_field() -> Field {
    let fields = vec![
        Field::new(costs::BILLED_COST.into(), model::money_dtype()),
        Field::new(costs::EFFECTIVE_COST.into(), model::money_dtype()),
    ];
    Field::new("__amounts".into(), DataType::Struct(fields))
}

/// The billed and effective cost of every row of a batch: inputs are the line item type,
/// product code, description and reservation ARN, then the seven amounts of [`amounts_expr`]
/// (unblended first; a null unblended cost bills zero). A line of a commitment in
/// `unamortized` counts at its unblended cost (see [`Commitment`]).
fn amounts_of_batch(
    columns: &mut [Column],
    path: &str,
    names: &[String],
    unamortized: [bool; 2],
) -> PolarsResult<Column> {
    let length = broadcast(columns);
    let texts: Vec<TextCells> =
        columns[..4].iter().map(TextCells::new).collect::<PolarsResult<_>>()?;
    let amounts: Vec<MoneyCells> = columns[4..]
        .iter()
        .zip(names)
        .map(|(column, name)| MoneyCells::new(column, path, name))
        .collect::<PolarsResult<_>>()?;
    let amount = |index: usize, row: usize| -> PolarsResult<Money> {
        Ok(amounts[index].get(row)?.unwrap_or_default())
    };
    let mut billed: Vec<i128> = Vec::with_capacity(length);
    let mut effective: Vec<i128> = Vec::with_capacity(length);
    for row in 0..length {
        let unblended = amount(0, row)?;
        let kind = LineItemType::parse(texts[0].get(row));
        let (rule, commitment) =
            amortization(kind, texts[3].get(row), texts[1].get(row), texts[2].get(row));
        let value = match commitment {
            Some(commitment) if unamortized[commitment.index()] => unblended,
            _ => rule.apply(unblended, |which| amount(which as usize, row))?,
        };
        billed.push(unblended.raw());
        effective.push(value.raw());
    }
    let decimal = |name: &'static str, values: Vec<i128>| {
        Int128Chunked::from_vec(PlSmallStr::from_static(name), values)
            .into_decimal_unchecked(crate::money::PRECISION, crate::money::SCALE as usize)
            .into_series()
            .into_column()
    };
    let fields = [decimal(costs::BILLED_COST, billed), decimal(costs::EFFECTIVE_COST, effective)];
    Ok(StructChunked::from_columns("__amounts".into(), length, &fields)?.into_column())
}

/// False for the child rows of EKS and ECS split cost allocation, which repeat cost that
/// their parent rows already carry.
fn not_split_child(column: &Column) -> PolarsResult<Column> {
    let text = column.cast(&DataType::String)?;
    let keep: BooleanChunked =
        text.str()?.iter().map(|value| Some(!value.is_some_and(is_split_child))).collect();
    Ok(keep.with_name(column.name().clone()).into_column())
}
