//! Payments: the entity and its JSON, a Checkout attempt, and capture (§3, §5).

use serde_json::{Map, Value, json};

use super::{
    PayMethod, Shared, State,
    errors::ApiError,
    new_id, now,
    routes::{int_field, reject_unknown, string_field},
};

pub(super) struct Payment {
    pub(super) id: String,
    pub(super) order_id: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) method: PayMethod,
    pub(super) status: &'static str,
    pub(super) amount_refunded: i64,
    /// (fee, tax), set on capture.
    pub(super) fee: Option<(i64, i64)>,
    pub(super) refunds: Vec<String>,
    pub(super) created_at: i64,
}

impl Payment {
    /// The entity of §3, with the field set of the netbanking webhook samples (§6).
    pub(super) fn to_json(&self) -> Value {
        let captured = matches!(self.status, "captured" | "refunded");
        let refund_status = match self.amount_refunded {
            0 => Value::Null,
            n if n == self.amount => json!("full"),
            _ => json!("partial"),
        };
        let failed = self.status == "failed";
        let error = |text: &str| if failed { json!(text) } else { Value::Null };
        let mut payment = json!({
            "id": self.id, "entity": "payment", "amount": self.amount, "currency": self.currency,
            "status": self.status, "order_id": self.order_id, "invoice_id": null, "international": false,
            "method": self.method.code(), "amount_refunded": self.amount_refunded, "refund_status": refund_status,
            "captured": captured, "description": null, "card_id": null, "bank": null, "wallet": null, "vpa": null,
            "email": "gaurav.kumar@example.com", "contact": "+919876543210", "notes": [],
            "fee": self.fee.map(|(fee, _)| fee), "tax": self.fee.map(|(_, tax)| tax),
            "error_code": error("BAD_REQUEST_ERROR"), "error_description": error("Payment failed"),
            "error_source": error("bank"), "error_step": error("payment_authorization"),
            "error_reason": error("payment_failed"), "acquirer_data": {}, "created_at": self.created_at,
        });
        if captured {
            payment["base_amount"] = json!(self.amount);
            payment["amount_transferred"] = json!(0);
        }
        match self.method {
            PayMethod::Netbanking => {
                payment["bank"] = json!("HDFC");
                payment["acquirer_data"] =
                    json!({"bank_transaction_id": if failed { None } else { Some("0125836177") }});
            }
            PayMethod::Card => {
                let card_id = self.id.replacen("pay_", "card_", 1);
                payment["card"] = json!({
                    "id": card_id, "entity": "card", "name": "Gaurav Kumar", "last4": "1007", "network": "Visa",
                    "type": "credit", "issuer": null, "international": false, "emi": false, "sub_type": "consumer",
                    "token_iin": null,
                });
                payment["card_id"] = json!(card_id);
                payment["acquirer_data"] = json!({"auth_code": "064381"});
            }
            PayMethod::Upi => {
                payment["vpa"] = json!("success@razorpay");
                payment["upi"] =
                    json!({"payer_account_type": "bank_account", "vpa": "success@razorpay", "flow": "collect"});
                payment["acquirer_data"] = json!({"rrn": "033814379298"});
            }
            PayMethod::Wallet => payment["wallet"] = json!("paytm"),
        }
        payment
    }
}

impl PayMethod {
    fn code(self) -> &'static str {
        match self {
            Self::Netbanking => "netbanking",
            Self::Card => "card",
            Self::Upi => "upi",
            Self::Wallet => "wallet",
        }
    }
}

impl Shared {
    pub(super) fn attempt(&self, order_id: &str, method: PayMethod, fails: bool) -> String {
        let mut state = self.lock();
        let Some(order) = state.orders.get_mut(order_id) else { panic!("Checkout: no order {order_id}") };
        assert_ne!(order.status, "paid", "Checkout refuses order {order_id}: it is paid already");
        // `attempts` counts failed attempts too; the order is `attempted` until a capture (§2).
        order.attempts += 1;
        order.status = "attempted";
        let payment = Payment {
            id: new_id("pay_"),
            order_id: order_id.to_owned(),
            amount: order.amount,
            currency: order.currency.clone(),
            method,
            status: if fails { "failed" } else { "authorized" },
            amount_refunded: 0,
            fee: None,
            refunds: Vec::new(),
            created_at: now(),
        };
        let payment_id = payment.id.clone();
        let capture = !fails && order.payment_capture.unwrap_or(self.config.auto_capture);
        order.payments.push(payment_id.clone());
        state.payments.insert(payment_id.clone(), payment);
        self.emit(&mut state, if fails { "payment.failed" } else { "payment.authorized" }, &payment_id);
        if capture {
            self.capture(&mut state, &payment_id);
        }
        payment_id
    }

    /// Captures an authorized payment (the caller checked): fee and tax, the order `paid`, and
    /// the `payment.captured` and `order.paid` events (§10.6).
    fn capture(&self, state: &mut State, payment_id: &str) {
        let Some(payment) = state.payments.get_mut(payment_id) else { return };
        payment.status = "captured";
        // 2 % plus 18 % GST on it, rounded: reproduces every sample (100 → 2/0, 1000 → 24/4,
        // 500000 → 11800/1800). Unverified as a rule; only the samples are known.
        payment.fee = Some(((payment.amount * 236 + 5000) / 10000, (payment.amount * 36 + 5000) / 10000));
        let (order_id, amount) = (payment.order_id.clone(), payment.amount);
        if let Some(order) = state.orders.get_mut(&order_id) {
            order.status = "paid";
            order.amount_paid = amount;
        }
        self.emit(state, "payment.captured", payment_id);
        self.emit(state, "order.paid", payment_id);
    }

    /// `POST /v1/payments/:id/capture` (§3): both fields mandatory, only `authorized` payments.
    pub(super) fn capture_request(
        &self,
        state: &mut State,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let payment = state.payments.get(id).ok_or_else(ApiError::no_such_id)?;
        reject_unknown(body, &["amount", "currency"])?;
        let amount = int_field(body, "amount")?.ok_or_else(|| ApiError::required("amount"))?;
        let currency = string_field(body, "currency")?.ok_or_else(|| ApiError::required("currency"))?;
        match payment.status {
            "authorized" => {}
            // The documented answer to a second capture; a plugin may read it as success.
            "captured" | "refunded" => return Err(ApiError::invalid(ALREADY_CAPTURED, None)),
            // Unverified: the text for capturing a failed payment.
            _ => {
                return Err(ApiError::invalid(
                    "Only payments which have been authorized and not yet captured can be captured",
                    None,
                ));
            }
        }
        if amount != payment.amount {
            return Err(ApiError::invalid("Capture amount must be equal to the amount authorized.", Some("amount")));
        }
        if currency != payment.currency {
            // Unverified: the text for a currency that differs from the payment's.
            return Err(ApiError::invalid("The currency must be the payment's currency.", Some("currency")));
        }
        self.capture(state, id);
        state.payments.get(id).map(Payment::to_json).ok_or_else(ApiError::no_such_id)
    }
}

const ALREADY_CAPTURED: &str =
    "Your payment has been declined as the order is already paid. Please initiate the payment with a new order.";
