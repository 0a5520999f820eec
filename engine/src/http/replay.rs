//! `Idempotent-Replayed: true` on a replayed answer (API.md), whatever its status.
//!
//! A replay may be a stored 201 or a stored refusal (409 `insufficient_stock`…), and refusals
//! travel as [`super::problem::ApiError`], which carries no headers. So the handler marks the
//! request as replayed in a task-local, and this middleware, which wraps every route, adds the
//! header to whatever response comes back.

use std::cell::Cell;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::HeaderValue};
use poem_openapi::OperationId;

const HEADER: &str = "idempotent-replayed";

tokio::task_local! {
    static REPLAYED: Cell<bool>;
}

/// Called by a handler that answers with a stored response.
pub fn mark_replayed() {
    let _ = REPLAYED.try_with(|flag| flag.set(true));
}

pub struct MarkReplays;

impl<E: Endpoint> Middleware<E> for MarkReplays {
    type Output = MarkReplaysEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        MarkReplaysEndpoint { inner }
    }
}

pub struct MarkReplaysEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for MarkReplaysEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        REPLAYED
            .scope(Cell::new(false), async {
                let result = self.inner.call(req).await;
                if !REPLAYED.with(Cell::get) {
                    return result.map(IntoResponse::into_response);
                }
                match result {
                    Ok(output) => {
                        let mut response = output.into_response();
                        response.headers_mut().insert(HEADER, HeaderValue::from_static("true"));
                        Ok(response)
                    }
                    // A replayed refusal arrives as an error: its response gets the header, and
                    // the error keeps the operation id the request metrics are labelled with.
                    Err(error) => {
                        let operation = error.data::<OperationId>().copied();
                        let mut response = error.into_response();
                        response.headers_mut().insert(HEADER, HeaderValue::from_static("true"));
                        let mut error = poem::Error::from_response(response);
                        if let Some(operation) = operation {
                            error.set_data(operation);
                        }
                        Err(error)
                    }
                }
            })
            .await
    }
}
