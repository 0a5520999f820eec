//! The served OpenAPI document: poem-openapi's output, corrected once where its derives cannot
//! say what the server does. `/openapi.json`, `/docs` and the snapshot test all serve this one
//! processed document; nothing else keeps a copy.
//!
//! What poem-openapi 5.1 cannot express, and this module adds:
//! - `application/json` media keys (it hard-codes `; charset=utf-8`, which openapi-typescript's
//!   `JSONLike` and several generators do not match; the server may keep sending the charset);
//! - `security: []` on public operations (it omits `security`, which reads as "undeclared"), and
//!   the `X-Cart-Token` / `X-Order-Token` apiKey schemes as alternatives on the operations listed
//!   in [`GUEST_TOKEN_OPERATIONS`] (a derive cannot say "bearer or this header");
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

/// Tags in the order readers meet them. The e2e test
/// `operations_have_camel_case_ids_and_summaries_and_tags_put_the_storefront_first` fails when a
/// tag is missing here.
pub const TAG_ORDER: &[&str] = &[
    "Auth",
    "Account",
    "Categories",
    "Products",
    "Cart",
    "Checkout",
    "Orders",
    "Admin · Customers",
    "Admin · Categories",
    "Admin · Products",
    "Admin · Orders",
    "Admin · Pricing",
    "Admin · Plugins",
    "Webhooks",
    "Operations",
];

/// Guest credentials sent as headers, beside the bearer scheme: `(scheme, header, description)`.
pub const GUEST_SCHEMES: &[(&str, &str, &str)] = &[
    ("CartToken", "X-Cart-Token", "A guest cart's `cart_token`, from the answer that created the cart."),
    ("OrderToken", "X-Order-Token", "A guest order's `order_token`, from the checkout answer."),
];

/// Operations a guest may call with a cart or order token instead of a bearer token:
/// `(operationId, scheme)`. Carts and orders add their rows here (e.g. `("getCart",
/// "CartToken")`); the poem-openapi derive cannot say "bearer or this header".
pub const GUEST_TOKEN_OPERATIONS: &[(&str, &str)] = &[
    ("getCart", "CartToken"),
    ("updateCart", "CartToken"),
    ("addCartLine", "CartToken"),
    ("updateCartLine", "CartToken"),
    ("removeCartLine", "CartToken"),
    ("applyCartCoupon", "CartToken"),
    ("removeCartCoupon", "CartToken"),
    ("checkout", "CartToken"),
    ("getOrder", "OrderToken"),
    ("cancelOrder", "OrderToken"),
    ("createOrderPayment", "OrderToken"),
    ("verifyOrderPayment", "OrderToken"),
];

/// Operations whose handler reads `Authorization: Bearer` itself (it is optional, or one of two
/// credentials, which the derive cannot say): `(operationId, anonymous callers allowed)`. They
/// get the `BearerAuth` requirement here; with anonymous callers allowed, an empty requirement
/// (`{}`) comes first.
pub const HAND_READ_BEARER: &[(&str, bool)] = &[
    ("createCart", true),
    ("getMyCart", false),
    ("getCart", false),
    ("updateCart", false),
    ("addCartLine", false),
    ("updateCartLine", false),
    ("removeCartLine", false),
    ("applyCartCoupon", false),
    ("removeCartCoupon", false),
    ("checkout", false),
    ("listMyOrders", false),
    ("getOrder", false),
    ("cancelOrder", false),
    ("createOrderPayment", false),
    ("verifyOrderPayment", false),
];

/// The parameter poem-openapi appends to `Json<T>` and `PlainText<T>` media keys.
const CHARSET: &str = "; charset=utf-8";

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
    process_with(raw, GUEST_TOKEN_OPERATIONS)
}

fn process_with(raw: &str, guest_tokens: &[(&str, &str)]) -> Value {
    let mut doc: Value = serde_json::from_str(raw).unwrap_or_else(|_| json!({}));
    strip_charset(&mut doc);
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let mut used_guest_schemes = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|p| p.values_mut()) {
            let Some(operation) = operation.as_object_mut() else { continue };
            let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
            let security = operation.entry("security").or_insert_with(|| json!([]));
            for (_, anonymous) in HAND_READ_BEARER.iter().filter(|(op, _)| *op == id) {
                if let Some(alternatives) = security.as_array_mut()
                    && alternatives.is_empty()
                {
                    if *anonymous {
                        alternatives.push(json!({}));
                    }
                    alternatives.push(json!({"BearerAuth": []}));
                }
            }
            for (_, scheme) in guest_tokens.iter().filter(|(op, _)| *op == id) {
                // Alternatives: the bearer token (if any), or the guest token.
                if let Some(alternatives) = security.as_array_mut() {
                    alternatives.push(json!({ *scheme: [] }));
                }
                used_guest_schemes.push(*scheme);
            }
            set_error_responses(operation, &problem);
        }
    }
    add_guest_schemes(&mut doc, &used_guest_schemes);
    order_tags(&mut doc);
    doc
}

/// Renames every `…; charset=utf-8` content key (`application/json`, `text/plain`) to its bare
/// media type.
fn strip_charset(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let charset: Vec<String> = map.keys().filter(|k| k.ends_with(CHARSET)).cloned().collect();
            for key in charset {
                if let Some(media) = map.remove(&key) {
                    map.insert(key.trim_end_matches(CHARSET).to_owned(), media);
                }
            }
            map.values_mut().for_each(strip_charset);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_charset),
        _ => {}
    }
}

/// Adds the guest-token schemes that some operation uses. Declaring one no operation uses is a
/// `no-unused-components` lint warning (and tells a generator nothing), so each appears with the
/// first operation listed for it in [`GUEST_TOKEN_OPERATIONS`].
fn add_guest_schemes(doc: &mut Value, used: &[&str]) {
    let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) else { return };
    let schemes = components.entry("securitySchemes").or_insert_with(|| json!({}));
    let Some(schemes) = schemes.as_object_mut() else { return };
    for (name, header, description) in GUEST_SCHEMES {
        if used.contains(name) {
            schemes.insert(
                (*name).to_owned(),
                json!({"type": "apiKey", "in": "header", "name": header, "description": description}),
            );
        }
    }
}

/// Replaces the shared `ApiError` statuses with the operation's own, from [`answers`]. Success
/// responses (1xx–3xx) stay as derived. An operation missing from the table keeps nothing but
/// its successes, and `every_operation_has_its_answers` fails.
fn set_error_responses(operation: &mut Map<String, Value>, problem: &Value) {
    let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let has_body = operation.contains_key("requestBody");
    // A string path segment or query value is request text: a control character in it is 422.
    let has_text_params = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|params| params.iter().any(|p| p["in"] != "header" && p["schema"]["type"] == "string"));
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { return };
    responses.retain(|status, _| !(status.starts_with('4') || status.starts_with('5') || status == "default"));
    for (status, description) in answers(&id, has_body, has_text_params).unwrap_or_default() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Carts will rely on this: a listed operation accepts the guest token as an alternative,
    /// and its scheme is declared; an unused scheme is not (a lint warning otherwise).
    #[test]
    fn guest_token_operations_get_the_scheme_as_an_alternative() {
        let raw = json!({"components": {"securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer"}}},
            "paths": {"/carts/{id}": {"get": {"operationId": "getCart", "responses": {"200": {"description": "ok"}},
                "security": [{"BearerAuth": []}]}}}});
        let doc = process_with(&raw.to_string(), &[("getCart", "CartToken")]);
        let security = &doc["paths"]["/carts/{id}"]["get"]["security"];
        assert_eq!(security, &json!([{"BearerAuth": []}, {"CartToken": []}]));
        assert_eq!(doc["components"]["securitySchemes"]["CartToken"]["name"], "X-Cart-Token");
        assert!(doc["components"]["securitySchemes"].get("OrderToken").is_none());
    }
}
