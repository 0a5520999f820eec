//! Field-by-field conversions between the gateway types and wit-bindgen's. Currencies are parsed
//! on the way in, so a record the SDK hands on always holds an ISO 4217 code; the only fallible
//! direction is wire → SDK.

use commerce_pipeline::{Currency, CurrencyError};
use commerce_sdk_gateway_bindings::commerce::plugin::{outbound_http as whttp, secrets as wsecrets};
use commerce_sdk_gateway_bindings::exports::commerce::plugin::gateway as wit;

use super::http::{Auth, HmacAlgorithm, HttpError, Method, Request, Response};
use super::model::{
    Capabilities, CaptureRequest, ClientResult, GatewayError, Order, PaymentEvent, PaymentState, PaymentStatus,
    RefundRequest, RefundStatus, Session, Webhook, WebhookOutcome,
};

fn currency(code: String) -> Result<Currency, CurrencyError> {
    Currency::new(&code)
}

impl From<Capabilities> for wit::GatewayCapabilities {
    fn from(c: Capabilities) -> Self {
        Self { staff_confirms_payment: c.staff_confirms_payment, unpaid_orders_expire: c.unpaid_orders_expire }
    }
}

impl From<wit::GatewayCapabilities> for Capabilities {
    fn from(c: wit::GatewayCapabilities) -> Self {
        Self { staff_confirms_payment: c.staff_confirms_payment, unpaid_orders_expire: c.unpaid_orders_expire }
    }
}

impl TryFrom<wit::Order> for Order {
    type Error = CurrencyError;
    fn try_from(o: wit::Order) -> Result<Self, Self::Error> {
        Ok(Self {
            order_id: o.order_id,
            order_number: o.order_number,
            amount: o.amount,
            currency: currency(o.currency)?,
            customer_email: o.customer_email,
            customer_phone: o.customer_phone,
        })
    }
}

impl From<Order> for wit::Order {
    fn from(o: Order) -> Self {
        Self {
            order_id: o.order_id,
            order_number: o.order_number,
            amount: o.amount,
            currency: o.currency.into(),
            customer_email: o.customer_email,
            customer_phone: o.customer_phone,
        }
    }
}

impl From<wit::Session> for Session {
    fn from(s: wit::Session) -> Self {
        Self { gateway_order_id: s.gateway_order_id, client_payload: s.client_payload }
    }
}

impl From<Session> for wit::Session {
    fn from(s: Session) -> Self {
        Self { gateway_order_id: s.gateway_order_id, client_payload: s.client_payload }
    }
}

impl TryFrom<wit::ClientResult> for ClientResult {
    type Error = CurrencyError;
    fn try_from(c: wit::ClientResult) -> Result<Self, Self::Error> {
        Ok(Self {
            order_id: c.order_id,
            gateway_order_id: c.gateway_order_id,
            amount: c.amount,
            currency: currency(c.currency)?,
            payload: c.payload,
        })
    }
}

impl From<ClientResult> for wit::ClientResult {
    fn from(c: ClientResult) -> Self {
        Self {
            order_id: c.order_id,
            gateway_order_id: c.gateway_order_id,
            amount: c.amount,
            currency: c.currency.into(),
            payload: c.payload,
        }
    }
}

impl From<wit::PaymentState> for PaymentState {
    fn from(s: wit::PaymentState) -> Self {
        match s {
            wit::PaymentState::Pending => Self::Pending,
            wit::PaymentState::Authorized => Self::Authorized,
            wit::PaymentState::Captured => Self::Captured,
            wit::PaymentState::Failed => Self::Failed,
            wit::PaymentState::Refunded => Self::Refunded,
            wit::PaymentState::PartiallyRefunded => Self::PartiallyRefunded,
        }
    }
}

impl From<PaymentState> for wit::PaymentState {
    fn from(s: PaymentState) -> Self {
        match s {
            PaymentState::Pending => Self::Pending,
            PaymentState::Authorized => Self::Authorized,
            PaymentState::Captured => Self::Captured,
            PaymentState::Failed => Self::Failed,
            PaymentState::Refunded => Self::Refunded,
            PaymentState::PartiallyRefunded => Self::PartiallyRefunded,
        }
    }
}

impl TryFrom<wit::PaymentStatus> for PaymentStatus {
    type Error = CurrencyError;
    fn try_from(p: wit::PaymentStatus) -> Result<Self, Self::Error> {
        Ok(Self {
            state: p.state.into(),
            gateway_payment_id: p.gateway_payment_id,
            amount: p.amount,
            currency: currency(p.currency)?,
            amount_refunded: p.amount_refunded,
        })
    }
}

impl From<PaymentStatus> for wit::PaymentStatus {
    fn from(p: PaymentStatus) -> Self {
        Self {
            state: p.state.into(),
            gateway_payment_id: p.gateway_payment_id,
            amount: p.amount,
            currency: p.currency.into(),
            amount_refunded: p.amount_refunded,
        }
    }
}

impl From<wit::Webhook> for Webhook {
    fn from(w: wit::Webhook) -> Self {
        Self { headers: w.headers, body: w.body }
    }
}

impl From<Webhook> for wit::Webhook {
    fn from(w: Webhook) -> Self {
        Self { headers: w.headers, body: w.body }
    }
}

impl TryFrom<wit::RefundStatus> for RefundStatus {
    type Error = CurrencyError;
    fn try_from(r: wit::RefundStatus) -> Result<Self, Self::Error> {
        Ok(Self {
            gateway_refund_id: r.gateway_refund_id,
            gateway_payment_id: r.gateway_payment_id,
            amount: r.amount,
            currency: currency(r.currency)?,
            state: r.state.into(),
        })
    }
}

impl From<RefundStatus> for wit::RefundStatus {
    fn from(r: RefundStatus) -> Self {
        Self {
            gateway_refund_id: r.gateway_refund_id,
            gateway_payment_id: r.gateway_payment_id,
            amount: r.amount,
            currency: r.currency.into(),
            state: r.state.into(),
        }
    }
}

impl TryFrom<wit::WebhookOutcome> for WebhookOutcome {
    type Error = CurrencyError;
    fn try_from(w: wit::WebhookOutcome) -> Result<Self, Self::Error> {
        Ok(match w {
            wit::WebhookOutcome::Ignored(why) => Self::Ignored(why),
            wit::WebhookOutcome::Event(e) => Self::Event(PaymentEvent {
                event_id: e.event_id,
                order_id: e.order_id,
                gateway_order_id: e.gateway_order_id,
                payment: e.payment.map(PaymentStatus::try_from).transpose()?,
                refund: e.refund.map(RefundStatus::try_from).transpose()?,
            }),
        })
    }
}

impl From<WebhookOutcome> for wit::WebhookOutcome {
    fn from(w: WebhookOutcome) -> Self {
        match w {
            WebhookOutcome::Ignored(why) => Self::Ignored(why),
            WebhookOutcome::Event(e) => Self::Event(wit::PaymentEvent {
                event_id: e.event_id,
                order_id: e.order_id,
                gateway_order_id: e.gateway_order_id,
                payment: e.payment.map(Into::into),
                refund: e.refund.map(Into::into),
            }),
        }
    }
}

impl TryFrom<wit::CaptureRequest> for CaptureRequest {
    type Error = CurrencyError;
    fn try_from(c: wit::CaptureRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            order_id: c.order_id,
            gateway_payment_id: c.gateway_payment_id,
            amount: c.amount,
            currency: currency(c.currency)?,
        })
    }
}

impl From<CaptureRequest> for wit::CaptureRequest {
    fn from(c: CaptureRequest) -> Self {
        Self {
            order_id: c.order_id,
            gateway_payment_id: c.gateway_payment_id,
            amount: c.amount,
            currency: c.currency.into(),
        }
    }
}

impl TryFrom<wit::RefundRequest> for RefundRequest {
    type Error = CurrencyError;
    fn try_from(r: wit::RefundRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            order_id: r.order_id,
            gateway_payment_id: r.gateway_payment_id,
            amount: r.amount,
            currency: currency(r.currency)?,
            reason: r.reason,
            idempotency_key: r.idempotency_key,
        })
    }
}

impl From<RefundRequest> for wit::RefundRequest {
    fn from(r: RefundRequest) -> Self {
        Self {
            order_id: r.order_id,
            gateway_payment_id: r.gateway_payment_id,
            amount: r.amount,
            currency: r.currency.into(),
            reason: r.reason,
            idempotency_key: r.idempotency_key,
        }
    }
}

impl From<wit::GatewayError> for GatewayError {
    fn from(e: wit::GatewayError) -> Self {
        match e {
            wit::GatewayError::Rejected(m) => Self::Rejected(m),
            wit::GatewayError::VerificationFailed(m) => Self::VerificationFailed(m),
            wit::GatewayError::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

impl From<GatewayError> for wit::GatewayError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Rejected(m) => Self::Rejected(m),
            GatewayError::VerificationFailed(m) => Self::VerificationFailed(m),
            GatewayError::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

// Host imports: SDK → wire for what the guest sends, wire → SDK for what comes back.

impl From<Method> for whttp::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => Self::Get,
            Method::Post => Self::Post,
            Method::Put => Self::Put,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

impl From<Auth> for whttp::Auth {
    fn from(a: Auth) -> Self {
        match a {
            Auth::Basic { username, password_secret } => Self::Basic(whttp::BasicAuth { username, password_secret }),
            Auth::Bearer { secret_name } => Self::Bearer(secret_name),
            Auth::Header { name, secret_name } => Self::Header(whttp::SecretHeader { name, secret_name }),
        }
    }
}

impl From<Request> for whttp::Request {
    fn from(r: Request) -> Self {
        Self { method: r.method.into(), url: r.url, headers: r.headers, body: r.body, auth: r.auth.map(Into::into) }
    }
}

impl From<whttp::Response> for Response {
    fn from(r: whttp::Response) -> Self {
        Self { status: r.status, headers: r.headers, body: r.body }
    }
}

impl From<whttp::HttpError> for HttpError {
    fn from(e: whttp::HttpError) -> Self {
        match e {
            whttp::HttpError::Forbidden(why) => Self::Forbidden(why),
            whttp::HttpError::UnknownSecret(name) => Self::UnknownSecret(name),
            whttp::HttpError::Transport(why) => Self::Transport(why),
            whttp::HttpError::Timeout => Self::Timeout,
            whttp::HttpError::TooLarge => Self::TooLarge,
        }
    }
}

impl From<HmacAlgorithm> for wsecrets::HmacAlgorithm {
    fn from(a: HmacAlgorithm) -> Self {
        match a {
            HmacAlgorithm::Sha256 => Self::Sha256,
            HmacAlgorithm::Sha512 => Self::Sha512,
        }
    }
}
