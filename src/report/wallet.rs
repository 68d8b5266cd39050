//! Denial of wallet: per API key and per user, a day whose gateway spend looks like abuse.
//!
//! Each subject (a hashed API key, or a user) is judged per day of the range against its own
//! history in the trailing `window_days`. The signals, each named with its values:
//! - `cost_velocity`: the day's cost is at least `velocity_factor` times the median of its
//!   earlier days (needs `min_history_days` of them);
//! - `output_at_max_tokens`: at least half of the requests that logged a `max_tokens` got
//!   95% of it or more back;
//! - `long_context`: at least half of the requests sent `long_context_tokens` or more
//!   (input plus cache reads);
//! - `expensive_model_share`: at least half of the day's cost went to the most expensive model
//!   (highest cost per token over all the data), 30 points or more above its usual share;
//! - `new_key`: an API key never seen before that day, when the data starts earlier;
//! - `unusual_hours`: at least half of five or more requests fell in hours of the day the
//!   subject never used in a week or more of history;
//! - `cache_bypass`: at least 80% of five or more repeated prompts missed the cache while
//!   the gateway's cache served hits elsewhere in the data.
//!
//! A day is flagged when `cost_velocity` fires or any two signals do, and its impact (the
//! cost above the median of earlier days, or the whole cost without history) is at least
//! `min_impact`. Unpriced requests count in the ratios but add no cost.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::config::AnomalyConfig;
use crate::money::Money;
use crate::report::anomalies::{Flag, kinds};
use crate::report::frames::median;
use crate::report::request_rows::Request;

/// Share of `max_tokens` at which an answer counts as cut at the maximum.
const AT_MAX: f64 = 0.95;
/// Share of requests that makes a ratio signal fire.
const MAJORITY: f64 = 0.5;
/// Smallest number of requests for the hour and cache signals.
const MIN_REQUESTS: usize = 5;

/// Which field names the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    ApiKey,
    User,
}

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Subject::ApiKey => "api_key",
            Subject::User => "user",
        }
    }

    fn of(self, request: &Request) -> Option<&str> {
        match self {
            Subject::ApiKey => request.api_key.as_deref(),
            Subject::User => request.user.as_deref(),
        }
    }
}

/// The model with the highest cost per token over all priced requests (`None` with fewer
/// than two models: a sole model is no sudden choice).
pub fn most_expensive_model(requests: &[Request]) -> Option<String> {
    let mut totals: BTreeMap<&str, (Money, i64)> = BTreeMap::new();
    for request in requests {
        if let (Some(model), Some(cost)) = (request.model.as_deref(), request.cost) {
            let entry = totals.entry(model).or_default();
            entry.0 += cost;
            entry.1 += request.tokens();
        }
    }
    if totals.len() < 2 {
        return None;
    }
    totals
        .into_iter()
        .filter(|(_, (_, tokens))| *tokens > 0)
        .map(|(model, (cost, tokens))| (model, cost.mul_ratio(1_000_000, i128::from(tokens))))
        .max_by_key(|(_, per_million)| *per_million)
        .map(|(model, _)| model.to_string())
}

/// Denial-of-wallet flags for API keys and users on the days in `[from, to)`.
pub fn denial_of_wallet(
    requests: &[Request],
    range: (Option<NaiveDate>, Option<NaiveDate>),
    config: &AnomalyConfig,
) -> Vec<Flag> {
    let expensive = most_expensive_model(requests);
    let first_day = requests.iter().filter_map(|r| r.day).min();
    let cache_works = requests.iter().any(|r| r.cache_hit);
    let context = Context { expensive: expensive.as_deref(), first_day, cache_works, config };
    let mut flags = Vec::new();
    for subject in [Subject::ApiKey, Subject::User] {
        let mut by_subject: BTreeMap<&str, Vec<&Request>> = BTreeMap::new();
        for request in requests {
            if let (Some(name), Some(_)) = (subject.of(request), request.day) {
                by_subject.entry(name).or_default().push(request);
            }
        }
        for (name, mut history) in by_subject {
            history.sort_by_key(|r| r.start);
            flags.extend(judge_subject(subject, name, &history, range, &context));
        }
    }
    flags
}

/// What every judgement needs besides the subject's own requests.
struct Context<'a> {
    expensive: Option<&'a str>,
    first_day: Option<NaiveDate>,
    cache_works: bool,
    config: &'a AnomalyConfig,
}

/// The flags of one subject, one per flagged day.
fn judge_subject(
    subject: Subject,
    name: &str,
    requests: &[&Request],
    range: (Option<NaiveDate>, Option<NaiveDate>),
    context: &Context<'_>,
) -> Vec<Flag> {
    let mut days: BTreeMap<NaiveDate, Vec<&Request>> = BTreeMap::new();
    for request in requests {
        if let Some(day) = request.day {
            days.entry(day).or_default().push(request);
        }
    }
    let in_range = |day: &NaiveDate| {
        range.0.is_none_or(|from| *day >= from) && range.1.is_none_or(|to| *day < to)
    };
    let mut flags = Vec::new();
    for (day, today) in days.iter().filter(|(day, _)| in_range(day)) {
        let window_start = *day - chrono::Duration::days(context.config.window_days.into());
        let history: Vec<&Request> =
            days.range(window_start..*day).flat_map(|(_, r)| r.iter().copied()).collect();
        let daily: Vec<Money> = days
            .range(window_start..*day)
            .map(|(_, r)| r.iter().filter_map(|q| q.cost).sum())
            .collect();
        let seen_before = days.range(..*day).next().is_some();
        if let Some(flag) =
            judge_day(subject, name, *day, today, &history, &daily, seen_before, context)
        {
            flags.push(flag);
        }
    }
    flags
}

/// The verdict on one subject and day.
#[allow(clippy::too_many_arguments)]
fn judge_day(
    subject: Subject,
    name: &str,
    day: NaiveDate,
    today: &[&Request],
    history: &[&Request],
    daily: &[Money],
    seen_before: bool,
    context: &Context<'_>,
) -> Option<Flag> {
    let config = context.config;
    let cost: Money = today.iter().filter_map(|r| r.cost).sum();
    let baseline =
        (daily.len() >= config.min_history_days as usize).then(|| median(daily)).flatten();
    let mut signals: Vec<String> = Vec::new();
    let mut velocity = false;
    if let Some(baseline) = baseline {
        let factor = ratio_of(cost, baseline);
        if factor.is_some_and(|f| f >= config.velocity_factor)
            || (baseline.is_zero() && cost >= config.min_impact)
        {
            velocity = true;
            signals.push(format!(
                "cost_velocity={} ({} against a median of {} over {} days)",
                factor.map_or("new spend".to_string(), |f| format!("{f:.1}x")),
                cost.cents_string(),
                baseline.cents_string(),
                daily.len()
            ));
        }
    }
    signals.extend(output_at_max(today));
    signals.extend(long_context(today, config.long_context_tokens));
    signals.extend(expensive_share(today, history, context.expensive));
    if subject == Subject::ApiKey && !seen_before && context.first_day.is_some_and(|f| f < day) {
        signals.push(format!("new_key=first seen {day}"));
    }
    signals.extend(unusual_hours(today, history));
    if context.cache_works {
        signals.extend(cache_bypass(today, history));
    }
    let impact = cost - baseline.unwrap_or(Money::ZERO);
    if !(velocity || signals.len() >= 2) || impact < config.min_impact {
        return None;
    }
    Some(Flag {
        kind: kinds::DENIAL_OF_WALLET,
        subject_type: subject.name().to_string(),
        subject: name.to_string(),
        day: Some(day),
        expected: baseline,
        actual: cost,
        impact,
        reason: signals.join("; "),
    })
}

/// `part / whole` of two amounts, `None` for a zero whole.
fn ratio_of(part: Money, whole: Money) -> Option<f64> {
    (!whole.is_zero()).then(|| part.to_f64_lossy() / whole.to_f64_lossy())
}

/// A fraction as a whole percentage.
fn percent(count: usize, of: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let share = count as f64 / of.max(1) as f64;
    share * 100.0
}

/// `output_at_max_tokens` when most requests with a limit hit it.
fn output_at_max(today: &[&Request]) -> Option<String> {
    let limited: Vec<&&Request> = today.iter().filter(|r| r.max_tokens.is_some()).collect();
    #[allow(clippy::cast_precision_loss)]
    let at_max = limited
        .iter()
        .filter(|r| r.output_tokens as f64 >= AT_MAX * r.max_tokens.unwrap_or(i64::MAX) as f64)
        .count();
    (!limited.is_empty() && percent(at_max, limited.len()) >= MAJORITY * 100.0).then(|| {
        format!(
            "output_at_max_tokens={:.0}% ({at_max} of {} requests at 95% or more of max_tokens)",
            percent(at_max, limited.len()),
            limited.len()
        )
    })
}

/// `long_context` when most requests are long.
fn long_context(today: &[&Request], limit: i64) -> Option<String> {
    let long = today.iter().filter(|r| r.input_tokens + r.cache_read_tokens >= limit).count();
    (percent(long, today.len()) >= MAJORITY * 100.0).then(|| {
        format!(
            "long_context={:.0}% ({long} of {} requests with {limit} input tokens or more)",
            percent(long, today.len()),
            today.len()
        )
    })
}

/// Share of cost on `model`, `None` without cost.
fn cost_share(requests: &[&Request], model: &str) -> Option<f64> {
    let total: Money = requests.iter().filter_map(|r| r.cost).sum();
    let on_model: Money =
        requests.iter().filter(|r| r.model.as_deref() == Some(model)).filter_map(|r| r.cost).sum();
    ratio_of(on_model, total)
}

/// `expensive_model_share` when the most expensive model suddenly takes most of the cost.
fn expensive_share(
    today: &[&Request],
    history: &[&Request],
    expensive: Option<&str>,
) -> Option<String> {
    let model = expensive?;
    let share = cost_share(today, model)?;
    let usual = cost_share(history, model).unwrap_or(0.0);
    (share >= MAJORITY && share - usual >= 0.3).then(|| {
        format!(
            "expensive_model_share={:.0}% of cost on `{model}` (usually {:.0}%)",
            share * 100.0,
            usual * 100.0
        )
    })
}

/// `unusual_hours` when most requests come at hours the subject never used before.
fn unusual_hours(today: &[&Request], history: &[&Request]) -> Option<String> {
    let history_days: BTreeSet<NaiveDate> = history.iter().filter_map(|r| r.day).collect();
    if history_days.len() < 7 || today.len() < MIN_REQUESTS {
        return None;
    }
    let usual: BTreeSet<u32> = history.iter().map(|r| r.hour).collect();
    let odd: Vec<u32> = today.iter().map(|r| r.hour).filter(|h| !usual.contains(h)).collect();
    let hours: BTreeSet<u32> = odd.iter().copied().collect();
    (percent(odd.len(), today.len()) >= MAJORITY * 100.0).then(|| {
        format!(
            "unusual_hours={} of {} requests at hours {:?} never used in {} days before",
            odd.len(),
            today.len(),
            hours,
            history_days.len()
        )
    })
}

/// `cache_bypass` when repeated prompts keep missing the cache.
fn cache_bypass(today: &[&Request], history: &[&Request]) -> Option<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for request in history {
        if let Some(hash) = request.prompt_hash.as_deref() {
            *seen.entry(hash).or_default() += 1;
        }
    }
    let (mut repeats, mut missed) = (0, 0);
    for request in today {
        let Some(hash) = request.prompt_hash.as_deref() else { continue };
        let count = seen.entry(hash).or_default();
        if *count > 0 {
            repeats += 1;
            missed += usize::from(!request.cache_hit);
        }
        *count += 1;
    }
    (repeats >= MIN_REQUESTS && percent(missed, repeats) >= 80.0).then(|| {
        format!(
            "cache_bypass={:.0}% ({missed} of {repeats} repeated prompts missed the cache)",
            percent(missed, repeats)
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Utc};

    fn request(day: u32, key: &str, model: &str, cost: &str, output: i64) -> Request {
        let start = Utc.with_ymd_and_hms(2026, 3, day, 10, 0, 0).unwrap();
        Request {
            start: Some(start),
            day: Some(start.date_naive()),
            hour: 10,
            api_key: Some(key.into()),
            model: Some(model.into()),
            input_tokens: 10_000,
            output_tokens: output,
            max_tokens: Some(4096),
            cost: Some(Money::parse(cost).unwrap()),
            ..Request::default()
        }
    }

    #[test]
    fn runaway_key_is_flagged_with_three_signals() {
        // $2 a day for 20 days on the cheap model (2 / 10,100 tokens = $198 per 1M tokens),
        // then 30 requests of $3 on `opus` ($3 / 14,096 tokens = $213 per 1M, the most
        // expensive) with 4,096 of 4,096 output tokens: $90.
        let mut requests: Vec<Request> =
            (1..=20).map(|d| request(d, "k1", "haiku", "2", 100)).collect();
        requests.extend((0..30).map(|_| request(21, "k1", "opus", "3", 4096)));
        assert_eq!(most_expensive_model(&requests).as_deref(), Some("opus"));
        let day = NaiveDate::from_ymd_opt(2026, 3, 21).unwrap();
        let flags = denial_of_wallet(&requests, (Some(day), None), &AnomalyConfig::default());
        assert_eq!(flags.len(), 1, "{flags:?}");
        let flag = &flags[0];
        assert_eq!((flag.subject_type.as_str(), flag.subject.as_str()), ("api_key", "k1"));
        // Median $2, actual $90: 45x, impact $88.
        assert_eq!(flag.expected, Some(Money::from_units(2)));
        assert_eq!(flag.actual, Money::from_units(90));
        assert_eq!(flag.impact, Money::from_units(88));
        assert!(flag.reason.contains("cost_velocity=45.0x"), "{}", flag.reason);
        assert!(flag.reason.contains("output_at_max_tokens=100%"), "{}", flag.reason);
        assert!(flag.reason.contains("expensive_model_share=100%"), "{}", flag.reason);
    }

    #[test]
    fn steady_key_is_not_flagged() {
        let requests: Vec<Request> =
            (1..=21).map(|d| request(d, "k1", "haiku", "2", 100)).collect();
        assert_eq!(denial_of_wallet(&requests, (None, None), &AnomalyConfig::default()), vec![]);
    }

    #[test]
    fn new_key_at_max_tokens_is_flagged_without_history() {
        let mut requests: Vec<Request> =
            (1..=5).map(|d| request(d, "old", "haiku", "2", 100)).collect();
        requests.extend((0..10).map(|_| request(6, "fresh", "haiku", "1", 4096)));
        let flags = denial_of_wallet(&requests, (None, None), &AnomalyConfig::default());
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0].subject, "fresh");
        assert!(flags[0].reason.contains("new_key=first seen 2026-03-06"), "{}", flags[0].reason);
        assert_eq!(flags[0].impact, Money::from_units(10));
    }
}
