//! Cost Explorer `GetCostAndUsage` behind the [`CostExplorer`] trait.
//!
//! The request and response are aispend's own plain types, so the code that turns pages
//! into the canonical frame never sees the SDK, and tests drive it with
//! [`ScriptedCostExplorer`]. Amounts stay text here: parsing them exactly, with their unit,
//! is the reader's job (`ingest::cost_explorer`). [`fetch_all`] follows `NextPageToken` to
//! the end by hand (the SDK has no paginator for this operation).

use std::cell::RefCell;
use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity as SdkGranularity, GroupDefinition, GroupDefinitionType, MetricValue,
};
use chrono::NaiveDate;

use crate::error::hinted;

/// Time buckets of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Daily,
    Monthly,
}

impl Granularity {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Daily => "DAILY",
            Granularity::Monthly => "MONTHLY",
        }
    }
}

/// One grouping of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// A tag key, without `user:`; group keys come back as `key$value`.
    Tag(String),
    /// A cost category name; group keys come back as `name$value`.
    CostCategory(String),
    /// A dimension such as `SERVICE`; group keys are the bare value.
    Dimension(String),
}

/// One `GetCostAndUsage` request, without its page token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRequest {
    /// First day, inclusive.
    pub start: NaiveDate,
    /// Day after the last, exclusive.
    pub end: NaiveDate,
    pub granularity: Granularity,
    /// Metric names (`UnblendedCost`, ...).
    pub metrics: Vec<String>,
    /// At most two.
    pub group_by: Vec<GroupBy>,
}

/// An amount as the API gave it: decimal text and its unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amount {
    pub amount: Option<String>,
    pub unit: Option<String>,
}

/// The metrics of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupResult {
    pub keys: Vec<String>,
    pub metrics: BTreeMap<String, Amount>,
}

/// The results of one time bucket on one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodResult {
    /// `YYYY-MM-DD`, inclusive.
    pub start: String,
    /// `YYYY-MM-DD`, exclusive.
    pub end: String,
    /// True while AWS may still change the numbers.
    pub estimated: bool,
    /// Filled when there is no grouping.
    pub total: BTreeMap<String, Amount>,
    pub groups: Vec<GroupResult>,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostPage {
    pub results: Vec<PeriodResult>,
    pub next_page_token: Option<String>,
}

/// Cost Explorer, as far as aispend uses it.
pub trait CostExplorer {
    /// One page of `GetCostAndUsage`.
    fn get_cost_and_usage(
        &self,
        request: &CostRequest,
        page_token: Option<&str>,
    ) -> Result<CostPage>;
}

/// Stops a server that keeps returning tokens from running forever.
const MAX_PAGES: usize = 100_000;

/// Every page of a request, following `NextPageToken` until it is absent.
pub fn fetch_all(client: &dyn CostExplorer, request: &CostRequest) -> Result<Vec<CostPage>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let page = client.get_cost_and_usage(request, token.as_deref()).with_context(|| {
            format!("cannot read page {} of Cost Explorer results", pages.len() + 1)
        })?;
        tracing::debug!(
            "Cost Explorer page {}: {} time periods",
            pages.len() + 1,
            page.results.len()
        );
        token = page.next_page_token.clone().filter(|t| !t.is_empty());
        pages.push(page);
        let Some(next) = &token else { return Ok(pages) };
        if !seen.insert(next.clone()) || pages.len() >= MAX_PAGES {
            bail!(
                "Cost Explorer returned the page token `{next}` twice; stopped after {} pages",
                pages.len()
            );
        }
    }
}

/// The SDK implementation.
pub struct SdkCostExplorer {
    client: aws_sdk_costexplorer::Client,
}

impl SdkCostExplorer {
    /// A client from the run's shared configuration.
    pub fn new() -> Result<SdkCostExplorer> {
        let config = super::sdk_config()?;
        Ok(SdkCostExplorer { client: aws_sdk_costexplorer::Client::new(&config) })
    }
}

impl CostExplorer for SdkCostExplorer {
    fn get_cost_and_usage(
        &self,
        request: &CostRequest,
        page_token: Option<&str>,
    ) -> Result<CostPage> {
        let interval = DateInterval::builder()
            .start(request.start.format("%Y-%m-%d").to_string())
            .end(request.end.format("%Y-%m-%d").to_string())
            .build()?;
        let mut call = self
            .client
            .get_cost_and_usage()
            .time_period(interval)
            .granularity(SdkGranularity::from(request.granularity.as_str()))
            .set_next_page_token(page_token.map(str::to_string));
        for metric in &request.metrics {
            call = call.metrics(metric);
        }
        for group in &request.group_by {
            call = call.group_by(group_definition(group));
        }
        let output = super::block_on(call.send())?.map_err(|error| {
            hinted(
                format!(
                    "Cost Explorer `GetCostAndUsage` failed: {}",
                    super::sdk_error_text(&error)
                ),
                super::CREDENTIALS_HINT,
            )
        })?;
        let results = output
            .results_by_time()
            .iter()
            .map(|result| PeriodResult {
                start: result.time_period().map(|p| p.start().to_string()).unwrap_or_default(),
                end: result.time_period().map(|p| p.end().to_string()).unwrap_or_default(),
                estimated: result.estimated(),
                total: result.total().map(amounts).unwrap_or_default(),
                groups: result
                    .groups()
                    .iter()
                    .map(|group| GroupResult {
                        keys: group.keys().to_vec(),
                        metrics: group.metrics().map(amounts).unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        Ok(CostPage { results, next_page_token: output.next_page_token().map(str::to_string) })
    }
}

/// The SDK's group definition.
fn group_definition(group: &GroupBy) -> GroupDefinition {
    let (kind, key) = match group {
        GroupBy::Tag(key) => (GroupDefinitionType::Tag, key),
        GroupBy::CostCategory(key) => (GroupDefinitionType::CostCategory, key),
        GroupBy::Dimension(key) => (GroupDefinitionType::Dimension, key),
    };
    GroupDefinition::builder().r#type(kind).key(key).build()
}

/// Metric values as plain amounts, sorted by metric name.
fn amounts(metrics: &std::collections::HashMap<String, MetricValue>) -> BTreeMap<String, Amount> {
    metrics
        .iter()
        .map(|(name, value)| {
            let amount = Amount {
                amount: value.amount().map(str::to_string),
                unit: value.unit().map(str::to_string),
            };
            (name.clone(), amount)
        })
        .collect()
}

/// A test double: answers from pages keyed by the token that asks for them (`None` for the
/// first page) and records every call.
#[derive(Debug, Default)]
pub struct ScriptedCostExplorer {
    pub pages: BTreeMap<Option<String>, CostPage>,
    pub calls: RefCell<Vec<(CostRequest, Option<String>)>>,
}

impl ScriptedCostExplorer {
    /// Chains pages: page `i` carries the token `page-{i+2}` when another page follows.
    pub fn chained(pages: Vec<CostPage>) -> ScriptedCostExplorer {
        let count = pages.len();
        let mut scripted = BTreeMap::new();
        for (index, mut page) in pages.into_iter().enumerate() {
            page.next_page_token = (index + 1 < count).then(|| format!("page-{}", index + 2));
            let token = (index > 0).then(|| format!("page-{}", index + 1));
            scripted.insert(token, page);
        }
        ScriptedCostExplorer { pages: scripted, calls: RefCell::new(Vec::new()) }
    }
}

impl CostExplorer for ScriptedCostExplorer {
    fn get_cost_and_usage(
        &self,
        request: &CostRequest,
        page_token: Option<&str>,
    ) -> Result<CostPage> {
        self.calls.borrow_mut().push((request.clone(), page_token.map(str::to_string)));
        let key = page_token.map(str::to_string);
        self.pages.get(&key).cloned().with_context(|| format!("no scripted page for {key:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CostRequest {
        CostRequest {
            start: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2025, 2, 1).unwrap(),
            granularity: Granularity::Daily,
            metrics: vec!["UnblendedCost".into()],
            group_by: vec![GroupBy::Tag("dept".into())],
        }
    }

    #[test]
    fn follows_page_tokens_to_the_end() {
        let pages = vec![CostPage::default(), CostPage::default(), CostPage::default()];
        let client = ScriptedCostExplorer::chained(pages);
        let fetched = fetch_all(&client, &request()).unwrap();
        assert_eq!(fetched.len(), 3);
        let tokens: Vec<Option<String>> =
            client.calls.borrow().iter().map(|(_, token)| token.clone()).collect();
        assert_eq!(tokens, [None, Some("page-2".into()), Some("page-3".into())]);
        assert!(client.calls.borrow().iter().all(|(asked, _)| *asked == request()));
    }

    #[test]
    fn a_token_that_repeats_stops_the_loop() {
        let mut looping = ScriptedCostExplorer::default();
        let page = CostPage { next_page_token: Some("again".into()), ..CostPage::default() };
        looping.pages.insert(None, page.clone());
        looping.pages.insert(Some("again".into()), page);
        let error = fetch_all(&looping, &request()).unwrap_err();
        assert!(error.to_string().contains("`again` twice"), "{error}");
    }
}
