//! Token counts as providers report them, their canonical form, and the cost of a request.
//!
//! Providers count the same request differently. OpenAI-style usage (and every LiteLLM,
//! Portkey and OpenAI usage log, which all report in that shape) gives `prompt_tokens` that
//! already include the cache reads and cache writes, and `completion_tokens` that already
//! include the reasoning tokens. Anthropic-style usage gives `input_tokens` without the cache
//! reads and writes, which come beside it, and reasoning tokens reported beside the output.
//!
//! The canonical `requests` frame holds one shape only, so that the four Bedrock token types
//! can be compared with it: `input_tokens` are the uncached input (without cache reads and
//! writes), `cache_read_tokens` and `cache_write_tokens` stand beside it, and `output_tokens`
//! are all output tokens **including** reasoning, of which `reasoning_tokens` says how many
//! were reasoning. The four token types are disjoint and add up to what a provider bills.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use anyhow::{Result, bail};

use crate::money::Money;

/// How a source counts cached input and reasoning tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenSemantics {
    /// Prompt tokens include cache reads and writes; reasoning is inside the output count.
    #[default]
    OpenAi,
    /// Input tokens exclude cache reads and writes; reasoning is reported beside the output.
    Anthropic,
}

impl TokenSemantics {
    /// Reads `openai` or `anthropic` (the `token_semantics` settings).
    pub fn parse(text: &str) -> Result<TokenSemantics> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(TokenSemantics::OpenAi),
            "anthropic" => Ok(TokenSemantics::Anthropic),
            other => bail!("unknown token semantics `{other}`: use `openai` or `anthropic`"),
        }
    }

    /// Brings raw counts to the canonical shape. The flag is true when the counts did not
    /// fit the semantics (cached tokens above the prompt, reasoning above the output) and a
    /// count had to be held at zero.
    pub fn normalize(self, raw: RawUsage) -> (Usage, bool) {
        let read = raw.cache_read.max(0);
        let write = raw.cache_write.max(0);
        let reasoning = raw.reasoning.max(0);
        match self {
            TokenSemantics::OpenAi => {
                let input = raw.prompt - read - write;
                let usage = Usage {
                    input: input.max(0),
                    output: raw.completion.max(reasoning),
                    cache_read: read,
                    cache_write: write,
                    reasoning,
                };
                (usage, input < 0 || raw.completion < reasoning)
            }
            TokenSemantics::Anthropic => {
                let usage = Usage {
                    input: raw.prompt.max(0),
                    output: raw.completion.max(0) + reasoning,
                    cache_read: read,
                    cache_write: write,
                    reasoning,
                };
                (usage, raw.prompt < 0 || raw.completion < 0)
            }
        }
    }
}

/// Token counts as a source logged them, before [`TokenSemantics::normalize`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RawUsage {
    /// Prompt or input tokens, in the source's semantics.
    pub prompt: i64,
    /// Completion or output tokens, in the source's semantics.
    pub completion: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub reasoning: i64,
}

/// Canonical, disjoint token counts of one request (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Uncached input tokens.
    pub input: i64,
    /// All output tokens, reasoning included.
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    /// The reasoning part of `output`.
    pub reasoning: i64,
}

impl Usage {
    /// Every token billed: input, cache reads, cache writes and output.
    pub fn total(&self) -> i64 {
        self.input + self.cache_read + self.cache_write + self.output
    }
}

/// Prices per token of one model; `None` when the source gives no price for that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub input: Option<Money>,
    pub output: Option<Money>,
    /// Falls back to the input price when missing.
    pub cache_read: Option<Money>,
    /// Falls back to the input price when missing.
    pub cache_write: Option<Money>,
    /// Falls back to the output price when missing.
    pub reasoning: Option<Money>,
}

impl Rates {
    /// True when the model has a price for input or output at all.
    pub fn is_priced(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }

    /// Fields set here win over `base`.
    #[must_use]
    pub fn over(self, base: Rates) -> Rates {
        Rates {
            input: self.input.or(base.input),
            output: self.output.or(base.output),
            cache_read: self.cache_read.or(base.cache_read),
            cache_write: self.cache_write.or(base.cache_write),
            reasoning: self.reasoning.or(base.reasoning),
        }
    }

    /// The cost of canonical usage: each token priced once, at the rate of its kind. `None`
    /// when the request uses a kind of token this model has no price for.
    pub fn cost(&self, usage: &Usage) -> Option<Money> {
        let priced = |tokens: i64, rate: Option<Money>| -> Option<Money> {
            if tokens == 0 { Some(Money::ZERO) } else { rate.map(|r| r.times(i128::from(tokens))) }
        };
        let plain_output = usage.output - usage.reasoning;
        let parts = [
            priced(usage.input, self.input)?,
            priced(usage.cache_read, self.cache_read.or(self.input))?,
            priced(usage.cache_write, self.cache_write.or(self.input))?,
            priced(plain_output, self.output)?,
            priced(usage.reasoning, self.reasoning.or(self.output))?,
        ];
        Some(parts.into_iter().sum())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)]
    fn per_million(dollars: &str) -> Option<Money> {
        Some(Money::parse(dollars).unwrap().div_int(1_000_000))
    }

    fn gpt4o() -> Rates {
        Rates {
            input: per_million("2.50"),
            cache_read: per_million("1.25"),
            output: per_million("10"),
            ..Rates::default()
        }
    }

    #[test]
    fn cached_tokens_priced_once() {
        // uncached 2,006 - 1,920 = 86 x $2.50/M = $0.000215; 1,920 x $1.25/M = $0.0024;
        // 300 x $10/M = $0.003; total $0.005615 (not $0.010415, not $0.008015).
        let raw =
            RawUsage { prompt: 2006, completion: 300, cache_read: 1920, ..RawUsage::default() };
        let (usage, clamped) = TokenSemantics::OpenAi.normalize(raw);
        assert!(!clamped);
        assert_eq!(usage.input, 86);
        assert_eq!(gpt4o().cost(&usage), Some(Money::parse("0.005615").unwrap()));
    }

    #[test]
    fn reasoning_inside_output_is_not_added_again() {
        // 482 output tokens of which 448 reasoning: 482 x $10/M = $0.00482.
        let raw = RawUsage { completion: 482, reasoning: 448, ..RawUsage::default() };
        let (usage, _) = TokenSemantics::OpenAi.normalize(raw);
        assert_eq!(usage.output, 482);
        assert_eq!(gpt4o().cost(&usage), Some(Money::parse("0.00482").unwrap()));
    }

    #[test]
    fn reasoning_beside_output_is_added() {
        // 1,000 output + 50 reasoning beside it: 1,050 x $10/M = $0.0105.
        let raw = RawUsage { completion: 1000, reasoning: 50, ..RawUsage::default() };
        let (usage, _) = TokenSemantics::Anthropic.normalize(raw);
        assert_eq!(usage.output, 1050);
        assert_eq!(gpt4o().cost(&usage), Some(Money::parse("0.0105").unwrap()));
    }

    #[test]
    fn anthropic_input_excludes_cache_reads_and_writes() {
        // 100 input x $3/M + 1,000 read x $0.30/M + 200 write x $3.75/M + 10 out x $15/M
        // = 0.0003 + 0.0003 + 0.00075 + 0.00015 = $0.0015.
        let rates = Rates {
            input: per_million("3"),
            output: per_million("15"),
            cache_read: per_million("0.30"),
            cache_write: per_million("3.75"),
            reasoning: None,
        };
        let raw = RawUsage {
            prompt: 100,
            completion: 10,
            cache_read: 1000,
            cache_write: 200,
            reasoning: 0,
        };
        let (usage, _) = TokenSemantics::Anthropic.normalize(raw);
        assert_eq!(usage.total(), 1310);
        assert_eq!(rates.cost(&usage), Some(Money::parse("0.0015").unwrap()));
    }

    #[test]
    fn cache_reads_fall_back_to_the_input_price() {
        let rates = Rates { input: per_million("2"), output: per_million("8"), ..Rates::default() };
        let usage = Usage { cache_read: 1_000_000, ..Usage::default() };
        assert_eq!(rates.cost(&usage), Some(Money::from_units(2)));
    }

    #[test]
    fn output_without_an_output_price_is_unknown() {
        let rates = Rates { input: per_million("0.02"), ..Rates::default() };
        assert_eq!(
            rates.cost(&Usage { input: 10, ..Usage::default() }).map(Money::is_zero),
            Some(false)
        );
        assert_eq!(rates.cost(&Usage { output: 10, ..Usage::default() }), None);
    }

    #[test]
    fn cached_tokens_above_the_prompt_are_flagged() {
        let raw = RawUsage { prompt: 10, cache_read: 20, ..RawUsage::default() };
        let (usage, clamped) = TokenSemantics::OpenAi.normalize(raw);
        assert!(clamped);
        assert_eq!(usage.input, 0);
    }
}
