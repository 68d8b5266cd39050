//! S3 sources and outputs behind the [`ObjectStore`] trait.
//!
//! Sources: [`download_source`] copies an `s3://bucket/prefix/` (or one object) into a
//! temporary folder that lives until the run ends ([`remove_downloads`]), then reads that
//! folder exactly as a local one, so a CUR report prefix goes through its latest manifest
//! and only the files the manifest lists are downloaded.
//!
//! Outputs: [`upload_bytes`] writes one object with a single `PutObject` that carries a
//! SHA-256 checksum, with the SDK's retries. S3 makes an object visible only once its whole
//! body has arrived and matched the checksum, so a failed upload leaves either the previous
//! object or none: never a partial one. That is why no temporary key and copy are needed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context as _, Result, bail};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;

use crate::error::hinted;

/// An `s3://bucket/key` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// The key or prefix, without a leading `/`; may be empty.
    pub key: String,
}

impl S3Url {
    /// Parses `s3://bucket/key`.
    pub fn parse(url: &str) -> Result<S3Url> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            hinted(format!("`{url}` is not an S3 address"), "write it as `s3://bucket/prefix/`")
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(hinted(
                format!("`{url}` names no bucket"),
                "write it as `s3://bucket/prefix/`",
            ));
        }
        Ok(S3Url { bucket: bucket.to_string(), key: key.trim_start_matches('/').to_string() })
    }

    /// The address of `name` inside this prefix (a `/` is added when missing).
    #[must_use]
    pub fn join(&self, name: &str) -> S3Url {
        let key = if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{name}", self.key)
        } else {
            format!("{}/{name}", self.key)
        };
        S3Url { bucket: self.bucket.clone(), key }
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// S3, as far as aispend uses it.
pub trait ObjectStore: Send + Sync {
    /// Every object whose key starts with `prefix`, in key order.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>>;
    /// The bytes of an object, `None` when it does not exist.
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Streams an object into a local file.
    fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<()>;
    /// Writes an object in one request, with a SHA-256 checksum.
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<()>;
}

/// The SDK implementation.
pub struct SdkStore {
    client: aws_sdk_s3::Client,
}

impl SdkStore {
    /// The run's client: shared configuration, path-style addressing (emulators and
    /// bucket names with dots need it).
    pub fn shared() -> Result<&'static SdkStore> {
        static STORE: OnceLock<SdkStore> = OnceLock::new();
        if let Some(store) = STORE.get() {
            return Ok(store);
        }
        let config = super::sdk_config()?;
        let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        let client = aws_sdk_s3::Client::from_conf(s3_config);
        Ok(STORE.get_or_init(|| SdkStore { client }))
    }
}

/// A failed body read as an error with the credentials hint.
fn failed<E: std::error::Error>(what: &str, error: &E) -> anyhow::Error {
    hinted(format!("{what}: {}", super::describe_error(error)), super::CREDENTIALS_HINT)
}

/// A failed SDK call as an error with the credentials hint.
fn failed_call<E, R>(what: &str, error: &SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    hinted(format!("{what}: {}", super::sdk_error_text(error)), super::CREDENTIALS_HINT)
}

impl ObjectStore for SdkStore {
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut pages =
            self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        let mut objects = Vec::new();
        super::block_on(async {
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    failed_call(&format!("cannot list `s3://{bucket}/{prefix}`"), &e)
                })?;
                for object in page.contents() {
                    let size = u64::try_from(object.size().unwrap_or(0)).unwrap_or(0);
                    if let Some(key) = object.key() {
                        objects.push(ObjectInfo { key: key.to_string(), size });
                    }
                }
            }
            Ok::<(), anyhow::Error>(())
        })??;
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let call = self.client.get_object().bucket(bucket).key(key).send();
        super::block_on(async {
            let output = match call.await {
                Ok(output) => output,
                Err(error)
                    if error.as_service_error().is_some_and(GetObjectError::is_no_such_key) =>
                {
                    return Ok(None);
                }
                Err(error) => {
                    return Err(failed_call(&format!("cannot read `s3://{bucket}/{key}`"), &error));
                }
            };
            let bytes = output
                .body
                .collect()
                .await
                .map_err(|e| failed(&format!("cannot read `s3://{bucket}/{key}`"), &e))?;
            Ok(Some(bytes.into_bytes().to_vec()))
        })?
    }

    fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<()> {
        let what = || format!("cannot download `s3://{bucket}/{key}`");
        let call = self.client.get_object().bucket(bucket).key(key).send();
        let mut file = std::fs::File::create(to)
            .with_context(|| format!("cannot create `{}`", to.display()))?;
        super::block_on(async {
            let mut output = call.await.map_err(|e| failed_call(&what(), &e))?;
            while let Some(chunk) = output.body.next().await {
                let chunk = chunk.map_err(|e| failed(&what(), &e))?;
                file.write_all(&chunk)
                    .with_context(|| format!("cannot write `{}`", to.display()))?;
            }
            Ok::<(), anyhow::Error>(())
        })??;
        file.sync_all()?;
        Ok(())
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<()> {
        let call = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes.to_vec()))
            .send();
        super::block_on(call)?
            .map_err(|e| failed_call(&format!("cannot write `s3://{bucket}/{key}`"), &e))?;
        Ok(())
    }
}

/// A test double: objects in memory; `fail_puts_after` makes later uploads fail.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    /// Uploads that still succeed; `None` for no limit.
    pub fail_puts_after: Mutex<Option<usize>>,
}

impl MemoryStore {
    /// The objects of a bucket, by key.
    pub fn bucket(&self, bucket: &str) -> BTreeMap<String, Vec<u8>> {
        let objects = self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        objects
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<u8>>> {
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ObjectStore for MemoryStore {
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>> {
        Ok(self
            .objects()
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, key), bytes)| ObjectInfo { key: key.clone(), size: bytes.len() as u64 })
            .collect())
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.objects().get(&(bucket.to_string(), key.to_string())).cloned())
    }

    fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<()> {
        let bytes = self.get(bucket, key)?.with_context(|| format!("no object `{key}`"))?;
        std::fs::write(to, bytes)?;
        Ok(())
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<()> {
        let mut budget =
            self.fail_puts_after.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(left) = budget.as_mut() {
            if *left == 0 {
                bail!("cannot write `s3://{bucket}/{key}`: simulated failure");
            }
            *left -= 1;
        }
        self.objects().insert((bucket.to_string(), key.to_string()), bytes.to_vec());
        Ok(())
    }
}

/// Temporary folders of downloaded sources, kept until the run ends.
static DOWNLOADS: Mutex<Vec<tempfile::TempDir>> = Mutex::new(Vec::new());

/// Downloads the objects of an `s3://bucket/prefix/` source (or one object) into a
/// temporary folder and returns the data files to read, chosen as for a local folder.
pub fn download_source(url: &str) -> Result<Vec<PathBuf>> {
    download_into(SdkStore::shared()?, url, &run_folder()?)
}

/// Downloads every object under an `s3://bucket/prefix/` (or the one object it names) into
/// a temporary folder that lives until the run ends, and returns the folder, for readers
/// with their own folder rules (gateway logs take every file below).
pub fn download_folder(url: &str) -> Result<PathBuf> {
    let folder = run_folder()?;
    let store = SdkStore::shared()?;
    let address = S3Url::parse(url)?;
    let listed = store.list(&address.bucket, &address.key)?;
    if let Some(single) = single_object(&listed, &address.key) {
        let name = single.key.rsplit('/').next().unwrap_or("object");
        store.download(&address.bucket, &single.key, &folder.join(name))?;
        return Ok(folder);
    }
    let prefix = address.join("").key;
    for object in listed.iter().filter(|o| o.key.starts_with(&prefix) && !o.key.ends_with('/')) {
        let path = folder.join(relative_path(&object.key[prefix.len()..], &object.key)?);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        store.download(&address.bucket, &object.key, &path)?;
    }
    Ok(folder)
}

/// The object a key names exactly, when no other object sits below it as a folder.
fn single_object<'a>(listed: &'a [ObjectInfo], key: &str) -> Option<&'a ObjectInfo> {
    let single = listed.iter().find(|o| o.key == key && !key.is_empty())?;
    let nested = format!("{key}/");
    (!listed.iter().any(|o| o.key.starts_with(&nested))).then_some(single)
}

/// A new temporary folder kept until [`remove_downloads`].
fn run_folder() -> Result<PathBuf> {
    let folder = tempfile::Builder::new()
        .prefix("aispend-s3-")
        .tempdir()
        .context("cannot create a temporary folder for S3 sources")?;
    let path = folder.path().to_path_buf();
    DOWNLOADS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(folder);
    Ok(path)
}

/// Removes the downloaded sources; called once when the run ends.
pub fn remove_downloads() {
    DOWNLOADS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
}

/// Uploads bytes to an `s3://bucket/key` URL.
pub fn upload_bytes(url: &str, bytes: &[u8]) -> Result<()> {
    put_url(SdkStore::shared()?, url, bytes)
}

/// The bytes of an `s3://bucket/key` object, `None` when it does not exist.
pub fn read_bytes(url: &str) -> Result<Option<Vec<u8>>> {
    let address = S3Url::parse(url)?;
    SdkStore::shared()?.get(&address.bucket, &address.key)
}

/// Uploads bytes to an object address through a store.
pub fn put_url(store: &dyn ObjectStore, url: &str, bytes: &[u8]) -> Result<()> {
    let address = S3Url::parse(url)?;
    if address.key.is_empty() || address.key.ends_with('/') {
        return Err(hinted(
            format!("cannot write `{url}`: it names a folder, not an object"),
            "give the object's full key, for example `s3://bucket/reports/showback.csv`",
        ));
    }
    tracing::debug!("uploading {} bytes to `{url}`", bytes.len());
    store.put(&address.bucket, &address.key, bytes)
}

/// Downloads what `url` names into `folder` and picks the data files as for a local folder.
///
/// Only JSON objects (manifests) are fetched first; every other object gets an empty
/// placeholder so the manifest logic sees the whole layout, and then only the files it
/// selects are downloaded. A create-new CUR prefix thus costs one assembly, not all.
pub fn download_into(store: &dyn ObjectStore, url: &str, folder: &Path) -> Result<Vec<PathBuf>> {
    let address = S3Url::parse(url)?;
    let listed = store.list(&address.bucket, &address.key)?;
    if let Some(single) = single_object(&listed, &address.key) {
        let name = single.key.rsplit('/').next().unwrap_or("object");
        let path = folder.join(name);
        store.download(&address.bucket, &single.key, &path)?;
        return Ok(vec![path]);
    }
    let prefix = address.join("").key;
    let objects: Vec<&ObjectInfo> =
        listed.iter().filter(|o| o.key.starts_with(&prefix) && !o.key.ends_with('/')).collect();
    if objects.is_empty() {
        return Err(hinted(
            format!("no object under `{url}`"),
            "check the bucket and prefix, and that the credentials may list it",
        ));
    }
    let mut local_of = BTreeMap::new();
    for object in &objects {
        let path = folder.join(relative_path(&object.key[prefix.len()..], &object.key)?);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if object.key.to_ascii_lowercase().ends_with(".json") {
            store.download(&address.bucket, &object.key, &path)?;
        } else {
            std::fs::File::create(&path)?;
        }
        local_of.insert(path, object.key.as_str());
    }
    let files = crate::ingest::manifest::files_of_folder(folder)?;
    let total: u64 = objects
        .iter()
        .filter(|o| files.iter().any(|f| local_of.get(f) == Some(&o.key.as_str())))
        .map(|o| o.size)
        .sum();
    tracing::info!("downloading {} objects ({total} bytes) from `{url}`", files.len());
    for file in &files {
        let Some(key) = local_of.get(file) else { bail!("`{}` was not listed", file.display()) };
        if !key.to_ascii_lowercase().ends_with(".json") {
            store.download(&address.bucket, key, file)?;
        }
    }
    Ok(files)
}

/// The local relative path of a key below the prefix; refuses `..` and absolute parts.
fn relative_path(relative: &str, key: &str) -> Result<PathBuf> {
    let path: PathBuf = relative.split('/').filter(|p| !p.is_empty()).collect();
    let safe = path.components().all(|c| matches!(c, Component::Normal(_)));
    if !safe || path.as_os_str().is_empty() {
        bail!("cannot download the object `{key}`: its key is not a safe file name");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(objects: &[(&str, &[u8])]) -> MemoryStore {
        let store = MemoryStore::default();
        for (key, bytes) in objects {
            store.put("bills", key, bytes).unwrap();
        }
        store
    }

    #[test]
    fn parses_and_joins_addresses() {
        let url = S3Url::parse("s3://bucket/reports/2025-01").unwrap();
        assert_eq!(
            url.join("manifest.json").to_string(),
            "s3://bucket/reports/2025-01/manifest.json"
        );
        let root = S3Url::parse("s3://bucket").unwrap();
        assert_eq!(root.join("a.csv").key, "a.csv");
        assert!(S3Url::parse("s3:///key").is_err());
        assert!(S3Url::parse("/tmp/x").is_err());
    }

    #[test]
    fn cur_prefix_is_read_through_its_latest_manifest() {
        let manifest =
            br#"{"assemblyId": "new", "reportKeys": ["cur/r/20250101-20250201/new/r-1.csv.gz"]}"#;
        let store = store_with(&[
            ("cur/r/20250101-20250201/r-Manifest.json", manifest),
            ("cur/r/20250101-20250201/old/r-1.csv.gz", b"old"),
            ("cur/r/20250101-20250201/new/r-1.csv.gz", b"new"),
            ("cur/r/20250101-20250201/new/r-Manifest.json", manifest),
        ]);
        let folder = tempfile::tempdir().unwrap();
        let files = download_into(&store, "s3://bills/cur/", folder.path()).unwrap();
        assert_eq!(files, [folder.path().join("r/20250101-20250201/new/r-1.csv.gz")]);
        assert_eq!(std::fs::read(&files[0]).unwrap(), b"new");
        // The superseded assembly was never downloaded: it is an empty placeholder.
        let old = folder.path().join("r/20250101-20250201/old/r-1.csv.gz");
        assert_eq!(std::fs::read(old).unwrap(), b"");
    }

    #[test]
    fn one_object_is_one_file() {
        let store = store_with(&[("a/bill.csv", b"x"), ("a/bill.csv.bak", b"y")]);
        let folder = tempfile::tempdir().unwrap();
        let files = download_into(&store, "s3://bills/a/bill.csv", folder.path()).unwrap();
        assert_eq!(files, [folder.path().join("bill.csv")]);
        let missing = download_into(&store, "s3://bills/none/", folder.path()).unwrap_err();
        assert!(missing.to_string().contains("no object under"), "{missing}");
    }

    #[test]
    fn refuses_to_write_a_folder_address() {
        let store = MemoryStore::default();
        assert!(put_url(&store, "s3://bucket/reports/", b"x").is_err());
        put_url(&store, "s3://bucket/reports/a.csv", b"x").unwrap();
        assert_eq!(store.bucket("bucket").keys().collect::<Vec<_>>(), ["reports/a.csv"]);
    }
}
