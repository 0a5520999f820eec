//! `GET /api/v1/products`: every filter (`q`, `category`, `min_price`/`max_price`, `in_stock`),
//! every sort, the pagination edges (empty, exact last page, walking every page, bad and
//! mismatched cursors, limits), stability under inserts, search input that looks like SQL or
//! FTS syntax, and the product card's shape.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{
    helpers::*,
    products::{ADMIN_PRODUCTS, PRODUCTS, create_category, create_product, id, patch_variant, sku, tick},
};

/// A product whose variants have these `(price, stock)`: one is the simple shorthand, more get a
/// `Size` option. `extra` is merged into the request (description, category_id, images, …).
async fn product(app: &TestApp, token: &str, name: &str, variants: &[(i64, i64)], extra: Value) -> Value {
    let mut body = match variants {
        [(price, stock)] => json!({"name": name, "price": price, "sku": sku("L"), "stock": stock}),
        _ => {
            let values: Vec<String> = (0..variants.len()).map(|i| format!("V{i}")).collect();
            let list: Vec<Value> = variants
                .iter()
                .enumerate()
                .map(|(i, (price, stock))| json!({"sku": sku("L"), "price": price, "stock": stock, "options": {"Size": format!("V{i}")}}))
                .collect();
            json!({"name": name, "options": [{"name": "Size", "values": values}], "variants": list})
        }
    };
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    create_product(app, token, body).await
}

/// A simple product: one variant at `price` with `stock`.
async fn simple(app: &TestApp, token: &str, name: &str, price: i64, stock: i64) -> Value {
    product(app, token, name, &[(price, stock)], json!({})).await
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /api/v1/products?{query}`.
async fn list(app: &TestApp, query: &str) -> TestResponse {
    app.get(&format!("{PRODUCTS}?{query}"), None).await
}

/// The names on one page, expecting 200.
async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let response = list(app, query).await;
    assert_eq!(response.status, 200, "{query}: {}", response.text);
    page_names(&response)
}

fn page_names(response: &TestResponse) -> Vec<String> {
    response.body["items"].as_array().expect("items").iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

async fn search(app: &TestApp, q: &str) -> Vec<String> {
    names(app, &format!("q={}", encode(q))).await
}

/// Every card of every page of `query` with `limit`, following `next_cursor`.
async fn walk(app: &TestApp, query: &str, limit: usize) -> Vec<Value> {
    let mut cards = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let cursor_param = cursor.as_deref().map_or(String::new(), |c| format!("&cursor={}", encode(c)));
        let response = list(app, &format!("{query}&limit={limit}{cursor_param}")).await;
        assert_eq!(response.status, 200, "{query}: {}", response.text);
        let items = response.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        cards.extend(items.iter().cloned());
        match response.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "only the last page may be short: {}", response.text);
                cursor = Some(c.to_owned());
            }
            None => return cards,
        }
    }
    panic!("{query}: more than 100 pages");
}

fn ids(cards: &[Value]) -> Vec<String> {
    cards.iter().map(id).collect()
}

#[track_caller]
fn assert_each_once(cards: &[Value]) {
    let unique: HashSet<String> = ids(cards).into_iter().collect();
    assert_eq!(unique.len(), cards.len(), "a product appeared twice: {:?}", ids(cards));
}

// ---- q ------------------------------------------------------------------------------------

#[tokio::test]
async fn q_matches_all_terms_case_insensitively_with_the_last_term_as_a_prefix() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    simple(&app, &s, "Steel Chair", 100, 1).await;
    simple(&app, &s, "Steel Table", 200, 1).await;
    simple(&app, &s, "Wooden Chair", 300, 1).await;
    simple(&app, &s, "Stainless Spoon", 400, 1).await;
    product(&app, &s, "Garden Bench", &[(500, 1)], json!({"description": "Powder-coated STEEL frame."})).await;

    let mut found = search(&app, "ste").await;
    found.sort();
    assert_eq!(found, ["Garden Bench", "Steel Chair", "Steel Table"], "`ste` is a prefix of steel, not of stainless");
    assert_eq!(search(&app, "STEEL chair").await, ["Steel Chair"], "all terms must match");
    assert_eq!(search(&app, "chair steel").await, ["Steel Chair"], "in any order");
    assert_eq!(search(&app, "steel cha").await, ["Steel Chair"], "the last term is a prefix");
    assert!(search(&app, "cha steel").await.is_empty(), "only the last term is a prefix");
    assert_eq!(search(&app, "powder frame").await, ["Garden Bench"], "descriptions are searched");
    assert!(search(&app, "steel sofa").await.is_empty());
    assert!(search(&app, "zzz").await.is_empty());
    let mut chairs = search(&app, "Chair").await;
    chairs.sort();
    assert_eq!(chairs, ["Steel Chair", "Wooden Chair"]);
}

#[tokio::test]
async fn q_does_no_stemming() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    simple(&app, &s, "Running Shoes", 100, 1).await;
    simple(&app, &s, "Oak Chairs", 100, 1).await;

    // Whole terms (all but the last) match exactly: `run` is not `running`, `chair` not `chairs`.
    assert!(search(&app, "run shoes").await.is_empty());
    assert!(search(&app, "chair oak").await.is_empty());
    assert!(search(&app, "shoe running").await.is_empty());
    assert_eq!(search(&app, "running shoes").await, ["Running Shoes"]);
    assert_eq!(search(&app, "chairs oak").await, ["Oak Chairs"]);
    // The last term is still a prefix.
    assert_eq!(search(&app, "oak chair").await, ["Oak Chairs"]);
}

#[tokio::test]
async fn a_q_without_word_characters_is_ignored() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    for name in ["First", "Second", "Third"] {
        simple(&app, &s, name, 100, 1).await;
        tick().await;
    }

    for q in ["-:*\"", "   ", "\"\"", "* * *", "()", "'", "🪑"] {
        assert_eq!(search(&app, q).await, ["Third", "Second", "First"], "{q:?} is ignored: newest first");
    }
    assert_eq!(names(&app, "q=").await, ["Third", "Second", "First"]);
}

// ---- category ------------------------------------------------------------------------------

#[tokio::test]
async fn the_category_filter_by_id_or_slug_includes_every_descendant() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let apparel = create_category(&app, &s, json!({"name": "Apparel"})).await;
    let tshirts = create_category(&app, &s, json!({"name": "T-Shirts", "parent_id": id(&apparel)})).await;
    let graphic = create_category(&app, &s, json!({"name": "Graphic", "parent_id": id(&tshirts)})).await;
    let jeans = create_category(&app, &s, json!({"name": "Jeans", "parent_id": id(&apparel)})).await;
    let books = create_category(&app, &s, json!({"name": "Books"})).await;
    for (name, category) in [
        ("Plain Jacket", &apparel),
        ("Plain Tee", &tshirts),
        ("Rocket Tee", &graphic),
        ("Slim Jeans", &jeans),
        ("A Novel", &books),
    ] {
        product(&app, &s, name, &[(100, 1)], json!({"category_id": id(category)})).await;
    }
    simple(&app, &s, "Uncategorised", 100, 1).await;

    async fn sorted(app: &TestApp, category: &str) -> Vec<String> {
        let mut found = names(app, &format!("category={category}&sort=name")).await;
        found.sort();
        found
    }
    assert_eq!(sorted(&app, "apparel").await, ["Plain Jacket", "Plain Tee", "Rocket Tee", "Slim Jeans"]);
    assert_eq!(sorted(&app, &id(&apparel)).await, ["Plain Jacket", "Plain Tee", "Rocket Tee", "Slim Jeans"]);
    assert_eq!(sorted(&app, "t-shirts").await, ["Plain Tee", "Rocket Tee"]);
    assert_eq!(sorted(&app, &id(&tshirts)).await, ["Plain Tee", "Rocket Tee"]);
    assert_eq!(sorted(&app, "graphic").await, ["Rocket Tee"]);
    assert_eq!(sorted(&app, "jeans").await, ["Slim Jeans"]);
    assert_eq!(sorted(&app, "books").await, ["A Novel"]);
    // Combined with the other filters.
    assert_eq!(names(&app, "category=apparel&q=tee&sort=name").await, ["Plain Tee", "Rocket Tee"]);
    let mut relevant = names(&app, "category=t-shirts&q=tee").await;
    relevant.sort();
    assert_eq!(relevant, ["Plain Tee", "Rocket Tee"]);
    assert_eq!(names(&app, "category=graphic&q=plain").await, Vec::<String>::new());
    // A category moved under another takes its products along.
    let moved = app
        .patch(&format!("/api/v1/admin/categories/{}", id(&jeans)), Some(&s), json!({"parent_id": id(&books)}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(sorted(&app, "books").await, ["A Novel", "Slim Jeans"]);
    assert_eq!(sorted(&app, "apparel").await, ["Plain Jacket", "Plain Tee", "Rocket Tee"]);
}

#[tokio::test]
async fn an_unknown_category_gives_an_empty_list() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    simple(&app, &s, "Mug", 100, 1).await;

    for category in ["no-such-category", "cat_01JZZZZZZZZZZZZZZZZZZZZZZZ", "%27%20OR%201%3D1%20--", "%25"] {
        let response = list(&app, &format!("category={category}")).await;
        assert_eq!(response.status, 200, "{category}: {}", response.text);
        assert_eq!(response.body["items"], json!([]));
        assert_eq!(response.body["next_cursor"], Value::Null);
    }
}

// ---- price and stock -----------------------------------------------------------------------

#[tokio::test]
async fn price_filters_apply_to_the_cheapest_variant() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    product(&app, &s, "Wide", &[(5000, 1), (1000, 1)], json!({})).await;
    simple(&app, &s, "Middle", 3000, 1).await;
    simple(&app, &s, "Dear", 7000, 1).await;

    let by_price = |q: &'static str| {
        let app = &app;
        async move { names(app, &format!("{q}&sort=price_asc")).await }
    };
    assert_eq!(
        by_price("min_price=2000").await,
        ["Middle", "Dear"],
        "Wide's cheapest is 1000, even with a 5000 variant"
    );
    assert_eq!(by_price("max_price=3000").await, ["Wide", "Middle"]);
    assert_eq!(by_price("max_price=999").await, Vec::<String>::new());
    assert_eq!(by_price("min_price=1000&max_price=1000").await, ["Wide"], "bounds are inclusive");
    assert_eq!(by_price("min_price=3000&max_price=7000").await, ["Middle", "Dear"]);
    assert_eq!(by_price("min_price=0").await, ["Wide", "Middle", "Dear"]);
    assert_eq!(by_price("min_price=7001").await, Vec::<String>::new());

    let response = list(&app, "min_price=5000&max_price=4000").await;
    response.assert_problem(422, "validation_failed");
    assert!(response.text.contains("min_price"), "{}", response.text);
    list(&app, "min_price=-1").await.assert_problem(422, "validation_failed");
    list(&app, "max_price=-1").await.assert_problem(422, "validation_failed");
    list(&app, "min_price=cheap").await.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn in_stock_true_keeps_products_with_a_live_variant_in_stock() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    product(&app, &s, "None Left", &[(100, 0), (200, 0)], json!({})).await;
    product(&app, &s, "One Size Left", &[(100, 0), (200, 3)], json!({})).await;
    simple(&app, &s, "Sold Out", 100, 0).await;
    let restocked = simple(&app, &s, "Restocked", 100, 0).await;
    let removed = product(&app, &s, "Only Removed Had Stock", &[(100, 5), (200, 0)], json!({})).await;
    let response = patch_variant(&app, &s, &id(&restocked["variants"][0]), json!({"stock_adjustment": 1})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let response = app.delete(&format!("/api/v1/admin/variants/{}", id(&removed["variants"][0])), Some(&s)).await;
    assert_eq!(response.status, 204, "{}", response.text);

    let mut in_stock = names(&app, "in_stock=true").await;
    in_stock.sort();
    assert_eq!(in_stock, ["One Size Left", "Restocked"]);
    assert_eq!(names(&app, "in_stock=false").await.len(), 5, "false means no filter");
    assert_eq!(names(&app, "").await.len(), 5);
    let cards = list(&app, "limit=100").await.body["items"].as_array().unwrap().clone();
    for card in cards {
        let expected = matches!(card["name"].as_str().unwrap(), "One Size Left" | "Restocked");
        assert_eq!(card["in_stock"], expected, "{card}");
    }
    list(&app, "in_stock=maybe").await.assert_problem(400, "bad_request");
}

// ---- sorts ---------------------------------------------------------------------------------

/// Eight products with tied prices and names that differ only in case, created a tick apart.
async fn assorted(app: &TestApp, token: &str) -> Vec<Value> {
    let mut created = Vec::new();
    for (name, price) in [
        ("banana", 300),
        ("Apple", 200),
        ("cherry", 300),
        ("apple", 100),
        ("Date", 200),
        ("APPLE", 300),
        ("elderberry", 50),
        ("Fig", 200),
    ] {
        created.push(simple(app, token, name, price, 1).await);
        tick().await;
    }
    created
}

/// The ids of `products` ordered as `sort` should order them (ties by id).
fn expected_order(products: &[Value], sort: &str) -> Vec<String> {
    let mut sorted: Vec<&Value> = products.iter().collect();
    let price = |p: &Value| p["min_price"].as_i64().unwrap();
    let key = |p: &Value| p["name"].as_str().unwrap().trim().to_lowercase();
    match sort {
        "newest" => sorted.sort_by_key(|p| std::cmp::Reverse(id(p))),
        "price_asc" => sorted.sort_by_key(|p| (price(p), id(p))),
        "price_desc" => sorted.sort_by_key(|p| (std::cmp::Reverse(price(p)), id(p))),
        "name" => sorted.sort_by_key(|p| (key(p), id(p))),
        other => panic!("no expectation for {other}"),
    }
    sorted.into_iter().map(id).collect()
}

#[tokio::test]
async fn newest_is_the_default_sort_without_q() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let created = assorted(&app, &s).await;

    let default = ids(&walk(&app, "", 100).await);
    let newest = ids(&walk(&app, "sort=newest", 100).await);

    let mut reversed: Vec<String> = created.iter().map(id).collect();
    reversed.reverse();
    assert_eq!(default, reversed, "newest first");
    assert_eq!(newest, reversed);
    assert_eq!(newest, expected_order(&created, "newest"));
}

#[tokio::test]
async fn price_sorts_order_by_the_cheapest_variant_with_ties_by_id() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let mut created = assorted(&app, &s).await;
    // A product whose cheapest variant is 150 though another costs 999.
    created.push(product(&app, &s, "Wide", &[(999, 1), (150, 1)], json!({})).await);

    let asc = ids(&walk(&app, "sort=price_asc", 100).await);
    let desc = ids(&walk(&app, "sort=price_desc", 100).await);

    assert_eq!(asc, expected_order(&created, "price_asc"));
    assert_eq!(desc, expected_order(&created, "price_desc"));
    let asc_names = names(&app, "sort=price_asc&limit=3").await;
    assert_eq!(asc_names, ["elderberry", "apple", "Wide"]);
    let prices: Vec<i64> = list(&app, "sort=price_desc&limit=100").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["min_price"].as_i64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
}

#[tokio::test]
async fn the_name_sort_ignores_case_and_breaks_ties_by_id() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let created = assorted(&app, &s).await;

    let sorted = walk(&app, "sort=name", 100).await;

    assert_eq!(ids(&sorted), expected_order(&created, "name"));
    let sorted_names: Vec<&str> = sorted.iter().map(|c| c["name"].as_str().unwrap()).collect();
    // The three apples in creation (id) order, whatever their case.
    assert_eq!(sorted_names, ["Apple", "apple", "APPLE", "banana", "cherry", "Date", "elderberry", "Fig"]);
}

#[tokio::test]
async fn relevance_is_the_default_with_q_and_ranks_a_name_match_above_a_description_only_match() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    // Created first and cheaper, so neither id nor price order would put the name match first.
    product(&app, &s, "Oak Desk", &[(100, 1)], json!({"description": "Stands on steel legs."})).await;
    tick().await;
    product(&app, &s, "Steel Lamp", &[(900, 1)], json!({"description": "A bright lamp."})).await;
    tick().await;
    product(&app, &s, "Newest Rug", &[(500, 1)], json!({"description": "Wool."})).await;

    assert_eq!(search(&app, "steel").await, ["Steel Lamp", "Oak Desk"]);
    assert_eq!(names(&app, "q=steel&sort=relevance").await, ["Steel Lamp", "Oak Desk"]);
    assert_eq!(names(&app, "q=STE").await, ["Steel Lamp", "Oak Desk"]);
    // Other sorts still apply to search results when asked for.
    assert_eq!(names(&app, "q=steel&sort=price_asc").await, ["Oak Desk", "Steel Lamp"]);
    assert_eq!(names(&app, "q=steel&sort=newest").await, ["Steel Lamp", "Oak Desk"]);
    // Relevance without words falls back to newest.
    assert_eq!(names(&app, "sort=relevance").await, ["Newest Rug", "Steel Lamp", "Oak Desk"]);
    list(&app, "sort=popular").await.assert_problem(400, "bad_request");
}

// ---- pagination ----------------------------------------------------------------------------

#[tokio::test]
async fn an_empty_result_has_no_items_and_a_null_next_cursor() {
    let app = spawn_app().await;

    for query in ["", "sort=name", "q=anything", "in_stock=true&sort=price_desc"] {
        let response = list(&app, query).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.body, json!({"items": [], "next_cursor": null}), "{query}");
    }
    let s = app.staff().await.access;
    simple(&app, &s, "Mug", 100, 1).await;
    let response = list(&app, "q=nothingmatches").await;
    assert_eq!(response.body, json!({"items": [], "next_cursor": null}));
    let response = list(&app, "min_price=101").await;
    assert_eq!(response.body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn the_exact_last_page_has_a_null_next_cursor() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    for (i, name) in ["Ash", "Birch", "Cedar", "Dogwood"].iter().enumerate() {
        simple(&app, &s, &format!("{name} Chair"), 100 * (i64::try_from(i).unwrap() + 1), 1).await;
        tick().await;
    }

    for query in ["sort=newest", "sort=price_asc", "sort=price_desc", "sort=name", "q=chair"] {
        let first = list(&app, &format!("{query}&limit=2")).await;
        assert_eq!(first.status, 200, "{}", first.text);
        assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
        let cursor = first.body["next_cursor"].as_str().unwrap_or_else(|| panic!("{query}: a second page exists"));
        let second = list(&app, &format!("{query}&limit=2&cursor={}", encode(cursor))).await;
        assert_eq!(second.status, 200, "{}", second.text);
        assert_eq!(second.body["items"].as_array().unwrap().len(), 2, "{query}");
        assert_eq!(second.body["next_cursor"], Value::Null, "{query}: the exact last page says so");
        let all: Vec<Value> =
            [first.body["items"].as_array().unwrap().clone(), second.body["items"].as_array().unwrap().clone()]
                .concat();
        assert_each_once(&all);
        assert_eq!(all.len(), 4);

        // One page holding everything, and a short last page.
        let whole = list(&app, &format!("{query}&limit=4")).await;
        assert_eq!(whole.body["items"].as_array().unwrap().len(), 4);
        assert_eq!(whole.body["next_cursor"], Value::Null, "{query}");
        let threes = walk(&app, query, 3).await;
        assert_eq!(ids(&threes), ids(&all), "{query}: the same order with another page size");
    }
}

#[tokio::test]
async fn walking_every_page_of_every_sort_yields_each_product_once_in_order() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let mut created = assorted(&app, &s).await;
    created.push(product(&app, &s, "apple crate", &[(200, 0), (400, 1)], json!({"description": "for apples"})).await);

    for sort in ["newest", "price_asc", "price_desc", "name"] {
        let expected = expected_order(&created, sort);
        for limit in [1, 2, 3, 9, 10] {
            let walked = walk(&app, &format!("sort={sort}"), limit).await;
            assert_each_once(&walked);
            assert_eq!(ids(&walked), expected, "sort={sort} limit={limit}");
        }
    }
    // Relevance (keyset on tier and id): the pages add up to the single-page order.
    let whole = ids(&walk(&app, "q=apple", 100).await);
    assert_eq!(whole.len(), 4, "{whole:?}");
    for limit in [1, 2, 3] {
        let walked = walk(&app, "q=apple", limit).await;
        assert_each_once(&walked);
        assert_eq!(ids(&walked), whole, "relevance limit={limit}");
    }
    // With filters on: cursors carry them along.
    let in_range: Vec<Value> =
        created.iter().filter(|p| (100..=250).contains(&p["min_price"].as_i64().unwrap())).cloned().collect();
    let walked = walk(&app, "sort=price_desc&min_price=100&max_price=250", 2).await;
    assert_eq!(ids(&walked), expected_order(&in_range, "price_desc"));
    let walked = walk(&app, "sort=name&q=apple&in_stock=true", 1).await;
    let apples: Vec<&str> = walked.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(apples, ["Apple", "apple", "APPLE", "apple crate"]);
}

#[tokio::test]
async fn a_garbled_cursor_is_400_invalid_cursor() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    for name in ["A", "B", "C"] {
        simple(&app, &s, name, 100, 1).await;
    }
    let forged_json = base64_url(br#"{"s":"0000000000000000","k":["9999","prod_x"]}"#);
    let not_json = base64_url(b"hello");

    for cursor in
        ["garbage", "!!!", "eyJ", forged_json.as_str(), not_json.as_str(), "%27%3B%20DROP%20TABLE%20products%3B%20--"]
    {
        for sort in ["newest", "price_asc", "name"] {
            list(&app, &format!("sort={sort}&cursor={cursor}")).await.assert_problem(400, "invalid_cursor");
        }
        list(&app, &format!("q=a&cursor={cursor}")).await.assert_problem(400, "invalid_cursor");
    }
    // A cursor of the staff list is not a cursor of this list.
    let staff_page = app.get(&format!("{ADMIN_PRODUCTS}?limit=1"), Some(&s)).await;
    let staff_cursor = staff_page.body["next_cursor"].as_str().unwrap().to_owned();
    list(&app, &format!("cursor={}", encode(&staff_cursor))).await.assert_problem(400, "invalid_cursor");
    assert_eq!(names(&app, "").await.len(), 3, "the list still works");
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_cursor_reused_with_another_sort_or_other_filters_is_400_invalid_cursor() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let category = create_category(&app, &s, json!({"name": "Chairs"})).await;
    for name in ["Steel Chair", "Oak Chair", "Pine Chair"] {
        product(&app, &s, name, &[(100, 1)], json!({"category_id": id(&category)})).await;
    }
    let first = list(&app, "sort=price_asc&limit=1").await;
    let cursor = encode(first.body["next_cursor"].as_str().unwrap());

    for other in [
        "sort=name",
        "sort=newest",
        "sort=price_desc",
        "",
        "sort=price_asc&q=chair",
        "sort=price_asc&category=chairs",
        "sort=price_asc&min_price=0",
        "sort=price_asc&max_price=1000",
        "sort=price_asc&in_stock=true",
    ] {
        list(&app, &format!("{other}&limit=1&cursor={cursor}")).await.assert_problem(400, "invalid_cursor");
    }
    // The same sort and filters accept it, whatever the page size.
    assert_eq!(list(&app, &format!("sort=price_asc&limit=1&cursor={cursor}")).await.status, 200);
    assert_eq!(list(&app, &format!("sort=price_asc&limit=5&cursor={cursor}")).await.status, 200);

    // A relevance cursor is bound to its words; a filtered cursor to its filter values.
    let search = list(&app, "q=chair&limit=1").await;
    let search_cursor = encode(search.body["next_cursor"].as_str().unwrap());
    list(&app, &format!("q=oak&limit=1&cursor={search_cursor}")).await.assert_problem(400, "invalid_cursor");
    list(&app, &format!("q=chair&sort=name&limit=1&cursor={search_cursor}"))
        .await
        .assert_problem(400, "invalid_cursor");
    list(&app, &format!("limit=1&cursor={search_cursor}")).await.assert_problem(400, "invalid_cursor");
    assert_eq!(list(&app, &format!("q=chair&limit=1&cursor={search_cursor}")).await.status, 200);
    let filtered = list(&app, "min_price=50&limit=1").await;
    let filtered_cursor = encode(filtered.body["next_cursor"].as_str().unwrap());
    list(&app, &format!("min_price=51&limit=1&cursor={filtered_cursor}")).await.assert_problem(400, "invalid_cursor");
    let by_slug = list(&app, "category=chairs&limit=1").await;
    let slug_cursor = encode(by_slug.body["next_cursor"].as_str().unwrap());
    list(&app, &format!("category=other&limit=1&cursor={slug_cursor}")).await.assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_422() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    simple(&app, &s, "Mug", 100, 1).await;

    for limit in ["0", "101", "-1", "1000000"] {
        let response = list(&app, &format!("limit={limit}")).await;
        response.assert_problem(422, "validation_failed");
        assert!(response.text.contains("limit"), "{}", response.text);
    }
    list(&app, "limit=ten").await.assert_problem(400, "bad_request");
    assert_eq!(names(&app, "limit=1").await.len(), 1);
    assert_eq!(names(&app, "limit=100").await.len(), 1);
}

#[tokio::test]
async fn pages_stay_stable_when_products_are_inserted_between_requests() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let mut created = Vec::new();
    for (name, price) in [("Bravo", 200), ("Charlie", 300), ("Delta", 400), ("Echo", 500), ("Foxtrot", 600)] {
        created.push(simple(&app, &s, name, price, 1).await);
        tick().await;
    }

    for (sort, before, after) in [
        // A product that sorts before the cursor must not show up; one after it must.
        ("newest", None, None),
        ("price_asc", Some(("Cheap", 100)), Some(("Dear", 700))),
        ("price_desc", Some(("Dearer", 800)), Some(("Cheaper", 50))),
        ("name", Some(("Alpha", 450)), Some(("Zulu", 450))),
    ] {
        let expected = expected_order(&created, sort);
        let first = list(&app, &format!("sort={sort}&limit=2")).await;
        let mut seen = ids(first.body["items"].as_array().unwrap());
        assert_eq!(seen, expected[..2]);
        let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();

        // Inserted while the client is on page 1.
        let newcomer = simple(&app, &s, &format!("New {sort}"), 450, 1).await;
        let early = match before {
            Some((name, price)) => Some(simple(&app, &s, name, price, 1).await),
            None => None,
        };
        let late = match after {
            Some((name, price)) => Some(simple(&app, &s, name, price, 1).await),
            None => None,
        };

        let mut next = Some(cursor);
        while let Some(cursor) = next {
            let page = list(&app, &format!("sort={sort}&limit=2&cursor={}", encode(&cursor))).await;
            assert_eq!(page.status, 200, "{}", page.text);
            seen.extend(ids(page.body["items"].as_array().unwrap()));
            next = page.body["next_cursor"].as_str().map(str::to_owned);
        }

        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no duplicates: {seen:?}");
        for product in &created {
            assert!(seen.contains(&id(product)), "{sort}: {} was skipped", product["name"]);
        }
        if let Some(early) = &early {
            assert!(!seen.contains(&id(early)), "{sort}: a product sorting before the cursor stays behind it");
        }
        if let Some(late) = &late {
            assert_eq!(seen.last(), Some(&id(late)), "{sort}: a product sorting last comes last");
        }
        if sort == "newest" {
            assert!(!seen.contains(&id(&newcomer)), "newest: a new product is newer than page 1");
            assert_eq!(seen, expected, "newest: pages 2 and 3 continue where page 1 ended");
        }
        // Leave the list as it was for the next sort.
        for product in [Some(newcomer), early, late].into_iter().flatten() {
            let response = app.delete(&format!("{ADMIN_PRODUCTS}/{}", id(&product)), Some(&s)).await;
            assert_eq!(response.status, 204, "{}", response.text);
        }
    }
}

// ---- search input that looks like syntax ---------------------------------------------------

#[tokio::test]
async fn search_input_that_looks_like_sql_or_fts_syntax_is_treated_as_text() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    simple(&app, &s, "Steel Chair", 100, 1).await;
    simple(&app, &s, "Oak Table", 200, 1).await;
    product(&app, &s, "Café Crème Cup", &[(300, 1)], json!({"description": "100% porcelain, 50_50 glaze"})).await;

    let inputs = [
        "'; DROP TABLE products; --",
        "\"; DROP TABLE variants; --",
        "' OR '1'='1",
        "1; SELECT * FROM users",
        "name:steel",
        "description:oak",
        "steel*",
        "*steel",
        "\"steel",
        "steel\"",
        "\"steel chair\"",
        "NOT steel",
        "steel NOT chair",
        "steel AND chair",
        "steel OR chair",
        "steel OR",
        "AND",
        "NEAR(a b)",
        "NEAR(steel chair, 2)",
        "^steel",
        "steel + chair",
        "{name description}: steel",
        "steel & chair | oak",
        "!steel",
        "steel:*",
        "steel <-> chair",
        "(steel",
        "\\",
        "\\'",
        "%",
        "_",
        "%steel%",
        "st_el",
        "café",
        "CAFÉ",
        "crè",
        "日本語",
        "½",
        "\u{0301}",
        "😀 steel",
        "a b c d e f g h i j k l m n o p",
        &"x".repeat(5000),
    ];
    for q in inputs {
        let response = list(&app, &format!("q={}", encode(q))).await;
        assert_eq!(response.status, 200, "q={q:?} must not error: {}", response.text);
        assert!(response.body["items"].is_array(), "{q:?}: {}", response.text);
    }

    // Operators are words like any other: every one of them must match too.
    assert_eq!(search(&app, "steel*").await, ["Steel Chair"]);
    assert_eq!(search(&app, "\"steel").await, ["Steel Chair"]);
    assert_eq!(search(&app, "\"steel chair\"").await, ["Steel Chair"]);
    assert_eq!(search(&app, "steel-chair").await, ["Steel Chair"]);
    assert!(search(&app, "name:steel").await.is_empty(), "`name:` is not a column filter");
    assert!(search(&app, "description:oak").await.is_empty());
    assert!(search(&app, "NOT steel").await.is_empty(), "NOT is a word, not an operator");
    assert!(search(&app, "steel OR chair").await.is_empty(), "OR is a word: nothing has steel, or and chair");
    assert!(search(&app, "steel OR oak").await.is_empty());
    assert!(search(&app, "NEAR(steel chair)").await.is_empty());
    assert!(search(&app, "'; DROP TABLE products; --").await.is_empty());
    assert_eq!(search(&app, "café").await, ["Café Crème Cup"]);
    assert_eq!(search(&app, "CAFÉ crè").await, ["Café Crème Cup"]);
    assert_eq!(search(&app, "100% porcelain").await, ["Café Crème Cup"]);
    // No word characters: ignored, so everything is listed.
    for q in ["\\", "%", "_", "\"", "*", "'"] {
        assert_eq!(search(&app, q).await.len(), 3, "{q:?} is ignored");
    }

    // Other parameters are not SQL either.
    let response = list(&app, &format!("category={}", encode("' OR 1=1 --"))).await;
    assert_eq!(response.body["items"], json!([]), "{}", response.text);
    list(&app, &format!("sort={}", encode("name; DROP TABLE products"))).await.assert_problem(400, "bad_request");

    // The tables are intact.
    assert_eq!(names(&app, "").await.len(), 3);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(count, 3);
    let variants: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM variants").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(variants, 3);
    let page = app.get(&format!("{PRODUCTS}/steel-chair"), None).await;
    assert_eq!(page.status, 200, "{}", page.text);
}

// ---- the card ------------------------------------------------------------------------------

#[tokio::test]
async fn a_product_card_has_exactly_the_documented_fields() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let tee = create_product(
        &app,
        &s,
        json!({
            "name": "Rocket Tee",
            "description": "Secret description.",
            "images": [{"url": "https://img.example.com/1.jpg", "alt": "front"}, {"url": "https://img.example.com/2.jpg", "alt": "back"}],
            "options": [{"name": "Size", "values": ["S", "M"]}],
            "variants": [
                {"sku": sku("R-S"), "price": 59900, "stock": 0, "options": {"Size": "S"}},
                {"sku": sku("R-M"), "price": 49900, "stock": 4, "options": {"Size": "M"}}
            ]
        }),
    )
    .await;
    tick().await;
    simple(&app, &s, "Plain Mug", 100, 0).await;

    let response = list(&app, "").await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.header("content-type").unwrap_or("").starts_with("application/json"));
    let body = response.body.as_object().unwrap();
    let mut top: Vec<&str> = body.keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(top, ["items", "next_cursor"]);
    let expected_keys =
        ["currency", "default_variant_id", "id", "image", "in_stock", "max_price", "min_price", "name", "slug"];
    for card in response.body["items"].as_array().unwrap() {
        let mut keys: Vec<&str> = card.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, expected_keys, "{card}");
    }
    let mug = &response.body["items"][0];
    assert_eq!(mug["image"], Value::Null);
    assert_eq!(mug["in_stock"], false);
    assert_eq!(mug["min_price"], 100);
    assert_eq!(mug["max_price"], 100);
    let card = &response.body["items"][1];
    assert_eq!(
        card,
        &json!({
            "id": tee["id"],
            "slug": "rocket-tee",
            "name": "Rocket Tee",
            "min_price": 49900,
            "max_price": 59900,
            "currency": "INR",
            "image": {"url": "https://img.example.com/1.jpg", "alt": "front"},
            "in_stock": true,
            "default_variant_id": tee["variants"][0]["id"],
        })
    );
}
