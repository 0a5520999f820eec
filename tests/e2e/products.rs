//! `/api/v1/products/{id_or_slug}` and `/api/v1/admin/{products,variants}*`: creation with
//! options and variants (or the simple shorthand), slugs, SKUs, combinations and the validation
//! around them, variant management and its effect on the price range, product updates, archive
//! and draft visibility, the product page, and the staff guards.
//!
//! The product-building helpers here are shared with `listing.rs` and `stock.rs`.

use serde_json::{Value, json};

use crate::helpers::*;

pub const ADMIN_PRODUCTS: &str = "/api/v1/admin/products";
pub const PRODUCTS: &str = "/api/v1/products";

/// A SKU no other test product uses.
pub fn sku(tag: &str) -> String {
    format!("{tag}-{}", ulid::Ulid::new())
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}")).to_owned()
}

/// `POST /api/v1/admin/products`, expecting 201; the created product (staff shape).
pub async fn create_product(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post(ADMIN_PRODUCTS, Some(token), body).await;
    assert_eq!(response.status, 201, "create product: {}", response.text);
    response.body
}

/// A product without options: one default variant from `price`, `sku` and `stock`.
pub async fn simple_product(app: &TestApp, token: &str, name: &str, price: i64, stock: i64) -> Value {
    create_product(app, token, json!({"name": name, "price": price, "sku": sku("SIMPLE"), "stock": stock})).await
}

/// Waits past the current millisecond, so the next id (a ULID) sorts after the previous one:
/// tests that check "newest first" create their products with a tick in between.
pub async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
}

/// `POST /api/v1/admin/categories`, expecting 201.
pub async fn create_category(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/admin/categories", Some(token), body).await;
    assert_eq!(response.status, 201, "create category: {}", response.text);
    response.body
}

/// `GET /api/v1/admin/products/{id}`, expecting 200.
pub async fn admin_product(app: &TestApp, token: &str, product_id: &str) -> Value {
    let response = app.get(&format!("{ADMIN_PRODUCTS}/{product_id}"), Some(token)).await;
    assert_eq!(response.status, 200, "admin product: {}", response.text);
    response.body
}

pub async fn patch_variant(app: &TestApp, token: &str, variant_id: &str, body: Value) -> TestResponse {
    app.patch(&format!("/api/v1/admin/variants/{variant_id}"), Some(token), body).await
}

pub async fn add_variant(app: &TestApp, token: &str, product_id: &str, body: Value) -> TestResponse {
    app.post(&format!("{ADMIN_PRODUCTS}/{product_id}/variants"), Some(token), body).await
}

/// The storefront list's cards (no filters, up to 100).
pub async fn storefront_cards(app: &TestApp) -> Vec<Value> {
    let response = app.get(&format!("{PRODUCTS}?limit=100"), None).await;
    assert_eq!(response.status, 200, "list: {}", response.text);
    response.body["items"].as_array().expect("items").clone()
}

/// The storefront card of one product, if listed.
pub async fn card_of(app: &TestApp, product_id: &str) -> Option<Value> {
    storefront_cards(app).await.into_iter().find(|c| c["id"] == product_id)
}

/// A T-shirt with Size (S, M, L) and Colour (Red, Blue) and two variants: M / Red at 49900 with
/// 5 in stock, L / Blue at 59900 (compare at 69900) with none.
fn tee_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Soft cotton.",
        "options": [
            {"name": "Size", "values": ["S", "M", "L"]},
            {"name": "Colour", "values": ["Red", "Blue"]}
        ],
        "variants": [
            {"sku": sku("TEE-M-RED"), "price": 49900, "stock": 5, "options": {"size": "m", "COLOUR": "red"}},
            {"sku": sku("TEE-L-BLUE"), "price": 59900, "compare_at_price": 69900, "stock": 0,
             "options": {"Colour": "Blue", "Size": "L"}}
        ]
    })
}

fn errors_mention(response: &TestResponse, field: &str) -> bool {
    response.body["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["field"].as_str().is_some_and(|f| f.contains(field))))
}

#[track_caller]
fn assert_invalid(response: &TestResponse, field: &str) {
    response.assert_problem(422, "validation_failed");
    assert!(errors_mention(response, field), "errors[] should name `{field}`: {}", response.text);
}

async fn admin_list_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let response = app.get(&format!("{ADMIN_PRODUCTS}?limit=100{query}"), Some(token)).await;
    assert_eq!(response.status, 200, "admin list: {}", response.text);
    response.body["items"].as_array().expect("items").iter().map(id).collect()
}

// ---- creation ------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_product_with_options_and_variants_titles_each_variant_by_its_canonical_values() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let body = tee_body("Classic Tee");
    let (sku_m, sku_l) = (body["variants"][0]["sku"].clone(), body["variants"][1]["sku"].clone());

    let response = app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await;

    assert_eq!(response.status, 201, "{}", response.text);
    let p = &response.body;
    assert!(p["id"].as_str().unwrap().starts_with("prod_"), "{p}");
    assert_eq!(p["slug"], "classic-tee");
    assert_eq!(p["status"], "active");
    assert_eq!(p["currency"], "INR");
    assert_eq!(p["description"], "Soft cotton.");
    assert_eq!(
        p["options"],
        json!([{"name": "Size", "values": ["S", "M", "L"]}, {"name": "Colour", "values": ["Red", "Blue"]}])
    );
    let variants = p["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let (m, l) = (&variants[0], &variants[1]);
    assert!(m["id"].as_str().unwrap().starts_with("var_"), "{m}");
    assert_eq!(m["title"], "M / Red", "the option's own spelling, in option order");
    assert_eq!(m["options"], json!([{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Red"}]));
    assert_eq!(m["sku"], sku_m);
    assert_eq!(m["price"], 49900);
    assert_eq!(m["compare_at_price"], Value::Null);
    assert_eq!(m["stock"], 5);
    assert_eq!(m["in_stock"], true);
    assert_eq!(m["product_id"], p["id"]);
    assert_eq!(l["title"], "L / Blue");
    assert_eq!(l["sku"], sku_l);
    assert_eq!(l["compare_at_price"], 69900);
    assert_eq!(l["stock"], 0);
    assert_eq!(l["in_stock"], false);
    assert_eq!(p["min_price"], 49900);
    assert_eq!(p["max_price"], 59900);
    assert_eq!(p["default_variant_id"], m["id"]);

    // The storefront sees the same variants.
    let page = app.get(&format!("{PRODUCTS}/classic-tee"), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let titles: Vec<&str> =
        page.body["variants"].as_array().unwrap().iter().map(|v| v["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["M / Red", "L / Blue"]);
}

#[tokio::test]
async fn the_currency_of_a_product_is_the_stores_currency() {
    let app = spawn_app_with(|c| c.store.currency = "EUR".parse().expect("a currency code")).await;
    let staff = app.staff().await;

    let product = simple_product(&app, &staff.access, "Mug", 1200, 3).await;

    assert_eq!(product["currency"], "EUR");
    assert_eq!(product["variants"][0]["currency"], "EUR");
    assert_eq!(card_of(&app, &id(&product)).await.unwrap()["currency"], "EUR");
}

#[tokio::test]
async fn a_simple_product_from_price_sku_and_stock_has_exactly_one_default_variant() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let code = sku("MUG");

    let product = create_product(
        &app,
        &staff.access,
        json!({"name": "Enamel Mug", "price": 34900, "compare_at_price": 39900, "sku": code, "stock": 7}),
    )
    .await;

    assert_eq!(product["options"], json!([]));
    let variants = product["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 1, "{product}");
    let v = &variants[0];
    assert_eq!(v["sku"], code.as_str());
    assert_eq!(v["price"], 34900);
    assert_eq!(v["compare_at_price"], 39900);
    assert_eq!(v["stock"], 7);
    assert_eq!(v["title"], "");
    assert_eq!(v["options"], json!([]));
    assert_eq!(product["default_variant_id"], v["id"]);
    assert_eq!(product["min_price"], 34900);
    assert_eq!(product["max_price"], 34900);

    // Stock may be omitted (0); price and sku may not.
    let no_stock =
        create_product(&app, &staff.access, json!({"name": "Spoon", "price": 100, "sku": sku("SPOON")})).await;
    assert_eq!(no_stock["variants"][0]["stock"], 0);
    let no_sku = app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "Fork", "price": 100, "stock": 1})).await;
    no_sku.assert_problem(422, "validation_failed");
    let no_price = app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "Knife", "sku": sku("K")})).await;
    no_price.assert_problem(422, "validation_failed");
    // Neither variants nor the shorthand: a product needs something to sell.
    let nothing = app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "Ghost"})).await;
    assert_invalid(&nothing, "variants");
}

#[tokio::test]
async fn status_defaults_to_active_and_can_be_given() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let default = simple_product(&app, &staff.access, "Default", 100, 1).await;
    let draft = create_product(
        &app,
        &staff.access,
        json!({"name": "Drafted", "status": "draft", "price": 100, "sku": sku("D"), "stock": 1}),
    )
    .await;

    assert_eq!(default["status"], "active");
    assert_eq!(draft["status"], "draft");
    let bad = app
        .post(
            ADMIN_PRODUCTS,
            Some(&staff.access),
            json!({"name": "X", "status": "deleted", "price": 1, "sku": sku("X")}),
        )
        .await;
    assert!(bad.status == 400 || bad.status == 422, "an unknown status is refused: {}", bad.text);
}

#[tokio::test]
async fn a_missing_slug_is_generated_from_the_name_and_made_unique() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let first = simple_product(&app, &staff.access, "Steel  Chair!", 100, 1).await;
    let second = simple_product(&app, &staff.access, "steel chair", 100, 1).await;
    let third = simple_product(&app, &staff.access, "Steel Chair", 100, 1).await;
    let accented = simple_product(&app, &staff.access, "Café Crème", 100, 1).await;
    let symbols = simple_product(&app, &staff.access, "★★★", 100, 1).await;

    assert_eq!(first["slug"], "steel-chair");
    assert_eq!(second["slug"], "steel-chair-2");
    assert_eq!(third["slug"], "steel-chair-3");
    assert_eq!(accented["slug"], "cafe-creme");
    let symbols_slug = symbols["slug"].as_str().unwrap();
    assert!(
        !symbols_slug.is_empty()
            && symbols_slug
                .split('-')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
        "a valid slug even without usable characters: {symbols_slug}"
    );
    // An explicit slug that looks like a generated one is respected; the generator skips it.
    create_product(&app, &staff.access, json!({"name": "Other", "slug": "lamp-2", "price": 1, "sku": sku("L")})).await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 100, 1).await;
    let lamp_again = simple_product(&app, &staff.access, "Lamp", 100, 1).await;
    assert_eq!(lamp["slug"], "lamp");
    assert_eq!(lamp_again["slug"], "lamp-3");
}

#[tokio::test]
async fn an_explicit_slug_that_is_taken_is_409_slug_taken() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    create_product(&app, &staff.access, json!({"name": "Chair", "slug": "the-chair", "price": 1, "sku": sku("C")}))
        .await;
    let other = simple_product(&app, &staff.access, "Table", 100, 1).await;

    let response = app
        .post(
            ADMIN_PRODUCTS,
            Some(&staff.access),
            json!({"name": "Another", "slug": "the-chair", "price": 1, "sku": sku("A")}),
        )
        .await;

    response.assert_problem(409, "slug_taken");
    app.patch(&format!("{ADMIN_PRODUCTS}/{}", id(&other)), Some(&staff.access), json!({"slug": "the-chair"}))
        .await
        .assert_problem(409, "slug_taken");
    assert_eq!(admin_product(&app, &staff.access, &id(&other)).await["slug"], "table");
    assert_eq!(admin_list_ids(&app, &staff.access, "").await.len(), 2, "the refused product was not created");
}

#[tokio::test]
async fn a_malformed_slug_is_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let product = simple_product(&app, &staff.access, "Table", 100, 1).await;

    for bad in
        ["Big-Table", "big--table", "-table", "table-", "big_table", "big table", "prod_01J", "", &"a".repeat(101)]
    {
        let create = app
            .post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "T", "slug": bad, "price": 1, "sku": sku("T")}))
            .await;
        assert_invalid(&create, "slug");
        let patch =
            app.patch(&format!("{ADMIN_PRODUCTS}/{}", id(&product)), Some(&staff.access), json!({"slug": bad})).await;
        assert_invalid(&patch, "slug");
    }
    assert_eq!(admin_product(&app, &staff.access, &id(&product)).await["slug"], "table");
}

#[tokio::test]
async fn a_taken_sku_is_409_sku_taken_within_a_product_and_across_products() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let taken = sku("TAKEN");
    let first =
        create_product(&app, &staff.access, json!({"name": "First", "price": 1, "sku": taken, "stock": 1})).await;
    let second = simple_product(&app, &staff.access, "Second", 100, 1).await;

    // Another product.
    app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "Copy", "price": 1, "sku": taken}))
        .await
        .assert_problem(409, "sku_taken");
    // Two variants of one new product.
    let twice = sku("TWICE");
    let body = json!({
        "name": "Twice",
        "options": [{"name": "Size", "values": ["S", "M"]}],
        "variants": [
            {"sku": twice, "price": 1, "options": {"Size": "S"}},
            {"sku": twice, "price": 1, "options": {"Size": "M"}}
        ]
    });
    app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await.assert_problem(409, "sku_taken");
    // A new variant, and an existing variant renamed to it.
    let shirt = create_product(
        &app,
        &staff.access,
        json!({"name": "Shirt", "options": [{"name": "Size", "values": ["S", "M"]}],
               "variants": [{"sku": sku("SHIRT-S"), "price": 1, "options": {"Size": "S"}}]}),
    )
    .await;
    add_variant(&app, &staff.access, &id(&shirt), json!({"sku": taken, "price": 1, "options": {"Size": "M"}}))
        .await
        .assert_problem(409, "sku_taken");
    let second_variant = id(&second["variants"][0]);
    patch_variant(&app, &staff.access, &second_variant, json!({"sku": taken})).await.assert_problem(409, "sku_taken");

    // Nothing half-done: no extra products, the renamed variant keeps its SKU.
    assert_eq!(admin_list_ids(&app, &staff.access, "").await.len(), 3);
    assert_eq!(
        admin_product(&app, &staff.access, &id(&second)).await["variants"][0]["sku"],
        second["variants"][0]["sku"]
    );
    assert_eq!(admin_product(&app, &staff.access, &id(&shirt)).await["variants"].as_array().unwrap().len(), 1);
    assert_eq!(admin_product(&app, &staff.access, &id(&first)).await["variants"][0]["sku"], taken.as_str());
    // Setting a variant's SKU to its own SKU is not a conflict.
    let own = patch_variant(&app, &staff.access, &id(&first["variants"][0]), json!({"sku": taken})).await;
    assert_eq!(own.status, 200, "{}", own.text);
}

#[tokio::test]
async fn a_duplicate_option_combination_is_409_variant_exists() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    // In one request, differing only in case.
    let mut body = tee_body("Dupes");
    body["variants"][1]["options"] = json!({"Size": "M", "Colour": "RED"});
    app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await.assert_problem(409, "variant_exists");
    assert!(admin_list_ids(&app, &staff.access, "").await.is_empty(), "nothing was created");

    // Added later.
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": sku("T"), "price": 1, "options": {"Size": "m", "Colour": "Red"}}),
    )
    .await
    .assert_problem(409, "variant_exists");

    // A product without options has exactly one variant.
    let mug = simple_product(&app, &staff.access, "Mug", 100, 1).await;
    add_variant(&app, &staff.access, &id(&mug), json!({"sku": sku("MUG-2"), "price": 200}))
        .await
        .assert_problem(409, "variant_exists");
    assert_eq!(admin_product(&app, &staff.access, &id(&mug)).await["variants"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn option_values_that_do_not_match_the_products_options_are_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let mug = simple_product(&app, &staff.access, "Mug", 100, 1).await;
    let tee_variants = format!("{ADMIN_PRODUCTS}/{}/variants", id(&tee));

    for options in [
        json!({"Size": "XL", "Colour": "Red"}),               // not a value of Size
        json!({"Size": "S"}),                                 // Colour missing
        json!({"Size": "S", "Colour": "Red", "Fit": "Slim"}), // not an option of this product
        json!({}),                                            // nothing
    ] {
        let response = app
            .post(&tee_variants, Some(&staff.access), json!({"sku": sku("V"), "price": 1, "options": options}))
            .await;
        assert_invalid(&response, "options");
    }
    // Option values on a product without options.
    let response =
        add_variant(&app, &staff.access, &id(&mug), json!({"sku": sku("V"), "price": 1, "options": {"Size": "S"}}))
            .await;
    assert_invalid(&response, "options");
    // In a create request, and the shorthand on a product that has options.
    let mut body = tee_body("Bad");
    body["variants"][0]["options"] = json!({"Size": "M", "Colour": "Green"});
    assert_invalid(&app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await, "variants[0].options");
    let shorthand = json!({"name": "Bad", "options": [{"name": "Size", "values": ["S"]}], "price": 1, "sku": sku("B")});
    assert_invalid(&app.post(ADMIN_PRODUCTS, Some(&staff.access), shorthand).await, "options");
    // Options themselves: no values, duplicate values, duplicate names.
    for options in [
        json!([{"name": "Size", "values": []}]),
        json!([{"name": "Size", "values": ["S", "s"]}]),
        json!([{"name": "Size", "values": ["S"]}, {"name": "size", "values": ["M"]}]),
    ] {
        let body = json!({"name": "Bad", "options": options, "variants": [{"sku": sku("B"), "price": 1, "options": {"Size": "S"}}]});
        assert_invalid(&app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await, "options");
    }
    assert_eq!(admin_product(&app, &staff.access, &id(&tee)).await["variants"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn negative_prices_and_stock_are_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 100, 1).await;
    let variant = id(&mug["variants"][0]);

    for (body, field) in [
        (json!({"name": "A", "price": -1, "sku": sku("A"), "stock": 1}), "price"),
        (json!({"name": "A", "price": 1, "sku": sku("A"), "stock": -1}), "stock"),
        (json!({"name": "A", "price": 1, "compare_at_price": -5, "sku": sku("A")}), "compare_at_price"),
        (json!({"name": "A", "variants": [{"sku": sku("A"), "price": -100}]}), "variants[0].price"),
        (json!({"name": "A", "variants": [{"sku": sku("A"), "price": 1, "stock": -3}]}), "variants[0].stock"),
    ] {
        assert_invalid(&app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await, field);
    }
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let response = add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": sku("T"), "price": -1, "options": {"Size": "S", "Colour": "Red"}}),
    )
    .await;
    assert_invalid(&response, "price");
    for (body, field) in [
        (json!({"price": -1}), "price"),
        (json!({"compare_at_price": -1}), "compare_at_price"),
        (json!({"stock": -1}), "stock"),
    ] {
        assert_invalid(&patch_variant(&app, &staff.access, &variant, body).await, field);
    }
    let unchanged = admin_product(&app, &staff.access, &id(&mug)).await;
    assert_eq!(unchanged["variants"][0]["price"], 100);
    assert_eq!(unchanged["variants"][0]["stock"], 1);
    assert_eq!(admin_list_ids(&app, &staff.access, "").await.len(), 2);
}

#[tokio::test]
async fn a_product_without_a_name_is_400_and_a_blank_name_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"price": 1, "sku": sku("N")}))
        .await
        .assert_problem(400, "bad_request");
    // Wrong types, numbers and booleans in string fields included (never coerced).
    for name in [json!(null), json!(["Mug"]), json!({"en": "Mug"}), json!(5), json!(true)] {
        app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": name, "price": 1, "sku": sku("N")}))
            .await
            .assert_problem(400, "bad_request");
    }
    app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "Mug", "price": "1", "sku": sku("N")}))
        .await
        .assert_problem(400, "bad_request");
    assert_invalid(
        &app.post(ADMIN_PRODUCTS, Some(&staff.access), json!({"name": "   ", "price": 1, "sku": sku("N")})).await,
        "name",
    );
    assert!(admin_list_ids(&app, &staff.access, "").await.is_empty());
}

#[tokio::test]
async fn numbers_and_booleans_in_string_fields_are_400_not_coerced() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 100, 1).await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;

    for body in [
        json!({"name": "A", "price": 1, "sku": 12345}),
        json!({"name": "A", "price": 1, "sku": sku("A"), "slug": 7}),
        json!({"name": "A", "price": 1, "sku": sku("A"), "description": false}),
        json!({"name": "A", "price": 1, "sku": sku("A"), "category_id": 1}),
        json!({"name": "A", "price": 1, "sku": sku("A"), "images": [{"url": 1}]}),
        json!({"name": "A", "price": 1, "sku": sku("A"), "images": [{"url": "https://img.example.com/a.jpg", "alt": 2}]}),
        json!({"name": "A", "options": [{"name": 1, "values": ["S"]}], "variants": [{"sku": sku("A"), "price": 1, "options": {"1": "S"}}]}),
        json!({"name": "A", "options": [{"name": "Size", "values": [38]}], "variants": [{"sku": sku("A"), "price": 1, "options": {"Size": 38}}]}),
        json!({"name": "A", "variants": [{"sku": 99, "price": 1}]}),
    ] {
        let response = app.post(ADMIN_PRODUCTS, Some(&staff.access), body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        assert_eq!(response.code(), "bad_request", "{body}: {}", response.text);
    }
    let path = format!("{ADMIN_PRODUCTS}/{}", id(&mug));
    for body in [json!({"name": 5}), json!({"slug": 1}), json!({"description": true}), json!({"category_id": 3})] {
        app.patch(&path, Some(&staff.access), body).await.assert_problem(400, "bad_request");
    }
    add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": 1, "price": 1, "options": {"Size": "S", "Colour": "Red"}}),
    )
    .await
    .assert_problem(400, "bad_request");
    add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": sku("T"), "price": 1, "options": {"Size": "S", "Colour": 1}}),
    )
    .await
    .assert_problem(400, "bad_request");
    patch_variant(&app, &staff.access, &id(&mug["variants"][0]), json!({"sku": 12345}))
        .await
        .assert_problem(400, "bad_request");

    assert_eq!(admin_list_ids(&app, &staff.access, "").await.len(), 2, "nothing was created");
    let unchanged = admin_product(&app, &staff.access, &id(&mug)).await;
    assert_eq!(unchanged["name"], "Mug");
    assert_eq!(unchanged["variants"][0]["sku"], mug["variants"][0]["sku"]);
    assert_eq!(admin_product(&app, &staff.access, &id(&tee)).await["variants"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn variants_and_the_simple_shorthand_together_are_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let body = json!({
        "name": "Both",
        "price": 100,
        "sku": sku("BOTH"),
        "stock": 1,
        "variants": [{"sku": sku("BOTH-V"), "price": 100}]
    });

    assert_invalid(&app.post(ADMIN_PRODUCTS, Some(&staff.access), body).await, "variants");
    assert!(admin_list_ids(&app, &staff.access, "").await.is_empty());
}

#[tokio::test]
async fn an_unknown_category_id_is_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let product = simple_product(&app, &staff.access, "Mug", 100, 1).await;

    let create = app
        .post(
            ADMIN_PRODUCTS,
            Some(&staff.access),
            json!({"name": "Lost", "category_id": "cat_01JZZZZZZZZZZZZZZZZZZZZZZZ", "price": 1, "sku": sku("L")}),
        )
        .await;
    assert_invalid(&create, "category_id");
    let patch = app
        .patch(&format!("{ADMIN_PRODUCTS}/{}", id(&product)), Some(&staff.access), json!({"category_id": "nope"}))
        .await;
    assert_invalid(&patch, "category_id");
    assert_eq!(admin_product(&app, &staff.access, &id(&product)).await["category_id"], Value::Null);
    assert_eq!(admin_list_ids(&app, &staff.access, "").await.len(), 1);
}

// ---- variants ------------------------------------------------------------------------------

#[tokio::test]
async fn adding_a_variant_returns_201_and_widens_the_price_range() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let code = sku("TEE-S-BLUE");

    let response = add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": code, "price": 39900, "compare_at_price": 44900, "stock": 2, "options": {"colour": "BLUE", "size": "s"}}),
    )
    .await;

    assert_eq!(response.status, 201, "{}", response.text);
    let v = &response.body;
    assert!(v["id"].as_str().unwrap().starts_with("var_"));
    assert_eq!(v["product_id"], tee["id"]);
    assert_eq!(v["sku"], code.as_str());
    assert_eq!(v["title"], "S / Blue");
    assert_eq!(v["options"], json!([{"name": "Size", "value": "S"}, {"name": "Colour", "value": "Blue"}]));
    assert_eq!(v["price"], 39900);
    assert_eq!(v["compare_at_price"], 44900);
    assert_eq!(v["stock"], 2);
    let card = card_of(&app, &id(&tee)).await.unwrap();
    assert_eq!((card["min_price"].clone(), card["max_price"].clone()), (json!(39900), json!(59900)));
    let page = app.get(&format!("{PRODUCTS}/{}", tee["slug"].as_str().unwrap()), None).await;
    assert_eq!(page.body["variants"].as_array().unwrap().len(), 3);
    assert_eq!(page.body["variants"][2]["title"], "S / Blue", "new variants come last");
    // The default variant stays the first one.
    assert_eq!(card["default_variant_id"], tee["variants"][0]["id"]);
    // Unknown product.
    add_variant(&app, &staff.access, "prod_01JZZZZZZZZZZZZZZZZZZZZZZZ", json!({"sku": sku("X"), "price": 1}))
        .await
        .assert_problem(404, "not_found");
    // `sku` is required.
    add_variant(&app, &staff.access, &id(&tee), json!({"price": 1, "options": {"Size": "L", "Colour": "Red"}}))
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn updating_a_variants_price_sku_and_compare_at_price_moves_the_cards_price_range() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let (m, l) = (id(&tee["variants"][0]), id(&tee["variants"][1]));
    let new_sku = sku("RENAMED");

    let response =
        patch_variant(&app, &staff.access, &m, json!({"price": 79900, "sku": new_sku, "compare_at_price": 99900}))
            .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["price"], 79900);
    assert_eq!(response.body["sku"], new_sku.as_str());
    assert_eq!(response.body["compare_at_price"], 99900);
    assert_eq!(response.body["stock"], 5, "untouched fields stay");
    assert_eq!(response.body["title"], "M / Red");
    let card = card_of(&app, &id(&tee)).await.unwrap();
    assert_eq!((card["min_price"].clone(), card["max_price"].clone()), (json!(59900), json!(79900)));

    // Cheaper than everything: the minimum follows; compare_at_price can be cleared with null.
    let response = patch_variant(&app, &staff.access, &l, json!({"price": 100, "compare_at_price": null})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["compare_at_price"], Value::Null);
    let card = card_of(&app, &id(&tee)).await.unwrap();
    assert_eq!((card["min_price"].clone(), card["max_price"].clone()), (json!(100), json!(79900)));
    let page = app.get(&format!("{PRODUCTS}/{}", id(&tee)), None).await;
    assert_eq!(page.body["min_price"], 100);
    assert_eq!(page.body["max_price"], 79900);
    let detail = admin_product(&app, &staff.access, &id(&tee)).await;
    assert_eq!(detail["variants"][0]["sku"], new_sku.as_str());
    assert_eq!(detail["variants"][1]["compare_at_price"], Value::Null);
    // The old SKU is free again.
    let old_sku = tee["variants"][0]["sku"].as_str().unwrap();
    create_product(&app, &staff.access, json!({"name": "Reuse", "price": 1, "sku": old_sku})).await;
    // Unknown variant.
    patch_variant(&app, &staff.access, "var_01JZZZZZZZZZZZZZZZZZZZZZZZ", json!({"price": 1}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn removing_a_variant_hides_it_frees_its_sku_and_raises_the_minimum_price() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let (cheap, dear) = (&tee["variants"][0], &tee["variants"][1]);
    let cheap_sku = cheap["sku"].as_str().unwrap().to_owned();

    let response = app.delete(&format!("/api/v1/admin/variants/{}", id(cheap)), Some(&staff.access)).await;

    assert_eq!(response.status, 204, "{}", response.text);
    let page = app.get(&format!("{PRODUCTS}/tee"), None).await;
    let ids: Vec<&Value> = page.body["variants"].as_array().unwrap().iter().map(|v| &v["id"]).collect();
    assert_eq!(ids, [&dear["id"]], "the product page no longer shows it");
    assert!(!page.text.contains(&cheap_sku));
    let card = card_of(&app, &id(&tee)).await.unwrap();
    assert_eq!(card["min_price"], 59900, "the cheapest variant is gone");
    assert_eq!(card["max_price"], 59900);
    assert_eq!(card["default_variant_id"], dear["id"], "the default moves to a live variant");
    assert_eq!(card["in_stock"], false, "the removed variant's stock no longer counts");
    let admin = admin_product(&app, &staff.access, &id(&tee)).await;
    assert_eq!(admin["variants"].as_array().unwrap().len(), 1);

    // Gone for staff as well.
    app.delete(&format!("/api/v1/admin/variants/{}", id(cheap)), Some(&staff.access))
        .await
        .assert_problem(404, "not_found");
    patch_variant(&app, &staff.access, &id(cheap), json!({"price": 1})).await.assert_problem(404, "not_found");
    // Its SKU and its combination can be used again.
    let again = add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": cheap_sku, "price": 45000, "stock": 1, "options": {"Size": "M", "Colour": "Red"}}),
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_ne!(again.body["id"], cheap["id"]);
    let card = card_of(&app, &id(&tee)).await.unwrap();
    assert_eq!(card["min_price"], 45000);
    assert_eq!(card["in_stock"], true);
}

#[tokio::test]
async fn a_product_whose_last_variant_is_removed_leaves_the_storefront_list() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 100, 1).await;

    let response =
        app.delete(&format!("/api/v1/admin/variants/{}", id(&mug["variants"][0])), Some(&staff.access)).await;

    assert_eq!(response.status, 204, "{}", response.text);
    assert!(card_of(&app, &id(&mug)).await.is_none(), "nothing to sell");
    let admin = admin_product(&app, &staff.access, &id(&mug)).await;
    assert_eq!(admin["variants"], json!([]));
    assert_eq!(admin["min_price"], Value::Null);
    // A new variant brings it back.
    let again = add_variant(&app, &staff.access, &id(&mug), json!({"sku": sku("MUG"), "price": 300, "stock": 1})).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(card_of(&app, &id(&mug)).await.unwrap()["min_price"], 300);
}

// ---- product updates and visibility --------------------------------------------------------

#[tokio::test]
async fn patching_a_product_changes_name_slug_description_images_and_can_detach_the_category() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let category = create_category(&app, &staff.access, json!({"name": "Kitchen"})).await;
    let product = create_product(
        &app,
        &staff.access,
        json!({"name": "Mug", "category_id": id(&category), "description": "Old.", "price": 100, "sku": sku("M"), "stock": 1,
               "images": [{"url": "https://img.example.com/old.jpg", "alt": "old"}]}),
    )
    .await;
    assert_eq!(product["category_id"], category["id"]);
    let path = format!("{ADMIN_PRODUCTS}/{}", id(&product));

    let response = app
        .patch(
            &path,
            Some(&staff.access),
            json!({
                "name": "Enamel Mug",
                "slug": "enamel-mug",
                "description": "Blue rim.",
                "images": [{"url": "https://img.example.com/a.jpg", "alt": "front"}, {"url": "https://img.example.com/b.jpg"}],
                "category_id": null
            }),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let p = &response.body;
    assert_eq!(p["name"], "Enamel Mug");
    assert_eq!(p["slug"], "enamel-mug");
    assert_eq!(p["description"], "Blue rim.");
    assert_eq!(
        p["images"],
        json!([{"url": "https://img.example.com/a.jpg", "alt": "front"}, {"url": "https://img.example.com/b.jpg", "alt": ""}])
    );
    assert_eq!(p["category_id"], Value::Null);
    assert_eq!(p["status"], "active");
    assert_eq!(p["variants"].as_array().unwrap().len(), 1);
    // The storefront follows: new slug, old slug gone, first image on the card.
    let page = app.get(&format!("{PRODUCTS}/enamel-mug"), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.body["name"], "Enamel Mug");
    assert_eq!(page.body["category"], Value::Null);
    app.get(&format!("{PRODUCTS}/mug"), None).await.assert_problem(404, "not_found");
    let card = card_of(&app, &id(&product)).await.unwrap();
    assert_eq!(card["image"], json!({"url": "https://img.example.com/a.jpg", "alt": "front"}));
    assert_eq!(card["name"], "Enamel Mug");
    // Search follows the new name and description.
    for (q, found) in [("enamel", 1), ("rim", 1), ("old", 0)] {
        let search = app.get(&format!("{PRODUCTS}?q={q}"), None).await;
        assert_eq!(search.body["items"].as_array().unwrap().len(), found, "q={q}: {}", search.text);
    }

    // Absent fields stay; a category can be set again.
    let response = app.patch(&path, Some(&staff.access), json!({"category_id": id(&category)})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["category_id"], category["id"]);
    assert_eq!(response.body["name"], "Enamel Mug");
    assert_eq!(response.body["description"], "Blue rim.");
    assert_eq!(response.body["images"].as_array().unwrap().len(), 2);
    // Images must be http(s) URLs.
    let bad = app.patch(&path, Some(&staff.access), json!({"images": [{"url": "javascript:alert(1)"}]})).await;
    assert_invalid(&bad, "images");
    // Unknown product.
    app.patch(&format!("{ADMIN_PRODUCTS}/prod_01JZZZZZZZZZZZZZZZZZZZZZZZ"), Some(&staff.access), json!({"name": "X"}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn archived_and_draft_products_are_invisible_to_the_storefront_but_listed_for_staff() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let active = simple_product(&app, &staff.access, "Active Lamp", 100, 1).await;
    tick().await;
    let draft = create_product(
        &app,
        &staff.access,
        json!({"name": "Draft Lamp", "status": "draft", "price": 100, "sku": sku("D"), "stock": 1}),
    )
    .await;
    tick().await;
    let archived = simple_product(&app, &staff.access, "Archived Lamp", 100, 1).await;

    let response = app.delete(&format!("{ADMIN_PRODUCTS}/{}", id(&archived)), Some(&staff.access)).await;

    assert_eq!(response.status, 204, "{}", response.text);
    let listed: Vec<String> = storefront_cards(&app).await.iter().map(id).collect();
    assert_eq!(listed, [id(&active)]);
    let search = app.get(&format!("{PRODUCTS}?q=lamp"), None).await;
    assert_eq!(search.body["items"].as_array().unwrap().len(), 1, "{}", search.text);
    for hidden in [&draft, &archived] {
        for key in [id(hidden), hidden["slug"].as_str().unwrap().to_owned()] {
            app.get(&format!("{PRODUCTS}/{key}"), None).await.assert_problem(404, "not_found");
        }
    }
    assert_eq!(app.get(&format!("{PRODUCTS}/{}", id(&active)), None).await.status, 200);

    // Staff see everything, newest first, and can filter by status.
    assert_eq!(admin_list_ids(&app, &staff.access, "").await, [id(&archived), id(&draft), id(&active)]);
    assert_eq!(admin_list_ids(&app, &staff.access, "&status=draft").await, [id(&draft)]);
    assert_eq!(admin_list_ids(&app, &staff.access, "&status=archived").await, [id(&archived)]);
    assert_eq!(admin_list_ids(&app, &staff.access, "&status=active").await, [id(&active)]);
    let one = admin_product(&app, &staff.access, &id(&archived)).await;
    assert_eq!(one["status"], "archived");
    assert_eq!(admin_product(&app, &staff.access, &id(&draft)).await["status"], "draft");
    let listed = app.get(&format!("{ADMIN_PRODUCTS}?status=archived"), Some(&staff.access)).await;
    assert_eq!(listed.body["items"][0]["status"], "archived");

    // Publishing brings a product back.
    let published =
        app.patch(&format!("{ADMIN_PRODUCTS}/{}", id(&draft)), Some(&staff.access), json!({"status": "active"})).await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(app.get(&format!("{PRODUCTS}/draft-lamp"), None).await.status, 200);
    assert_eq!(storefront_cards(&app).await.len(), 2);
    // Archiving an unknown product is 404.
    app.delete(&format!("{ADMIN_PRODUCTS}/prod_01JZZZZZZZZZZZZZZZZZZZZZZZ"), Some(&staff.access))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_staff_list_pages_with_cursors_bound_to_the_status_filter() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(id(&simple_product(&app, &staff.access, &format!("P{i}"), 100, 1).await));
        tick().await;
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_deref().map_or(String::new(), |c| format!("&cursor={c}"));
        let response = app.get(&format!("{ADMIN_PRODUCTS}?limit=2{query}"), Some(&staff.access)).await;
        assert_eq!(response.status, 200, "{}", response.text);
        seen.extend(response.body["items"].as_array().unwrap().iter().map(id));
        match response.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);

    let first = app.get(&format!("{ADMIN_PRODUCTS}?limit=2"), Some(&staff.access)).await;
    let c = first.body["next_cursor"].as_str().unwrap();
    app.get(&format!("{ADMIN_PRODUCTS}?limit=2&status=active&cursor={c}"), Some(&staff.access))
        .await
        .assert_problem(400, "invalid_cursor");
    app.get(&format!("{ADMIN_PRODUCTS}?cursor=garbage"), Some(&staff.access))
        .await
        .assert_problem(400, "invalid_cursor");
    app.get(&format!("{ADMIN_PRODUCTS}?limit=0"), Some(&staff.access)).await.assert_problem(422, "validation_failed");
}

// ---- the product page ----------------------------------------------------------------------

#[tokio::test]
async fn a_product_page_by_id_or_slug_shows_variants_images_and_the_category_with_its_ancestors() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let apparel = create_category(&app, &staff.access, json!({"name": "Apparel"})).await;
    let tshirts = create_category(&app, &staff.access, json!({"name": "T-Shirts", "parent_id": id(&apparel)})).await;
    let graphic =
        create_category(&app, &staff.access, json!({"name": "Graphic Tees", "parent_id": id(&tshirts)})).await;
    let mut body = tee_body("Rocket Tee");
    body["category_id"] = json!(id(&graphic));
    body["images"] = json!([{"url": "https://img.example.com/rocket-1.jpg", "alt": "front"},
                             {"url": "https://img.example.com/rocket-2.jpg", "alt": "back"}]);
    let tee = create_product(&app, &staff.access, body).await;

    let by_slug = app.get(&format!("{PRODUCTS}/rocket-tee"), None).await;
    let by_id = app.get(&format!("{PRODUCTS}/{}", id(&tee)), None).await;

    assert_eq!(by_slug.status, 200, "{}", by_slug.text);
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    assert_eq!(by_slug.body, by_id.body);
    let p = &by_slug.body;
    assert_eq!(p["id"], tee["id"]);
    assert_eq!(p["name"], "Rocket Tee");
    assert_eq!(p["description"], "Soft cotton.");
    assert_eq!(p["currency"], "INR");
    assert_eq!(p["options"], tee["options"]);
    assert_eq!(p["images"][0], json!({"url": "https://img.example.com/rocket-1.jpg", "alt": "front"}));
    assert_eq!(p["images"][1]["alt"], "back");
    let variants = p["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["id"], tee["variants"][0]["id"]);
    assert_eq!(variants[0]["sku"], tee["variants"][0]["sku"]);
    assert_eq!(variants[0]["title"], "M / Red");
    assert_eq!(variants[0]["price"], 49900);
    assert_eq!(variants[0]["in_stock"], true);
    assert_eq!(variants[0]["options"], json!([{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Red"}]));
    assert_eq!(variants[1]["in_stock"], false);
    assert_eq!(variants[1]["compare_at_price"], 69900);
    for v in variants {
        assert!(v.get("stock").is_none(), "no stock levels on the storefront: {v}");
    }
    assert!(p.get("status").is_none() || p["status"] == "active", "{p}");
    // The category, with its ancestors root first.
    let category = &p["category"];
    assert_eq!(category["id"], graphic["id"]);
    assert_eq!(category["slug"], "graphic-tees");
    assert_eq!(category["name"], "Graphic Tees");
    let ancestors: Vec<&str> =
        category["ancestors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(ancestors, ["Apparel", "T-Shirts"]);
    assert_eq!(category["ancestors"][0]["id"], apparel["id"]);
    assert_eq!(category["ancestors"][1]["slug"], "t-shirts");

    // A root category has no ancestors; a product with no category has none.
    let mug = create_product(
        &app,
        &staff.access,
        json!({"name": "Mug", "category_id": id(&apparel), "price": 1, "sku": sku("M"), "stock": 0}),
    )
    .await;
    let page = app.get(&format!("{PRODUCTS}/{}", mug["slug"].as_str().unwrap()), None).await;
    assert_eq!(page.body["category"]["ancestors"], json!([]));
    assert_eq!(page.body["in_stock"], false);
    let bare = simple_product(&app, &staff.access, "Bare", 1, 1).await;
    let page = app.get(&format!("{PRODUCTS}/bare"), None).await;
    assert_eq!(page.body["category"], Value::Null);
    assert_eq!(page.body["images"], json!([]));
    assert_eq!(page.body["id"], bare["id"]);

    for missing in ["no-such-product", "prod_01JZZZZZZZZZZZZZZZZZZZZZZZ", "%27%20OR%201%3D1%20--"] {
        app.get(&format!("{PRODUCTS}/{missing}"), None).await.assert_problem(404, "not_found");
    }
}

// ---- staff guards --------------------------------------------------------------------------

#[tokio::test]
async fn every_admin_product_and_variant_route_needs_a_staff_token() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (_, _, customer) = app.customer().await;
    let product = simple_product(&app, &staff.access, "Guarded", 100, 5).await;
    let (product_id, variant_id) = (id(&product), id(&product["variants"][0]));
    let one = format!("{ADMIN_PRODUCTS}/{product_id}");
    let variants = format!("{one}/variants");
    let variant = format!("/api/v1/admin/variants/{variant_id}");
    let create = json!({"name": "Sneaky", "price": 1, "sku": sku("SNEAKY"), "stock": 1});
    let add = json!({"sku": sku("SNEAKY-V"), "price": 1});

    for (token, status, code) in [(None, 401, "unauthenticated"), (Some(customer.access.as_str()), 403, "forbidden")] {
        app.get(ADMIN_PRODUCTS, token).await.assert_problem(status, code);
        app.post(ADMIN_PRODUCTS, token, create.clone()).await.assert_problem(status, code);
        app.get(&one, token).await.assert_problem(status, code);
        app.patch(&one, token, json!({"name": "Hacked"})).await.assert_problem(status, code);
        app.delete(&one, token).await.assert_problem(status, code);
        app.post(&variants, token, add.clone()).await.assert_problem(status, code);
        app.patch(&variant, token, json!({"stock": 0})).await.assert_problem(status, code);
        app.patch(&variant, token, json!({"stock_adjustment": -1})).await.assert_problem(status, code);
        app.delete(&variant, token).await.assert_problem(status, code);
    }
    app.get(ADMIN_PRODUCTS, Some("not-a-jwt")).await.assert_problem(401, "unauthenticated");

    // Nothing changed.
    let after = admin_product(&app, &staff.access, &product_id).await;
    assert_eq!(after["name"], "Guarded");
    assert_eq!(after["status"], "active");
    assert_eq!(after["variants"].as_array().unwrap().len(), 1);
    assert_eq!(after["variants"][0]["stock"], 5);
    assert_eq!(admin_list_ids(&app, &staff.access, "").await, [product_id]);
}

// ---- options and hostile input -------------------------------------------------------------

#[tokio::test]
async fn reordering_or_respelling_options_keeps_each_variants_values_attached_to_the_right_option() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let tee = create_product(&app, &staff.access, tee_body("Tee")).await;
    let path = format!("{ADMIN_PRODUCTS}/{}", id(&tee));

    let response = app
        .patch(
            &path,
            Some(&staff.access),
            json!({"options": [{"name": "Colour", "values": ["RED", "Blue", "Green"]}, {"name": "Size", "values": ["S", "M", "L", "XL"]}]}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let m_red = &response.body["variants"][0];
    assert_eq!(
        m_red["options"],
        json!([{"name": "Colour", "value": "RED"}, {"name": "Size", "value": "M"}]),
        "{m_red}"
    );
    assert_eq!(m_red["title"], "RED / M");
    let page = app.get(&format!("{PRODUCTS}/tee"), None).await;
    assert_eq!(page.body["variants"][0]["options"], m_red["options"]);
    // The combination is still taken, however it is spelled; new values can be used.
    add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": sku("T"), "price": 1, "options": {"Size": "M", "Colour": "Red"}}),
    )
    .await
    .assert_problem(409, "variant_exists");
    let green = add_variant(
        &app,
        &staff.access,
        &id(&tee),
        json!({"sku": sku("T"), "price": 1, "options": {"Size": "XL", "Colour": "green"}}),
    )
    .await;
    assert_eq!(green.status, 201, "{}", green.text);
    assert_eq!(green.body["title"], "Green / XL");
    // Dropping a value that a live variant uses is refused.
    let response = app
        .patch(&path, Some(&staff.access), json!({"options": [{"name": "Colour", "values": ["Blue", "Green"]}, {"name": "Size", "values": ["S", "M", "L", "XL"]}]}))
        .await;
    assert_invalid(&response, "options");
    assert_eq!(
        admin_product(&app, &staff.access, &id(&tee)).await["options"][0]["values"],
        json!(["RED", "Blue", "Green"])
    );
}

#[tokio::test]
async fn hostile_text_in_bodies_and_paths_is_a_4xx_never_a_5xx() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 100, 5).await;
    let variant = id(&mug["variants"][0]);
    // Every offending request, reported together.
    let mut failures: Vec<String> = Vec::new();

    for body in [
        json!({"name": "Mug\u{0}", "price": 1, "sku": sku("N")}),
        json!({"name": "Mug", "description": "a\u{0}b", "price": 1, "sku": sku("N")}),
        json!({"name": "Mug", "slug": "mug\u{0}", "price": 1, "sku": sku("N")}),
        json!({"name": "Mug", "sku": "A\u{0}B", "price": 1}),
        json!({"name": "Mug", "price": 1, "sku": sku("N"), "images": [{"url": "https://img.example.com/a.jpg", "alt": "\u{0}"}]}),
        json!({"name": "Mug", "price": 1, "sku": sku("N"), "category_id": "cat\u{0}"}),
        json!({"name": "Tee", "options": [{"name": "Si\u{0}ze", "values": ["S"]}], "variants": [{"sku": sku("N"), "price": 1, "options": {"Si\u{0}ze": "S"}}]}),
        json!({"name": "Tee", "options": [{"name": "Size", "values": ["S\u{0}"]}], "variants": [{"sku": sku("N"), "price": 1, "options": {"Size": "S\u{0}"}}]}),
        json!({"name": "Mug", "price": 10_000_000_000_000_i64, "sku": sku("N")}),
        json!({"name": "Mug", "price": 1, "stock": 10_000_000_000_i64, "sku": sku("N")}),
        json!({"name": "x".repeat(201), "price": 1, "sku": sku("N")}),
    ] {
        let response = app.post(ADMIN_PRODUCTS, Some(&staff.access), body.clone()).await;
        if !response.status.is_client_error() {
            failures.push(format!("{body}: {} {}", response.status, response.text));
        }
    }
    for body in [
        json!({"name": "Mug\u{0}"}),
        json!({"description": "\u{0}"}),
        json!({"category_id": "cat\u{0}"}),
        json!({"images": [{"url": "https://img.example.com/\u{0}.jpg"}]}),
    ] {
        let response = app.patch(&format!("{ADMIN_PRODUCTS}/{}", id(&mug)), Some(&staff.access), body.clone()).await;
        if !response.status.is_client_error() {
            failures.push(format!("{body}: {} {}", response.status, response.text));
        }
    }
    for body in [
        json!({"stock_adjustment": i64::MAX}),
        json!({"stock_adjustment": i64::MIN}),
        json!({"stock_adjustment": 2_000_000_000_i64}),
        json!({"price": i64::MAX}),
        json!({"sku": "\u{0}"}),
    ] {
        let response = patch_variant(&app, &staff.access, &variant, body.clone()).await;
        if !response.status.is_client_error() {
            failures.push(format!("{body}: {} {}", response.status, response.text));
        }
    }
    for path in [
        format!("{PRODUCTS}/%00"),
        format!("{PRODUCTS}/mug%00"),
        format!("{PRODUCTS}?category=%00"),
        format!("{PRODUCTS}?q=%00"),
        format!("{PRODUCTS}?cursor=%00"),
    ] {
        let response = app.get(&path, None).await;
        if response.status.is_server_error() {
            failures.push(format!("GET {path}: {} {}", response.status, response.text));
        }
    }
    for path in [format!("{ADMIN_PRODUCTS}/prod%00"), "/api/v1/admin/variants/var%00".to_owned()] {
        let response = app.get(&path, Some(&staff.access)).await;
        if !response.status.is_client_error() {
            failures.push(format!("{path}: {} {}", response.status, response.text));
        }
        let response = app.patch(&path, Some(&staff.access), json!({"name": "x", "price": 1})).await;
        if !response.status.is_client_error() {
            failures.push(format!("{path}: {} {}", response.status, response.text));
        }
        let response = app.delete(&path, Some(&staff.access)).await;
        if !response.status.is_client_error() {
            failures.push(format!("{path}: {} {}", response.status, response.text));
        }
    }
    let response = app
        .post(&format!("{ADMIN_PRODUCTS}/prod%00/variants"), Some(&staff.access), json!({"sku": sku("V"), "price": 1}))
        .await;
    if !response.status.is_client_error() {
        failures.push(format!("POST variants: {} {}", response.status, response.text));
    }
    assert!(failures.is_empty(), "not a 4xx:\n{}", failures.join("\n"));

    let after = admin_product(&app, &staff.access, &id(&mug)).await;
    assert_eq!(after["name"], "Mug");
    assert_eq!(after["variants"][0]["stock"], 5);
    assert_eq!(admin_list_ids(&app, &staff.access, "").await, [id(&mug)]);
}

// Several worker threads: the server and the requests really run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_price_changes_keep_the_price_range_exact() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let sizes: Vec<String> = (0..12).map(|i| format!("S{i}")).collect();
    let variants: Vec<Value> = sizes
        .iter()
        .map(|size| json!({"sku": sku("RANGE"), "price": 5000, "stock": 1, "options": {"Size": size}}))
        .collect();
    let product = create_product(
        &app,
        &staff.access,
        json!({"name": "Range", "options": [{"name": "Size", "values": sizes}], "variants": variants}),
    )
    .await;

    let tasks: Vec<_> = product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (client, token) = (app.client.clone(), staff.access.clone());
            let url = app.url(&format!("/api/v1/admin/variants/{}", id(v)));
            let price = 1000 + 700 * i64::try_from(i).unwrap();
            tokio::spawn(async move {
                client.patch(url).bearer_auth(token).json(&json!({"price": price})).send().await.expect("sent").status()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }

    let card = card_of(&app, &id(&product)).await.unwrap();
    assert_eq!(card["min_price"], 1000);
    assert_eq!(card["max_price"], 1000 + 700 * 11);
}
