//! `payments.providers` bound to the plugin set: each name is a `payment-gateway` plugin looked
//! up in the *current* set on every use, so `POST /admin/plugins/reload` swaps gateways like
//! pricing rules. [`Gateway`] turns the plugin's answers into the payments domain's errors and
//! counts each call in the plugin's statistics (`GET /admin/plugins`).

use std::{sync::Arc, time::Instant};

use super::{
    error::{ProviderError, ProviderErrorKind},
    model::OrderForPayment,
};
use crate::{
    config::PaymentsConfig,
    orders::model::ProviderRules,
    plugins::{
        LoadedPlugin, PluginRegistry,
        payment_gateway::{
            CaptureRequest, ClientResult, GatewayCallError, GatewayError, Order, PaymentStatus, RefundRequest,
            RefundStatus, Session, Webhook, WebhookOutcome, describe,
        },
    },
};

/// The providers checkout accepts, by name.
#[derive(Clone)]
pub struct PaymentGateways {
    names: Vec<String>,
    plugins: Arc<PluginRegistry>,
}

impl PaymentGateways {
    pub fn new(config: &PaymentsConfig, plugins: Arc<PluginRegistry>) -> Self {
        Self { names: config.providers.clone(), plugins }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    pub fn accepts(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The gateway `name` in the current plugin set. A name checkout no longer accepts still
    /// resolves while its plugin is loaded: its orders must still be paid, verified and refunded.
    pub fn get(&self, name: &str) -> Result<Gateway, ProviderError> {
        let plugin = self.plugins.current().plugins.get(name).cloned();
        match plugin {
            Some(plugin) if plugin.gateway().is_some() => Ok(Gateway { name: name.to_owned(), plugin }),
            _ => Err(ProviderError::unavailable(name, "this payment provider is not loaded")),
        }
    }

    /// What `name` allows; a provider that is not loaded allows neither.
    pub fn rules(&self, name: &str) -> ProviderRules {
        self.get(name).map_or(ProviderRules { staff_confirms_payment: false, unpaid_orders_expire: false }, |gateway| {
            gateway.rules()
        })
    }

    /// Checks that every provider names a loaded `payment-gateway` plugin: at start-up, where a
    /// mistake stops the engine with the key named.
    pub fn check_loaded(&self) -> Result<(), String> {
        let set = self.plugins.current();
        let problems: Vec<String> = self
            .names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| match set.plugins.get(name) {
                None => Some(format!(
                    "payments.providers[{i}]: `{name}` has no [plugins.{name}] table (a payment-gateway plugin, \
                     e.g. plugins/manual or plugins/razorpay)"
                )),
                Some(plugin) if plugin.gateway().is_none() => {
                    Some(format!("payments.providers[{i}]: plugin `{name}` is a pricing rule, not a payment gateway"))
                }
                Some(_) => None,
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
    }
}

/// One loaded gateway, for the length of one use.
pub struct Gateway {
    name: String,
    plugin: Arc<LoadedPlugin>,
}

/// A session as the gateway opened it.
pub struct OpenedSession {
    pub gateway_order_id: String,
    pub client_payload: String,
}

impl Gateway {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rules(&self) -> ProviderRules {
        let capabilities = self.plugin.gateway().map(|g| g.capabilities());
        ProviderRules {
            staff_confirms_payment: capabilities.is_some_and(|c| c.staff_confirms_payment),
            unpaid_orders_expire: capabilities.is_some_and(|c| c.unpaid_orders_expire),
        }
    }

    pub async fn create_session(&self, order: &OrderForPayment) -> Result<OpenedSession, ProviderError> {
        let request = Order {
            order_id: order.order_id.clone(),
            order_number: order.number.to_string(),
            amount: order.amount,
            currency: order.currency.to_string(),
            customer_email: Some(order.email.clone()),
            customer_phone: None,
        };
        let session: Session = self.call(async |g| g.create_session(&request).await).await?;
        Ok(OpenedSession { gateway_order_id: session.gateway_order_id, client_payload: session.client_payload })
    }

    pub async fn verify(&self, result: &ClientResult) -> Result<PaymentStatus, ProviderError> {
        self.call(async |g| g.verify(result).await).await
    }

    pub async fn handle_webhook(&self, webhook: &Webhook) -> Result<WebhookOutcome, ProviderError> {
        self.call(async |g| g.handle_webhook(webhook).await).await
    }

    pub async fn fetch_status(&self, order_id: &str, gateway_order_id: &str) -> Result<PaymentStatus, ProviderError> {
        self.call(async |g| g.fetch_status(order_id, gateway_order_id).await).await
    }

    pub async fn capture(&self, request: &CaptureRequest) -> Result<PaymentStatus, ProviderError> {
        self.call(async |g| g.capture(request).await).await
    }

    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundStatus, ProviderError> {
        self.call(async |g| g.refund(request).await).await
    }

    /// One guest call, timed into the plugin's statistics, its failure mapped to ours.
    async fn call<T>(
        &self,
        f: impl AsyncFnOnce(&crate::plugins::payment_gateway::GatewayPlugin) -> Result<T, GatewayCallError>,
    ) -> Result<T, ProviderError> {
        let Some(gateway) = self.plugin.gateway() else {
            return Err(ProviderError::unavailable(&self.name, "not a payment gateway"));
        };
        let started = Instant::now();
        let result = f(gateway).await;
        // A guest's own refusal is an answer, not a failure of the plugin.
        self.plugin.stats.record(started.elapsed(), !matches!(result, Err(GatewayCallError::Plugin(_))));
        result.map_err(|error| {
            let kind = match &error {
                GatewayCallError::Gateway(GatewayError::Rejected(_)) => ProviderErrorKind::Rejected,
                GatewayCallError::Gateway(GatewayError::VerificationFailed(_)) => ProviderErrorKind::VerificationFailed,
                GatewayCallError::Gateway(GatewayError::Unavailable(_)) | GatewayCallError::Plugin(_) => {
                    ProviderErrorKind::Unavailable
                }
            };
            let detail = match &error {
                GatewayCallError::Gateway(e) => describe(e),
                GatewayCallError::Plugin(e) => e.to_string(),
            };
            ProviderError::new(&self.name, kind, detail)
        })
    }
}
