//! The in-memory cache of storefront list pages: hot pages skip the database, a committed staff
//! change on the instance shows at once (a refused or read-only request does not clear it),
//! pages expire after `catalog.cache_ttl`, and `"0s"` turns the cache off.

use std::time::Duration;

use serde_json::json;

use crate::{helpers::*, products::simple_product};

async fn names(app: &TestApp) -> Vec<String> {
    let page = app.get("/api/v1/products?limit=100", None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

/// Renames a product behind the engine's back, as another instance would.
async fn rename_in_database(app: &TestApp, product_id: &str, name: &str) {
    sqlx::query("UPDATE products SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(product_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cached_page_is_served_until_a_staff_change_on_this_instance() {
    let app = spawn_app_with(|cfg| cfg.catalog.cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let lamp_id = lamp["id"].as_str().unwrap();
    assert_eq!(names(&app).await, ["Lamp"]);

    // Another instance's change is not seen while the page is cached…
    rename_in_database(&app, lamp_id, "Renamed elsewhere").await;
    assert_eq!(names(&app).await, ["Lamp"]);

    // …but any staff change here clears the cache at once.
    simple_product(&app, &staff.access, "Chair", 2000, 1).await;
    let mut seen = names(&app).await;
    seen.sort();
    assert_eq!(seen, ["Chair", "Renamed elsewhere"]);
}

/// Guards: the expiry claim was untested; pages now expire on the engine's (manual) clock.
#[tokio::test]
async fn a_cached_page_expires_after_the_ttl() {
    let app = spawn_app_with(|cfg| cfg.catalog.cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;

    app.clock.advance(Duration::from_secs(59));
    assert_eq!(names(&app).await, ["Lamp"], "still within the TTL");
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(names(&app).await, ["Renamed elsewhere"], "expired after 60 s");
}

/// Guards: any non-GET under /api/v1/admin/ used to clear the cache, even an anonymous 401,
/// a refused write and the read-only pricing preview; only a committed write clears it now.
#[tokio::test]
async fn refused_and_read_only_admin_requests_leave_the_cache_alone() {
    let app = spawn_app_with(|cfg| cfg.catalog.cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let variant = lamp["variants"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;

    let anonymous = app.post("/api/v1/admin/products", None, json!({"name": "X", "price": 1, "sku": "X-1"})).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let refused = app.post("/api/v1/admin/products", Some(&staff.access), json!({"name": "", "price": -1})).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let too_few = app
        .patch(&format!("/api/v1/admin/variants/{variant}"), Some(&staff.access), json!({"stock_adjustment": -5}))
        .await;
    assert_eq!(too_few.status, 409, "{}", too_few.text);
    let preview = app
        .post(
            "/api/v1/admin/pricing/preview",
            Some(&staff.access),
            json!({"lines": [{"variant_id": variant, "quantity": 1}]}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(names(&app).await, ["Lamp"], "nothing was written");

    let renamed = app
        .patch(
            &format!("/api/v1/admin/products/{}", lamp["id"].as_str().unwrap()),
            Some(&staff.access),
            json!({"name": "Lamp 2"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(names(&app).await, ["Lamp 2"]);
}

#[tokio::test]
async fn a_zero_ttl_turns_the_cache_off() {
    let app = spawn_app_with(|cfg| cfg.catalog.cache_ttl = Duration::ZERO).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;
    assert_eq!(names(&app).await, ["Renamed elsewhere"]);
}

#[tokio::test]
async fn stock_changes_by_staff_show_on_cards_at_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let card = |body: &serde_json::Value| body["items"][0]["in_stock"].as_bool().unwrap();
    assert!(card(&app.get("/api/v1/products", None).await.body));
    let variant = lamp["variants"][0]["id"].as_str().unwrap();
    let r = app
        .patch(&format!("/api/v1/admin/variants/{variant}"), Some(&staff.access), json!({"stock_adjustment": -1}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!card(&app.get("/api/v1/products", None).await.body));
}

// ---- ETags ------------------------------------------------------------------------------------

async fn conditional_get(app: &TestApp, path: &str, etag: &str) -> TestResponse {
    let request = app.client.get(app.url(path)).header("If-None-Match", etag);
    TestApp::read(request.send().await.expect("request sent")).await
}

#[tokio::test]
async fn storefront_reads_carry_a_strong_etag_and_revalidate_with_304() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let category = crate::products::create_category(&app, &staff.access, json!({"name": "Lamps"})).await;
    let lamp = crate::products::create_product(
        &app,
        &staff.access,
        json!({"name": "Lamp", "price": 1000, "sku": "ETAG-1", "stock": 3, "category_id": category["id"]}),
    )
    .await;
    let paths = [
        "/api/v1/products?limit=5".to_owned(),
        format!("/api/v1/products/{}", lamp["slug"].as_str().unwrap()),
        format!("/api/v1/products/{}", lamp["id"].as_str().unwrap()),
        "/api/v1/categories".to_owned(),
        format!("/api/v1/categories/{}", category["slug"].as_str().unwrap()),
    ];
    for path in &paths {
        let first = app.get(path, None).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        let etag = first.header("etag").unwrap_or_else(|| panic!("{path} has an ETag")).to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "strong: {etag}");
        assert_eq!(first.header("cache-control"), Some("public, max-age=0, must-revalidate"), "{path}");
        let again = app.get(path, None).await;
        assert_eq!((again.header("etag"), &again.text), (Some(etag.as_str()), &first.text), "{path}: same bytes");

        let unchanged = conditional_get(&app, path, &etag).await;
        assert_eq!(unchanged.status, 304, "{path}");
        assert!(unchanged.text.is_empty(), "a 304 has no body");
        assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
        assert_eq!(unchanged.header("cache-control"), Some("public, max-age=0, must-revalidate"));
        let listed = conditional_get(&app, path, &format!("\"other\", W/{etag}")).await;
        assert_eq!(listed.status, 304, "{path}: weak comparison over a list");
        assert_eq!(conditional_get(&app, path, "\"other\"").await.status, 200, "{path}");
    }

    // A change gives the product page and the list a new tag; the old one answers 200 again.
    let product_path = &paths[1];
    let old = app.get(product_path, None).await.header("etag").unwrap().to_owned();
    let old_list = app.get(&paths[0], None).await.header("etag").unwrap().to_owned();
    let renamed = app
        .patch(
            &format!("/api/v1/admin/products/{}", lamp["id"].as_str().unwrap()),
            Some(&staff.access),
            json!({"name": "Desk lamp"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let fresh = conditional_get(&app, product_path, &old).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["name"], "Desk lamp");
    assert_ne!(fresh.header("etag"), Some(old.as_str()));
    assert_eq!(conditional_get(&app, &paths[0], &old_list).await.status, 200, "the card changed too");

    // Not found is never cached, and has no entity tag.
    let missing = app.get("/api/v1/products/no-such-product", None).await;
    missing.assert_problem(404, "not_found");
    assert_eq!(missing.header("etag"), None);
}

// ---- cached = uncached --------------------------------------------------------------------------

/// Every storefront read of the shop, for comparing a cached instance with an uncached one.
async fn storefront_paths(app: &TestApp) -> Vec<String> {
    let mut paths: Vec<String> = [
        "/api/v1/products?limit=100",
        "/api/v1/products?limit=1",
        "/api/v1/products?limit=100&sort=price_asc",
        "/api/v1/products?limit=100&sort=name",
        "/api/v1/products?limit=100&in_stock=true",
        "/api/v1/products?q=lamp",
        "/api/v1/products?category=lighting",
        "/api/v1/categories",
        "/api/v1/categories/lighting",
        "/api/v1/categories/desks",
    ]
    .map(str::to_owned)
    .to_vec();
    let first = app.get("/api/v1/products?limit=1", None).await;
    if let Some(cursor) = first.body["next_cursor"].as_str() {
        paths.push(format!("/api/v1/products?limit=1&cursor={cursor}"));
    }
    // Every product ever created, by id and slug (archived ones are 404 on both).
    let all = app.get("/api/v1/admin/products?limit=100", Some(&app.staff().await.access)).await;
    for product in all.body["items"].as_array().unwrap() {
        paths.push(format!("/api/v1/products/{}", product["id"].as_str().unwrap()));
        paths.push(format!("/api/v1/products/{}", product["slug"].as_str().unwrap()));
    }
    paths
}

/// What a reader gets: status, tag and bytes.
async fn read_raw(client: &reqwest::Client, url: String) -> (u16, Option<String>, String) {
    let response = client.get(url).send().await.expect("request sent");
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, etag, response.text().await.expect("body"))
}

/// The differences between the cached instance (read twice: a miss, then a hit) and the
/// uncached one, on every path.
async fn differences(app: &TestApp, uncached: &Peer) -> Vec<String> {
    let mut found = Vec::new();
    for path in storefront_paths(app).await {
        let truth = read_raw(&app.client, uncached.url(&path)).await;
        for attempt in ["first", "second"] {
            let cached = read_raw(&app.client, app.url(&path)).await;
            if cached != truth {
                found.push(format!("{path} ({attempt} read): cached {cached:?}\n  uncached {truth:?}"));
            }
        }
    }
    found
}

/// On PostgreSQL a write made through the other instance reaches the cached one by `NOTIFY`
/// within milliseconds: wait for that (bounded); a write made through it must match at once.
async fn assert_same(app: &TestApp, uncached: &Peer, step: &str, through_peer: bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(if through_peer { 2 } else { 0 });
    loop {
        let found = differences(app, uncached).await;
        if found.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "after {step}:\n{}", found.join("\n"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_cached_answer_equals_the_uncached_one_across_a_sequence_of_writes() {
    let app = spawn_app().await;
    // The same database served without a cache: the truth.
    let uncached = app.peer(|cfg| cfg.catalog.cache_ttl = Duration::ZERO).await;
    let postgres = app.state.db.backend() == commerce_engine::db::Backend::Postgres;
    let staff = app.staff().await;
    let token = staff.access.as_str();
    // On PostgreSQL every other write goes through the uncached instance, so the cached one
    // only learns of it by NOTIFY.
    let mut writes = 0;
    let mut writer = || {
        writes += 1;
        postgres && writes % 2 == 0
    };
    macro_rules! write {
        ($step:expr, $method:ident, $path:expr, $body:expr, $status:expr) => {{
            let through_peer = writer();
            let base = if through_peer { uncached.base.clone() } else { app.base.clone() };
            let response = app
                .client
                .$method(format!("{base}{}", $path))
                .bearer_auth(token)
                .json(&$body)
                .send()
                .await
                .expect("request sent");
            let response = TestApp::read(response).await;
            assert_eq!(response.status.as_u16(), $status, "{}: {}", $step, response.text);
            assert_same(&app, &uncached, $step, through_peer).await;
            response.body
        }};
    }

    let lighting = write!("a category", post, "/api/v1/admin/categories", json!({"name": "Lighting"}), 201);
    let desks = write!(
        "a subcategory",
        post,
        "/api/v1/admin/categories",
        json!({"name": "Desks", "parent_id": lighting["id"]}),
        201
    );
    let lamp = write!(
        "a product",
        post,
        "/api/v1/admin/products",
        json!({"name": "Lamp", "price": 2500, "sku": "EQ-LAMP", "stock": 1, "category_id": desks["id"]}),
        201
    );
    let chair = write!(
        "a product with options",
        post,
        "/api/v1/admin/products",
        json!({"name": "Chair", "options": [{"name": "Colour", "values": ["Red", "Blue"]}],
               "variants": [{"sku": "EQ-CH-R", "price": 4000, "stock": 2, "options": {"Colour": "Red"}},
                            {"sku": "EQ-CH-B", "price": 4500, "stock": 5, "options": {"Colour": "Blue"}}]}),
        201
    );
    let draft = write!(
        "a draft",
        post,
        "/api/v1/admin/products",
        json!({"name": "Secret lamp", "price": 100, "sku": "EQ-DRAFT", "stock": 1, "status": "draft"}),
        201
    );
    let lamp_id = lamp["id"].as_str().unwrap().to_owned();
    let chair_id = chair["id"].as_str().unwrap().to_owned();
    let red = chair["variants"][0]["id"].as_str().unwrap().to_owned();
    let lamp_variant = lamp["variants"][0]["id"].as_str().unwrap().to_owned();
    write!("a rename", patch, format!("/api/v1/admin/products/{lamp_id}"), json!({"name": "Desk lamp"}), 200);
    write!("a description", patch, format!("/api/v1/admin/products/{lamp_id}"), json!({"description": "Bright."}), 200);
    write!("a price", patch, format!("/api/v1/admin/variants/{red}"), json!({"price": 3900}), 200);
    write!("a variant sold out", patch, format!("/api/v1/admin/variants/{red}"), json!({"stock_adjustment": -2}), 200);
    write!(
        "a stock change nobody sees",
        patch,
        format!("/api/v1/admin/variants/{red}"),
        json!({"stock_adjustment": 3}),
        200
    );
    write!(
        "a variant refused (its combination exists)",
        post,
        format!("/api/v1/admin/products/{chair_id}/variants"),
        json!({"sku": "EQ-CH-R2", "price": 3000, "stock": 0, "options": {"Colour": "Red"}}),
        409
    );
    write!(
        "an option value added",
        patch,
        format!("/api/v1/admin/products/{chair_id}"),
        json!({"options": [{"name": "Colour", "values": ["Red", "Blue", "Green"]}]}),
        200
    );
    write!(
        "a cheaper variant added",
        post,
        format!("/api/v1/admin/products/{chair_id}/variants"),
        json!({"sku": "EQ-CH-G", "price": 3000, "stock": 0, "options": {"Colour": "Green"}}),
        201
    );
    write!(
        "a draft published",
        patch,
        format!("/api/v1/admin/products/{}", draft["id"].as_str().unwrap()),
        json!({"status": "active"}),
        200
    );

    // Checkout takes the last lamp (the product goes out of stock), cancelling puts it back.
    let (order, order_token) = crate::checkout::guest_order(&app, &[(&lamp_variant, 1)]).await;
    assert_same(&app, &uncached, "the last unit sold", false).await;
    let cancelled = app
        .client
        .post(app.url(&format!("/api/v1/orders/{}/cancel", order["id"].as_str().unwrap())))
        .header("X-Order-Token", order_token)
        .json(&json!({"reason": "changed my mind"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(cancelled.status(), 200);
    assert_same(&app, &uncached, "the order cancelled", false).await;

    write!(
        "a category renamed",
        patch,
        format!("/api/v1/admin/categories/{}", desks["id"].as_str().unwrap()),
        json!({"name": "Writing desks"}),
        200
    );
    write!(
        "a category moved",
        patch,
        format!("/api/v1/admin/categories/{}", desks["id"].as_str().unwrap()),
        json!({"parent_id": null}),
        200
    );
    write!("a slug changed", patch, format!("/api/v1/admin/products/{lamp_id}"), json!({"slug": "the-lamp"}), 200);
    let blue = chair["variants"][1]["id"].as_str().unwrap().to_owned();
    write!("a variant removed", delete, format!("/api/v1/admin/variants/{blue}"), json!({}), 204);
    write!(
        "a product archived",
        patch,
        format!("/api/v1/admin/products/{chair_id}"),
        json!({"status": "archived"}),
        200
    );
}

// ---- across instances (PostgreSQL) ------------------------------------------------------------

fn is_postgres(app: &TestApp) -> bool {
    app.state.db.backend() == commerce_engine::db::Backend::Postgres
}

/// Polls `path` on `peer` every 2 ms until `seen` holds; the time it took.
async fn seen_within(
    client: &reqwest::Client,
    url: &str,
    bound: Duration,
    seen: impl Fn(&serde_json::Value) -> bool,
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let body: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
        if seen(&body) {
            return started.elapsed();
        }
        assert!(started.elapsed() < bound, "not seen within {bound:?} at {url}: {body}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_change_through_one_instance_shows_on_another_within_100_ms() {
    let app = spawn_app().await;
    if !is_postgres(&app) {
        return; // One SQLite file serves one instance; covered in process above.
    }
    let peer = app.peer(|_| {}).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let variant = lamp["variants"][0]["id"].as_str().unwrap().to_owned();
    let page = peer.url(&format!("/api/v1/products/{}", lamp["slug"].as_str().unwrap()));
    let list = peer.url("/api/v1/products?limit=10");
    // Both cached on the peer.
    for _ in 0..2 {
        app.client.get(&page).send().await.unwrap();
        app.client.get(&list).send().await.unwrap();
    }

    let r = app.patch(&format!("/api/v1/admin/variants/{variant}"), Some(&staff.access), json!({"price": 1500})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bound = Duration::from_millis(100);
    seen_within(&app.client, &page, bound, |b| b["variants"][0]["price"] == 1500).await;
    seen_within(&app.client, &list, bound, |b| b["items"][0]["min_price"] == 1500).await;

    // Stock: the last unit sold through the first instance.
    crate::checkout::guest_order(&app, &[(&variant, 1)]).await;
    seen_within(&app.client, &page, bound, |b| b["in_stock"] == false && b["variants"][0]["in_stock"] == false).await;
    seen_within(&app.client, &list, bound, |b| b["items"][0]["in_stock"] == false).await;
}

/// Ends every listener connection to the app's database; how many there were.
async fn kill_listeners(app: &TestApp) -> usize {
    let pids = sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    )
    .bind(commerce_engine::db::changes::LISTENER_APPLICATION_NAME)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    for pid in &pids {
        sqlx::query("SELECT CAST(pg_terminate_backend($1) AS TEXT)")
            .bind(pid)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    pids.len()
}

/// Lets connections to the app's database in or not (from the server's `postgres` database: a
/// database cannot lock itself out).
async fn allow_connections(app: &TestApp, allow: bool) {
    use sqlx::Connection as _;
    let (server, name) = app.db_url.rsplit_once('/').expect("a database URL");
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await.expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allow}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "{what} did not happen within 15 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_instance_whose_listener_is_down_serves_uncached_then_flushes_on_reconnect() {
    let app = spawn_app().await;
    if !is_postgres(&app) {
        return;
    }
    let peer = app.peer(|_| {}).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let lamp_id = lamp["id"].as_str().unwrap().to_owned();
    let page = peer.url(&format!("/api/v1/products/{lamp_id}"));
    let name = |client: &reqwest::Client, url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap()["name"].clone() }
    };
    for _ in 0..2 {
        assert_eq!(name(&app.client, page.clone()).await, "Lamp");
    }
    // A change no instance hears of (SQL by hand) is not seen while the page is cached…
    rename_in_database(&app, &lamp_id, "Renamed by hand").await;
    assert_eq!(name(&app.client, page.clone()).await, "Lamp", "served from the peer's memory");

    // …the listener connections die and cannot come back: the peer reads the database.
    allow_connections(&app, false).await;
    assert_eq!(kill_listeners(&app).await, 2, "both instances listen");
    until("the peer noticing its listener is gone", || !peer.state.db.changes().live()).await;
    assert_eq!(name(&app.client, page.clone()).await, "Renamed by hand", "uncached while the listener is down");
    let r =
        app.patch(&format!("/api/v1/admin/products/{lamp_id}"), Some(&staff.access), json!({"name": "Lamp 3"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(name(&app.client, page.clone()).await, "Lamp 3", "a change it could not hear of shows at once");

    // Back: it resubscribes, flushes, and caches again.
    allow_connections(&app, true).await;
    until("the peer listening again", || peer.state.db.changes().live()).await;
    assert_eq!(name(&app.client, page.clone()).await, "Lamp 3");
    rename_in_database(&app, &lamp_id, "Renamed by hand again").await;
    assert_eq!(name(&app.client, page.clone()).await, "Lamp 3", "cached again");
    let r =
        app.patch(&format!("/api/v1/admin/products/{lamp_id}"), Some(&staff.access), json!({"name": "Lamp 4"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    seen_within(&app.client, &page, Duration::from_millis(100), |b| b["name"] == "Lamp 4").await;
}

#[tokio::test]
async fn a_busy_checkout_leaves_cached_pages_alone_until_stock_runs_out() {
    let app = spawn_app_with(|cfg| cfg.catalog.cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 2).await;
    let variant = lamp["variants"][0]["id"].as_str().unwrap().to_owned();
    let lamp_id = lamp["id"].as_str().unwrap().to_owned();
    assert_eq!(names(&app).await, ["Lamp"]);
    let page = format!("/api/v1/products/{lamp_id}");
    assert_eq!(app.get(&page, None).await.body["name"], "Lamp");
    rename_in_database(&app, &lamp_id, "Renamed by hand").await;

    // One of two units sold: nothing a reader sees changed, so nothing was dropped.
    crate::checkout::guest_order(&app, &[(&variant, 1)]).await;
    assert_eq!(names(&app).await, ["Lamp"], "the list stayed cached");
    assert_eq!(app.get(&page, None).await.body["name"], "Lamp", "the page stayed cached");

    // The last unit: the page and the cards show it sold out.
    crate::checkout::guest_order(&app, &[(&variant, 1)]).await;
    let read = app.get(&page, None).await;
    assert_eq!((read.body["name"].clone(), read.body["in_stock"].clone()), (json!("Renamed by hand"), json!(false)));
    assert_eq!(names(&app).await, ["Renamed by hand"]);
}
