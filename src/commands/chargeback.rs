//! `aispend chargeback --month M`: department statements and the journal.

use anyhow::Result;

use crate::cli::ChargebackArgs;
use crate::commands::attribution::{self, basis_name};
use crate::commands::load::Inputs;
use crate::output::{self, TableSpec};
use crate::report::chargeback;
use crate::settings::Settings;

/// Runs the command: statements to stdout (or `--out`), the journal and the allocations to
/// their own files when asked.
pub fn run(settings: &Settings, args: &ChargebackArgs) -> Result<()> {
    if settings.period.billing_period().is_none() {
        return Err(crate::error::hinted(
            "chargeback covers one billing month",
            "add `--month YYYY-MM`",
        ));
    }
    // A side file whose format cannot be told fails before the month is read.
    for path in args.journal.iter().chain(&args.allocations) {
        output::format_for_path(path)?;
    }
    let inputs = Inputs::load(settings, &[])?;
    let attributed = attribution::attribute(settings, &inputs, args.basis)?;
    attribution::warn_notes(&attributed.notes);
    let config = &settings.config;
    let statements = chargeback::statements(
        &attributed.allocations,
        &attributed.units,
        config,
        &attributed.provisional,
    );
    for period in &attributed.provisional {
        tracing::warn!(
            "{period} is provisional: its invoice id is still blank, so the bill may still change"
        );
    }
    let dept_column = attributed.keys.first().cloned().unwrap_or_else(|| "dept".into());
    let basis = basis_name(args.basis);
    let mut invoice = std::collections::BTreeMap::new();
    for unit in &attributed.units {
        *invoice.entry(unit.currency.clone()).or_insert(crate::money::Money::ZERO) += unit.amount;
    }
    let other = if basis == "billed" { "effective" } else { "billed" };
    output::notice(
        &settings.global,
        &format!(
            "chargeback on the {basis} basis: {} in all (`--basis {other}` for the other view; \
             `billed` ties to the invoice)",
            attribution::amounts(&invoice)
        ),
    );
    if args.journal.is_some() {
        let missing: std::collections::BTreeSet<&str> = statements
            .iter()
            .map(|s| s.dept.as_str())
            .filter(|d| !config.chargeback.cost_centers.keys().any(|c| c.eq_ignore_ascii_case(d)))
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                "no cost center for {}: the journal debits `dept:<name>`; map them under \
                 `[chargeback.cost_centers]`",
                missing.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            );
        }
    }
    if let Some(path) = &args.journal {
        let journal = chargeback::journal_frame(&statements, config, basis)?;
        let format = output::format_for_path(path)?;
        output::write_target(path, &output::render(&journal, format, &TableSpec::default())?)?;
    }
    if let Some(path) = &args.allocations {
        let frame = crate::allocate::to_frame(
            &attributed.allocations,
            &attributed.units,
            &attributed.keys,
            basis,
        )?;
        let format = output::format_for_path(path)?;
        output::write_target(path, &output::render(&frame, format, &TableSpec::default())?)?;
    }
    let frame = chargeback::statements_frame(&statements, &dept_column)?;
    let spec = TableSpec {
        totals: vec!["direct_cost".into(), "shared_cost".into(), "total_cost".into()],
        percents: vec!["budget_used".into()],
    };
    output::emit(&frame, &settings.global, &spec)
}
