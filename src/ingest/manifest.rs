//! Report folders: only the files that the latest manifests list are read.
//!
//! CUR 1.0 keeps one top-level `<name>-Manifest.json` per billing-period folder
//! (`yyyymmdd-yyyymmdd/`), overwritten on every delivery, whose `reportKeys` (or, when those
//! are empty, `assemblyId`) name the current files; older assemblies stay beside it and are
//! never read. CUR 2.0 keeps `metadata/BILLING_PERIOD=YYYY-MM/<name>-Manifest.json` with
//! `dataFiles`. A folder with no manifest is read whole.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

/// The fields of a CUR 1.0 or Data Exports manifest that aispend uses.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Manifest {
    pub assembly_id: Option<String>,
    pub report_keys: Vec<String>,
    pub data_files: Vec<String>,
}

/// The data files of a folder, through its manifests when it has any.
pub fn files_of_folder(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    walk(folder, &mut all)?;
    let manifests: Vec<&PathBuf> =
        all.iter().filter(|p| is_manifest(p) && is_latest_manifest(p)).collect();
    let data: Vec<&PathBuf> = all.iter().filter(|p| is_data_file(p)).collect();
    if manifests.is_empty() {
        return Ok(data.into_iter().cloned().collect());
    }
    let mut files = Vec::new();
    for manifest_path in manifests {
        files.extend(files_of_manifest(manifest_path, &data)?);
    }
    Ok(files)
}

/// Every file under `folder`, recursively, leaving out hidden files and folders (lock files,
/// editor leftovers).
pub fn walk(folder: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("cannot list `{}`", folder.display()))?;
    for entry in entries {
        let path = entry?.path();
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() { walk(&path, out)? } else { out.push(path) }
    }
    Ok(())
}

/// True for `*-Manifest.json` and `Manifest.json`.
fn is_manifest(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with("manifest.json"))
}

/// True for a manifest that governs a billing period: a CUR 1.0 one directly in its
/// `yyyymmdd-yyyymmdd` folder (not an assembly's copy), or a Data Exports one under
/// `metadata/`.
fn is_latest_manifest(path: &Path) -> bool {
    let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
    let is_period = parent.len() == 17
        && parent.as_bytes()[8] == b'-'
        && parent.bytes().filter(u8::is_ascii_digit).count() == 16;
    let in_metadata = path.components().any(|c| c.as_os_str() == "metadata");
    is_period || in_metadata || parent.starts_with("BILLING_PERIOD=")
}

/// True for files that hold bill rows.
fn is_data_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    !is_manifest(path)
        && (name.ends_with(".csv")
            || name.ends_with(".csv.gz")
            || name.ends_with(".gz")
            || name.ends_with(".parquet"))
}

/// The local files that one manifest lists.
fn files_of_manifest(manifest_path: &Path, data: &[&PathBuf]) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("cannot read `{}`", manifest_path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a CUR manifest", manifest_path.display()))?;
    let keys: Vec<&String> = manifest.report_keys.iter().chain(&manifest.data_files).collect();
    let period_folder = manifest_path.parent().unwrap_or(Path::new("."));
    if keys.is_empty() {
        let Some(assembly) = manifest.assembly_id.filter(|a| !a.is_empty()) else {
            bail!("`{}` lists no report keys and no assembly id", manifest_path.display());
        };
        let folder = period_folder.join(&assembly);
        return Ok(data.iter().filter(|p| p.starts_with(&folder)).map(|p| (*p).clone()).collect());
    }
    keys.iter().map(|key| local_file(key, data, manifest_path)).collect()
}

/// The local data file whose path ends with the longest tail of an S3 key.
fn local_file(key: &str, data: &[&PathBuf], manifest_path: &Path) -> Result<PathBuf> {
    let parts: Vec<&str> =
        key.trim_start_matches("s3://").split('/').filter(|p| !p.is_empty()).collect();
    for take in (1..=parts.len().min(4)).rev() {
        let tail: PathBuf = parts[parts.len() - take..].iter().collect();
        let matches: Vec<&&PathBuf> = data.iter().filter(|p| p.ends_with(&tail)).collect();
        if matches.len() == 1 {
            return Ok((*matches[0]).clone());
        }
    }
    Err(crate::error::hinted(
        format!("`{}` lists `{key}`, which is not in the folder", manifest_path.display()),
        "copy the whole report folder, or the month is still being delivered",
    ))
}
