//! `aispend config check`: validate the configuration and say what it would read.

use std::fmt::Write as _;

use anyhow::Result;

use crate::settings::Settings;

/// Runs the command: prints the resolved configuration summary on stdout. A source that
/// cannot be read makes the configuration unusable, so the command then fails (exit 2)
/// after printing the summary.
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
    if unreadable.is_empty() {
        writeln!(text, "configuration: {origin} is valid")?;
    } else {
        writeln!(text, "configuration: {origin} parses, but some sources cannot be read")?;
    }
    text.push_str(&body);
    crate::output::write_stdout(text.as_bytes())?;
    if unreadable.is_empty() {
        return Ok(());
    }
    let list = unreadable.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    Err(crate::error::hinted(
        format!("the configuration names sources that cannot be read: {list}"),
        "fix the paths under `[sources]` (relative paths start at the configuration's folder)",
    ))
}
