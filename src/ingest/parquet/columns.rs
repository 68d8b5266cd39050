//! The columns of one Parquet bill as expressions, and the conversions behind them.
//!
//! [`Columns`] finds a column without regard to case and reads it as the canonical type:
//! trimmed text with blank and `NULL` as null, upper-cased currency codes (USD when blank),
//! exact `Decimal(38, 18)` money (doubles through their shortest round-trip text, decimals
//! and integers checked against the input bound) and UTC instants. An absent column reads
//! as null, so the readers of each flavour need not ask. A value that cannot be converted
//! is an error naming the file and the column, never a null.

use polars::prelude::*;

use super::super::cur_csv::Commitment;
use crate::model;
use crate::money::Money;

/// The schema of the file, for expressions that tolerate absent columns.
pub(super) struct Columns {
    pub(super) schema: SchemaRef,
    pub(super) path: String,
}

impl Columns {
    /// The real name of a column, matched without regard to case.
    pub(super) fn find(&self, name: &str) -> Option<String> {
        self.schema.iter_names().find(|n| n.eq_ignore_ascii_case(name)).map(ToString::to_string)
    }

    /// The real name and the type of a column, matched without regard to case.
    pub(super) fn column(&self, name: &str) -> Option<(String, DataType)> {
        let real = self.find(name)?;
        let dtype = self.schema.get(real.as_str())?.clone();
        Some((real, dtype))
    }

    /// A string column, trimmed, with empty and `NULL` read as null; null when the file
    /// lacks it.
    pub(super) fn text(&self, name: &str) -> Expr {
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
    pub(super) fn currency(&self, name: &str) -> Expr {
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
    pub(super) fn unamortized(&self) -> [bool; 2] {
        Commitment::ALL
            .map(|commitment| commitment.columns().iter().any(|pair| self.find(pair.1).is_none()))
    }

    /// A column as it is in the file (null when absent), for the per-row readers that trim
    /// and convert it themselves.
    pub(super) fn raw(&self, name: &str) -> Expr {
        self.find(name).map_or(lit(NULL), |real| col(real.as_str()))
    }

    /// A money column as `Decimal(38, 18)`, null when absent or null.
    pub(super) fn money(&self, name: &str) -> Expr {
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
    pub(super) fn money_or_zero(&self, name: &str) -> Expr {
        self.money(name).fill_null(zero())
    }

    /// A time stamp column as a UTC instant.
    pub(super) fn instant(&self, name: &str) -> Expr {
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

/// The billing period (`YYYY-MM`, UTC) of an instant expression. Formatted once per distinct
/// instant of a batch: a bill has one period start per month.
pub(super) fn month_of(instant: Expr) -> Expr {
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
            Some(text) => super::super::time::parse_instant(text)
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
}
