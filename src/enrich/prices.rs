//! The price book: per-token prices by model, effective-dated, with explicit units.
//!
//! Prices are written with their unit (`2.0 per 1M`, `0.002 per 1K`, `0.000002 per token`)
//! and normalised once to a price per token.

use anyhow::{Result, bail};

use crate::money::Money;

/// Parses a price with its unit into a price per token.
pub fn parse_price(text: &str) -> Result<Money> {
    let lower = text.trim().to_ascii_lowercase();
    let Some((amount, unit)) = lower.split_once(" per ") else {
        bail!(
            "the price `{text}` has no unit: write `2.0 per 1M`, `0.002 per 1K` or \
             `0.000002 per token`"
        );
    };
    let amount = Money::parse(amount.trim().trim_start_matches('$'))?;
    let divisor = match unit.trim() {
        "token" | "1 token" => 1,
        "1k" | "1k tokens" | "1000" | "1000 tokens" | "thousand" => 1_000,
        "1m" | "1m tokens" | "1000000" | "1000000 tokens" | "million" => 1_000_000,
        other => {
            bail!("the price `{text}` has the unknown unit `{other}`: use `token`, `1K` or `1M`")
        }
    };
    Ok(amount.div_int(divisor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_units_same_price() {
        let million = 1_000_000;
        for text in ["2.0 per 1M", "0.002 per 1K", "0.000002 per token"] {
            assert_eq!(parse_price(text).unwrap().times(million), Money::from_units(2), "{text}");
        }
        let error = parse_price("2.0").unwrap_err().to_string();
        assert!(error.contains("`2.0` has no unit"), "{error}");
    }
}
