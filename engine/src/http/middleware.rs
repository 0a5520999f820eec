//! Cross-cutting HTTP behaviour: request ids, the per-request span and access log, metrics,
//! the body limit, client addresses, and turning every framework error into problem+json.

use std::{sync::Arc, time::Instant};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
    web::RemoteAddr,
};
use poem_openapi::OperationId;
use tracing::Instrument;

use super::{
    client_addr::TrustedProxies,
    problem::{ApiError, from_poem_error},
};
use crate::metrics::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

/// The client's address as used for throttling (see [`super::client_addr`]). Stored in request
/// extensions.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// Outermost middleware: assigns the request id, opens the request span, writes the access log
/// line, records metrics, and renders any error as problem+json.
pub struct Observe {
    pub metrics: Metrics,
    pub trusted_proxies: TrustedProxies,
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint { inner, metrics: self.metrics.clone(), trusted_proxies: self.trusted_proxies.clone() }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
    metrics: Metrics,
    trusted_proxies: TrustedProxies,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let started = Instant::now();
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| is_safe_request_id(id))
            .map(str::to_owned)
            .unwrap_or_else(|| ulid::Ulid::new().to_string());
        let client = client_addr(&req, &self.trusted_proxies);
        req.extensions_mut().insert(ClientAddr(client));
        let method = req.method().clone();
        // Only the path: query strings and headers may carry tokens and are never logged.
        let path = req.uri().path().to_owned();
        let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);

        let result = self.inner.call(req).instrument(span.clone()).await;
        let (route, mut response) = match result {
            Ok(output) => {
                let response = output.into_response();
                (response.data::<OperationId>().map(|id| id.0), response)
            }
            Err(error) => {
                let route = error.data::<OperationId>().map(|id| id.0);
                let response = if error.is_from_response() {
                    error.into_response()
                } else {
                    span.in_scope(|| from_poem_error(&error))
                };
                (route, response)
            }
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        let route = route.unwrap_or(if status == 404 { "unmatched" } else { "other" });
        self.metrics.observe_request(route, method.as_str(), status, elapsed.as_secs_f64());
        span.in_scope(|| {
            tracing::info!(
                target: "access",
                status,
                route,
                latency_ms = format_args!("{:.3}", elapsed.as_secs_f64() * 1000.0),
                "request completed"
            );
        });
        Ok(response)
    }
}

/// At most 64 characters from a conservative set, so a client cannot inject log syntax.
pub fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn client_addr(req: &Request, proxies: &TrustedProxies) -> String {
    match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => {
            let forwarded: Vec<&str> =
                req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
            proxies.client(addr.ip(), &forwarded).to_string()
        }
        other => other.to_string(),
    }
}

/// Rejects bodies over the limit with 413, reading at most `limit` bytes. Unlike poem's
/// `SizeLimit`, it does not demand a `Content-Length` (a GET without one is fine, and a chunked
/// body is counted as it arrives).
pub struct BodyLimit(pub usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner: Arc::new(inner), limit: self.0 }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: Arc<E>,
    limit: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.limit as u64) {
            return Ok(too_large(self.limit));
        }
        if declared != Some(0) {
            let body = req.take_body();
            match body.into_bytes_limit(self.limit).await {
                Ok(bytes) => req.set_body(bytes),
                Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(self.limit)),
                Err(e) => {
                    return Ok(ApiError::bad_request(format!("cannot read the request body: {e}")).into_response());
                }
            }
        }
        // A POST without a body and without a Content-Type (`fetch(url, {method: "POST"})`)
        // is read as an empty JSON body: an operation whose body is optional (cancelling an
        // order) then runs, and one whose body is required answers 400 `bad_request` naming the
        // missing body rather than 415 about a header the client never thought of.
        if !req.headers().contains_key(header::CONTENT_TYPE) && req.method() != poem::http::Method::GET {
            let body = req.take_body().into_bytes().await.unwrap_or_default();
            if body.is_empty() {
                req.headers_mut()
                    .insert(header::CONTENT_TYPE, poem::http::HeaderValue::from_static("application/json"));
            }
            req.set_body(body);
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

fn too_large(limit: usize) -> Response {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("request body exceeds {limit} bytes"))
        .into_response()
}
