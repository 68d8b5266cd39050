//! The canonical frames: column names, declared once, and their types.
//!
//! Every stage after ingest sees only these names. Source-specific names live in the
//! readers under `src/ingest/`.

use polars::prelude::{DataType, TimeUnit, TimeZone};

use crate::money;

/// Columns of the `costs` frame: one row per invoice line.
pub mod costs {
    pub const CHARGE_PERIOD_START: &str = "charge_period_start";
    pub const BILLING_PERIOD: &str = "billing_period";
    pub const PROVIDER: &str = "provider";
    pub const BILLING_ACCOUNT_ID: &str = "billing_account_id";
    pub const SUB_ACCOUNT_ID: &str = "sub_account_id";
    pub const INVOICE_ID: &str = "invoice_id";
    pub const SERVICE_NAME: &str = "service_name";
    pub const REGION_ID: &str = "region_id";
    pub const USAGE_TYPE: &str = "usage_type";
    pub const CHARGE_CATEGORY: &str = "charge_category";
    pub const LINE_ITEM_TYPE: &str = "line_item_type";
    pub const RESOURCE_ID: &str = "resource_id";
    pub const MODEL: &str = "model";
    pub const TOKEN_TYPE: &str = "token_type";
    pub const CONSUMED_QUANTITY: &str = "consumed_quantity";
    pub const CONSUMED_UNIT: &str = "consumed_unit";
    pub const BILLED_COST: &str = "billed_cost";
    pub const EFFECTIVE_COST: &str = "effective_cost";
    pub const LIST_COST: &str = "list_cost";
    pub const BILLING_CURRENCY: &str = "billing_currency";
    pub const SOURCE_FILE: &str = "source_file";
    /// Number of taxonomy keys on the line whose sources disagreed.
    pub const TAG_CONFLICTS: &str = "tag_conflicts";
    /// Which taxonomy columns of the line were filled by a fallback, not a tag: bit `i` for
    /// the `i`-th owner column.
    pub const OWNER_FALLBACKS: &str = "owner_fallbacks";
    /// True when the period is not final (Cost Explorer `Estimated`, blank invoice id).
    pub const PROVISIONAL: &str = "provisional";

    /// Net unblended cost (after discounts), from Cost Explorer; not among the fixed columns.
    pub const NET_BILLED_COST: &str = "net_billed_cost";
    /// Net amortized cost (after discounts), from Cost Explorer; not among the fixed columns.
    pub const NET_EFFECTIVE_COST: &str = "net_effective_cost";
    /// Optional: the source region of a data transfer line, when the bill gives it.
    pub const FROM_REGION_ID: &str = "from_region_id";
    /// Optional: the destination region of a data transfer line, when the bill gives it.
    pub const TO_REGION_ID: &str = "to_region_id";

    /// The fixed columns, in output order; taxonomy columns follow them.
    pub const FIXED: [&str; 24] = [
        CHARGE_PERIOD_START,
        BILLING_PERIOD,
        PROVIDER,
        BILLING_ACCOUNT_ID,
        SUB_ACCOUNT_ID,
        INVOICE_ID,
        SERVICE_NAME,
        REGION_ID,
        USAGE_TYPE,
        CHARGE_CATEGORY,
        LINE_ITEM_TYPE,
        RESOURCE_ID,
        MODEL,
        TOKEN_TYPE,
        CONSUMED_QUANTITY,
        CONSUMED_UNIT,
        BILLED_COST,
        EFFECTIVE_COST,
        LIST_COST,
        BILLING_CURRENCY,
        SOURCE_FILE,
        TAG_CONFLICTS,
        OWNER_FALLBACKS,
        PROVISIONAL,
    ];

    /// Money columns.
    pub const MONEY: [&str; 3] = [BILLED_COST, EFFECTIVE_COST, LIST_COST];
}

/// Columns of the `requests` frame: one row per gateway request.
pub mod requests {
    pub const REQUEST_ID: &str = "request_id";
    pub const TRACE_ID: &str = "trace_id";
    pub const START_TIME: &str = "start_time";
    pub const API_KEY: &str = "api_key";
    pub const USER: &str = "user";
    pub const END_USER: &str = "end_user";
    pub const MODEL: &str = "model";
    pub const MODEL_ALIAS: &str = "model_alias";
    pub const PROVIDER: &str = "provider";
    pub const CALL_TYPE: &str = "call_type";
    pub const STATUS: &str = "status";
    pub const ATTEMPT: &str = "attempt";
    pub const CACHE_HIT: &str = "cache_hit";
    pub const PROMPT_HASH: &str = "prompt_hash";
    pub const INPUT_TOKENS: &str = "input_tokens";
    pub const OUTPUT_TOKENS: &str = "output_tokens";
    pub const CACHE_READ_TOKENS: &str = "cache_read_tokens";
    pub const CACHE_WRITE_TOKENS: &str = "cache_write_tokens";
    pub const REASONING_TOKENS: &str = "reasoning_tokens";
    pub const MAX_TOKENS: &str = "max_tokens";
    pub const LOGGED_COST: &str = "logged_cost";
    pub const PRICED_COST: &str = "priced_cost";
    pub const LATENCY_MS: &str = "latency_ms";
    pub const SOURCE_FILE: &str = "source_file";

    /// The fixed columns, in output order; owner (taxonomy) columns follow them.
    pub const FIXED: [&str; 24] = [
        REQUEST_ID,
        TRACE_ID,
        START_TIME,
        API_KEY,
        USER,
        END_USER,
        MODEL,
        MODEL_ALIAS,
        PROVIDER,
        CALL_TYPE,
        STATUS,
        ATTEMPT,
        CACHE_HIT,
        PROMPT_HASH,
        INPUT_TOKENS,
        OUTPUT_TOKENS,
        CACHE_READ_TOKENS,
        CACHE_WRITE_TOKENS,
        REASONING_TOKENS,
        MAX_TOKENS,
        LOGGED_COST,
        PRICED_COST,
        LATENCY_MS,
        SOURCE_FILE,
    ];

    /// Integer columns (token counts, attempt, limits, latency).
    pub const INTEGERS: [&str; 8] = [
        ATTEMPT,
        INPUT_TOKENS,
        OUTPUT_TOKENS,
        CACHE_READ_TOKENS,
        CACHE_WRITE_TOKENS,
        REASONING_TOKENS,
        MAX_TOKENS,
        LATENCY_MS,
    ];

    /// Money columns.
    pub const MONEY: [&str; 2] = [LOGGED_COST, PRICED_COST];
}

/// Columns of the `prices` frame: one row per model and validity window.
pub mod prices {
    pub const MODEL: &str = "model";
    pub const PROVIDER: &str = "provider";
    pub const VALID_FROM: &str = "valid_from";
    pub const VALID_TO: &str = "valid_to";
    pub const INPUT: &str = "input_per_token";
    pub const OUTPUT: &str = "output_per_token";
    pub const CACHE_READ: &str = "cache_read_per_token";
    pub const CACHE_WRITE: &str = "cache_write_per_token";
    pub const REASONING: &str = "reasoning_per_token";
    pub const SOURCE: &str = "source";
}

/// Columns of the `metrics` frame: business figures by day and owner.
pub mod metrics {
    pub const DATE: &str = "date";
    pub const METRIC: &str = "metric";
    pub const VALUE: &str = "value";
}

/// Columns of the `allocations` frame: every invoice dollar with its owner and method.
pub mod allocations {
    pub const METHOD: &str = "method";
    pub const RULE: &str = "rule";
    pub const AMOUNT: &str = "amount";
    pub const BASIS: &str = "basis";
}

/// The owner of cost that nothing could attribute.
pub const UNALLOCATED: &str = "__unallocated__";
/// The owner of cost shared by rule before it is split.
pub const SHARED: &str = "__shared__";

/// The dtype of every money column: `Decimal(38, 18)`.
pub fn money_dtype() -> DataType {
    DataType::Decimal(money::PRECISION, money::SCALE as usize)
}

/// The dtype of every instant: milliseconds since the epoch, UTC.
pub fn instant_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
}
