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
    let keys: Vec<String> =
        args.by.iter().filter(|k| !k.trim().is_empty()).map(|k| canonical_key(k)).collect();
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
    let (tagged, coverage) =
        showback::showback(showback::filter_period(frame, &settings.period), &keys)?;
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
    let pieces = crate::ingest::read_cost_pieces(&sources, &plan)?;
    let in_period =
        pieces.iter().map(|piece| showback::filter_period(piece.clone(), &settings.period));
    let (report, coverage) = showback::showback_of_pieces(in_period, keys)?;
    report_coverage(settings, &coverage);
    if report.height() == 0 {
        let args = polars::prelude::UnionArgs {
            to_supertypes: true,
            ..polars::prelude::UnionArgs::default()
        };
        let frame = polars::prelude::concat(pieces, args)?;
        crate::commands::attribution::warn_empty_period(settings, showback::periods(Some(frame))?);
    }
    warn_unknown_keys(settings, keys, &coverage);
    output::emit(&report, &settings.global, &spec(&coverage))
}

/// The table layout: totals unless several currencies are shown.
fn spec(coverage: &Coverage) -> TableSpec {
    let mut totals = vec![
        costs::BILLED_COST.to_string(),
        costs::EFFECTIVE_COST.into(),
        "share".into(),
        "line_items".into(),
    ];
    totals.extend(["requests".into(), "input_tokens".into(), "output_tokens".into()]);
    let currencies: std::collections::BTreeSet<&String> =
        coverage.by_key.keys().map(|(_, c)| c).collect();
    let totals = if currencies.len() <= 1 { totals } else { Vec::new() };
    TableSpec { totals, percents: vec!["share".into()] }
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
        let carried =
            coverage.by_key.iter().any(|((k, _), (tagged, _, _))| k == key && !tagged.is_zero());
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
pub fn report_coverage(settings: &Settings, coverage: &Coverage) {
    for ((key, currency), (tagged, total, untagged)) in &coverage.by_key {
        let percent = if total.is_zero() {
            100.0
        } else {
            tagged.to_f64_lossy() / total.to_f64_lossy() * 100.0
        };
        let line = format!(
            "tag coverage `{key}`: {percent:.1}% of billed cost ({} of {} {currency})",
            tagged.cents_string(),
            total.cents_string()
        );
        output::notice(&settings.global, &line);
        if *untagged > 0 {
            let missing = *total - *tagged;
            tracing::warn!(
                "{untagged} line items ({} {currency}) have no `{key}` tag and went to `{UNALLOCATED}` before \
                 allocation; add an alias in `[taxonomy.aliases]` or a fallback in `[taxonomy.fallbacks]`",
                missing.cents_string()
            );
        }
    }
    if coverage.conflicts > 0 {
        tracing::warn!(
            "{} line items carry conflicting owner tags; the first by precedence was kept and \
             each line counted once; list them with `aispend query \"SELECT * FROM costs WHERE \
             tag_conflicts > 0\"`",
            coverage.conflicts
        );
    }
}
