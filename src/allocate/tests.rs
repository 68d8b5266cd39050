//! Allocation tests, worked by hand, and the sum invariant as a property.

use proptest::prelude::*;

use super::*;
use crate::config::{RuleMatch, ShareMethod, SharedCostRule};

fn m(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn owner(dept: &str) -> Owner {
    Owner(vec![dept.to_string()])
}

fn unit(dept: Option<&str>, amount: &str) -> CostUnit {
    CostUnit {
        billing_period: "2025-01".into(),
        day: Some(20_100),
        account: Some("111".into()),
        service: Some("AmazonBedrock".into()),
        usage_type: Some("USE1-Claude3Sonnet-input-tokens".into()),
        charge_category: "usage".into(),
        resource: None,
        model: None,
        token_type: None,
        currency: "USD".into(),
        owner: Owner::from_values(&[dept]),
        amount: m(amount),
        lines: 1,
    }
}

fn llm_unit(amount: &str) -> CostUnit {
    CostUnit {
        model: Some("Claude3Sonnet".into()),
        token_type: Some("input".into()),
        ..unit(None, amount)
    }
}

fn rule(name: &str, method: ShareMethod, category: &str) -> SharedCostRule {
    SharedCostRule {
        name: name.into(),
        matcher: RuleMatch { charge_category: Some(category.into()), ..RuleMatch::default() },
        method,
        weights: BTreeMap::new(),
        owners: Vec::new(),
    }
}

#[test]
fn gateway_share_six_three_one() {
    // $100.00 of input tokens; the gateway saw 600 (sales), 300 (support), 100 (untagged).
    let mut usage = GatewayUsage::default();
    for (dept, tokens) in [(Some("sales"), 600), (Some("support"), 300), (None, 100)] {
        usage.add(
            Some("Claude3Sonnet"),
            20_100,
            "2025-01",
            &Owner::from_values(&[dept]),
            [("input", tokens), ("output", 0), ("cache_read", 0), ("cache_write", 0)],
        );
    }
    let (allocations, _) = allocate(&[llm_unit("100.00")], &usage, &[], 1);
    let totals = totals_by_owner(&allocations);
    assert_eq!(totals[&owner("sales")], m("60.00"));
    assert_eq!(totals[&owner("support")], m("30.00"));
    assert_eq!(totals[&owner(UNALLOCATED)], m("10.00"));
    assert!(allocations.iter().all(|a| a.method == Method::GatewayShare));
}

#[test]
fn tags_win_over_gateway_share() {
    let mut tagged = llm_unit("5");
    tagged.owner = owner("research");
    let (allocations, _) = allocate(&[tagged], &GatewayUsage::default(), &[], 1);
    assert_eq!(allocations[0].owner, owner("research"));
    assert_eq!(allocations[0].method, Method::Tags);
}

#[test]
fn unmatched_llm_line_falls_to_rules_with_a_note() {
    let rules = vec![rule("bedrock-even", ShareMethod::Even, "usage")];
    let units = vec![unit(Some("sales"), "10"), unit(Some("support"), "10"), llm_unit("3")];
    let (allocations, notes) = allocate(&units, &GatewayUsage::default(), &rules, 1);
    let shared: Vec<&Allocation> =
        allocations.iter().filter(|a| a.method == Method::Rule).collect();
    // $3 evenly over the two owners with direct cost: 1.50 each.
    assert_eq!(shared.len(), 2);
    assert!(shared.iter().all(|a| a.amount == m("1.5")));
    assert_eq!(
        notes.unmatched_models[&("Claude3Sonnet".into(), "input".into(), "USD".into())],
        m("3")
    );
}

#[test]
fn tax_follows_usage_proportionally() {
    // Direct: sales 75, support 25. Tax 8 proportional: 6 and 2.
    let rules = vec![rule("tax", ShareMethod::Proportional, "tax")];
    let mut tax = unit(None, "8");
    tax.charge_category = "tax".into();
    let units = vec![unit(Some("sales"), "75"), unit(Some("support"), "25"), tax];
    let (allocations, _) = allocate(&units, &GatewayUsage::default(), &rules, 1);
    let shared: BTreeMap<Owner, Money> = allocations
        .iter()
        .filter(|a| a.method == Method::Rule)
        .map(|a| (a.owner.clone(), a.amount))
        .collect();
    assert_eq!(shared[&owner("sales")], m("6"));
    assert_eq!(shared[&owner("support")], m("2"));
}

#[test]
fn hundred_dollars_shared_evenly_three_ways_at_cents() {
    let parts = crate::money::largest_remainder(m("100.00"), &[1, 1, 1], crate::money::ONE / 100);
    assert_eq!(parts, [m("33.34"), m("33.33"), m("33.33")]);
}

#[test]
fn nothing_applies_goes_to_unallocated() {
    let (allocations, notes) = allocate(&[unit(None, "7.25")], &GatewayUsage::default(), &[], 2);
    assert_eq!(allocations[0].owner, Owner::unallocated(2));
    assert_eq!(notes.unallocated["USD"], m("7.25"));
}

fn amount_strategy() -> impl Strategy<Value = i64> {
    -1_000_000i64..100_000_000
}

proptest! {
    #[test]
    fn allocations_sum_to_the_invoice(
        lines in proptest::collection::vec((0usize..4, amount_strategy(), 0usize..3), 1..40),
        tokens in proptest::collection::vec((0usize..4, 0i64..10_000), 0..12),
        method in 0usize..5,
    ) {
        let depts = [None, Some("sales"), Some("support"), Some("research")];
        let methods = [ShareMethod::Proportional, ShareMethod::Even, ShareMethod::Tokens, ShareMethod::Requests, ShareMethod::Fixed];
        let mut usage = GatewayUsage::default();
        for (dept, count) in &tokens {
            usage.add(Some("Claude3Sonnet"), 20_100, "2025-01", &Owner::from_values(&[depts[*dept]]), [("input", *count), ("output", 0), ("cache_read", 0), ("cache_write", 0)]);
        }
        let units: Vec<CostUnit> = lines
            .iter()
            .map(|(dept, cents, kind)| {
                let mut line = unit(depts[*dept], "0");
                line.amount = Money::from_cents(i128::from(*cents)).mul_ratio(1, 7);
                if *kind == 1 { line.model = Some("Claude3Sonnet".into()); line.token_type = Some("input".into()); }
                if *kind == 2 { line.charge_category = "tax".into(); }
                line
            })
            .collect();
        let mut shared = rule("tax", methods[method], "tax");
        shared.weights = BTreeMap::from([("sales".to_string(), 2), ("support".to_string(), 1)]);
        let (allocations, _) = allocate(&units, &usage, &[shared], 1);
        let invoice: Money = units.iter().map(|u| u.amount).sum();
        let allocated: Money = allocations.iter().map(|a| a.amount).sum();
        prop_assert_eq!(invoice, allocated);
        for (index, line) in units.iter().enumerate() {
            let of_line: Money = allocations.iter().filter(|a| a.unit == index).map(|a| a.amount).sum();
            prop_assert_eq!(of_line, line.amount);
        }
    }
}
