//! Order domain types: the status machine of API.md's order-state table, who moved an order, and
//! the snapshots an order keeps of what was sold.

use serde::{Deserialize, Serialize};

use crate::db::{JsonText, UnknownValue};

/// An order's status (API.md, "Order states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Processing,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Processing => "processing",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether an order in this status still holds its stock and counts its coupon redemptions.
    pub fn holds_stock(self) -> bool {
        !matches!(self, Self::Cancelled)
    }
}

impl TryFrom<String> for OrderStatus {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(UnknownValue { what: "order status", value })
    }
}

/// Who asks for a status change; the state machine decides what each may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The order's owner: the customer, or a guest holding its order token.
    Owner,
    /// A staff member (role `staff` or `admin`), by user id.
    Staff(String),
    /// The payment provider (a verified payment; the engine for a total of 0).
    Provider(String),
    /// The engine itself (the `order_expiry` job).
    System,
}

impl Actor {
    /// As stored in the status history: `customer`/`guest` are chosen by the caller for
    /// `Owner` (see [`Actor::label`]); `staff:<id>`, `provider:<name>`, `system`.
    pub fn label(&self, guest: bool) -> String {
        match self {
            Self::Owner if guest => "guest".to_owned(),
            Self::Owner => "customer".to_owned(),
            Self::Staff(id) => format!("staff:{id}"),
            Self::Provider(name) => format!("provider:{name}"),
            Self::System => "system".to_owned(),
        }
    }
}

/// Why a requested move is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// What the order's payment provider allows (`PaymentProvider`'s answers, so this module needs
/// no provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRules {
    /// Staff mark orders paid (`manual`).
    pub staff_confirms_payment: bool,
    /// Unpaid orders expire (every gateway; `manual` only when configured).
    pub unpaid_orders_expire: bool,
}

/// API.md's order-state table, the whole state machine: `Ok` when `actor` may move an order in
/// `from` to `to` under its provider's `rules`. Refund-driven moves (`refunded`, and cancellation
/// by refunds reaching the total) belong to the refunds path of the payments issue and are
/// refused here.
pub fn check_transition(
    actor: &Actor,
    from: OrderStatus,
    to: OrderStatus,
    rules: ProviderRules,
) -> Result<(), IllegalTransition> {
    use OrderStatus::*;
    let allowed = match (from, to) {
        (PendingPayment, Paid) => match actor {
            Actor::Provider(_) => true,
            Actor::Staff(_) => rules.staff_confirms_payment,
            _ => false,
        },
        (PendingPayment, Cancelled) => match actor {
            Actor::Owner | Actor::Staff(_) => true,
            Actor::System => rules.unpaid_orders_expire,
            Actor::Provider(_) => false,
        },
        (Paid, Processing) | (Processing, Shipped) | (Shipped, Delivered) => matches!(actor, Actor::Staff(_)),
        (Paid, Cancelled) => matches!(actor, Actor::Owner | Actor::Staff(_)),
        (Processing, Cancelled) => matches!(actor, Actor::Staff(_)),
        _ => false,
    };
    if allowed { Ok(()) } else { Err(IllegalTransition { from, to }) }
}

/// The shipping address as sold to (a copy of the cart's, JSON in `orders.shipping_address`).
pub type AddressSnapshot = crate::carts::model::CartAddress;

/// One adjustment as priced at checkout: which plugin, what kind, how much, and its label (the
/// priced cart's adjustment shape, kept as JSON so later chain changes never alter it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentSnapshot {
    pub plugin: String,
    /// `discount`, `tax`, `shipping` or `fee`.
    pub kind: String,
    /// `line`, `cart` or `shipping`.
    pub target: String,
    /// The order item's id for target `line`.
    pub line_id: Option<String>,
    pub amount: i64,
    pub code: Option<String>,
    pub label: String,
    /// Tax components (`CGST 9%`…) with their amounts, for tax adjustments.
    #[serde(default)]
    pub tax_breakdown: Vec<TaxComponentSnapshot>,
    #[serde(default)]
    pub inclusive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxComponentSnapshot {
    pub name: String,
    pub amount: i64,
}

/// An order's own row: totals, snapshots and payment state. Rows decode strictly (a status or
/// JSON snapshot the engine does not know fails the read).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Order {
    pub id: String,
    pub number: i64,
    pub customer_id: Option<String>,
    pub cart_id: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    pub currency: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping_total: i64,
    pub tax_total: i64,
    pub fee_total: i64,
    pub total: i64,
    #[sqlx(try_from = "String")]
    pub shipping_address: JsonText<AddressSnapshot>,
    #[sqlx(try_from = "String")]
    pub adjustments: JsonText<Vec<AdjustmentSnapshot>>,
    #[sqlx(try_from = "String")]
    pub coupon_codes: JsonText<Vec<String>>,
    pub pricing_version: String,
    pub payment_provider: String,
    pub refunded_total: i64,
    pub paid_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Order {
    pub fn is_guest(&self) -> bool {
        self.customer_id.is_none()
    }
}

/// One sold line, as it was priced at checkout.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderItem {
    pub id: String,
    pub position: i64,
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    #[sqlx(try_from = "String")]
    pub adjustments: JsonText<Vec<AdjustmentSnapshot>>,
}

/// One entry of the status history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusChange {
    pub at: i64,
    pub actor: String,
    #[sqlx(try_from = "Option<String>")]
    pub from_status: OptionalStatus,
    #[sqlx(try_from = "String")]
    pub to_status: OrderStatus,
    pub reason: Option<String>,
}

/// A nullable status column (`from_status` is NULL for the order's creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalStatus(pub Option<OrderStatus>);

impl TryFrom<Option<String>> for OptionalStatus {
    type Error = UnknownValue;

    fn try_from(value: Option<String>) -> Result<Self, Self::Error> {
        value.map(OrderStatus::try_from).transpose().map(OptionalStatus)
    }
}

/// Filters of the staff's order list, all optional (`email` normalised, as accounts store it).
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub email: Option<String>,
    /// Inclusive, Unix ms.
    pub created_from: Option<i64>,
    /// Exclusive, Unix ms.
    pub created_to: Option<i64>,
    /// Only orders whose payment is (true) or is not (false) flagged for staff review.
    pub payment_review: Option<bool>,
}

/// An order with its items and history: what every order route shows.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub order: Order,
    pub items: Vec<OrderItem>,
    pub history: Vec<StatusChange>,
    /// The order's payment row (absent only if the row is missing).
    pub payment: Option<crate::payments::model::Payment>,
    /// Its refunds, oldest first.
    pub refunds: Vec<crate::payments::model::Refund>,
}

#[cfg(test)]
mod tests {
    use super::{Actor, OrderStatus::*, ProviderRules, check_transition};

    #[test]
    fn the_state_machine_is_api_md_s_table() {
        let manual = ProviderRules { staff_confirms_payment: true, unpaid_orders_expire: false };
        let gateway = ProviderRules { staff_confirms_payment: false, unpaid_orders_expire: true };
        let staff = Actor::Staff("usr_1".into());
        let provider = Actor::Provider("razorpay".into());
        assert!(check_transition(&provider, PendingPayment, Paid, gateway).is_ok());
        assert!(check_transition(&staff, PendingPayment, Paid, manual).is_ok());
        assert!(check_transition(&staff, PendingPayment, Paid, gateway).is_err(), "only manual orders are marked paid");
        assert!(check_transition(&Actor::Owner, PendingPayment, Paid, manual).is_err());
        assert!(check_transition(&Actor::System, PendingPayment, Cancelled, gateway).is_ok());
        assert!(check_transition(&Actor::System, PendingPayment, Cancelled, manual).is_err(), "manual never expires");
        assert!(check_transition(&Actor::Owner, Paid, Cancelled, gateway).is_ok());
        assert!(check_transition(&Actor::Owner, Processing, Cancelled, gateway).is_err());
        assert!(check_transition(&staff, Processing, Cancelled, gateway).is_ok());
        assert!(check_transition(&staff, Paid, Shipped, manual).is_err(), "one step at a time");
        assert!(check_transition(&staff, Shipped, Cancelled, manual).is_err(), "not after shipping");
        assert!(check_transition(&staff, Cancelled, Paid, manual).is_err());
        for to in [Processing, Shipped, Delivered] {
            assert!(check_transition(&Actor::Owner, Paid, to, manual).is_err());
        }
    }
}
