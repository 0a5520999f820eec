//! The cart as priced so far: what each rule in the chain receives.

use serde::{Deserialize, Serialize};

use crate::cart::{Redemption, ShippingAddress, Store};

/// A cart line with its running figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineView {
    /// See [`CartLine::line_id`](crate::CartLine::line_id).
    pub line_id: String,
    /// The variant bought.
    pub variant_id: String,
    /// The variant's SKU.
    pub sku: String,
    /// The product the variant belongs to.
    pub product_id: String,
    /// Slug of the product's category.
    pub category_slug: Option<String>,
    /// Ancestor slugs, nearest first.
    pub category_ancestors: Vec<String>,
    /// Units bought.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: i64,
    /// `unit_price × quantity`.
    pub subtotal: i64,
    /// Discounts on this line so far, including its share of cart discounts.
    pub discount: i64,
    /// `subtotal − discount`: what the next discount or tax applies to.
    pub net: i64,
}

impl LineView {
    /// The line's category followed by its ancestors, nearest first.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.category_slug.iter().chain(&self.category_ancestors).map(String::as_str)
    }

    /// Whether the line's category or one of its ancestors is `slug`.
    pub fn in_category(&self, slug: &str) -> bool {
        self.categories().any(|c| c == slug)
    }
}

/// The cart as priced by the rules before this one: the input of a pricing rule.
///
/// The cart's own fields are unchanged; the lines carry running discounts and nets, and the
/// totals say where merchandise stands. Shipping, fees and taxes added so far are not shown:
/// no bundled rule depends on them, and rules that did would depend on chain order twice over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartView {
    /// The shop.
    pub store: Store,
    /// Lines with running figures, in cart order.
    pub lines: Vec<LineView>,
    /// Every code the shopper entered, in the order added (rules judge these).
    pub coupon_codes: Vec<String>,
    /// Codes accepted by earlier rules, in the order added.
    pub accepted_coupon_codes: Vec<String>,
    /// The signed-in customer, if any.
    pub customer_id: Option<String>,
    /// Whether the shopper checks out as a guest.
    pub guest: bool,
    /// Orders the customer placed before this one.
    pub earlier_orders: u32,
    /// Redemption counts per code.
    pub redemptions: Vec<Redemption>,
    /// The shipping address, once known.
    pub shipping: Option<ShippingAddress>,
    /// Time of pricing, Unix milliseconds, from the host.
    pub now: i64,
    /// Σ line subtotals.
    pub subtotal: i64,
    /// Σ discounts so far.
    pub discount_total: i64,
    /// `subtotal − discount_total` = Σ line nets: the running net coupon minimums and
    /// free-shipping thresholds compare against.
    pub merchandise_net: i64,
}

impl CartView {
    /// The line with `line_id`.
    pub fn line(&self, line_id: &str) -> Option<&LineView> {
        self.lines.iter().find(|l| l.line_id == line_id)
    }

    /// The redemption counts for `code` (ignoring ASCII case), zero if the host passed none.
    pub fn redemptions_of(&self, code: &str) -> Redemption {
        self.redemptions.iter().find(|r| r.code.eq_ignore_ascii_case(code)).cloned().unwrap_or_else(|| Redemption {
            code: code.to_owned(),
            total: 0,
            by_customer: 0,
        })
    }

    /// Whether an earlier rule accepted `code` (ignoring ASCII case).
    pub fn is_accepted(&self, code: &str) -> bool {
        self.accepted_coupon_codes.iter().any(|c| c.eq_ignore_ascii_case(code))
    }
}
