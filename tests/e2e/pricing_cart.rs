//! The one path from variant ids to a pricing cart (`CartBuilder`), seen through the preview:
//! the lines it refuses are named by their index in the request, and a variant priced in another
//! currency than the store's is refused instead of being priced as if it were in the store's.
//! (That the path sends a fixed number of statements is guarded in the engine's
//! `pricing::query_count_tests`.)

use crate::{
    helpers::{plugins::*, *},
    products::{id, simple_product},
};

fn fields(response: &TestResponse) -> Vec<String> {
    let errors = response.body["errors"].as_array().expect("errors");
    errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect()
}

/// Guards the index mapping between the parsed lines and the request: a line refused for its
/// quantity is not sent to the catalogue, and the unknown variant after it keeps its own index.
#[tokio::test]
async fn every_bad_line_is_named_by_its_index_in_the_request() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);

    let lines = [(mug.as_str(), 0), ("var_01JAAAAAAAAAAAAAAAAAAAAAAA", 1), (mug.as_str(), 1), ("nope", 2)];
    let response = app.post(PREVIEW, Some(&staff.access), cart(&lines, &[" "], "KA")).await;

    response.assert_problem(422, "validation_failed");
    assert_eq!(
        fields(&response),
        ["lines[0].quantity", "lines[1].variant_id", "lines[3].variant_id", "coupon_codes[0]"],
        "{}",
        response.text
    );
}

/// Guards: a product whose stored currency is not the store's (the operator changed
/// `store.currency` after creating it) is refused with 422 naming the line; before, its price
/// was taken as minor units of the store's currency.
#[tokio::test]
async fn a_variant_priced_in_another_currency_than_the_stores_is_422_naming_the_line() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let product = simple_product(&app, &staff.access, "Mug", 10_000, 5).await;
    sqlx::query("UPDATE products SET currency = 'USD' WHERE id = $1")
        .bind(id(&product))
        .execute(app.state.db.pool())
        .await
        .expect("currency changed");

    let variant = id(&product["variants"][0]);
    let response = app.post(PREVIEW, Some(&staff.access), cart(&[(&variant, 1)], &[], "KA")).await;

    response.assert_problem(422, "validation_failed");
    assert_eq!(fields(&response), ["lines[0].variant_id"], "{}", response.text);
    assert!(response.text.contains("priced in USD, not in the store's currency INR"), "{}", response.text);
}
