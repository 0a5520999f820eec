//! `/api/v1/admin/customers*`: staff listing, reading and changing accounts, and the guards.

use serde_json::{Value, json};

use crate::helpers::*;

async fn register_as(app: &TestApp, email: &str) -> Tokens {
    let response = app.register(email, &password()).await;
    assert_eq!(response.status, 201, "register: {}", response.text);
    Tokens::from_body(&response.body)
}

fn emails(body: &Value) -> Vec<String> {
    body["items"].as_array().expect("items").iter().map(|u| u["email"].as_str().expect("email").to_owned()).collect()
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().expect("items").iter().map(|u| u["id"].as_str().expect("id").to_owned()).collect()
}

/// Follows `next_cursor` from `first_path` to the end; returns the ids and each page's size.
async fn all_pages(app: &TestApp, token: &str, first_path: &str) -> (Vec<String>, Vec<usize>) {
    let mut path = first_path.to_owned();
    let (mut seen, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let page = app.get(&path, Some(token)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let page_ids = ids(&page.body);
        sizes.push(page_ids.len());
        seen.extend(page_ids);
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first_path}&cursor={cursor}"),
            None => return (seen, sizes),
        }
    }
}

async fn patch_user(app: &TestApp, staff: &Tokens, user_id: &str, body: Value) -> TestResponse {
    app.patch(&format!("/api/v1/admin/customers/{user_id}"), Some(&staff.access), body).await
}

#[track_caller]
fn assert_field_error(response: &TestResponse) {
    response.assert_problem(422, "validation_failed");
    assert!(response.body["errors"].as_array().is_some_and(|e| !e.is_empty()), "errors[]: {}", response.text);
}

// ---- guards ------------------------------------------------------------------------------

#[tokio::test]
async fn admin_customers_without_a_token_returns_401() {
    let app = spawn_app().await;
    let (_, _, customer) = app.customer().await;
    let one = format!("/api/v1/admin/customers/{}", customer.user_id);

    app.get("/api/v1/admin/customers", None).await.assert_problem(401, "unauthenticated");
    app.get(&one, None).await.assert_problem(401, "unauthenticated");
    app.patch(&one, None, json!({"active": false})).await.assert_problem(401, "unauthenticated");
    app.get("/api/v1/admin/customers", Some("garbage")).await.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn admin_customers_with_a_customer_token_returns_403_forbidden() {
    let app = spawn_app().await;
    let (_, _, customer) = app.customer().await;
    let (_, _, victim) = app.customer().await;
    let one = format!("/api/v1/admin/customers/{}", victim.user_id);

    app.get("/api/v1/admin/customers", Some(&customer.access)).await.assert_problem(403, "forbidden");
    app.get(&one, Some(&customer.access)).await.assert_problem(403, "forbidden");
    app.patch(&one, Some(&customer.access), json!({"active": false})).await.assert_problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/admin/customers/{}", customer.user_id),
        Some(&customer.access),
        json!({"role": "staff"}),
    )
    .await
    .assert_problem(403, "forbidden");

    assert_eq!(app.get("/api/v1/me", Some(&victim.access)).await.status, 200, "the victim is untouched");
}

// ---- list --------------------------------------------------------------------------------

#[tokio::test]
async fn listing_returns_customers_oldest_first_without_staff_or_secrets() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let a = register_as(&app, &unique_email("a")).await;
    let b = register_as(&app, &unique_email("b")).await;

    let response = app.get("/api/v1/admin/customers", Some(&staff.access)).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(ids(&response.body), vec![a.user_id, b.user_id]);
    assert!(response.body["next_cursor"].is_null());
    assert!(response.body["items"].as_array().unwrap().iter().all(|u| u["role"] == "customer"));
    assert!(!response.text.contains("password_hash") && !response.text.contains("$argon2"));
}

#[tokio::test]
async fn listing_with_role_staff_lists_staff_only() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let colleague = app.staff().await;
    app.customer().await;

    let response = app.get("/api/v1/admin/customers?role=staff", Some(&staff.access)).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(ids(&response.body), vec![staff.user_id, colleague.user_id]);
    assert!(response.body["items"].as_array().unwrap().iter().all(|u| u["role"] == "staff"));
    app.get("/api/v1/admin/customers?role=superuser", Some(&colleague.access)).await.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn listing_filters_by_email_prefix_case_insensitively() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let alice = unique_email("alice");
    let alicia = unique_email("alicia");
    register_as(&app, &alice).await;
    register_as(&app, &alicia).await;
    register_as(&app, &unique_email("bob")).await;
    register_as(&app, &unique_email("xali")).await;

    let ali = app.get("/api/v1/admin/customers?email=ali", Some(&staff.access)).await;
    let upper = app.get("/api/v1/admin/customers?email=ALIC", Some(&staff.access)).await;
    let exact = app.get(&format!("/api/v1/admin/customers?email={alice}"), Some(&staff.access)).await;

    assert_eq!(ali.status, 200, "{}", ali.text);
    assert_eq!(emails(&ali.body), vec![alice.clone(), alicia.clone()]);
    assert_eq!(emails(&upper.body), vec![alice.clone(), alicia]);
    assert_eq!(emails(&exact.body), vec![alice]);
}

#[tokio::test]
async fn the_email_filter_treats_like_wildcards_literally() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    register_as(&app, &unique_email("plain")).await;

    for pattern in ["%25", "_", "%25plain", "p_ain"] {
        let response = app.get(&format!("/api/v1/admin/customers?email={pattern}"), Some(&staff.access)).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(emails(&response.body), Vec::<String>::new(), "`{pattern}` is not a wildcard");
    }
    let with_underscore = unique_email("under_score");
    register_as(&app, &with_underscore).await;
    let response = app.get("/api/v1/admin/customers?email=under_", Some(&staff.access)).await;
    assert_eq!(emails(&response.body), vec![with_underscore]);
}

#[tokio::test]
async fn listing_paginates_with_a_cursor_that_is_null_exactly_on_the_last_page() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mut registered = Vec::new();
    for n in 0..5 {
        registered.push(register_as(&app, &unique_email(&format!("page{n}"))).await.user_id);
    }

    let (seen, sizes) = all_pages(&app, &staff.access, "/api/v1/admin/customers?limit=2").await;

    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen, registered);
    let (seen, sizes) = all_pages(&app, &staff.access, "/api/v1/admin/customers?limit=5").await;
    assert_eq!(sizes, vec![5], "a full last page has no next cursor");
    assert_eq!(seen, registered);
}

#[tokio::test]
async fn listing_pages_keep_the_email_filter() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mut wanted = Vec::new();
    for n in 0..3 {
        wanted.push(register_as(&app, &unique_email(&format!("keep{n}"))).await.user_id);
        register_as(&app, &unique_email(&format!("drop{n}"))).await;
    }

    let (seen, sizes) = all_pages(&app, &staff.access, "/api/v1/admin/customers?email=keep&limit=2").await;

    assert_eq!(sizes, vec![2, 1]);
    assert_eq!(seen, wanted);
}

#[tokio::test]
async fn a_cursor_from_other_filters_or_garbage_returns_400_invalid_cursor() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for _ in 0..3 {
        app.customer().await;
    }
    let first = app.get("/api/v1/admin/customers?limit=1", Some(&staff.access)).await;
    let cursor = first.body["next_cursor"].as_str().expect("next page").to_owned();

    for path in [
        format!("/api/v1/admin/customers?limit=1&role=staff&cursor={cursor}"),
        format!("/api/v1/admin/customers?limit=1&email=customer&cursor={cursor}"),
        "/api/v1/admin/customers?cursor=garbage!".to_owned(),
        "/api/v1/admin/customers?cursor=e30".to_owned(),
    ] {
        app.get(&path, Some(&staff.access)).await.assert_problem(400, "invalid_cursor");
    }
    let same =
        app.get(&format!("/api/v1/admin/customers?limit=1&role=customer&cursor={cursor}"), Some(&staff.access)).await;
    assert_eq!(same.status, 200, "the default role is customer: {}", same.text);
}

#[tokio::test]
async fn listing_limits_outside_1_to_100_return_422() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for limit in [0, 101] {
        let response = app.get(&format!("/api/v1/admin/customers?limit={limit}"), Some(&staff.access)).await;
        assert_field_error(&response);
        assert_eq!(response.body["errors"][0]["field"], "limit");
    }
}

// ---- one account -------------------------------------------------------------------------

#[tokio::test]
async fn get_one_account_returns_it() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (email, _, customer) = app.customer().await;

    let response = app.get(&format!("/api/v1/admin/customers/{}", customer.user_id), Some(&staff.access)).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["id"], customer.user_id.as_str());
    assert_eq!(response.body["email"], email);
    assert_eq!(response.body["role"], "customer");
    assert_eq!(response.body["active"], true);
    assert!(response.body.get("password_hash").is_none());
}

#[tokio::test]
async fn an_unknown_account_is_404() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let path = "/api/v1/admin/customers/usr_01JAAAAAAAAAAAAAAAAAAAAAAA";

    app.get(path, Some(&staff.access)).await.assert_problem(404, "not_found");
    app.patch(path, Some(&staff.access), json!({"active": false})).await.assert_problem(404, "not_found");
}

// ---- changes -----------------------------------------------------------------------------

#[tokio::test]
async fn deactivating_an_account_takes_effect_on_its_next_request() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (email, pw, customer) = app.customer().await;
    assert_eq!(app.get("/api/v1/me", Some(&customer.access)).await.status, 200);

    let response = patch_user(&app, &staff, &customer.user_id, json!({"active": false})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["active"], false);
    assert_eq!(response.body["role"], "customer");
    app.get("/api/v1/me", Some(&customer.access)).await.assert_problem(403, "account_disabled");
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": customer.refresh}))
        .await
        .assert_problem(403, "account_disabled");
    app.login(&email, &pw).await.assert_problem(403, "account_disabled");
    let listed = app.get(&format!("/api/v1/admin/customers/{}", customer.user_id), Some(&staff.access)).await;
    assert_eq!(listed.body["active"], false);
}

#[tokio::test]
async fn reactivating_an_account_lets_it_log_in_but_its_old_sessions_stay_ended() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (email, pw, customer) = app.customer().await;
    patch_user(&app, &staff, &customer.user_id, json!({"active": false})).await;

    let response = patch_user(&app, &staff, &customer.user_id, json!({"active": true})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["active"], true);
    assert_eq!(app.login(&email, &pw).await.status, 200);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": customer.refresh}))
        .await
        .assert_problem(401, "token_invalid");
}

#[tokio::test]
async fn promoting_a_customer_to_staff_grants_admin_access_without_a_new_token() {
    let app = spawn_app().await;
    let staff = app.admin().await;
    let (_, _, customer) = app.customer().await;
    app.get("/api/v1/admin/customers", Some(&customer.access)).await.assert_problem(403, "forbidden");

    let response = patch_user(&app, &staff, &customer.user_id, json!({"role": "staff"})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["role"], "staff");
    let listing = app.get("/api/v1/admin/customers?role=staff", Some(&customer.access)).await;
    assert_eq!(listing.status, 200, "{}", listing.text);
    assert!(ids(&listing.body).contains(&customer.user_id));

    // And back: the same token loses access on the next request.
    let demoted = patch_user(&app, &staff, &customer.user_id, json!({"role": "customer"})).await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    app.get("/api/v1/admin/customers", Some(&customer.access)).await.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn nobody_can_deactivate_or_demote_themselves() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    assert_field_error(&patch_user(&app, &admin, &admin.user_id, json!({"active": false})).await);
    assert_field_error(&patch_user(&app, &admin, &admin.user_id, json!({"role": "staff"})).await);

    let me = app.get(&format!("/api/v1/admin/customers/{}", admin.user_id), Some(&admin.access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["active"], true);
    // A no-op change of one's own account is fine.
    assert_eq!(patch_user(&app, &admin, &admin.user_id, json!({"active": true})).await.status, 200);
}

/// Guards item 7 of issue 8: plain staff can no longer promote themselves, promote customers,
/// or demote or deactivate other staff (before, any staff member could do all of it).
#[tokio::test]
async fn staff_cannot_change_roles_or_deactivate_staff() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let colleague = app.staff().await;
    let admin = app.admin().await;
    let (_, _, customer) = app.customer().await;

    for (target, body) in [
        (&staff.user_id, json!({"role": "admin"})),
        (&customer.user_id, json!({"role": "staff"})),
        (&colleague.user_id, json!({"role": "customer"})),
        (&colleague.user_id, json!({"active": false})),
        (&admin.user_id, json!({"active": false})),
    ] {
        patch_user(&app, &staff, target, body.clone()).await.assert_problem(403, "forbidden");
    }

    let roles = app.get("/api/v1/admin/customers?role=staff", Some(&staff.access)).await;
    assert!(ids(&roles.body).contains(&staff.user_id) && ids(&roles.body).contains(&colleague.user_id));
    // Staff still manage customers.
    let response = patch_user(&app, &staff, &customer.user_id, json!({"active": false})).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn an_admin_can_change_roles_and_deactivate_staff() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let colleague = app.staff().await;

    let promoted = patch_user(&app, &admin, &staff.user_id, json!({"role": "admin"})).await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.body["role"], "admin");
    // The promoted admin may now do it too, with the token it already had.
    let response = patch_user(&app, &staff, &colleague.user_id, json!({"active": false})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    app.get("/api/v1/admin/customers", Some(&colleague.access)).await.assert_problem(403, "account_disabled");
    let listing = app.get("/api/v1/admin/customers?role=admin", Some(&admin.access)).await;
    assert_eq!(listing.status, 200, "{}", listing.text);
    assert!(ids(&listing.body).contains(&staff.user_id));
}

/// Guards: the migration that introduces admins makes the oldest staff account of an existing
/// shop its admin (and only that one). Runs the migrations as files on a fresh database, with
/// two staff accounts inserted before the admin migration.
#[tokio::test]
async fn the_admin_migration_makes_the_oldest_staff_account_an_admin() {
    use sqlx::{Connection, Executor};
    let app = spawn_app().await;
    let backend = if app.db_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let schema = format!("mig_{}", ulid::Ulid::new().to_string().to_lowercase());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend);
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("migrations").map(|e| e.expect("entry").path()).collect();
    files.sort();
    // A separate database: a SQLite file beside the test's, or a schema on PostgreSQL.
    let url = match backend {
        "sqlite" => format!("{}?mode=rwc", app.db_url.replace("test.db", "migration.db")),
        _ => app.db_url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    if backend == "postgres" {
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}; SET search_path TO {schema}")))
            .await
            .expect("schema");
    }
    for file in &files {
        let name = file.file_name().expect("name").to_string_lossy().into_owned();
        if name.as_str() >= "20261202000001" && name.ends_with(".sql") && name.contains("admin_role") {
            for (id, email, at) in [("usr_b", "second@example.com", 2), ("usr_a", "first@example.com", 1)] {
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, role, active, created_at, updated_at)                      VALUES ($1, $2, 'x', 'staff', 1, $3, $3)",
                )
                .bind(id)
                .bind(email)
                .bind(at)
                .execute(&mut conn)
                .await
                .expect("staff before the migration");
            }
        }
        let sql = std::fs::read_to_string(file).expect("migration file");
        conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    let roles: Vec<(String, String)> =
        sqlx::query_as("SELECT email, role FROM users ORDER BY email").fetch_all(&mut conn).await.expect("roles");
    assert_eq!(
        roles,
        [("first@example.com".to_owned(), "admin".to_owned()), ("second@example.com".to_owned(), "staff".to_owned())]
    );
    if backend == "postgres" {
        conn.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await.expect("drop schema");
    }
}

#[tokio::test]
async fn patching_an_account_with_an_unknown_role_or_wrong_types_returns_400() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (_, _, customer) = app.customer().await;

    for body in [json!({"role": "superuser"}), json!({"active": "nope"}), json!({"role": 1})] {
        patch_user(&app, &staff, &customer.user_id, body).await.assert_problem(400, "bad_request");
    }
    let unchanged = app.get(&format!("/api/v1/admin/customers/{}", customer.user_id), Some(&staff.access)).await;
    assert_eq!(unchanged.body["role"], "customer");
    assert_eq!(unchanged.body["active"], true);
}
