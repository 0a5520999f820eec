//! Conversions between the wit-bindgen types of `commerce:plugin/types` and the pipeline types.
//!
//! Field by field, no interpretation: the WIT mirrors the pipeline. The guest converts the cart in
//! (`wit::Cart` → `CartView`) and the output out (`RuleOutput` → `wit::RuleOutput`); the other two
//! directions serve the native harness, which round-trips through WIT as a component would.

use commerce_pipeline::{
    Adjustment, AdjustmentKind, CartView, CouponErrorCode, CouponVerdict, Currency, LineView, Redemption, RuleOutput,
    ShippingAddress, Store, Target, TaxComponent,
};

use crate::bindings::commerce::plugin::types as wit;

/// A WIT value the pipeline types cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The store's currency is not three upper-case letters.
    #[error("currency `{0}` is not an ISO 4217 code")]
    Currency(String),
}

impl TryFrom<wit::Cart> for CartView {
    type Error = ConvertError;

    fn try_from(cart: wit::Cart) -> Result<Self, Self::Error> {
        let currency = Currency::new(&cart.store.currency).map_err(|_| ConvertError::Currency(cart.store.currency))?;
        Ok(CartView {
            store: Store {
                currency,
                origin_country: cart.store.origin_country,
                origin_region: cart.store.origin_region,
                prices_include_tax: cart.store.prices_include_tax,
            },
            lines: cart
                .lines
                .into_iter()
                .map(|l| LineView {
                    line_id: l.line_id,
                    variant_id: l.variant_id,
                    sku: l.sku,
                    product_id: l.product_id,
                    category_slug: l.category_slug,
                    category_ancestors: l.category_ancestors,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    subtotal: l.subtotal,
                    discount: l.discount,
                    net: l.net,
                })
                .collect(),
            coupon_codes: cart.coupon_codes,
            accepted_coupon_codes: cart.accepted_coupon_codes,
            customer_id: cart.customer_id,
            guest: cart.guest,
            earlier_orders: cart.earlier_orders,
            redemptions: cart
                .redemptions
                .into_iter()
                .map(|r| Redemption { code: r.code, total: r.total, by_customer: r.by_customer })
                .collect(),
            shipping: cart.shipping.map(|s| ShippingAddress {
                country: s.country,
                region: s.region,
                postal_code: s.postal_code,
            }),
            now: cart.now,
            subtotal: cart.subtotal,
            discount_total: cart.discount_total,
            merchandise_net: cart.merchandise_net,
        })
    }
}

impl From<&CartView> for wit::Cart {
    fn from(cart: &CartView) -> Self {
        wit::Cart {
            store: wit::Store {
                currency: cart.store.currency.as_str().to_owned(),
                origin_country: cart.store.origin_country.clone(),
                origin_region: cart.store.origin_region.clone(),
                prices_include_tax: cart.store.prices_include_tax,
            },
            lines: cart
                .lines
                .iter()
                .map(|l| wit::Line {
                    line_id: l.line_id.clone(),
                    variant_id: l.variant_id.clone(),
                    sku: l.sku.clone(),
                    product_id: l.product_id.clone(),
                    category_slug: l.category_slug.clone(),
                    category_ancestors: l.category_ancestors.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    subtotal: l.subtotal,
                    discount: l.discount,
                    net: l.net,
                })
                .collect(),
            coupon_codes: cart.coupon_codes.clone(),
            accepted_coupon_codes: cart.accepted_coupon_codes.clone(),
            customer_id: cart.customer_id.clone(),
            guest: cart.guest,
            earlier_orders: cart.earlier_orders,
            redemptions: cart
                .redemptions
                .iter()
                .map(|r| wit::Redemption { code: r.code.clone(), total: r.total, by_customer: r.by_customer })
                .collect(),
            shipping: cart.shipping.as_ref().map(|s| wit::ShippingAddress {
                country: s.country.clone(),
                region: s.region.clone(),
                postal_code: s.postal_code.clone(),
            }),
            now: cart.now,
            subtotal: cart.subtotal,
            discount_total: cart.discount_total,
            merchandise_net: cart.merchandise_net,
        }
    }
}

impl From<RuleOutput> for wit::RuleOutput {
    fn from(output: RuleOutput) -> Self {
        wit::RuleOutput {
            adjustments: output.adjustments.into_iter().map(adjustment_to_wit).collect(),
            coupons: output
                .coupons
                .into_iter()
                .map(|v| wit::CouponVerdict {
                    code: v.code,
                    accepted: v.accepted,
                    reason: v.reason,
                    error_code: v.error_code.map(|c| match c {
                        CouponErrorCode::Unknown => wit::CouponErrorCode::CouponUnknown,
                        CouponErrorCode::Ineligible => wit::CouponErrorCode::CouponIneligible,
                    }),
                })
                .collect(),
        }
    }
}

impl From<wit::RuleOutput> for RuleOutput {
    fn from(output: wit::RuleOutput) -> Self {
        RuleOutput {
            adjustments: output.adjustments.into_iter().map(adjustment_from_wit).collect(),
            coupons: output
                .coupons
                .into_iter()
                .map(|v| CouponVerdict {
                    code: v.code,
                    accepted: v.accepted,
                    reason: v.reason,
                    error_code: v.error_code.map(|c| match c {
                        wit::CouponErrorCode::CouponUnknown => CouponErrorCode::Unknown,
                        wit::CouponErrorCode::CouponIneligible => CouponErrorCode::Ineligible,
                    }),
                })
                .collect(),
        }
    }
}

fn adjustment_to_wit(a: Adjustment) -> wit::Adjustment {
    wit::Adjustment {
        kind: match a.kind {
            AdjustmentKind::Discount => wit::AdjustmentKind::Discount,
            AdjustmentKind::Shipping => wit::AdjustmentKind::Shipping,
            AdjustmentKind::Fee => wit::AdjustmentKind::Fee,
            AdjustmentKind::Tax => wit::AdjustmentKind::Tax,
        },
        target: match a.target {
            Target::Line(id) => wit::Target::Line(id),
            Target::Cart => wit::Target::Cart,
            Target::Shipping => wit::Target::Shipping,
        },
        amount: a.amount,
        code: a.code,
        label: a.label,
        tax_breakdown: a
            .tax_breakdown
            .into_iter()
            .map(|c| wit::TaxComponent { name: c.name, amount: c.amount })
            .collect(),
        inclusive: a.inclusive,
    }
}

fn adjustment_from_wit(a: wit::Adjustment) -> Adjustment {
    Adjustment {
        kind: match a.kind {
            wit::AdjustmentKind::Discount => AdjustmentKind::Discount,
            wit::AdjustmentKind::Shipping => AdjustmentKind::Shipping,
            wit::AdjustmentKind::Fee => AdjustmentKind::Fee,
            wit::AdjustmentKind::Tax => AdjustmentKind::Tax,
        },
        target: match a.target {
            wit::Target::Line(id) => Target::Line(id),
            wit::Target::Cart => Target::Cart,
            wit::Target::Shipping => Target::Shipping,
        },
        amount: a.amount,
        code: a.code,
        label: a.label,
        tax_breakdown: a.tax_breakdown.into_iter().map(|c| TaxComponent { name: c.name, amount: c.amount }).collect(),
        inclusive: a.inclusive,
    }
}

#[cfg(test)]
mod tests {
    use commerce_pipeline::{Cart, PricedCart};

    use super::*;

    #[test]
    fn a_cart_view_survives_the_trip_through_wit() {
        let cart = Cart::from_json(
            r#"{"store": {"currency": "INR", "origin_country": "IN", "origin_region": "KA"},
                "lines": [{"line_id": "n", "sku": "NOVEL", "category_slug": "fiction",
                           "category_ancestors": ["books"], "quantity": 1, "unit_price": 30000}],
                "coupon_codes": ["WELCOME10"], "customer_id": "c1", "earlier_orders": 2,
                "redemptions": [{"code": "WELCOME10", "total": 3, "by_customer": 1}],
                "shipping": {"country": "IN", "region": "MH", "postal_code": "400001"}, "now": 42}"#,
        )
        .unwrap();
        let view = PricedCart::new(&cart).unwrap().view();
        assert_eq!(CartView::try_from(wit::Cart::from(&view)).unwrap(), view);
    }

    #[test]
    fn a_rule_output_survives_the_trip_through_wit() {
        let output = RuleOutput {
            adjustments: vec![
                Adjustment::line_discount("n", 5, "x"),
                Adjustment::cart_discount(7, "y").with_code("WELCOME10"),
                Adjustment::shipping(49, "s"),
                Adjustment::fee(1, "f"),
                Adjustment::tax(Target::Shipping, 2, "GST")
                    .with_breakdown(vec![TaxComponent::new("CGST", 1), TaxComponent::new("SGST", 1)])
                    .inclusive(),
            ],
            coupons: vec![
                CouponVerdict::accepted("WELCOME10"),
                CouponVerdict::rejected("FLAT200", CouponErrorCode::Ineligible, "Spend more"),
                CouponVerdict::rejected("NOPE", CouponErrorCode::Unknown, "Unknown"),
            ],
        };
        assert_eq!(RuleOutput::from(wit::RuleOutput::from(output.clone())), output);
    }

    #[test]
    fn a_currency_the_pipeline_cannot_hold_is_an_error() {
        let cart = Cart::from_json(r#"{"store": {"currency": "INR", "origin_country": "IN"}}"#).unwrap();
        let mut wire = wit::Cart::from(&PricedCart::new(&cart).unwrap().view());
        wire.store.currency = "rupees".into();
        assert_eq!(CartView::try_from(wire), Err(ConvertError::Currency("rupees".into())));
    }
}
