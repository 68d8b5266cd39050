//! The command-line definitions (clap). Nothing here touches data: `settings` turns these
//! raw flags and the configuration into one validated value before any command runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aispend: allocate the real AWS invoice and LLM gateway spend to the owners who caused it.
#[derive(Debug, Parser)]
#[command(name = "aispend", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default `./aispend.toml` when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More logging: `-v` debug, `-vv` trace (`RUST_LOG` overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Never draw progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Log lines as text (default) or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Output format (default: from `--out`'s extension, else table on a terminal, else CSV).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Write the data here (a file, a folder for `monthly`, or `s3://bucket/prefix/`).
    #[arg(long, global = true, value_name = "PATH")]
    pub out: Option<String>,
    /// The billing month, `YYYY-MM` (not with `--from/--to`).
    #[arg(long, global = true, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// First day of the period, inclusive (`YYYY-MM-DD`).
    #[arg(long, global = true, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day of the period, inclusive (`YYYY-MM-DD`).
    #[arg(long, global = true, value_name = "DATE")]
    pub to: Option<String>,
    /// Time zone for day buckets (never moves the billing period), default UTC.
    #[arg(long, global = true, value_name = "ZONE")]
    pub tz: Option<String>,
    /// CUR 1.0 or 2.0 files, folders or globs (repeat or comma-separate).
    #[arg(long, global = true, value_delimiter = ',', value_name = "PATH")]
    pub cur: Vec<String>,
    /// FOCUS exports, CSV or Parquet.
    #[arg(long, global = true, value_delimiter = ',', value_name = "PATH")]
    pub focus: Vec<String>,
    /// LLM gateway logs (`LiteLLM`, Portkey, `OpenAI` usage, or mapped CSV/JSONL).
    #[arg(long, global = true, value_delimiter = ',', value_name = "PATH")]
    pub gateway: Vec<String>,
    /// Business metrics (CSV: date, owner keys, metric, value).
    #[arg(long, global = true, value_delimiter = ',', value_name = "PATH")]
    pub metrics: Vec<String>,
    /// Cost Explorer results written by `aispend fetch`.
    #[arg(long, global = true, value_delimiter = ',', value_name = "PATH")]
    pub ce: Vec<String>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The cost basis of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Basis {
    /// Unblended cost: ties to the invoice.
    Billed,
    /// Amortized cost.
    Effective,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cost per owner with tokens, requests, share and tag coverage.
    Showback(ShowbackArgs),
    /// Department statements and the journal, tied to the invoice to the cent.
    Chargeback(ChargebackArgs),
    /// Gateway estimate against the invoice, by model and day.
    Reconcile,
    /// Cost per request, transaction, user and 1K tokens; revenue per token; trends.
    UnitEconomics(UnitEconomicsArgs),
    /// Spend anomalies, denial of wallet and retry loops.
    Anomalies(AnomaliesArgs),
    /// Budget status and budget definitions for AWS and the gateways.
    Budgets {
        #[command(subcommand)]
        command: BudgetsCommand,
    },
    /// Re-price history under routing, caching or throttling.
    Whatif {
        #[command(subcommand)]
        command: WhatifCommand,
    },
    /// Zombie models and idle provisioned capacity.
    Lifecycle(LifecycleArgs),
    /// Cross-region data transfer and cross-region inference per owner.
    Locality,
    /// SQL over the canonical frames (`costs`, `requests`, `metrics`, `allocations`).
    Query(QueryArgs),
    /// Pull Cost Explorer data through the AWS SDK into Parquet.
    Fetch(FetchArgs),
    /// The cron job: every report for a month into one folder or S3 prefix, with a manifest.
    Monthly(MonthlyArgs),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// `showback` options.
#[derive(Debug, Clone, Args)]
pub struct ShowbackArgs {
    /// Group by these taxonomy or tag keys (comma list, or repeat; default: the first
    /// taxonomy key).
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
}

/// `chargeback` options.
#[derive(Debug, Clone, Args)]
pub struct ChargebackArgs {
    /// Cost basis: `billed` ties to the invoice, `effective` to the amortized total.
    #[arg(long, value_enum, default_value_t = Basis::Effective)]
    pub basis: Basis,
    /// Write the journal to this file as well.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<String>,
    /// Write the allocations frame to this file as well.
    #[arg(long, value_name = "FILE")]
    pub allocations: Option<String>,
}

/// `unit-economics` options.
#[derive(Debug, Clone, Args)]
pub struct UnitEconomicsArgs {
    /// Group by these owner keys (comma list, or repeat).
    #[arg(long, value_delimiter = ',', default_value = "team,app")]
    pub by: Vec<String>,
}

/// `anomalies` options.
#[derive(Debug, Clone, Args)]
pub struct AnomaliesArgs {
    /// Exit 1 when something was flagged.
    #[arg(long, value_name = "WHAT")]
    pub fail_on: Option<String>,
}

/// `lifecycle` options.
#[derive(Debug, Clone, Args)]
pub struct LifecycleArgs {
    /// Days without a request after which billed capacity counts as a zombie.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// The run's "today" (`YYYY-MM-DD`, default: the last day of the data).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

/// `budgets` subcommands.
#[derive(Debug, Subcommand)]
pub enum BudgetsCommand {
    /// Spend, thresholds crossed, forecast, soft and hard state per budget.
    Status {
        /// Status as of the end of this day (`YYYY-MM-DD`).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// Exit 1 when a budget is past its `soft` or `hard` limit.
        #[arg(long, value_name = "LIMIT")]
        fail_on: Option<String>,
        /// One row per budget and day (spend and running total) instead of the summary.
        #[arg(long)]
        daily: bool,
    },
    /// Budget definitions for AWS, Terraform, `LiteLLM` or Portkey.
    Export {
        #[arg(long, value_name = "TARGET")]
        target: String,
        /// AWS account id for AWS Budgets definitions.
        #[arg(long, value_name = "ID")]
        account_id: Option<String>,
    },
    /// Create or update the AWS budgets.
    Apply {
        #[arg(long, value_name = "ID")]
        account_id: Option<String>,
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// AWS endpoint (for emulators); `AWS_ENDPOINT_URL` works too.
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
    },
}

/// `whatif` subcommands.
#[derive(Debug, Subcommand)]
pub enum WhatifCommand {
    /// The month on a cheaper model.
    Route {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Only requests of this owner (`key=value`, repeat).
        #[arg(long, value_name = "KEY=VALUE")]
        scope: Vec<String>,
        /// The high estimate's output tokens on the new model, as a multiple of the old.
        #[arg(long, default_value_t = 1.3, value_name = "FACTOR")]
        output_factor: f64,
    },
    /// Replay the month: past an owner's hard limit, non-critical requests go to the cheaper model.
    RouteAtHardLimit {
        /// The high estimate's output tokens on the new model, as a multiple of the old.
        #[arg(long, default_value_t = 1.3, value_name = "FACTOR")]
        output_factor: f64,
    },
    /// Exact repeats served from a cache, and provider prompt caching.
    Cache {
        /// Seconds a cached answer lives.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// Hit rate of provider prompt caching, 0 to 1.
        #[arg(long, default_value_t = 0.5)]
        prompt_cache_hit_rate: f64,
    },
    /// Spend a per-key rate limit would have stopped.
    Throttle {
        #[arg(long)]
        rpm: u32,
    },
}

/// `query` options.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The SQL statement.
    pub sql: String,
}

/// `fetch` options.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// `daily` or `monthly`.
    #[arg(long, default_value = "daily")]
    pub granularity: String,
    /// Group by (at most two): `tag:KEY`, `cost_category:NAME` or a dimension such as `SERVICE`.
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Metrics to pull.
    #[arg(long, value_delimiter = ',', default_value = "UnblendedCost,AmortizedCost")]
    pub metrics_list: Vec<String>,
    /// AWS endpoint (for emulators); `AWS_ENDPOINT_URL` works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The run's "today" (`YYYY-MM-DD`, default: the clock).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

/// `monthly` options.
#[derive(Debug, Clone, Args)]
pub struct MonthlyArgs {
    /// Basis of the chargeback and journal: `billed` ties to the invoice, `effective` to
    /// the amortized total.
    #[arg(long, value_enum, default_value_t = Basis::Effective)]
    pub basis: Basis,
    /// Exit 1 on these policy results: `soft`, `hard`, `anomaly` (comma list).
    #[arg(long, value_delimiter = ',')]
    pub fail_on: Vec<String>,
    /// AWS endpoint for S3 (for emulators); `AWS_ENDPOINT_URL` works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and say what it would read.
    Check,
}
