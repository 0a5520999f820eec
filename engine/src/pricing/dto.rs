//! The priced cart as the API shows it (API.md's shape), and the preview request.

use std::collections::HashMap;

use commerce_pipeline::{AppliedAdjustment, PricedCart};

use super::model::{kind_name, target_parts};
use poem_openapi::{Enum, Object};

use crate::http::{nullable::Nullable, text::Text};

/// A cart described inline for `POST /admin/pricing/preview`.
#[derive(Object, Debug)]
pub struct PreviewRequest {
    /// Lines in display order; the same variant twice is one line with the quantities added.
    pub lines: Vec<PreviewLine>,
    /// Coupon codes in the order the shopper added them (case-insensitive; repeats ignored).
    #[oai(default)]
    pub coupon_codes: Vec<Text>,
    pub shipping_address: Option<PreviewAddress>,
    /// Price as this customer would see it (a guest when absent).
    pub customer_id: Option<Text>,
    /// Orders the customer placed before (for first-order coupons); default 0.
    pub earlier_orders: Option<u32>,
    /// `display` (a cart read: `on_error = "skip"` plugins may be skipped) or `checkout` (every
    /// plugin must answer). Default `display`.
    pub purpose: Option<PurposeDto>,
}

#[derive(Object, Debug)]
pub struct PreviewLine {
    pub variant_id: Text,
    /// 1–9999.
    pub quantity: u32,
}

#[derive(Object, Debug, Clone)]
pub struct PreviewAddress {
    /// ISO 3166-1 alpha-2, e.g. `IN`.
    pub country: Text,
    /// Region or state, e.g. `KA`.
    pub region: Option<Text>,
    pub postal_code: Option<Text>,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "PricingPurpose", rename_all = "snake_case")]
pub enum PurposeDto {
    Display,
    Checkout,
}

/// A priced cart. Money is minor units of `currency`.
#[derive(Object, Debug)]
pub struct PricedCartView {
    /// The cart's id; null for a preview.
    pub id: Nullable<String>,
    pub currency: String,
    pub lines: Vec<PricedLineView>,
    /// The codes that apply, in the order they were added (`coupons` has the verdict on every
    /// code entered, rejected ones included).
    pub coupon_codes: Vec<String>,
    /// The verdict on each code.
    pub coupons: Vec<CouponView>,
    /// Σ unit price × quantity.
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping_total: i64,
    /// Exclusive tax, added to the total.
    pub tax_total: i64,
    pub fee_total: i64,
    /// Tax already inside the prices: reported, not added.
    pub inclusive_tax_total: i64,
    /// subtotal − discount_total + shipping_total + fee_total + tax_total.
    pub total: i64,
    /// Every adjustment as the plugins returned it, in order.
    pub adjustments: Vec<AdjustmentView>,
    /// What the shopper or caller should know, e.g. a rule skipped because its plugin failed.
    pub notices: Vec<NoticeView>,
    /// The version of the plugin set that priced it (see `GET /admin/plugins`).
    pub pricing_version: String,
}

#[derive(Object, Debug)]
pub struct PricedLineView {
    pub id: String,
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    /// The product's name.
    pub title: String,
    /// The variant's option values joined by ` / `, e.g. `M / Red`.
    pub variant_title: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub subtotal: i64,
    /// Discounts on the line, including its share of cart discounts.
    pub discount: i64,
    /// subtotal − discount.
    pub net: i64,
    /// Exclusive tax on the line.
    pub tax: i64,
    /// Tax inside `net` (inclusive pricing).
    pub inclusive_tax: i64,
    /// net + tax.
    pub total: i64,
    /// What applied to this line (a cart discount shows the line's share).
    pub adjustments: Vec<AdjustmentView>,
}

#[derive(Object, Debug)]
pub struct AdjustmentView {
    /// The plugin that made it.
    pub plugin: String,
    /// `discount`, `shipping`, `fee` or `tax`.
    pub kind: String,
    /// `line`, `cart` or `shipping`.
    pub target: String,
    /// For target `line`: the line's id.
    pub line_id: Nullable<String>,
    pub amount: i64,
    /// The coupon code behind it.
    pub code: Nullable<String>,
    pub label: String,
    /// For a tax: its parts (e.g. CGST and SGST), summing to `amount`.
    pub tax_breakdown: Vec<TaxComponentView>,
    /// For a tax: already inside the price.
    pub inclusive: bool,
}

#[derive(Object, Debug)]
pub struct TaxComponentView {
    pub name: String,
    pub amount: i64,
}

#[derive(Object, Debug)]
pub struct CouponView {
    pub code: String,
    pub accepted: bool,
    /// For a rejection: a sentence for the shopper.
    pub reason: Nullable<String>,
    /// For a rejection: `coupon_unknown` or `coupon_ineligible`.
    pub error_code: Nullable<String>,
    /// The plugin that decided.
    pub plugin: Nullable<String>,
}

#[derive(Object, Debug)]
pub struct NoticeView {
    /// `rule_skipped`.
    pub kind: String,
    pub plugin: String,
    pub message: String,
}

pub use super::cart_builder::LineInfo;

impl PricedCartView {
    pub fn of(
        priced: &PricedCart,
        id: Option<String>,
        info: &HashMap<String, LineInfo>,
        pricing_version: String,
    ) -> Self {
        Self {
            id: id.into(),
            currency: priced.currency().as_str().to_owned(),
            lines: priced
                .lines()
                .iter()
                .map(|line| {
                    let info = info.get(&line.line_id);
                    PricedLineView {
                        id: line.line_id.clone(),
                        variant_id: info.map(|i| i.variant_id.clone()).unwrap_or_default(),
                        product_id: info.map(|i| i.product_id.clone()).unwrap_or_default(),
                        sku: line.sku.clone(),
                        title: info.map(|i| i.title.clone()).unwrap_or_default(),
                        variant_title: info.map(|i| i.variant_title.clone()).unwrap_or_default(),
                        quantity: line.quantity,
                        unit_price: line.unit_price,
                        subtotal: line.subtotal,
                        discount: line.discount,
                        net: line.net,
                        tax: line.tax,
                        inclusive_tax: line.inclusive_tax,
                        total: line.total,
                        adjustments: line.adjustments.iter().map(AdjustmentView::of).collect(),
                    }
                })
                .collect(),
            coupon_codes: priced.coupon_codes().to_vec(),
            coupons: priced
                .coupons()
                .iter()
                .map(|c| CouponView {
                    code: c.code.clone(),
                    accepted: c.accepted,
                    reason: c.reason.clone().into(),
                    error_code: c.error_code.map(|e| e.as_str().to_owned()).into(),
                    plugin: c.plugin.clone().into(),
                })
                .collect(),
            subtotal: priced.subtotal(),
            discount_total: priced.discount_total(),
            shipping_total: priced.shipping_total(),
            tax_total: priced.tax_total(),
            fee_total: priced.fee_total(),
            inclusive_tax_total: priced.inclusive_tax_total(),
            total: priced.total(),
            adjustments: priced.adjustments().iter().map(AdjustmentView::of).collect(),
            notices: priced
                .notices()
                .iter()
                .map(|n| NoticeView {
                    kind: "rule_skipped".to_owned(),
                    plugin: n.plugin.clone(),
                    message: n.message.clone(),
                })
                .collect(),
            pricing_version,
        }
    }
}

impl AdjustmentView {
    fn of(a: &AppliedAdjustment) -> Self {
        let (target, line_id) = target_parts(&a.target);
        Self {
            plugin: a.plugin.clone(),
            kind: kind_name(a.kind).to_owned(),
            target: target.to_owned(),
            line_id: line_id.cloned().into(),
            amount: a.amount,
            code: a.code.clone().into(),
            label: a.label.clone(),
            tax_breakdown: a
                .tax_breakdown
                .iter()
                .map(|c| TaxComponentView { name: c.name.clone(), amount: c.amount })
                .collect(),
            inclusive: a.inclusive,
        }
    }
}
