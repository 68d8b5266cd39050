//! S3 sources and outputs.

use std::path::PathBuf;

use anyhow::Result;

use crate::error::hinted;

/// Downloads the objects of an `s3://bucket/prefix/` source into a local folder.
pub fn download_source(url: &str) -> Result<Vec<PathBuf>> {
    // TODO(#4): read S3 sources through aws-sdk-s3.
    Err(hinted(
        format!("cannot read `{url}`: S3 sources are not supported yet"),
        "copy the files locally first",
    ))
}

/// Uploads bytes to an `s3://bucket/key` URL.
pub fn upload_bytes(url: &str, _bytes: &[u8]) -> Result<()> {
    // TODO(#4): write S3 outputs through aws-sdk-s3.
    Err(hinted(
        format!("cannot write `{url}`: S3 outputs are not supported yet"),
        "write to a local path",
    ))
}
