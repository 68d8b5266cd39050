//! CUR 2.0 and FOCUS Parquet, and canonical Parquet, as lazy `costs` frames.
//!
//! Only the needed columns are read and the scan streams. Doubles become exact decimals
//! through their shortest round-trip text form, per row, before anything is summed. Tag
//! maps (Parquet MAP, which Polars reads as `List<Struct{key, value}>`) or JSON text are
//! resolved through the taxonomy by one pass over each batch.
//!
//! This module owns the public API: telling the flavour of a file, opening it, and cutting
//! it into pieces of whole row groups. The children do the rest: `checks` vets a file once
//! when it is opened, `columns` reads its columns as canonical types, `cells` reads a batch
//! row by row, `cur2`, `focus` and `canonical` build the frame of each flavour, and
//! `owners` resolves the owner columns.

mod canonical;
mod cells;
mod checks;
mod columns;
mod cur2;
mod focus;
mod owners;

use anyhow::Result;
use polars::prelude::*;

pub(crate) use self::checks::place;
use self::columns::Columns;
use super::cur_csv::names as cur;
use super::focus_csv::names as focus_names;
use crate::enrich::taxonomy::TagPlan;
use crate::model::costs;

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
    } else if has(focus_names::BILLED_COST) && !has(costs::BILLED_COST) {
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
        ParquetKind::Cur2 => cur2::frame(frame, columns, plan),
        ParquetKind::Focus => focus::frame(frame, columns, plan),
        ParquetKind::Canonical => canonical::frame(frame, columns, plan),
    }
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
    fn pieces_are_whole_row_groups_of_at_least_the_target() {
        assert_eq!(piece_ranges(&[500, 500, 500, 200], 1000), [(0, 1000), (1000, 700)]);
        assert_eq!(piece_ranges(&[3000, 10], 1000), [(0, 3000), (3000, 10)]);
        assert_eq!(piece_ranges(&[10, 20], 1000), [(0, 30)]);
        assert_eq!(piece_ranges(&[], 1000), [(0, 0)]);
    }
}
