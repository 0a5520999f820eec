//! The pricing pipeline's money maths, shared by the commerce engine and the plugin SDK.
//!
//! The engine and `sdk::testing` both price a cart through this crate, so a rule tested natively
//! gets exactly the priced cart the engine would produce:
//!
//! 1. A [`Cart`] (the cart-JSON format, see [`Cart::from_json`]) becomes a [`PricedCart`] with
//!    [`PricedCart::new`]: each line at `unit_price × quantity`.
//! 2. For each rule in chain order, [`PricedCart::view`] gives the [`CartView`] the rule receives
//!    (running line nets and discounts, accepted coupon codes) and the rule returns a
//!    [`RuleOutput`]: [`Adjustment`]s and [`CouponVerdict`]s.
//! 3. [`PricedCart::apply`] validates the whole output and applies all of it or none of it,
//!    allocating cart discounts to lines with the largest-remainder method ([`allocate()`]).
//!    [`PricedCart::skip`] records a failed rule whose plugin is configured to be skipped.
//!
//! Amounts are `i64` minor units in the store's currency; percentages are basis points; rounding
//! is half away from zero, once, where a rule is defined ([`percent_of`]). The types are plain
//! data so they map one-to-one onto the WIT records of `commerce:plugin`. The crate has no I/O,
//! clock or threads and builds for `wasm32`.
//!
//! ```
//! use commerce_pipeline::{Adjustment, Cart, PricedCart, RuleOutput, percent_of};
//!
//! let cart = Cart::from_json(r#"{
//!     "store": {"currency": "INR", "origin_country": "IN"},
//!     "lines": [{"line_id": "socks", "quantity": 6, "unit_price": 25000}]
//! }"#)?;
//! let mut priced = PricedCart::new(&cart)?;
//! let line = &priced.view().lines[0];
//! let tier = percent_of(line.subtotal, 500)?;
//! priced.apply("volume_tiers", RuleOutput {
//!     adjustments: vec![Adjustment::line_discount("socks", tier, "5% off 5 or more")],
//!     coupons: vec![],
//! })?;
//! assert_eq!((priced.discount_total(), priced.total()), (7_500, 142_500));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod allocate;
mod apply;
mod cart;
mod error;
mod money;
mod priced;
mod rule;
mod tax;
mod view;
mod wit;

pub use allocate::{AllocationError, allocate};
pub use cart::{Cart, CartError, CartLine, Redemption, ShippingAddress, Store};
pub use error::{AdjustmentError, PipelineError, VerdictError};
pub use money::{BASIS_POINTS_PER_WHOLE, Currency, CurrencyError, Money, MoneyError, format_basis_points, percent_of};
pub use priced::{AppliedAdjustment, CouponResult, Notice, NoticeKind, PricedCart, PricedLine};
pub use rule::{Adjustment, AdjustmentKind, CouponErrorCode, CouponVerdict, RuleOutput, Target, TaxComponent};
pub use tax::{gst_breakdown, gst_split};
pub use view::{CartView, LineView};
pub use wit::ConvertError;
