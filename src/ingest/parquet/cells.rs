//! Row-by-row readers of the columns of one batch, for the batch functions that look at
//! every row (the CUR 2.0 amounts and the tag resolver).
//!
//! Each reader holds the batch's Arrow array once, rechunked, and reads a row by its index.
//! [`TextCells`] reads trimmed text (null and `NULL` as "") and names each value by its
//! Arrow view; [`MoneyCells`] reads exact [`Money`] from doubles, text, decimals or
//! integers, with the same errors as the column conversions.

use polars::prelude::*;

use crate::model;
use crate::money::Money;

/// Brings literal (one-row) inputs of a batch UDF to the batch length.
pub(super) fn broadcast(columns: &mut [Column]) -> usize {
    let length = columns.iter().map(Column::len).max().unwrap_or(0);
    for column in columns.iter_mut() {
        if column.len() != length {
            *column = column.new_from_index(0, length);
        }
    }
    length
}

/// The Arrow arrays behind one chunk of text, doubles and raw decimals.
pub(super) type TextArray = <StringType as PolarsDataType>::Array;
type FloatArray = <Float64Type as PolarsDataType>::Array;
type Float32Array = <Float32Type as PolarsDataType>::Array;
type RawArray = <Int128Type as PolarsDataType>::Array;

/// A text column of one batch, read row by row: trimmed, with null and `NULL` as "".
pub(super) struct TextCells(Option<TextArray>);

impl TextCells {
    pub(super) fn new(column: &Column) -> PolarsResult<TextCells> {
        if column.is_empty() || column.dtype() == &DataType::Null {
            return Ok(TextCells(None));
        }
        let text = column.cast(&DataType::String)?;
        let text = text.str()?.rechunk();
        Ok(TextCells(Some(text.downcast_as_array().clone())))
    }

    /// An id of the raw value: equal ids are equal values (0 for null).
    pub(super) fn id(&self, row: usize) -> u128 {
        match &self.0 {
            Some(array) if array.get(row).is_some() => array.views()[row].as_u128(),
            _ => 0,
        }
    }

    pub(super) fn get(&self, row: usize) -> &str {
        let Some(value) = self.0.as_ref().and_then(|array| array.get(row)) else { return "" };
        let value = value.trim();
        if value == "NULL" { "" } else { value }
    }
}

/// A money column of one batch, read row by row as exact [`Money`].
pub(super) enum MoneyCells<'a> {
    Missing,
    Float(FloatArray, &'a str, &'a str),
    Float32(Float32Array, &'a str, &'a str),
    Text(TextArray, &'a str, &'a str),
    Exact(RawArray, &'a str, &'a str),
}

impl<'a> MoneyCells<'a> {
    pub(super) fn new(
        column: &Column,
        path: &'a str,
        name: &'a str,
    ) -> PolarsResult<MoneyCells<'a>> {
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

    pub(super) fn get(&self, row: usize) -> PolarsResult<Option<Money>> {
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
