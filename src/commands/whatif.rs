//! `aispend whatif route|route-at-hard-limit|cache|throttle`: the period's gateway requests
//! re-priced under a scenario. Each table states its assumption in an `assumption` column
//! (throttle on stderr); unpriced requests are counted in their own column.

use anyhow::Result;
use chrono::Duration;
use polars::prelude::*;

use crate::cli::WhatifCommand;
use crate::commands::load::Inputs;
use crate::enrich::prices::PriceBook;
use crate::enrich::taxonomy::{canonical_key, canonical_value};
use crate::error::hinted;
use crate::ingest::builder::money_column;
use crate::money::Money;
use crate::output::{self, TableSpec};
use crate::report::ledger::{self, RequestPricer, RequestRow, SCOPE_API_KEY, SCOPE_USER, Scope};
use crate::report::whatif;
use crate::settings::Settings;

/// Runs a `whatif` subcommand.
pub fn run(settings: &Settings, command: &WhatifCommand) -> Result<()> {
    let rows = period_rows(settings)?;
    let pricer = PriceBook::load(&settings.config)?;
    let frame = scenario(command, rows, settings, &pricer)?;
    output::emit(&frame, &settings.global, &TableSpec::default())
}

/// A route to a model without a price would price nothing: a mistake (a typo in a model
/// id), not a saving of zero. A route from a model no request used moves nothing, which may
/// be true of a month, so it only warns, naming the models the requests did use.
fn check_models(
    rows: &[RequestRow],
    from: &str,
    to: &str,
    pricer: &dyn RequestPricer,
) -> Result<()> {
    let Some(first) = rows.iter().find(|r| r.model == from) else {
        let mut used: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
        used.sort_unstable();
        used.dedup();
        let shown: Vec<String> = used.iter().take(8).map(|m| format!("`{m}`")).collect();
        let shown = if shown.is_empty() { "none".to_string() } else { shown.join(", ") };
        tracing::warn!("no request in scope used `--from {from}`; the models used are {shown}");
        return Ok(());
    };
    if pricer.price(to, first.at, 1, 1, 0, 0).is_none() {
        return Err(crate::error::hinted(
            format!("`--to {to}` has no price in the price book"),
            "check the model id, or add it under `[[prices.override]]` in aispend.toml",
        ));
    }
    Ok(())
}

/// The table of one scenario over the period's requests.
fn scenario(
    command: &WhatifCommand,
    rows: Vec<RequestRow>,
    settings: &Settings,
    pricer: &dyn RequestPricer,
) -> Result<DataFrame> {
    Ok(match command {
        WhatifCommand::Route { from, to, scope, output_factor } => {
            let scope = parse_scope(scope, settings)?;
            let factor = per_mille(*output_factor)?;
            let rows: Vec<RequestRow> = rows.into_iter().filter(|r| scope.matches(r)).collect();
            check_models(&rows, from, to, pricer)?;
            let outcome = whatif::route(&rows, from, to, factor, pricer);
            route_frame(from, to, &scope, &outcome, *output_factor)?
        }
        WhatifCommand::RouteAtHardLimit { output_factor } => {
            let factor = per_mille(*output_factor)?;
            let mut replays = Vec::new();
            for budget in &settings.config.budgets {
                let scope = Scope::of_budget(budget, &settings.config)?;
                let critical = &settings.config.critical.apps;
                replays.extend(whatif::route_at_hard_limit(
                    &rows, budget, &scope, critical, factor, pricer,
                ));
            }
            if replays.is_empty() {
                return Err(hinted(
                    "no budget has a `route` action at its hard limit",
                    "set `action = { kind = \"route\", from = \"...\", to = \"...\" }` on a budget",
                ));
            }
            replay_frame(&replays, *output_factor)?
        }
        WhatifCommand::Cache { ttl, prompt_cache_hit_rate } => {
            if !(0.0..=1.0).contains(prompt_cache_hit_rate) {
                return Err(hinted(
                    format!("`--prompt-cache-hit-rate {prompt_cache_hit_rate}` is not a rate"),
                    "give a fraction between 0 and 1, such as 0.5",
                ));
            }
            let seconds = i64::try_from(*ttl).unwrap_or(i64::MAX);
            let exact = whatif::exact_repeat_cache(&rows, Duration::seconds(seconds));
            #[allow(clippy::cast_possible_truncation)]
            let basis_points = (prompt_cache_hit_rate * 10_000.0).round() as i64;
            let prompt = whatif::prompt_cache(&rows, basis_points, pricer);
            cache_frame(&exact, &prompt, *ttl, *prompt_cache_hit_rate)?
        }
        WhatifCommand::Throttle { rpm } => {
            tracing::info!(
                "assumption: per API key and UTC clock minute, requests after the first {rpm} \
                 are delayed, not dropped; their spend is what the limit holds back"
            );
            throttle_frame(&whatif::throttle(&rows, *rpm))?
        }
    })
}

/// The gateway requests of the period, in time order.
fn period_rows(settings: &Settings) -> Result<Vec<RequestRow>> {
    if settings.gateway_sources().is_empty() {
        return Err(hinted(
            "`whatif` needs gateway logs",
            "pass `--gateway PATH` or set `[sources] gateway` in the configuration",
        ));
    }
    let inputs = Inputs::load(settings, &[])?;
    let Some(requests) = &inputs.requests else {
        return Err(hinted("no gateway requests were read", "check `--gateway`"));
    };
    let rows = ledger::request_rows(&requests.frame, &inputs.plan.names())?;
    Ok(match settings.period.bounds() {
        Some((start, end)) => ledger::within(&rows, start, end),
        None => rows,
    })
}

/// `--output-factor` as a whole number per mille.
fn per_mille(factor: f64) -> Result<i64> {
    if !(factor.is_finite() && factor > 0.0 && factor <= 100.0) {
        return Err(hinted(
            format!("`--output-factor {factor}` is not a multiple"),
            "give a positive number such as 1.3",
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok((factor * 1000.0).round() as i64)
}

/// `--scope key=value` flags as a scope (taxonomy values canonical, keys and users as given).
fn parse_scope(pairs: &[String], settings: &Settings) -> Result<Scope> {
    let normalize = settings.config.taxonomy.normalize_values;
    let mut parsed = Vec::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(hinted(
                format!("`--scope {pair}` is not `key=value`"),
                "write the owner as `dept=sales` (repeat `--scope` for more keys)",
            ));
        };
        let key = canonical_key(key);
        let value = if key == SCOPE_API_KEY || key == SCOPE_USER {
            value.trim().to_string()
        } else {
            canonical_value(value, normalize).unwrap_or_default()
        };
        parsed.push((key, value));
    }
    Ok(Scope::from_pairs(&parsed))
}

/// `1.3` without trailing zeros, for assumption texts.
fn factor_text(factor: f64) -> String {
    let text = format!("{factor:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The `route` table: one row.
fn route_frame(
    from: &str,
    to: &str,
    scope: &Scope,
    outcome: &whatif::RouteOutcome,
    factor: f64,
) -> Result<DataFrame> {
    let money = |name: &str, value: Money| money_column(name, std::iter::once(Some(value)));
    let assumption = format!(
        "output length differs between models: low keeps each request's output tokens on \
         `{to}`, high multiplies them by {}; input and cache tokens are kept; unpriced \
         requests are left out of every amount",
        factor_text(factor)
    );
    Ok(DataFrame::new_infer_height(vec![
        Column::new("from_model".into(), [from]),
        Column::new("to_model".into(), [to]),
        Column::new("scope".into(), [scope.label()]),
        Column::new("requests".into(), [outcome.requests]),
        Column::new("unpriced_requests".into(), [outcome.unpriced]),
        money("current_cost", outcome.current),
        money("routed_cost_low", outcome.routed_low),
        money("routed_cost_high", outcome.routed_high),
        money("saving_low", outcome.saving_low()),
        money("saving_high", outcome.saving_high()),
        Column::new("assumption".into(), [assumption]),
    ])?)
}

/// The `route-at-hard-limit` table: one row per budget with a `route` action.
fn replay_frame(replays: &[whatif::HardLimitReplay], factor: f64) -> Result<DataFrame> {
    let text = |get: &dyn Fn(&whatif::HardLimitReplay) -> Option<String>| {
        Column::new("".into(), replays.iter().map(get).collect::<Vec<_>>())
    };
    let named = |name: &str, column: Column| column.with_name(name.into());
    let money = |name: &str, get: &dyn Fn(&whatif::HardLimitReplay) -> Money| {
        money_column(name, replays.iter().map(|r| Some(get(r))))
    };
    let count = |name: &str, get: &dyn Fn(&whatif::HardLimitReplay) -> u64| {
        Column::new(name.into(), replays.iter().map(get).collect::<Vec<u64>>())
    };
    let assumption = format!(
        "from the first request after the running spend reaches the hard limit, the scope's \
         non-critical requests of the route's model go to the cheaper one until the period \
         resets; low keeps output tokens, high multiplies them by {}",
        factor_text(factor)
    );
    Ok(DataFrame::new_infer_height(vec![
        named("budget", text(&|r| Some(r.budget.clone()))),
        named("scope", text(&|r| Some(r.scope.clone()))),
        named("from_model", text(&|r| Some(r.from.clone()))),
        named("to_model", text(&|r| Some(r.to.clone()))),
        money("hard_limit", &|r| r.hard_limit),
        named("switch_day", text(&|r| r.switch_day.map(|d| d.to_string()))),
        count("requests", &|r| r.requests),
        count("routed_requests", &|r| r.routed_requests),
        count("unpriced_requests", &|r| r.unpriced),
        money("actual_cost", &|r| r.actual),
        money("replayed_cost_low", &|r| r.replayed_low),
        money("replayed_cost_high", &|r| r.replayed_high),
        money("saving_low", &|r| r.actual - r.replayed_high),
        money("saving_high", &|r| r.actual - r.replayed_low),
        Column::new("assumption".into(), vec![assumption; replays.len()]),
    ])?)
}

/// The `cache` table: the exact-repeat cache and provider prompt caching.
fn cache_frame(
    exact: &whatif::CacheOutcome,
    prompt: &whatif::CacheOutcome,
    ttl: u64,
    hit_rate: f64,
) -> Result<DataFrame> {
    let both = [exact, prompt];
    let money = |name: &str, get: &dyn Fn(&whatif::CacheOutcome) -> Money| {
        money_column(name, both.iter().map(|o| Some(get(o))))
    };
    let count = |name: &str, get: &dyn Fn(&whatif::CacheOutcome) -> u64| {
        Column::new(name.into(), both.iter().map(|o| get(o)).collect::<Vec<u64>>())
    };
    let assumptions = [
        format!(
            "a repeat of the same model and prompt hash within {ttl} s of the response being \
             cached is served from the cache at no cost"
        ),
        format!(
            "{}% of each request's input tokens are read from the provider cache at the \
             cache-read price, the rest written to it at the cache-write price",
            factor_text(hit_rate * 100.0)
        ),
    ];
    Ok(DataFrame::new_infer_height(vec![
        Column::new("scenario".into(), ["exact_repeat_cache", "provider_prompt_cache"]),
        count("requests", &|o| o.requests),
        count("affected_requests", &|o| o.affected),
        count("unpriced_requests", &|o| o.unpriced),
        money("baseline_cost", &|o| o.baseline),
        money("scenario_cost", &|o| o.scenario),
        money("saving", &whatif::CacheOutcome::saving),
        Column::new("assumption".into(), assumptions.to_vec()),
    ])?)
}

/// The `throttle` table: one row per API key.
fn throttle_frame(outcomes: &[whatif::ThrottleOutcome]) -> Result<DataFrame> {
    let count = |name: &str, get: &dyn Fn(&whatif::ThrottleOutcome) -> u64| {
        Column::new(name.into(), outcomes.iter().map(get).collect::<Vec<u64>>())
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "api_key".into(),
            outcomes.iter().map(|o| o.api_key.clone()).collect::<Vec<_>>(),
        ),
        count("requests", &|o| o.requests),
        count("peak_per_minute", &|o| o.peak_per_minute),
        count("delayed_requests", &|o| o.delayed),
        money_column("delayed_spend", outcomes.iter().map(|o| Some(o.delayed_spend))),
        count("delayed_unpriced_requests", &|o| o.delayed_unpriced),
    ])?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::ledger::OverridePrices;

    fn settings(config: &str) -> Settings {
        use clap::Parser as _;
        let cli = crate::cli::Cli::parse_from(["aispend", "query", "x"]);
        let config = crate::config::Config::parse(config).unwrap();
        Settings {
            global: cli.global,
            config,
            period: crate::settings::Period::All,
            tz: chrono_tz::UTC,
        }
    }

    #[test]
    fn route_table_states_the_assumption_and_the_hand_worked_range() {
        // Same prices and requests as `report::whatif`'s hand-worked route test:
        // current 0.0315, on small 0.00135 (low) to 0.00162 (high, output × 1.3).
        let settings = settings(
            "[[prices.override]]\nmodel = \"big\"\ninput = \"3 per 1M\"\noutput = \"15 per 1M\"\n\
             [[prices.override]]\nmodel = \"small\"\ninput = \"0.15 per 1M\"\n\
             output = \"0.6 per 1M\"\n",
        );
        let pricer = OverridePrices::from_config(&settings.config).unwrap();
        let row = |input: i64, output: i64, cost: &str, dept: &str| RequestRow {
            at: "2026-11-01T10:00:00Z".parse().unwrap(),
            model: "big".into(),
            input_tokens: input,
            output_tokens: output,
            cost: Some(Money::parse(cost).unwrap()),
            owners: [("dept".to_string(), dept.to_string())].into(),
            ..RequestRow::default()
        };
        let rows = vec![
            row(1000, 500, "0.0105", "sales"),
            row(2000, 1000, "0.021", "sales"),
            row(9000, 9000, "9", "ops"),
        ];
        let command = WhatifCommand::Route {
            from: "big".into(),
            to: "small".into(),
            scope: vec!["dept=Sales".into()],
            output_factor: 1.3,
        };
        let frame = scenario(&command, rows, &settings, &pricer).unwrap();
        let csv = String::from_utf8(
            output::render(&frame, crate::cli::Format::Csv, &TableSpec::default()).unwrap(),
        )
        .unwrap();
        let values: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(
            values[..10],
            [
                "big",
                "small",
                "dept=sales",
                "2",
                "0",
                "0.0315",
                "0.00135",
                "0.00162",
                "0.02988",
                "0.03015"
            ]
        );
        assert!(csv.contains("high multiplies them by 1.3"), "{csv}");
    }

    #[test]
    fn factor_is_read_per_mille_and_printed_plainly() {
        assert_eq!(per_mille(1.3).unwrap(), 1300);
        assert!(per_mille(0.0).is_err());
        assert_eq!(factor_text(1.3), "1.3");
        assert_eq!(factor_text(50.0), "50");
    }
}
