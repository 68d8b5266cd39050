//! Line item types and the effective (amortized) cost of FORMATS.md §1.6, for every CUR
//! reader (CSV and Parquet).
//!
//! Line item types are read without regard to case or surrounding blanks: `usage`,
//! ` Usage ` and `USAGE` are one type. The set is open: a type aispend has never seen counts
//! at its unblended cost, in the `adjustment` charge category.
//!
//! A Savings Plan or reservation line takes its effective cost from amortization columns.
//! When the file lacks one of the columns its commitment needs, every line of that commitment
//! counts at its unblended (billed) cost instead, negations and fees included; see
//! [`Commitment`].

use crate::money::Money;

/// A CUR line item type (FORMATS.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineItemType {
    Usage,
    DiscountedUsage,
    SavingsPlanCoveredUsage,
    SavingsPlanNegation,
    SavingsPlanUpfrontFee,
    SavingsPlanRecurringFee,
    FlatRateSubscription,
    Fee,
    RiFee,
    Tax,
    Credit,
    Refund,
    /// `EdpDiscount`, `BundledDiscount`, `PrivateRateDiscount` and the other `*Discount`.
    Discount,
    /// A type aispend does not know, or none.
    Other,
}

/// The AWS spelling of every type with a rule, the commonest first.
const SPELLINGS: [(&str, LineItemType); 12] = [
    ("Usage", LineItemType::Usage),
    ("Tax", LineItemType::Tax),
    ("SavingsPlanCoveredUsage", LineItemType::SavingsPlanCoveredUsage),
    ("SavingsPlanNegation", LineItemType::SavingsPlanNegation),
    ("DiscountedUsage", LineItemType::DiscountedUsage),
    ("Credit", LineItemType::Credit),
    ("Refund", LineItemType::Refund),
    ("Fee", LineItemType::Fee),
    ("RIFee", LineItemType::RiFee),
    ("SavingsPlanRecurringFee", LineItemType::SavingsPlanRecurringFee),
    ("SavingsPlanUpfrontFee", LineItemType::SavingsPlanUpfrontFee),
    ("FlatRateSubscription", LineItemType::FlatRateSubscription),
];

impl LineItemType {
    /// The type of a `lineItem/LineItemType` value, compared without regard to ASCII case
    /// once trimmed.
    pub fn parse(text: &str) -> LineItemType {
        let text = text.trim();
        if let Some((_, kind)) = SPELLINGS.iter().find(|(name, _)| name.eq_ignore_ascii_case(text))
        {
            return *kind;
        }
        let bytes = text.as_bytes();
        let suffix = b"discount";
        if bytes.len() > suffix.len()
            && bytes[bytes.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        {
            LineItemType::Discount
        } else {
            LineItemType::Other
        }
    }

    /// The canonical charge category.
    pub fn charge_category(self) -> &'static str {
        match self {
            LineItemType::Usage
            | LineItemType::DiscountedUsage
            | LineItemType::SavingsPlanCoveredUsage
            | LineItemType::SavingsPlanNegation
            | LineItemType::FlatRateSubscription => "usage",
            LineItemType::Fee
            | LineItemType::RiFee
            | LineItemType::SavingsPlanUpfrontFee
            | LineItemType::SavingsPlanRecurringFee => "purchase",
            LineItemType::Tax => "tax",
            LineItemType::Credit | LineItemType::Discount => "credit",
            LineItemType::Refund => "refund",
            LineItemType::Other => "adjustment",
        }
    }

    /// True for the types whose quantity is usage (CID "usage quantity").
    pub fn counts_usage_quantity(self) -> bool {
        matches!(
            self,
            LineItemType::Usage
                | LineItemType::DiscountedUsage
                | LineItemType::SavingsPlanCoveredUsage
                | LineItemType::FlatRateSubscription
        )
    }
}

/// The commitment whose amortization columns a line's effective cost comes from.
///
/// Decision for a file that lacks one of a commitment's columns (a CUR 1.0 export with only
/// the base columns, say): every line of that commitment counts at its unblended cost. The
/// commitment's lines then add up to what the invoice charged for it (the covered usage and
/// its negation cancel, the fees count as billed), so nothing is silently zero and nothing
/// counts twice. Taking only the lines whose own column is missing at unblended would count
/// the on-demand usage and the fee that pays for it; taking them at zero would hide the
/// commitment's cost. The reader warns once per file with the columns and the line count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commitment {
    SavingsPlan,
    Reservation,
}

impl Commitment {
    /// Both commitments, in the order of [`Commitment::index`].
    pub const ALL: [Commitment; 2] = [Commitment::SavingsPlan, Commitment::Reservation];

    /// 0 for Savings Plans, 1 for reservations.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The columns, as (CUR 1.0, CUR 2.0) names, that the commitment's amortization reads.
    /// A reservation needs its ARN to tell its upfront fee from any other fee.
    pub fn columns(self) -> &'static [(&'static str, &'static str)] {
        use super::names;
        match self {
            Commitment::SavingsPlan => &[names::SP_EFFECTIVE, names::SP_COMMITMENT, names::SP_USED],
            Commitment::Reservation => &[
                names::RI_EFFECTIVE,
                names::RI_UNUSED_UPFRONT,
                names::RI_UNUSED_RECURRING,
                names::RI_ARN,
            ],
        }
    }

    /// How users call the commitment in messages.
    pub fn lines_name(self) -> &'static str {
        match self {
            Commitment::SavingsPlan => "Savings Plan",
            Commitment::Reservation => "reservation",
        }
    }
}

/// An amortization amount a rule reads, in the order the readers hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    SpEffective = 1,
    SpCommitment = 2,
    SpUsed = 3,
    RiEffective = 4,
    RiUnusedUpfront = 5,
    RiUnusedRecurring = 6,
}

/// How one line's effective cost is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unblended,
    Zero,
    /// One amount.
    Take(Amount),
    /// The first amount less the second.
    Less(Amount, Amount),
    /// The sum of two amounts.
    Plus(Amount, Amount),
}

/// The rule of a line and the commitment it amortizes, FORMATS.md §1.6.
pub fn amortization(
    kind: LineItemType,
    ri_arn: &str,
    product_code: &str,
    description: &str,
) -> (Rule, Option<Commitment>) {
    const SP: Option<Commitment> = Some(Commitment::SavingsPlan);
    const RI: Option<Commitment> = Some(Commitment::Reservation);
    match kind {
        LineItemType::SavingsPlanCoveredUsage => (Rule::Take(Amount::SpEffective), SP),
        LineItemType::SavingsPlanRecurringFee => {
            (Rule::Less(Amount::SpCommitment, Amount::SpUsed), SP)
        }
        LineItemType::SavingsPlanNegation | LineItemType::SavingsPlanUpfrontFee => (Rule::Zero, SP),
        LineItemType::DiscountedUsage => (Rule::Take(Amount::RiEffective), RI),
        LineItemType::RiFee => (Rule::Plus(Amount::RiUnusedUpfront, Amount::RiUnusedRecurring), RI),
        LineItemType::Fee if !ri_arn.trim().is_empty() => (Rule::Zero, RI),
        LineItemType::Refund if is_savings_plan_upfront_refund(product_code, description) => {
            (Rule::Zero, SP)
        }
        _ => (Rule::Unblended, None),
    }
}

/// A refund of a Savings Plan's one-time fee, whose fee the amortization already zeroed.
fn is_savings_plan_upfront_refund(product_code: &str, description: &str) -> bool {
    const PREFIX: &str = "Refund for one-time fee for Savings Plan ID";
    product_code.trim().eq_ignore_ascii_case("ComputeSavingsPlans")
        && description
            .trim()
            .get(..PREFIX.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(PREFIX))
}

impl Rule {
    /// The effective cost by this rule; `amount` reads an amortization amount of the line
    /// (only the amounts the rule needs are read).
    pub fn apply<E>(
        self,
        unblended: Money,
        mut amount: impl FnMut(Amount) -> Result<Money, E>,
    ) -> Result<Money, E> {
        Ok(match self {
            Rule::Unblended => unblended,
            Rule::Zero => Money::ZERO,
            Rule::Take(one) => amount(one)?,
            Rule::Less(first, second) => amount(first)? - amount(second)?,
            Rule::Plus(first, second) => amount(first)? + amount(second)?,
        })
    }
}

/// Operations of split cost allocation child rows, left out to avoid double counting.
pub const SPLIT_CHILD_OPERATIONS: [&str; 2] = ["EKSPod-EC2", "ECSTask-EC2"];

/// True for a split cost allocation child row's operation, compared without regard to case
/// once trimmed.
pub fn is_split_child(operation: &str) -> bool {
    let operation = operation.trim();
    SPLIT_CHILD_OPERATIONS.iter().any(|child| child.eq_ignore_ascii_case(operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_item_types_are_read_without_regard_to_case_or_blanks() {
        for text in ["SavingsPlanNegation", "savingsplannegation", " SAVINGSPLANNEGATION "] {
            assert_eq!(LineItemType::parse(text), LineItemType::SavingsPlanNegation, "{text}");
        }
        assert_eq!(LineItemType::parse("usage").charge_category(), "usage");
        assert_eq!(LineItemType::parse("rifee"), LineItemType::RiFee);
        assert_eq!(LineItemType::parse("edpdiscount").charge_category(), "credit");
        assert_eq!(LineItemType::parse("Discount"), LineItemType::Other);
        assert_eq!(LineItemType::parse("BrandNewType").charge_category(), "adjustment");
        assert!(LineItemType::parse(" discountedusage").counts_usage_quantity());
        assert!(is_split_child("ekspod-ec2"));
        assert!(is_split_child(" ECSTASK-EC2 "));
        assert!(!is_split_child("RunInstances"));
    }

    #[test]
    fn a_lowercase_savings_plan_refund_is_amortized_away() {
        let (rule, commitment) = amortization(
            LineItemType::parse("refund"),
            "",
            "computesavingsplans",
            "refund for one-time fee for Savings Plan ID abc",
        );
        assert_eq!((rule, commitment), (Rule::Zero, Some(Commitment::SavingsPlan)));
    }
}
