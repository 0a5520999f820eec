//! Payment gateways: the trait a gateway implements, its records, and the glue between it and the
//! component exports of the `payment-gateway` world.
//!
//! A gateway reaches the network and its keys only through a [`GatewayHost`]: in a component the
//! host sends the requests and computes the HMACs, so secret values stay in the engine and the
//! plugin names them; natively, [`testing::gateway`](crate::testing::gateway) plays the host.

mod convert;
mod http;
mod model;

use std::rc::Rc;

use commerce_sdk_gateway_bindings::exports::commerce::plugin::gateway as wit;
use serde::de::DeserializeOwned;

pub use http::{Auth, HmacAlgorithm, HttpError, Method, Request, Response, from_hex, to_hex};
pub use model::{
    Capabilities, CaptureRequest, ClientResult, GatewayError, Order, PaymentEvent, PaymentState, PaymentStatus,
    RefundRequest, RefundStatus, Session, Webhook, WebhookOutcome,
};

use crate::host::{GatewayHost, Host, with_host};

/// A payment gateway: opens payments, verifies what the storefront and the gateway's webhooks
/// claim, and captures and refunds, mirroring the WIT `gateway` interface.
///
/// Like a pricing rule, a gateway keeps no state between calls (each runs in a fresh instance):
/// what it needs arrives in the arguments, its settings, or from the gateway over `host`. Every
/// method gets the engine's own order id and the gateway ids the engine stored, never ids the
/// storefront sent, so check the untrusted parts (the widget's payload, the webhook's body)
/// against them.
pub trait PaymentGateway {
    /// The operator's `[plugins.<name>.settings]` table, parsed from JSON with serde (use
    /// `#[serde(deny_unknown_fields)]`). Never secrets: those go under `secrets` and are named.
    type Settings: DeserializeOwned;

    /// Checks what serde cannot; the engine calls it at load, so an error stops start-up (or a
    /// reload) naming the plugin, instead of failing the first checkout.
    fn validate_settings(settings: &Self::Settings) -> Result<(), String> {
        let _ = settings;
        Ok(())
    }

    /// What kind of payment this gateway takes, asked once at load (right after
    /// [`validate_settings`](Self::validate_settings), with the same settings) and kept until the
    /// plugin set reloads. The default, [`Capabilities::ONLINE`], is every online gateway's: the
    /// gateway confirms payments and unpaid orders expire. A manual gateway (bank transfer, cash
    /// on delivery) answers `staff_confirms_payment: true`.
    fn capabilities(settings: &Self::Settings) -> Capabilities {
        let _ = settings;
        Capabilities::ONLINE
    }

    /// Opens a payment for `order`. The engine keeps every session it is given and hands the
    /// newest out again while the order is unpaid, so this runs again for an order only when no
    /// session was opened for it (the gateway failed at checkout).
    fn create_session(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        order: &Order,
    ) -> Result<Session, GatewayError>;

    /// Checks the widget's result: its signature first (with
    /// [`GatewayHost::hmac_verify`]), then the payment as the gateway reports it. A mismatch is
    /// [`GatewayError::VerificationFailed`].
    fn verify(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        outcome: &ClientResult,
    ) -> Result<PaymentStatus, GatewayError>;

    /// Verifies the webhook's signature over the raw body before reading it: a bad signature is
    /// [`GatewayError::VerificationFailed`] (the engine answers 401 and keeps nothing); a verified
    /// event the engine has no use for is [`WebhookOutcome::Ignored`].
    fn handle_webhook(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        webhook: &Webhook,
    ) -> Result<WebhookOutcome, GatewayError>;

    /// The payment state of a gateway order as the gateway has it now; `Pending` when nothing was
    /// paid (the expiry job asks before it cancels an order).
    fn fetch_status(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        order_id: &str,
        gateway_order_id: &str,
    ) -> Result<PaymentStatus, GatewayError>;

    /// Captures an authorised payment. Answer the captured status, not an error, when the
    /// gateway says it is captured already, so a retried capture is harmless.
    fn capture(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        request: &CaptureRequest,
    ) -> Result<PaymentStatus, GatewayError>;

    /// Refunds part or all of a payment, passing `request.idempotency_key` on so a retry refunds
    /// once.
    fn refund(
        settings: &Self::Settings,
        host: &dyn GatewayHost,
        request: &RefundRequest,
    ) -> Result<RefundStatus, GatewayError>;
}

/// Parses settings JSON into `G::Settings` and validates them, exactly as the engine does at load.
pub fn parse_gateway_settings<G: PaymentGateway>(json: &str) -> Result<G::Settings, String> {
    crate::rule::parse_validated(json, G::validate_settings)
}

/// The `validate-settings` export of a gateway.
pub fn validate_settings_export<G: PaymentGateway>(json: &str) -> Result<(), String> {
    parse_gateway_settings::<G>(json).map(drop)
}

/// One export call: installs `host` for [`crate::log`], parses the settings and the wire input,
/// runs the method and converts its answer back. The native harness calls the same functions with
/// its double as the host, so both paths share the conversions.
fn call<G, In, Out, Wire>(
    host: Rc<dyn GatewayHost>,
    input: Result<In, commerce_pipeline::CurrencyError>,
    what: &str,
    method: impl FnOnce(&G::Settings, &dyn GatewayHost, In) -> Result<Out, GatewayError>,
) -> Result<Wire, wit::GatewayError>
where
    G: PaymentGateway,
    Wire: From<Out>,
{
    let logger: Rc<dyn Host> = host.clone();
    with_host(logger, || {
        // Settings were validated at load; failing here means the host changed them under us.
        let settings = parse_gateway_settings::<G>(&host.settings()).map_err(GatewayError::Unavailable)?;
        let input = input.map_err(|e| GatewayError::Unavailable(format!("the host sent an invalid {what}: {e}")))?;
        method(&settings, &*host, input).map(Wire::from)
    })
    .map_err(wit::GatewayError::from)
}

/// The `gateway` exports, one function per WIT function, called by [`crate::export_payment_gateway!`]
/// and by the native harness.
pub mod exports {
    use super::*;

    /// `capabilities`. Its WIT signature has no error: settings that no longer parse (they were
    /// validated at load, just before) trap, which fails the load naming the plugin.
    ///
    /// # Panics
    ///
    /// If the host's settings do not parse or validate.
    pub fn capabilities<G: PaymentGateway>(host: Rc<dyn GatewayHost>) -> wit::GatewayCapabilities {
        let logger: Rc<dyn Host> = host.clone();
        with_host(logger, || match parse_gateway_settings::<G>(&host.settings()) {
            Ok(settings) => G::capabilities(&settings).into(),
            Err(message) => panic!("capabilities: {message}"),
        })
    }

    /// `create-session`.
    pub fn create_session<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        order: wit::Order,
    ) -> Result<wit::Session, wit::GatewayError> {
        call::<G, _, _, _>(host, Order::try_from(order), "order", |s, h, o| G::create_session(s, h, &o))
    }

    /// `verify`.
    pub fn verify<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        outcome: wit::ClientResult,
    ) -> Result<wit::PaymentStatus, wit::GatewayError> {
        call::<G, _, _, _>(host, ClientResult::try_from(outcome), "client result", |s, h, o| G::verify(s, h, &o))
    }

    /// `handle-webhook`.
    pub fn handle_webhook<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        webhook: wit::Webhook,
    ) -> Result<wit::WebhookOutcome, wit::GatewayError> {
        call::<G, _, _, _>(host, Ok(Webhook::from(webhook)), "webhook", |s, h, w| G::handle_webhook(s, h, &w))
    }

    /// `fetch-status`.
    pub fn fetch_status<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        order_id: String,
        gateway_order_id: String,
    ) -> Result<wit::PaymentStatus, wit::GatewayError> {
        call::<G, _, _, _>(host, Ok(()), "order id", |s, h, ()| G::fetch_status(s, h, &order_id, &gateway_order_id))
    }

    /// `capture`.
    pub fn capture<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        request: wit::CaptureRequest,
    ) -> Result<wit::PaymentStatus, wit::GatewayError> {
        call::<G, _, _, _>(host, CaptureRequest::try_from(request), "capture request", |s, h, r| G::capture(s, h, &r))
    }

    /// `refund`.
    pub fn refund<G: PaymentGateway>(
        host: Rc<dyn GatewayHost>,
        request: wit::RefundRequest,
    ) -> Result<wit::RefundStatus, wit::GatewayError> {
        call::<G, _, _, _>(host, RefundRequest::try_from(request), "refund request", |s, h, r| G::refund(s, h, &r))
    }
}
