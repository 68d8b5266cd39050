//! `aispend showback`: cost per owner with share, tag coverage and, once gateway logs are
//! in, the owner's requests and tokens.
//!
//! Without gateway logs or shared-cost rules, showback groups the bill by its own tags (the
//! fast path, which streams). With them, it shows the owners that allocation found: LLM
//! lines split by the gateway's tokens and shared lines split by the rules.

use anyhow::Result;

use crate::cli::{Basis, ShowbackArgs};
use crate::commands::attribution;
use crate::commands::load::Inputs;
use crate::enrich::taxonomy::canonical_key;
use crate::model::{UNALLOCATED, costs};
use crate::output::{self, TableSpec};
use crate::report::owners;
use crate::report::showback::{self, Coverage};
use crate::settings::Settings;

/// Runs the command.
pub fn run(settings: &Settings, args: &ShowbackArgs) -> Result<()> {
    let keys = group_keys(settings, &args.by)?;
    let allocating = !settings.gateway_sources().is_empty() || !settings.config.rules.is_empty();
    if !allocating {
        return by_tags(settings, &keys);
    }
    let inputs = Inputs::load(settings, &keys)?;
    let Some(frame) = inputs.costs.clone() else {
        return Err(crate::error::hinted(
            "no bill to show back",
            "pass `--cur`, `--focus` or `--ce`",
        ));
    };
    let (tagged, coverage) = showback::showback(
        showback::filter_period(frame, &settings.period),
        &keys,
        &inputs.plan.names(),
    )?;
    report_coverage(settings, &coverage);
    let allocating = inputs.requests.is_some() || !settings.config.rules.is_empty();
    if tagged.height() == 0 && !allocating {
        let periods = showback::periods(inputs.costs.clone())?;
        crate::commands::attribution::warn_empty_period(settings, periods);
    }
    warn_unknown_keys(settings, &keys, &coverage);
    let report = if inputs.requests.is_some() || !settings.config.rules.is_empty() {
        allocated(settings, &inputs, &keys)?
    } else {
        tagged
    };
    output::emit(&report, &settings.global, &spec(&coverage))
}

/// The canonical `--by` keys, each once (`--by dept,Dept` is one key); the first taxonomy
/// key when none is given.
pub fn group_keys(settings: &Settings, by: &[String]) -> Result<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for raw in by.iter().filter(|k| !k.trim().is_empty()) {
        let key = canonical_key(raw);
        // A taxonomy key spelled another way (`--by costcenter` for `cost_center`), or one of
        // its aliases (`--by department` for `dept`), is that key.
        let taxonomy = &settings.config.taxonomy.keys;
        let key = taxonomy
            .iter()
            .find(|k| {
                settings
                    .config
                    .key_sources(k)
                    .iter()
                    .any(|source| crate::enrich::taxonomy::same_key(source, &key))
            })
            .map_or(key, |k| canonical_key(k));
        if key.is_empty() {
            return Err(crate::error::hinted(
                format!("`--by {raw}` names no key"),
                "name a taxonomy key such as `dept`, a tag key, or a bill column",
            ));
        }
        // The report's own columns cannot also be owners: `--by currency` would group twice.
        let reserved = [
            costs::BILLING_PERIOD,
            costs::BILLED_COST,
            costs::EFFECTIVE_COST,
            costs::BILLING_CURRENCY,
            "currency",
            "share",
            "line_items",
            "requests",
            "input_tokens",
            "output_tokens",
        ];
        if reserved.contains(&key.as_str()) {
            return Err(crate::error::hinted(
                format!("`--by {raw}` names a column of the report itself, not an owner"),
                "group by a taxonomy key such as `dept`, a tag key, or another bill column; \
                 every report already has one row per billing period and currency",
            ));
        }
        if !keys.iter().any(|k| crate::enrich::taxonomy::same_key(k, &key)) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        let first = settings.config.taxonomy.keys.first().map_or("dept", String::as_str);
        keys.push(canonical_key(first));
    }
    Ok(keys)
}

/// Showback by the bill's own tags (no gateway logs, no rules): one streaming pass per piece
/// of the bill that resolves only the asked keys.
fn by_tags(settings: &Settings, keys: &[String]) -> Result<()> {
    let plan = crate::enrich::taxonomy::TagPlan::only(&settings.config, keys);
    let sources = settings.cost_sources();
    if sources.is_empty() {
        return Err(crate::error::hinted(
            "no bill to show back",
            "pass `--cur`, `--focus` or `--ce`",
        ));
    }
    let mut sums = showback::PieceSums::new(keys, &plan.names());
    crate::ingest::for_each_cost_piece(&sources, &plan, &mut |piece| {
        sums.add(showback::filter_period(piece, &settings.period))
    })?;
    let (report, coverage) = sums.finish()?;
    report_coverage(settings, &coverage);
    if report.height() == 0 {
        // Only to name the periods the bill does hold: a second, rare pass.
        let frame = crate::ingest::read_costs(&sources, &plan)?;
        crate::commands::attribution::warn_empty_period(settings, showback::periods(Some(frame))?);
    }
    warn_unknown_keys(settings, keys, &coverage);
    output::emit(&report, &settings.global, &spec(&coverage))
}

/// The table layout: a total line per currency.
fn spec(_coverage: &Coverage) -> TableSpec {
    let totals = [
        costs::BILLED_COST,
        costs::EFFECTIVE_COST,
        "share",
        "line_items",
        "requests",
        "input_tokens",
        "output_tokens",
    ];
    TableSpec { totals: totals.map(String::from).to_vec(), percents: vec!["share".into()] }
}

/// Showback from the allocations of both bases (also used by `monthly`).
pub fn allocated(
    settings: &Settings,
    inputs: &Inputs,
    keys: &[String],
) -> Result<polars::prelude::DataFrame> {
    let names = inputs.plan.names();
    let positions: Vec<usize> =
        keys.iter().filter_map(|k| names.iter().position(|n| n == k)).collect();
    let mut sums = std::collections::BTreeMap::new();
    for basis in [Basis::Billed, Basis::Effective] {
        let attributed = attribution::attribute(settings, inputs, basis)?;
        if basis == Basis::Billed {
            attribution::warn_notes(&attributed.notes);
        }
        owners::add_allocations(
            &mut sums,
            &attributed.allocations,
            &attributed.units,
            &positions,
            basis == Basis::Billed,
        );
    }
    let activity = match &inputs.requests {
        Some(found) => owners::activity(
            &attribution::requests_in_period(&found.frame, &settings.period)?,
            keys,
        )?,
        None => std::collections::BTreeMap::new(),
    };
    owners::frame(&sums, &activity, keys)
}

/// A `--by` key that is not a taxonomy key and that no line carries is likely a typo.
fn warn_unknown_keys(settings: &Settings, keys: &[String], coverage: &Coverage) {
    let taxonomy: Vec<String> =
        settings.config.taxonomy.keys.iter().map(|k| canonical_key(k)).collect();
    for key in keys {
        let known = taxonomy.contains(key) || costs::FIXED.contains(&key.as_str());
        let carried = coverage.by_key.iter().any(|((k, _), found)| {
            k == key && !(found.tagged_absolute + found.by_fallback_absolute).is_zero()
        });
        if !known && !carried {
            tracing::warn!(
                "no line item carries a `{key}` tag, so every line is `{UNALLOCATED}`; the taxonomy keys \
                 are {}",
                taxonomy.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            );
        }
    }
}

/// Coverage on stderr, and a warning with its remedy for untagged cost and conflicts.
///
/// Coverage is the tagged share of the billed cost counted by absolute amount, line by line,
/// so that credits and refunds can neither push it past 100% nor below 0; cost owned through
/// `[taxonomy.fallbacks]` is shown apart, since no tag carries it.
pub fn report_coverage(settings: &Settings, coverage: &Coverage) {
    for ((key, currency), found) in &coverage.by_key {
        let mut line = format!(
            "tag coverage `{key}`: {:.1}% of billed cost ({} of {} {currency}, by absolute amount)",
            found.tagged_fraction() * 100.0,
            found.tagged_absolute.cents_string(),
            found.total_absolute.cents_string()
        );
        if !found.by_fallback_absolute.is_zero() {
            line.push_str(&format!(
                "; {:.1}% more owned through `[taxonomy.fallbacks]`",
                found.fallback_fraction() * 100.0
            ));
        }
        output::notice(&settings.global, &line);
        if found.untagged_lines > 0 {
            tracing::warn!(
                "{} ({} {currency}) {} no `{key}` tag and went to `{UNALLOCATED}` before \
                 allocation; add an alias in `[taxonomy.aliases]` or a fallback in \
                 `[taxonomy.fallbacks]`",
                count(found.untagged_lines, "line item"),
                found.untagged().cents_string(),
                if found.untagged_lines == 1 { "has" } else { "have" },
            );
        }
    }
    if coverage.conflicts > 0 {
        tracing::warn!(
            "{} {} conflicting owner tags; the first by precedence was kept and each line counted \
             once; list them with `aispend query \"SELECT * FROM costs WHERE tag_conflicts > 0\"`",
            count(coverage.conflicts, "line item"),
            if coverage.conflicts == 1 { "carries" } else { "carry" },
        );
    }
}

/// `1 line item`, `2 line items`.
fn count(number: u64, noun: &str) -> String {
    if number == 1 { format!("1 {noun}") } else { format!("{number} {noun}s") }
}
