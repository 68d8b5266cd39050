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
    /// When a Data Exports execution delivered (ISO 8601, so text order is time order).
    pub delivery_time: Option<String>,
}

/// A data file of a folder, with the manifest that listed it, if one did.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub path: PathBuf,
    pub manifest: Option<PathBuf>,
}

/// The data files of a folder, through its manifests when it has any.
pub fn files_of_folder(folder: &Path) -> Result<Vec<PathBuf>> {
    Ok(listed_files_of_folder(folder)?.into_iter().map(|listed| listed.path).collect())
}

/// The data files of a folder with the manifest of each.
///
/// Each billing period is read on its own terms: through the manifest that governs it when
/// there is one (the newest, by its delivery time, when a CUR 2.0 partition keeps one per
/// execution); from its one delivery when it holds one; an error when it holds several and
/// nothing says which is current, since adding them would count the month twice. A CUR 1.0
/// assembly's own copy of the manifest (its `assemblyId` is its folder's name) never
/// governs; the manifest beside the assemblies does, whatever the period folder is called.
pub fn listed_files_of_folder(folder: &Path) -> Result<Vec<Listed>> {
    // Worked out on the real path, since `.` or a link must not hide the names of the
    // layout; shown under the path the user gave.
    let real = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let shown = |path: PathBuf| match path.strip_prefix(&real) {
        Ok(rest) => folder.join(rest),
        Err(_) => path,
    };
    Ok(listed_files_of_real_folder(&real)?
        .into_iter()
        .map(|listed| Listed { path: shown(listed.path), manifest: listed.manifest.map(shown) })
        .collect())
}

fn listed_files_of_real_folder(folder: &Path) -> Result<Vec<Listed>> {
    // A CUR 2.0 data partition (`<export>/data/BILLING_PERIOD=…`) is read through the
    // manifest beside it under `<export>/metadata/`.
    if let Some(root) = export_root_of_data(folder) {
        let files = listed_files_of_real_folder(&root)?;
        return Ok(files.into_iter().filter(|f| f.path.starts_with(folder)).collect());
    }
    let mut all = Vec::new();
    walk(folder, &mut all)?;
    all.sort();
    let data: Vec<&PathBuf> = all.iter().filter(|p| is_data_file(p)).collect();
    let layout = Layout::of(&all)?;
    let mut governing: std::collections::BTreeMap<PathBuf, Vec<(&PathBuf, &Manifest)>> =
        std::collections::BTreeMap::new();
    for (path, manifest) in &layout.governing {
        if let Some(period) = layout.period_of(path) {
            governing.entry(period).or_default().push((path, manifest));
        }
    }
    let mut files = Vec::new();
    for (period, manifests) in &governing {
        let in_period: Vec<&PathBuf> =
            data.iter().copied().filter(|p| layout.period_of(p).as_ref() == Some(period)).collect();
        for manifest_path in current_manifests(period, manifests)? {
            let listed = files_of_manifest(manifest_path, &in_period)?;
            files.extend(
                listed
                    .into_iter()
                    .map(|path| Listed { path, manifest: Some(manifest_path.clone()) }),
            );
        }
    }
    // Periods that no manifest governs: every file, unless two deliveries are in it.
    let mut ungoverned: std::collections::BTreeMap<Option<PathBuf>, Vec<&PathBuf>> =
        std::collections::BTreeMap::new();
    for file in &data {
        let period = layout.period_of(file);
        if period.as_ref().is_none_or(|p| !governing.contains_key(p)) {
            ungoverned.entry(period).or_default().push(file);
        }
    }
    for (period, found) in ungoverned {
        if let Some(period) = &period {
            check_one_delivery(&Layout::folder_of(period, found[0]), &found)?;
        }
        files.extend(found.into_iter().map(|path| Listed { path: path.clone(), manifest: None }));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The manifests of one folder tree and the billing periods they tell.
struct Layout {
    /// Manifests that govern a period (not an assembly's copy).
    governing: Vec<(PathBuf, Manifest)>,
    /// CUR 1.0 period folders: `yyyymmdd-yyyymmdd` ones, those of a governing manifest and
    /// those that hold assemblies.
    cur1_periods: std::collections::BTreeSet<PathBuf>,
}

impl Layout {
    fn of(all: &[PathBuf]) -> Result<Layout> {
        let mut governing = Vec::new();
        let mut cur1_periods = std::collections::BTreeSet::new();
        for path in all.iter().filter(|p| is_manifest(p)) {
            let manifest = read_manifest(path)?;
            let folder = path.parent().unwrap_or(Path::new("."));
            if cur2_period_of(path).is_some() {
                governing.push((path.clone(), manifest));
                continue;
            }
            let folder_name = name_of(folder);
            let parent = folder.parent().unwrap_or(Path::new("."));
            let is_assembly_copy = manifest.assembly_id.as_deref() == Some(folder_name.as_str())
                || is_period_name(&name_of(parent));
            if is_assembly_copy {
                cur1_periods.insert(parent.to_path_buf());
            } else {
                cur1_periods.insert(folder.to_path_buf());
                governing.push((path.clone(), manifest));
            }
        }
        Ok(Layout { governing, cur1_periods })
    }

    /// The billing period a file belongs to: its CUR 2.0 `<export>/BILLING_PERIOD=…`, or its
    /// nearest CUR 1.0 period folder.
    fn period_of(&self, path: &Path) -> Option<PathBuf> {
        if let Some(period) = cur2_period_of(path) {
            return Some(period);
        }
        path.ancestors()
            .skip(1)
            .find(|folder| self.cur1_periods.contains(*folder) || is_period_name(&name_of(folder)))
            .map(Path::to_path_buf)
    }

    /// The folder that holds a period's data: the CUR 1.0 period folder itself, or CUR 2.0's
    /// `<export>/data/BILLING_PERIOD=…` (found from one of its files).
    fn folder_of(period: &Path, file: &Path) -> PathBuf {
        let partition = name_of(period);
        file.ancestors()
            .find(|folder| partition.starts_with("BILLING_PERIOD=") && name_of(folder) == partition)
            .map_or_else(|| period.to_path_buf(), Path::to_path_buf)
    }
}

/// `<export>/BILLING_PERIOD=YYYY-MM` for a path under `<export>/data/BILLING_PERIOD=…` or
/// `<export>/metadata/BILLING_PERIOD=…` (CUR 2.0 Data Exports).
fn cur2_period_of(path: &Path) -> Option<PathBuf> {
    for folder in path.ancestors().skip(1) {
        let name = name_of(folder);
        if name.starts_with("BILLING_PERIOD=") {
            let parent = folder.parent()?;
            let side = name_of(parent);
            return (side == "data" || side == "metadata")
                .then(|| parent.parent())
                .flatten()
                .map(|root| root.join(&name));
        }
    }
    None
}

fn name_of(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string()
}

/// The manifests to follow among those of one period: all of a CUR 1.0 period (each lists
/// its own files), the newest of a CUR 2.0 partition that keeps one per execution.
fn current_manifests<'a>(
    period: &Path,
    manifests: &[(&'a PathBuf, &Manifest)],
) -> Result<Vec<&'a PathBuf>> {
    if manifests.len() < 2 || !name_of(period).starts_with("BILLING_PERIOD=") {
        return Ok(manifests.iter().map(|(path, _)| *path).collect());
    }
    let times: Option<Vec<&str>> =
        manifests.iter().map(|(_, m)| m.delivery_time.as_deref()).collect();
    let Some(times) = times else {
        let named: Vec<String> =
            manifests.iter().map(|(path, _)| format!("`{}`", path.display())).collect();
        return Err(crate::error::hinted(
            format!(
                "{} manifests govern `{}` and not all give a `deliveryTime` to tell the newest: {}",
                manifests.len(),
                name_of(period),
                named.join(", ")
            ),
            "keep only the current execution's manifest and data, or pass its folder",
        ));
    };
    let newest = (0..times.len()).max_by_key(|i| times[*i]).unwrap_or(0);
    tracing::info!(
        "`{}`: following the newest of {} manifests, `{}`",
        name_of(period),
        manifests.len(),
        manifests[newest].0.display()
    );
    Ok(vec![manifests[newest].0])
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
    let data =
        if name_of(folder).starts_with("BILLING_PERIOD=") { folder.parent()? } else { folder };
    if name_of(data) != "data" {
        return None;
    }
    let root = data.parent()?;
    root.join("metadata").is_dir().then(|| root.to_path_buf())
}

/// A period folder without its manifest may hold one delivery: files of its own (overwrite
/// mode) or one assembly or execution folder. Two such folders are two deliveries.
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
        "copy the period's manifest too, or pass the folder of the current delivery",
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

/// A manifest file, parsed.
fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_json::from_str(&text).map_err(|error| {
        crate::error::hinted(
            format!("`{}` is not a CUR manifest: {error}", path.display()),
            "a manifest is the JSON that AWS writes beside the report's files; download it again",
        )
    })
}

/// The local files that one manifest lists.
fn files_of_manifest(manifest_path: &Path, data: &[&PathBuf]) -> Result<Vec<PathBuf>> {
    let manifest = read_manifest(manifest_path)?;
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
