//! The `payment-gateway` world: bindings, the host imports a gateway gets (`host`, `secrets`,
//! `outbound-http`) and its calls, each in a fresh instance inside the sandbox and bounded like a
//! pricing call (`sandbox::run_call`: `limits.timeout_ms` of wall time, network waits included).
//!
//! The payments domain calls a [`GatewayPlugin`] only outside database transactions. Its answers
//! are the WIT's records (re-exported here as the gateway model); a guest's own refusal is a
//! [`GatewayError`], anything the sandbox stopped (trap, timeout, memory) a [`PluginError`].

use std::sync::Arc;

use secrecy::SecretString;
use wasmtime::{
    Engine, Store,
    component::{Component, HasSelf, Linker},
};

use super::{
    error::{PluginError, PluginErrorKind},
    outbound::{self, OutboundError, OutboundHttp, OutboundRequest},
    sandbox::{CallState, GatewayHost, guest_text, run_call},
    secrets::{HmacAlgorithm, PluginSecrets},
};
use crate::config::{Environment, PluginConfig, PluginLimits};

mod bindings {
    wasmtime::component::bindgen!({
        world: "payment-gateway",
        path: "../sdk/wit",
        imports: { "commerce:plugin/outbound-http.send": async },
        exports: { default: async },
        // The interfaces both worlds share are the pricing bindings' own, so `CallState`
        // implements `host` once.
        with: {
            "commerce:plugin/host": crate::plugins::pricing_rule::bindings::commerce::plugin::host,
            "commerce:plugin/types": crate::plugins::pricing_rule::bindings::commerce::plugin::types,
        },
    });
}

use bindings::commerce::plugin::{outbound_http as http, secrets};
/// What kind of payment a gateway takes (the WIT `gateway-capabilities`), asked once at load.
pub use bindings::exports::commerce::plugin::gateway::GatewayCapabilities as Capabilities;
pub use bindings::exports::commerce::plugin::gateway::{
    CaptureRequest, ClientResult, GatewayError, Order, PaymentEvent, PaymentState, PaymentStatus, RefundRequest,
    RefundStatus, Session, Webhook, WebhookOutcome,
};

impl secrets::Host for CallState {
    fn hmac_sign(
        &mut self,
        algorithm: secrets::HmacAlgorithm,
        secret_name: String,
        message: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let secrets = &self.gateway_host()?.secrets;
        secrets.hmac_sign(algorithm.into(), &secret_name, &message).map_err(|e| e.to_string())
    }

    fn hmac_verify(
        &mut self,
        algorithm: secrets::HmacAlgorithm,
        secret_name: String,
        message: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<bool, String> {
        let secrets = &self.gateway_host()?.secrets;
        secrets.hmac_verify(algorithm.into(), &secret_name, &message, &signature).map_err(|e| e.to_string())
    }
}

impl From<secrets::HmacAlgorithm> for HmacAlgorithm {
    fn from(algorithm: secrets::HmacAlgorithm) -> Self {
        match algorithm {
            secrets::HmacAlgorithm::Sha256 => Self::Sha256,
            secrets::HmacAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::HttpError> {
        let host = self.gateway_host().map_err(http::HttpError::Forbidden)?;
        let (secrets, client) = (host.secrets.clone(), host.http.clone());
        let secret_headers = match &request.auth {
            None => Vec::new(),
            Some(auth) => vec![authorization(&secrets, auth)?],
        };
        let method = match request.method {
            http::Method::Get => outbound::Method::Get,
            http::Method::Post => outbound::Method::Post,
            http::Method::Put => outbound::Method::Put,
            http::Method::Patch => outbound::Method::Patch,
            http::Method::Delete => outbound::Method::Delete,
        };
        let sent = client
            .send(OutboundRequest {
                method,
                url: request.url,
                headers: request.headers,
                body: request.body,
                secret_headers,
            })
            .await;
        match sent {
            Ok(response) => {
                Ok(http::Response { status: response.status, headers: response.headers, body: response.body })
            }
            Err(OutboundError::Forbidden(why)) => Err(http::HttpError::Forbidden(why)),
            Err(OutboundError::Transport(why)) => Err(http::HttpError::Transport(why)),
            Err(OutboundError::Timeout) => Err(http::HttpError::Timeout),
            Err(OutboundError::TooLarge) => Err(http::HttpError::TooLarge),
        }
    }
}

/// The header `auth` asks for, its value from the plugin's secrets.
fn authorization(secrets: &PluginSecrets, auth: &http::Auth) -> Result<(String, SecretString), http::HttpError> {
    let unknown = |e: super::secrets::UnknownSecret| http::HttpError::UnknownSecret(e.name);
    Ok(match auth {
        http::Auth::Basic(basic) => (
            "authorization".to_owned(),
            secrets.basic_authorization(&basic.username, &basic.password_secret).map_err(unknown)?,
        ),
        http::Auth::Bearer(name) => ("authorization".to_owned(), secrets.bearer_authorization(name).map_err(unknown)?),
        http::Auth::Header(header) => {
            (header.name.clone(), secrets.header_value(&header.secret_name).map_err(unknown)?)
        }
    })
}

/// A failed gateway call: the guest's own answer, or the sandbox stopping it.
#[derive(Debug, thiserror::Error)]
pub enum GatewayCallError {
    #[error("{}", describe(.0))]
    Gateway(GatewayError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// A guest's refusal for logs and messages: its text stripped of control characters and capped
/// (`guest_text`), as every guest-provided text that reaches an error is.
pub fn describe(error: &GatewayError) -> String {
    match error {
        GatewayError::Rejected(why) => format!("rejected: {}", guest_text(why)),
        GatewayError::VerificationFailed(why) => format!("verification failed: {}", guest_text(why)),
        GatewayError::Unavailable(why) => format!("unavailable: {}", guest_text(why)),
    }
}

/// A compiled payment gateway, ready to instantiate per call.
pub struct GatewayPlugin {
    name: Arc<str>,
    settings: Arc<str>,
    limits: PluginLimits,
    fuel_metered: bool,
    host: GatewayHost,
    pre: bindings::PaymentGatewayPre<CallState>,
    /// The guest's answer at load ([`GatewayPlugin::load`]); until then an online gateway's.
    capabilities: Capabilities,
}

impl GatewayPlugin {
    /// Links `component` (already checked by [`super::inspect`]) against the host: our imports
    /// (`host`, `secrets`, `outbound-http`) plus deny-all WASI.
    pub fn new(
        engine: &Engine,
        component: &Component,
        name: &str,
        config: &PluginConfig,
        environment: Environment,
        fuel_metered: bool,
    ) -> Result<Self, PluginError> {
        let link = |reason: String| PluginError::new(name, PluginErrorKind::Link { reason });
        let mut linker = Linker::<CallState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| link(format!("{e:#}")))?;
        bindings::PaymentGateway::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| link(format!("{e:#}")))?;
        let pre = linker.instantiate_pre(component).map_err(|e| link(format!("{e:#}")))?;
        let pre = bindings::PaymentGatewayPre::new(pre).map_err(|e| link(format!("{e:#}")))?;
        let http = OutboundHttp::new(name, config, environment).map_err(|e| link(e.to_string()))?;
        let host = GatewayHost { secrets: PluginSecrets::new(name, config.secrets.clone()), http: Arc::new(http) };
        let settings = serde_json::Value::Object(config.settings.clone()).to_string().into();
        let capabilities = Capabilities { staff_confirms_payment: false, unpaid_orders_expire: true };
        Ok(Self { name: name.into(), settings, limits: config.limits, fuel_metered, host, pre, capabilities })
    }

    /// What the loader does once per gateway: `validate-settings`, then `capabilities` (kept for
    /// [`Self::capabilities`]). Either refusing, trapping or timing out fails the load.
    pub async fn load(&mut self) -> Result<(), PluginError> {
        self.validate_settings().await?;
        self.capabilities =
            self.call(async |store, gateway| gateway.commerce_plugin_gateway().call_capabilities(store).await).await?;
        Ok(())
    }

    /// What kind of payment the gateway takes, as it answered at load.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// `validate-settings` with the plugin's settings: at load, so bad settings stop start-up.
    pub async fn validate_settings(&self) -> Result<(), PluginError> {
        let settings = self.settings.to_string();
        let verdict = self
            .call(async |store, gateway| {
                gateway.commerce_plugin_lifecycle().call_validate_settings(store, &settings).await
            })
            .await?;
        verdict.map_err(|message| {
            PluginError::new(&*self.name, PluginErrorKind::SettingsRejected { message: guest_text(&message) })
        })
    }

    pub async fn create_session(&self, order: &Order) -> Result<Session, GatewayCallError> {
        self.gateway_call(async |store, g| g.commerce_plugin_gateway().call_create_session(store, order).await).await
    }

    pub async fn verify(&self, outcome: &ClientResult) -> Result<PaymentStatus, GatewayCallError> {
        self.gateway_call(async |store, g| g.commerce_plugin_gateway().call_verify(store, outcome).await).await
    }

    pub async fn handle_webhook(&self, webhook: &Webhook) -> Result<WebhookOutcome, GatewayCallError> {
        self.gateway_call(async |store, g| g.commerce_plugin_gateway().call_handle_webhook(store, webhook).await).await
    }

    pub async fn fetch_status(
        &self,
        order_id: &str,
        gateway_order_id: &str,
    ) -> Result<PaymentStatus, GatewayCallError> {
        self.gateway_call(async |store, g| {
            g.commerce_plugin_gateway().call_fetch_status(store, order_id, gateway_order_id).await
        })
        .await
    }

    pub async fn capture(&self, request: &CaptureRequest) -> Result<PaymentStatus, GatewayCallError> {
        self.gateway_call(async |store, g| g.commerce_plugin_gateway().call_capture(store, request).await).await
    }

    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundStatus, GatewayCallError> {
        self.gateway_call(async |store, g| g.commerce_plugin_gateway().call_refund(store, request).await).await
    }

    /// A gateway export whose own answer is `result<T, gateway-error>`.
    async fn gateway_call<T>(
        &self,
        f: impl AsyncFnOnce(&mut Store<CallState>, &bindings::PaymentGateway) -> wasmtime::Result<Result<T, GatewayError>>,
    ) -> Result<T, GatewayCallError> {
        self.call(f).await?.map_err(GatewayCallError::Gateway)
    }

    /// One call in a fresh instance (see `sandbox::run_call`), with the gateway's host context.
    async fn call<R>(
        &self,
        f: impl AsyncFnOnce(&mut Store<CallState>, &bindings::PaymentGateway) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let state =
            CallState::new(self.name.clone(), self.settings.clone(), &self.limits).with_gateway(self.host.clone());
        let instantiate = async |store: &mut Store<CallState>| self.pre.instantiate_async(store).await;
        run_call(self.pre.engine(), state, &self.limits, self.fuel_metered, &mut None, instantiate, f)
            .await
            .map_err(|kind| PluginError::new(&*self.name, kind))
    }
}
