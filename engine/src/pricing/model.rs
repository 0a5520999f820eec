//! Domain types of the pricing path that carts and checkout share.

use commerce_pipeline::{AdjustmentKind, Target};
use std::fmt;

/// How many units of a variant a line holds: at least 1 and at most the limit of the place it
/// was parsed for (the preview's 9 999, a cart's `carts.max_line_quantity`). Parsed once at the
/// edge; code that holds a `Quantity` never checks for 0 again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

/// A count outside `1..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1–{max}")]
pub struct QuantityError {
    pub max: u32,
}

impl Quantity {
    /// `value` as a quantity when it lies in `1..=max`. Takes `i64` so a database column or a
    /// signed input converts without a lossy cast first.
    pub fn parse(value: i64, max: u32) -> Result<Self, QuantityError> {
        match u32::try_from(value) {
            Ok(n) if (1..=max).contains(&n) => Ok(Self(n)),
            _ => Err(QuantityError { max }),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The two quantities together, when that is still at most `max` (adding a variant to a
    /// line that already holds it).
    pub fn checked_add(self, other: Quantity, max: u32) -> Option<Quantity> {
        self.0.checked_add(other.0).filter(|n| *n <= max).map(Self)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An adjustment's kind as the API names it (`discount`, `shipping`, `fee`, `tax`).
pub fn kind_name(kind: AdjustmentKind) -> &'static str {
    match kind {
        AdjustmentKind::Discount => "discount",
        AdjustmentKind::Shipping => "shipping",
        AdjustmentKind::Fee => "fee",
        AdjustmentKind::Tax => "tax",
    }
}

/// An adjustment's target as the API names it, and the pipeline's line id for a line.
pub fn target_parts(target: &Target) -> (&'static str, Option<&String>) {
    match target {
        Target::Line(id) => ("line", Some(id)),
        Target::Cart => ("cart", None),
        Target::Shipping => ("shipping", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantity_is_between_one_and_the_limit() {
        assert_eq!(Quantity::parse(1, 100).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::parse(100, 100).map(Quantity::get), Ok(100));
        for bad in [0, -1, 101, i64::from(u32::MAX) + 1] {
            assert_eq!(Quantity::parse(bad, 100), Err(QuantityError { max: 100 }), "{bad}");
        }
        assert_eq!(QuantityError { max: 9_999 }.to_string(), "must be 1–9999");
    }

    #[test]
    fn adding_quantities_stops_at_the_limit() {
        let three = Quantity::parse(3, 10).unwrap();
        let seven = Quantity::parse(7, 10).unwrap();
        assert_eq!(three.checked_add(seven, 10).map(Quantity::get), Some(10));
        assert_eq!(three.checked_add(seven, 9), None);
        let max = Quantity::parse(i64::from(u32::MAX), u32::MAX).unwrap();
        assert_eq!(max.checked_add(three, u32::MAX), None);
    }
}
