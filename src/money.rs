//! Exact money: a signed amount with 18 fractional digits held in an `i128`.
//!
//! Every amount in aispend passes through [`Money`]: parsing from text (plain decimals or
//! E-notation), conversion from a double through its shortest round-trip text form (never a
//! binary cast), rounding half away from zero, and splitting a whole into parts by the
//! largest-remainder method so that the parts always add up to the whole. Callers may rely on
//! `Display` never printing exponent notation.

use std::cmp::Ordering;
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

/// Fractional digits kept for every amount and price.
pub const SCALE: u32 = 18;
/// `10^SCALE`, the raw value of one currency unit.
pub const ONE: i128 = 1_000_000_000_000_000_000;
/// Amounts read from input are below `10^15` in size (raw `10^33`): a line item of a
/// quadrillion is a broken column, and the bound keeps every sum of such amounts inside the
/// 38 digits of a money column.
pub const LIMIT_RAW: i128 = 1_000_000_000_000_000 * ONE;
/// Decimal precision used for money columns in frames.
pub const PRECISION: usize = 38;

/// An exact amount of money (or a price), `raw / 10^18` currency units.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

/// Why a text could not be read as a decimal amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("expected a decimal number, found `{0}`")]
    NotANumber(String),
    #[error("the amount `{0}` is out of range: amounts must be below 10^15 in size")]
    Overflow(String),
    #[error("expected a finite number, found `{0}`")]
    NotFinite(String),
}

impl MoneyError {
    /// What an input cell should have held, for an error message: `a decimal number`.
    pub fn expected(&self) -> &'static str {
        match self {
            MoneyError::NotANumber(_) => "a decimal number",
            MoneyError::Overflow(_) => "an amount below 10^15 in size",
            MoneyError::NotFinite(_) => "a finite amount",
        }
    }
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// Builds an amount from its raw scaled value.
    pub const fn from_raw(raw: i128) -> Money {
        Money(raw)
    }

    /// The raw value, in units of `10^-18`.
    pub const fn raw(self) -> i128 {
        self.0
    }

    /// A whole number of currency units.
    pub fn from_units(units: i64) -> Money {
        Money(i128::from(units) * ONE)
    }

    /// A whole number of cents.
    pub fn from_cents(cents: i128) -> Money {
        Money(cents * (ONE / 100))
    }

    /// Reads a double through its shortest round-trip text form, so `0.1` is exactly 0.1.
    pub fn from_f64(value: f64) -> Result<Money, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite(value.to_string()));
        }
        let mut buffer = ryu::Buffer::new();
        Money::parse(buffer.format_finite(value))
    }

    /// The amount, or an error when it is past the input bound (10^15 in size).
    pub fn within_limit(self) -> Result<Money, MoneyError> {
        if self.0.unsigned_abs() >= LIMIT_RAW.unsigned_abs() {
            return Err(MoneyError::Overflow(self.to_string()));
        }
        Ok(self)
    }

    /// Reads a single-precision double through its shortest round-trip text as an `f32`, so
    /// `0.1f32` is exactly 0.1: widening it to `f64` first would make it 0.10000000149011612.
    pub fn from_f32(value: f32) -> Result<Money, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite(value.to_string()));
        }
        let mut buffer = ryu::Buffer::new();
        Money::parse(buffer.format_finite(value))
    }

    /// Parses a decimal such as `-12.5`, `0.0000001`, `3e-06` or `.5`.
    ///
    /// Digits past the 18th fractional place are rounded half away from zero.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        parse_decimal(text.trim()).ok_or_else(|| classify_error(text))
    }

    /// Multiplies by an integer quantity (tokens, requests), exactly.
    pub fn times(self, quantity: i128) -> Money {
        Money(self.0 * quantity)
    }

    /// Divides by an integer, rounding half away from zero.
    pub fn div_int(self, divisor: i128) -> Money {
        Money(div_round(self.0, divisor))
    }

    /// `self * numerator / denominator`, rounded half away from zero, without overflow in
    /// the intermediate product.
    pub fn mul_ratio(self, numerator: i128, denominator: i128) -> Money {
        let (quotient, _) = mul_div(self.0, numerator, denominator);
        Money(quotient)
    }

    /// Multiplies two amounts (a price by a decimal quantity), rounding at the 18th place.
    pub fn mul_money(self, other: Money) -> Money {
        self.mul_ratio(other.0, ONE)
    }

    /// The value rounded to whole cents, half away from zero, as a number of cents.
    pub fn round_cents(self) -> i128 {
        div_round(self.0, ONE / 100)
    }

    /// The value rounded to cents, half away from zero.
    pub fn rounded_to_cents(self) -> Money {
        Money::from_cents(self.round_cents())
    }

    /// True when the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True when the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The absolute value.
    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// A lossy conversion for ratios and charts only; never use it for sums.
    #[allow(clippy::cast_precision_loss)]
    pub fn to_f64_lossy(self) -> f64 {
        self.0 as f64 / ONE as f64
    }

    /// Text rounded to cents, `-1234.50`, for tables.
    pub fn cents_string(self) -> String {
        let cents = self.round_cents();
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        format!("{sign}{}.{:02}", group_thousands(cents / 100), cents % 100)
    }

    /// Text rounded to cents without thousands separators, `-1234.50`, for journals.
    pub fn cents_plain(self) -> String {
        let cents = self.round_cents();
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        format!("{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

impl fmt::Display for Money {
    /// Full scale with trailing zeros trimmed, at least two decimals: `12.50`, `0.0000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let unit = ONE.unsigned_abs();
        let mut fraction = format!("{:018}", magnitude % unit);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{sign}{}.{fraction}", magnitude / unit)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        Money::parse(text)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

impl serde::Serialize for Money {
    /// Money is a string in JSON so no reader turns it into a binary float.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    /// Accepts a string or a number; numbers go through their shortest text form.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!("expected an amount, found {other}")));
            }
        };
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Groups the digits of a whole number by thousands: `1234567` becomes `1,234,567`.
fn group_thousands(value: u128) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Tells an overflow apart from text that is not a number at all.
fn classify_error(text: &str) -> MoneyError {
    let looks_numeric = !text.trim().is_empty()
        && text
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if looks_numeric {
        MoneyError::Overflow(text.to_string())
    } else {
        MoneyError::NotANumber(text.to_string())
    }
}

/// Parses `[sign] digits [. digits] [e|E [sign] digits]` into a raw scaled value.
fn parse_decimal(text: &str) -> Option<Money> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The value is digits * 10^(exponent - fraction_len); shift it to scale 18.
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    let shift = exponent.checked_sub(fraction_len)?.checked_add(i32::try_from(SCALE).ok()?)?;
    let raw =
        scale_digits(whole.bytes().chain(fraction.bytes()), whole.len() + fraction.len(), shift)?;
    // Bounded so that sums of a bill stay far inside the 38 digits of a money column.
    if raw >= LIMIT_RAW {
        return None;
    }
    Some(Money(if negative { -raw } else { raw }))
}

/// `digits * 10^shift` as an `i128` (`count` ASCII digits), rounding half away from zero
/// when `shift` is negative. Nothing is allocated: this runs once per amount of a bill.
fn scale_digits(digits: impl Iterator<Item = u8>, count: usize, shift: i32) -> Option<i128> {
    let dropped = usize::try_from(shift.unsigned_abs()).ok()?;
    let (kept, rounding_digit) = if shift >= 0 {
        (count, None)
    } else if dropped <= count {
        (count - dropped, Some(count - dropped))
    } else {
        (0, None)
    };
    let mut value: i128 = 0;
    let mut round_up = false;
    for (index, digit) in digits.enumerate() {
        if index < kept {
            value = value.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
        } else {
            round_up = Some(index) == rounding_digit && digit >= b'5';
            break;
        }
    }
    if shift > 0 && value != 0 {
        value = value.checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?;
    }
    if round_up {
        value = value.checked_add(1)?;
    }
    Some(value)
}

/// Integer division rounding half away from zero.
pub fn div_round(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        if (numerator < 0) == (denominator < 0) { quotient + 1 } else { quotient - 1 }
    } else {
        quotient
    }
}

/// `a * b / c` with a 256-bit intermediate: the quotient rounded half away from zero, and
/// the exact remainder of the truncated division (`|a*b| mod |c|`), for largest-remainder
/// splits.
pub fn mul_div(a: i128, b: i128, c: i128) -> (i128, u128) {
    assert!(c != 0, "mul_div by zero");
    let negative = (a < 0) ^ (b < 0) ^ (c < 0);
    let (high, low) = wide_mul(a.unsigned_abs(), b.unsigned_abs());
    let (quotient, remainder) = wide_div(high, low, c.unsigned_abs());
    let mut rounded = quotient;
    if remainder >= c.unsigned_abs() - remainder {
        rounded += 1;
    }
    let rounded = i128::try_from(rounded).expect("mul_div result out of range");
    (if negative { -rounded } else { rounded }, remainder)
}

/// Truncated `|a * b| / |c|` and its remainder, for callers that round themselves.
pub fn mul_div_floor(a: u128, b: u128, c: u128) -> (u128, u128) {
    let (high, low) = wide_mul(a, b);
    wide_div(high, low, c)
}

/// Full 256-bit product of two `u128` values as (high, low).
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    let mask = u128::from(u64::MAX);
    let (a_hi, a_lo) = (a >> 64, a & mask);
    let (b_hi, b_lo) = (b >> 64, b & mask);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 64) + (hi_lo & mask) + (lo_hi & mask);
    let low = (lo_lo & mask) | (middle << 64);
    let high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
    (high, low)
}

/// Divides the 256-bit value (high, low) by `divisor`, bit by bit. The quotient must fit
/// in 128 bits, which holds for every amount aispend handles.
fn wide_div(high: u128, low: u128, divisor: u128) -> (u128, u128) {
    if high == 0 {
        return (low / divisor, low % divisor);
    }
    let mut remainder: u128 = 0;
    let mut quotient: u128 = 0;
    for bit in (0..256).rev() {
        let carry = remainder >> 127;
        let next = if bit >= 128 { (high >> (bit - 128)) & 1 } else { (low >> bit) & 1 };
        remainder = (remainder << 1) | next;
        quotient <<= 1;
        if carry == 1 || remainder >= divisor {
            remainder = remainder.wrapping_sub(divisor);
            quotient |= 1;
        }
    }
    (quotient, remainder)
}

/// Splits `total` into parts proportional to `weights` so the parts sum to `total` exactly.
///
/// Each part first gets the truncated share; the units left over go one each to the parts
/// with the largest remainders, ties to the lower index (callers sort their owners by key
/// first). `unit` is the smallest amount handed out: 1 for full scale, `ONE / 100` for cents.
/// Negative totals are split by magnitude and negated. Zero or negative weights get nothing;
/// when every weight is zero the split is even.
pub fn largest_remainder(total: Money, weights: &[i128], unit: i128) -> Vec<Money> {
    if weights.is_empty() {
        return Vec::new();
    }
    let positive: Vec<u128> =
        weights.iter().map(|w| if *w > 0 { w.unsigned_abs() } else { 0 }).collect();
    let weight_sum: u128 = positive.iter().sum();
    let positive = if weight_sum == 0 { vec![1; weights.len()] } else { positive };
    let weight_sum: u128 = positive.iter().sum();

    let units = total.0.unsigned_abs() / unit.unsigned_abs();
    let residue = total.0.unsigned_abs() % unit.unsigned_abs();
    let mut shares = Vec::with_capacity(positive.len());
    let mut handed_out: u128 = 0;
    for weight in &positive {
        let (share, remainder) = mul_div_floor(units, *weight, weight_sum);
        handed_out += share;
        shares.push((share, remainder));
    }

    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| match shares[*b].1.cmp(&shares[*a].1) {
        Ordering::Equal => a.cmp(b),
        other => other,
    });
    let left_over = usize::try_from(units - handed_out).expect("left-over units fit in usize");
    let mut result: Vec<u128> = shares.iter().map(|(share, _)| *share).collect();
    for index in order.iter().take(left_over) {
        result[*index] += 1;
    }

    let sign = if total.0 < 0 { -1 } else { 1 };
    let mut parts: Vec<Money> = result
        .into_iter()
        .map(|units| Money(sign * i128::try_from(units * unit.unsigned_abs()).expect("fits")))
        .collect();
    // Below one unit of rounding: the residue goes to the first part in the same order.
    if residue > 0 {
        let first = order[0];
        parts[first] += Money(sign * i128::try_from(residue).expect("fits"));
    }
    parts
}

/// `part / whole` as the double nearest to the exact quotient rounded to 10 decimals, so it
/// prints without binary noise (`0.1875`, not `0.18749999999999997`). Zero when `whole` is 0.
#[allow(clippy::cast_precision_loss)]
pub fn ratio(part: Money, whole: Money) -> f64 {
    if whole.is_zero() {
        return 0.0;
    }
    let scaled = mul_div(part.0, 10_000_000_000, whole.0).0;
    scaled as f64 / 1e10
}

/// Each value's share of their sum at 10 decimals, rounded so that the shares add up to
/// exactly 1 (largest remainder, ties to the lower index); `None` for all when the sum is 0.
/// Credits give negative shares, and the others then pass 1 between them.
#[allow(clippy::cast_precision_loss)]
pub fn shares_of(values: &[Money]) -> Vec<Option<f64>> {
    const UNITS: i128 = 10_000_000_000;
    let total: Money = values.iter().copied().sum();
    if total.is_zero() {
        return vec![None; values.len()];
    }
    let whole = total.0.unsigned_abs();
    let mut floors = Vec::with_capacity(values.len());
    let mut remainders = Vec::with_capacity(values.len());
    for value in values {
        let (quotient, remainder) =
            mul_div_floor(value.0.unsigned_abs(), UNITS.unsigned_abs(), whole);
        let quotient = i128::try_from(quotient).unwrap_or(i128::MAX);
        if (value.0 < 0) == (total.0 < 0) {
            floors.push(quotient);
            remainders.push(remainder);
        } else if remainder > 0 {
            floors.push(-quotient - 1);
            remainders.push(whole - remainder);
        } else {
            floors.push(-quotient);
            remainders.push(0);
        }
    }
    let missing = UNITS - floors.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| remainders[*b].cmp(&remainders[*a]).then(a.cmp(b)));
    for index in order.iter().take(usize::try_from(missing).unwrap_or(0)) {
        floors[*index] += 1;
    }
    floors.into_iter().map(|units| Some(units as f64 / UNITS as f64)).collect()
}

/// Rounds each value to cents so that the rounded values sum to the rounded sum.
///
/// Every value is first rounded down to the cent; the cents still missing from the rounded
/// total go one each to the values with the largest remainders, ties to the lower index.
pub fn round_to_cents_preserving_total(values: &[Money]) -> Vec<Money> {
    let total: Money = values.iter().copied().sum();
    round_to_cents_with_target(values, total.round_cents())
}

/// Rounds each value to cents so that they sum to `target` cents (which must be within a
/// cent per value of their exact sum); used to split a rounded total into its parts.
pub fn round_to_cents_with_target(values: &[Money], target: i128) -> Vec<Money> {
    let cent = ONE / 100;
    let floors: Vec<i128> = values.iter().map(|v| v.0.div_euclid(cent)).collect();
    let remainders: Vec<i128> = values.iter().map(|v| v.0.rem_euclid(cent)).collect();
    let mut missing = target - floors.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| remainders[*b].cmp(&remainders[*a]).then(a.cmp(b)));
    let mut cents = floors;
    for index in order.iter().cycle().take(values.len() * 2) {
        if missing == 0 {
            break;
        }
        if missing > 0 {
            cents[*index] += 1;
            missing -= 1;
        } else {
            cents[*index] -= 1;
            missing += 1;
        }
    }
    cents.into_iter().map(Money::from_cents).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn shares_add_up_to_exactly_one() {
        // Six equal owners: four get 0.1_666_666_667 and two 0.1_666_666_666 (ties to the lower
        // index), 4 × 1_666_666_667 + 2 × 1_666_666_666 = 10^10.
        let sixths = shares_of(&[m("1"); 6]);
        #[allow(clippy::cast_possible_truncation)]
        let units: Vec<i64> = sixths.iter().map(|s| (s.unwrap() * 1e10).round() as i64).collect();
        assert_eq!(
            units,
            [
                1_666_666_667,
                1_666_666_667,
                1_666_666_667,
                1_666_666_667,
                1_666_666_666,
                1_666_666_666
            ]
        );
        // A credit: 150 and −50 of a 100 total are 1.5 and −0.5.
        assert_eq!(shares_of(&[m("150"), m("-50")]), [Some(1.5), Some(-0.5)]);
        // Thirds of −3: −1/3 each is a third of the total, 3333333334 + 2 × 3333333333.
        let thirds = shares_of(&[m("-1"); 3]);
        assert_eq!(thirds, [Some(0.333_333_333_4), Some(0.333_333_333_3), Some(0.333_333_333_3)]);
        assert_eq!(shares_of(&[m("1"), m("-1")]), [None, None]);
    }

    #[test]
    fn parses_plain_and_exponent_forms() {
        assert_eq!(m("0.1").raw(), ONE / 10);
        assert_eq!(m("3e-06"), m("0.000003"));
        assert_eq!(m("-0.0000004").to_string(), "-0.0000004");
        assert_eq!(m(".5").to_string(), "0.50");
        assert_eq!(m("21.4009595589").to_string(), "21.4009595589");
        assert!(Money::parse("abc").is_err());
        assert!(Money::parse("1,000").is_err());
        assert!(Money::parse("$5").is_err());
        assert!(Money::parse("").is_err());
    }

    #[test]
    fn digits_past_the_eighteenth_place_round_half_away_from_zero() {
        assert_eq!(m("0.0000000000000000005").raw(), 1);
        assert_eq!(m("0.0000000000000000004").raw(), 0);
        assert_eq!(m("-5e-19").raw(), -1);
        assert_eq!(m("1e-20").raw(), 0);
        assert_eq!(m("9e-20").raw(), 0);
        assert_eq!(m("1.9999999999999999995").raw(), 2 * ONE);
        assert_eq!(m("000123.4500").raw(), 12345 * ONE / 100);
        assert_eq!(m("0e50").raw(), 0);
        assert_eq!(m("1.5e2").raw(), 150 * ONE);
        assert!(Money::parse("1e30").is_err(), "beyond Decimal(38, 18)");
    }

    #[test]
    fn doubles_go_through_shortest_text() {
        assert_eq!(Money::from_f64(0.1).unwrap(), m("0.1"));
        assert_eq!(Money::from_f64(1e-7).unwrap(), m("0.0000001"));
        assert_eq!(Money::from_f64(3e-06).unwrap().to_string(), "0.000003");
        assert!(Money::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn ten_tenths_sum_to_one() {
        let total: Money = (0..10).map(|_| Money::from_f64(0.1).unwrap()).sum();
        assert_eq!(total, m("1"));
    }

    #[test]
    fn a_million_ten_millionths_sum_to_a_tenth() {
        let total: Money = (0..1_000_000).map(|_| m("0.0000001")).sum();
        assert_eq!(total.to_string(), "0.10");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(m("0.005").round_cents(), 1);
        assert_eq!(m("-0.005").round_cents(), -1);
        assert_eq!(m("0.0049999").round_cents(), 0);
        assert_eq!(m("1234567.891").cents_string(), "1,234,567.89");
    }

    #[test]
    fn hundred_dollars_three_ways_evenly() {
        let parts = largest_remainder(m("100"), &[1, 1, 1], ONE / 100);
        let text: Vec<String> = parts.iter().map(|p| p.cents_plain()).collect();
        assert_eq!(text, ["33.34", "33.33", "33.33"]);
    }

    #[test]
    fn gateway_share_six_three_one() {
        let parts = largest_remainder(m("100.00"), &[600, 300, 100], 1);
        assert_eq!(parts, [m("60"), m("30"), m("10")]);
    }

    #[test]
    fn negative_totals_split_by_magnitude() {
        let parts = largest_remainder(m("-0.05"), &[1, 1], ONE / 100);
        assert_eq!(parts, [m("-0.03"), m("-0.02")]);
        assert_eq!(parts.iter().sum::<Money>(), m("-0.05"));
    }

    #[test]
    fn sub_cent_residue_is_kept() {
        let parts = largest_remainder(m("0.015"), &[1, 1], ONE / 100);
        assert_eq!(parts.iter().sum::<Money>(), m("0.015"));
    }

    #[test]
    fn cents_rounding_keeps_the_rounded_total() {
        // 33.333 + 33.333 + 33.334 = 100.000; plain rounding gives 33.33 * 3 = 99.99.
        let parts = round_to_cents_preserving_total(&[m("33.333"), m("33.333"), m("33.334")]);
        assert_eq!(parts, [m("33.33"), m("33.33"), m("33.34")]);
        let parts = round_to_cents_preserving_total(&[m("-0.005"), m("0.004"), m("10.006")]);
        assert_eq!(parts.iter().sum::<Money>(), m("10.01"));
    }

    #[test]
    fn wide_products_do_not_overflow() {
        let big = m("1000000000");
        assert_eq!(big.mul_ratio(big.raw(), big.raw()), big);
        assert_eq!(m("10").mul_ratio(1, 3).to_string(), "3.333333333333333333");
    }
}
