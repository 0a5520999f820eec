//! `/api/v1/categories*` and `/api/v1/admin/categories*`: the public tree and one category with
//! children and ancestors; staff create (slugs, positions), update, move (cycles refused),
//! delete (refused while children or products use it), guards and list pagination.

use serde_json::{Value, json};

use crate::helpers::*;

const ADMIN: &str = "/api/v1/admin/categories";

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post(ADMIN, Some(token), body).await;
    assert_eq!(response.status, 201, "create: {}", response.text);
    response.body
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> TestResponse {
    app.patch(&format!("{ADMIN}/{id}"), Some(token), body).await
}

fn id(category: &Value) -> &str {
    category["id"].as_str().expect("id")
}

fn names(items: &Value) -> Vec<&str> {
    items.as_array().expect("array").iter().map(|c| c["name"].as_str().expect("name")).collect()
}

/// apparel › t-shirts, jeans and books › fiction, non-fiction, created out of display order.
struct Shop {
    apparel: Value,
    tshirts: Value,
    jeans: Value,
    books: Value,
    fiction: Value,
    non_fiction: Value,
}

async fn shop(app: &TestApp, token: &str) -> Shop {
    let books = create(app, token, json!({"name": "Books", "position": 1})).await;
    let apparel = create(app, token, json!({"name": "Apparel", "position": 0, "description": "Clothes."})).await;
    let tshirts = create(app, token, json!({"name": "T-Shirts", "parent_id": id(&apparel)})).await;
    let jeans = create(app, token, json!({"name": "Jeans", "parent_id": id(&apparel)})).await;
    let non_fiction = create(app, token, json!({"name": "Non-Fiction", "parent_id": id(&books), "position": 5})).await;
    let fiction = create(app, token, json!({"name": "Fiction", "parent_id": id(&books), "position": 2})).await;
    Shop { apparel, tshirts, jeans, books, fiction, non_fiction }
}

async fn ancestors_of(app: &TestApp, id_or_slug: &str) -> Vec<String> {
    let response = app.get(&format!("/api/v1/categories/{id_or_slug}"), None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    names(&response.body["ancestors"]).into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn the_public_tree_nests_children_and_orders_siblings_by_position() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;

    let response = app.get("/api/v1/categories", None).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let items = &response.body["items"];
    assert_eq!(names(items), ["Apparel", "Books"]);
    assert_eq!(names(&items[0]["children"]), ["T-Shirts", "Jeans"]);
    assert_eq!(names(&items[1]["children"]), ["Fiction", "Non-Fiction"]);
    assert_eq!(items[0]["children"][0]["children"], json!([]));
    let apparel = &items[0];
    assert_eq!(apparel["id"], shop.apparel["id"]);
    assert_eq!(apparel["slug"], "apparel");
    assert_eq!(apparel["description"], "Clothes.");
    assert_eq!(apparel["parent_id"], Value::Null);
    let created_at = chrono::DateTime::parse_from_rfc3339(apparel["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(created_at.offset().local_minus_utc(), 0, "RFC 3339 UTC: {created_at}");
    assert_eq!(items[0]["children"][1]["parent_id"], shop.apparel["id"]);
    // Default positions: after the last sibling.
    assert_eq!(shop.tshirts["position"], 0);
    assert_eq!(shop.jeans["position"], 1);
    let toys = create(&app, &staff.access, json!({"name": "Toys"})).await;
    assert_eq!(toys["position"], 2);
}

#[tokio::test]
async fn a_category_is_found_by_id_or_slug_with_its_children_and_ancestors() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let graphic = create(&app, &staff.access, json!({"name": "Graphic Tees", "parent_id": id(&shop.tshirts)})).await;

    let by_slug = app.get("/api/v1/categories/apparel", None).await;
    let by_id = app.get(&format!("/api/v1/categories/{}", id(&graphic)), None).await;

    assert_eq!(by_slug.status, 200, "{}", by_slug.text);
    assert_eq!(by_slug.body["id"], shop.apparel["id"]);
    assert_eq!(names(&by_slug.body["children"]), ["T-Shirts", "Jeans"]);
    assert_eq!(by_slug.body["ancestors"], json!([]));
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    assert_eq!(by_id.body["slug"], "graphic-tees");
    assert_eq!(names(&by_id.body["ancestors"]), ["Apparel", "T-Shirts"]);
    assert_eq!(by_id.body["children"], json!([]));
    assert_eq!(app.state.categories.resolve("t-shirts").await.unwrap().unwrap().id, id(&shop.tshirts));
}

#[tokio::test]
async fn an_unknown_category_is_404() {
    let app = spawn_app().await;

    app.get("/api/v1/categories/no-such-thing", None).await.assert_problem(404, "not_found");
    app.get("/api/v1/categories/cat_01JAAAAAAAAAAAAAAAAAAAAAAA", None).await.assert_problem(404, "not_found");
    let staff = app.staff().await;
    patch(&app, &staff.access, "cat_01JAAAAAAAAAAAAAAAAAAAAAAA", json!({"name": "x"}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn slugs_are_generated_from_names_and_suffixed_when_taken() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let first = create(&app, &staff.access, json!({"name": "T-Shirts"})).await;
    let second = create(&app, &staff.access, json!({"name": "T Shirts!"})).await;
    let third = create(&app, &staff.access, json!({"name": "t shirts"})).await;
    let accented = create(&app, &staff.access, json!({"name": "  Café Crème  "})).await;

    assert_eq!(first["slug"], "t-shirts");
    assert_eq!(second["slug"], "t-shirts-2");
    assert_eq!(third["slug"], "t-shirts-3");
    assert_eq!(accented["slug"], "cafe-creme");
    assert_eq!(accented["name"], "Café Crème");
}

#[tokio::test]
async fn concurrent_creates_with_one_name_get_distinct_slugs() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let requests = (0..8).map(|_| app.post(ADMIN, Some(&staff.access), json!({"name": "Sale"})));
    let responses = futures_join_all(requests).await;

    let mut slugs: Vec<String> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["slug"].as_str().unwrap().to_owned()
        })
        .collect();
    slugs.sort();
    let mut expected: Vec<String> = (1..=8).map(|n| if n == 1 { "sale".into() } else { format!("sale-{n}") }).collect();
    expected.sort();
    assert_eq!(slugs, expected);
}

#[tokio::test]
async fn a_taken_explicit_slug_is_409_slug_taken() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    create(&app, &staff.access, json!({"name": "Books"})).await;
    let other = create(&app, &staff.access, json!({"name": "Novels", "slug": "novels"})).await;
    assert_eq!(other["slug"], "novels");

    app.post(ADMIN, Some(&staff.access), json!({"name": "More books", "slug": "books"}))
        .await
        .assert_problem(409, "slug_taken");
    patch(&app, &staff.access, id(&other), json!({"slug": "books"})).await.assert_problem(409, "slug_taken");
    let renamed = patch(&app, &staff.access, id(&other), json!({"slug": "fiction", "name": "Fiction"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["slug"], "fiction");
    assert_eq!(app.get("/api/v1/categories/fiction", None).await.body["name"], "Fiction");
    app.get("/api/v1/categories/novels", None).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn bad_fields_are_422_listing_every_one() {
    let app = spawn_app().await;
    let staff = app.staff().await;

    let all_bad = app
        .post(
            ADMIN,
            Some(&staff.access),
            json!({"name": " ", "slug": "Bad_Slug", "parent_id": "cat_01JAAAAAAAAAAAAAAAAAAAAAAA", "position": -1}),
        )
        .await;
    let long =
        app.post(ADMIN, Some(&staff.access), json!({"name": "n".repeat(101), "description": "d".repeat(5001)})).await;
    let missing_name = app.post(ADMIN, Some(&staff.access), json!({"slug": "x"})).await;

    all_bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> =
        all_bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "slug", "position", "parent_id"], "{}", all_bad.text);
    long.assert_problem(422, "validation_failed");
    assert_eq!(long.body["errors"].as_array().unwrap().len(), 2, "{}", long.text);
    missing_name.assert_problem(400, "bad_request");
    assert_eq!(app.get("/api/v1/categories", None).await.body["items"], json!([]));

    let ok = create(&app, &staff.access, json!({"name": "n".repeat(100), "description": "d".repeat(5000)})).await;
    patch(&app, &staff.access, id(&ok), json!({"name": "", "slug": "a--b"}))
        .await
        .assert_problem(422, "validation_failed");
    patch(&app, &staff.access, id(&ok), json!({"parent_id": "nope"})).await.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn moving_a_subtree_carries_its_descendants_along() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let graphic = create(&app, &staff.access, json!({"name": "Graphic Tees", "parent_id": id(&shop.tshirts)})).await;

    let moved = patch(&app, &staff.access, id(&shop.tshirts), json!({"parent_id": id(&shop.books)})).await;

    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["parent_id"], shop.books["id"]);
    assert_eq!(moved.body["position"], 6, "after the last sibling (non-fiction at 5)");
    assert_eq!(ancestors_of(&app, id(&graphic)).await, ["Books", "T-Shirts"]);
    let tree = app.get("/api/v1/categories", None).await.body;
    assert_eq!(names(&tree["items"][0]["children"]), ["Jeans"]);
    assert_eq!(names(&tree["items"][1]["children"]), ["Fiction", "Non-Fiction", "T-Shirts"]);
    assert_eq!(names(&tree["items"][1]["children"][2]["children"]), ["Graphic Tees"]);

    let to_root = patch(&app, &staff.access, id(&shop.tshirts), json!({"parent_id": null, "position": 0})).await;
    assert_eq!(to_root.status, 200, "{}", to_root.text);
    assert_eq!(to_root.body["parent_id"], Value::Null);
    assert_eq!(ancestors_of(&app, id(&graphic)).await, ["T-Shirts"]);
    assert_eq!(ancestors_of(&app, "t-shirts").await, Vec::<String>::new());
    let tree = app.get("/api/v1/categories", None).await.body;
    assert_eq!(names(&tree["items"]), ["Apparel", "T-Shirts", "Books"]);

    // A rename leaves the parent alone.
    let renamed = patch(&app, &staff.access, id(&shop.jeans), json!({"name": "Denim"})).await;
    assert_eq!(renamed.body["parent_id"], shop.apparel["id"]);
    assert_eq!(renamed.body["slug"], "jeans", "slugs are stable across renames");
    assert_eq!(ancestors_of(&app, "jeans").await, ["Apparel"]);
}

#[tokio::test]
async fn moving_under_itself_or_a_descendant_is_409_category_cycle() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let graphic = create(&app, &staff.access, json!({"name": "Graphic Tees", "parent_id": id(&shop.tshirts)})).await;
    let before = app.get("/api/v1/categories", None).await.body;

    patch(&app, &staff.access, id(&shop.apparel), json!({"parent_id": id(&shop.apparel)}))
        .await
        .assert_problem(409, "category_cycle");
    patch(&app, &staff.access, id(&shop.apparel), json!({"parent_id": id(&graphic)}))
        .await
        .assert_problem(409, "category_cycle");
    patch(&app, &staff.access, id(&shop.tshirts), json!({"parent_id": id(&graphic), "name": "Changed"}))
        .await
        .assert_problem(409, "category_cycle");

    assert_eq!(app.get("/api/v1/categories", None).await.body, before);
}

#[tokio::test]
async fn concurrent_cross_moves_never_form_a_cycle() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let a = create(&app, &staff.access, json!({"name": "A"})).await;
    let b = create(&app, &staff.access, json!({"name": "B"})).await;

    let (ab, ba) = tokio::join!(
        patch(&app, &staff.access, id(&a), json!({"parent_id": id(&b)})),
        patch(&app, &staff.access, id(&b), json!({"parent_id": id(&a)})),
    );

    let mut statuses = [ab.status.as_u16(), ba.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", ab.text, ba.text);
    let tree = app.get("/api/v1/categories", None).await.body;
    assert_eq!(tree["items"].as_array().unwrap().len(), 1, "one root holding the other: {tree}");
    assert_eq!(tree["items"][0]["children"].as_array().unwrap().len(), 1, "{tree}");
}

#[tokio::test]
async fn a_category_in_use_is_409_category_not_empty() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let now: i64 = 1_764_000_000_000;
    sqlx::query(
        "INSERT INTO products (id, slug, name, name_key, status, category_id, currency, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind("prod_01JAAAAAAAAAAAAAAAAAAAAAAA")
    .bind("old-jeans")
    .bind("Old jeans")
    .bind("old jeans")
    .bind("archived")
    .bind(id(&shop.jeans))
    .bind("INR")
    .bind(now)
    .execute(app.state.db.pool())
    .await
    .unwrap();

    let with_children = app.delete(&format!("{ADMIN}/{}", id(&shop.apparel)), Some(&staff.access)).await;
    let with_product = app.delete(&format!("{ADMIN}/{}", id(&shop.jeans)), Some(&staff.access)).await;

    with_children.assert_problem(409, "category_not_empty");
    with_product.assert_problem(409, "category_not_empty");
    assert_eq!(app.get("/api/v1/categories/jeans", None).await.status, 200);
}

#[tokio::test]
async fn deleting_a_leaf_is_204_and_then_it_is_gone() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let path = format!("{ADMIN}/{}", id(&shop.fiction));

    let deleted = app.delete(&path, Some(&staff.access)).await;

    assert_eq!(deleted.status, 204, "{}", deleted.text);
    app.get("/api/v1/categories/fiction", None).await.assert_problem(404, "not_found");
    app.delete(&path, Some(&staff.access)).await.assert_problem(404, "not_found");
    let books = app.get("/api/v1/categories/books", None).await;
    assert_eq!(names(&books.body["children"]), ["Non-Fiction"]);
    // Once empty, the parent can go too.
    let non_fiction = format!("{ADMIN}/{}", id(&shop.non_fiction));
    assert_eq!(app.delete(&non_fiction, Some(&staff.access)).await.status, 204);
    assert_eq!(app.delete(&format!("{ADMIN}/{}", id(&shop.books)), Some(&staff.access)).await.status, 204);
}

#[tokio::test]
async fn staff_endpoints_need_a_staff_token() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (_, _, customer) = app.customer().await;
    let books = create(&app, &staff.access, json!({"name": "Books"})).await;
    let one = format!("{ADMIN}/{}", id(&books));

    for token in [None, Some(customer.access.as_str())] {
        let (status, code) = if token.is_none() { (401, "unauthenticated") } else { (403, "forbidden") };
        app.get(ADMIN, token).await.assert_problem(status, code);
        app.post(ADMIN, token, json!({"name": "Toys"})).await.assert_problem(status, code);
        app.get(&one, token).await.assert_problem(status, code);
        app.patch(&one, token, json!({"name": "Toys"})).await.assert_problem(status, code);
        app.delete(&one, token).await.assert_problem(status, code);
    }
    assert_eq!(app.get("/api/v1/categories/books", None).await.body["name"], "Books");
    assert_eq!(app.get(&one, Some(&staff.access)).await.body["name"], "Books");
}

#[tokio::test]
async fn the_admin_list_pages_with_cursors() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let shop = shop(&app, &staff.access).await;
    let created = [&shop.books, &shop.apparel, &shop.tshirts, &shop.jeans, &shop.non_fiction, &shop.fiction];
    let token = Some(staff.access.as_str());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{ADMIN}?limit=1&cursor={c}"),
            None => format!("{ADMIN}?limit=1"),
        };
        let page = app.get(&path, token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
        seen.push(page.body["items"][0]["id"].as_str().unwrap().to_owned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // Id order: ULIDs, so creation order up to the millisecond.
    let mut expected: Vec<&str> = created.iter().map(|c| id(c)).collect();
    expected.sort();
    assert_eq!(seen, expected, "every category once, in id order");

    let exact = app.get(&format!("{ADMIN}?limit=6"), token).await;
    assert_eq!(exact.body["items"].as_array().unwrap().len(), 6);
    assert_eq!(exact.body["next_cursor"], Value::Null, "null exactly on the last page");

    let children = app.get(&format!("{ADMIN}?parent_id={}&limit=1", id(&shop.apparel)), token).await;
    let next = children.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("{ADMIN}?parent_id={}&limit=1&cursor={next}", id(&shop.apparel)), token).await;
    assert_eq!(second.body["next_cursor"], Value::Null);
    let mut got =
        [children.body["items"][0]["name"].as_str().unwrap(), second.body["items"][0]["name"].as_str().unwrap()];
    got.sort();
    assert_eq!(got, ["Jeans", "T-Shirts"]);

    app.get(&format!("{ADMIN}?cursor={next}"), token).await.assert_problem(400, "invalid_cursor");
    app.get(&format!("{ADMIN}?cursor=garbage!"), token).await.assert_problem(400, "invalid_cursor");
    app.get(&format!("{ADMIN}?limit=0"), token).await.assert_problem(422, "validation_failed");
    app.get(&format!("{ADMIN}?limit=101"), token).await.assert_problem(422, "validation_failed");
}
