//! What-ifs: a period of gateway requests re-priced under routing, caching or throttling.
//!
//! Pure: request rows (already cut to the period and scope by the caller), a pricer and
//! the scenario's settings in, outcomes out. A request whose cost or re-priced cost is
//! unknown is counted in `unpriced` and left out of both the baseline and the scenario, so
//! the two stay comparable and nothing unknown is ever taken as $0.
//!
//! Assumptions, stated again in the command's output:
//! - **route**: output length differs between models. The low estimate keeps each
//!   request's output tokens; the high one multiplies them by `output_factor` (1.3 by
//!   default), rounded up. Input, cache-read and cache-write tokens are kept.
//! - **route at the hard limit**: the requests of a budget's scope are replayed in time
//!   order; from the first request after the running spend (the requests' own cost, priced
//!   else logged, not the invoice) reaches the hard limit, the scope's requests of
//!   `route.from` whose `app` is not in `[critical] apps` go to `route.to` (as a gateway
//!   would do), until the budget's period resets. The switch day is the day of the first
//!   routed request.
//! - **exact-repeat cache**: a response is cached per model and prompt hash when a request
//!   misses; a later request with the same model and hash within the TTL of that write is
//!   served from the cache at no cost. Requests the gateway already served from its cache
//!   and requests without a prompt hash are not cacheable.
//! - **provider prompt caching**: a share of each request's input tokens equal to the hit
//!   rate is read from the provider's cache at the cache-read price; the rest is written to
//!   it at the cache-write price (its premium), both from the price book.
//! - **throttle**: per API key and UTC clock minute, requests after the first `rpm` are
//!   delayed (not lost); the spend they represent is what the limit holds back.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::config::{BudgetConfig, HardLimitAction};
use crate::model::UNALLOCATED;
use crate::money::Money;
use crate::report::budgets::budget_period;
use crate::report::ledger::{RequestPricer, RequestRow, Scope};

/// The owner key that `[critical] apps` refers to.
pub const APP_KEY: &str = "app";

/// Output tokens of the high estimate: `output × factor_per_mille / 1000`, rounded up.
pub fn scaled_output(output: i64, factor_per_mille: i64) -> i64 {
    (output * factor_per_mille + 999).div_euclid(1000)
}

/// Routing one model's requests to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOutcome {
    pub requests: u64,
    pub unpriced: u64,
    pub current: Money,
    pub routed_low: Money,
    pub routed_high: Money,
}

impl RouteOutcome {
    /// Saving when the cheaper model writes longer answers (the high estimate).
    pub fn saving_low(&self) -> Money {
        self.current - self.routed_high
    }

    /// Saving when output length stays the same.
    pub fn saving_high(&self) -> Money {
        self.current - self.routed_low
    }
}

/// The low and high price of a request on `to`, when both are known.
fn reprice(
    row: &RequestRow,
    to: &str,
    factor_per_mille: i64,
    pricer: &dyn RequestPricer,
) -> Option<(Money, Money)> {
    let price = |output| {
        pricer.price(
            to,
            row.at,
            row.input_tokens,
            output,
            row.cache_read_tokens,
            row.cache_write_tokens,
        )
    };
    Some((price(row.output_tokens)?, price(scaled_output(row.output_tokens, factor_per_mille))?))
}

/// The requests of model `from` re-priced on `to`.
pub fn route(
    rows: &[RequestRow],
    from: &str,
    to: &str,
    factor_per_mille: i64,
    pricer: &dyn RequestPricer,
) -> RouteOutcome {
    let mut outcome = RouteOutcome::default();
    for row in rows.iter().filter(|r| r.model == from) {
        outcome.requests += 1;
        match (row.cost, reprice(row, to, factor_per_mille, pricer)) {
            (Some(cost), Some((low, high))) => {
                outcome.current += cost;
                outcome.routed_low += low;
                outcome.routed_high += high;
            }
            _ => outcome.unpriced += 1,
        }
    }
    outcome
}

/// True when the request's `app` is one of `[critical] apps` (never routed).
pub fn is_critical(row: &RequestRow, critical_apps: &[String]) -> bool {
    row.owners
        .get(APP_KEY)
        .is_some_and(|app| critical_apps.iter().any(|c| c.trim().eq_ignore_ascii_case(app.trim())))
}

/// A budget's period replayed with routing at its hard limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardLimitReplay {
    pub budget: String,
    pub scope: String,
    pub from: String,
    pub to: String,
    pub hard_limit: Money,
    pub requests: u64,
    pub unpriced: u64,
    /// What the priced requests cost.
    pub actual: Money,
    /// The same requests with routing, output kept.
    pub replayed_low: Money,
    /// The same with routed output scaled by the factor.
    pub replayed_high: Money,
    /// The UTC day of the first routed request.
    pub switch_day: Option<NaiveDate>,
    pub routed_requests: u64,
}

/// Replays `rows` (the period's requests, any scope) for one budget whose hard-limit action
/// is `route`; `None` for budgets with another action.
pub fn route_at_hard_limit(
    rows: &[RequestRow],
    budget: &BudgetConfig,
    scope: &Scope,
    critical_apps: &[String],
    factor_per_mille: i64,
    pricer: &dyn RequestPricer,
) -> Option<HardLimitReplay> {
    let Some(HardLimitAction::Route { from, to }) = &budget.action else { return None };
    let mut replay = HardLimitReplay {
        budget: budget.name.clone(),
        scope: scope.label(),
        from: from.clone(),
        to: to.clone(),
        hard_limit: budget.hard(),
        requests: 0,
        unpriced: 0,
        actual: Money::ZERO,
        replayed_low: Money::ZERO,
        replayed_high: Money::ZERO,
        switch_day: None,
        routed_requests: 0,
    };
    let mut period_start: Option<DateTime<Utc>> = None;
    let mut spent = Money::ZERO;
    for row in rows.iter().filter(|r| scope.matches(r)) {
        replay.requests += 1;
        let start = budget_period(budget, row.at + Duration::milliseconds(1)).start;
        if period_start != Some(start) {
            period_start = Some(start);
            spent = Money::ZERO;
        }
        let routed =
            spent >= budget.hard() && row.model == *from && !is_critical(row, critical_apps);
        let Some(cost) = row.cost else {
            replay.unpriced += 1;
            continue;
        };
        if !routed {
            spent += cost;
            replay.actual += cost;
            replay.replayed_low += cost;
            replay.replayed_high += cost;
            continue;
        }
        let Some((low, high)) = reprice(row, to, factor_per_mille, pricer) else {
            replay.unpriced += 1;
            continue;
        };
        spent += low;
        replay.actual += cost;
        replay.replayed_low += low;
        replay.replayed_high += high;
        replay.routed_requests += 1;
        replay.switch_day.get_or_insert(row.day());
    }
    Some(replay)
}

/// A caching scenario against the requests as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheOutcome {
    pub requests: u64,
    /// Requests served from the cache (exact repeats) or with cached input (prompt caching).
    pub affected: u64,
    pub unpriced: u64,
    pub baseline: Money,
    pub scenario: Money,
}

impl CacheOutcome {
    /// Baseline minus scenario.
    pub fn saving(&self) -> Money {
        self.baseline - self.scenario
    }
}

/// Exact repeats of a prompt within `ttl` served from a cache.
pub fn exact_repeat_cache(rows: &[RequestRow], ttl: Duration) -> CacheOutcome {
    let mut outcome = CacheOutcome::default();
    let mut written: BTreeMap<(&str, &str), DateTime<Utc>> = BTreeMap::new();
    for row in rows {
        outcome.requests += 1;
        let Some(cost) = row.cost else {
            outcome.unpriced += 1;
            continue;
        };
        outcome.baseline += cost;
        let Some(hash) = row.prompt_hash.as_deref().filter(|_| !row.cache_hit) else {
            outcome.scenario += cost;
            continue;
        };
        let key = (row.model.as_str(), hash);
        match written.get(&key) {
            Some(write) if row.at - *write < ttl => outcome.affected += 1,
            _ => {
                written.insert(key, row.at);
                outcome.scenario += cost;
            }
        }
    }
    outcome
}

/// Provider prompt caching at `hit_rate_basis_points` (5,000 is 50%).
pub fn prompt_cache(
    rows: &[RequestRow],
    hit_rate_basis_points: i64,
    pricer: &dyn RequestPricer,
) -> CacheOutcome {
    let mut outcome = CacheOutcome::default();
    for row in rows {
        outcome.requests += 1;
        let read = (row.input_tokens * hit_rate_basis_points + 5_000).div_euclid(10_000);
        let write = row.input_tokens - read;
        let base = pricer.price(
            &row.model,
            row.at,
            row.input_tokens,
            row.output_tokens,
            row.cache_read_tokens,
            row.cache_write_tokens,
        );
        let cached = pricer.price(
            &row.model,
            row.at,
            0,
            row.output_tokens,
            row.cache_read_tokens + read,
            row.cache_write_tokens + write,
        );
        let (Some(base), Some(cached)) = (base, cached) else {
            outcome.unpriced += 1;
            continue;
        };
        outcome.baseline += base;
        outcome.scenario += cached;
        if row.input_tokens > 0 {
            outcome.affected += 1;
        }
    }
    outcome
}

/// One API key under a per-minute rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleOutcome {
    pub api_key: String,
    pub requests: u64,
    pub delayed: u64,
    /// Spend of the delayed requests that have a cost.
    pub delayed_spend: Money,
    pub delayed_unpriced: u64,
    /// The most requests the key sent in one minute.
    pub peak_per_minute: u64,
}

/// Requests over `rpm` in a UTC clock minute, per API key, sorted by key.
pub fn throttle(rows: &[RequestRow], rpm: u32) -> Vec<ThrottleOutcome> {
    let mut per_minute: BTreeMap<(&str, i64), u64> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, ThrottleOutcome> = BTreeMap::new();
    for row in rows {
        let key = row.api_key.as_deref().unwrap_or(UNALLOCATED);
        let count = per_minute.entry((key, row.at.timestamp().div_euclid(60))).or_insert(0);
        *count += 1;
        let outcome = outcomes
            .entry(key)
            .or_insert_with(|| ThrottleOutcome { api_key: key.to_string(), ..Default::default() });
        outcome.requests += 1;
        outcome.peak_per_minute = outcome.peak_per_minute.max(*count);
        if *count > u64::from(rpm) {
            outcome.delayed += 1;
            match row.cost {
                Some(cost) => outcome.delayed_spend += cost,
                None => outcome.delayed_unpriced += 1,
            }
        }
    }
    outcomes.into_values().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::report::ledger::OverridePrices;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn prices() -> OverridePrices {
        let config = Config::parse(
            "[[prices.override]]\nmodel = \"big\"\ninput = \"3 per 1M\"\noutput = \"15 per 1M\"\n\
             cache_read = \"0.3 per 1M\"\ncache_write = \"3.75 per 1M\"\n\
             [[prices.override]]\nmodel = \"small\"\ninput = \"0.15 per 1M\"\n\
             output = \"0.6 per 1M\"\n",
        )
        .unwrap();
        OverridePrices::from_config(&config).unwrap()
    }

    fn request(at: &str, model: &str, input: i64, output: i64, cost: Option<&str>) -> RequestRow {
        RequestRow {
            at: at.parse().unwrap(),
            model: model.into(),
            input_tokens: input,
            output_tokens: output,
            cost: cost.map(money),
            ..RequestRow::default()
        }
    }

    #[test]
    fn route_big_to_small_worked_by_hand() {
        // r1: 1,000 in, 500 out on big = 0.003 + 0.0075 = 0.0105.
        // r2: 2,000 in, 1,000 out on big = 0.006 + 0.015 = 0.021. Current 0.0315.
        // Low on small: r1 0.00015 + 0.0003 = 0.00045; r2 0.0003 + 0.0006 = 0.0009; 0.00135.
        // High (output × 1.3): r1 650 out, 0.00015 + 0.00039 = 0.00054;
        // r2 1,300 out, 0.0003 + 0.00078 = 0.00108; 0.00162.
        // A third request has no cost: counted apart. A fourth is another model.
        let rows = [
            request("2026-11-01T10:00:00Z", "big", 1000, 500, Some("0.0105")),
            request("2026-11-02T10:00:00Z", "big", 2000, 1000, Some("0.021")),
            request("2026-11-03T10:00:00Z", "big", 5000, 5000, None),
            request("2026-11-03T11:00:00Z", "small", 5000, 5000, Some("1")),
        ];
        let outcome = route(&rows, "big", "small", 1300, &prices());
        assert_eq!(outcome.requests, 3);
        assert_eq!(outcome.unpriced, 1);
        assert_eq!(outcome.current, money("0.0315"));
        assert_eq!(outcome.routed_low, money("0.00135"));
        assert_eq!(outcome.routed_high, money("0.00162"));
        assert_eq!(outcome.saving_high(), money("0.03015"));
        assert_eq!(outcome.saving_low(), money("0.02988"));
    }

    #[test]
    fn route_at_hard_limit_switches_after_the_limit_and_spares_critical_apps() {
        // Hard limit $10. Day 1: $6, day 2: $6 (running $12, reached on day 2, at that
        // request). Day 3: two `big` requests of 1M input each ($3 on big, $0.15 on small),
        // one from the critical app `triage`, which stays on big.
        let budget = Config::parse(
            "[[budgets]]\nname = \"b\"\nscope = { dept = \"sales\" }\nlimit = 10\n\
             action = { kind = \"route\", from = \"big\", to = \"small\" }\n",
        )
        .unwrap()
        .budgets
        .remove(0);
        let owned = |mut row: RequestRow, app: &str| {
            row.owners.insert("dept".into(), "sales".into());
            row.owners.insert(APP_KEY.into(), app.into());
            row
        };
        let rows = [
            owned(request("2026-11-01T10:00:00Z", "big", 0, 0, Some("6")), "chat"),
            owned(request("2026-11-02T10:00:00Z", "big", 0, 0, Some("6")), "chat"),
            owned(request("2026-11-03T10:00:00Z", "big", 1_000_000, 0, Some("3")), "chat"),
            owned(request("2026-11-03T11:00:00Z", "big", 1_000_000, 0, Some("3")), "triage"),
        ];
        let scope = Scope::from_pairs(&[("dept".into(), "sales".into())]);
        let replay =
            route_at_hard_limit(&rows, &budget, &scope, &["triage".into()], 1300, &prices())
                .unwrap();
        // Actual 6 + 6 + 3 + 3 = 18; replayed 6 + 6 + 0.15 + 3 = 15.15.
        assert_eq!(replay.actual, money("18"));
        assert_eq!(replay.replayed_low, money("15.15"));
        assert_eq!(replay.replayed_high, money("15.15"), "no output tokens to scale");
        assert_eq!(replay.routed_requests, 1);
        assert_eq!(replay.switch_day, NaiveDate::from_ymd_opt(2026, 11, 3));
    }

    #[test]
    fn exact_repeats_within_ttl_are_free() {
        // Same hash at 10:00 (write), 10:30 (hit), 11:10 (70 min after the write: miss,
        // rewrite), 11:20 (hit). TTL one hour. $1 each: baseline 4, scenario 2.
        let hashed = |at: &str| RequestRow {
            prompt_hash: Some("h1".into()),
            ..request(at, "big", 1, 1, Some("1"))
        };
        let rows = [
            hashed("2026-11-01T10:00:00Z"),
            hashed("2026-11-01T10:30:00Z"),
            hashed("2026-11-01T11:10:00Z"),
            hashed("2026-11-01T11:20:00Z"),
            request("2026-11-01T11:30:00Z", "big", 1, 1, None),
        ];
        let outcome = exact_repeat_cache(&rows, Duration::hours(1));
        assert_eq!(outcome.affected, 2);
        assert_eq!(outcome.baseline, money("4"));
        assert_eq!(outcome.saving(), money("2"));
        assert_eq!(outcome.unpriced, 1);
    }

    #[test]
    fn prompt_cache_pays_the_write_premium() {
        // 1M input on big at 50%: 500k read at 0.3/M = 0.15, 500k written at 3.75/M = 1.875;
        // scenario 2.025 against 3.00 baseline; saving 0.975. `small` has no cache prices,
        // so its cache reads and writes cost the input price: no saving, no premium.
        // `other` has no price at all: counted apart.
        let rows = [
            request("2026-11-01T10:00:00Z", "big", 1_000_000, 0, Some("3")),
            request("2026-11-01T10:00:00Z", "small", 1_000_000, 0, Some("1")),
            request("2026-11-01T10:00:00Z", "other", 1_000_000, 0, Some("1")),
        ];
        let outcome = prompt_cache(&rows, 5_000, &prices());
        assert_eq!(outcome.baseline, money("3.15"));
        assert_eq!(outcome.scenario, money("2.175"));
        assert_eq!(outcome.saving(), money("0.975"));
        assert_eq!(outcome.unpriced, 1);
    }

    #[test]
    fn throttle_delays_requests_over_the_rate_per_key_and_minute() {
        // Key a: 3 requests in 10:00, 1 in 10:01; at 2 rpm one is delayed ($5).
        let keyed = |at: &str, key: &str, cost: &str| RequestRow {
            api_key: Some(key.into()),
            ..request(at, "big", 1, 1, Some(cost))
        };
        let rows = [
            keyed("2026-11-01T10:00:01Z", "a", "1"),
            keyed("2026-11-01T10:00:02Z", "a", "1"),
            keyed("2026-11-01T10:00:59Z", "a", "5"),
            keyed("2026-11-01T10:01:00Z", "a", "1"),
            keyed("2026-11-01T10:00:03Z", "b", "1"),
        ];
        let outcomes = throttle(&rows, 2);
        assert_eq!(outcomes[0].api_key, "a");
        assert_eq!(outcomes[0].delayed, 1);
        assert_eq!(outcomes[0].delayed_spend, money("5"));
        assert_eq!(outcomes[0].peak_per_minute, 3);
        assert_eq!(outcomes[1].delayed, 0);
    }
}
