//! What talks to AWS: each service behind a trait, with the SDK implementation and a test
//! double.
//!
//! The SDK clients share one configuration per run, loaded through the standard chain
//! (environment, profiles, SSO, instance roles) with its region (us-east-1 when none is
//! set), the SDK's standard retries, and an endpoint from `--endpoint-url` or the SDK's own
//! `AWS_ENDPOINT_URL` for emulators. Calls run on one current-thread tokio runtime created
//! the first time a client needs it; callers stay synchronous.

pub mod budgets;
pub mod ce;
pub mod s3;

use std::future::Future;
use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Attempts per call, first try included: unattended runs ride out short throttling.
const MAX_ATTEMPTS: u32 = 5;
/// The region used when the chain names none (Cost Explorer lives there anyway).
const DEFAULT_REGION: &str = "us-east-1";

static ENDPOINT_URL: OnceLock<String> = OnceLock::new();
static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
static SDK_CONFIG: OnceLock<SdkConfig> = OnceLock::new();

/// Points every AWS client of this run at `url` (`--endpoint-url`). Call it before the
/// first client is made; `None` keeps the SDK's own resolution (`AWS_ENDPOINT_URL`).
pub fn set_endpoint_url(url: Option<&str>) {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else { return };
    if ENDPOINT_URL.set(url.to_string()).is_err()
        && ENDPOINT_URL.get().map(String::as_str) != Some(url)
    {
        tracing::warn!("ignoring a second endpoint `{url}`: clients already use another one");
    }
}

/// Runs a future to completion on the run's runtime.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(error) => Err(anyhow!("cannot start the runtime for AWS calls: {error}")),
    }
}

/// The shared SDK configuration, loaded once.
pub fn sdk_config() -> Result<SdkConfig> {
    if let Some(config) = SDK_CONFIG.get() {
        return Ok(config.clone());
    }
    let config = block_on(load_config())?;
    Ok(SDK_CONFIG.get_or_init(|| config).clone())
}

/// Loads the configuration through the standard chain.
async fn load_config() -> SdkConfig {
    let region = RegionProviderChain::default_provider().or_else(DEFAULT_REGION);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(url) = ENDPOINT_URL.get() {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The text of an SDK error with its causes (the SDK's `Display` alone says little).
pub fn describe_error<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The text of a failed SDK call: the service's error code and message when it answered,
/// else the error with its causes (no response, no credentials, a timeout).
pub fn sdk_error_text<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(service) = error.as_service_error() {
        match (service.code(), service.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_string(),
            _ => {}
        }
    }
    describe_error(error)
}

/// The hint for failed AWS calls.
pub const CREDENTIALS_HINT: &str = "check the credentials and region (`AWS_PROFILE`, \
    `AWS_REGION`, `aws sso login`), or `--endpoint-url` / `AWS_ENDPOINT_URL` for an emulator";
