//! The HTTP side: authentication, injected faults, routing, request parsing and dispatch.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use poem::{Endpoint, Request, Response, http::StatusCode};
use serde_json::{Map, Value, json};

use super::{
    Fault, RecordedRequest, Shared, State,
    errors::ApiError,
    orders::{Order, create_order},
    payments::Payment,
    refunds::Refund,
};

impl Shared {
    /// Basic auth with the exact scheme word `Basic` (§1: `basic …` and `BASIC …` are invalid).
    fn authorised(&self, req: &Request) -> bool {
        let expected = format!("{}:{}", self.config.key_id, self.config.key_secret);
        req.header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|credentials| credentials == expected.as_bytes())
    }

    async fn handle(&self, req: &Request, body: Vec<u8>) -> Response {
        let (method, path) = (req.method().as_str(), req.uri().path());
        let routed = route(method, path);
        let name = routed.as_ref().map_or_else(|| format!("{method} {path}"), |(name, _)| (*name).to_owned());
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let fault = {
            let mut state = self.lock();
            state.requests.push(RecordedRequest { route: name.clone(), headers, body: body.clone() });
            state.take_fault(&name)
        };
        let delay = match fault {
            Some(Fault::Status(status)) => return respond(Err(ApiError::fault(status))),
            Some(Fault::Hang(delay)) => {
                tokio::time::sleep(delay).await;
                return respond(Err(ApiError::fault(504)));
            }
            Some(Fault::SlowResponse(delay)) => delay,
            None => Duration::ZERO,
        };
        let result = if !self.authorised(req) {
            Err(ApiError::auth())
        } else {
            match routed {
                Some((_, route)) => parse_body(req.content_type(), &body).and_then(|body| {
                    let query = req.uri().query().unwrap_or("");
                    let key = req.header("x-refund-idempotency");
                    self.dispatch(&mut self.lock(), route, Incoming { body, query, key, delay })
                }),
                // §1: a wrong URL or method is a 400, with `NA` everywhere.
                None => Err(ApiError::na(400, "The requested URL was not found on the server.")),
            }
        };
        tokio::time::sleep(delay).await;
        respond(result)
    }
}

pub(super) struct FakeEndpoint(pub(super) Arc<Shared>);

impl Endpoint for FakeEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // A body that cannot be read is treated as empty; validation then reports what is missing.
        let body = req.take_body().into_vec().await.unwrap_or_default();
        Ok(self.0.handle(&req, body).await)
    }
}

fn respond(result: Result<Value, ApiError>) -> Response {
    let (status, body) = match result {
        // §1: every success is a 200.
        Ok(body) => (200, body),
        Err(e) => (e.status, e.body),
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body.to_string())
}

enum Route {
    CreateOrder,
    Order(String),
    OrderPayments(String),
    Payment(String),
    Capture(String),
    Refund(String),
    PaymentRefunds(String),
    PaymentRefund(String, String),
    RefundById(String),
}

/// The route and its name for counting; `None` is Razorpay's "URL not found".
fn route(method: &str, path: &str) -> Option<(&'static str, Route)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let id = |s: &&str| (*s).to_owned();
    Some(match (method, segments.as_slice()) {
        ("POST", ["v1", "orders"]) => ("POST /v1/orders", Route::CreateOrder),
        ("GET", ["v1", "orders", o]) => ("GET /v1/orders/:id", Route::Order(id(o))),
        ("GET", ["v1", "orders", o, "payments"]) => ("GET /v1/orders/:id/payments", Route::OrderPayments(id(o))),
        ("GET", ["v1", "payments", p]) => ("GET /v1/payments/:id", Route::Payment(id(p))),
        ("POST", ["v1", "payments", p, "capture"]) => ("POST /v1/payments/:id/capture", Route::Capture(id(p))),
        ("POST", ["v1", "payments", p, "refund"]) => ("POST /v1/payments/:id/refund", Route::Refund(id(p))),
        ("GET", ["v1", "payments", p, "refunds"]) => ("GET /v1/payments/:id/refunds", Route::PaymentRefunds(id(p))),
        ("GET", ["v1", "payments", p, "refunds", r]) => {
            ("GET /v1/payments/:id/refunds/:refund_id", Route::PaymentRefund(id(p), id(r)))
        }
        ("GET", ["v1", "refunds", r]) => ("GET /v1/refunds/:id", Route::RefundById(id(r))),
        _ => return None,
    })
}

pub(super) struct Incoming<'a> {
    pub(super) body: Map<String, Value>,
    pub(super) query: &'a str,
    /// `X-Refund-Idempotency`.
    pub(super) key: Option<&'a str>,
    /// How long the answer will be held ([`Fault::SlowResponse`]).
    pub(super) delay: Duration,
}

/// JSON as the docs send it, or a form body as older integrations do (§1: a fake should accept
/// both; form values are text, so numbers and flags are read from it here).
fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        let (mut map, mut notes) = (Map::new(), Map::new());
        for (key, value) in url::form_urlencoded::parse(bytes) {
            if let Some(note) = key.strip_prefix("notes[").and_then(|k| k.strip_suffix(']')) {
                notes.insert(note.to_owned(), Value::from(value.as_ref()));
                continue;
            }
            let value = match (key.as_ref(), value.as_ref()) {
                ("amount" | "first_payment_min_amount", v) => {
                    v.parse::<i64>().map_or_else(|_| Value::from(v), Value::from)
                }
                ("payment_capture" | "partial_payment", "1" | "true") => Value::Bool(true),
                ("payment_capture" | "partial_payment", "0" | "false") => Value::Bool(false),
                (_, v) => Value::from(v),
            };
            map.insert(key.into_owned(), value);
        }
        if !notes.is_empty() {
            map.insert("notes".to_owned(), Value::Object(notes));
        }
        return Ok(map);
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        // Unverified: the text for a body that is not a JSON object.
        _ => Err(ApiError::invalid("The request body must be a JSON object.", None)),
    }
}

impl Shared {
    fn dispatch(&self, state: &mut State, route: Route, incoming: Incoming<'_>) -> Result<Value, ApiError> {
        let payment =
            |state: &State, id: &str| state.payments.get(id).map(Payment::to_json).ok_or_else(ApiError::no_such_id);
        let refund =
            |state: &State, id: &str| state.refunds.get(id).map(Refund::to_json).ok_or_else(ApiError::no_such_id);
        match route {
            Route::CreateOrder => create_order(state, &incoming.body),
            Route::Order(id) => state.orders.get(&id).map(Order::to_json).ok_or_else(ApiError::no_such_id),
            Route::OrderPayments(id) => {
                let order = state.orders.get(&id).ok_or_else(ApiError::no_such_id)?;
                Ok(collection(order.payments.iter().rev().filter_map(|p| state.payments.get(p)).map(Payment::to_json)))
            }
            Route::Payment(id) => payment(state, &id),
            Route::Capture(id) => self.capture_request(state, &id, &incoming.body),
            Route::Refund(id) => self.refund_request(state, &id, incoming),
            Route::PaymentRefunds(id) => {
                let payment = state.payments.get(&id).ok_or_else(ApiError::no_such_id)?;
                let (count, skip) = page(incoming.query)?;
                let newest_first = payment.refunds.iter().rev().skip(skip).take(count);
                Ok(collection(newest_first.filter_map(|r| state.refunds.get(r)).map(Refund::to_json)))
            }
            Route::PaymentRefund(payment_id, id) => match state.refunds.get(&id) {
                Some(r) if r.payment_id == payment_id => Ok(r.to_json()),
                _ => Err(ApiError::no_such_id()),
            },
            Route::RefundById(id) => refund(state, &id),
        }
    }
}

pub(super) fn reject_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(extra) => {
            Err(ApiError::invalid(format!("{extra} is/are not required and should not be sent."), Some(extra)))
        }
        None => Ok(()),
    }
}

/// An integer, or absent; a JSON string is refused even if it holds digits (stricter than
/// Razorpay may be: a plugin should send numbers).
pub(super) fn int_field(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(ApiError::invalid(format!("The {name} must be an integer."), Some(name))),
    }
}

pub(super) fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // Unverified: the text.
        Some(_) => Err(ApiError::invalid(format!("The {name} must be a string."), Some(name))),
    }
}

/// `true`/`false`, or `1`/`0` as legacy integrations send `payment_capture` (§2).
pub(super) fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => Ok(Some(n.as_u64() == Some(1))),
        // Unverified: the text.
        Some(_) => Err(ApiError::invalid(format!("The {name} field must be true or false."), Some(name))),
    }
}

/// At most 15 pairs of at most 256 characters (§1); `[]` is the API's own empty notes.
pub(super) fn parse_notes(value: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    // Unverified: all three texts.
    let notes = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Map::new()),
        Some(Value::Object(notes)) => notes,
        Some(_) => return Err(ApiError::invalid("The notes must be a key-value object.", Some("notes"))),
    };
    if notes.len() > 15 {
        return Err(ApiError::invalid("The notes may not have more than 15 keys.", Some("notes")));
    }
    let too_long = |v: &Value| match v {
        Value::String(s) => s.chars().count() > 256,
        Value::Number(_) | Value::Bool(_) | Value::Null => false,
        Value::Array(_) | Value::Object(_) => true,
    };
    if notes.values().any(too_long) {
        return Err(ApiError::invalid("Each notes value must be text of at most 256 characters.", Some("notes")));
    }
    Ok(notes.clone())
}

pub(super) fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    if key.len() < 10 {
        return Err(ApiError::invalid("The idempotency key must be at least 10 characters long.", None));
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ApiError::invalid(
            "The idempotency key must only contain alphanumeric characters, underscores, and hyphens",
            None,
        ));
    }
    Ok(())
}

/// `count` (default 10, at most 100) and `skip` (§1).
fn page(query: &str) -> Result<(usize, usize), ApiError> {
    let (mut count, mut skip) = (10, 0);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        // Unverified: both texts.
        match key.as_ref() {
            "count" => {
                count = value
                    .parse()
                    .ok()
                    .filter(|c| (1..=100).contains(c))
                    .ok_or_else(|| ApiError::invalid("The count must be between 1 and 100.", Some("count")))?;
            }
            "skip" => {
                skip = value.parse().map_err(|_| ApiError::invalid("The skip must be an integer.", Some("skip")))?;
            }
            _ => {}
        }
    }
    Ok((count, skip))
}

fn collection(items: impl Iterator<Item = Value>) -> Value {
    let items: Vec<Value> = items.collect();
    json!({"entity": "collection", "count": items.len(), "items": items})
}
