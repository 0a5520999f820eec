//! The priced cart: the pipeline's running state and its final answer.

use serde::Serialize;

use crate::cart::Cart;
use crate::error::PipelineError;
use crate::money::{Currency, Money};
use crate::rule::{AdjustmentKind, CouponErrorCode, Target, TaxComponent};
use crate::view::{CartView, LineView};

/// Reason given for a code that no rule recognised.
pub(crate) const UNRECOGNISED_CODE: &str = "This code is not recognised.";

/// One adjustment as it landed, with the plugin that made it.
///
/// On [`PricedCart::adjustments`] it is the adjustment as returned. On a line it is the effect on
/// that line: for a cart discount, the line's allocated share (target [`Target::Cart`]); lines
/// whose share is zero get no entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedAdjustment {
    /// The plugin whose rule made it.
    pub plugin: String,
    /// What it does.
    pub kind: AdjustmentKind,
    /// What it was aimed at.
    pub target: Target,
    /// Minor units (on a line: the part that applies to the line).
    pub amount: i64,
    /// The coupon code that caused it.
    pub code: Option<String>,
    /// The shopper-readable label.
    pub label: String,
    /// For a tax: its parts.
    pub tax_breakdown: Vec<TaxComponent>,
    /// For a tax: inside the price (reported, not added).
    pub inclusive: bool,
}

/// A line with its price worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    /// The line's id.
    pub line_id: String,
    /// The variant's SKU.
    pub sku: String,
    /// Units bought.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: i64,
    /// `unit_price × quantity`.
    pub subtotal: i64,
    /// Discounts on the line, including its share of cart discounts.
    pub discount: i64,
    /// `subtotal − discount`, never negative.
    pub net: i64,
    /// Exclusive tax on the line (added to the total).
    pub tax: i64,
    /// Inclusive tax on the line (already inside `net`, reported only).
    pub inclusive_tax: i64,
    /// `net + tax`: what the line costs the shopper.
    pub total: i64,
    /// What applied to the line, in order.
    pub adjustments: Vec<AppliedAdjustment>,
}

/// The outcome for one of the cart's coupon codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponResult {
    /// The code as the shopper entered it.
    pub code: String,
    /// Whether it applies.
    pub accepted: bool,
    /// A sentence for the shopper.
    pub reason: Option<String>,
    /// Why it was rejected.
    pub error_code: Option<CouponErrorCode>,
    /// The plugin that decided; `None` while no rule has recognised the code.
    pub plugin: Option<String>,
}

impl CouponResult {
    /// Accepted, or found ineligible: a later rule may not overturn it. An `unknown` verdict is
    /// not final, since another rule may know the code.
    pub(crate) fn is_final(&self) -> bool {
        self.accepted || self.error_code == Some(CouponErrorCode::Ineligible)
    }
}

/// What a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A rule failed and its plugin is configured `on_error = "skip"`: the price leaves it out.
    RuleSkipped,
}

/// Something the shopper or the caller should know about how the cart was priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The plugin concerned.
    pub plugin: String,
    /// Why.
    pub message: String,
}

/// A cart being priced, rule by rule, and finally the priced cart.
///
/// Built from a [`Cart`] with [`PricedCart::new`]; each rule's output goes through
/// [`PricedCart::apply`], which keeps the invariants below or changes nothing:
///
/// - every line: `0 ≤ net = subtotal − discount`, `total = net + tax`;
/// - `discount_total = Σ line discounts ≤ subtotal`;
/// - `total = subtotal − discount_total + shipping_total + fee_total + tax_total ≥ 0`;
///   `inclusive_tax_total` is reported, not added.
///
/// Fields are private so that nothing else can break those; read them through the accessors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedCart {
    #[serde(skip)]
    pub(crate) cart: Cart,
    pub(crate) currency: Currency,
    pub(crate) lines: Vec<PricedLine>,
    pub(crate) subtotal: i64,
    pub(crate) discount_total: i64,
    pub(crate) shipping_total: i64,
    pub(crate) fee_total: i64,
    pub(crate) tax_total: i64,
    pub(crate) inclusive_tax_total: i64,
    /// The part of `inclusive_tax_total` inside shipping, to bound further inclusive shipping tax.
    #[serde(skip)]
    pub(crate) shipping_inclusive_tax: i64,
    pub(crate) total: i64,
    pub(crate) coupon_codes: Vec<String>,
    pub(crate) coupons: Vec<CouponResult>,
    pub(crate) adjustments: Vec<AppliedAdjustment>,
    pub(crate) notices: Vec<Notice>,
}

impl PricedCart {
    /// Starts pricing `cart`: every line at its subtotal (`unit_price × quantity`), no
    /// adjustments, every coupon code not yet recognised. Refuses an invalid cart.
    pub fn new(cart: &Cart) -> Result<PricedCart, PipelineError> {
        cart.validate()?;
        let mut lines = Vec::with_capacity(cart.lines.len());
        let mut subtotal: i64 = 0;
        for line in &cart.lines {
            // `validate` has checked that every subtotal and their sum fit.
            let line_subtotal = line.subtotal().map_err(|_| crate::CartError::Overflow)?;
            subtotal = subtotal.checked_add(line_subtotal).ok_or(crate::CartError::Overflow)?;
            lines.push(PricedLine {
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                subtotal: line_subtotal,
                discount: 0,
                net: line_subtotal,
                tax: 0,
                inclusive_tax: 0,
                total: line_subtotal,
                adjustments: Vec::new(),
            });
        }
        let coupons = cart
            .coupon_codes
            .iter()
            .map(|code| CouponResult {
                code: code.clone(),
                accepted: false,
                reason: Some(UNRECOGNISED_CODE.to_owned()),
                error_code: Some(CouponErrorCode::Unknown),
                plugin: None,
            })
            .collect();
        Ok(PricedCart {
            cart: cart.clone(),
            currency: cart.store.currency,
            lines,
            subtotal,
            discount_total: 0,
            shipping_total: 0,
            fee_total: 0,
            tax_total: 0,
            inclusive_tax_total: 0,
            shipping_inclusive_tax: 0,
            total: subtotal,
            coupon_codes: Vec::new(),
            coupons,
            adjustments: Vec::new(),
            notices: Vec::new(),
        })
    }

    /// Records that `plugin`'s rule was left out (its plugin says `on_error = "skip"`): the price
    /// is unchanged and [`PricedCart::notices`] says why.
    pub fn skip(&mut self, plugin: &str, reason: impl Into<String>) {
        self.notices.push(Notice { kind: NoticeKind::RuleSkipped, plugin: plugin.to_owned(), message: reason.into() });
    }

    /// The cart as priced so far, as the next rule receives it.
    pub fn view(&self) -> CartView {
        let cart = &self.cart;
        let lines = cart
            .lines
            .iter()
            .zip(&self.lines)
            .map(|(line, priced)| LineView {
                line_id: line.line_id.clone(),
                variant_id: line.variant_id.clone(),
                sku: line.sku.clone(),
                product_id: line.product_id.clone(),
                category_slug: line.category_slug.clone(),
                category_ancestors: line.category_ancestors.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                subtotal: priced.subtotal,
                discount: priced.discount,
                net: priced.net,
            })
            .collect();
        CartView {
            store: cart.store.clone(),
            lines,
            coupon_codes: cart.coupon_codes.clone(),
            accepted_coupon_codes: self.coupon_codes.clone(),
            customer_id: cart.customer_id.clone(),
            guest: cart.guest,
            earlier_orders: cart.earlier_orders,
            redemptions: cart.redemptions.clone(),
            shipping: cart.shipping.clone(),
            now: cart.now,
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            merchandise_net: self.merchandise_net(),
        }
    }

    /// The cart being priced.
    pub fn cart(&self) -> &Cart {
        &self.cart
    }

    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The priced lines, in cart order.
    pub fn lines(&self) -> &[PricedLine] {
        &self.lines
    }

    /// The priced line with `line_id`.
    pub fn line(&self, line_id: &str) -> Option<&PricedLine> {
        self.lines.iter().find(|l| l.line_id == line_id)
    }

    /// Σ unit price × quantity.
    pub fn subtotal(&self) -> i64 {
        self.subtotal
    }

    /// Σ discounts.
    pub fn discount_total(&self) -> i64 {
        self.discount_total
    }

    /// `subtotal − discount_total`: the merchandise net, before shipping, fees and tax.
    pub fn merchandise_net(&self) -> i64 {
        // discount_total ≤ subtotal is an invariant, so this cannot underflow.
        self.subtotal - self.discount_total
    }

    /// Σ shipping charges.
    pub fn shipping_total(&self) -> i64 {
        self.shipping_total
    }

    /// Σ fees.
    pub fn fee_total(&self) -> i64 {
        self.fee_total
    }

    /// Σ exclusive taxes (added to the total).
    pub fn tax_total(&self) -> i64 {
        self.tax_total
    }

    /// Σ inclusive taxes (inside the prices; reported, not added).
    pub fn inclusive_tax_total(&self) -> i64 {
        self.inclusive_tax_total
    }

    /// `subtotal − discount_total + shipping_total + fee_total + tax_total`, never negative.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// The total as [`Money`].
    pub fn total_money(&self) -> Money {
        Money::new(self.total, self.currency)
    }

    /// Accepted coupon codes, in the order the shopper added them.
    pub fn coupon_codes(&self) -> &[String] {
        &self.coupon_codes
    }

    /// The outcome for every code in the cart, in cart order. A code no rule recognised is
    /// rejected as `coupon_unknown`.
    pub fn coupons(&self) -> &[CouponResult] {
        &self.coupons
    }

    /// Every adjustment applied, in order, as the rules returned them.
    pub fn adjustments(&self) -> &[AppliedAdjustment] {
        &self.adjustments
    }

    /// Rules skipped and other remarks.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }
}
