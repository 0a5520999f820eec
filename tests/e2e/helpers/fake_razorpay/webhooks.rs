//! Webhooks: building an event from the current state, signing it, and delivering it (§6).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{FakeRazorpay, Shared, State, Webhook, new_id, now};

impl Shared {
    pub(super) fn emit(&self, state: &mut State, event: &str, id: &str) {
        if let Some(webhook) = self.build_webhook(state, event, id) {
            state.events.push(webhook);
        }
    }

    pub(super) fn build_webhook(&self, state: &State, event: &str, id: &str) -> Option<Webhook> {
        let entity = |value: Value| json!({ "entity": value });
        let (contains, payload) = match event {
            "payment.authorized" | "payment.captured" | "payment.failed" => {
                (json!(["payment"]), json!({ "payment": entity(state.payments.get(id)?.to_json()) }))
            }
            "order.paid" => {
                let payment = state.payments.get(id)?;
                let order = state.orders.get(&payment.order_id)?;
                (
                    json!(["payment", "order"]),
                    json!({"payment": entity(payment.to_json()), "order": entity(order.to_json())}),
                )
            }
            "refund.created" | "refund.processed" | "refund.failed" => {
                let refund = state.refunds.get(id)?;
                let mut refund_json = refund.to_json();
                if event == "refund.failed" {
                    refund_json["status"] = json!("failed");
                }
                let payment = state.payments.get(&refund.payment_id)?;
                (
                    json!(["refund", "payment"]),
                    json!({"refund": entity(refund_json), "payment": entity(payment.to_json())}),
                )
            }
            _ => return None,
        };
        // Written by hand to keep the documented key order (§6): a receiver that parses and
        // re-serialises before checking the signature fails here, as it would against Razorpay.
        let body = format!(
            r#"{{"entity":"event","account_id":{},"event":{},"contains":{contains},"payload":{payload},"created_at":{}}}"#,
            Value::from(self.account_id.as_str()),
            Value::from(event),
            now()
        )
        .into_bytes();
        Some(Webhook {
            event: event.to_owned(),
            event_id: new_id("evt_"),
            signature: hmac_hex(&self.config.webhook_secret, &body),
            body,
        })
    }
}

impl FakeRazorpay {
    /// POSTs `webhook` to `url` as Razorpay does, again at once after a non-2xx answer or no
    /// answer within [`FakeConfig::webhook_timeout`], at most `max_attempts` times (Razorpay backs
    /// off over 24 h, §6; a test has no time for that). One outcome per attempt: the status, or
    /// why there was none.
    pub async fn deliver(&self, url: &str, webhook: &Webhook, max_attempts: usize) -> Vec<Result<u16, String>> {
        let client =
            reqwest::Client::builder().timeout(self.shared.config.webhook_timeout).build().expect("webhook client");
        let mut outcomes = Vec::new();
        for _ in 0..max_attempts {
            let mut request = client.post(url).body(webhook.body.clone());
            for (name, value) in webhook.headers() {
                request = request.header(name, value);
            }
            let outcome = match request.send().await {
                Ok(response) => Ok(response.status().as_u16()),
                Err(e) if e.is_timeout() => Err("no answer in time".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
            outcomes.push(outcome);
            if delivered {
                break;
            }
        }
        outcomes
    }
}

pub(super) fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}
