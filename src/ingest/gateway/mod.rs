//! LLM gateway logs into the canonical `requests` frame.
//!
//! Each file is told apart by its content, never its name: LiteLLM spend logs (CSV, JSONL or
//! a JSON array), Portkey exports (JSONL), OpenAI usage and costs responses, and any other
//! CSV or JSONL through `[gateway] mapping`. Readers turn records into rows; [`assemble`]
//! then, purely:
//!
//! 1. drops calls that only fetch an earlier response (LiteLLM `aget_responses`,
//!    `aretrieve_*`, `alist_*`...): they are not new usage;
//! 2. counts an exact duplicate row once (same content, whichever file it came from), so
//!    ingesting the same log twice changes nothing; two different rows that share a provider
//!    request id both count, with a warning;
//! 3. numbers the attempts of each trace (retries and fallbacks of one call) by start time
//!    where the log gives no number; no attempt is dropped, failed or not;
//! 4. brings token counts to the canonical shape (see `enrich::usage`) and prices every
//!    request from its tokens with the price book. A gateway cache hit costs nothing. A model
//!    without a price leaves `priced_cost` null and is named in a warning with its share of
//!    the tokens.
//!
//! API keys never appear in clear: a gateway's own hash (64 hex digits) is kept, anything
//! else becomes its SHA-256. Bodies are never read (see `record`). Time stamps with an offset
//! are converted to UTC; those without one are UTC.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

mod assemble;
mod litellm;
mod mapped;
mod openai;
mod portkey;
pub mod record;
pub mod row;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use polars::prelude::*;

use crate::config::Config;
use crate::enrich::prices::PriceBook;
use crate::enrich::taxonomy::{TagPlan, canonical_key, canonical_value};
use crate::error::hinted;
use crate::model::requests;
use crate::settings::{Period, Settings};
use mapped::Mapping;
use record::Record;
use row::{RequestRow, hash_api_key};

/// The requests of every gateway source, priced from the price book.
#[derive(Debug, Clone)]
pub struct Requests {
    /// Canonical `requests` columns (see `model::requests`) plus one column per owner key.
    pub frame: DataFrame,
    /// What assembling the rows left out or could not price.
    pub stats: Stats,
}

/// Counts for the run's messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub rows_read: usize,
    pub retrievals: usize,
    pub duplicates: usize,
    /// Request ids found on more than one different row.
    pub shared_ids: usize,
    pub unpriced_requests: usize,
    pub unpriced_tokens: i64,
    pub total_tokens: i64,
    pub unpriced_models: BTreeSet<String>,
    /// Rows whose counts did not fit their token semantics (held at zero).
    pub inconsistent_counts: usize,
}

/// Reads, deduplicates and prices every gateway log source.
pub fn read_requests(sources: &[String], settings: &Settings, plan: &TagPlan) -> Result<Requests> {
    read_with_config(sources, &settings.config, plan)
}

/// [`read_requests`] with only the configuration it needs.
pub fn read_with_config(sources: &[String], config: &Config, plan: &TagPlan) -> Result<Requests> {
    let files = expand_logs(sources)?;
    if files.is_empty() {
        return Err(hinted("no gateway log to read", "pass `--gateway` or `[sources] gateway`"));
    }
    let book = PriceBook::load(config)?;
    let owners = Owners::new(plan, config);
    let mapping = Mapping::new(&config.gateway, plan)?;
    let mut rows = Vec::new();
    for file in &files {
        tracing::debug!("reading gateway log `{}`", file.display());
        read_file(file, &owners, mapping.as_ref(), &mut rows)?;
    }
    let (frame, stats) = assemble(rows, &book, &plan.names())?;
    report(&stats);
    Ok(Requests { frame, stats })
}

/// Keeps the requests that started in the period (UTC start time, half-open).
pub fn filter_period(frame: LazyFrame, period: &Period) -> LazyFrame {
    let Some((start, end)) = period.bounds() else { return frame };
    let at = |instant: chrono::DateTime<chrono::Utc>| {
        lit(instant.timestamp_millis()).cast(crate::model::instant_dtype())
    };
    frame.filter(
        col(requests::START_TIME).gt_eq(at(start)).and(col(requests::START_TIME).lt(at(end))),
    )
}

/// Files, globs and folders (every file below, hidden ones aside) into log files.
fn expand_logs(sources: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for source in sources {
        let path = Path::new(source);
        if path.is_dir() {
            crate::ingest::manifest::walk(path, &mut files)?;
        } else if source.starts_with("s3://") {
            crate::ingest::manifest::walk(&crate::aws::s3::download_folder(source)?, &mut files)?;
        } else {
            files.extend(crate::ingest::expand(std::slice::from_ref(source))?);
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The formats of a file of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LiteLlm,
    Portkey,
    Mapped,
}

/// Tells the format of records from their columns.
fn kind_of(name: &str, columns: &[&str], mapping: Option<&Mapping>) -> Result<Kind> {
    if litellm::matches(columns) {
        Ok(Kind::LiteLlm)
    } else if portkey::matches(columns) {
        Ok(Kind::Portkey)
    } else if mapping.is_some_and(|m| m.matches(columns)) {
        Ok(Kind::Mapped)
    } else {
        Err(hinted(
            format!(
                "`{name}` is not a gateway log aispend knows: LiteLLM spend logs have \
                 `request_id` and `startTime`, Portkey exports `ai_model`"
            ),
            "for another log, map its columns under `[gateway] mapping` in aispend.toml",
        ))
    }
}

/// Reads one file of any supported format into rows.
fn read_file(
    path: &Path,
    owners: &Owners<'_>,
    mapping: Option<&Mapping>,
    rows: &mut Vec<RequestRow>,
) -> Result<()> {
    let name = path.display().to_string();
    let mut text = String::new();
    crate::ingest::open(path)?
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read `{name}` as UTF-8 text"))?;
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let file: Arc<str> = Arc::from(name.as_str());
    if !body.starts_with(['{', '[']) {
        let mut kind = None;
        return record::read_csv(body.as_bytes(), &name, |record| {
            push_record(&record, &mut kind, owners, mapping, rows)
        });
    }
    let first_line = body.lines().next().unwrap_or_default();
    if let Ok(first) = serde_json::from_str::<serde_json::Value>(first_line)
        && first.is_object()
    {
        if openai::matches(&first) {
            return read_openai_lines(body, &file, owners, rows);
        }
        let mut kind = None;
        return record::read_jsonl(body.as_bytes(), &name, |record| {
            push_record(&record, &mut kind, owners, mapping, rows)
        });
    }
    let document: serde_json::Value = serde_json::from_str(body).map_err(|error| {
        let mut input = crate::error::InputError::at_line(
            &name,
            error.line() as u64,
            "(document)",
            "JSON",
            &error.to_string(),
        );
        input.location = format!("line {}, character {}", error.line(), error.column());
        input
    })?;
    if openai::matches(&document) {
        rows.extend(openai::rows(&document, &file, 1, owners)?);
        return Ok(());
    }
    let serde_json::Value::Array(items) = document else {
        return Err(hinted(
            format!("`{name}` is one JSON object that is no OpenAI usage or costs page"),
            "gateway logs are CSV, JSON Lines, or a JSON array of records",
        ));
    };
    let mut kind = None;
    for (index, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(mut fields) = item else {
            return Err(crate::error::InputError::at_line(
                &name,
                index as u64 + 1,
                "(record)",
                "a JSON object",
                "",
            )
            .into());
        };
        fields.retain(|key, _| !record::is_body(key));
        let record = Record { file: file.clone(), line: index as u64 + 1, fields };
        push_record(&record, &mut kind, owners, mapping, rows)?;
    }
    Ok(())
}

/// OpenAI pages written one per line.
fn read_openai_lines(
    body: &str,
    file: &Arc<str>,
    owners: &Owners<'_>,
    rows: &mut Vec<RequestRow>,
) -> Result<()> {
    for (index, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let page = serde_json::from_str(line).map_err(|error| {
            crate::error::InputError::at_line(
                file,
                index as u64 + 1,
                "(page)",
                "JSON",
                &error.to_string(),
            )
        })?;
        rows.extend(openai::rows(&page, file, index as u64 + 1, owners)?);
    }
    Ok(())
}

/// Reads one record, deciding the format from the first record of the file.
fn push_record(
    record: &Record,
    kind: &mut Option<Kind>,
    owners: &Owners<'_>,
    mapping: Option<&Mapping>,
    rows: &mut Vec<RequestRow>,
) -> Result<()> {
    let kind = if let Some(kind) = kind {
        *kind
    } else {
        let columns: Vec<&str> = record.fields.keys().map(String::as_str).collect();
        *kind.insert(kind_of(&record.file, &columns, mapping)?)
    };
    let row = match (kind, mapping) {
        (Kind::Mapped, Some(mapping)) => mapping.row(record, owners)?,
        (Kind::Portkey, _) => portkey::row(record, owners)?,
        _ => litellm::row(record, owners)?,
    };
    rows.push(row);
    Ok(())
}

/// Owner columns of a request: its tags through the taxonomy, then the API-key fallbacks
/// (`[taxonomy.fallbacks.api_keys]`, keyed by the clear key or its hash).
pub struct Owners<'a> {
    plan: &'a TagPlan,
    api_keys: HashMap<String, BTreeMap<String, String>>,
}

impl<'a> Owners<'a> {
    /// The owners of a run.
    pub fn new(plan: &'a TagPlan, config: &Config) -> Owners<'a> {
        let api_keys = config
            .taxonomy
            .fallbacks
            .api_keys
            .iter()
            .filter_map(|(key, owners)| {
                let owners = owners
                    .iter()
                    .filter_map(|(k, v)| Some((canonical_key(k), canonical_value(v, true)?)))
                    .collect();
                Some((hash_api_key(key)?, owners))
            })
            .collect();
        Owners { plan, api_keys }
    }

    /// The tag plan.
    pub fn plan(&self) -> &TagPlan {
        self.plan
    }

    /// One value per owner column: tags first, then the key's fallback.
    pub fn resolve(
        &self,
        tags: &[(String, String, bool)],
        api_key: Option<&str>,
    ) -> Vec<Option<String>> {
        let mut values = self.plan.resolve(tags, "", "").values;
        let fallback = api_key.and_then(|key| self.api_keys.get(key));
        if let Some(fallback) = fallback {
            for ((column, _), value) in self.plan.columns.iter().zip(values.iter_mut()) {
                if value.is_none() {
                    value.clone_from(&fallback.get(column).cloned());
                }
            }
        }
        values
    }
}

/// The run's messages about the logs: duplicates, shared ids and unpriced models.
fn report(stats: &Stats) {
    if stats.retrievals > 0 {
        tracing::debug!(
            "left out {} calls that only retrieve an earlier response (not new usage)",
            stats.retrievals
        );
    }
    if stats.duplicates > 0 {
        tracing::info!("{} exact duplicate log rows were counted once", stats.duplicates);
    }
    if stats.shared_ids > 0 {
        tracing::warn!(
            "{} request ids appear on more than one different log row; every row was counted \
             (see `aispend query` on `requests.request_id`)",
            stats.shared_ids
        );
    }
    if stats.inconsistent_counts > 0 {
        tracing::debug!(
            "{} requests logged more cached or reasoning tokens than their totals; the \
             difference was held at zero",
            stats.inconsistent_counts
        );
    }
    if stats.unpriced_requests > 0 {
        crate::logging::warn_once(&unpriced_message(stats));
    }
}

/// "N requests (x% of tokens) use models with no price: a, b; add `[[prices.override]]`".
#[allow(clippy::cast_precision_loss)] // a percentage shown to one decimal
pub fn unpriced_message(stats: &Stats) -> String {
    let share = if stats.total_tokens == 0 {
        0.0
    } else {
        stats.unpriced_tokens as f64 / stats.total_tokens as f64 * 100.0
    };
    let models: Vec<&str> = stats.unpriced_models.iter().map(String::as_str).collect();
    let (noun, verb) =
        if stats.unpriced_requests == 1 { ("request", "uses") } else { ("requests", "use") };
    format!(
        "{} {noun} ({share:.1}% of tokens) {verb} models with no price: {}; add \
         `[[prices.override]]` or an alias under `[prices.aliases]` in aispend.toml",
        stats.unpriced_requests,
        models.join(", ")
    )
}

pub use assemble::assemble;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
