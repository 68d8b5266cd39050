//! Ingest: every source format into the canonical frames.
//!
//! Sources are files, folders or globs, gzip or not, told apart by their content (gzip and
//! Parquet by their magic bytes, CSV flavours by their header), never by their names. A
//! folder that holds CUR or Data Exports manifests is read through its latest manifests
//! only, so a re-delivered month never counts twice.

pub mod builder;
pub mod cost_explorer;
pub mod cur_csv;
pub mod focus_csv;
pub mod gateway;
pub mod manifest;
pub mod metrics;
pub mod parquet;
pub mod time;

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use polars::prelude::*;

use crate::enrich::taxonomy::TagPlan;
use crate::error::hinted;
use builder::CostBuilder;

/// The bill formats aispend reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostFormat {
    Cur1Csv,
    Cur2Csv,
    FocusCsv,
    Parquet(parquet::ParquetKind),
}

/// Opens a file, decompressing gzip (every member) when its first bytes say so.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let mut file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut magic = [0u8; 2];
    let read = file.read(&mut magic)?;
    let file = File::open(path)?;
    if read == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
    }
}

/// Lines the CSV reader under-counts: it places each record of a CRLF file on the line before
/// its own, so such files need one added. Peeks at the first line without consuming it.
pub fn crlf_line_offset<R: std::io::Read>(input: &mut BufReader<R>) -> u64 {
    use std::io::BufRead as _;
    let Ok(buffer) = input.fill_buf() else { return 0 };
    match buffer.iter().position(|b| *b == b'\n') {
        Some(at) if at > 0 && buffer[at - 1] == b'\r' => 1,
        _ => 0,
    }
}

/// Fingerprints of the bill rows read so far, so a row delivered twice (the same file under
/// two names, a repeated line) counts once. Rows must be identical in every column.
#[derive(Debug, Default)]
pub struct SeenRows {
    fingerprints: std::collections::HashSet<u128>,
    /// Rows skipped as exact repeats.
    pub repeats: u64,
}

impl SeenRows {
    /// True the first time a record is seen.
    pub fn first_time(&mut self, record: &csv::StringRecord) -> bool {
        use std::hash::{Hash as _, Hasher as _};
        let mut halves = [0u64; 2];
        for (salt, half) in halves.iter_mut().enumerate() {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            salt.hash(&mut hasher);
            for field in record {
                field.hash(&mut hasher);
            }
            *half = hasher.finish();
        }
        let fingerprint = (u128::from(halves[0]) << 64) | u128::from(halves[1]);
        let first = self.fingerprints.insert(fingerprint);
        if !first {
            self.repeats += 1;
        }
        first
    }
}

/// Fails when a column the reader uses appears twice (without regard to case), since either
/// copy could be the real one.
pub fn check_duplicate_columns(
    file: &str,
    headers: &[String],
    is_tag: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, header) in headers.iter().enumerate() {
        let exact_twice = headers[..index].iter().any(|h| h == header);
        let key = header.trim().to_ascii_lowercase();
        if let Some(first) = seen.get(&key) {
            if exact_twice || !is_tag(header) {
                return Err(hinted(
                    format!(
                        "`{file}` has the column `{header}` twice (columns {} and {})",
                        first + 1,
                        index + 1
                    ),
                    "fix the export: aispend cannot tell which copy holds the real values",
                ));
            }
        } else {
            seen.insert(key, index);
        }
    }
    Ok(())
}

/// True when the file starts with the Parquet magic bytes.
pub fn is_parquet(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    Ok(file.read(&mut magic)? == 4 && &magic == b"PAR1")
}

/// Tells the bill format of one file from its content.
pub fn detect_cost_format(path: &Path) -> Result<CostFormat> {
    let name = path.display().to_string();
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(hinted(
            format!("`{name}` is empty"),
            "the export may still be in progress; download it again",
        ));
    }
    if is_parquet(path)? {
        let columns = parquet::column_names(&name)?;
        return parquet::kind_of(&columns).map(CostFormat::Parquet).ok_or_else(|| {
            hinted(
                format!("`{name}` is Parquet but neither CUR 2.0, FOCUS nor aispend's own `costs`"),
                "CUR 2.0 has `line_item_unblended_cost`, FOCUS has `BilledCost`",
            )
        });
    }
    let mut header = String::new();
    BufReader::new(open(path)?)
        .read_line(&mut header)
        .with_context(|| format!("cannot read `{name}`"))?;
    let lower = header.to_ascii_lowercase();
    if lower.contains("lineitem/unblendedcost") {
        Ok(CostFormat::Cur1Csv)
    } else if lower.contains("line_item_unblended_cost") {
        Ok(CostFormat::Cur2Csv)
    } else if lower.contains("billedcost") {
        Ok(CostFormat::FocusCsv)
    } else {
        Err(hinted(
            format!(
                "`{name}` is not a bill aispend knows: its header has no unblended or billed cost"
            ),
            "`--cur` takes CUR 1.0 CSV and CUR 2.0 CSV or Parquet; `--focus` takes FOCUS exports",
        ))
    }
}

/// Expands files, folders and globs into data files; folders with manifests yield only the
/// files of their latest manifests.
pub fn expand(sources: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for source in sources {
        if source.starts_with("s3://") {
            files.extend(crate::aws::s3::download_source(source)?);
            continue;
        }
        let path = Path::new(source);
        if path.is_dir() {
            let found = manifest::files_of_folder(path)?;
            if found.is_empty() {
                return Err(hinted(
                    format!("the folder `{source}` holds no bill file"),
                    "aispend reads `.csv`, `.csv.gz`, `.gz` and `.parquet` files, and manifests",
                ));
            }
            files.extend(found);
        } else if path.is_file() {
            files.push(path.to_path_buf());
        } else if source.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(source)
                .with_context(|| format!("bad glob `{source}`"))?
                .filter_map(std::result::Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if matches.is_empty() {
                bail!("the glob `{source}` matches no file");
            }
            files.extend(matches);
        } else {
            return Err(hinted(
                format!("cannot find `{source}`"),
                "check the path, or the `[sources]` of the configuration",
            ));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The canonical `costs` frame of every bill source, lazily.
pub fn read_costs(sources: &[String], plan: &TagPlan) -> Result<LazyFrame> {
    let args =
        UnionArgs { rechunk: false, parallel: true, to_supertypes: true, ..UnionArgs::default() };
    Ok(concat(read_cost_pieces(sources, plan)?, args)?)
}

/// The canonical `costs` frames of every bill source, as pieces that together hold every
/// line once: a large Parquet file is cut at row group boundaries into pieces of about a
/// million rows, so a report that sums piece by piece never holds the whole file decoded.
pub fn read_cost_pieces(sources: &[String], plan: &TagPlan) -> Result<Vec<LazyFrame>> {
    let files = expand(sources)?;
    if files.is_empty() {
        return Err(hinted(
            "no bill to read",
            "pass `--cur`, `--focus` or `--ce`, or list sources under `[sources]` in aispend.toml",
        ));
    }
    let mut frames = Vec::with_capacity(files.len());
    let mut split_children = 0;
    let mut seen = SeenRows::default();
    let bar = crate::logging::progress(files.len() as u64, "reading the bill");
    for file in &files {
        let name = file.display().to_string();
        bar.set_message(name.clone());
        bar.inc(1);
        tracing::debug!("reading `{name}`");
        let frame = match detect_cost_format(file)? {
            CostFormat::Parquet(kind) => {
                frames.extend(parquet::read_pieces(&name, kind, plan)?);
                continue;
            }
            csv_format => {
                let mut builder = CostBuilder::new(plan.names(), &name);
                let input = open(file)?;
                if csv_format == CostFormat::FocusCsv {
                    focus_csv::read(input, &name, plan, &mut builder, &mut seen)?;
                } else {
                    let stats = cur_csv::read(input, &name, plan, &mut builder, &mut seen)?;
                    split_children += stats.split_children;
                }
                builder.finish()?.lazy()
            }
        };
        frames.push(frame);
    }
    bar.finish_and_clear();
    if seen.repeats > 0 {
        tracing::warn!(
            "{} bill rows repeat an earlier row in every column and were counted once; check that \
             no month was delivered twice under two names",
            seen.repeats
        );
    }
    if split_children > 0 {
        tracing::info!(
            "left out {split_children} split cost allocation child rows (EKSPod-EC2, ECSTask-EC2)"
        );
    }
    Ok(frames)
}
