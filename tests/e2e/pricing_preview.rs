//! `POST /api/v1/admin/pricing/preview` through the demo chain (`volume_tiers → coupons → tax →
//! shipping`, as WebAssembly plugins): the two worked examples of the pricing pipeline to the
//! paisa, GST split by region, shipping below ₹999, the staff guard, request validation, and a
//! shop without a chain.
//!
//! The demo catalogue built here (`demo_shop`) is shared with the other plugin test modules.

use serde_json::{Value, json};

use crate::{
    helpers::{plugins::*, *},
    products::{create_category, create_product, id, simple_product, sku},
};

/// Variant ids of the worked examples' catalogue: clothing › t-shirts, clothing › socks and
/// books › fiction.
pub struct DemoShop {
    /// ₹499.00, size M (clothing › t-shirts).
    pub tshirt: String,
    /// ₹300.00 (books › fiction).
    pub novel: String,
    /// ₹250.00 a pair (clothing › socks).
    pub socks: String,
}

/// Creates the worked examples' categories and products through the admin API.
pub async fn demo_shop(app: &TestApp, token: &str) -> DemoShop {
    let clothing = create_category(app, token, json!({"name": "Clothing"})).await;
    let tshirts = create_category(app, token, json!({"name": "T-Shirts", "parent_id": id(&clothing)})).await;
    let socks = create_category(app, token, json!({"name": "Socks", "parent_id": id(&clothing)})).await;
    let books = create_category(app, token, json!({"name": "Books"})).await;
    let fiction = create_category(app, token, json!({"name": "Fiction", "parent_id": id(&books)})).await;
    assert_eq!(
        [&tshirts["slug"], &socks["slug"], &books["slug"]],
        ["t-shirts", "socks", "books"],
        "the tax settings name these slugs"
    );

    let tshirt = create_product(
        app,
        token,
        json!({
            "name": "Cotton T-Shirt",
            "category_id": id(&tshirts),
            "options": [{"name": "Size", "values": ["M"]}],
            "variants": [{"sku": sku("TSHIRT-M"), "price": 49900, "stock": 50, "options": {"Size": "M"}}],
        }),
    )
    .await;
    let novel = create_product(
        app,
        token,
        json!({"name": "A Novel", "category_id": id(&fiction), "price": 30000, "sku": sku("NOVEL"), "stock": 50}),
    )
    .await;
    let socks = create_product(
        app,
        token,
        json!({"name": "Wool Socks", "category_id": id(&socks), "price": 25000, "sku": sku("SOCKS"), "stock": 50}),
    )
    .await;
    DemoShop { tshirt: id(&tshirt["variants"][0]), novel: id(&novel["variants"][0]), socks: id(&socks["variants"][0]) }
}

/// An app with the demo chain and store, its catalogue, and a staff token.
pub async fn demo_app() -> (TestApp, DemoShop, String) {
    let app = spawn_app_with(demo_chain).await;
    let staff = app.staff().await;
    let shop = demo_shop(&app, &staff.access).await;
    (app, shop, staff.access)
}

/// Previews `body` as `token`, expecting 200; the priced cart.
pub async fn priced(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post(PREVIEW, Some(token), body).await;
    assert_eq!(response.status, 200, "preview: {}", response.text);
    response.body
}

/// The one adjustment of `kind` on a priced line.
#[track_caller]
fn adjustment<'a>(line: &'a Value, kind: &str) -> &'a Value {
    let found: Vec<&Value> =
        line["adjustments"].as_array().expect("adjustments").iter().filter(|a| a["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} adjustment on {line:#}");
    found[0]
}

/// The headline figures: (subtotal, discount, shipping, tax, fees, total).
fn totals(cart: &Value) -> [i64; 6] {
    ["subtotal", "discount_total", "shipping_total", "tax_total", "fee_total", "total"]
        .map(|key| cart[key].as_i64().unwrap_or_else(|| panic!("{key} in {cart:#}")))
}

/// A line's figures: (quantity, unit price, subtotal, discount, net, tax, total).
fn figures(line: &Value) -> [i64; 7] {
    ["quantity", "unit_price", "subtotal", "discount", "net", "tax", "total"]
        .map(|key| line[key].as_i64().unwrap_or_else(|| panic!("{key} in {line:#}")))
}

#[tokio::test]
async fn two_tshirts_and_a_novel_with_welcome10_total_132988_with_cgst_and_sgst_on_the_tshirts() {
    let (app, shop, staff) = demo_app().await;

    let cart = priced(&app, &staff, cart(&[(&shop.tshirt, 2), (&shop.novel, 1)], &["WELCOME10"], "KA")).await;

    assert_eq!(cart["id"], Value::Null, "a preview is not a stored cart");
    assert_eq!(cart["currency"], "INR");
    assert_eq!(totals(&cart), [129_800, 12_980, 0, 16_168, 0, 132_988], "{cart:#}");
    assert_eq!(cart["inclusive_tax_total"], 0);

    let tshirts = &cart["lines"][0];
    assert_eq!(tshirts["variant_id"], shop.tshirt.as_str());
    assert_eq!((tshirts["title"].as_str(), tshirts["variant_title"].as_str()), (Some("Cotton T-Shirt"), Some("M")));
    assert!(tshirts["sku"].as_str().is_some_and(|s| s.starts_with("TSHIRT-M")), "{tshirts}");
    assert!(tshirts["product_id"].as_str().is_some_and(|p| p.starts_with("prod_")), "{tshirts}");
    assert_eq!(figures(tshirts), [2, 49_900, 99_800, 9_980, 89_820, 16_168, 105_988]);
    let share = adjustment(tshirts, "discount");
    assert_eq!(
        (&share["plugin"], &share["code"], &share["amount"]),
        (&json!("coupons"), &json!("WELCOME10"), &json!(9_980))
    );
    let gst = adjustment(tshirts, "tax");
    assert_eq!((&gst["plugin"], &gst["amount"], &gst["label"]), (&json!("tax"), &json!(16_168), &json!("GST 18%")));
    assert_eq!(
        gst["tax_breakdown"],
        json!([{"name": "CGST", "amount": 8_084}, {"name": "SGST", "amount": 8_084}]),
        "shipping within Karnataka splits GST into CGST + SGST"
    );

    let novel = &cart["lines"][1];
    assert_eq!(novel["variant_id"], shop.novel.as_str());
    assert_eq!(figures(novel), [1, 30_000, 30_000, 3_000, 27_000, 0, 27_000], "books are zero-rated");

    assert_eq!(cart["coupon_codes"], json!(["WELCOME10"]));
    assert_eq!(
        cart["coupons"],
        json!([{"code": "WELCOME10", "accepted": true, "reason": null, "error_code": null, "plugin": "coupons"}])
    );
    assert_eq!(cart["notices"], json!([]));
    let plugins = app.get(ADMIN_PLUGINS, Some(&staff)).await;
    assert_eq!(cart["pricing_version"], plugins.body["version"], "the set that priced it: {}", plugins.text);
}

#[tokio::test]
async fn the_same_cart_shipped_to_another_state_is_charged_igst_instead() {
    let (app, shop, staff) = demo_app().await;

    let cart = priced(&app, &staff, cart(&[(&shop.tshirt, 2), (&shop.novel, 1)], &["WELCOME10"], "MH")).await;

    assert_eq!(totals(&cart), [129_800, 12_980, 0, 16_168, 0, 132_988], "{cart:#}");
    let gst = adjustment(&cart["lines"][0], "tax");
    assert_eq!(gst["tax_breakdown"], json!([{"name": "IGST", "amount": 16_168}]), "{gst}");
}

#[tokio::test]
async fn six_pairs_of_socks_get_5_percent_off_and_flat200_is_rejected_as_ineligible() {
    let (app, shop, staff) = demo_app().await;

    let cart = priced(&app, &staff, cart(&[(&shop.socks, 6)], &["FLAT200"], "MH")).await;

    assert_eq!(totals(&cart), [150_000, 7_500, 0, 25_650, 0, 168_150], "{cart:#}");
    let socks = &cart["lines"][0];
    assert_eq!(figures(socks), [6, 25_000, 150_000, 7_500, 142_500, 25_650, 168_150]);
    let tier = adjustment(socks, "discount");
    assert_eq!(
        (&tier["plugin"], &tier["code"], &tier["amount"]),
        (&json!("volume_tiers"), &Value::Null, &json!(7_500))
    );
    assert_eq!(adjustment(socks, "tax")["tax_breakdown"], json!([{"name": "IGST", "amount": 25_650}]));

    let flat = &cart["coupons"][0];
    assert_eq!(cart["coupons"].as_array().map(Vec::len), Some(1), "{cart:#}");
    assert_eq!(
        (&flat["code"], &flat["accepted"], &flat["plugin"]),
        (&json!("FLAT200"), &json!(false), &json!("coupons"))
    );
    assert_eq!(flat["error_code"], "coupon_ineligible");
    assert_eq!(
        flat["reason"], "Add ₹75.00 more to use FLAT200 (minimum ₹1,500.00 after discounts).",
        "the minimum is on the cart after the tier discount"
    );
    assert!(
        cart["adjustments"].as_array().expect("adjustments").iter().all(|a| a["code"] != "FLAT200"),
        "a rejected code discounts nothing: {cart:#}"
    );
}

#[tokio::test]
async fn a_cart_below_999_pays_49_for_shipping() {
    let (app, shop, staff) = demo_app().await;

    let cart = priced(&app, &staff, cart(&[(&shop.tshirt, 1)], &[], "KA")).await;

    assert_eq!(totals(&cart), [49_900, 0, 4_900, 8_982, 0, 63_782], "{cart:#}");
    let shipping: Vec<&Value> =
        cart["adjustments"].as_array().expect("adjustments").iter().filter(|a| a["kind"] == "shipping").collect();
    assert_eq!(shipping.len(), 1, "{cart:#}");
    assert_eq!(
        (&shipping[0]["plugin"], &shipping[0]["target"], &shipping[0]["amount"]),
        (&json!("shipping"), &json!("shipping"), &json!(4_900))
    );
    assert_eq!(
        adjustment(&cart["lines"][0], "tax")["tax_breakdown"],
        json!([{"name": "CGST", "amount": 4_491}, {"name": "SGST", "amount": 4_491}])
    );
}

#[tokio::test]
async fn previewing_prices_is_for_staff_only() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let variant = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let (_, _, customer) = app.customer().await;
    let body = cart(&[(&variant, 1)], &[], "KA");

    app.post(PREVIEW, None, body.clone()).await.assert_problem(401, "unauthenticated");
    app.post(PREVIEW, Some("not-a-token"), body.clone()).await.assert_problem(401, "unauthenticated");
    app.post(PREVIEW, Some(&customer.access), body.clone()).await.assert_problem(403, "forbidden");
    assert_eq!(app.post(PREVIEW, Some(&staff.access), body).await.status, 200);
}

#[tokio::test]
async fn an_unknown_variant_or_a_quantity_of_zero_is_422_naming_the_line() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let variant = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let archived = simple_product(&app, &staff.access, "Old Mug", 10_000, 5).await;
    let deleted = app.delete(&format!("/api/v1/admin/products/{}", id(&archived)), Some(&staff.access)).await;
    assert!(deleted.status.is_success(), "archive: {}", deleted.text);

    let cases = [
        ("var_01JAAAAAAAAAAAAAAAAAAAAAAA", 1, "lines[0].variant_id"),
        ("not-an-id", 1, "lines[0].variant_id"),
        (archived["variants"][0]["id"].as_str().expect("variant id"), 1, "lines[0].variant_id"),
        (&variant, 0, "lines[0].quantity"),
        (&variant, 10_000, "lines[0].quantity"),
    ];
    for (variant, quantity, field) in cases {
        let response = app.post(PREVIEW, Some(&staff.access), cart(&[(variant, quantity)], &[], "KA")).await;

        response.assert_problem(422, "validation_failed");
        let fields: Vec<&str> =
            response.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, [field], "{variant} × {quantity}: {}", response.text);
    }
}

#[tokio::test]
async fn a_blank_coupon_code_or_a_country_that_is_not_a_code_is_422_naming_the_field() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let variant = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let line = json!([{"variant_id": variant, "quantity": 1}]);
    let long = "X".repeat(65);

    for (body, field) in [
        (json!({"lines": line, "coupon_codes": ["WELCOME10", " "]}), "coupon_codes[1]"),
        (json!({"lines": line, "coupon_codes": [long]}), "coupon_codes[0]"),
        (json!({"lines": line, "shipping_address": {"country": "India"}}), "shipping_address.country"),
    ] {
        let response = app.post(PREVIEW, Some(&staff.access), body).await;

        response.assert_problem(422, "validation_failed");
        assert_eq!(response.body["errors"][0]["field"], field, "{}", response.text);
    }
}

/// Adding a repeated variant's quantities must not silently cap them: that would price fewer
/// units than asked for.
#[tokio::test]
async fn a_repeated_variant_whose_quantities_add_up_past_the_maximum_is_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let variant = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);

    let response =
        app.post(PREVIEW, Some(&staff.access), cart(&[(&variant, 9_999), (&variant, 9_999)], &[], "KA")).await;

    response.assert_problem(422, "validation_failed");
    assert_eq!(response.body["errors"][0]["field"], "lines[1].quantity", "{}", response.text);
}

#[tokio::test]
async fn without_a_pricing_chain_a_cart_is_priced_at_its_subtotal() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let jug = id(&simple_product(&app, &staff.access, "Jug", 25_050, 5).await["variants"][0]);

    let cart = priced(&app, &staff.access, cart(&[(&mug, 3), (&jug, 1)], &[], "KA")).await;

    assert_eq!(totals(&cart), [55_050, 0, 0, 0, 0, 55_050], "{cart:#}");
    assert_eq!(cart["adjustments"], json!([]));
    assert_eq!(cart["notices"], json!([]));
    let lines: Vec<[i64; 7]> = cart["lines"].as_array().expect("lines").iter().map(figures).collect();
    assert_eq!(lines, [[3, 10_000, 30_000, 0, 30_000, 0, 30_000], [1, 25_050, 25_050, 0, 25_050, 0, 25_050]]);
}

#[tokio::test]
async fn codes_match_in_any_case_an_unknown_code_is_rejected_and_a_repeated_variant_is_one_line() {
    let (app, shop, staff) = demo_app().await;

    let cart = priced(
        &app,
        &staff,
        cart(&[(&shop.tshirt, 1), (&shop.novel, 1), (&shop.tshirt, 1)], &["welcome10", "NOPE"], "KA"),
    )
    .await;

    assert_eq!(totals(&cart), [129_800, 12_980, 0, 16_168, 0, 132_988], "the first worked example: {cart:#}");
    let lines: Vec<(&Value, &Value)> =
        cart["lines"].as_array().expect("lines").iter().map(|l| (&l["variant_id"], &l["quantity"])).collect();
    assert_eq!(lines, [(&json!(shop.tshirt), &json!(2)), (&json!(shop.novel), &json!(1))]);
    let verdicts: Vec<(&Value, &Value, &Value)> = cart["coupons"]
        .as_array()
        .expect("coupons")
        .iter()
        .map(|c| (&c["code"], &c["accepted"], &c["error_code"]))
        .collect();
    assert_eq!(
        verdicts,
        [(&json!("welcome10"), &json!(true), &Value::Null), (&json!("NOPE"), &json!(false), &json!("coupon_unknown"))],
        "{cart:#}"
    );
}
