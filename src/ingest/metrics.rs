//! Business metrics (CSV: `date`, owner keys, `metric`, `value`) into the `metrics` frame.
//!
//! Owner columns are recognised by their canonical name: a taxonomy key or one of its
//! aliases (`Department` is `dept` when `dept` lists it), resolved with the same precedence
//! as bill tags; other columns are ignored. `date` is a day (`2025-01-31`; a time stamp keeps
//! its UTC day), `value` an exact decimal. Files may be gzip; several files are stacked.

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use polars::prelude::*;

use crate::enrich::taxonomy::{TagPlan, canonical_key};
use crate::error::{InputError, hinted};
use crate::ingest::builder::money_column;
use crate::model::metrics;
use crate::money::Money;

/// One metric row before it becomes columns.
struct MetricRow {
    date: NaiveDate,
    owners: Vec<Option<String>>,
    metric: String,
    value: Money,
}

/// Reads every metrics source: columns `date` (Date), owner keys, `metric`, `value`
/// (Decimal(38, 18)).
pub fn read_metrics(sources: &[String], plan: &TagPlan) -> Result<DataFrame> {
    let files = crate::ingest::expand(sources)?;
    if files.is_empty() {
        return Err(hinted("no metrics file to read", "pass `--metrics` or `[sources] metrics`"));
    }
    let mut rows = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        read_file(crate::ingest::open(file)?, &name, plan, &mut rows)?;
    }
    frame(&rows, &plan.names())
}

/// Reads one CSV stream of metrics.
fn read_file(
    input: impl std::io::Read,
    file: &str,
    plan: &TagPlan,
    rows: &mut Vec<MetricRow>,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of `{file}`"))?
        .iter()
        .map(|h| canonical_key(h.trim_start_matches('\u{feff}')))
        .collect();
    let position = |name: &str| header.iter().position(|h| h == name);
    let (Some(date), Some(metric), Some(value)) =
        (position(metrics::DATE), position(metrics::METRIC), position(metrics::VALUE))
    else {
        return Err(hinted(
            format!(
                "`{file}` is not a metrics file: it needs `date`, `metric` and `value` columns"
            ),
            "write metrics as CSV `date,<owner keys...>,metric,value`",
        ));
    };
    let sources: Vec<&String> = plan.columns.iter().flat_map(|(_, keys)| keys).collect();
    let owner_columns: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| sources.contains(h))
        .map(|(i, h)| (i, h.clone()))
        .collect();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                return Err(anyhow::Error::new(error)
                    .context(format!("cannot read `{file}` at line {line}")));
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let bad = |column: &str, expected: &str, found: &str| -> anyhow::Error {
            InputError::at_line(file, line, column, expected, found).into()
        };
        let day = parse_day(cell(date))
            .ok_or_else(|| bad("date", "a day such as `2025-01-31`", cell(date)))?;
        let name = cell(metric);
        if name.is_empty() {
            return Err(bad("metric", "a metric name such as `transactions`", ""));
        }
        let amount =
            Money::parse(cell(value)).map_err(|_| bad("value", "a decimal number", cell(value)))?;
        let tags: Vec<(String, String, bool)> = owner_columns
            .iter()
            .map(|(i, key)| (key.clone(), cell(*i).to_string(), false))
            .collect();
        rows.push(MetricRow {
            date: day,
            owners: plan.resolve(&tags, "", "").values,
            metric: name.to_string(),
            value: amount,
        });
    }
    Ok(())
}

/// A day, or the UTC day of a time stamp.
fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| crate::ingest::time::parse_instant(text).map(|t| t.date_naive()))
}

/// The `metrics` frame of rows.
fn frame(rows: &[MetricRow], owner_names: &[String]) -> Result<DataFrame> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let days: Vec<i32> = rows
        .iter()
        .map(|r| i32::try_from((r.date - epoch).num_days()).unwrap_or(i32::MAX))
        .collect();
    let mut columns = vec![Column::new(metrics::DATE.into(), days).cast(&DataType::Date)?];
    for (index, name) in owner_names.iter().enumerate() {
        let values: Vec<Option<&str>> =
            rows.iter().map(|r| r.owners.get(index).and_then(|o| o.as_deref())).collect();
        columns.push(Column::new(name.into(), values));
    }
    columns.push(Column::new(
        metrics::METRIC.into(),
        rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>(),
    ));
    columns.push(money_column(metrics::VALUE, rows.iter().map(|r| Some(r.value))));
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn read(text: &str, toml: &str) -> Result<DataFrame> {
        let plan = TagPlan::new(&Config::parse(toml).unwrap(), &[]);
        let mut rows = Vec::new();
        read_file(text.as_bytes(), "metrics.csv", &plan, &mut rows)?;
        frame(&rows, &plan.names())
    }

    #[test]
    fn owner_columns_by_key_or_alias() {
        let text = "date,Department,team,app,metric,value\n\
                    2025-01-31,Sales, Support ,chat,transactions,1200\n\
                    2025-02-01,sales,,chat,revenue,99.95\n";
        let frame = read(text, "[taxonomy.aliases]\ndept = [\"department\"]\n").unwrap();
        assert_eq!(frame.get_column_names(), ["date", "dept", "team", "app", "metric", "value"]);
        assert_eq!(frame.column("date").unwrap().dtype(), &DataType::Date);
        assert_eq!(frame.column("dept").unwrap().str().unwrap().get(0), Some("sales"));
        assert_eq!(frame.column("team").unwrap().str().unwrap().get(1), None);
        let value = crate::ingest::builder::money_at(frame.column("value").unwrap(), 1).unwrap();
        assert_eq!(value, Some(Money::parse("99.95").unwrap()));
    }

    #[test]
    fn bad_value_names_line_and_column() {
        let text = "date,dept,metric,value\n2025-01-31,sales,transactions,lots\n";
        let error = read(text, "").unwrap_err().to_string();
        assert!(error.contains("line 2, column `value`"), "{error}");
    }
}
