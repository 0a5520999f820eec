//! The served OpenAPI document says what generated clients need (issue 9): plain
//! `application/json`, declared security on every operation, per-operation error statuses,
//! camelCase operation ids with summaries, ordered tags, and `/docs` showing the same document.
//! Also: a parameter that does not parse is answered with its name and allowed values, never a
//! Rust type name.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::*;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.body
}

/// `(path, method, operation)` for every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    all
}

/// Guards item 3: poem-openapi writes `application/json; charset=utf-8`, which
/// openapi-typescript's `JSONLike` does not match (typed bodies became `never`).
#[tokio::test]
async fn json_media_types_carry_no_charset() {
    let app = spawn_app().await;
    let text = app.get("/openapi.json", None).await.text;
    assert!(!text.contains("application/json; charset"), "a JSON media key keeps its charset");
    assert!(text.contains("\"application/json\""));
}

/// Guards item 2: public operations said nothing about security (13 redocly errors), no
/// operation listed a 4xx, and `info` had no license. (The guest-token schemes are unit-tested
/// in `engine/src/http/openapi.rs`; they appear once carts use them.)
#[tokio::test]
async fn every_operation_declares_its_security_a_4xx_and_the_document_a_license() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (path, method, operation) in operations(&doc) {
        let security = operation["security"].as_array().unwrap_or_else(|| panic!("{method} {path}: no security"));
        let protected = path.starts_with("/api/v1/me") || path.starts_with("/api/v1/admin") || path == "/api/v1/orders";
        if path.starts_with("/api/v1/orders/") {
            let expected = serde_json::json!([{"BearerAuth": []}, {"OrderToken": []}]);
            assert_eq!(serde_json::json!(security), expected, "{method} {path}: the owner's bearer or order token");
        } else if path.starts_with("/api/v1/carts/") || path == "/api/v1/checkout" {
            let expected = serde_json::json!([{"BearerAuth": []}, {"CartToken": []}]);
            assert_eq!(serde_json::json!(security), expected, "{method} {path}: the owner's bearer or cart token");
        } else if path == "/api/v1/carts" {
            let expected = serde_json::json!([{}, {"BearerAuth": []}]);
            assert_eq!(serde_json::json!(security), expected, "{method} {path}: a guest, or a customer");
        } else if protected {
            assert_eq!(security, &vec![serde_json::json!({"BearerAuth": []})], "{method} {path}");
        } else {
            assert!(security.is_empty(), "{method} {path} is public: {security:?}");
        }
        let has_4xx = operation["responses"].as_object().expect("responses").keys().any(|s| s.starts_with('4'));
        assert!(has_4xx, "{method} {path} documents no 4xx");
    }
    assert_eq!(doc["info"]["license"]["name"], "Apache-2.0");
}

/// Guards item 5: every operation listed the same twelve error statuses (a `GET /categories`
/// "could" answer 409 or 502) and none listed the 415 every body operation can answer.
#[tokio::test]
async fn operations_list_their_own_statuses_and_body_operations_list_415() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let statuses = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["responses"].as_object().expect("responses").keys().cloned().collect()
    };
    for (path, method, operation) in operations(&doc) {
        let documented: BTreeSet<String> = operation["responses"].as_object().unwrap().keys().cloned().collect();
        assert!(!documented.contains("500") && !documented.contains("default"), "{method} {path}: {documented:?}");
        // A gateway's webhook is taken as raw bytes of any media type (signatures are over them).
        let raw_body = operation["operationId"] == "receiveWebhook";
        if operation.get("requestBody").is_some() && !raw_body {
            assert!(documented.contains("415"), "{method} {path} takes a body but documents no 415");
        }
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            commerce_engine::http::openapi::answers(id, false, false).is_some(),
            "{method} {path} ({id}) is missing from the status table in engine/src/http/openapi/answers.rs"
        );
    }
    let set = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    // Cacheable storefront reads answer 304 to a matching `If-None-Match`.
    assert_eq!(statuses("/api/v1/categories", "get"), set(&["200", "304", "413", "503"]));
    assert_eq!(statuses("/api/v1/products/{id_or_slug}", "get"), set(&["200", "304", "404", "413", "422", "503"]));
    assert_eq!(
        statuses("/api/v1/auth/login", "post"),
        set(&["200", "400", "401", "403", "413", "415", "422", "429", "503"])
    );
    let conflict = &doc["paths"]["/api/v1/admin/categories/{id}"]["delete"]["responses"]["409"];
    assert!(conflict["description"].as_str().unwrap_or("").contains("category_not_empty"), "{conflict}");
}

/// Guards item 6: snake_case ids (`products_list`) became method names such as
/// `products_list()`; tags were Rust identifiers in alphabetical order.
#[tokio::test]
async fn operations_have_camel_case_ids_and_summaries_and_tags_put_the_storefront_first() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut ids = BTreeSet::new();
    for (path, method, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {path}: operationId {id:?} is not camelCase"
        );
        assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        assert!(!operation["summary"].as_str().unwrap_or("").is_empty(), "{method} {path} has no summary");
        assert_eq!(operation["tags"].as_array().map(Vec::len), Some(1), "{method} {path}: one tag");
    }
    assert_eq!(doc["paths"]["/api/v1/products"]["get"]["operationId"], "listProducts");
    assert_eq!(doc["paths"]["/api/v1/products/{id_or_slug}"]["get"]["operationId"], "getProduct");
    assert_eq!(doc["paths"]["/api/v1/admin/products"]["post"]["operationId"], "adminCreateProduct");
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(tags, commerce_engine::http::openapi::TAG_ORDER);
    for tag in doc["tags"].as_array().unwrap() {
        assert!(!tag["description"].as_str().unwrap_or("").is_empty(), "tag {tag} has no description");
    }
}

/// Guards items 1 and 7: `next_cursor` was optional and non-nullable while the server sends
/// `null`; the main schemas had no examples.
#[tokio::test]
async fn nullable_response_fields_are_required_and_main_schemas_have_examples() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let card = &schemas["ProductCard"];
    let required: Vec<&str> = card["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for field in ["id", "slug", "name", "min_price", "max_price", "currency", "image", "in_stock", "default_variant_id"]
    {
        assert!(required.contains(&field), "ProductCard.{field} is not required: {card}");
    }
    assert_eq!(card["properties"]["default_variant_id"]["nullable"], true);
    assert_eq!(card["properties"]["image"]["nullable"], true);
    assert_eq!(card["properties"]["image"]["type"], "object", "nullable needs a sibling type");
    assert_eq!(schemas["ProductCardList"]["properties"]["next_cursor"]["nullable"], true);
    for name in ["ProductCard", "Product", "Problem"] {
        assert!(schemas[name]["example"].is_object(), "{name} has no example");
    }
    // Request bodies keep optional fields optional.
    let create = &schemas["CategoryCreate"];
    assert_eq!(create["required"], serde_json::json!(["name"]), "{create}");
}

/// Guards item 1's other half: `/docs` embedded poem-openapi's unprocessed copy of the document.
#[tokio::test]
async fn docs_show_the_served_document() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json", None).await.text;
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains(&served), "the docs page does not embed the served document");
    assert!(!docs.text.contains("application/json; charset=utf-8\""), "the docs page shows the raw document");
}

/// Guards item 4: `?sort=bogus` answered `failed to parse "SortDto": Expect a valid enumeration
/// value. (occurred while parsing "optional_SortDto")`.
#[tokio::test]
async fn a_bad_enum_parameter_names_the_parameter_and_its_values_not_a_rust_type() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/products?sort=bogus", None).await;

    response.assert_problem(400, "bad_request");
    assert_eq!(response.body["detail"], "sort: must be one of newest, price_asc, price_desc, name, relevance");
}

/// Guards item 4 for the other typed parameters: integers, booleans and staff enums.
#[tokio::test]
async fn bad_typed_parameters_are_described_without_type_names() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let cases = [
        ("/api/v1/products?limit=ten", None, "limit: must be an integer"),
        ("/api/v1/products?min_price=1.5", None, "min_price: must be an integer"),
        ("/api/v1/products?in_stock=maybe", None, "in_stock: must be true or false"),
        ("/api/v1/admin/products?status=gone", Some(&staff.access), "status: must be one of draft, active, archived"),
        ("/api/v1/admin/customers?role=boss", Some(&staff.access), "role: must be one of customer, staff, admin"),
        ("/api/v1/me/addresses?limit=-", Some(&staff.access), "limit: must be an integer"),
    ];
    for (path, token, detail) in cases {
        let response = app.get(path, token.map(String::as_str)).await;
        response.assert_problem(400, "bad_request");
        assert_eq!(response.body["detail"], detail, "{path}");
        for leak in ["Dto", "optional_", "failed to parse", "int64", "integer("] {
            assert!(!response.text.contains(leak), "{path}: {leak} in {}", response.text);
        }
    }
}

/// A body that does not parse names no Rust type either.
#[tokio::test]
async fn a_bad_body_names_no_rust_type() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let response = app
        .post("/api/v1/admin/products", Some(&staff.access), serde_json::json!({"name": "X", "status": "gone"}))
        .await;

    response.assert_problem(400, "bad_request");
    assert_eq!(response.body["detail"], "invalid body: expected one of draft, active, archived, found \"gone\"");
    for leak in ["Dto", "ProductCreate", "optional_", "failed to parse"] {
        assert!(!response.text.contains(leak), "{leak} in {}", response.text);
    }
    let missing = app.post("/api/v1/auth/login", None, serde_json::json!({"email": "a@example.com"})).await;
    missing.assert_problem(400, "bad_request");
    // A missing `Text` field reads as null (`expected a string, found null`); the wording is the
    // input type's, the point here is that no Rust type is named.
    let detail = missing.body["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("invalid body: ") && !detail.contains("Request"), "{detail}");
}
