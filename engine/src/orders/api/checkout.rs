//! `POST /api/v1/checkout` and `POST /api/v1/orders/{id}/payment`.

use std::{collections::BTreeMap, sync::Arc};

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Header, param::Path, payload::Json, types::ToJSON};
use sha2::{Digest, Sha256};

use super::{dto::OrderView, storefront::order_credential};
use crate::{
    accounts::AccountService,
    carts::api::{CartAddressInput, address_choice, cart_credential},
    http::{
        nullable::Nullable,
        problem::{ApiError, Problem},
        raw_json::RawJson,
        replay::mark_replayed,
        text::Text,
    },
    orders::{
        OrderError, OrderService,
        service::checkout::{CheckoutOutcome, CheckoutReply, CheckoutRequest},
    },
    payments::{PaymentSession, ProviderError},
};

#[derive(poem_openapi::Tags)]
enum CheckoutTags {
    /// Turning a cart into an order, and paying for it.
    Checkout,
}

pub struct CheckoutApi {
    pub accounts: Arc<AccountService>,
    pub orders: Arc<OrderService>,
}

#[derive(Object)]
pub struct CheckoutBody {
    pub cart_id: Text,
    /// One of the configured `payments.providers`, e.g. `manual`.
    pub payment_provider: Text,
    /// A guest's email (required unless already on the cart). A customer's order uses their
    /// account's email.
    pub email: Option<Text>,
    /// Required unless the cart has one already (inline or `shipping_address_id`, not both).
    pub shipping_address: Option<CartAddressInput>,
    /// One of the signed-in customer's saved addresses.
    pub shipping_address_id: Option<Text>,
    /// The total the shopper saw; when the cart now prices differently, 409 `price_changed`
    /// with the new `total` and nothing happens.
    pub expected_total: Option<i64>,
}

/// The placed order, what to pay with, and for a guest the token to read it with.
#[derive(Object)]
pub struct CheckoutView {
    #[oai(flatten)]
    pub order: OrderView,
    /// For a guest's order: send it as `X-Order-Token` to read the order. Null for a customer.
    pub order_token: Nullable<String>,
    /// How to pay; null when the provider failed (see `payment_error`) or nothing is due.
    pub payment_session: Nullable<PaymentSessionView>,
    /// Why there is no payment session: ask again with `POST /orders/{id}/payment`.
    pub payment_error: Nullable<PaymentErrorView>,
}

#[derive(Object)]
pub struct PaymentSessionView {
    pub provider: String,
    pub amount: i64,
    pub currency: String,
    /// What to do, for providers such as `manual` (bank transfer, cash on delivery).
    pub instructions: Nullable<String>,
    /// What a client-side payment widget needs (a gateway's key and order id); empty for `manual`.
    pub client_data: BTreeMap<String, String>,
}

#[derive(Object)]
pub struct PaymentErrorView {
    /// `payment_provider_error`.
    pub code: String,
    pub provider: String,
    pub detail: String,
}

#[derive(ApiResponse)]
pub enum CheckoutResponse {
    /// The order was placed (or this is the replay of the request that placed it, with
    /// `Idempotent-Replayed: true`).
    #[oai(status = 201)]
    Created(RawJson<CheckoutView>),
}

fn session_view(session: PaymentSession) -> PaymentSessionView {
    PaymentSessionView {
        provider: session.provider,
        amount: session.amount,
        currency: session.currency.as_str().to_owned(),
        instructions: session.instructions.into(),
        client_data: session.client_data,
    }
}

fn error_view(error: ProviderError) -> PaymentErrorView {
    PaymentErrorView { code: "payment_provider_error".to_owned(), provider: error.provider, detail: error.detail }
}

/// The 201's body, with or without the guest's token (the stored copy never holds it).
fn checkout_json(outcome: &CheckoutOutcome, with_token: bool) -> serde_json::Value {
    let view = CheckoutView {
        order: OrderView::of(outcome.record.clone()),
        order_token: outcome.order_token.clone().filter(|_| with_token).into(),
        payment_session: outcome.payment_session.clone().map(session_view).into(),
        payment_error: outcome.payment_error.clone().map(error_view).into(),
    };
    view.to_json().unwrap_or_default()
}

/// JSON with object keys sorted at every level: equal bodies hash equally whatever their key
/// order or spacing ("compared as canonical JSON", API.md).
pub(super) fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// A refusal and what the idempotency record keeps of it: answers of the business logic (4xx
/// but validation) are stored and replayed; validation and 5xx are not, so a retry runs again.
pub(super) fn stored_refusal(error: OrderError) -> (Option<(u16, String)>, ApiError) {
    let error = ApiError::from(error);
    let problem = error.problem();
    let stored = (problem.status < 500 && problem.code != "validation_failed")
        .then(|| (problem.status, problem.to_json().unwrap_or_default().to_string()));
    (stored, error)
}

/// A stored answer, replayed with `Idempotent-Replayed: true`: the 201's JSON, or the stored
/// refusal as the error.
pub(super) fn replayed(status: u16, body: &str) -> Result<serde_json::Value, ApiError> {
    mark_replayed();
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ApiError::from(OrderError::Db(sqlx::Error::Decode(Box::new(e)))))?;
    if status == 201 {
        return Ok(value);
    }
    let problem = <Problem as poem_openapi::types::ParseFromJSON>::parse_from_json(Some(value))
        .map_err(|e| ApiError::from(OrderError::Db(sqlx::Error::Protocol(e.into_message()))))?;
    Err(ApiError::from_problem(problem, 1))
}

/// Checks the `Idempotency-Key` header (API.md: required, 1–255 printable characters).
pub(super) fn idempotency_key(raw: Option<String>) -> Result<String, ApiError> {
    let Some(key) = raw.filter(|k| !k.trim().is_empty()) else {
        return Err(OrderError::IdempotencyKeyRequired.into());
    };
    if key.chars().count() > 255 || key.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("Idempotency-Key", "must be 1–255 printable characters"));
    }
    Ok(key)
}

#[OpenApi(prefix_path = "/api/v1", tag = "CheckoutTags::Checkout")]
impl CheckoutApi {
    /// Check out
    ///
    /// Turns the cart into an order: prices it for checkout (every pricing rule must answer),
    /// takes the stock of every line in one transaction (409 `insufficient_stock` names each
    /// short line with `available`), snapshots prices and address, and asks the payment
    /// provider for a session. Once the order exists the answer is always 201: if the provider
    /// failed, `payment_session` is null and `payment_error` says why; ask again with
    /// `POST /orders/{id}/payment`.
    ///
    /// `Idempotency-Key` is required and scoped to the caller (customer, or guest cart): a
    /// replay with an equal body returns the first answer with `Idempotent-Replayed: true`
    /// (a guest's `order_token` included); another body with the same key is 422
    /// `idempotency_key_reused`; while the first request runs, 409 `idempotency_in_progress`.
    /// Authenticate with the customer's bearer token or the guest's `X-Cart-Token`.
    #[oai(path = "/checkout", method = "post", operation_id = "checkout")]
    async fn checkout(
        &self,
        req: &Request,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
        body: Json<CheckoutBody>,
    ) -> Result<CheckoutResponse, ApiError> {
        let who = cart_credential(&self.accounts, req).await?;
        let key = idempotency_key(key.0)?;
        let body = body.0;
        let request_hash = hex::encode(Sha256::digest(canonical(&body.to_json().unwrap_or_default()).as_bytes()));
        if body.shipping_address.is_some() && body.shipping_address_id.is_some() {
            return Err(ApiError::invalid_field(
                "shipping_address_id",
                "give shipping_address or shipping_address_id, not both",
            ));
        }
        let request = CheckoutRequest {
            cart_id: body.cart_id.into(),
            payment_provider: body.payment_provider.into(),
            email: body.email.map(String::from),
            shipping_address: address_choice(body.shipping_address, body.shipping_address_id),
            expected_total: body.expected_total,
        };
        let reply = self
            .orders
            .checkout(
                &who,
                &key,
                &request_hash,
                request,
                |outcome| checkout_json(outcome, false).to_string(),
                stored_refusal,
            )
            .await?;
        match reply {
            CheckoutReply::Placed(outcome) => {
                Ok(CheckoutResponse::Created(RawJson::new(checkout_json(&outcome, true))))
            }
            CheckoutReply::Replay { status, body, guest_order } => {
                let mut value = replayed(status, &body)?;
                if let (Some(order_id), Some(object)) = (guest_order, value.as_object_mut()) {
                    let token = self.orders.order_token(&order_id).await?;
                    object.insert("order_token".to_owned(), serde_json::Value::String(token));
                }
                Ok(CheckoutResponse::Created(RawJson::new(value)))
            }
        }
    }

    /// Ask for a payment session again
    ///
    /// For the owner's `pending_payment` order, after the provider failed at checkout or a
    /// payment attempt failed. 502 `payment_provider_error` if the provider fails again; 409
    /// `illegal_transition` when the order is not awaiting payment.
    #[oai(path = "/orders/:id/payment", method = "post", operation_id = "createOrderPayment")]
    async fn payment(&self, req: &Request, id: Path<Text>) -> Result<Json<PaymentSessionView>, ApiError> {
        let who = order_credential(&self.accounts, req).await?;
        Ok(Json(session_view(self.orders.new_payment_session(&who, &id.0).await?)))
    }

    /// Confirm a payment from the storefront
    ///
    /// The fields the gateway's client-side widget returned (Razorpay: `razorpay_payment_id`,
    /// `razorpay_order_id`, `razorpay_signature`), checked by the order's gateway plugin against
    /// the engine's own record of the order: the gateway order the engine opened (never one the
    /// client names), then the payment as the gateway reports it (its amount and currency must be
    /// the order's). A verified payment is captured if needed and the order becomes `paid`,
    /// exactly once whatever webhooks race with it; the answer is the order. A result that does
    /// not verify is 422 `payment_verification_failed` and changes nothing (an amount that does
    /// not match also flags the order for staff review). Calling it again after success returns
    /// the paid order.
    #[oai(path = "/orders/:id/payment/verify", method = "post", operation_id = "verifyOrderPayment")]
    async fn verify(
        &self,
        req: &Request,
        id: Path<Text>,
        body: Json<BTreeMap<String, serde_json::Value>>,
    ) -> Result<Json<OrderView>, ApiError> {
        let who = order_credential(&self.accounts, req).await?;
        let payload = serde_json::Value::Object(body.0.into_iter().collect()).to_string();
        Ok(Json(OrderView::of(self.orders.verify_payment(&who, &id.0, payload).await?)))
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":{"x":null,"y":[2,1]},"b":1}"#).unwrap();
        assert_ne!(canonical(&a), canonical(&c));
    }
}
