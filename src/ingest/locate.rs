//! Places a bad value of a Parquet bill: its row, its row group and its column.
//!
//! The Parquet readers convert values in batches, where the place of a row in its file is
//! unknown, so their errors name only the file, the column and the value. When such an error
//! ends a run, [`locate`] reads that one column again, finds the first value that fails the
//! same check and turns the error into an [`InputError`] with the row, the row group and a
//! hint. Errors of any other kind pass through unchanged.

use std::sync::LazyLock;

use anyhow::Result;
use polars::prelude::*;

use crate::error::InputError;
use crate::money::Money;

/// What a column's values must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Money,
    Instant,
    Tags,
}

impl Check {
    /// The check that an error's "expected" text names.
    fn of(expected: &str) -> Option<Check> {
        let money = ["a decimal number", "a finite amount", "an amount below"];
        if money.iter().any(|m| expected.starts_with(m)) {
            Some(Check::Money)
        } else if expected.starts_with("a time stamp") {
            Some(Check::Instant)
        } else if expected.starts_with("a JSON object") {
            Some(Check::Tags)
        } else {
            None
        }
    }

    /// True when a cell passes (null, empty and `NULL` always do).
    fn passes(self, cell: &AnyValue<'_>) -> bool {
        let text = match cell {
            AnyValue::Float64(value) => return Money::from_f64(*value).is_ok(),
            AnyValue::Float32(value) => return Money::from_f64(f64::from(*value)).is_ok(),
            AnyValue::String(text) => *text,
            AnyValue::StringOwned(text) => text.as_str(),
            _ => return true,
        };
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("null") {
            return true;
        }
        match self {
            Check::Money => Money::parse(text).is_ok(),
            Check::Instant => super::time::parse_instant(text).is_some(),
            Check::Tags => crate::enrich::taxonomy::parse_json_tags(text).is_ok(),
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Check::Money => {
                "amounts must be finite decimals below 10^15 in size, such as `12.5` or \
                 `3e-06`, with `.` for the fraction and no thousands separator; fix the tool \
                 that wrote the file"
            }
            Check::Instant => "time stamps are ISO 8601, such as `2025-01-31T23:00:00Z`",
            Check::Tags => {
                "tags are a JSON object of text values, such as `{\"user_dept\": \"sales\"}`"
            }
        }
    }
}

/// The message the batch readers write: "cannot read `F`: column `C`: expected E, found `V`".
static BATCH_ERROR: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"cannot read `([^`]+)`: column `([^`]+)`: expected (.+?), found `")
        .unwrap_or_else(|_| unreachable!("the pattern is valid"))
});

/// The error with the place of the bad value, when it is a batch reader's error about a
/// Parquet file that can be read again; the error as it is otherwise.
pub fn locate(error: anyhow::Error) -> anyhow::Error {
    let found = error.chain().find_map(|cause| {
        let text = cause.to_string();
        let captures = BATCH_ERROR.captures(&text)?;
        let check = Check::of(&captures[3])?;
        Some((captures[1].to_string(), captures[2].to_string(), captures[3].to_string(), check))
    });
    let Some((path, column, expected, check)) = found else { return error };
    if !super::is_parquet(std::path::Path::new(&path)).unwrap_or(false) {
        return error;
    }
    match first_failure(&path, &column, check) {
        Ok(Some((row, value))) => {
            let location = super::parquet::place(&path, row);
            let input = InputError {
                file: path,
                location,
                column,
                expected,
                found: value,
                hint: Some(check.hint().to_string()),
            };
            anyhow::Error::new(input)
        }
        _ => error,
    }
}

/// The first row (0-based) of the column that fails the check, with its value.
fn first_failure(path: &str, column: &str, check: Check) -> Result<Option<(usize, String)>> {
    let frame = super::parquet::scan(path)?.select([col(column)]).collect()?;
    let series = frame.column(column)?.as_materialized_series().rechunk();
    for row in 0..series.len() {
        let cell = series.get(row)?;
        if !check.passes(&cell) {
            let value = match cell {
                AnyValue::String(text) => text.to_string(),
                AnyValue::Float64(number) => crate::output::float_text(number),
                AnyValue::Float32(number) => crate::output::float_text(f64::from(number)),
                other => other.to_string(),
            };
            return Ok(Some((row, value)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_amount_is_placed_in_its_row_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bill.parquet");
        let mut frame = df!("amount" => ["1", "2", "3", "4", "1,5", "6"]).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(2))
            .finish(&mut frame)
            .unwrap();
        let path = path.to_str().unwrap().to_string();
        let error = anyhow::anyhow!(
            "cannot read `{path}`: column `amount`: expected a decimal number, found `1,5`"
        )
        .context("cannot build the showback");
        let located = locate(error);
        let input = located.downcast_ref::<InputError>().expect("an input error");
        assert_eq!(input.location, "row 5 (row 1 of row group 3)");
        assert_eq!(input.found, "1,5");
        assert!(input.hint.is_some());
    }

    #[test]
    fn other_errors_pass_through() {
        let error = locate(anyhow::anyhow!("no bill to read"));
        assert_eq!(error.to_string(), "no bill to read");
    }
}
