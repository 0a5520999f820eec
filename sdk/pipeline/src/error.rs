//! Why the pipeline refused a cart or a rule's output.

use crate::cart::CartError;
use crate::rule::{Adjustment, AdjustmentKind, Target};

/// The pipeline refused to price: the cart is invalid, or a rule returned an invalid output (which
/// is then discarded whole, leaving the priced cart as it was before the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The cart itself breaks the cart model.
    #[error("invalid cart: {0}")]
    Cart(#[from] CartError),
    /// One of a rule's adjustments is invalid.
    #[error("plugin `{plugin}` returned an invalid adjustment #{index} ({adjustment}): {reason}")]
    InvalidAdjustment {
        /// The rule's plugin name.
        plugin: String,
        /// Position of the adjustment in the rule's output, from 0.
        index: usize,
        /// The adjustment as returned.
        adjustment: Box<Adjustment>,
        /// What is wrong with it.
        reason: AdjustmentError,
    },
    /// One of a rule's coupon verdicts is invalid.
    #[error("plugin `{plugin}` returned an invalid verdict #{index} for coupon `{code}`: {reason}")]
    InvalidVerdict {
        /// The rule's plugin name.
        plugin: String,
        /// Position of the verdict in the rule's output, from 0.
        index: usize,
        /// The code the verdict is about.
        code: String,
        /// What is wrong with it.
        reason: VerdictError,
    },
}

impl PipelineError {
    /// The plugin at fault, if a plugin is.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Self::Cart(_) => None,
            Self::InvalidAdjustment { plugin, .. } | Self::InvalidVerdict { plugin, .. } => Some(plugin),
        }
    }
}

/// What is wrong with an adjustment, judged against the cart as priced when it is applied
/// (after the adjustments before it in the same output).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    /// Amounts are never negative; the kind gives the direction.
    #[error("the amount is negative")]
    NegativeAmount,
    /// The shopper would see no label.
    #[error("the label is empty")]
    EmptyLabel,
    /// The kind cannot apply to the target.
    #[error("a {kind} cannot target {target}")]
    TargetNotAllowed {
        /// The adjustment's kind.
        kind: AdjustmentKind,
        /// The adjustment's target.
        target: Target,
    },
    /// No line of the cart has this id.
    #[error("the cart has no line `{line_id}`")]
    UnknownLine {
        /// The id targeted.
        line_id: String,
    },
    /// The amount is larger than the line's current net.
    #[error("it exceeds the line's current net of {net}")]
    ExceedsLineNet {
        /// The line's net at that point.
        net: i64,
    },
    /// The amount is larger than the merchandise net (subtotal minus discounts so far).
    #[error("it exceeds the merchandise net of {net}")]
    ExceedsMerchandiseNet {
        /// The merchandise net at that point.
        net: i64,
    },
    /// An inclusive tax on shipping is larger than the shipping charged.
    #[error("it exceeds the shipping total of {shipping}")]
    ExceedsShipping {
        /// The shipping total at that point.
        shipping: i64,
    },
    /// `inclusive` or `tax_breakdown` on something that is not a tax.
    #[error("only a tax may be inclusive or carry a tax breakdown")]
    NotATax,
    /// A tax breakdown with a negative or unnamed component.
    #[error("tax component `{name}` is unnamed or negative")]
    InvalidTaxComponent {
        /// The component's name.
        name: String,
    },
    /// The tax breakdown does not add up to the tax.
    #[error("the tax breakdown sums to {sum}, not to the amount")]
    BreakdownMismatch {
        /// Σ of the components (wide, so an overflowing sum still reports).
        sum: i128,
    },
    /// The adjustment names a coupon code that no rule has accepted.
    #[error("coupon `{code}` is not an accepted code of this cart")]
    CouponNotAccepted {
        /// The code named.
        code: String,
    },
    /// Applying it would make the total negative (unreachable while the other checks hold; kept so
    /// a broken invariant fails closed instead of clamping a wrong price).
    #[error("applying it makes the total negative")]
    NegativeTotal,
    /// Applying it would overflow `i64` minor units.
    #[error("applying it overflows i64 minor units")]
    Overflow,
}

/// What is wrong with a coupon verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// The code is not one of the cart's codes.
    #[error("the cart has no such code")]
    NotInCart,
    /// The output holds two verdicts for the code.
    #[error("the output judges this code twice")]
    Duplicate,
    /// A rejection without an error code.
    #[error("a rejection needs an error code")]
    MissingErrorCode,
    /// A rejection without a reason the shopper can read.
    #[error("a rejection needs a reason for the shopper")]
    MissingReason,
    /// An acceptance with an error code.
    #[error("an accepted code cannot carry an error code")]
    ErrorCodeOnAccepted,
    /// An earlier rule already accepted the code or found it ineligible.
    #[error("plugin `{by}` already decided this code")]
    AlreadyDecided {
        /// The plugin that decided it.
        by: String,
    },
}
