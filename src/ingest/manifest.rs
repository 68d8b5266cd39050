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
///
/// Each billing period is read on its own terms: through the manifest that governs it when
/// there is one; from its one assembly when it holds one (a CUR 1.0 create-new folder copied
/// without its period manifest); an error when it holds several deliveries and nothing says
/// which is current, since adding them would count the month twice.
pub fn files_of_folder(folder: &Path) -> Result<Vec<PathBuf>> {
    // A CUR 2.0 data partition (`<export>/data/BILLING_PERIOD=…`) is read through the
    // manifest beside it under `<export>/metadata/`.
    if let Some(root) = export_root_of_data(folder) {
        let files = files_of_folder(&root)?;
        return Ok(files.into_iter().filter(|f| f.starts_with(folder)).collect());
    }
    let mut all = Vec::new();
    walk(folder, &mut all)?;
    all.sort();
    let data: Vec<&PathBuf> = all.iter().filter(|p| is_data_file(p)).collect();
    let mut files = Vec::new();
    let mut governed = std::collections::BTreeSet::new();
    for manifest_path in all.iter().filter(|p| is_manifest(p) && is_latest_manifest(p)) {
        let period = period_of(manifest_path);
        let in_period: Vec<&PathBuf> =
            data.iter().copied().filter(|p| period_of(p) == period).collect();
        files.extend(files_of_manifest(manifest_path, &in_period)?);
        governed.insert(period);
    }
    // Periods that no manifest governs: every file, unless two deliveries are in it.
    let mut ungoverned: std::collections::BTreeMap<Option<PathBuf>, Vec<&PathBuf>> =
        std::collections::BTreeMap::new();
    for file in &data {
        let period = period_of(file);
        if period.is_none() || !governed.contains(&period) {
            ungoverned.entry(period).or_default().push(file);
        }
    }
    for (period, found) in ungoverned {
        if let Some(period) = &period {
            check_one_delivery(period, &found)?;
        }
        files.extend(found.into_iter().cloned());
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The billing period folder a file belongs to: its nearest `yyyymmdd-yyyymmdd` folder (CUR
/// 1.0), or `<export>/BILLING_PERIOD=YYYY-MM` for a file under `<export>/data/` or
/// `<export>/metadata/` (CUR 2.0).
fn period_of(path: &Path) -> Option<PathBuf> {
    for folder in path.ancestors().skip(1) {
        let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_period_name(name) {
            return Some(folder.to_path_buf());
        }
        if name.starts_with("BILLING_PERIOD=") {
            let parent = folder.parent()?;
            let side = parent.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let root = if side == "data" || side == "metadata" { parent.parent()? } else { parent };
            return Some(root.join(name));
        }
    }
    None
}

/// `20250101-20250201`.
fn is_period_name(name: &str) -> bool {
    name.len() == 17
        && name.as_bytes()[8] == b'-'
        && name.bytes().filter(u8::is_ascii_digit).count() == 16
}

/// The export folder of `<export>/data` or `<export>/data/BILLING_PERIOD=…` when a manifest
/// folder `<export>/metadata` sits beside it.
fn export_root_of_data(folder: &Path) -> Option<PathBuf> {
    let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
    let data = if name(folder).starts_with("BILLING_PERIOD=") { folder.parent()? } else { folder };
    if name(data) != "data" {
        return None;
    }
    let root = data.parent()?;
    root.join("metadata").is_dir().then(|| root.to_path_buf())
}

/// A CUR 1.0 period folder without its manifest may hold one assembly folder, or files of
/// its own (overwrite mode); two assemblies are two deliveries of the month.
fn check_one_delivery(period: &Path, files: &[&PathBuf]) -> Result<()> {
    let mut assemblies = std::collections::BTreeSet::new();
    for file in files {
        let Ok(inside) = file.strip_prefix(period) else { continue };
        let parts: Vec<_> = inside.components().collect();
        if parts.len() >= 2 {
            assemblies.insert(parts[0].as_os_str().to_string_lossy().to_string());
        }
    }
    if assemblies.len() < 2 {
        return Ok(());
    }
    let named: Vec<String> = assemblies.iter().map(|a| format!("`{a}`")).collect();
    Err(crate::error::hinted(
        format!(
            "`{}` holds {} deliveries of one billing period ({}) and no manifest that says which \
             is current; adding them would count the month twice",
            period.display(),
            assemblies.len(),
            named.join(", ")
        ),
        "copy the period's `<report>-Manifest.json` too, or pass the folder of the current \
         assembly",
    ))
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
    let in_metadata = path.components().any(|c| c.as_os_str() == "metadata");
    is_period_name(parent) || in_metadata || parent.starts_with("BILLING_PERIOD=")
}

/// True for files that hold bill rows.
fn is_data_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    !is_manifest(path)
        && (name.ends_with(".csv")
            || name.ends_with(".csv.gz")
            || name.ends_with(".gz")
            || name.ends_with(".zip")
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
        let files: Vec<PathBuf> =
            data.iter().filter(|p| p.starts_with(&folder)).map(|p| (*p).clone()).collect();
        if files.is_empty() {
            return Err(crate::error::hinted(
                format!(
                    "`{}` names the assembly `{assembly}`, but `{}` holds no bill file",
                    manifest_path.display(),
                    folder.display()
                ),
                "copy the whole report folder; if the month is still being delivered, wait for \
                 its manifest",
            ));
        }
        return Ok(files);
    }
    keys.iter().map(|key| local_file(key, data, manifest_path)).collect()
}

/// The local data file of an S3 key, among the files of the manifest's billing period.
///
/// The key's parts after its period folder (`20250101-20250201/<assembly>/<name>-1.csv.gz`,
/// `BILLING_PERIOD=2025-01/<name>-00001.parquet`) must end the local path; a key without a
/// period folder matches by its longest tail that names one file.
fn local_file(key: &str, data: &[&PathBuf], manifest_path: &Path) -> Result<PathBuf> {
    let parts: Vec<&str> =
        key.trim_start_matches("s3://").split('/').filter(|p| !p.is_empty()).collect();
    let period_at =
        parts.iter().rposition(|p| is_period_name(p) || p.starts_with("BILLING_PERIOD="));
    let shortest = match period_at {
        Some(at) => parts.len() - at - 1,
        None => 1,
    };
    for take in (shortest.max(1)..=parts.len()).rev() {
        let tail: PathBuf = parts[parts.len() - take..].iter().collect();
        let matches: Vec<&&PathBuf> = data.iter().filter(|p| p.ends_with(&tail)).collect();
        if matches.len() == 1 {
            return Ok((*matches[0]).clone());
        }
    }
    Err(crate::error::hinted(
        format!(
            "`{}` lists `{key}`, which is not among the files of its billing period",
            manifest_path.display()
        ),
        "copy the whole report folder; if the month is still being delivered, wait for its \
         manifest",
    ))
}
