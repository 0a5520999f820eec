//! Money in minor units, its currency, and the one rounding rule.
//!
//! Every amount is an `i64` count of the currency's minor unit (paise, cents). Arithmetic runs in
//! `i128` and is narrowed back with a check, so an overflow is an error, never a wrapped price.
//! Percentages are basis points (`u32`, 1 bp = 0.01 %, 10 000 bp = 100 %).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Basis points in one whole (100 %).
pub const BASIS_POINTS_PER_WHOLE: u32 = 10_000;

/// An ISO 4217 currency code: exactly three ASCII upper-case letters, e.g. `INR`.
///
/// Stored inline so `Money` stays `Copy`; serialised as the plain string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a currency code. Lower-case is refused rather than fixed up, so that one code has
    /// exactly one spelling in carts, settings and stored orders.
    pub fn new(code: &str) -> Result<Self, CurrencyError> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(CurrencyError { code: code.to_owned() }),
        }
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII upper-case letters only, which are valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

/// A string that is not a three-letter upper-case currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{code}` is not an ISO 4217 currency code (three upper-case letters, e.g. INR)")]
pub struct CurrencyError {
    /// The rejected input.
    pub code: String,
}

/// Why a money operation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The operands are in different currencies; nothing converts silently.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// Currency of the left operand.
        left: Currency,
        /// Currency of the right operand.
        right: Currency,
    },
    /// The exact result does not fit in an `i64` of minor units.
    #[error("amount overflows i64 minor units")]
    Overflow,
}

/// An amount of money: minor units of one currency.
///
/// Any `i64` is a valid amount (refunds and credits are negative); the operations are what keep
/// prices honest: they are checked and refuse to mix currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units (paise for INR, cents for USD).
    pub amount: i64,
    /// The currency the amount is counted in.
    pub currency: Currency,
}

impl Money {
    /// `amount` minor units of `currency`.
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self { amount: 0, currency }
    }

    /// Whether the amount is zero.
    pub const fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(&self) -> bool {
        self.amount < 0
    }

    fn same_currency(self, rhs: Money) -> Result<(), MoneyError> {
        if self.currency == rhs.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: rhs.currency })
        }
    }

    /// `self + rhs`, refusing other currencies and overflow.
    pub fn checked_add(self, rhs: Money) -> Result<Money, MoneyError> {
        self.same_currency(rhs)?;
        Ok(Money::new(narrow(i128::from(self.amount) + i128::from(rhs.amount))?, self.currency))
    }

    /// `self - rhs`, refusing other currencies and overflow.
    pub fn checked_sub(self, rhs: Money) -> Result<Money, MoneyError> {
        self.same_currency(rhs)?;
        Ok(Money::new(narrow(i128::from(self.amount) - i128::from(rhs.amount))?, self.currency))
    }

    /// `self × quantity` (a unit price times a line's quantity).
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        Ok(Money::new(narrow(i128::from(self.amount) * i128::from(quantity))?, self.currency))
    }

    /// `basis_points` of this amount, rounded once, half away from zero (see [`percent_of`]).
    pub fn percent(self, basis_points: u32) -> Result<Money, MoneyError> {
        Ok(Money::new(percent_of(self.amount, basis_points)?, self.currency))
    }

    /// The smaller of two amounts of the same currency.
    pub fn checked_min(self, rhs: Money) -> Result<Money, MoneyError> {
        self.same_currency(rhs)?;
        Ok(if rhs.amount < self.amount { rhs } else { self })
    }

    /// The sum of `items`, all of which must be in `currency` (an empty sum is zero).
    pub fn sum(currency: Currency, items: impl IntoIterator<Item = Money>) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }
}

/// `basis_points` of `amount`, rounded half away from zero to the minor unit.
///
/// Computed exactly in `i128` and rounded once: 1800 bp of 12 345 is 2 222.1 → 2 222, 50 bp of
/// 100 is 0.5 → 1, and −0.5 → −1. Call it at the level where a rule is defined (per line for a
/// line rule, once for a cart rule) and never re-round its result. Fails only when the result
/// does not fit in `i64`, which needs a rate above 100 %.
pub fn percent_of(amount: i64, basis_points: u32) -> Result<i64, MoneyError> {
    narrow(div_round_half_away(i128::from(amount) * i128::from(basis_points), i128::from(BASIS_POINTS_PER_WHOLE)))
}

/// `numerator / denominator` (denominator > 0) rounded half away from zero.
pub(crate) fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if 2 * remainder.abs() >= denominator { quotient + numerator.signum() } else { quotient }
}

/// Narrows an exact `i128` result to `i64` minor units.
pub(crate) fn narrow(value: i128) -> Result<i64, MoneyError> {
    i64::try_from(value).map_err(|_| MoneyError::Overflow)
}

/// `a + b` on minor units, as an error on overflow.
pub(crate) fn add(a: i64, b: i64) -> Result<i64, MoneyError> {
    a.checked_add(b).ok_or(MoneyError::Overflow)
}

/// Basis points as a percentage a shopper reads: 1800 → "18%", 250 → "2.5%", 1234 → "12.34%".
pub fn format_basis_points(basis_points: u32) -> String {
    let (whole, hundredths) = (basis_points / 100, basis_points % 100);
    match hundredths {
        0 => format!("{whole}%"),
        h if h % 10 == 0 => format!("{whole}.{}%", h / 10),
        h => format!("{whole}.{h:02}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_read_as_percentages_without_trailing_zeros() {
        assert_eq!(format_basis_points(1800), "18%");
        assert_eq!(format_basis_points(250), "2.5%");
        assert_eq!(format_basis_points(1234), "12.34%");
        assert_eq!(format_basis_points(5), "0.05%");
        assert_eq!(format_basis_points(0), "0%");
    }

    fn inr(amount: i64) -> Money {
        Money::new(amount, Currency::new("INR").unwrap())
    }

    #[test]
    fn currency_accepts_three_upper_case_letters_only() {
        assert_eq!(Currency::new("INR").unwrap().as_str(), "INR");
        for bad in ["inr", "IN", "INRR", "", "I1R", "ÄBC"] {
            assert!(Currency::new(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn currency_round_trips_through_json_as_a_plain_string() {
        let money: Money = serde_json::from_str(r#"{"amount": 49900, "currency": "INR"}"#).unwrap();
        assert_eq!(money, inr(49900));
        assert_eq!(serde_json::to_string(&money).unwrap(), r#"{"amount":49900,"currency":"INR"}"#);
        assert!(serde_json::from_str::<Money>(r#"{"amount": 1, "currency": "inr"}"#).is_err());
    }

    #[test]
    fn percent_of_rounds_half_away_from_zero_once() {
        assert_eq!(percent_of(12_345, 1800), Ok(2222)); // 2222.1
        assert_eq!(percent_of(100, 50), Ok(1)); // 0.5
        assert_eq!(percent_of(89_820, 1800), Ok(16_168)); // 16167.6
        assert_eq!(percent_of(129_800, 1000), Ok(12_980));
        assert_eq!(percent_of(99, 50), Ok(0)); // 0.495
        assert_eq!(percent_of(300, 5000), Ok(150));
        assert_eq!(percent_of(-100, 50), Ok(-1)); // -0.5
        assert_eq!(percent_of(-12_345, 1800), Ok(-2222));
        assert_eq!(percent_of(0, 1800), Ok(0));
        assert_eq!(percent_of(12_345, 0), Ok(0));
    }

    #[test]
    fn percent_of_up_to_100_percent_never_overflows() {
        assert_eq!(percent_of(i64::MAX, 10_000), Ok(i64::MAX));
        assert_eq!(percent_of(i64::MIN, 10_000), Ok(i64::MIN));
        assert_eq!(percent_of(i64::MAX, 5000), Ok(i64::MAX / 2 + 1));
    }

    #[test]
    fn percent_of_above_100_percent_reports_overflow() {
        assert_eq!(percent_of(i64::MAX, 10_001), Err(MoneyError::Overflow));
        assert_eq!(percent_of(i64::MAX / 2, u32::MAX), Err(MoneyError::Overflow));
    }

    #[test]
    fn money_refuses_to_mix_currencies() {
        let usd = Money::new(100, Currency::new("USD").unwrap());
        let expected = MoneyError::CurrencyMismatch { left: inr(1).currency, right: usd.currency };
        assert_eq!(inr(100).checked_add(usd), Err(expected.clone()));
        assert_eq!(inr(100).checked_sub(usd), Err(expected.clone()));
        assert_eq!(inr(100).checked_min(usd), Err(expected));
        assert!(Money::sum(usd.currency, [usd, inr(1)]).is_err());
    }

    #[test]
    fn money_refuses_overflow() {
        assert_eq!(inr(i64::MAX).checked_add(inr(1)), Err(MoneyError::Overflow));
        assert_eq!(inr(i64::MIN).checked_sub(inr(1)), Err(MoneyError::Overflow));
        assert_eq!(inr(i64::MAX / 2 + 1).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Money::sum(inr(0).currency, [inr(i64::MAX), inr(1)]), Err(MoneyError::Overflow));
    }

    #[test]
    fn money_arithmetic_is_exact() {
        assert_eq!(inr(49_900).checked_mul(2), Ok(inr(99_800)));
        assert_eq!(inr(99_800).checked_add(inr(30_000)), Ok(inr(129_800)));
        assert_eq!(inr(129_800).checked_sub(inr(12_980)), Ok(inr(116_820)));
        assert_eq!(inr(129_800).percent(1000), Ok(inr(12_980)));
        assert_eq!(inr(5).checked_min(inr(3)), Ok(inr(3)));
        assert_eq!(Money::sum(inr(0).currency, []), Ok(inr(0)));
        assert!(inr(-1).is_negative() && Money::zero(inr(0).currency).is_zero());
    }
}
