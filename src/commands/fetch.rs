//! `aispend fetch`: Cost Explorer `GetCostAndUsage` into Parquet in the canonical `costs`
//! shape, which `showback`, `chargeback` and `query` read with `--ce PATH`.
//!
//! The period is `--month` or `--from/--to` (the API's end day is exclusive, so January
//! 2025 asks for 2025-01-01 to 2025-02-01), or the month to date by default. A period that
//! reaches past today stops at today; one that starts today (the month to date on the 1st)
//! has no complete day yet, so the command makes no call and says so.

use anyhow::Result;
use chrono::{Datelike as _, NaiveDate, Utc};

use crate::aws::ce::{self, CostExplorer, CostRequest, Granularity, GroupBy};
use crate::cli::{FetchArgs, Format};
use crate::enrich::taxonomy::{TagPlan, canonical_key};
use crate::error::hinted;
use crate::ingest::cost_explorer::{self, Summary, names};
use crate::output::{self, TableSpec};
use crate::settings::{Period, Settings, parse_day};

/// Dimensions Cost Explorer accepts in `GroupBy`.
const GROUP_DIMENSIONS: [&str; 13] = [
    "AZ",
    "INSTANCE_TYPE",
    "LEGAL_ENTITY_NAME",
    "INVOICING_ENTITY",
    "LINKED_ACCOUNT",
    "OPERATION",
    "PLATFORM",
    "PURCHASE_TYPE",
    "SERVICE",
    "TENANCY",
    "RECORD_TYPE",
    "USAGE_TYPE",
    "REGION",
];

/// Runs the command.
pub fn run(settings: &Settings, args: &FetchArgs) -> Result<()> {
    let today = match &args.today {
        Some(day) => parse_day(day, "--today")?.date_naive(),
        None => Utc::now().date_naive(),
    };
    crate::aws::set_endpoint_url(args.endpoint_url.as_deref());
    let client = ce::SdkCostExplorer::new()?;
    run_with(settings, args, today, &client).map(|_| ())
}

/// The command with its client and date given; returns the output address, or `None`
/// when there was nothing to fetch.
pub fn run_with(
    settings: &Settings,
    args: &FetchArgs,
    today: NaiveDate,
    client: &dyn CostExplorer,
) -> Result<Option<String>> {
    let Some((start, end)) = request_days(&settings.period, today)? else {
        tracing::warn!(
            "nothing to fetch: the month to date has no complete day on `{today}`; \
             no Cost Explorer call was made"
        );
        return Ok(None);
    };
    let request = build_request(args, start, end)?;
    let out = args_out(settings, start);
    fetch_to(client, &request, settings, &out)?;
    Ok(Some(out))
}

/// Fetches every page, converts and writes; separate from [`run`] for the test double.
pub fn fetch_to(
    client: &dyn CostExplorer,
    request: &CostRequest,
    settings: &Settings,
    out: &str,
) -> Result<()> {
    tracing::info!(
        "asking Cost Explorer for {} to {} (end exclusive), {}",
        request.start,
        request.end,
        request.granularity.as_str()
    );
    let pages = ce::fetch_all(client, request)?;
    let plan = TagPlan::new(&settings.config, &group_tag_keys(request));
    let (mut frame, summary) = cost_explorer::to_costs(&pages, request, &plan)?;
    report(&summary);
    let format = match settings.global.format {
        Some(format) => format,
        None if out.to_ascii_lowercase().ends_with(".csv") => Format::Csv,
        None if out.to_ascii_lowercase().ends_with(".json") => Format::Json,
        None => Format::Parquet,
    };
    frame.rechunk_mut();
    let bytes = output::render(&frame, format, &TableSpec::default())?;
    output::write_target(out, &bytes)?;
    tracing::info!("wrote {} rows to `{out}`", frame.height());
    Ok(())
}

/// The `[start, end)` days to ask for, or `None` when the period has no complete day yet.
pub fn request_days(period: &Period, today: NaiveDate) -> Result<Option<(NaiveDate, NaiveDate)>> {
    let (start, end) = match period.bounds() {
        Some((start, end)) => (start.date_naive(), end.date_naive()),
        None => (today.with_day(1).unwrap_or(today), today),
    };
    if start > today {
        return Err(hinted(
            format!("the period starts on `{start}`, after today (`{today}`)"),
            "pick a month or days that have begun; `--today` sets the run's date",
        ));
    }
    let end = end.min(today);
    Ok((start < end).then_some((start, end)))
}

/// The request from the flags.
pub fn build_request(args: &FetchArgs, start: NaiveDate, end: NaiveDate) -> Result<CostRequest> {
    let granularity = match args.granularity.to_ascii_lowercase().as_str() {
        "daily" => Granularity::Daily,
        "monthly" => Granularity::Monthly,
        other => {
            return Err(hinted(
                format!("`--granularity {other}` is not known"),
                "use `daily` or `monthly`",
            ));
        }
    };
    let group_by: Vec<GroupBy> = args
        .group_by
        .iter()
        .filter(|g| !g.trim().is_empty())
        .map(|g| parse_group_by(g))
        .collect::<Result<_>>()?;
    if group_by.len() > 2 {
        return Err(hinted(
            format!("{} groupings asked for; Cost Explorer takes at most two", group_by.len()),
            "keep two of the `--group-by` values",
        ));
    }
    Ok(CostRequest { start, end, granularity, metrics: metric_list(&args.metrics_list)?, group_by })
}

/// `tag:KEY`, `cost_category:NAME` or a dimension.
pub fn parse_group_by(text: &str) -> Result<GroupBy> {
    let text = text.trim();
    if let Some((kind, key)) = text.split_once(':') {
        let key = key.trim();
        let kind = kind.trim().to_ascii_lowercase();
        if !key.is_empty() {
            match kind.as_str() {
                "tag" => return Ok(GroupBy::Tag(key.trim_start_matches("user:").to_string())),
                "cost_category" | "costcategory" => {
                    return Ok(GroupBy::CostCategory(key.to_string()));
                }
                _ => {}
            }
        }
    } else {
        let dimension = text.to_ascii_uppercase();
        if GROUP_DIMENSIONS.contains(&dimension.as_str()) {
            return Ok(GroupBy::Dimension(dimension));
        }
    }
    Err(hinted(
        format!("`--group-by {text}` is not a grouping Cost Explorer knows"),
        format!(
            "use `tag:KEY`, `cost_category:NAME` or one of the dimensions {}",
            GROUP_DIMENSIONS.join(", ")
        ),
    ))
}

/// The metrics to ask for: the asked ones, plus the two every canonical row needs.
fn metric_list(asked: &[String]) -> Result<Vec<String>> {
    let mut list = vec![names::UNBLENDED_COST.to_string(), names::AMORTIZED_COST.to_string()];
    for metric in asked.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
        let Some(known) = names::ALL.iter().find(|n| n.eq_ignore_ascii_case(metric)) else {
            return Err(hinted(
                format!("`--metrics-list {metric}` is not a metric aispend reads"),
                format!("use some of {}", names::ALL.join(", ")),
            ));
        };
        if !list.iter().any(|m| m == known) {
            list.push((*known).to_string());
        }
    }
    Ok(list)
}

/// Canonical keys of the tag and cost category groupings: owner columns of the output.
fn group_tag_keys(request: &CostRequest) -> Vec<String> {
    request
        .group_by
        .iter()
        .filter_map(|group| match group {
            GroupBy::Tag(key) | GroupBy::CostCategory(key) => Some(canonical_key(key)),
            GroupBy::Dimension(_) => None,
        })
        .collect()
}

/// `--out`, else `reports/ce-<period>.parquet`.
fn args_out(settings: &Settings, start: NaiveDate) -> String {
    if let Some(out) = &settings.global.out {
        return out.clone();
    }
    let label = match &settings.period {
        Period::All => format!("{:04}-{:02}", start.year(), start.month()),
        period => period.label(),
    };
    format!("reports/ce-{label}.parquet")
}

/// Counts, totals and warnings on stderr.
fn report(summary: &Summary) {
    tracing::info!(
        "Cost Explorer: {} pages, {} rows over {} time periods",
        summary.pages,
        summary.rows,
        summary.periods
    );
    if summary.rows == 0 {
        tracing::warn!(
            "Cost Explorer returned no cost for the period; check the account, the dates and \
             that Cost Explorer is enabled"
        );
    }
    for (currency, (billed, effective)) in &summary.totals {
        tracing::info!("billed cost {billed} {currency}, effective cost {effective} {currency}");
    }
    if summary.estimated_periods > 0 {
        tracing::warn!(
            "{} of {} time periods are estimated by AWS; their rows are marked provisional",
            summary.estimated_periods,
            summary.periods
        );
    }
    if let Some((period, group, first, again)) = &summary.first_duplicate {
        tracing::warn!(
            "Cost Explorer returned {} (period, group) pairs on more than one page; each was \
             counted once (the first: period `{period}`, group `{group}`, pages {first} and \
             {again})",
            summary.duplicates
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ce::{Amount, CostPage, GroupResult, PeriodResult, ScriptedCostExplorer};
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// Settings and fetch flags from a command line, with an empty configuration.
    fn parse(folder: &std::path::Path, flags: &[&str]) -> (Settings, FetchArgs) {
        let config = folder.join("aispend.toml");
        std::fs::write(&config, "").unwrap();
        let mut line = vec!["aispend", "fetch", "--config", config.to_str().unwrap()];
        line.extend_from_slice(flags);
        let cli = Cli::try_parse_from(line).unwrap();
        let Command::Fetch(args) = cli.command else { panic!("not fetch") };
        (Settings::resolve(&cli.global).unwrap(), args)
    }

    /// One page with a `dept$sales` group of 1 USD on every day of `[start, end)`.
    fn daily_page(start: NaiveDate, end: NaiveDate) -> CostPage {
        let amount = Amount { amount: Some("1".into()), unit: Some("USD".into()) };
        let metrics: std::collections::BTreeMap<String, Amount> =
            [names::UNBLENDED_COST, names::AMORTIZED_COST]
                .into_iter()
                .map(|m| (m.to_string(), amount.clone()))
                .collect();
        let results = start
            .iter_days()
            .take_while(|d| *d < end)
            .map(|d| PeriodResult {
                start: d.to_string(),
                end: d.succ_opt().unwrap().to_string(),
                groups: vec![GroupResult {
                    keys: vec!["dept$sales".into()],
                    metrics: metrics.clone(),
                }],
                ..PeriodResult::default()
            })
            .collect();
        CostPage { results, next_page_token: None }
    }

    #[test]
    fn january_asks_for_the_first_of_february_and_gets_31_days() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("ce.parquet");
        let (settings, args) = parse(
            folder.path(),
            &["--month", "2025-01", "--group-by", "tag:dept", "--out", out.to_str().unwrap()],
        );
        let client =
            ScriptedCostExplorer::chained(vec![daily_page(day("2025-01-01"), day("2025-02-01"))]);
        run_with(&settings, &args, day("2025-03-15"), &client).unwrap();
        let calls = client.calls.borrow();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].0.start, calls[0].0.end), (day("2025-01-01"), day("2025-02-01")));
        let frame = crate::ingest::parquet::scan(out.to_str().unwrap()).unwrap().collect().unwrap();
        let days =
            frame.column(crate::model::costs::CHARGE_PERIOD_START).unwrap().n_unique().unwrap();
        assert_eq!((frame.height(), days), (31, 31));
    }

    #[test]
    fn month_to_date_on_the_first_makes_no_call() {
        let folder = tempfile::tempdir().unwrap();
        let (settings, args) = parse(folder.path(), &["--out", "never.parquet"]);
        let client = ScriptedCostExplorer::default();
        assert_eq!(run_with(&settings, &args, day("2025-03-01"), &client).unwrap(), None);
        assert!(client.calls.borrow().is_empty());
        assert!(!std::path::Path::new("never.parquet").exists());
        // On the 2nd the month to date is one whole day: [03-01, 03-02).
        assert_eq!(
            request_days(&settings.period, day("2025-03-02")).unwrap(),
            Some((day("2025-03-01"), day("2025-03-02")))
        );
    }

    #[test]
    fn the_current_month_stops_at_today_and_the_future_is_refused() {
        let january = Period::month("2025-01").unwrap();
        assert_eq!(
            request_days(&january, day("2025-01-20")).unwrap(),
            Some((day("2025-01-01"), day("2025-01-20")))
        );
        assert_eq!(request_days(&january, day("2025-01-01")).unwrap(), None);
        assert!(request_days(&january, day("2024-12-31")).is_err());
    }

    #[test]
    fn groupings_and_metrics_are_checked() {
        assert_eq!(parse_group_by("tag:user:Dept").unwrap(), GroupBy::Tag("Dept".into()));
        assert_eq!(
            parse_group_by("cost_category:Team").unwrap(),
            GroupBy::CostCategory("Team".into())
        );
        assert_eq!(parse_group_by("service").unwrap(), GroupBy::Dimension("SERVICE".into()));
        assert!(parse_group_by("colour").is_err());
        assert!(parse_group_by("tag:").is_err());
        let list = metric_list(&["usagequantity".into(), "UnblendedCost".into()]).unwrap();
        assert_eq!(list, [names::UNBLENDED_COST, names::AMORTIZED_COST, names::USAGE_QUANTITY]);
        assert!(metric_list(&["BlendedCost".into()]).is_err());
    }
}
