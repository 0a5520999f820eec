//! Order domain types: the status machine of API.md's order-state table, who moved an order, and
//! the snapshots an order keeps of what was sold.

use serde::{Deserialize, Serialize};

use crate::db::UnknownValue;

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

/// API.md's order-state table, the whole state machine: `Ok` when `actor` may move an order in
/// `from` to `to`. `manual` tells whether the order is paid through the `manual` provider (staff
/// mark it paid; it never expires). Refund-driven moves (`refunded`, and cancellation by refunds
/// reaching the total) belong to the refunds path of the payments issue and are refused here.
pub fn check_transition(
    actor: &Actor,
    from: OrderStatus,
    to: OrderStatus,
    manual: bool,
) -> Result<(), IllegalTransition> {
    use OrderStatus::*;
    let allowed = match (from, to) {
        (PendingPayment, Paid) => match actor {
            Actor::Provider(_) => true,
            Actor::Staff(_) => manual,
            _ => false,
        },
        (PendingPayment, Cancelled) => match actor {
            Actor::Owner | Actor::Staff(_) => true,
            Actor::System => !manual,
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

/// One adjustment as priced at checkout: which plugin, what kind, how much, and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentSnapshot {
    pub plugin: String,
    /// `discount`, `tax`, `shipping` or `fee`.
    pub kind: String,
    pub amount: i64,
    pub code: Option<String>,
    pub label: String,
    /// The stored line id of the line it targets (`None`: the whole cart).
    pub line_id: Option<String>,
    /// Tax components (`CGST 9%`…) with their amounts, for tax adjustments.
    #[serde(default)]
    pub tax_breakdown: Vec<TaxComponentSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxComponentSnapshot {
    pub name: String,
    pub amount: i64,
}

#[cfg(test)]
mod tests {
    use super::{Actor, OrderStatus::*, check_transition};

    #[test]
    fn the_state_machine_is_api_md_s_table() {
        let staff = Actor::Staff("usr_1".into());
        let provider = Actor::Provider("razorpay".into());
        assert!(check_transition(&provider, PendingPayment, Paid, false).is_ok());
        assert!(check_transition(&staff, PendingPayment, Paid, true).is_ok());
        assert!(check_transition(&staff, PendingPayment, Paid, false).is_err(), "only manual orders are marked paid");
        assert!(check_transition(&Actor::Owner, PendingPayment, Paid, true).is_err());
        assert!(check_transition(&Actor::System, PendingPayment, Cancelled, false).is_ok());
        assert!(check_transition(&Actor::System, PendingPayment, Cancelled, true).is_err(), "manual never expires");
        assert!(check_transition(&Actor::Owner, Paid, Cancelled, false).is_ok());
        assert!(check_transition(&Actor::Owner, Processing, Cancelled, false).is_err());
        assert!(check_transition(&staff, Processing, Cancelled, false).is_ok());
        assert!(check_transition(&staff, Paid, Shipped, false).is_err(), "one step at a time");
        assert!(check_transition(&staff, Shipped, Cancelled, false).is_err(), "not after shipping");
        assert!(check_transition(&staff, Cancelled, Paid, true).is_err());
        for to in [Processing, Shipped, Delivered] {
            assert!(check_transition(&Actor::Owner, Paid, to, false).is_err());
        }
    }
}
