//! The served OpenAPI document: poem-openapi's output, corrected once where its derives cannot
//! say what the server does. `/openapi.json`, `/docs` and the snapshot test all serve this one
//! processed document; nothing else keeps a copy.
//!
//! What poem-openapi 5.1 cannot express, and this module adds:
//! - `application/json` media keys (it hard-codes `; charset=utf-8`, which openapi-typescript's
//!   `JSONLike` and several generators do not match; the server may keep sending the charset);
//! - `security: []` on public operations (it omits `security`, which reads as "undeclared"), and
//!   the `X-Cart-Token` / `X-Order-Token` apiKey schemes (it only lists schemes an operation uses);
//! - per-operation error statuses: `ApiError` is shared by every operation, so the derive lists
//!   the same statuses everywhere. The table in [`answers`] says what each operation can really
//!   answer; a test fails when an operation is missing from it;
//! - the order of tags (storefront first, then staff, then operations).
//!
//! Response fields that may be `null` are fixed at the source with [`super::nullable::Nullable`].

use std::sync::OnceLock;

use poem_openapi::{OpenApi, OpenApiService, Webhook};
use serde_json::{Map, Value, json};

mod answers;
mod params;

pub use answers::answers;
pub use params::describe_bad_request;

/// Tags in the order readers meet them; see `tag_order_covers_every_tag` for the guard.
pub const TAG_ORDER: &[&str] = &[
    "Auth",
    "Account",
    "Categories",
    "Products",
    "Admin · Customers",
    "Admin · Categories",
    "Admin · Products",
    "Admin · Pricing",
    "Admin · Plugins",
    "Operations",
];

/// The JSON media key poem-openapi writes for `Json<T>` payloads.
const JSON_WITH_CHARSET: &str = "application/json; charset=utf-8";

/// The processed document, kept for error messages that name a parameter's allowed values
/// (the document is the same for every engine built by this binary).
static SERVED: OnceLock<Value> = OnceLock::new();

/// The document as served, as JSON text. Also remembers it for [`describe_bad_request`].
pub fn document<T: OpenApi, W: Webhook>(service: &OpenApiService<T, W>) -> String {
    let value = SERVED.get_or_init(|| process(&service.spec()));
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The document remembered by [`document`], if an engine was built.
pub(crate) fn served() -> Option<&'static Value> {
    SERVED.get()
}

/// poem-openapi's document → the served one. A spec poem-openapi cannot produce as JSON is a
/// programming error caught by every test; it serves as an empty object rather than panicking.
pub fn process(raw: &str) -> Value {
    let mut doc: Value = serde_json::from_str(raw).unwrap_or_else(|_| json!({}));
    strip_json_charset(&mut doc);
    add_security_schemes(&mut doc);
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|p| p.values_mut()) {
            let Some(operation) = operation.as_object_mut() else { continue };
            operation.entry("security").or_insert_with(|| json!([]));
            set_error_responses(operation, &problem);
        }
    }
    order_tags(&mut doc);
    doc
}

/// Renames every `application/json; charset=utf-8` content key to `application/json`.
fn strip_json_charset(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(media) = map.remove(JSON_WITH_CHARSET) {
                map.insert("application/json".to_owned(), media);
            }
            map.values_mut().for_each(strip_json_charset);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_json_charset),
        _ => {}
    }
}

fn add_security_schemes(doc: &mut Value) {
    let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) else { return };
    let schemes = components.entry("securitySchemes").or_insert_with(|| json!({}));
    let Some(schemes) = schemes.as_object_mut() else { return };
    schemes.insert(
        "CartToken".to_owned(),
        json!({"type": "apiKey", "in": "header", "name": "X-Cart-Token",
               "description": "A guest cart's `cart_token`, from the answer that created the cart."}),
    );
    schemes.insert(
        "OrderToken".to_owned(),
        json!({"type": "apiKey", "in": "header", "name": "X-Order-Token",
               "description": "A guest order's `order_token`, from the checkout answer."}),
    );
}

/// Replaces the shared `ApiError` statuses with the operation's own, from [`answers`]. Success
/// responses (1xx–3xx) stay as derived. An operation missing from the table keeps nothing but
/// its successes, and `every_operation_has_its_answers` fails.
fn set_error_responses(operation: &mut Map<String, Value>, problem: &Value) {
    let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let has_body = operation.contains_key("requestBody");
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { return };
    responses.retain(|status, _| !(status.starts_with('4') || status.starts_with('5') || status == "default"));
    for (status, description) in answers(&id, has_body).unwrap_or_default() {
        let mut response = json!({
            "description": description,
            "content": {"application/problem+json": {"schema": problem}},
        });
        if matches!(status, 429 | 503) {
            response["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": true,
                "schema": {"type": "integer", "format": "int64"},
            }});
        }
        responses.insert(status.to_string(), response);
    }
}

fn order_tags(doc: &mut Value) {
    let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) else { return };
    let rank = |tag: &Value| {
        let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
        TAG_ORDER.iter().position(|t| *t == name).unwrap_or(TAG_ORDER.len())
    };
    tags.sort_by_key(rank);
}
