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
pub mod locate;
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
    let mut magic = [0u8; 4];
    let read = file.read(&mut magic)?;
    let file = File::open(path)?;
    if read == 4 && magic == *b"PK\x03\x04" {
        return Ok(Box::new(BufReader::with_capacity(1 << 20, ZipEntry::open(path, file)?)));
    }
    if read >= 2 && magic[..2] == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
    }
}

/// The one file inside a ZIP archive (CUR 1.0 and Data Exports may compress with ZIP),
/// decompressed by a worker thread into a pipe, so that it streams like gzip. An error of
/// the archive (a bad CRC, a truncated entry) reaches the reader at the end of the data.
struct ZipEntry {
    pipe: std::io::PipeReader,
    worker: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl ZipEntry {
    fn open(path: &Path, file: File) -> Result<ZipEntry> {
        let name = path.display().to_string();
        let mut archive = ::zip::ZipArchive::new(file)
            .with_context(|| format!("cannot read the ZIP archive `{name}`"))?;
        let files: Vec<usize> = (0..archive.len())
            .filter(|index| archive.by_index(*index).is_ok_and(|entry| !entry.is_dir()))
            .collect();
        let [index] = files[..] else {
            return Err(hinted(
                format!(
                    "the ZIP archive `{name}` holds {} files; a bill archive holds one",
                    files.len()
                ),
                "unzip it and pass the bill files inside",
            ));
        };
        let (pipe, mut writer) = std::io::pipe()?;
        let worker = std::thread::spawn(move || {
            let mut entry = archive.by_index(index).map_err(std::io::Error::other)?;
            std::io::copy(&mut entry, &mut writer)?;
            Ok(())
        });
        Ok(ZipEntry { pipe, worker: Some(worker) })
    }
}

impl Read for ZipEntry {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.pipe.read(buffer)?;
        if read == 0
            && !buffer.is_empty()
            && let Some(worker) = self.worker.take()
        {
            worker.join().map_err(|_| std::io::Error::other("the ZIP reader failed"))??;
        }
        Ok(read)
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

/// Rows of a CSV bill gathered into one piece: about 64 MiB of canonical rows, so memory is
/// bounded by a piece, not by the file.
pub const CSV_PIECE_ROWS: usize = 1 << 18;

/// What identifies a Parquet file's content cheaply: its length and a digest of its first
/// and last MiB (the footer, with its row counts and statistics). Two copies of one file
/// match; two chunks of a month never do in practice.
fn parquet_fingerprint(path: &Path) -> Result<(u64, [u8; 32])> {
    use sha2::Digest as _;
    use std::io::{Seek as _, SeekFrom};
    const EDGE: u64 = 1 << 20;
    let mut file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let length = file.metadata()?.len();
    let mut digest = sha2::Sha256::new();
    let mut buffer = Vec::with_capacity(usize::try_from(EDGE).unwrap_or(1 << 20));
    (&mut file).take(EDGE).read_to_end(&mut buffer)?;
    digest.update(&buffer);
    if length > EDGE {
        buffer.clear();
        file.seek(SeekFrom::Start(length.saturating_sub(EDGE).max(EDGE)))?;
        file.take(EDGE).read_to_end(&mut buffer)?;
        digest.update(&buffer);
    }
    Ok((length, digest.finalize().into()))
}

/// A digest of a Parquet file's whole content, for when two files share their fingerprint.
fn file_digest(path: &Path) -> Result<[u8; 32]> {
    use sha2::Digest as _;
    let mut input =
        File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut digest = sha2::Sha256::new();
    std::io::copy(&mut input, &mut digest)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(digest.finalize().into())
}

/// Lines of a CSV bill (the header and the first line items) that tell two deliveries apart.
const HEAD_LINES: usize = 17;

/// The first [`HEAD_LINES`] lines of a CSV bill's text, after gzip or ZIP and without
/// carriage returns: a `.csv`, its `.csv.gz` and its CRLF copy have one head. Two chunks of
/// one delivery hold different line items, so they never begin alike; two files that do
/// hold, at least in part, the same line items.
fn csv_head(path: &Path) -> Result<Vec<Vec<u8>>> {
    use std::io::BufRead as _;
    let mut input = BufReader::new(open(path)?);
    let mut lines = Vec::new();
    for _ in 0..HEAD_LINES {
        let mut line = Vec::new();
        let read = input
            .by_ref()
            .take(1 << 20)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if read == 0 {
            break;
        }
        line.retain(|b| *b != b'\r');
        lines.push(line);
    }
    Ok(lines)
}

/// A digest of a CSV bill's whole text, after decompression and without carriage returns.
fn csv_digest(path: &Path) -> Result<[u8; 32]> {
    use sha2::Digest as _;
    let mut input = open(path)?;
    let mut digest = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read =
            input.read(&mut buffer).with_context(|| format!("cannot read `{}`", path.display()))?;
        if read == 0 {
            break;
        }
        let text: Vec<u8> = buffer[..read].iter().copied().filter(|b| *b != b'\r').collect();
        digest.update(&text);
    }
    Ok(digest.finalize().into())
}

/// A file already read: its path, the manifest that listed it, and its CSV head.
struct Delivered {
    path: PathBuf,
    manifest: Option<PathBuf>,
    head: Vec<Vec<u8>>,
}

/// The files already read, to read each delivery once.
#[derive(Default)]
struct Deliveries {
    parquet: std::collections::HashMap<(u64, [u8; 32]), Vec<(PathBuf, Option<PathBuf>)>>,
    csv: Vec<Delivered>,
}

impl Deliveries {
    /// The earlier file that `file` repeats, if any. A CSV bill that begins like an earlier
    /// one (with the header and two lines at least) but differs later is an error: two
    /// deliveries of one month would count it twice. Files that one manifest lists are its
    /// chunks: they are never compared with each other.
    fn repeated(
        &mut self,
        file: &Path,
        manifest: Option<&PathBuf>,
        format: CostFormat,
    ) -> Result<Option<PathBuf>> {
        let apart = |other: &Option<PathBuf>| manifest.is_none() || other.as_ref() != manifest;
        if let CostFormat::Parquet(_) = format {
            let key = parquet_fingerprint(file)?;
            let earlier = self.parquet.entry(key).or_default();
            for (path, listed_by) in earlier.iter() {
                if apart(listed_by) && file_digest(path)? == file_digest(file)? {
                    return Ok(Some(path.clone()));
                }
            }
            earlier.push((file.to_path_buf(), manifest.cloned()));
            return Ok(None);
        }
        let head = csv_head(file)?;
        for earlier in &self.csv {
            let shared = head.len().min(earlier.head.len());
            if shared < 3 || head[..shared] != earlier.head[..shared] || !apart(&earlier.manifest) {
                continue;
            }
            if csv_digest(&earlier.path)? == csv_digest(file)? {
                return Ok(Some(earlier.path.clone()));
            }
            return Err(hinted(
                format!(
                    "`{}` begins with the same {shared} lines as `{}` but the two differ: they \
                     look like two deliveries of one month, and adding them would count it twice",
                    file.display(),
                    earlier.path.display()
                ),
                "pass the report folder, so that its manifest picks the current delivery, or \
                 only the current file",
            ));
        }
        self.csv.push(Delivered { path: file.to_path_buf(), manifest: manifest.cloned(), head });
        Ok(None)
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
    let mut input = BufReader::new(open(path)?);
    let head = input.fill_buf().with_context(|| format!("cannot read `{name}`"))?;
    if head.is_empty() {
        return Err(hinted(
            format!("`{name}` holds no data once decompressed"),
            "the export may still be in progress; download it again",
        ));
    }
    if head.starts_with(b"PAR1") {
        return Err(hinted(
            format!("`{name}` is a compressed Parquet file"),
            "decompress it (`gunzip`, `unzip`); Parquet compresses its own pages",
        ));
    }
    let mut header = String::new();
    input
        .read_line(&mut header)
        .with_context(|| format!("cannot read the header of `{name}`: expected UTF-8 text"))?;
    if !header.contains(',')
        && let Some(separator) = [';', '\t', '|'].into_iter().find(|c| header.contains(*c))
    {
        let shown = if separator == '\t' { "a tab".to_string() } else { format!("`{separator}`") };
        return Err(hinted(
            format!("`{name}` separates its columns with {shown}; bills separate them with `,`"),
            "export the bill again as plain CSV, or convert the separator to `,`",
        ));
    }
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
    Ok(expand_listed(sources)?.into_iter().map(|listed| listed.path).collect())
}

/// [`expand`], with the manifest that listed each file.
pub fn expand_listed(sources: &[String]) -> Result<Vec<manifest::Listed>> {
    let unlisted = |path: PathBuf| manifest::Listed { path, manifest: None };
    let mut files = Vec::new();
    for source in sources {
        if source.starts_with("s3://") {
            files.extend(crate::aws::s3::download_source(source)?.into_iter().map(unlisted));
            continue;
        }
        let path = Path::new(source);
        if path.is_dir() {
            files.extend(folder_files(path, source)?);
        } else if path.is_file() {
            files.push(unlisted(path.to_path_buf()));
        } else if source.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(source)
                .with_context(|| format!("bad glob `{source}`"))?
                .filter_map(std::result::Result::ok)
                .collect();
            let before = files.len();
            for found in matches {
                if found.is_dir() {
                    files.extend(folder_files(&found, &found.display().to_string())?);
                } else if found.is_file() {
                    files.push(unlisted(found));
                }
            }
            if files.len() == before {
                bail!("the glob `{source}` matches no file");
            }
        } else {
            return Err(hinted(
                format!("cannot find `{source}`"),
                "check the path, or the `[sources]` of the configuration",
            ));
        }
    }
    files.sort();
    // One file reached by two paths (`./x.csv` and `x.csv`, a link) is read once.
    let mut real_paths = std::collections::HashSet::new();
    files.retain(|file| {
        real_paths.insert(std::fs::canonicalize(&file.path).unwrap_or(file.path.clone()))
    });
    Ok(files)
}

/// The bill files of a folder, through its manifests; an error when there are none.
fn folder_files(path: &Path, source: &str) -> Result<Vec<manifest::Listed>> {
    let found = manifest::listed_files_of_folder(path)?;
    if found.is_empty() {
        return Err(hinted(
            format!("the folder `{source}` holds no bill file"),
            "aispend reads `.csv`, `.csv.gz`, `.gz`, `.zip` and `.parquet` files, and manifests",
        ));
    }
    Ok(found)
}

/// The canonical `costs` frame of every bill source, lazily.
pub fn read_costs(sources: &[String], plan: &TagPlan) -> Result<LazyFrame> {
    let mut frames = Vec::new();
    for_each_cost_piece(sources, plan, &mut |piece| {
        frames.push(piece);
        Ok(())
    })?;
    let args =
        UnionArgs { rechunk: false, parallel: true, to_supertypes: true, ..UnionArgs::default() };
    Ok(concat(frames, args)?)
}

/// Hands `each` the canonical `costs` frames of every bill source, one piece at a time, in
/// file order; together the pieces hold every line once. A large Parquet file is cut at row
/// group boundaries into lazy pieces of about a million rows, and a CSV bill is parsed
/// [`CSV_PIECE_ROWS`] rows at a time, so a report that sums each piece as it comes never
/// holds the whole bill.
///
/// A file whose content repeats one read before (the same month saved under two names, or
/// one file reached by two paths) is read once, with a warning: it is one delivery, and the
/// invoice counts it once. Rows that repeat inside one delivery are all kept, because two
/// line items may be equal in every column and still be two charges.
pub fn for_each_cost_piece(
    sources: &[String],
    plan: &TagPlan,
    each: &mut dyn FnMut(LazyFrame) -> Result<()>,
) -> Result<()> {
    let files = expand_listed(sources)?;
    if files.is_empty() {
        return Err(hinted(
            "no bill to read",
            "pass `--cur`, `--focus` or `--ce`, or list sources under `[sources]` in aispend.toml",
        ));
    }
    let mut split_children = 0;
    let mut delivered = Deliveries::default();
    let mut families: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let bar = crate::logging::progress(files.len() as u64, "reading the bill");
    for listed in &files {
        let file = &listed.path;
        let name = file.display().to_string();
        bar.set_message(name.clone());
        bar.inc(1);
        let format = detect_cost_format(file)?;
        if let Some(first) = delivered.repeated(file, listed.manifest.as_ref(), format)? {
            tracing::warn!(
                "`{name}` has the same content as `{}` and was read once; pass a report folder so \
                 that its manifest picks the current delivery",
                first.display()
            );
            continue;
        }
        tracing::debug!("reading `{name}`");
        let family = match format {
            CostFormat::Cur1Csv
            | CostFormat::Cur2Csv
            | CostFormat::Parquet(parquet::ParquetKind::Cur2) => "CUR",
            CostFormat::FocusCsv | CostFormat::Parquet(parquet::ParquetKind::Focus) => "FOCUS",
            CostFormat::Parquet(parquet::ParquetKind::Canonical) => "aispend `costs`",
        };
        *families.entry(family).or_insert(0usize) += 1;
        match format {
            CostFormat::Parquet(kind) => {
                for piece in parquet::read_pieces(&name, kind, plan)? {
                    // A damaged page shows only when the piece is collected: name the file.
                    each(piece).map_err(|error| parquet::with_parquet_hint(error, &name))?;
                }
            }
            CostFormat::FocusCsv => {
                focus_csv::read(open(file)?, &name, plan, &mut |piece| each(piece.lazy()))?;
            }
            CostFormat::Cur1Csv | CostFormat::Cur2Csv => {
                let stats =
                    cur_csv::read(open(file)?, &name, plan, &mut |piece| each(piece.lazy()))?;
                split_children += stats.split_children;
            }
        }
    }
    bar.finish_and_clear();
    if families.len() > 1 {
        let found: Vec<String> = families
            .iter()
            .map(|(family, files)| {
                format!("{family} ({files} {})", if *files == 1 { "file" } else { "files" })
            })
            .collect();
        tracing::warn!(
            "the bill mixes {}: exports of different formats usually describe the same accounts \
             and months, and then every cost is counted once for each; pass one format per \
             account and month",
            found.join(" and ")
        );
    }
    if split_children > 0 {
        tracing::info!(
            "left out {split_children} split cost allocation child rows (EKSPod-EC2, ECSTask-EC2)"
        );
    }
    Ok(())
}

/// Gathers the rows of one CSV bill into frames of [`CSV_PIECE_ROWS`] rows and hands each to
/// a consumer as soon as it is full.
pub struct PieceWriter<'a> {
    builder: CostBuilder,
    owner_names: Vec<String>,
    file: String,
    emitted: bool,
    each: &'a mut dyn FnMut(DataFrame) -> Result<()>,
}

impl<'a> PieceWriter<'a> {
    /// A writer for the rows of `file`, resolved with `plan`.
    pub fn new(
        file: &str,
        plan: &TagPlan,
        each: &'a mut dyn FnMut(DataFrame) -> Result<()>,
    ) -> PieceWriter<'a> {
        let owner_names = plan.names();
        PieceWriter {
            builder: CostBuilder::new(owner_names.clone(), file),
            owner_names,
            file: file.to_string(),
            emitted: false,
            each,
        }
    }

    /// Adds a row, handing on the piece once it is full.
    pub fn push(&mut self, row: builder::CostRow) -> Result<()> {
        self.builder.push(row);
        if self.builder.len() >= CSV_PIECE_ROWS { self.flush() } else { Ok(()) }
    }

    /// Hands on the rows gathered so far; a file without rows still yields one empty frame.
    pub fn finish(mut self) -> Result<()> {
        if !self.builder.is_empty() || !self.emitted { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<()> {
        let fresh = CostBuilder::new(self.owner_names.clone(), &self.file);
        let full = std::mem::replace(&mut self.builder, fresh);
        self.emitted = true;
        (self.each)(full.finish()?)
    }
}
