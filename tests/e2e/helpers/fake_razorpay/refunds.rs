//! Refunds: the entity, its JSON, and `POST /v1/payments/:id/refund` with `X-Refund-Idempotency`
//! (§4, §7).

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{
    Shared, State,
    errors::ApiError,
    new_id, notes_json, now,
    orders::minimum,
    routes::{Incoming, check_idempotency_key, int_field, parse_notes, reject_unknown, string_field},
};

pub(super) struct Refund {
    pub(super) id: String,
    pub(super) payment_id: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) notes: Map<String, Value>,
    pub(super) receipt: Option<String>,
    pub(super) speed: Option<String>,
    pub(super) created_at: i64,
}

impl Refund {
    /// The entity of §4; the speed fields appear only when a speed was asked for.
    pub(super) fn to_json(&self) -> Value {
        let mut refund = json!({
            "id": self.id, "entity": "refund", "amount": self.amount, "currency": self.currency,
            "payment_id": self.payment_id, "notes": notes_json(&self.notes), "receipt": self.receipt,
            "acquirer_data": {"arn": null}, "created_at": self.created_at, "batch_id": null, "status": "processed",
        });
        if let Some(speed) = &self.speed {
            refund["speed_requested"] = json!(speed);
            // As in the webhook sample: `optimum` asked, `normal` done.
            refund["speed_processed"] = json!("normal");
        }
        refund
    }
}

/// What an `X-Refund-Idempotency` key was first used for (§7).
pub(super) struct KeyedRefund {
    payment_id: String,
    request: Map<String, Value>,
    refund_id: String,
    /// Until the first answer has gone out (a [`Fault::SlowResponse`](super::Fault::SlowResponse)),
    /// a retry is "still in progress"; the instant keeps that right even if the client gave up and
    /// the task was dropped.
    answered_at: Instant,
}

impl Shared {
    /// `POST /v1/payments/:id/refund` (§4) with `X-Refund-Idempotency` (§7).
    pub(super) fn refund_request(
        &self,
        state: &mut State,
        payment_id: &str,
        incoming: Incoming<'_>,
    ) -> Result<Value, ApiError> {
        let Incoming { body, key, delay, .. } = incoming;
        if let Some(key) = key {
            check_idempotency_key(key)?;
        }
        let payment = state.payments.get(payment_id).ok_or_else(ApiError::no_such_id)?;
        reject_unknown(&body, &["amount", "speed", "notes", "receipt"])?;
        // A replay is answered before the state checks: after a full refund, a retry of it must
        // still get the refund, not "fully refunded already".
        if let Some(seen) = key.and_then(|k| state.refund_keys.get(k)) {
            if Instant::now() < seen.answered_at {
                return Err(ApiError::na(409, "Another request with the same idempotency key is still in progress."));
            }
            if seen.payment_id != payment_id || seen.request != body {
                return Err(ApiError::na(
                    409,
                    "Different request with the same idempotency key has already been processed.",
                ));
            }
            return state.refunds.get(&seen.refund_id).map(Refund::to_json).ok_or_else(ApiError::no_such_id);
        }
        match payment.status {
            "captured" => {}
            "refunded" => return Err(ApiError::invalid("The payment has been fully refunded already.", None)),
            // Unverified: the text for refunding a payment that is not captured.
            _ => return Err(ApiError::invalid("Only captured payments can be refunded.", None)),
        }
        let remaining = payment.amount - payment.amount_refunded;
        let amount = match int_field(&body, "amount")? {
            None => remaining,
            Some(a) if a < minimum(&payment.currency) => {
                return Err(ApiError::invalid("The amount must be at least INR 1.00.", Some("amount")));
            }
            Some(a) if a > remaining => {
                return Err(ApiError::invalid(
                    "The refund amount provided is greater than amount captured.",
                    Some("amount"),
                ));
            }
            Some(a) => a,
        };
        let speed = match body.get("speed") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "normal" || s == "optimum" => Some(s.clone()),
            // Unverified: the text for an unknown speed.
            Some(_) => return Err(ApiError::invalid("The selected speed is invalid.", Some("speed"))),
        };
        let refund = Refund {
            id: new_id("rfnd_"),
            payment_id: payment_id.to_owned(),
            amount,
            currency: payment.currency.clone(),
            notes: parse_notes(body.get("notes"))?,
            receipt: string_field(&body, "receipt")?,
            speed,
            created_at: now(),
        };
        let refund_id = refund.id.clone();
        let answer = refund.to_json();
        if let Some(payment) = state.payments.get_mut(payment_id) {
            payment.amount_refunded += amount;
            payment.refunds.push(refund_id.clone());
            // §3: a full refund makes the payment `refunded`; a partial one keeps it `captured`.
            if payment.amount_refunded == payment.amount {
                payment.status = "refunded";
            }
        }
        state.refunds.insert(refund_id.clone(), refund);
        if let Some(key) = key {
            let answered_at = Instant::now() + delay;
            let seen = KeyedRefund {
                payment_id: payment_id.to_owned(),
                request: body,
                refund_id: refund_id.clone(),
                answered_at,
            };
            state.refund_keys.insert(key.to_owned(), seen);
        }
        // Refunds are `processed` at once (the fake has no bank to wait for).
        self.emit(state, "refund.created", &refund_id);
        self.emit(state, "refund.processed", &refund_id);
        Ok(answer)
    }
}
