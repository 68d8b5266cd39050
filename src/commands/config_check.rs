//! `aispend config check`: validate the configuration and say what it would read.

use std::fmt::Write as _;

use anyhow::Result;

use crate::settings::Settings;

/// Runs the command: prints the resolved configuration summary on stdout.
pub fn run(settings: &Settings) -> Result<()> {
    let config = &settings.config;
    let mut text = String::new();
    let origin = config
        .path
        .as_ref()
        .map_or("built-in defaults".to_string(), |p| format!("`{}`", p.display()));
    writeln!(text, "configuration: {origin} is valid")?;
    writeln!(text, "taxonomy keys: {}", config.taxonomy.keys.join(", "))?;
    for key in &config.taxonomy.keys {
        writeln!(text, "  {key} from tags: {}", config.key_sources(key).join(", "))?;
    }
    let kinds = [
        ("bill", settings.cost_sources()),
        ("gateway logs", settings.gateway_sources()),
        ("business metrics", settings.metric_sources()),
    ];
    for (kind, sources) in kinds {
        if sources.is_empty() {
            writeln!(text, "{kind}: none")?;
            continue;
        }
        writeln!(text, "{kind}:")?;
        for source in &sources {
            let files = crate::ingest::expand(std::slice::from_ref(source));
            match files {
                Ok(files) => writeln!(text, "  {source} ({} files)", files.len())?,
                Err(error) => writeln!(text, "  {source} (cannot read: {error})")?,
            }
        }
    }
    if let Some(prices) = &config.prices.litellm {
        writeln!(text, "price book: {prices} plus {} overrides", config.prices.overrides.len())?;
    }
    writeln!(text, "shared-cost rules: {}", config.rules.len())?;
    writeln!(text, "budgets: {}", config.budgets.len())?;
    crate::output::write_stdout(text.as_bytes())
}
