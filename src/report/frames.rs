//! Small helpers shared by the insight reports: reading columns of a collected frame into
//! plain Rust values, building output columns, and day buckets in the run's time zone.
//!
//! Reports aggregate with Polars first, so these helpers see small frames (one row per
//! owner and day, or per request at most). A missing optional column reads as all nulls.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;

use crate::ingest::builder::money_values;
use crate::model::UNALLOCATED;
use crate::money::Money;

/// True when the frame has the column.
pub fn has(frame: &DataFrame, name: &str) -> bool {
    frame.get_column_names().iter().any(|n| n.as_str() == name)
}

/// A text column as owned strings; a missing column is all nulls.
pub fn strings(frame: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    if !has(frame, name) {
        return Ok(vec![None; frame.height()]);
    }
    let column = frame.column(name)?.cast(&DataType::String)?;
    Ok(column.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

/// An integer column as `i64`; a missing column is all nulls.
pub fn ints(frame: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    if !has(frame, name) {
        return Ok(vec![None; frame.height()]);
    }
    let column = frame.column(name)?.cast(&DataType::Int64)?;
    Ok(column.i64()?.iter().collect())
}

/// A boolean column; a missing column is all nulls.
pub fn bools(frame: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    if !has(frame, name) {
        return Ok(vec![None; frame.height()]);
    }
    let column = frame.column(name)?.cast(&DataType::Boolean)?;
    Ok(column.bool()?.iter().collect())
}

/// A money column; a missing column is all nulls.
pub fn moneys(frame: &DataFrame, name: &str) -> Result<Vec<Option<Money>>> {
    if !has(frame, name) {
        return Ok(vec![None; frame.height()]);
    }
    money_values(frame.column(name)?)
}

/// An instant column (`Datetime`, any unit) as UTC instants.
pub fn instants(frame: &DataFrame, name: &str) -> Result<Vec<Option<DateTime<Utc>>>> {
    if !has(frame, name) {
        return Ok(vec![None; frame.height()]);
    }
    let column = frame.column(name)?.cast(&crate::model::instant_dtype())?;
    let millis = column.cast(&DataType::Int64)?;
    Ok(millis.i64()?.iter().map(|m| m.and_then(DateTime::from_timestamp_millis)).collect())
}

/// A `Date` column as days.
pub fn dates(frame: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>> {
    let column = frame.column(name)?.cast(&DataType::Int32)?;
    Ok(column.i32()?.iter().map(|d| d.map(day_from_epoch)).collect())
}

/// The day `days` after 1970-01-01.
pub fn day_from_epoch(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + chrono::Duration::days(days.into())
}

/// Days since 1970-01-01.
pub fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

/// A `Date` column from days.
pub fn date_column(name: &str, days: &[Option<NaiveDate>]) -> Result<Column> {
    let raw: Vec<Option<i32>> = days.iter().map(|d| d.map(epoch_days)).collect();
    Ok(Column::new(name.into(), raw).cast(&DataType::Date)?)
}

/// The day of an instant in a time zone.
pub fn day_in(instant: DateTime<Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// An expression for the day of an instant column in a time zone.
pub fn day_expr(column: &str, tz: chrono_tz::Tz) -> Result<Expr> {
    let zone = polars::prelude::TimeZone::opt_try_new(Some(tz.name()))?
        .unwrap_or(polars::prelude::TimeZone::UTC);
    Ok(col(column).cast(crate::model::instant_dtype()).dt().convert_time_zone(zone).dt().date())
}

/// Owner values of every row, one vector per key; null becomes `__unallocated__`.
pub fn owners(frame: &DataFrame, keys: &[String]) -> Result<Vec<Vec<String>>> {
    let columns: Vec<Vec<Option<String>>> =
        keys.iter().map(|k| strings(frame, k)).collect::<Result<_>>()?;
    Ok((0..frame.height())
        .map(|row| {
            columns
                .iter()
                .map(|c| c[row].clone().unwrap_or_else(|| UNALLOCATED.to_string()))
                .collect()
        })
        .collect())
}

/// An owner as text: `dept=ads,team=search`.
pub fn owner_label(keys: &[String], values: &[String]) -> String {
    keys.iter().zip(values).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The median of amounts (the mean of the two middle ones for an even count).
pub fn median(values: &[Money]) -> Option<Money> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]).div_int(2)
    })
}

/// The median absolute deviation from `center`.
pub fn mad(values: &[Money], center: Money) -> Option<Money> {
    let deviations: Vec<Money> = values.iter().map(|v| (*v - center).abs()).collect();
    median(&deviations)
}

/// Rounds an amount to `places` decimals, half away from zero.
pub fn round_places(amount: Money, places: u32) -> Money {
    let step = 10i128.pow(crate::money::SCALE - places.min(crate::money::SCALE));
    Money::from_raw(crate::money::div_round(amount.raw(), step) * step)
}

/// `part / whole` as a fraction, `None` when the whole is zero.
#[allow(clippy::cast_precision_loss)]
pub fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0).then(|| part / whole)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_count_is_mean_of_middle_pair() {
        let values: Vec<Money> = [95, 100, 105, 102].into_iter().map(Money::from_units).collect();
        // Sorted 95, 100, 102, 105: (100 + 102) / 2 = 101.
        assert_eq!(median(&values), Some(Money::from_units(101)));
        // Deviations from 101: 6, 1, 4, 1 -> sorted 1, 1, 4, 6 -> (1 + 4) / 2 = 2.5.
        assert_eq!(mad(&values, Money::from_units(101)), Some(Money::parse("2.5").unwrap()));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            round_places(Money::parse("0.0000025").unwrap(), 6),
            Money::parse("0.000003").unwrap()
        );
        assert_eq!(
            round_places(Money::parse("-0.0000025").unwrap(), 6),
            Money::parse("-0.000003").unwrap()
        );
    }
}
