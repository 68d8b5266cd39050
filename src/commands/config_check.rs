//! `aispend config check`: validate the configuration and say what it would read.
//!
//! Parsing already rejects every value that the file alone shows to be wrong. This command
//! adds what needs more than the file, with the code the other commands use: that every
//! source can be read, that the price book loads, that the gateway mapping names known
//! columns, and that every budget scope resolves. A configuration that passes is one that no
//! later command rejects for its own sake. What only AWS Budgets refuses (`budgets export
//! --target aws`, `budgets apply`) is a warning: the other targets take such a budget.

use std::fmt::Write as _;

use anyhow::Result;

use crate::config::{Config, Step};
use crate::enrich::prices::PriceBook;
use crate::error::hinted;
use crate::report::{budget_export, ledger::Scope};
use crate::settings::Settings;

/// Runs the command: prints the resolved configuration summary on stdout. A source that
/// cannot be read, or a setting a later command would reject, makes the configuration
/// unusable, so the command then fails (exit 2) after printing the summary.
pub fn run(settings: &Settings) -> Result<()> {
    let config = &settings.config;
    let mut text = String::new();
    let origin = config
        .path
        .as_ref()
        .map_or("the built-in defaults".to_string(), |p| format!("`{}`", p.display()));
    let mut unreadable = Vec::new();
    let mut body = String::new();
    writeln!(body, "taxonomy keys: {}", config.taxonomy.keys.join(", "))?;
    for key in &config.taxonomy.keys {
        writeln!(body, "  {key} from tags: {}", config.key_sources(key).join(", "))?;
    }
    let kinds = [
        ("bill", settings.cost_sources()),
        ("gateway logs", settings.gateway_sources()),
        ("business metrics", settings.metric_sources()),
    ];
    for (kind, sources) in kinds {
        if sources.is_empty() {
            writeln!(body, "{kind}: none")?;
            continue;
        }
        writeln!(body, "{kind}:")?;
        for source in &sources {
            let files = crate::ingest::expand(std::slice::from_ref(source));
            match files {
                Ok(files) => {
                    let plural = if files.len() == 1 { "" } else { "s" };
                    writeln!(body, "  {source} ({} file{plural})", files.len())?;
                }
                Err(error) => {
                    writeln!(body, "  {source} (cannot read: {error})")?;
                    unreadable.push(source.clone());
                }
            }
        }
    }
    if let Some(prices) = &config.prices.litellm {
        writeln!(body, "price book: {prices} plus {} overrides", config.prices.overrides.len())?;
    }
    writeln!(body, "shared-cost rules: {}", config.rules.len())?;
    writeln!(body, "budgets: {}", config.budgets.len())?;

    let problems: Vec<anyhow::Error> = problems(config)
        .into_iter()
        .map(|error| error.context(format!("invalid configuration {origin}")))
        .collect();
    for problem in &problems {
        let cause = problem.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>();
        writeln!(body, "problem: {}", cause.join(": "))?;
    }
    if unreadable.is_empty() && problems.is_empty() {
        writeln!(text, "configuration: {origin} is valid")?;
    } else if problems.is_empty() {
        writeln!(text, "configuration: {origin} parses, but some sources cannot be read")?;
    } else {
        writeln!(text, "configuration: {origin} parses, but later commands would reject it")?;
    }
    text.push_str(&body);
    crate::output::write_stdout(text.as_bytes())?;
    if let Some(warning) = aws_warning(config) {
        tracing::warn!("{warning}");
    }

    if let Some(problem) = problems.into_iter().next() {
        return Err(problem);
    }
    if unreadable.is_empty() {
        return Ok(());
    }
    let list = unreadable.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    Err(hinted(
        format!("the configuration names sources that cannot be read: {list}"),
        "fix the paths under `[sources]` (relative paths start at the configuration's folder)",
    ))
}

/// What later commands would reject, found with their own code: the price book, the gateway
/// mapping and the budget scopes. Each error is inside the line of the setting it is about.
fn problems(config: &Config) -> Vec<anyhow::Error> {
    let mut problems = Vec::new();
    if let Err(error) = PriceBook::load(config) {
        problems.push(config.at_line(error, &[Step::from("prices"), Step::from("litellm")]));
    }
    if let Err(error) = config.check_gateway_mapping() {
        problems.push(error);
    }
    for (index, budget) in config.budgets.iter().enumerate() {
        if let Err(error) = Scope::of_budget(budget, config) {
            let at = [Step::from("budgets"), Step::from(index), Step::from("scope")];
            problems.push(config.at_line(error, &at));
        }
    }
    problems
}

/// Why the AWS export of the budgets would fail, when it would.
fn aws_warning(config: &Config) -> Option<String> {
    if config.budgets.is_empty() {
        return None;
    }
    let error = budget_export::aws_budgets(config).err()?;
    Some(format!(
        "`budgets export --target aws` and `budgets apply` would fail: {error:#}; the LiteLLM \
         and Portkey exports are not affected"
    ))
}
