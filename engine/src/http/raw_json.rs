//! A JSON response body that is already a `serde_json::Value` (a stored idempotent answer) or
//! already serialised bytes (a rendering kept with a cached read), with the schema of `T` in the
//! OpenAPI document: what the server sends is `T`'s shape either way.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
};

pub struct RawJson<T> {
    body: Body,
    _shape: PhantomData<fn() -> T>,
}

enum Body {
    Value(serde_json::Value),
    Bytes(bytes::Bytes),
}

impl<T> RawJson<T> {
    /// `value` must be `T` serialised (or a stored copy of it).
    pub fn new(value: serde_json::Value) -> Self {
        Self { body: Body::Value(value), _shape: PhantomData }
    }

    /// `json` must be `T` serialised to JSON text.
    pub fn from_bytes(json: bytes::Bytes) -> Self {
        Self { body: Body::Bytes(json), _shape: PhantomData }
    }
}

impl<T: Type> Payload for RawJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for RawJson<T> {
    fn into_response(self) -> Response {
        match self.body {
            Body::Value(value) => poem::web::Json(value).into_response(),
            Body::Bytes(json) => Response::builder().content_type(Self::CONTENT_TYPE).body(json),
        }
    }
}

impl<T: Type> ApiResponse for RawJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
