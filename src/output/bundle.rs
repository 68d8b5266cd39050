//! A bundle of report files in one folder or S3 prefix, described by a `manifest.json`.
//!
//! [`Folder`] reads and writes named files in a local folder (atomically, through
//! `write_atomic`) or an S3 prefix (one checksummed `PutObject` each). [`Manifest`] lists
//! every file with its size, SHA-256, row count and money total; it carries no time stamp,
//! so the same inputs give the same bytes. [`lock`] keeps two runs from writing one bundle
//! at once. [`read_previous`] and [`baseline`] find what an earlier run of the month wrote,
//! for restatements, and [`summary_markdown`] renders `summary.md`.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::aws::s3::{ObjectStore, S3Url};
use crate::error::hinted;
use crate::money::Money;
use crate::report::adjustments::{self, AdjustmentBasis, DepartmentAmount};

/// The name of the manifest file, written last.
pub const MANIFEST: &str = "manifest.json";
/// The summary for people.
pub const SUMMARY: &str = "summary.md";
/// The adjustment journal's file stem.
pub const ADJUSTMENTS: &str = "adjustments";

/// Where a bundle lives.
pub enum Folder<'a> {
    Local(PathBuf),
    S3 { store: &'a dyn ObjectStore, prefix: S3Url },
}

impl Folder<'_> {
    /// The address of a file of the bundle, for messages.
    pub fn address(&self, name: &str) -> String {
        match self {
            Folder::Local(path) => path.join(name).display().to_string(),
            Folder::S3 { prefix, .. } => prefix.join(name).to_string(),
        }
    }

    /// The bytes of a file, `None` when it does not exist.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Folder::Local(path) => {
                let path = path.join(name);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(error) => {
                        Err(error).with_context(|| format!("cannot read `{}`", path.display()))
                    }
                }
            }
            Folder::S3 { store, prefix } => {
                let address = prefix.join(name);
                store.get(&address.bucket, &address.key)
            }
        }
    }

    /// Writes a file whole: a reader sees the old bytes or the new ones, never a part.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Folder::Local(path) => super::write_atomic(&path.join(name), bytes),
            Folder::S3 { store, prefix } => {
                crate::aws::s3::put_url(*store, &prefix.join(name).to_string(), bytes)
            }
        }
    }
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Data rows (CSV and Parquet reports); absent for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The report's main money column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money_column: Option<String>,
    /// The sum of that column, at full scale, when the report holds one currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money_total: Option<Money>,
    /// The sum per currency (several currencies are never added together).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub money_totals: std::collections::BTreeMap<String, Money>,
}

impl Entry {
    /// The entry of a document (no rows, no money).
    pub fn document(name: &str, bytes: &[u8]) -> Entry {
        Entry {
            name: name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            rows: None,
            money_column: None,
            money_total: None,
            money_totals: std::collections::BTreeMap::new(),
        }
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub month: String,
    /// True while some line of the month is not final (estimated, or no invoice id yet).
    pub provisional: bool,
    /// The report that restatements of this month are compared on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_basis: Option<AdjustmentBasis>,
    /// The amounts `adjustments.csv` was computed against, when this run wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted_against: Option<Vec<DepartmentAmount>>,
    pub files: Vec<Entry>,
}

impl Manifest {
    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads a manifest; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Manifest> {
        serde_json::from_slice(bytes)
            .with_context(|| format!("`{what}` is not a manifest written by `aispend monthly`"))
    }

    /// The entry of a file.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.files.iter().find(|entry| entry.name == name)
    }
}

/// The manifest of an earlier run of this month in the folder, if any.
pub fn read_previous(folder: &Folder<'_>, month: &str) -> Result<Option<Manifest>> {
    let Some(bytes) = folder.read(MANIFEST)? else { return Ok(None) };
    let manifest = Manifest::parse(&bytes, &folder.address(MANIFEST))?;
    if manifest.month != month {
        tracing::warn!(
            "`{}` describes {}, not {month}; it is replaced and not compared",
            folder.address(MANIFEST),
            manifest.month
        );
        return Ok(None);
    }
    Ok(Some(manifest))
}

/// The amounts to compare this run with, when the earlier run closed the month.
///
/// Against the earlier run's report as its manifest lists it. When nothing changed since,
/// a rerun keeps the comparison that run made, so it writes the same adjustment journal.
pub fn baseline(
    previous: &Manifest,
    basis: &AdjustmentBasis,
    current: &[DepartmentAmount],
    folder: &Folder<'_>,
) -> Result<Option<Vec<DepartmentAmount>>> {
    if previous.provisional {
        return Ok(None);
    }
    let name = format!("{}.csv", basis.report);
    let address = folder.address(&name);
    let skip = |why: &str| {
        tracing::warn!("cannot compare with the earlier run of this month: {why}");
        Ok(None)
    };
    if previous.adjustment_basis.as_ref() != Some(basis) {
        return skip("it compared another report or other columns");
    }
    let Some(entry) = previous.entry(&name) else {
        return skip(&format!("its manifest does not list `{name}`"));
    };
    let Some(bytes) = folder.read(&name)? else {
        return skip(&format!("`{address}` is gone"));
    };
    if sha256_hex(&bytes) != entry.sha256 {
        return skip(&format!("`{address}` changed after its manifest was written"));
    }
    let before = adjustments::totals_of_csv(&bytes, basis, &address)?;
    if before == current {
        return Ok(previous.adjusted_against.clone());
    }
    Ok(Some(before))
}

/// `summary.md`: the month at a glance, for people; `findings` are policy results.
pub fn summary_markdown(
    month: &str,
    provisional: bool,
    basis: &str,
    files: &[&Entry],
    departments: &[DepartmentAmount],
    changed_departments: Option<usize>,
    findings: &[String],
) -> String {
    use std::fmt::Write as _;
    let mut text = format!("# aispend monthly report: {month}\n\n");
    text.push_str(if provisional {
        "Status: **provisional**. AWS may still change these numbers (estimated periods or no \
         invoice yet).\n\n"
    } else {
        "Status: final.\n\n"
    });
    text.push_str(basis);
    text.push_str("\n\n");
    if !departments.is_empty() {
        text.push_str(
            "## Cost per department\n\n| department | currency | amount |\n|---|---|---:|\n",
        );
        for department in departments {
            let amount = department.amount.cents_string();
            let _ = writeln!(text, "| {} | {} | {amount} |", department.key, department.currency);
        }
        text.push('\n');
    }
    if let Some(changed) = changed_departments {
        let _ = write!(
            text,
            "## Restatement\n\nAWS changed this month after an earlier run closed it: \
             {changed} departments differ. Post `{ADJUSTMENTS}.csv`.\n\n"
        );
    }
    if !findings.is_empty() {
        text.push_str("## Policy results\n\n");
        for finding in findings {
            let _ = writeln!(text, "- {finding}");
        }
        text.push('\n');
    }
    text.push_str("## Files\n\n| file | rows | money total |\n|---|---:|---:|\n");
    for entry in files {
        let rows = entry.rows.map(|r| r.to_string()).unwrap_or_default();
        let total = match (&entry.money_column, entry.money_total) {
            (Some(column), Some(total)) => format!("{} (`{column}`)", total.cents_string()),
            (Some(column), None) if !entry.money_totals.is_empty() => {
                let parts: Vec<String> = entry
                    .money_totals
                    .iter()
                    .map(|(currency, total)| format!("{} {currency}", total.cents_string()))
                    .collect();
                format!("{} (`{column}`)", parts.join(", "))
            }
            _ => String::new(),
        };
        let _ = writeln!(text, "| {} | {rows} | {total} |", entry.name);
    }
    let _ = writeln!(text, "\n`{MANIFEST}` lists every file with its size and SHA-256.");
    text
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Holds the bundle's lock until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the lock of an output: a lock file in a local folder, or for an S3 prefix a
/// local one in the temporary folder named after the address. A second run fails at once
/// with a message that says who holds it.
pub fn lock(out: &str) -> Result<Lock> {
    let path = if out.starts_with("s3://") {
        let digest = sha256_hex(out.trim_end_matches('/').as_bytes());
        std::env::temp_dir().join(format!("aispend-monthly-{}.lock", &digest[..16]))
    } else {
        let folder = Path::new(out);
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create `{}`", folder.display()))?;
        folder.join(".aispend-monthly.lock")
    };
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file `{}`", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(hinted(
            format!("another `aispend monthly` is writing `{out}` (lock `{}`)", path.display()),
            "wait for it to finish and run again; runs of one output never interleave",
        )),
        Err(TryLockError::Error(error)) => {
            Err(anyhow::Error::new(error).context(format!("cannot lock `{}`", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::s3::MemoryStore;

    #[test]
    fn a_second_lock_on_one_output_is_refused_until_the_first_ends() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("2025-01");
        let out = out.to_str().unwrap();
        let first = lock(out).unwrap();
        let second = lock(out).unwrap_err();
        assert!(second.to_string().contains("another `aispend monthly` is writing"), "{second}");
        drop(first);
        lock(out).unwrap();
        let s3 = lock("s3://bucket/lock-test-a1b2/").unwrap();
        assert!(lock("s3://bucket/lock-test-a1b2").is_err(), "a final `/` is the same prefix");
        drop(s3);
    }

    #[test]
    fn folders_read_what_they_wrote() {
        let store = MemoryStore::default();
        let s3 = Folder::S3 { store: &store, prefix: S3Url::parse("s3://b/m/2025-01").unwrap() };
        assert_eq!(s3.read("a.csv").unwrap(), None);
        s3.write("a.csv", b"x").unwrap();
        assert_eq!(s3.read("a.csv").unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(s3.address("a.csv"), "s3://b/m/2025-01/a.csv");
        let folder = tempfile::tempdir().unwrap();
        let local = Folder::Local(folder.path().to_path_buf());
        assert_eq!(local.read("a.csv").unwrap(), None);
        local.write("a.csv", b"y").unwrap();
        assert_eq!(local.read("a.csv").unwrap().as_deref(), Some(&b"y"[..]));
    }

    #[test]
    fn manifests_round_trip_without_time_stamps() {
        let manifest = Manifest {
            month: "2025-01".into(),
            provisional: false,
            adjustment_basis: None,
            adjusted_against: None,
            files: vec![Entry::document("summary.md", b"abc")],
        };
        let bytes = manifest.to_bytes().unwrap();
        // SHA-256 of `abc` (FIPS 180-2 example).
        assert!(
            String::from_utf8_lossy(&bytes)
                .contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(Manifest::parse(&bytes, "m").unwrap(), manifest);
    }
}
