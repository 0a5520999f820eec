//! `POST /api/v1/webhooks/{provider}`: deliveries from payment gateways.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Binary, payload::Json};

use crate::{
    http::{problem::ApiError, text::Text},
    orders::{OrderService, service::payment::WebhookReceipt},
};

#[derive(poem_openapi::Tags)]
enum WebhookTags {
    /// Called by payment gateways, not by storefronts.
    Webhooks,
}

pub struct WebhooksApi {
    pub orders: Arc<OrderService>,
}

#[derive(Object)]
pub struct WebhookAck {
    /// `stored` (new, processed in the background), `duplicate` (this event was received
    /// before) or `ignored` (verified, but nothing for this shop).
    pub outcome: String,
}

#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// Received: the gateway must not deliver it again.
    #[oai(status = 200)]
    Ok(Json<WebhookAck>),
}

/// Headers a plugin may read, lower-cased as the WIT promises. Cookies and the engine's own
/// credentials are never handed to a plugin.
fn webhook_headers(req: &Request) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "cookie" | "x-cart-token" | "x-order-token"))
        .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_owned())))
        .collect()
}

#[OpenApi(prefix_path = "/api/v1", tag = "WebhookTags::Webhooks")]
impl WebhooksApi {
    /// Receive a gateway webhook
    ///
    /// The body is kept byte for byte and handed, with the headers, to the `provider`'s gateway
    /// plugin, which checks its signature first: a bad or missing signature is 401
    /// `webhook_signature_invalid` and nothing is kept. A verified event is stored once per
    /// gateway event id and answered 200 at once; the `payments` job (and this instance, right
    /// after answering) acts on it, so redelivered and out-of-order events are harmless. Verified
    /// events the shop does not use, and events for no order of this shop, are acknowledged
    /// with 200 too, so the gateway neither retries nor disables the webhook. 404 for a provider
    /// that is not configured; 503 `unavailable` (with `Retry-After`) when the plugin could not
    /// read a verified event or failed, so the gateway delivers it again.
    #[oai(path = "/webhooks/:provider", method = "post", operation_id = "receiveWebhook")]
    async fn receive(
        &self,
        req: &Request,
        provider: Path<Text>,
        body: Binary<Vec<u8>>,
    ) -> Result<WebhookResponse, ApiError> {
        let receipt = self.orders.receive_webhook(&provider.0, webhook_headers(req), body.0).await?;
        let outcome = match receipt {
            WebhookReceipt::Stored { event, provider, order_id, detail } => {
                // Acted on right after the answer; the job catches anything this misses.
                let orders = self.orders.clone();
                tokio::spawn(async move {
                    if let Err(error) = orders.process_received(&event, &provider, order_id, &detail).await {
                        tracing::warn!(event, error = %error, "payment event not processed yet; the payments job retries it");
                    }
                });
                "stored"
            }
            WebhookReceipt::Kept => "stored",
            WebhookReceipt::Duplicate => "duplicate",
            WebhookReceipt::Ignored(_) => "ignored",
        };
        Ok(WebhookResponse::Ok(Json(WebhookAck { outcome: outcome.to_owned() })))
    }
}
