//! The order as every order route shows it.

use poem_openapi::Object;

use crate::{
    carts::api::CartAddressView,
    clock::from_millis,
    http::nullable::Nullable,
    orders::model::{AdjustmentSnapshot, OrderRecord, OrderStatus},
    pricing::dto::{AdjustmentView, TaxComponentView},
};

fn rfc3339(ms: i64) -> String {
    from_millis(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An order: what was sold at which price (snapshots taken at checkout, unchanged by later
/// catalogue edits), where it goes, its payment and its status history.
#[derive(Object)]
pub struct OrderView {
    pub id: String,
    /// Human order number, sequential per shop.
    pub number: i64,
    /// `pending_payment`, `paid`, `processing`, `shipped`, `delivered`, `cancelled` or `refunded`.
    pub status: String,
    pub email: String,
    /// Null for a guest's order.
    pub customer_id: Nullable<String>,
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping_total: i64,
    pub tax_total: i64,
    pub fee_total: i64,
    pub total: i64,
    pub coupon_codes: Vec<String>,
    pub items: Vec<OrderItemView>,
    /// Cart-level adjustments (shipping, cart discounts, fees) as priced at checkout.
    pub adjustments: Vec<AdjustmentView>,
    pub shipping_address: CartAddressView,
    pub payment: OrderPaymentView,
    /// Every status change, oldest first.
    pub history: Vec<StatusChangeView>,
    /// When an unpaid order will be cancelled; null once paid, or for providers whose orders
    /// never expire (`manual`).
    pub expires_at: Nullable<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Object)]
pub struct OrderItemView {
    pub id: String,
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    /// The product's name at checkout.
    pub title: String,
    /// The variant's option values at checkout, e.g. `M / Red`.
    pub variant_title: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub adjustments: Vec<AdjustmentView>,
}

#[derive(Object)]
pub struct OrderPaymentView {
    /// The provider chosen at checkout, e.g. `manual`.
    pub provider: String,
    /// `pending`, `paid`, `partially_refunded`, `refunded`, or `cancelled` (an unpaid order that
    /// was cancelled).
    pub status: String,
    pub amount: i64,
    /// Refunded so far, including refunds the gateway has not yet confirmed.
    pub refunded_total: i64,
    pub paid_at: Nullable<String>,
    /// The gateway's id of the payment that paid the order (null for `manual` and unpaid orders).
    pub gateway_payment_id: Nullable<String>,
    /// Why staff must look at this payment (a payment whose amount or currency does not match
    /// the order, a failed refund); null when nothing is wrong.
    pub review: Nullable<String>,
    /// Every refund, oldest first.
    pub refunds: Vec<RefundView>,
}

/// Money given back.
#[derive(Object)]
pub struct RefundView {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `pending` (not yet accepted by the gateway; retried), `processing` (accepted),
    /// `processed` or `failed`.
    pub state: String,
    /// `staff`, `cancellation` (a paid order was cancelled), `late_payment` (the money came after
    /// the order was cancelled) or `extra_payment` (a second payment for a paid order).
    pub cause: String,
    pub reason: Nullable<String>,
    pub gateway_refund_id: Nullable<String>,
    /// `staff:<user id>`, `customer`, `guest` or `system`.
    pub created_by: String,
    pub created_at: String,
}

pub fn refund_view(r: crate::payments::model::Refund) -> RefundView {
    RefundView {
        id: r.id,
        amount: r.amount,
        currency: r.currency,
        state: r.state.as_str().to_owned(),
        cause: r.cause,
        reason: r.reason.into(),
        gateway_refund_id: r.gateway_refund_id.into(),
        created_by: r.created_by,
        created_at: rfc3339(r.created_at),
    }
}

#[derive(Object)]
pub struct StatusChangeView {
    pub at: String,
    /// `customer`, `guest`, `staff:<user id>`, `provider:<name>` or `system`.
    pub actor: String,
    /// Null for the order's creation.
    pub from: Nullable<String>,
    pub to: String,
    pub reason: Nullable<String>,
}

pub fn adjustment_view(a: &AdjustmentSnapshot) -> AdjustmentView {
    AdjustmentView {
        plugin: a.plugin.clone(),
        kind: a.kind.clone(),
        target: a.target.clone(),
        line_id: a.line_id.clone().into(),
        amount: a.amount,
        code: a.code.clone().into(),
        label: a.label.clone(),
        tax_breakdown: a
            .tax_breakdown
            .iter()
            .map(|t| TaxComponentView { name: t.name.clone(), amount: t.amount })
            .collect(),
        inclusive: a.inclusive,
    }
}

impl OrderView {
    pub fn of(record: OrderRecord) -> Self {
        let OrderRecord { order, items, history, payment, refunds } = record;
        let payment_status = match (order.status, order.paid_at) {
            (_, Some(_)) if order.refunded_total >= order.total && order.total > 0 => "refunded",
            (_, Some(_)) if order.refunded_total > 0 => "partially_refunded",
            (_, Some(_)) => "paid",
            (OrderStatus::Cancelled, None) => "cancelled",
            (_, None) => "pending",
        };
        Self {
            id: order.id,
            number: order.number,
            status: order.status.as_str().to_owned(),
            email: order.email,
            customer_id: order.customer_id.into(),
            currency: order.currency,
            subtotal: order.subtotal,
            discount_total: order.discount_total,
            shipping_total: order.shipping_total,
            tax_total: order.tax_total,
            fee_total: order.fee_total,
            total: order.total,
            coupon_codes: order.coupon_codes.0,
            items: items
                .into_iter()
                .map(|i| OrderItemView {
                    adjustments: i.adjustments.0.iter().map(adjustment_view).collect(),
                    id: i.id,
                    variant_id: i.variant_id,
                    product_id: i.product_id,
                    sku: i.sku,
                    title: i.title,
                    variant_title: i.variant_title,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    subtotal: i.subtotal,
                    discount: i.discount,
                    net: i.net,
                    tax: i.tax,
                    total: i.total,
                })
                .collect(),
            adjustments: order.adjustments.0.iter().map(adjustment_view).collect(),
            shipping_address: crate::carts::api::address_view(order.shipping_address.0),
            payment: OrderPaymentView {
                provider: order.payment_provider,
                status: payment_status.to_owned(),
                amount: order.total,
                refunded_total: order.refunded_total,
                paid_at: order.paid_at.map(rfc3339).into(),
                gateway_payment_id: payment.as_ref().and_then(|p| p.gateway_payment_id.clone()).into(),
                review: payment.and_then(|p| p.review).into(),
                refunds: refunds.into_iter().map(refund_view).collect(),
            },
            history: history
                .into_iter()
                .map(|h| StatusChangeView {
                    at: rfc3339(h.at),
                    actor: h.actor,
                    from: h.from_status.0.map(|s| s.as_str().to_owned()).into(),
                    to: h.to_status.as_str().to_owned(),
                    reason: h.reason.into(),
                })
                .collect(),
            expires_at: order.expires_at.map(rfc3339).into(),
            created_at: rfc3339(order.created_at),
            updated_at: rfc3339(order.updated_at),
        }
    }
}
