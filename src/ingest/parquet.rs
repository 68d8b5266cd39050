//! CUR 2.0 and FOCUS Parquet, and canonical Parquet, as lazy `costs` frames.
//!
//! Only the needed columns are read and the scan streams. Doubles become exact decimals
//! through their shortest round-trip text form, per row, before anything is summed. Tag
//! maps (Parquet MAP, which Polars reads as `List<Struct{key, value}>`) or JSON text are
//! resolved through the taxonomy by one pass over each batch.

mod checks;

use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use super::cur_csv::{Commitment, LineItemType, amortization, is_split_child, names as cur};
use super::focus_csv::names as focus;
use crate::enrich::taxonomy::{
    Resolved, TagPlan, canonical_key, cur2_tag_key, parse_json_tags, same_key,
};
use crate::model::{self, costs};
use crate::money::Money;

/// Which flavour of Parquet a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetKind {
    Cur2,
    Focus,
    Canonical,
}

/// Opens a Parquet scan without hive partition columns (`BILLING_PERIOD=...` folders).
pub fn scan(path: &str) -> Result<LazyFrame> {
    let args =
        ScanArgsParquet { hive_options: HiveOptions::new_disabled(), ..ScanArgsParquet::default() };
    anyhow::Context::with_context(LazyFrame::scan_parquet(PlRefPath::new(path), args), || {
        format!("cannot open `{path}` as Parquet")
    })
}

/// The column names of a Parquet file.
pub fn column_names(path: &str) -> Result<Vec<String>> {
    let schema = anyhow::Context::with_context(scan(path)?.collect_schema(), || {
        format!("cannot read the schema of `{path}`")
    })
    .map_err(|error| with_parquet_hint(error, path))?;
    Ok(schema.iter_names().map(ToString::to_string).collect())
}

/// Tells the flavour from the column names.
pub fn kind_of(columns: &[String]) -> Option<ParquetKind> {
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    if has(cur::UNBLENDED.1) {
        Some(ParquetKind::Cur2)
    } else if has(focus::BILLED_COST) && !has(costs::BILLED_COST) {
        Some(ParquetKind::Focus)
    } else if has(costs::BILLED_COST) && has(costs::BILLING_PERIOD) {
        Some(ParquetKind::Canonical)
    } else {
        None
    }
}

/// Rows a piece of a Parquet file aims at (whole row groups are never split).
const PIECE_ROWS: usize = 1 << 20;

/// The lazy canonical frame of one Parquet file.
pub fn read(path: &str, kind: ParquetKind, plan: &TagPlan) -> Result<LazyFrame> {
    let (frame, columns) = open(path, kind)?;
    canonical_frame(frame, kind, &columns, plan)
}

/// The scan and schema of a Parquet bill, once the file passed the checks of
/// [`checks::check`].
fn open(path: &str, kind: ParquetKind) -> Result<(LazyFrame, Columns)> {
    let mut frame = scan(path)?;
    let schema = anyhow::Context::with_context(frame.collect_schema(), || {
        format!("cannot read the schema of `{path}`")
    })
    .map_err(|error| with_parquet_hint(error, path))?;
    let columns = Columns { schema, path: path.to_string() };
    checks::check(kind, &columns).map_err(|error| with_parquet_hint(error, path))?;
    Ok((frame, columns))
}

/// Adds the file and a hint to an error of the Parquet reader itself (a damaged footer or
/// page, a type it cannot read), which names neither. aispend's own errors pass unchanged,
/// and so do the batch readers' errors about a value, which `ingest::locate` places.
///
/// A page is read when a frame is collected, which may be after this module hands the frame
/// on; whoever collects a piece of a known file can pass its error through here.
pub fn with_parquet_hint(error: anyhow::Error, path: &str) -> anyhow::Error {
    let ours = error.chain().any(|cause| {
        cause.is::<crate::error::InputError>()
            || cause.is::<crate::error::Hinted>()
            || cause.to_string().contains(&format!("cannot read `{path}`: column `"))
    });
    if ours {
        return error;
    }
    let text = error.to_string();
    let context = if text.contains(path) { text } else { format!("cannot read `{path}`: {text}") };
    let cause = error.root_cause().to_string();
    crate::error::hinted(
        if context.contains(&cause) { context } else { format!("{context} ({cause})") },
        "the file is damaged or was cut off in transfer, or written by a tool aispend cannot \
         read; download it again, or write it again with pyarrow or Polars",
    )
}

/// The lazy canonical frames of one Parquet file in pieces of whole row groups, about
/// [`PIECE_ROWS`] rows each, in file order.
pub fn read_pieces(path: &str, kind: ParquetKind, plan: &TagPlan) -> Result<Vec<LazyFrame>> {
    pieces_of(path, kind, plan, PIECE_ROWS)
}

/// [`read_pieces`] with pieces of at least `target` rows.
fn pieces_of(
    path: &str,
    kind: ParquetKind,
    plan: &TagPlan,
    target: usize,
) -> Result<Vec<LazyFrame>> {
    let (frame, columns) = open(path, kind)?;
    let sizes = row_group_sizes(path).map_err(|error| with_parquet_hint(error, path))?;
    let ranges = piece_ranges(&sizes, target);
    if ranges.len() <= 1 {
        return Ok(vec![canonical_frame(frame, kind, &columns, plan)?]);
    }
    ranges
        .into_iter()
        .map(|(offset, length)| {
            let piece = frame.clone().slice(
                i64::try_from(offset).unwrap_or(i64::MAX),
                IdxSize::try_from(length).unwrap_or(IdxSize::MAX),
            );
            canonical_frame(piece, kind, &columns, plan)
        })
        .collect()
}

/// The number of rows of each row group of a Parquet file.
#[expect(
    clippy::redundant_closure_for_method_calls,
    reason = "the row group type lives in a crate that polars does not re-export"
)]
pub(crate) fn row_group_sizes(path: &str) -> Result<Vec<usize>> {
    let file = anyhow::Context::with_context(std::fs::File::open(path), || {
        format!("cannot open `{path}`")
    })?;
    let mut reader = ParquetReader::new(file);
    let metadata = anyhow::Context::with_context(reader.get_metadata(), || {
        format!("cannot read the Parquet footer of `{path}`")
    })?;
    Ok(metadata.row_groups.iter().map(|group| group.num_rows()).collect())
}

/// (offset, length) of consecutive row groups joined until each piece holds at least
/// `target` rows; the last piece takes what is left.
fn piece_ranges(sizes: &[usize], target: usize) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let (mut start, mut length) = (0, 0);
    for size in sizes {
        length += size;
        if length >= target {
            ranges.push((start, length));
            start += length;
            length = 0;
        }
    }
    if length > 0 || ranges.is_empty() {
        ranges.push((start, length));
    }
    ranges
}

/// The canonical frame of one flavour.
fn canonical_frame(
    frame: LazyFrame,
    kind: ParquetKind,
    columns: &Columns,
    plan: &TagPlan,
) -> Result<LazyFrame> {
    match kind {
        ParquetKind::Cur2 => cur2(frame, columns, plan),
        ParquetKind::Focus => focus_frame(frame, columns, plan),
        ParquetKind::Canonical => canonical(frame, columns, plan),
    }
}

/// The schema of the file, for expressions that tolerate absent columns.
struct Columns {
    schema: SchemaRef,
    path: String,
}

impl Columns {
    /// The real name of a column, matched without regard to case.
    fn find(&self, name: &str) -> Option<String> {
        self.schema.iter_names().find(|n| n.eq_ignore_ascii_case(name)).map(ToString::to_string)
    }

    /// The real name and the type of a column, matched without regard to case.
    fn column(&self, name: &str) -> Option<(String, DataType)> {
        let real = self.find(name)?;
        let dtype = self.schema.get(real.as_str())?.clone();
        Some((real, dtype))
    }

    /// A string column, trimmed, with empty and `NULL` read as null; null when the file
    /// lacks it.
    fn text(&self, name: &str) -> Expr {
        match self.find(name) {
            Some(real) => col(real.as_str()).cast(DataType::String).map(
                |column| clean_text(&column),
                |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
            ),
            None => lit(NULL).cast(DataType::String),
        }
    }

    /// A currency code column, trimmed and upper-cased, with a blank or null code read as
    /// USD (the reader's checks warn of those); USD when the file lacks it.
    fn currency(&self, name: &str) -> Expr {
        match self.find(name) {
            Some(real) => col(real.as_str())
                .cast(DataType::String)
                .map(
                    |column| clean_currency(&column),
                    |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
                )
                .fill_null(lit("USD")),
            None => lit("USD"),
        }
    }

    /// For each [`Commitment`], true when the file lacks a column its amortization needs, so
    /// that its lines count at their unblended cost.
    fn unamortized(&self) -> [bool; 2] {
        Commitment::ALL
            .map(|commitment| commitment.columns().iter().any(|pair| self.find(pair.1).is_none()))
    }

    /// A column as it is in the file (null when absent), for the per-row readers that trim
    /// and convert it themselves.
    fn raw(&self, name: &str) -> Expr {
        self.find(name).map_or(lit(NULL), |real| col(real.as_str()))
    }

    /// A money column as `Decimal(38, 18)`, null when absent or null.
    fn money(&self, name: &str) -> Expr {
        let Some(real) = self.find(name) else {
            return lit(NULL).cast(model::money_dtype());
        };
        let dtype = self.schema.get(real.as_str()).cloned().unwrap_or(DataType::Null);
        let path = self.path.clone();
        let column_name = real.clone();
        match dtype {
            DataType::Float64
            | DataType::Float32
            | DataType::String
            | DataType::Categorical(..)
            | DataType::Enum(..) => col(real.as_str()).map(
                move |column| to_money(&column, &path, &column_name),
                |_, field| Ok(Field::new(field.name().clone(), model::money_dtype())),
            ),
            _ => col(real.as_str()).map(
                move |column| exact_money(&column, &path, &column_name),
                |_, field| Ok(Field::new(field.name().clone(), model::money_dtype())),
            ),
        }
    }

    /// A money column with null read as zero.
    fn money_or_zero(&self, name: &str) -> Expr {
        self.money(name).fill_null(zero())
    }

    /// A time stamp column as a UTC instant.
    fn instant(&self, name: &str) -> Expr {
        let Some(real) = self.find(name) else {
            return lit(NULL).cast(model::instant_dtype());
        };
        match self.schema.get(real.as_str()) {
            Some(DataType::String) => {
                let path = self.path.clone();
                let column_name = real.clone();
                col(real.as_str()).map(
                    move |column| to_instant(&column, &path, &column_name),
                    |_, field| Ok(Field::new(field.name().clone(), model::instant_dtype())),
                )
            }
            Some(DataType::Datetime(_, None)) => col(real.as_str())
                .dt()
                .replace_time_zone(Some(TimeZone::UTC), lit("raise"), NonExistent::Raise)
                .cast(model::instant_dtype()),
            _ => col(real.as_str()).cast(model::instant_dtype()),
        }
    }
}

/// A decimal zero.
fn zero() -> Expr {
    lit(0).cast(model::money_dtype())
}

/// The billed (unblended) and effective cost of FORMATS.md §1.6 as one struct column
/// `__amounts`, one row at a time: only the amounts the line item type needs are converted,
/// so a usage line costs one conversion, not seven.
fn amounts_expr(c: &Columns) -> Expr {
    let texts = [cur::LINE_ITEM_TYPE.1, cur::PRODUCT_CODE.1, cur::DESCRIPTION.1, cur::RI_ARN.1];
    let amounts = [
        cur::UNBLENDED.1,
        cur::SP_EFFECTIVE.1,
        cur::SP_COMMITMENT.1,
        cur::SP_USED.1,
        cur::RI_EFFECTIVE.1,
        cur::RI_UNUSED_UPFRONT.1,
        cur::RI_UNUSED_RECURRING.1,
    ];
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

/// Brings literal (one-row) inputs of a batch UDF to the batch length.
fn broadcast(columns: &mut [Column]) -> usize {
    let length = columns.iter().map(Column::len).max().unwrap_or(0);
    for column in columns.iter_mut() {
        if column.len() != length {
            *column = column.new_from_index(0, length);
        }
    }
    length
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

/// The Arrow arrays behind one chunk of text, doubles and raw decimals.
type TextArray = <StringType as PolarsDataType>::Array;
type FloatArray = <Float64Type as PolarsDataType>::Array;
type Float32Array = <Float32Type as PolarsDataType>::Array;
type RawArray = <Int128Type as PolarsDataType>::Array;

/// A text column of one batch, read row by row: trimmed, with null and `NULL` as "".
struct TextCells(Option<TextArray>);

impl TextCells {
    fn new(column: &Column) -> PolarsResult<TextCells> {
        if column.is_empty() || column.dtype() == &DataType::Null {
            return Ok(TextCells(None));
        }
        let text = column.cast(&DataType::String)?;
        let text = text.str()?.rechunk();
        Ok(TextCells(Some(text.downcast_as_array().clone())))
    }

    /// An id of the raw value: equal ids are equal values (0 for null).
    fn id(&self, row: usize) -> u128 {
        match &self.0 {
            Some(array) if array.get(row).is_some() => array.views()[row].as_u128(),
            _ => 0,
        }
    }

    fn get(&self, row: usize) -> &str {
        let Some(value) = self.0.as_ref().and_then(|array| array.get(row)) else { return "" };
        let value = value.trim();
        if value == "NULL" { "" } else { value }
    }
}

/// A money column of one batch, read row by row as exact [`Money`].
enum MoneyCells<'a> {
    Missing,
    Float(FloatArray, &'a str, &'a str),
    Float32(Float32Array, &'a str, &'a str),
    Text(TextArray, &'a str, &'a str),
    Exact(RawArray, &'a str, &'a str),
}

impl<'a> MoneyCells<'a> {
    fn new(column: &Column, path: &'a str, name: &'a str) -> PolarsResult<MoneyCells<'a>> {
        Ok(match column.dtype() {
            _ if column.is_empty() => MoneyCells::Missing,
            DataType::Null => MoneyCells::Missing,
            DataType::Float64 => {
                let numbers = column.f64()?.rechunk();
                MoneyCells::Float(numbers.downcast_as_array().clone(), path, name)
            }
            DataType::Float32 => {
                let numbers = column.f32()?.rechunk();
                MoneyCells::Float32(numbers.downcast_as_array().clone(), path, name)
            }
            DataType::String | DataType::Categorical(..) | DataType::Enum(..) => {
                let text = column.cast(&DataType::String)?;
                let text = text.str()?.rechunk();
                MoneyCells::Text(text.downcast_as_array().clone(), path, name)
            }
            _ => {
                // Strict: a value that does not fit `Decimal(38, 18)` is an error, not a null.
                let exact = column.strict_cast(&model::money_dtype()).map_err(|_| {
                    polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected amounts that fit 20 integer and 18 fraction digits, found a {} value out of that range", column.dtype())
                })?;
                let raw = exact.decimal()?.physical().rechunk();
                MoneyCells::Exact(raw.downcast_as_array().clone(), path, name)
            }
        })
    }

    fn get(&self, row: usize) -> PolarsResult<Option<Money>> {
        match self {
            MoneyCells::Missing => Ok(None),
            MoneyCells::Exact(raw, path, name) => match raw.get(row) {
                None => Ok(None),
                Some(raw) => Money::from_raw(raw).within_limit().map(Some).map_err(|error| {
                    polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{}`", error.expected(), Money::from_raw(raw))
                }),
            },
            MoneyCells::Float(numbers, path, name) => match numbers.get(row) {
                None => Ok(None),
                Some(number) => Money::from_f64(number).map(Some).map_err(|error| {
                    polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{number}`", error.expected())
                }),
            },
            MoneyCells::Float32(numbers, path, name) => match numbers.get(row) {
                None => Ok(None),
                Some(number) => Money::from_f32(number).map(Some).map_err(|error| {
                    polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{number}`", error.expected())
                }),
            },
            MoneyCells::Text(text, path, name) => {
                let Some(value) = text.get(row) else { return Ok(None) };
                let value = value.trim();
                if value.is_empty() || value.eq_ignore_ascii_case("null") {
                    return Ok(None);
                }
                Money::parse(value).map(Some).map_err(|error| {
                    polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{value}`", error.expected())
                })
            }
        }
    }
}

/// CUR 2.0 Parquet into the canonical frame.
fn cur2(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
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

/// FOCUS Parquet into the canonical frame.
fn focus_frame(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
    let charge_start = c.instant(focus::CHARGE_PERIOD_START);
    let period_start = c.instant(focus::BILLING_PERIOD_START).fill_null(charge_start.clone());
    let category = c.text(focus::CHARGE_CATEGORY);
    let has_invoice = c.find(focus::INVOICE).is_some();
    let invoice = c.text(focus::INVOICE);
    let billed = c.money_or_zero(focus::BILLED_COST);
    let fixed = vec![
        charge_start.fill_null(period_start.clone()).alias(costs::CHARGE_PERIOD_START),
        month_of(period_start).alias(costs::BILLING_PERIOD),
        c.text(focus::PROVIDER).fill_null(lit("")).alias(costs::PROVIDER),
        c.text(focus::BILLING_ACCOUNT).alias(costs::BILLING_ACCOUNT_ID),
        c.text(focus::SUB_ACCOUNT).alias(costs::SUB_ACCOUNT_ID),
        invoice.clone().alias(costs::INVOICE_ID),
        c.text(focus::SERVICE).alias(costs::SERVICE_NAME),
        c.text(focus::REGION).alias(costs::REGION_ID),
        c.text(focus::USAGE_TYPE).alias(costs::USAGE_TYPE),
        category.clone().str().to_lowercase().fill_null(lit("usage")).alias(costs::CHARGE_CATEGORY),
        category.alias(costs::LINE_ITEM_TYPE),
        c.text(focus::RESOURCE).alias(costs::RESOURCE_ID),
        lit(NULL).cast(DataType::String).alias(costs::MODEL),
        lit(NULL).cast(DataType::String).alias(costs::TOKEN_TYPE),
        c.money(focus::CONSUMED_QUANTITY).alias(costs::CONSUMED_QUANTITY),
        c.text(focus::CONSUMED_UNIT).alias(costs::CONSUMED_UNIT),
        billed.clone().alias(costs::BILLED_COST),
        c.money(focus::EFFECTIVE_COST).fill_null(billed).alias(costs::EFFECTIVE_COST),
        c.money(focus::LIST_COST).alias(costs::LIST_COST),
        c.currency(focus::BILLING_CURRENCY).alias(costs::BILLING_CURRENCY),
        lit(c.path.clone()).alias(costs::SOURCE_FILE),
    ];
    let tags = TagInputs {
        tags: c.find(focus::TAGS),
        categories: None,
        account: c.text(focus::SUB_ACCOUNT),
        resource: c.text(focus::RESOURCE),
        prefixed: false,
        path: c.path.clone(),
    };
    let provisional = if has_invoice { invoice.is_null() } else { lit(false) };
    finish(frame, fixed, tags, provisional, plan)
}

/// Canonical Parquet (written by aispend, for example `fetch`): taxonomy columns that are
/// missing are added as nulls so frames of every source line up.
fn canonical(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
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

/// The inputs of tag resolution for one file.
struct TagInputs {
    tags: Option<String>,
    categories: Option<String>,
    account: Expr,
    resource: Expr,
    /// CUR 2.0 map keys carry a `user_` prefix.
    prefixed: bool,
    /// The file, for messages.
    path: String,
}

/// Adds the owner columns and the conflict count, and orders the columns canonically.
fn finish(
    frame: LazyFrame,
    fixed: Vec<Expr>,
    tags: TagInputs,
    provisional: Expr,
    plan: &TagPlan,
) -> Result<LazyFrame> {
    let plan = Arc::new(plan.clone());
    let names = plan.names();
    let tag_column = |name: &Option<String>| {
        name.as_ref().map_or(lit(NULL).cast(DataType::String), |n| col(n.as_str()))
    };
    // The account and resource only feed the fallbacks: without any, neither is read.
    let has_fallbacks = plan.has_fallbacks();
    let fallback =
        |input: Expr| if has_fallbacks { input } else { lit(NULL).cast(DataType::String) };
    let output_names = names.clone();
    let prefixed = tags.prefixed;
    let path = tags.path.clone();
    let resolver = move |columns: &mut [Column]| resolve_owners(columns, &plan, prefixed, &path);
    let owners = tag_column(&tags.tags).map_many(
        resolver,
        &[tag_column(&tags.categories), fallback(tags.account), fallback(tags.resource)],
        move |_, _| Ok(owners_field(&output_names)),
    );
    let mut columns = fixed;
    columns.push(owners.alias("__owners"));
    columns.push(provisional.alias(costs::PROVISIONAL));
    let mut order: Vec<Expr> = costs::FIXED
        .iter()
        .map(|name| match *name {
            costs::TAG_CONFLICTS => col("__owners").struct_().field_by_name(costs::TAG_CONFLICTS),
            costs::OWNER_FALLBACKS => {
                col("__owners").struct_().field_by_name(costs::OWNER_FALLBACKS)
            }
            other => col(other),
        })
        .collect();
    for name in &names {
        order.push(col("__owners").struct_().field_by_name(name));
    }
    Ok(frame.select(columns).select(order))
}

/// The struct the tag resolver returns: one string per owner column and the conflicts.
fn owners_field(names: &[String]) -> Field {
    let mut fields: Vec<Field> =
        names.iter().map(|n| Field::new(n.as_str().into(), DataType::String)).collect();
    fields.push(Field::new(costs::TAG_CONFLICTS.into(), DataType::UInt32));
    fields.push(Field::new(costs::OWNER_FALLBACKS.into(), DataType::UInt32));
    Field::new("__owners".into(), DataType::Struct(fields))
}

/// Resolves the owners of every row of a batch: inputs are the tags, the cost categories,
/// the account and the resource.
///
/// Rows are resolved by their signature: which values the keys the plan reads hold (and the
/// account and resource when fallbacks are configured), each named by its Arrow view, so two
/// equal views are always the same text. A bill repeats few signatures, so each is resolved
/// once per batch and the other rows only look it up, without allocating or hashing text.
fn resolve_owners(
    columns: &mut [Column],
    plan: &TagPlan,
    prefixed: bool,
    path: &str,
) -> PolarsResult<Column> {
    let length = broadcast(columns);
    let mut wanted: Vec<&str> = Vec::new();
    for (_, sources) in &plan.columns {
        for source in sources {
            if !wanted.contains(&source.as_str()) {
                wanted.push(source);
            }
        }
    }
    let slot_of = |canonical: &str| wanted.iter().position(|w| same_key(w, canonical));
    let tags = TagCells::new(&columns[0], path, &|raw| {
        slot_of(&if prefixed { cur2_tag_key(raw) } else { canonical_key(raw) })
    })?;
    let categories = TagCells::new(&columns[1], path, &|raw| slot_of(&canonical_key(raw)))?;
    let fallbacks = plan.has_fallbacks();
    let accounts = TextCells::new(&columns[2])?;
    let resources = TextCells::new(&columns[3])?;
    let mut cache: PlHashMap<Vec<(usize, u128)>, usize> = PlHashMap::default();
    let mut results: Vec<Resolved> = Vec::new();
    let mut picks: Vec<usize> = Vec::with_capacity(length);
    let mut signature: Vec<(usize, u128)> = Vec::new();
    let mut pairs: Vec<(usize, &str)> = Vec::new();
    for row in 0..length {
        signature.clear();
        tags.push_ids(row, 0, &mut signature);
        categories.push_ids(row, 1, &mut signature);
        if fallbacks {
            signature.push((usize::MAX, accounts.id(row)));
            signature.push((usize::MAX - 1, resources.id(row)));
        }
        let pick = if let Some(found) = cache.get(signature.as_slice()) {
            *found
        } else {
            pairs.clear();
            tags.push_pairs(row, 0, &mut pairs);
            categories.push_pairs(row, 1, &mut pairs);
            let line: Vec<(String, String, bool)> = pairs
                .iter()
                .map(|(code, value)| {
                    (wanted[code / 2].to_string(), (*value).to_string(), code % 2 == 1)
                })
                .collect();
            results.push(plan.resolve(&line, accounts.get(row), resources.get(row)));
            cache.insert(signature.clone(), results.len() - 1);
            results.len() - 1
        };
        picks.push(pick);
    }
    let mut fields: Vec<Column> = plan
        .names()
        .iter()
        .enumerate()
        .map(|(index, name)| {
            StringChunked::from_iter_options(
                name.as_str().into(),
                picks.iter().map(|pick| results[*pick].values[index].as_deref()),
            )
            .into_column()
        })
        .collect();
    let conflicts: Vec<u32> = picks.iter().map(|pick| results[*pick].conflicts).collect();
    fields.push(Column::new(costs::TAG_CONFLICTS.into(), conflicts));
    let fallbacks: Vec<u32> = picks.iter().map(|pick| results[*pick].fallbacks).collect();
    fields.push(Column::new(costs::OWNER_FALLBACKS.into(), fallbacks));
    Ok(StructChunked::from_columns("__owners".into(), length, &fields)?.into_column())
}

/// A tag column of one batch (a Parquet MAP, JSON text, or absent), with each key already
/// turned into its slot among the keys the plan reads.
enum TagCells {
    None,
    Map {
        /// The entries of each row; a null map has none.
        offsets: Vec<(usize, usize)>,
        slots: Vec<Option<usize>>,
        values: TextArray,
    },
    Json {
        rows: Vec<usize>,
        parsed: Vec<Vec<(usize, String)>>,
    },
}

impl TagCells {
    /// Reads the column; `slot` gives the slot of a raw key, or `None` for a key the plan
    /// does not read.
    fn new(
        column: &Column,
        path: &str,
        slot: &dyn Fn(&str) -> Option<usize>,
    ) -> PolarsResult<TagCells> {
        match column.dtype() {
            DataType::List(_) if !column.is_empty() => {
                let list = column.list()?.rechunk();
                let array = list.downcast_as_array();
                let offsets = array.offsets();
                let entries = list.get_inner();
                let fields = entries.struct_()?.fields_as_series();
                let keys = fields[0].cast(&DataType::String)?;
                let values = fields[1].cast(&DataType::String)?;
                let keys = keys.str()?.rechunk();
                let values = values.str()?.rechunk();
                let keys = keys.downcast_as_array();
                let mut known: PlHashMap<u128, Option<usize>> = PlHashMap::default();
                let slots = (0..keys.len())
                    .map(|entry| {
                        let key = keys.get(entry)?;
                        *known.entry(keys.views()[entry].as_u128()).or_insert_with(|| slot(key))
                    })
                    .collect();
                Ok(TagCells::Map {
                    offsets: (0..array.len())
                        .map(|row| {
                            let valid = array.validity().is_none_or(|valid| valid.get_bit(row));
                            if valid { offsets.start_end(row) } else { (0, 0) }
                        })
                        .collect(),
                    slots,
                    values: values.downcast_as_array().clone(),
                })
            }
            DataType::String if !column.is_empty() => {
                let text = column.str()?;
                let mut seen: PlHashMap<&str, usize> = PlHashMap::default();
                let mut parsed = Vec::new();
                let mut rows = Vec::with_capacity(text.len());
                for value in text.iter() {
                    let value = value.unwrap_or("");
                    if let Some(index) = seen.get(value) {
                        rows.push(*index);
                        continue;
                    }
                    let pairs = parse_json_tags(value).map_err(|expected| {
                        let name = column.name();
                        polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {expected}, found `{value}`")
                    })?;
                    parsed.push(
                        pairs
                            .into_iter()
                            .filter_map(|(key, value)| slot(&key).map(|slot| (slot, value)))
                            .collect(),
                    );
                    seen.insert(value, parsed.len() - 1);
                    rows.push(parsed.len() - 1);
                }
                Ok(TagCells::Json { rows, parsed })
            }
            _ => Ok(TagCells::None),
        }
    }

    /// Appends the (slot code, value id) pairs of a row, in file order: equal ids are equal
    /// values (the Arrow view of a map value, or the place of a parsed JSON value).
    fn push_ids(&self, row: usize, source: usize, out: &mut Vec<(usize, u128)>) {
        match self {
            TagCells::None => {}
            TagCells::Map { offsets, slots, values } => {
                let (start, end) = offsets[row];
                for entry in start..end {
                    if let Some(slot) = slots[entry]
                        && values.get(entry).is_some()
                    {
                        out.push((slot * 2 + source, values.views()[entry].as_u128()));
                    }
                }
            }
            TagCells::Json { rows, parsed } => {
                let index = rows[row];
                for (place, (slot, _)) in parsed[index].iter().enumerate() {
                    out.push((slot * 2 + source, ((index as u128) << 64) | place as u128));
                }
            }
        }
    }

    /// Appends the (slot code, raw value) pairs of a row, in file order; the code is
    /// `slot * 2 + source` (0 for tags, 1 for cost categories).
    fn push_pairs<'a>(&'a self, row: usize, source: usize, out: &mut Vec<(usize, &'a str)>) {
        match self {
            TagCells::None => {}
            TagCells::Map { offsets, slots, values } => {
                let (start, end) = offsets[row];
                for entry in start..end {
                    if let Some(slot) = slots[entry]
                        && let Some(value) = values.get(entry)
                    {
                        out.push((slot * 2 + source, value));
                    }
                }
            }
            TagCells::Json { rows, parsed } => {
                for (slot, value) in &parsed[rows[row]] {
                    out.push((slot * 2 + source, value.as_str()));
                }
            }
        }
    }
}

/// Trims text and reads the empty string and `NULL` as null. A batch that needs no change
/// (the usual case) is returned as it is, without copying a value.
fn clean_text(column: &Column) -> PolarsResult<Column> {
    let text = column.str()?;
    let changes =
        |value: &str| value.is_empty() || value == "NULL" || value.trim().len() != value.len();
    if !text.iter().flatten().any(changes) {
        return Ok(column.clone());
    }
    let cleaned: StringChunked = text
        .iter()
        .map(|value| value.map(str::trim).filter(|v| !v.is_empty() && *v != "NULL"))
        .collect();
    Ok(cleaned.with_name(column.name().clone()).into_column())
}

/// Trims currency codes and upper-cases them, reading the empty string and `NULL` as null,
/// so `usd` and ` USD` are one currency. A batch that needs no change is returned as it is.
fn clean_currency(column: &Column) -> PolarsResult<Column> {
    let text = column.str()?;
    let changes = |value: &str| {
        value.is_empty()
            || value == "NULL"
            || value.trim().len() != value.len()
            || value.bytes().any(|byte| byte.is_ascii_lowercase())
    };
    if !text.iter().flatten().any(changes) {
        return Ok(column.clone());
    }
    let cleaned: StringChunked = text
        .iter()
        .map(|value| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("null"))
                .map(str::to_ascii_uppercase)
        })
        .collect();
    Ok(cleaned.with_name(column.name().clone()).into_column())
}

/// False for the child rows of EKS and ECS split cost allocation, which repeat cost that
/// their parent rows already carry.
fn not_split_child(column: &Column) -> PolarsResult<Column> {
    let text = column.cast(&DataType::String)?;
    let keep: BooleanChunked =
        text.str()?.iter().map(|value| Some(!value.is_some_and(is_split_child))).collect();
    Ok(keep.with_name(column.name().clone()).into_column())
}

/// The billing period (`YYYY-MM`, UTC) of an instant expression. Formatted once per distinct
/// instant of a batch: a bill has one period start per month.
fn month_of(instant: Expr) -> Expr {
    instant.map(
        |column| {
            let millis = column.cast(&DataType::Int64)?;
            let mut texts: Vec<(i64, Option<String>)> = Vec::new();
            let mut rows: Vec<Option<usize>> = Vec::with_capacity(millis.len());
            for value in millis.i64()?.iter() {
                rows.push(value.map(|value| {
                    if texts.last().is_none_or(|(at, _)| *at != value) {
                        let text = chrono::DateTime::from_timestamp_millis(value)
                            .map(|t| t.format("%Y-%m").to_string());
                        texts.push((value, text));
                    }
                    texts.len() - 1
                }));
            }
            let months = StringChunked::from_iter_options(
                column.name().clone(),
                rows.into_iter().map(|row| row.and_then(|i| texts[i].1.as_deref())),
            );
            Ok(months.with_name(column.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
    )
}

/// Decimals and integers to `Decimal(38, 18)`: a value that does not fit, or is past the
/// input bound of 10^15, is an error, never a null.
fn exact_money(column: &Column, path: &str, name: &str) -> PolarsResult<Column> {
    let exact = column.strict_cast(&model::money_dtype()).map_err(|_| {
        polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected amounts that fit 20 integer and 18 fraction digits, found a {} value out of that range", column.dtype())
    })?;
    for raw in exact.decimal()?.physical().iter().flatten() {
        if let Err(error) = Money::from_raw(raw).within_limit() {
            return Err(
                polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{}`", error.expected(), Money::from_raw(raw)),
            );
        }
    }
    Ok(exact)
}

/// Doubles (through their shortest text form) or text to `Decimal(38, 18)`.
fn to_money(column: &Column, path: &str, name: &str) -> PolarsResult<Column> {
    let converted: PolarsResult<Int128Chunked> = match column.dtype() {
        DataType::Float32 => column
            .f32()?
            .iter()
            .map(|value| match value {
                None => Ok(None),
                Some(number) => Money::from_f32(number)
                    .map(|m| Some(m.raw()))
                    .map_err(|error| polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{number}`", error.expected())),
            })
            .collect(),
        DataType::String | DataType::Categorical(..) | DataType::Enum(..) => column
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|value| match value.map(str::trim).filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("null")) {
                None => Ok(None),
                Some(text) => Money::parse(text)
                    .map(|m| Some(m.raw()))
                    .map_err(|error| polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{text}`", error.expected())),
            })
            .collect(),
        _ => column
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|value| match value {
                None => Ok(None),
                Some(number) => Money::from_f64(number)
                    .map(|m| Some(m.raw()))
                    .map_err(|error| polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {}, found `{number}`", error.expected())),
            })
            .collect(),
    };
    Ok(converted?
        .with_name(column.name().clone())
        .into_decimal_unchecked(crate::money::PRECISION, crate::money::SCALE as usize)
        .into_series()
        .into_column())
}

/// Text time stamps to UTC instants, with the accepted spellings of `ingest::time`.
fn to_instant(column: &Column, path: &str, name: &str) -> PolarsResult<Column> {
    let millis: PolarsResult<Int64Chunked> = column
        .str()?
        .iter()
        .map(|value| match value.map(str::trim).filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("null")) {
            None => Ok(None),
            Some(text) => super::time::parse_instant(text)
                .map(|t| Some(t.timestamp_millis()))
                .ok_or_else(|| polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected a time stamp, found `{text}`")),
        })
        .collect();
    millis?
        .into_series()
        .cast(&model::instant_dtype())
        .map(|s| s.with_name(column.name().clone()).into_column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_in_pieces_shows_back_what_it_shows_back_whole() {
        let depts = ["a", "b", "", "a", "c", "b", "a", "", "c", "a"];
        let tags: Vec<String> = depts
            .iter()
            .map(|d| if d.is_empty() { "{}".into() } else { format!("{{\"user_dept\":\"{d}\"}}") })
            .collect();
        let costs: Vec<f64> = (1..=10).map(|i| f64::from(i) / 10.0).collect();
        let mut frame = df!(
            "bill_billing_period_start_date" => vec!["2025-01-01T00:00:00Z"; 10],
            "line_item_line_item_type" => vec!["Usage"; 10],
            "line_item_currency_code" => vec!["USD"; 10],
            "line_item_unblended_cost" => costs,
            "resource_tags" => tags,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cur2.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(3))
            .finish(&mut frame)
            .unwrap();
        let path = path.to_str().unwrap();
        let plan = TagPlan::new(&crate::config::Config::parse("").unwrap(), &[]);
        let pieces = pieces_of(path, ParquetKind::Cur2, &plan, 4).unwrap();
        assert_eq!(pieces.len(), 2, "row groups of 3, 3, 3 and 1 rows make pieces of 6 and 4");
        let keys = vec!["dept".to_string()];
        let (in_pieces, coverage) =
            crate::report::showback::showback_of_pieces(pieces, &keys, &plan.names()).unwrap();
        let whole = read(path, ParquetKind::Cur2, &plan).unwrap();
        let (at_once, _) = crate::report::showback::showback(whole, &keys, &plan.names()).unwrap();
        assert!(in_pieces.equals_missing(&at_once), "{in_pieces}\n{at_once}");
        // a 0.1+0.4+0.7+1.0 = 2.2, b 0.2+0.6 = 0.8, c 0.5+0.9 = 1.4, untagged 0.3+0.8 = 1.1.
        let billed = crate::ingest::builder::money_values(in_pieces.column("billed_cost").unwrap())
            .unwrap()
            .into_iter()
            .map(|m| m.unwrap().cents_plain())
            .collect::<Vec<_>>();
        assert_eq!(billed, ["1.10", "2.20", "0.80", "1.40"]);
        let lines = in_pieces.column("line_items").unwrap().u64().unwrap().to_vec();
        assert_eq!(lines, [Some(2), Some(4), Some(2), Some(2)]);
        assert_eq!(coverage.by_key[&("dept".to_string(), "USD".to_string())].untagged_lines, 2);
    }

    #[test]
    fn a_float32_amount_is_its_shortest_f32_text() {
        // 0.1f32 widened to f64 is 0.100000001490116119384765625; its own text is 0.1.
        assert_eq!(Money::from_f32(0.1).unwrap(), Money::parse("0.1").unwrap());
        let sum = Money::from_f32(0.1).unwrap() + Money::from_f32(0.2).unwrap();
        assert_eq!(sum, Money::parse("0.3").unwrap());
        assert_eq!(Money::from_f32(-1.5e-7).unwrap(), Money::parse("-0.00000015").unwrap());
        assert!(Money::from_f32(f32::NAN).is_err());
        let column = Column::new("amount".into(), [Some(0.1f32), None, Some(0.2f32)]);
        let exact = crate::ingest::builder::money_values(&to_money(&column, "f", "a").unwrap());
        let want = [Some(Money::parse("0.1").unwrap()), None, Some(Money::parse("0.2").unwrap())];
        assert_eq!(exact.unwrap(), want);
    }

    #[test]
    fn pieces_are_whole_row_groups_of_at_least_the_target() {
        assert_eq!(piece_ranges(&[500, 500, 500, 200], 1000), [(0, 1000), (1000, 700)]);
        assert_eq!(piece_ranges(&[3000, 10], 1000), [(0, 3000), (3000, 10)]);
        assert_eq!(piece_ranges(&[10, 20], 1000), [(0, 30)]);
        assert_eq!(piece_ranges(&[], 1000), [(0, 0)]);
    }

    #[test]
    fn map_tags_follow_each_rows_offsets() {
        let rows: Vec<Series> = ["a", "b", "c"]
            .iter()
            .map(|dept| {
                let key = Series::new("key".into(), ["user_dept"]);
                let value = Series::new("value".into(), [*dept]);
                StructChunked::from_series("entry".into(), 1, [&key, &value].into_iter())
                    .unwrap()
                    .into_series()
            })
            .collect();
        let tags = Series::new("resource_tags".into(), rows).into_column();
        let sliced = tags.slice(1, 2);
        let cells =
            TagCells::new(&sliced, "t.parquet", &|key| (cur2_tag_key(key) == "dept").then_some(3))
                .unwrap();
        for (row, dept) in [(0, "b"), (1, "c")] {
            let mut pairs = Vec::new();
            cells.push_pairs(row, 1, &mut pairs);
            assert_eq!(pairs, [(7, dept)]);
        }
    }
}
