//! Gateway requests as plain rows for the reports that walk them one by one (denial of
//! wallet, retry loops, lifecycle).
//!
//! The cost of a request is its `priced_cost` (from the price book) and, when the model has
//! no price, the gateway's own `logged_cost`; a request with neither is unpriced and carries
//! `None`. A request failed when its status is present and is not a success (`success`,
//! `ok`, `completed` or an HTTP 2xx code); a request without a status succeeded.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Timelike as _, Utc};
use polars::prelude::*;

use crate::model::requests;
use crate::money::Money;
use crate::report::frames;

/// One gateway request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub start: Option<DateTime<Utc>>,
    /// The day of `start` in the run's time zone.
    pub day: Option<NaiveDate>,
    /// The hour of `start` in the run's time zone.
    pub hour: u32,
    pub api_key: Option<String>,
    pub user: Option<String>,
    pub end_user: Option<String>,
    pub model: Option<String>,
    pub failed: bool,
    pub attempt: Option<i64>,
    pub cache_hit: bool,
    pub prompt_hash: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub max_tokens: Option<i64>,
    /// Priced cost, else logged cost, else `None` (unpriced).
    pub cost: Option<Money>,
    /// Owner values in the order of the keys asked for, nulls as `__unallocated__`.
    pub owners: Vec<String>,
}

impl Request {
    /// Input, output and cache tokens (reasoning tokens are not added: `OpenAI` counts them
    /// inside the output already).
    pub fn tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// True when a status means success.
pub fn is_success(status: &str) -> bool {
    let status = status.trim().to_ascii_lowercase();
    matches!(status.as_str(), "success" | "ok" | "completed" | "succeeded" | "")
        || (status.len() == 3 && status.starts_with('2') && status.parse::<u16>().is_ok())
}

/// Reads every request of a canonical `requests` frame.
pub fn read(frame: &DataFrame, keys: &[String], tz: chrono_tz::Tz) -> Result<Vec<Request>> {
    let text = |name: &str| frames::strings(frame, name);
    let count = |name: &str| frames::ints(frame, name);
    let ids = text(requests::REQUEST_ID)?;
    let traces = text(requests::TRACE_ID)?;
    let starts = frames::instants(frame, requests::START_TIME)?;
    let keys_column = text(requests::API_KEY)?;
    let users = text(requests::USER)?;
    let end_users = text(requests::END_USER)?;
    let models = text(requests::MODEL)?;
    let statuses = text(requests::STATUS)?;
    let attempts = count(requests::ATTEMPT)?;
    let hits = frames::bools(frame, requests::CACHE_HIT)?;
    let hashes = text(requests::PROMPT_HASH)?;
    let input = count(requests::INPUT_TOKENS)?;
    let output = count(requests::OUTPUT_TOKENS)?;
    let cache_read = count(requests::CACHE_READ_TOKENS)?;
    let cache_write = count(requests::CACHE_WRITE_TOKENS)?;
    let max_tokens = count(requests::MAX_TOKENS)?;
    let priced = frames::moneys(frame, requests::PRICED_COST)?;
    let logged = frames::moneys(frame, requests::LOGGED_COST)?;
    let owners = frames::owners(frame, keys)?;
    let mut rows = Vec::with_capacity(frame.height());
    for row in 0..frame.height() {
        let start = starts[row];
        rows.push(Request {
            request_id: ids[row].clone(),
            trace_id: traces[row].clone().filter(|t| !t.is_empty()),
            start,
            day: start.map(|s| frames::day_in(s, tz)),
            hour: start.map_or(0, |s| s.with_timezone(&tz).hour()),
            api_key: keys_column[row].clone().filter(|k| !k.is_empty()),
            user: users[row].clone().filter(|u| !u.is_empty()),
            end_user: end_users[row].clone().filter(|u| !u.is_empty()),
            model: models[row].clone(),
            failed: statuses[row].as_deref().is_some_and(|s| !is_success(s)),
            attempt: attempts[row],
            cache_hit: hits[row].unwrap_or(false),
            prompt_hash: hashes[row].clone().filter(|h| !h.is_empty()),
            input_tokens: input[row].unwrap_or(0),
            output_tokens: output[row].unwrap_or(0),
            cache_read_tokens: cache_read[row].unwrap_or(0),
            cache_write_tokens: cache_write[row].unwrap_or(0),
            max_tokens: max_tokens[row].filter(|m| *m > 0),
            // A gateway logs 0 for a model it cannot price: without a price of ours, a
            // logged zero for a request that used tokens (and was not a cache hit) is unpriced.
            cost: priced[row].or_else(|| {
                let tokens = input[row].unwrap_or(0) + output[row].unwrap_or(0);
                let hit = hits[row].unwrap_or(false);
                logged[row].filter(|cost| !cost.is_zero() || tokens == 0 || hit)
            }),
            owners: owners[row].clone(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_that_mean_success() {
        for status in ["success", "OK", "200", "204", ""] {
            assert!(is_success(status), "{status}");
        }
        for status in ["failure", "error", "429", "500", "timeout"] {
            assert!(!is_success(status), "{status}");
        }
    }
}
