//! `aispend query "SQL"`: SQL over the canonical frames.
//!
//! Tables: `costs` (bill sources), `requests` (gateway logs), `metrics` (business metrics),
//! each registered when its sources are given and kept to the period; and `prices`, the
//! price book, and `allocations` (effective basis), when the query names them.

use anyhow::{Context as _, Result};
use polars::prelude::{IntoLazy as _, LazyFrame, col, lit};
use polars::sql::SQLContext;

use crate::cli::QueryArgs;
use crate::commands::load::Inputs;
use crate::enrich::prices::PriceBook;
use crate::error::hinted;
use crate::output::{self, TableSpec};
use crate::settings::{Period, Settings};

/// Runs the command: registers every frame whose sources are given.
pub fn run(settings: &Settings, args: &QueryArgs) -> Result<()> {
    check_read_only(&args.sql)?;
    let inputs = Inputs::load(settings, &[])?;
    let mut context = SQLContext::new();
    let mut tables = 0;
    if args.sql.to_ascii_lowercase().contains("allocations") && inputs.costs.is_some() {
        let attributed = crate::commands::attribution::attribute(
            settings,
            &inputs,
            crate::cli::Basis::Effective,
        )?;
        let frame = crate::allocate::to_frame(
            &attributed.allocations,
            &attributed.units,
            &attributed.keys,
            "effective",
        )?;
        context.register("allocations", frame.lazy());
        tables += 1;
    }
    if let Some(costs) = inputs.costs {
        context.register("costs", crate::report::showback::filter_period(costs, &settings.period));
        tables += 1;
    }
    if let Some(requests) = inputs.requests {
        let frame = crate::ingest::gateway::filter_period(requests.frame.lazy(), &settings.period);
        context.register("requests", frame);
        tables += 1;
    }
    if let Some(metrics) = inputs.metrics {
        context.register("metrics", metrics_in_period(metrics.lazy(), &settings.period));
        tables += 1;
    }
    if args.sql.to_ascii_lowercase().contains("prices") {
        context.register("prices", PriceBook::load(&settings.config)?.frame()?.lazy());
        tables += 1;
    }
    if tables == 0 {
        return Err(hinted(
            "no table to query",
            "pass `--cur`, `--focus`, `--gateway` or `--metrics`, or list `[sources]` in aispend.toml",
        ));
    }
    check_supported(&args.sql)?;
    let registered = context.get_tables();
    let result = context.execute(&args.sql).and_then(polars::prelude::LazyFrame::collect);
    let result = result
        .map_err(|error| {
            let names = registered.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>();
            let hint = format!(
                "the tables of this run are {}; `costs` needs `--cur`/`--focus`, `requests` \
                 `--gateway` and `metrics` `--metrics`",
                names.join(", ")
            );
            // The engine's message, without the query plan it appends.
            let text = error.to_string();
            let message = text.lines().next().unwrap_or_default().trim().to_string();
            anyhow::Error::new(crate::error::Hinted { message, hint })
        })
        .with_context(|| format!("cannot run the query `{}`", args.sql))?;
    output::emit(&result, &settings.global, &TableSpec::default())
}

/// Refuses what the SQL engine would answer wrongly: an aggregate of an aggregate over a
/// window (`SUM(SUM(x)) OVER ()`) gives each group's own sum, not the grand total.
fn check_supported(sql: &str) -> Result<()> {
    let nested = regex::Regex::new(
        r"(?is)\b(sum|avg|min|max|count)\s*\(\s*(sum|avg|min|max|count)\s*\([^()]*\)\s*\)\s*over\b",
    )
    .map_err(anyhow::Error::new)?;
    if nested.is_match(sql) {
        return Err(hinted(
            "an aggregate of an aggregate over a window (`SUM(SUM(x)) OVER ()`) would give each \
             group's own sum, not the total",
            "sum the groups in a `WITH` clause first: `WITH t AS (SELECT service_name, \
             SUM(billed_cost) AS b FROM costs GROUP BY 1) SELECT *, SUM(b) OVER () FROM t`",
        ));
    }
    Ok(())
}

/// Only one `SELECT` (or `WITH ... SELECT`) statement: the frames are read, never changed.
fn check_read_only(sql: &str) -> Result<()> {
    let text = without_leading_comments(sql).trim_end_matches(';').trim();
    let first = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if text.is_empty() || !["SELECT", "WITH", "("].iter().any(|w| first.starts_with(w)) {
        return Err(hinted(
            format!("`{}` is not a query", sql.trim()),
            "write one `SELECT` statement, for example `SELECT dept, SUM(billed_cost) FROM costs \
             GROUP BY dept`",
        ));
    }
    Ok(())
}

/// The SQL after the `-- line` and `/* block */` comments that open it.
fn without_leading_comments(sql: &str) -> &str {
    let mut text = sql.trim_start();
    loop {
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, after)| after).trim_start();
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, after)| after).trim_start();
        } else {
            return text;
        }
    }
}

/// Metrics whose day falls in the period.
fn metrics_in_period(frame: LazyFrame, period: &Period) -> LazyFrame {
    let Some((start, end)) = period.bounds() else { return frame };
    let day = |instant: chrono::DateTime<chrono::Utc>| {
        lit(instant.date_naive().format("%Y-%m-%d").to_string())
            .cast(polars::prelude::DataType::Date)
    };
    let date = crate::model::metrics::DATE;
    frame.filter(col(date).gt_eq(day(start)).and(col(date).lt(day(end))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_may_open_a_query_but_only_a_query_runs() {
        assert!(check_read_only("-- January\nSELECT 1").is_ok());
        assert!(check_read_only("/* by dept */ WITH t AS (SELECT 1) SELECT * FROM t").is_ok());
        assert!(check_read_only("-- only a comment").is_err());
        assert!(check_read_only("/* sneaky */ DROP TABLE costs").is_err());
        assert!(check_read_only("DELETE FROM costs").is_err());
    }

    #[test]
    fn a_windowed_aggregate_of_an_aggregate_is_refused() {
        let wrong = "SELECT s, SUM(b), SUM(SUM(b)) OVER () FROM costs GROUP BY s";
        assert!(check_supported(wrong).is_err());
        assert!(check_supported("select s, sum( count(*) ) over (partition by s) from t").is_err());
        let right = "WITH t AS (SELECT s, SUM(b) AS b FROM costs GROUP BY s) SELECT *, SUM(b) OVER () FROM t";
        assert!(check_supported(right).is_ok());
    }
}
