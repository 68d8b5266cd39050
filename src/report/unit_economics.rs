//! Unit economics: what a request, a transaction, an active user and a thousand tokens cost
//! per owner group, what a business transaction costs and what a thousand tokens earn, and
//! how each moved since the previous month.
//!
//! The cost is the gateway's priced cost of each request (the price book, else the logged
//! cost). Unpriced requests are left out of every average and counted apart in
//! `unpriced_requests`. A transaction is a trace (a request without a trace is its own
//! transaction); an active user is the end user, else the user, of a priced request. Tokens
//! are input, output and cache tokens. Averages are exact ([`Money`] division) and rounded
//! half away from zero to the micro-dollar (6 decimals) in the report.
//!
//! Business metrics join on the same owner values: `transactions` gives the cost per business
//! transaction, `revenue` the revenue per thousand tokens. Changes are fractions of the
//! previous month's value. Flags: `efficiency_problem` when the cost per transaction rose by
//! more than 10% while active users moved by 5% or less; `innovation_grant_candidate` for the
//! three groups whose tokens per transaction fell the most.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::ingest::builder::money_column;
use crate::model::metrics;
use crate::money::Money;
use crate::report::frames::{self, round_places};
use crate::report::request_rows::Request;

/// The business metric that counts transactions.
pub const TRANSACTIONS_METRIC: &str = "transactions";
/// The business metric that holds revenue.
pub const REVENUE_METRIC: &str = "revenue";
/// Decimals kept in averages.
const AVERAGE_PLACES: u32 = 6;
/// Groups flagged as innovation grant candidates.
const GRANT_CANDIDATES: usize = 3;

/// One group's figures for one month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub requests: u64,
    pub unpriced_requests: u64,
    pub transactions: u64,
    pub active_users: u64,
    pub tokens: i64,
    pub cost: Money,
    pub business_transactions: Option<Money>,
    pub revenue: Option<Money>,
}

impl Figures {
    /// Cost per request.
    pub fn per_request(&self) -> Option<Money> {
        per(self.cost, self.requests)
    }

    /// Cost per transaction.
    pub fn per_transaction(&self) -> Option<Money> {
        per(self.cost, self.transactions)
    }

    /// Cost per active user.
    pub fn per_user(&self) -> Option<Money> {
        per(self.cost, self.active_users)
    }

    /// Cost per thousand tokens.
    pub fn per_1k_tokens(&self) -> Option<Money> {
        (self.tokens > 0).then(|| self.cost.mul_ratio(1000, i128::from(self.tokens)))
    }

    /// Tokens per transaction.
    #[allow(clippy::cast_precision_loss)]
    pub fn tokens_per_transaction(&self) -> Option<f64> {
        frames::ratio(self.tokens as f64, self.transactions as f64)
    }

    /// Cost per business transaction.
    pub fn per_business_transaction(&self) -> Option<Money> {
        let count = self.business_transactions.filter(|c| !c.is_zero())?;
        Some(self.cost.mul_ratio(crate::money::ONE, count.raw()))
    }

    /// Revenue per thousand tokens.
    pub fn revenue_per_1k_tokens(&self) -> Option<Money> {
        let revenue = self.revenue?;
        (self.tokens > 0).then(|| revenue.mul_ratio(1000, i128::from(self.tokens)))
    }
}

/// `cost / count`, `None` for no count.
fn per(cost: Money, count: u64) -> Option<Money> {
    (count > 0).then(|| cost.div_int(i128::from(count)))
}

/// Figures per owner group for requests starting in `[start, end)`.
pub fn figures(
    requests: &[Request],
    business: Option<&DataFrame>,
    keys: &[String],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<BTreeMap<Vec<String>, Figures>> {
    let mut groups: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
    let mut traces: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut users: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for (index, request) in requests.iter().enumerate() {
        if !request.start.is_some_and(|s| s >= start && s < end) {
            continue;
        }
        let figures = groups.entry(request.owners.clone()).or_default();
        let Some(cost) = request.cost else {
            figures.unpriced_requests += 1;
            continue;
        };
        figures.requests += 1;
        figures.cost += cost;
        figures.tokens += request.tokens();
        let trace = request
            .trace_id
            .clone()
            .or_else(|| request.request_id.clone().map(|id| format!("request:{id}")))
            .unwrap_or_else(|| format!("row:{index}"));
        traces.entry(request.owners.clone()).or_default().insert(trace);
        if let Some(user) = request.end_user.clone().or_else(|| request.user.clone()) {
            users.entry(request.owners.clone()).or_default().insert(user);
        }
    }
    for (owner, figures) in &mut groups {
        figures.transactions = traces.get(owner).map_or(0, |t| t.len() as u64);
        figures.active_users = users.get(owner).map_or(0, |u| u.len() as u64);
    }
    if let Some(business) = business {
        add_business(&mut groups, business, keys, (start, end))?;
    }
    Ok(groups)
}

/// Adds the business transactions and revenue of the period to each group.
fn add_business(
    groups: &mut BTreeMap<Vec<String>, Figures>,
    business: &DataFrame,
    keys: &[String],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<()> {
    let days = frames::dates(business, metrics::DATE)?;
    let names = frames::strings(business, metrics::METRIC)?;
    let values = frames::moneys(business, metrics::VALUE)?;
    let owners = frames::owners(business, keys)?;
    let (first, last) = (start.date_naive(), end.date_naive());
    for row in 0..business.height() {
        if !days[row].is_some_and(|d| d >= first && d < last) {
            continue;
        }
        let Some(value) = values[row] else { continue };
        let Some(figures) = groups.get_mut(&owners[row]) else { continue };
        let slot = match names[row].as_deref() {
            Some(TRANSACTIONS_METRIC) => &mut figures.business_transactions,
            Some(REVENUE_METRIC) => &mut figures.revenue,
            _ => continue,
        };
        *slot = Some(slot.unwrap_or_default() + value);
    }
    Ok(())
}

/// Relative change of an amount, `None` without a non-zero previous value.
fn change(now: Option<Money>, before: Option<Money>) -> Option<f64> {
    let (now, before) = (now?, before?);
    (!before.is_zero()).then(|| now.to_f64_lossy() / before.to_f64_lossy() - 1.0)
}

/// Relative change of a count or ratio.
fn change_f64(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    let (now, before) = (now?, before?);
    (before != 0.0).then(|| now / before - 1.0)
}

/// The unit-economics report for `current`, compared with `previous`.
pub fn unit_economics(
    requests: &[Request],
    business: Option<&DataFrame>,
    keys: &[String],
    current: (DateTime<Utc>, DateTime<Utc>),
    previous: (DateTime<Utc>, DateTime<Utc>),
) -> Result<DataFrame> {
    let now = figures(requests, business, keys, current)?;
    let before = figures(requests, business, keys, previous)?;
    let empty = Figures::default();
    let rows: Vec<(&Vec<String>, &Figures, &Figures)> =
        now.iter().map(|(owner, f)| (owner, f, before.get(owner).unwrap_or(&empty))).collect();

    #[allow(clippy::cast_precision_loss)]
    let users = |f: &Figures| (f.active_users > 0).then_some(f.active_users as f64);
    let tpt_change: Vec<Option<f64>> = rows
        .iter()
        .map(|(_, n, b)| change_f64(n.tokens_per_transaction(), b.tokens_per_transaction()))
        .collect();
    let mut falls: Vec<(usize, f64)> = tpt_change
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.filter(|c| *c < 0.0).map(|c| (i, c)))
        .collect();
    falls.sort_by(|a, b| a.1.total_cmp(&b.1));
    let candidates: BTreeSet<usize> =
        falls.iter().take(GRANT_CANDIDATES).map(|(i, _)| *i).collect();

    let mut flags = Vec::with_capacity(rows.len());
    for (index, (_, n, b)) in rows.iter().enumerate() {
        let mut row_flags = Vec::new();
        let cost_rise = change(n.per_transaction(), b.per_transaction());
        let user_move = change_f64(users(n), users(b));
        if cost_rise.is_some_and(|c| c > 0.10) && user_move.is_some_and(|u| u.abs() <= 0.05) {
            row_flags.push("efficiency_problem");
        }
        if candidates.contains(&index) {
            row_flags.push("innovation_grant_candidate");
        }
        flags.push(row_flags.join(","));
    }

    let mut columns: Vec<Column> = Vec::new();
    for (position, key) in keys.iter().enumerate() {
        let values: Vec<&str> = rows.iter().map(|(o, _, _)| o[position].as_str()).collect();
        columns.push(Column::new(key.into(), values));
    }
    let count = |name: &str, get: &dyn Fn(&Figures) -> u64| {
        Column::new(name.into(), rows.iter().map(|(_, n, _)| get(n)).collect::<Vec<u64>>())
    };
    let average = |name: &str, get: &dyn Fn(&Figures) -> Option<Money>| {
        money_column(
            name,
            rows.iter().map(|(_, n, _)| get(n).map(|m| round_places(m, AVERAGE_PLACES))),
        )
    };
    let moved = |name: &str, get: &dyn Fn(&Figures) -> Option<Money>| {
        let values: Vec<Option<f64>> =
            rows.iter().map(|(_, n, b)| change(get(n), get(b))).collect();
        Column::new(name.into(), values)
    };
    columns.extend([
        count("requests", &|f| f.requests),
        count("unpriced_requests", &|f| f.unpriced_requests),
        count("transactions", &|f| f.transactions),
        count("active_users", &|f| f.active_users),
        Column::new("tokens".into(), rows.iter().map(|(_, n, _)| n.tokens).collect::<Vec<i64>>()),
        money_column("cost", rows.iter().map(|(_, n, _)| Some(n.cost))),
        average("usd_per_request", &Figures::per_request),
        average("usd_per_transaction", &Figures::per_transaction),
        average("usd_per_active_user", &Figures::per_user),
        average("usd_per_1k_tokens", &Figures::per_1k_tokens),
        Column::new(
            "tokens_per_transaction".into(),
            rows.iter().map(|(_, n, _)| n.tokens_per_transaction()).collect::<Vec<_>>(),
        ),
        average("usd_per_business_transaction", &Figures::per_business_transaction),
        average("revenue_usd_per_1k_tokens", &Figures::revenue_per_1k_tokens),
        moved("usd_per_request_change", &Figures::per_request),
        moved("usd_per_transaction_change", &Figures::per_transaction),
        moved("usd_per_1k_tokens_change", &Figures::per_1k_tokens),
        Column::new(
            "active_users_change".into(),
            rows.iter().map(|(_, n, b)| change_f64(users(n), users(b))).collect::<Vec<_>>(),
        ),
        Column::new("tokens_per_transaction_change".into(), tpt_change),
        Column::new("flags".into(), flags),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The change columns, shown as percentages on a terminal.
pub const CHANGE_COLUMNS: [&str; 5] = [
    "usd_per_request_change",
    "usd_per_transaction_change",
    "usd_per_1k_tokens_change",
    "active_users_change",
    "tokens_per_transaction_change",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn request(
        month: u32,
        team: &str,
        trace: &str,
        user: &str,
        cost: Option<&str>,
        tokens: i64,
    ) -> Request {
        Request {
            start: Some(Utc.with_ymd_and_hms(2026, month, 10, 12, 0, 0).unwrap()),
            trace_id: Some(trace.into()),
            user: Some(user.into()),
            input_tokens: tokens,
            cost: cost.map(|c| Money::parse(c).unwrap()),
            owners: vec![team.into()],
            ..Request::default()
        }
    }

    fn month(m: u32) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, m + 1, 1, 0, 0, 0).unwrap(),
        )
    }

    #[test]
    fn averages_leave_unpriced_requests_out() {
        // Team search in March: traces t1 (two requests, $0.01 and $0.02) and t2 ($0.03),
        // users a and b, 1,000 tokens each; one unpriced request. Cost $0.06 over 3 requests
        // = $0.02; over 2 transactions = $0.03; over 2 users = $0.03; per 1K tokens
        // 0.06 x 1000 / 3000 = $0.02. Business: 4 transactions -> $0.015; revenue $6 ->
        // 6 x 1000 / 3000 = $2 per 1K tokens.
        let requests = vec![
            request(3, "search", "t1", "a", Some("0.01"), 1000),
            request(3, "search", "t1", "a", Some("0.02"), 1000),
            request(3, "search", "t2", "b", Some("0.03"), 1000),
            request(3, "search", "t3", "c", None, 1000),
        ];
        let business = df!(
            metrics::DATE => [20_527i32, 20_527],
            "team" => ["search", "search"],
            metrics::METRIC => ["transactions", "revenue"],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col(metrics::DATE).cast(DataType::Date),
            lit(Series::new("v".into(), ["4", "6"]))
                .cast(crate::model::money_dtype())
                .alias(metrics::VALUE),
        ])
        .collect()
        .unwrap();
        assert_eq!(
            frames::dates(&business, metrics::DATE).unwrap()[0].unwrap().to_string(),
            "2026-03-15"
        );
        let keys = ["team".to_string()];
        let report = unit_economics(&requests, Some(&business), &keys, month(3), month(2)).unwrap();
        let money = |name: &str| frames::moneys(&report, name).unwrap()[0].unwrap().to_string();
        assert_eq!(money("usd_per_request"), "0.02");
        assert_eq!(money("usd_per_transaction"), "0.03");
        assert_eq!(money("usd_per_active_user"), "0.03");
        assert_eq!(money("usd_per_1k_tokens"), "0.02");
        assert_eq!(money("usd_per_business_transaction"), "0.015");
        assert_eq!(money("revenue_usd_per_1k_tokens"), "2.00");
        let unpriced = report.column("unpriced_requests").unwrap().u64().unwrap().get(0);
        assert_eq!(unpriced, Some(1));
    }

    #[test]
    fn rising_cost_with_flat_users_and_falling_tokens_are_flagged() {
        // February: 2 users, 2 transactions of $1 with 4,000 tokens each.
        // March: the same 2 users, 2 transactions of $1.50 with 1,000 tokens each: cost per
        // transaction +50%, users +0%, tokens per transaction -75%.
        let requests = vec![
            request(2, "search", "f1", "a", Some("1"), 4000),
            request(2, "search", "f2", "b", Some("1"), 4000),
            request(3, "search", "m1", "a", Some("1.5"), 1000),
            request(3, "search", "m2", "b", Some("1.5"), 1000),
        ];
        let keys = ["team".to_string()];
        let report = unit_economics(&requests, None, &keys, month(3), month(2)).unwrap();
        let change = report.column("usd_per_transaction_change").unwrap().f64().unwrap().get(0);
        assert!((change.unwrap() - 0.5).abs() < 1e-12);
        let fall = report.column("tokens_per_transaction_change").unwrap().f64().unwrap().get(0);
        assert!((fall.unwrap() + 0.75).abs() < 1e-12);
        let flags = report.column("flags").unwrap().str().unwrap().get(0).unwrap().to_string();
        assert_eq!(flags, "efficiency_problem,innovation_grant_candidate");
    }
}
