//! Request strings: NUL is refused everywhere, other control characters in single-line fields
//! (body fields, path segments, query values), while descriptions keep newlines and tabs and
//! passwords keep everything but NUL. A refusal is 422 `validation_failed` naming the field;
//! a bad cursor stays 400 `invalid_cursor`. These ran into PostgreSQL as 500s before.

use serde_json::{Value, json};

use crate::{helpers::*, products::simple_product};

#[track_caller]
fn assert_field_refused(response: &TestResponse, field: &str) {
    response.assert_problem(422, "validation_failed");
    let fields: Vec<&str> =
        response.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, [field], "{}", response.text);
}

/// Guards: a NUL in the login or reset email was a 500 on PostgreSQL (the query failed).
#[tokio::test]
async fn nul_in_login_and_reset_emails_is_422_naming_the_field() {
    let app = spawn_app().await;
    let login = app.login("a\u{0}b@example.com", &password()).await;
    assert_field_refused(&login, "email");
    let reset = app.post("/api/v1/auth/password-reset", None, json!({"email": "a\u{0}b@example.com"})).await;
    assert_field_refused(&reset, "email");
    let register = app.register("tab\tin@example.com", &password()).await;
    assert_field_refused(&register, "email");
}

/// Guards: passwords are hashed, never shown, so only NUL is refused; a tab or escape is kept.
#[tokio::test]
async fn passwords_keep_every_character_but_nul() {
    let app = spawn_app().await;
    let email = unique_email("pw");
    let odd = format!("{}\t\u{1b}", password());
    assert_eq!(app.register(&email, &odd).await.status, 201);
    assert_eq!(app.login(&email, &odd).await.status, 200);
    assert_field_refused(&app.login(&email, "pw\u{0}-long-enough").await, "password");
}

/// Guards: a NUL in a SKU reached PostgreSQL (500); control characters in names were stored.
#[tokio::test]
async fn control_characters_in_catalog_body_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let post = |body: Value| {
        let (app, token) = (&app, staff.access.clone());
        async move { app.post("/api/v1/admin/products", Some(&token), body).await }
    };
    assert_field_refused(&post(json!({"name": "Lamp", "price": 100, "sku": "A\u{0}B"})).await, "sku");
    assert_field_refused(&post(json!({"name": "Lamp\tshade", "price": 100, "sku": "LAMP-1"})).await, "name");
    let nested = json!({"name": "Lamp", "options": [{"name": "Size", "values": ["M"]}],
        "variants": [{"sku": "LAMP-M\u{1b}", "price": 100, "options": {"Size": "M"}}]});
    assert_field_refused(&post(nested).await, "variants[0].sku");
    // A NUL in an option name (a map key, a plain string) is refused before any parsing.
    let key = json!({"name": "Lamp", "options": [{"name": "Size", "values": ["M"]}],
        "variants": [{"sku": "LAMP-M", "price": 100, "options": {"Si\u{0}ze": "M"}}]});
    assert_field_refused(&post(key).await, "variants[0].options.Si\u{0}ze");

    // Descriptions are multi-line: newlines and tabs stay, other control characters do not.
    let text = "Line one\r\n\tLine two";
    let created = post(json!({"name": "Lamp", "price": 100, "sku": "LAMP-2", "description": text})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["description"], text);
    let bell = post(json!({"name": "Lamp", "price": 100, "sku": "LAMP-3", "description": "ding\u{7}"})).await;
    assert_field_refused(&bell, "description");
    let nul = post(json!({"name": "Lamp", "price": 100, "sku": "LAMP-4", "description": "a\u{0}"})).await;
    assert_field_refused(&nul, "description");
}

/// Guards: a NUL in a category slug in the path, or an id, was a 500 on PostgreSQL.
#[tokio::test]
async fn control_characters_in_path_segments_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    assert_field_refused(&app.get("/api/v1/categories/lamps%00", None).await, "id_or_slug");
    assert_field_refused(&app.get("/api/v1/products/lamp%0A", None).await, "id_or_slug");
    assert_field_refused(&app.get("/api/v1/admin/products/prod_1%00", Some(&staff.access)).await, "id");
    let patch = app.patch("/api/v1/admin/categories/cat%00", Some(&staff.access), json!({"name": "X"})).await;
    assert_field_refused(&patch, "id");
    let slug = app.post("/api/v1/admin/categories", Some(&staff.access), json!({"name": "X", "slug": "a\u{0}"})).await;
    assert_field_refused(&slug, "slug");
}

/// Guards: query values with NUL reached the database; a bad cursor keeps its own code.
#[tokio::test]
async fn control_characters_in_query_values_are_422_but_a_bad_cursor_stays_400() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    assert_field_refused(&app.get("/api/v1/products?q=lamp%00", None).await, "q");
    assert_field_refused(&app.get("/api/v1/products?category=a%09b", None).await, "category");
    assert_field_refused(&app.get("/api/v1/admin/categories?parent_id=%00", Some(&staff.access)).await, "parent_id");
    app.get("/api/v1/products?cursor=%00", None).await.assert_problem(400, "invalid_cursor");
    let found = app.get("/api/v1/products?q=lamp", None).await;
    assert_eq!(found.body["items"].as_array().map(Vec::len), Some(1), "{}", found.text);
}
