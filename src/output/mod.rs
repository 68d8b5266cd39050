//! All writing: renderers return bytes, one writer decides stdout, file or S3.
//!
//! CSV, JSON and Parquet hold data rows only, at full scale: money keeps its 18 digits in
//! Parquet and is printed exactly (never in exponent notation) in CSV and JSON, where money
//! is a string. The terminal table shows cents and a total line. Files are written through
//! a temporary file and a rename, so a failed run never leaves half a report.

pub mod bundle;

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use comfy_table::{Cell, CellAlignment, Table, presets};
use polars::prelude::*;

use crate::cli::{Format, GlobalArgs};
use crate::ingest::builder::money_at;
use crate::money::Money;

/// How a table is printed on a terminal.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    /// Columns summed on the total line.
    pub totals: Vec<String>,
    /// Fraction columns (0 to 1) shown as percentages.
    pub percents: Vec<String>,
}

/// The output format: `--format`, else the `--out` extension, else table on a terminal. An
/// `--out` whose extension names no format is an error rather than a guess: a cron job that
/// writes `report.xlsx` must not get CSV under that name.
pub fn choose_format(global: &GlobalArgs, out: Option<&str>) -> Result<Format> {
    if let Some(format) = global.format {
        return Ok(format);
    }
    if let Some(out) = out {
        let lower = out.to_ascii_lowercase();
        for (extension, format) in
            [(".csv", Format::Csv), (".json", Format::Json), (".parquet", Format::Parquet)]
        {
            if lower.ends_with(extension) {
                return Ok(format);
            }
        }
        return Err(crate::error::hinted(
            format!("cannot tell the format of `--out {out}` from its extension"),
            "name the file `.csv`, `.json` or `.parquet`, or add `--format csv|json|parquet`",
        ));
    }
    Ok(if std::io::stdout().is_terminal() { Format::Table } else { Format::Csv })
}

/// The format of a side file (journal, allocations) from its extension: `.csv`, `.json` or
/// `.parquet`; another extension is an error rather than a guess.
pub fn format_for_path(path: &str) -> Result<Format> {
    let lower = path.to_ascii_lowercase();
    for (extension, format) in
        [(".csv", Format::Csv), (".json", Format::Json), (".parquet", Format::Parquet)]
    {
        if lower.ends_with(extension) {
            return Ok(format);
        }
    }
    Err(crate::error::hinted(
        format!("cannot tell the format of `{path}` from its extension"),
        "end the file name in `.csv`, `.json` or `.parquet`",
    ))
}

/// Renders a frame in a format.
pub fn render(frame: &DataFrame, format: Format, spec: &TableSpec) -> Result<Vec<u8>> {
    match format {
        Format::Csv => render_csv(frame),
        Format::Json => render_json(frame),
        Format::Parquet => render_parquet(frame),
        Format::Table => Ok(render_table(frame, spec)?.into_bytes()),
    }
}

/// Renders and writes a frame where the flags say: `--out` (file or S3) or stdout.
pub fn emit(frame: &DataFrame, global: &GlobalArgs, spec: &TableSpec) -> Result<()> {
    let format = choose_format(global, global.out.as_deref())?;
    if format == Format::Parquet && global.out.is_none() && std::io::stdout().is_terminal() {
        return Err(crate::error::hinted(
            "will not write Parquet to a terminal",
            "add `--out FILE.parquet`, or pipe the output into a file",
        ));
    }
    let bytes = render(frame, format, spec)?;
    match global.out.as_deref() {
        Some(target) => write_target(target, &bytes),
        None => write_stdout(&bytes),
    }
}

/// A line for people on stderr (not data, not a warning), unless `-q`.
pub fn notice(global: &GlobalArgs, text: &str) {
    if global.quiet {
        return;
    }
    // With `--log-format json` every line of stderr is a JSON object.
    if global.log_format == crate::cli::LogFormat::Json {
        tracing::info!("{text}");
    } else {
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

/// Writes bytes to stdout.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).context("cannot write to stdout")?;
    Ok(())
}

/// Writes bytes to a file (atomically) or an `s3://` URL.
pub fn write_target(target: &str, bytes: &[u8]) -> Result<()> {
    if target.starts_with("s3://") {
        return crate::aws::s3::upload_bytes(target, bytes);
    }
    write_atomic(Path::new(target), bytes)
}

/// Writes a file through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create `{}`", folder.display()))?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write in `{}`", folder.display()))?;
    temporary.write_all(bytes)?;
    set_shareable(temporary.as_file())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// Reports are for sharing: read for everyone, as a plain file would be (the temporary file
/// starts private).
#[cfg(unix)]
fn set_shareable(file: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_shareable(_file: &std::fs::File) -> Result<()> {
    Ok(())
}

/// One cell as exact text: money at full scale, floats without exponent, instants in RFC 3339.
pub fn cell_text(column: &Column, row: usize) -> Result<String> {
    let value = column.get(row)?;
    Ok(match value {
        AnyValue::Null => String::new(),
        AnyValue::Decimal(..) => money_at(column, row)?.map(|m| m.to_string()).unwrap_or_default(),
        AnyValue::String(text) => text.to_string(),
        AnyValue::StringOwned(text) => text.to_string(),
        AnyValue::Float64(number) => float_text(number),
        AnyValue::Float32(number) => float_text(f64::from(number)),
        AnyValue::Datetime(..) | AnyValue::DatetimeOwned(..) => {
            let millis = column.cast(&DataType::Int64)?.i64()?.get(row).unwrap_or_default();
            chrono::DateTime::from_timestamp_millis(millis)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default()
        }
        AnyValue::Date(days) => (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
            + chrono::Duration::days(i64::from(days)))
        .to_string(),
        other => other.str_value().to_string(),
    })
}

/// A float at its shortest round-trip digits, written without exponent notation:
/// `1.35e-12` is `0.00000000000135` and `1.2345678901234567e19` is `12345678901234567000`.
pub fn float_text(number: f64) -> String {
    if !number.is_finite() {
        return String::new();
    }
    if number == 0.0 {
        return "0".into();
    }
    let mut buffer = ryu::Buffer::new();
    let shortest = buffer.format_finite(number);
    let (sign, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", shortest),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let point = i64::try_from(whole.len()).unwrap_or(0) + exponent;
    let digits_len = i64::try_from(digits.len()).unwrap_or(0);
    let text = if point <= 0 {
        let zeros = usize::try_from(-point).unwrap_or(0);
        format!("0.{}{digits}", "0".repeat(zeros))
    } else if point >= digits_len {
        let zeros = usize::try_from(point - digits_len).unwrap_or(0);
        format!("{digits}{}", "0".repeat(zeros))
    } else {
        let at = usize::try_from(point).unwrap_or(0);
        format!("{}.{}", &digits[..at], &digits[at..])
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    let text = text.trim_start_matches('0');
    let text =
        if text.is_empty() || text.starts_with('.') { format!("0{text}") } else { text.into() };
    format!("{sign}{text}")
}

/// CSV with a header, exact values.
fn render_csv(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(frame.get_column_names().iter().map(|n| n.as_str()))?;
    for row in 0..frame.height() {
        let cells: Vec<String> =
            frame.columns().iter().map(|c| cell_text(c, row)).collect::<Result<_>>()?;
        writer.write_record(&cells)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// A JSON array of objects; money as strings.
fn render_json(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut rows = Vec::with_capacity(frame.height());
    for row in 0..frame.height() {
        let mut object = serde_json::Map::new();
        for column in frame.columns() {
            object.insert(column.name().to_string(), json_value(column, row)?);
        }
        rows.push(serde_json::Value::Object(object));
    }
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, PlainFloats::default());
    serde::Serialize::serialize(&rows, &mut serializer)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `serde_json`'s pretty layout with numbers written by [`float_text`]: JSON output never
/// uses exponent notation, as the rest of the output does not.
#[derive(Default)]
struct PlainFloats(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for PlainFloats {
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        w.write_all(float_text(value).as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// One cell as JSON.
fn json_value(column: &Column, row: usize) -> Result<serde_json::Value> {
    use serde_json::Value;
    Ok(match column.get(row)? {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::Int8(_) | AnyValue::Int16(_) | AnyValue::Int32(_) | AnyValue::Int64(_) => {
            Value::from(column.cast(&DataType::Int64)?.i64()?.get(row).unwrap_or_default())
        }
        AnyValue::UInt8(_) | AnyValue::UInt16(_) | AnyValue::UInt32(_) | AnyValue::UInt64(_) => {
            Value::from(column.cast(&DataType::UInt64)?.u64()?.get(row).unwrap_or_default())
        }
        AnyValue::Float64(number) => {
            serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
        }
        AnyValue::Float32(number) => {
            serde_json::Number::from_f64(f64::from(number)).map_or(Value::Null, Value::Number)
        }
        _ => Value::String(cell_text(column, row)?),
    })
}

/// Parquet with zstd, full scale.
fn render_parquet(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    // Unsigned counts become signed: Spark and older Athena engines reject `UINT_64`.
    let columns = frame
        .columns()
        .iter()
        .map(|column| match column.dtype() {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                column.cast(&DataType::Int64)
            }
            _ => Ok(column.clone()),
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    let mut frame = DataFrame::new_infer_height(columns)?;
    ParquetWriter::new(&mut buffer)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::empty())
        .finish(&mut frame)?;
    Ok(buffer.into_inner())
}

/// A terminal table: money in cents, fractions as percentages, a total line per currency.
///
/// The money of each row is rounded to the cent so that the rows of a currency add up to the
/// rounded total on its line (largest remainder): what the table shows adds up.
fn render_table(frame: &DataFrame, spec: &TableSpec) -> Result<String> {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_BORDERS_ONLY);
    table.set_header(frame.get_column_names().iter().map(|n| n.as_str()));
    let groups = currency_groups(frame)?;
    let shown = shown_money(frame, &groups, spec)?;
    let tenths = shown_percents(frame, spec)?;
    // Tenths of a percent as text, exactly: 334 is `33.4%`, -5 is `-0.5%`.
    let percent = |tenth: i64| {
        let sign = if tenth < 0 { "-" } else { "" };
        format!("{sign}{}.{}%", tenth.unsigned_abs() / 10, tenth.unsigned_abs() % 10)
    };
    for row in 0..frame.height() {
        let mut cells = Vec::with_capacity(frame.width());
        for (index, column) in frame.columns().iter().enumerate() {
            let cell = if let Some(cents) = shown.get(&index) {
                Cell::new(cents[row].map(Money::cents_string).unwrap_or_default())
                    .set_alignment(CellAlignment::Right)
            } else if let Some(shares) = tenths.get(&index) {
                Cell::new(shares[row].map(percent).unwrap_or_default())
                    .set_alignment(CellAlignment::Right)
            } else {
                table_cell(column, row, spec)?
            };
            cells.push(cell);
        }
        table.add_row(cells);
    }
    if !spec.totals.is_empty() && frame.height() > 0 {
        let one_period = distinct(frame, "billing_period")? <= 1;
        for (label, rows) in &groups {
            let mut cells = total_row(frame, spec, label, rows, &shown, one_period)?;
            for (index, shares) in &tenths {
                if one_period
                    && spec.totals.iter().any(|t| t == frame.columns()[*index].name().as_str())
                {
                    let sum: i64 = rows.iter().filter_map(|r| shares[*r]).sum();
                    cells[*index] = Cell::new(percent(sum)).set_alignment(CellAlignment::Right);
                }
            }
            table.add_row(cells);
        }
    }
    Ok(format!("{table}\n"))
}

/// The tenths of a percent shown for each percentage column, rounded within each period and
/// currency by the largest remainder, so that shares that make a whole show 100.0%.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn shown_percents(
    frame: &DataFrame,
    spec: &TableSpec,
) -> Result<std::collections::BTreeMap<usize, Vec<Option<i64>>>> {
    let mut result = std::collections::BTreeMap::new();
    let text_of = |name: &str, row: usize| -> Result<String> {
        match frame.column(name) {
            Ok(column) => cell_text(column, row),
            Err(_) => Ok(String::new()),
        }
    };
    let mut groups: std::collections::BTreeMap<(String, String), Vec<usize>> =
        std::collections::BTreeMap::new();
    for row in 0..frame.height() {
        let key = (text_of("billing_period", row)?, text_of("currency", row)?);
        groups.entry(key).or_default().push(row);
    }
    for (index, column) in frame.columns().iter().enumerate() {
        let name = column.name().as_str();
        if column.dtype() != &DataType::Float64 || !spec.percents.iter().any(|p| p == name) {
            continue;
        }
        let values = column.f64()?;
        let mut tenths = vec![None; frame.height()];
        for rows in groups.values() {
            let present: Vec<(usize, f64)> = rows
                .iter()
                .filter_map(|r| values.get(*r).filter(|v| v.is_finite()).map(|v| (*r, v * 1000.0)))
                .collect();
            let target = present.iter().map(|(_, v)| v).sum::<f64>().round() as i64;
            let mut floors: Vec<i64> = present.iter().map(|(_, v)| v.floor() as i64).collect();
            let mut order: Vec<usize> = (0..present.len()).collect();
            let remainder = |i: usize| present[i].1 - present[i].1.floor();
            order.sort_by(|a, b| remainder(*b).total_cmp(&remainder(*a)).then(a.cmp(b)));
            let missing = target - floors.iter().sum::<i64>();
            for i in order.iter().take(usize::try_from(missing.max(0)).unwrap_or(0)) {
                floors[*i] += 1;
            }
            for ((row, _), tenth) in present.iter().zip(floors) {
                tenths[*row] = Some(tenth);
            }
        }
        result.insert(index, tenths);
    }
    Ok(result)
}

/// The rows of each currency, with the label of its total line (`total`, or `total EUR`
/// when the table holds several currencies, which are never added together).
fn currency_groups(frame: &DataFrame) -> Result<Vec<(String, Vec<usize>)>> {
    let Some(column) = frame.columns().iter().find(|c| c.name().as_str() == "currency") else {
        return Ok(vec![("total".to_string(), (0..frame.height()).collect())]);
    };
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for row in 0..frame.height() {
        let currency = cell_text(column, row)?;
        match groups.iter_mut().find(|(c, _)| *c == currency) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((currency, vec![row])),
        }
    }
    if groups.len() <= 1 {
        return Ok(vec![("total".to_string(), (0..frame.height()).collect())]);
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(groups.into_iter().map(|(currency, rows)| (format!("total {currency}"), rows)).collect())
}

/// Distinct values of a column, 0 when there is no such column.
fn distinct(frame: &DataFrame, name: &str) -> Result<usize> {
    match frame.column(name) {
        Ok(column) => Ok(column.as_materialized_series().n_unique()?),
        Err(_) => Ok(0),
    }
}

/// The cents shown for each summed money column (by column index), rounded so that the rows
/// of a currency add up to their rounded sum. Columns without a total (rates, forecasts,
/// limits) are rounded one by one instead.
fn shown_money(
    frame: &DataFrame,
    groups: &[(String, Vec<usize>)],
    spec: &TableSpec,
) -> Result<std::collections::BTreeMap<usize, Vec<Option<Money>>>> {
    let mut shown = std::collections::BTreeMap::new();
    for (index, column) in frame.columns().iter().enumerate() {
        let summed = spec.totals.iter().any(|t| t == column.name().as_str());
        if !summed
            || !matches!(column.dtype(), DataType::Decimal(..))
            || !is_money_name(column.name())
        {
            continue;
        }
        let exact: Vec<Option<Money>> =
            (0..frame.height()).map(|row| money_at(column, row)).collect::<Result<_>>()?;
        let mut cents = vec![None; frame.height()];
        for (_, rows) in groups {
            let present: Vec<usize> =
                rows.iter().copied().filter(|r| exact[*r].is_some()).collect();
            let values: Vec<Money> =
                present.iter().map(|r| exact[*r].unwrap_or_default()).collect();
            let rounded = crate::money::round_to_cents_preserving_total(&values);
            for (row, value) in present.into_iter().zip(rounded) {
                cents[row] = Some(value);
            }
        }
        shown.insert(index, cents);
    }
    Ok(shown)
}

/// One cell of the table.
fn table_cell(column: &Column, row: usize, spec: &TableSpec) -> Result<Cell> {
    let name = column.name().as_str();
    let text = match column.dtype() {
        DataType::Decimal(..) if is_money_name(name) => {
            money_at(column, row)?.map(Money::cents_string).unwrap_or_default()
        }
        DataType::Float64 if spec.percents.iter().any(|p| p == name) => {
            column.f64()?.get(row).map(|f| format!("{:.1}%", f * 100.0)).unwrap_or_default()
        }
        _ => cell_text(column, row)?,
    };
    let numeric =
        column.dtype().is_primitive_numeric() || matches!(column.dtype(), DataType::Decimal(..));
    let cell = Cell::new(text);
    Ok(if numeric { cell.set_alignment(CellAlignment::Right) } else { cell })
}

/// True for decimal columns that hold money (shown in cents).
fn is_money_name(name: &str) -> bool {
    [
        "cost", "amount", "spend", "budget", "limit", "forecast", "impact", "expected", "actual",
        "saving", "price", "total", "variance", "estimate", "invoice",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A total line over `rows`: sums of the total columns, `label` in the first column.
/// Money adds the cents shown above it; percentages add up only within one period.
fn total_row(
    frame: &DataFrame,
    spec: &TableSpec,
    label: &str,
    rows: &[usize],
    shown: &std::collections::BTreeMap<usize, Vec<Option<Money>>>,
    one_period: bool,
) -> Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(frame.width());
    for (index, column) in frame.columns().iter().enumerate() {
        let name = column.name().as_str();
        let text = if spec.totals.iter().any(|t| t == name) {
            match column.dtype() {
                DataType::Decimal(..) => {
                    let mut sum = Money::ZERO;
                    for row in rows {
                        let value = match shown.get(&index) {
                            Some(cents) => cents[*row],
                            None => money_at(column, *row)?,
                        };
                        sum += value.unwrap_or_default();
                    }
                    if is_money_name(name) { sum.cents_string() } else { sum.to_string() }
                }
                DataType::Float64 if spec.percents.iter().any(|p| p == name) => {
                    if one_period {
                        let values = column.f64()?;
                        let sum: f64 = rows.iter().filter_map(|r| values.get(*r)).sum();
                        format!("{:.1}%", sum * 100.0)
                    } else {
                        String::new()
                    }
                }
                _ => {
                    let indices: Vec<IdxSize> =
                        rows.iter().filter_map(|r| IdxSize::try_from(*r).ok()).collect();
                    let taken = column.take_slice(&indices)?;
                    cell_text(
                        &taken.as_materialized_series().sum_reduce()?.into_column(name.into()),
                        0,
                    )?
                }
            }
        } else if index == 0 {
            label.to_string()
        } else {
            String::new()
        };
        cells.push(Cell::new(text).set_alignment(if index == 0 {
            CellAlignment::Left
        } else {
            CellAlignment::Right
        }));
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_shortest_and_never_in_exponent_notation() {
        assert_eq!(float_text(1.35e-12), "0.00000000000135");
        assert_eq!(float_text(-1.11105e-9), "-0.00000000111105");
        assert_eq!(float_text(1.234_567_890_123_456_7e19), "12345678901234567000");
        assert_eq!(float_text(617_283.506_172_839_8), "617283.5061728398");
        assert_eq!(float_text(0.5), "0.5");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(100.0), "100");
        assert_eq!(float_text(f64::NAN), "");
    }

    #[test]
    fn json_numbers_have_no_exponent() {
        let frame = df!("share" => [1.5e-7, 0.25]).unwrap();
        let text = String::from_utf8(render_json(&frame).unwrap()).unwrap();
        assert!(text.contains("\"share\": 0.00000015"), "{text}");
        assert!(text.contains("\"share\": 0.25"), "{text}");
    }
}
