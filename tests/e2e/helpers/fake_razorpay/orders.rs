//! Orders: the entity, its JSON, and `POST /v1/orders` (§2).

use serde_json::{Map, Value, json};

use super::{
    State,
    errors::ApiError,
    new_id, notes_json, now,
    routes::{bool_field, int_field, parse_notes, reject_unknown, string_field},
};

pub(super) struct Order {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) receipt: Option<String>,
    pub(super) notes: Map<String, Value>,
    pub(super) status: &'static str,
    pub(super) amount_paid: i64,
    pub(super) attempts: u32,
    /// The order's own capture setting; `None` follows the account (§3).
    pub(super) payment_capture: Option<bool>,
    pub(super) payments: Vec<String>,
    pub(super) created_at: i64,
}

impl Order {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id, "entity": "order", "amount": self.amount, "amount_paid": self.amount_paid,
            "amount_due": self.amount - self.amount_paid, "currency": self.currency, "receipt": self.receipt,
            "offer_id": null, "status": self.status, "attempts": self.attempts, "notes": notes_json(&self.notes),
            "created_at": self.created_at,
        })
    }
}

/// `POST /v1/orders` (§2, §10.4).
pub(super) fn create_order(state: &mut State, body: &Map<String, Value>) -> Result<Value, ApiError> {
    // Unverified for orders (documented for refunds): unknown fields are refused.
    let known =
        ["amount", "currency", "receipt", "notes", "partial_payment", "first_payment_min_amount", "payment_capture"];
    reject_unknown(body, &known)?;
    let amount = int_field(body, "amount")?.ok_or_else(|| ApiError::required("amount"))?;
    // Unverified: server-side defaulting to INR; the fake requires the field, as documented.
    let currency = string_field(body, "currency")?.ok_or_else(|| ApiError::required("currency"))?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        // Unverified: the text for a malformed currency.
        return Err(ApiError::invalid("The selected currency is invalid.", Some("currency")));
    }
    if amount < minimum(&currency) {
        // §2 gives the INR text only; other currencies reuse its shape (unverified).
        let text = if currency == "INR" {
            "The amount must be at least INR 1.00".to_owned()
        } else {
            format!("The amount must be at least {currency} 1")
        };
        return Err(ApiError::invalid(text, Some("amount")));
    }
    if matches!(currency.as_str(), "KWD" | "BHD" | "OMR") && amount % 10 != 0 {
        // Unverified: the text; §2 only says 3-decimal amounts must end in 0.
        return Err(ApiError::invalid("The amount must end in 0 for this currency.", Some("amount")));
    }
    let receipt = string_field(body, "receipt")?;
    if receipt.as_ref().is_some_and(|r| r.chars().count() > 40) {
        // Unverified: the text; the 40-character limit is documented.
        return Err(ApiError::invalid("The receipt may not be greater than 40 characters.", Some("receipt")));
    }
    let notes = parse_notes(body.get("notes"))?;
    bool_field(body, "partial_payment")?;
    int_field(body, "first_payment_min_amount")?;
    // Unverified whether Razorpay refuses a duplicate `receipt` (§7); the fake accepts it, so a
    // plugin cannot lean on receipts for idempotency.
    let order = Order {
        id: new_id("order_"),
        amount,
        currency,
        receipt,
        notes,
        status: "created",
        amount_paid: 0,
        attempts: 0,
        payment_capture: bool_field(body, "payment_capture")?,
        payments: Vec::new(),
        created_at: now(),
    };
    let answer = order.to_json();
    state.orders.insert(order.id.clone(), order);
    Ok(answer)
}

/// INR 1.00 (§2, §4); unverified for other currencies, where the fake asks for one subunit.
pub(super) fn minimum(currency: &str) -> i64 {
    if currency == "INR" { 100 } else { 1 }
}
