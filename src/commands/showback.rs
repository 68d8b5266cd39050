//! `aispend showback`: cost per owner with share and tag coverage.

use anyhow::Result;

use crate::cli::ShowbackArgs;
use crate::enrich::taxonomy::{TagPlan, canonical_key};
use crate::model::{UNALLOCATED, costs};
use crate::output::{self, TableSpec};
use crate::report::showback::{self, Coverage};
use crate::settings::Settings;

/// Runs the command.
pub fn run(settings: &Settings, args: &ShowbackArgs) -> Result<()> {
    let keys: Vec<String> =
        args.by.iter().filter(|k| !k.trim().is_empty()).map(|k| canonical_key(k)).collect();
    let plan = TagPlan::new(&settings.config, &keys);
    let frame = crate::ingest::read_costs(&settings.cost_sources(), &plan)?;
    let frame = showback::filter_period(frame, &settings.period);
    let (report, coverage) = showback::showback(frame, &keys)?;
    report_coverage(&coverage);
    let spec = TableSpec {
        totals: vec![
            costs::BILLED_COST.into(),
            costs::EFFECTIVE_COST.into(),
            "share".into(),
            "line_items".into(),
        ],
        percents: vec!["share".into()],
    };
    let single_currency =
        coverage.by_key.keys().map(|(_, c)| c).collect::<std::collections::BTreeSet<_>>().len()
            <= 1;
    let spec = if single_currency { spec } else { TableSpec { totals: Vec::new(), ..spec } };
    output::emit(&report, &settings.global, &spec)
}

/// Coverage on stderr, and a warning with its remedy for untagged cost and conflicts.
pub fn report_coverage(coverage: &Coverage) {
    for ((key, currency), (tagged, total, untagged)) in &coverage.by_key {
        let percent = if total.is_zero() {
            100.0
        } else {
            tagged.to_f64_lossy() / total.to_f64_lossy() * 100.0
        };
        tracing::info!(
            "tag coverage `{key}`: {percent:.1}% of billed cost ({} of {} {currency})",
            tagged.cents_string(),
            total.cents_string()
        );
        if *untagged > 0 {
            let missing = *total - *tagged;
            tracing::warn!(
                "{untagged} line items ({} {currency}) have no `{key}` tag and went to `{UNALLOCATED}`; \
                 add an alias in `[taxonomy.aliases]` or a fallback in `[taxonomy.fallbacks]`",
                missing.cents_string()
            );
        }
    }
    if coverage.conflicts > 0 {
        tracing::warn!(
            "{} line items carry conflicting owner tags; the first by precedence was kept and \
             each line counted once (see `aispend query` on `tag_conflicts`)",
            coverage.conflicts
        );
    }
}
