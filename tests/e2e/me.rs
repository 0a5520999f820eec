//! `/api/v1/me*`: the signed-in customer's profile, password change and address book.

use std::{collections::BTreeSet, time::Duration};

use serde_json::{Value, json};

use crate::helpers::*;

fn address(tag: &str) -> Value {
    json!({
        "first_name": "Asha",
        "last_name": format!("Rao {tag}"),
        "line1": format!("{tag} MG Road"),
        "city": "Bengaluru",
        "postal_code": "560001",
        "country": "IN",
    })
}

async fn add_address(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/me/addresses", Some(token), body).await;
    assert_eq!(response.status, 201, "add address: {}", response.text);
    response.body
}

async fn list_addresses(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/v1/me/addresses?limit=100", Some(token)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.body["next_cursor"].is_null());
    response.body["items"].as_array().expect("items").clone()
}

/// The ids of the default addresses (there must be exactly one whenever any address exists).
async fn defaults(app: &TestApp, token: &str) -> Vec<String> {
    list_addresses(app, token)
        .await
        .iter()
        .filter(|a| a["is_default"] == true)
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

#[track_caller]
fn assert_field_error(response: &TestResponse, field: &str) {
    response.assert_problem(422, "validation_failed");
    let errors = response.body["errors"].as_array().unwrap_or_else(|| panic!("errors[]: {}", response.text));
    assert!(errors.iter().any(|e| e["field"] == field), "expected an error for `{field}`: {}", response.text);
}

// ---- profile -----------------------------------------------------------------------------

#[tokio::test]
async fn get_me_returns_the_profile_without_secrets() {
    let app = spawn_app().await;
    let (email, _, tokens) = app.customer().await;

    let response = app.get("/api/v1/me", Some(&tokens.access)).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["id"], tokens.user_id.as_str());
    assert_eq!(body["email"], email);
    assert_eq!(body["role"], "customer");
    assert_eq!(body["active"], true);
    assert_eq!(body["first_name"], "");
    assert_eq!(body["last_name"], "");
    assert!(body["phone"].is_null());
    assert!(body["created_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    assert!(body.get("password_hash").is_none());
    assert!(!response.text.contains("$argon2"));
}

#[tokio::test]
async fn register_stores_optional_names_on_the_profile() {
    let app = spawn_app().await;
    let body =
        json!({"email": unique_email("named"), "password": password(), "first_name": " Asha ", "last_name": "Rao"});

    let response = app.post("/api/v1/auth/register", None, body).await;

    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.body["user"]["first_name"], "Asha");
    assert_eq!(response.body["user"]["last_name"], "Rao");
}

#[tokio::test]
async fn patch_me_updates_names_and_phone_and_keeps_absent_fields() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;

    let response = app
        .patch(
            "/api/v1/me",
            Some(&tokens.access),
            json!({"first_name": "Asha", "last_name": "Rao", "phone": "+91 80 1234 5678"}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["first_name"], "Asha");
    assert_eq!(response.body["last_name"], "Rao");
    assert_eq!(response.body["phone"], "+91 80 1234 5678");
    let partial = app.patch("/api/v1/me", Some(&tokens.access), json!({"last_name": "Iyer"})).await;
    assert_eq!(partial.status, 200, "{}", partial.text);
    let me = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert_eq!(me.body["first_name"], "Asha");
    assert_eq!(me.body["last_name"], "Iyer");
    assert_eq!(me.body["phone"], "+91 80 1234 5678");
}

#[tokio::test]
async fn patch_me_with_phone_null_clears_the_phone() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    app.patch("/api/v1/me", Some(&tokens.access), json!({"phone": "+49 30 123456", "first_name": "Jonas"})).await;

    let response = app.patch("/api/v1/me", Some(&tokens.access), json!({"phone": null})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.body["phone"].is_null());
    let me = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert!(me.body["phone"].is_null());
    assert_eq!(me.body["first_name"], "Jonas", "other fields stay");
}

#[tokio::test]
async fn patch_me_cannot_change_the_email() {
    let app = spawn_app().await;
    let (email, pw, tokens) = app.customer().await;
    let other = unique_email("other");

    let response = app.patch("/api/v1/me", Some(&tokens.access), json!({"email": other, "first_name": "A"})).await;

    assert!([200, 400, 422].contains(&response.status.as_u16()), "{}", response.text);
    let me = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert_eq!(me.body["email"], email);
    assert_eq!(app.login(&email, &pw).await.status, 200);
    app.login(&other, &pw).await.assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn patch_me_with_an_invalid_phone_returns_422() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    for phone in ["call me", "12", "+91 80 1234 5678 9999 0000 1", "91+8012345"] {
        let response = app.patch("/api/v1/me", Some(&tokens.access), json!({"phone": phone})).await;
        assert_field_error(&response, "phone");
    }
    assert!(app.get("/api/v1/me", Some(&tokens.access)).await.body["phone"].is_null(), "nothing was stored");
}

#[tokio::test]
async fn patch_me_with_too_long_or_control_character_names_returns_422() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;

    let response = app
        .patch("/api/v1/me", Some(&tokens.access), json!({"first_name": "a".repeat(101), "last_name": "a\u{7}b"}))
        .await;

    assert_field_error(&response, "first_name");
    assert_field_error(&response, "last_name");
}

#[tokio::test]
async fn me_without_a_token_returns_401() {
    let app = spawn_app().await;
    app.get("/api/v1/me", None).await.assert_problem(401, "unauthenticated");
    app.patch("/api/v1/me", None, json!({"first_name": "x"})).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/me/password", None, json!({"current_password": "x", "new_password": password()}))
        .await
        .assert_problem(401, "unauthenticated");
}

// ---- password change ---------------------------------------------------------------------

#[tokio::test]
async fn change_password_with_a_wrong_current_password_returns_401_invalid_credentials() {
    let app = spawn_app().await;
    let (email, pw, tokens) = app.customer().await;

    let response = app
        .post(
            "/api/v1/me/password",
            Some(&tokens.access),
            json!({"current_password": password(), "new_password": password()}),
        )
        .await;

    response.assert_problem(401, "invalid_credentials");
    assert_eq!(app.login(&email, &pw).await.status, 200, "the password is unchanged");
}

#[tokio::test]
async fn change_password_with_a_too_short_new_password_returns_422() {
    let app = spawn_app().await;
    let (email, pw, tokens) = app.customer().await;

    let response = app
        .post("/api/v1/me/password", Some(&tokens.access), json!({"current_password": pw, "new_password": "short"}))
        .await;

    assert_field_error(&response, "new_password");
    assert_eq!(app.login(&email, &pw).await.status, 200);
}

#[tokio::test]
async fn change_password_returns_a_new_token_response_and_swaps_the_password() {
    let app = spawn_app().await;
    let (email, old, tokens) = app.customer().await;
    let new = password();

    let response = app
        .post("/api/v1/me/password", Some(&tokens.access), json!({"current_password": old, "new_password": new}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["token_type"], "Bearer");
    assert_eq!(response.body["expires_in"], 900);
    let fresh = Tokens::from_body(&response.body);
    assert_eq!(fresh.user_id, tokens.user_id);
    assert_eq!(app.get("/api/v1/me", Some(&fresh.access)).await.status, 200);
    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": fresh.refresh})).await;
    assert_eq!(refreshed.status, 200, "the new session works: {}", refreshed.text);
    app.login(&email, &old).await.assert_problem(401, "invalid_credentials");
    assert_eq!(app.login(&email, &new).await.status, 200);
}

#[tokio::test]
async fn change_password_ends_every_other_session() {
    let app = spawn_app().await;
    let (email, pw, this_device) = app.customer().await;
    let other = app.login(&email, &pw).await;
    let other = Tokens::from_body(&other.body);

    let response = app
        .post(
            "/api/v1/me/password",
            Some(&this_device.access),
            json!({"current_password": pw, "new_password": password()}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);

    for stale in [&other.refresh, &this_device.refresh] {
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": stale}))
            .await
            .assert_problem(401, "token_invalid");
    }
}

#[tokio::test]
async fn change_password_refuses_access_tokens_issued_before_the_change() {
    let app = spawn_app().await;
    let (email, pw, before) = app.customer().await;
    let other = Tokens::from_body(&app.login(&email, &pw).await.body);
    app.clock.advance(Duration::from_secs(1));

    let response = app
        .post("/api/v1/me/password", Some(&before.access), json!({"current_password": pw, "new_password": password()}))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let after = Tokens::from_body(&response.body);

    app.get("/api/v1/me", Some(&before.access)).await.assert_problem(401, "unauthenticated");
    app.get("/api/v1/me", Some(&other.access)).await.assert_problem(401, "unauthenticated");
    assert_eq!(app.get("/api/v1/me", Some(&after.access)).await.status, 200);
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(app.get("/api/v1/me", Some(&after.access)).await.status, 200);
}

// ---- addresses ---------------------------------------------------------------------------

#[tokio::test]
async fn the_first_address_becomes_the_default() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let mut body = address("first");
    body["is_default"] = json!(false);

    let created = add_address(&app, &tokens.access, body).await;

    assert_eq!(created["is_default"], true);
    assert!(created["id"].as_str().is_some_and(|id| id.starts_with("addr_")));
    assert_eq!(created["country"], "IN");
    assert_eq!(created["city"], "Bengaluru");
    assert!(created["line2"].is_null());
    let second = add_address(&app, &tokens.access, address("second")).await;
    assert_eq!(second["is_default"], false);
    assert_eq!(defaults(&app, &tokens.access).await, vec![id(&created)]);
}

#[tokio::test]
async fn a_new_default_address_moves_the_default() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let first = add_address(&app, &tokens.access, address("first")).await;
    add_address(&app, &tokens.access, address("second")).await;
    let mut body = address("third");
    body["is_default"] = json!(true);

    let third = add_address(&app, &tokens.access, body).await;

    assert_eq!(third["is_default"], true);
    assert_eq!(defaults(&app, &tokens.access).await, vec![id(&third)]);
    let first_now = app.get(&format!("/api/v1/me/addresses/{}", id(&first)), Some(&tokens.access)).await;
    assert_eq!(first_now.body["is_default"], false);
}

#[tokio::test]
async fn patching_is_default_moves_the_default() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    add_address(&app, &tokens.access, address("first")).await;
    let second = add_address(&app, &tokens.access, address("second")).await;

    let response = app
        .patch(&format!("/api/v1/me/addresses/{}", id(&second)), Some(&tokens.access), json!({"is_default": true}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["is_default"], true);
    assert_eq!(defaults(&app, &tokens.access).await, vec![id(&second)]);
}

#[tokio::test]
async fn deleting_the_default_address_makes_the_newest_remaining_one_the_default() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let first = add_address(&app, &tokens.access, address("first")).await;
    let second = add_address(&app, &tokens.access, address("second")).await;
    let third = add_address(&app, &tokens.access, address("third")).await;

    let response = app.delete(&format!("/api/v1/me/addresses/{}", id(&first)), Some(&tokens.access)).await;

    assert_eq!(response.status, 204, "{}", response.text);
    assert_eq!(defaults(&app, &tokens.access).await, vec![id(&third)]);
    app.get(&format!("/api/v1/me/addresses/{}", id(&first)), Some(&tokens.access))
        .await
        .assert_problem(404, "not_found");
    // Deleting a non-default address leaves the default alone.
    assert_eq!(app.delete(&format!("/api/v1/me/addresses/{}", id(&second)), Some(&tokens.access)).await.status, 204);
    assert_eq!(defaults(&app, &tokens.access).await, vec![id(&third)]);
    // Deleting the last one leaves none.
    assert_eq!(app.delete(&format!("/api/v1/me/addresses/{}", id(&third)), Some(&tokens.access)).await.status, 204);
    assert!(list_addresses(&app, &tokens.access).await.is_empty());
}

#[tokio::test]
async fn get_and_patch_an_address_read_and_change_it() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let mut body = address("main");
    body["line2"] = json!("Flat 4");
    body["region"] = json!("Karnataka");
    body["phone"] = json!("+91 80 1234 5678");
    let created = add_address(&app, &tokens.access, body).await;
    let path = format!("/api/v1/me/addresses/{}", id(&created));

    let fetched = app.get(&path, Some(&tokens.access)).await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.body["line2"], "Flat 4");
    assert_eq!(fetched.body["region"], "Karnataka");

    let patched = app
        .patch(&path, Some(&tokens.access), json!({"city": "Mysuru", "line2": null, "phone": null, "country": "in"}))
        .await;

    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["city"], "Mysuru");
    assert!(patched.body["line2"].is_null());
    assert!(patched.body["phone"].is_null());
    assert_eq!(patched.body["region"], "Karnataka", "absent fields stay");
    assert_eq!(patched.body["line1"], "main MG Road");
    assert_eq!(patched.body["is_default"], true);
    assert_eq!(app.get(&path, Some(&tokens.access)).await.body["city"], "Mysuru");
}

#[tokio::test]
async fn someone_elses_address_is_404_for_get_patch_and_delete() {
    let app = spawn_app().await;
    let (_, _, owner) = app.customer().await;
    let (_, _, intruder) = app.customer().await;
    let created = add_address(&app, &owner.access, address("private")).await;
    let path = format!("/api/v1/me/addresses/{}", id(&created));

    app.get(&path, Some(&intruder.access)).await.assert_problem(404, "not_found");
    app.patch(&path, Some(&intruder.access), json!({"city": "Elsewhere"})).await.assert_problem(404, "not_found");
    app.delete(&path, Some(&intruder.access)).await.assert_problem(404, "not_found");

    let unchanged = app.get(&path, Some(&owner.access)).await;
    assert_eq!(unchanged.status, 200);
    assert_eq!(unchanged.body["city"], "Bengaluru");
    assert!(list_addresses(&app, &intruder.access).await.is_empty());
}

#[tokio::test]
async fn an_unknown_address_id_is_404() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let path = "/api/v1/me/addresses/addr_01JAAAAAAAAAAAAAAAAAAAAAAA";
    app.get(path, Some(&tokens.access)).await.assert_problem(404, "not_found");
    app.patch(path, Some(&tokens.access), json!({"city": "x"})).await.assert_problem(404, "not_found");
    app.delete(path, Some(&tokens.access)).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_country_is_validated_as_iso_alpha_2_in_any_case() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let mut lower = address("lower");
    lower["country"] = json!("de");

    let created = add_address(&app, &tokens.access, lower).await;

    assert_eq!(created["country"], "DE");
    for bad in ["XX", "xx", "IND", "D", ""] {
        let mut body = address("bad");
        body["country"] = json!(bad);
        assert_field_error(&app.post("/api/v1/me/addresses", Some(&tokens.access), body).await, "country");
    }
    let path = format!("/api/v1/me/addresses/{}", id(&created));
    assert_field_error(&app.patch(&path, Some(&tokens.access), json!({"country": "XX"})).await, "country");
    assert_eq!(app.get(&path, Some(&tokens.access)).await.body["country"], "DE");
}

#[tokio::test]
async fn an_address_missing_required_fields_returns_400() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    for field in ["first_name", "last_name", "line1", "city", "postal_code", "country"] {
        let mut body = address("missing");
        body.as_object_mut().unwrap().remove(field);
        let response = app.post("/api/v1/me/addresses", Some(&tokens.access), body).await;
        assert_eq!(response.status, 400, "without `{field}`: {}", response.text);
        response.assert_problem(400, "bad_request");
    }
    assert!(list_addresses(&app, &tokens.access).await.is_empty());
}

#[tokio::test]
async fn an_address_with_blank_required_fields_or_a_bad_phone_returns_422() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let mut body = address("blank");
    body["line1"] = json!("   ");
    body["city"] = json!("");
    body["phone"] = json!("not a phone");

    let response = app.post("/api/v1/me/addresses", Some(&tokens.access), body).await;

    for field in ["line1", "city", "phone"] {
        assert_field_error(&response, field);
    }
}

#[tokio::test]
async fn addresses_paginate_with_a_cursor_that_is_null_exactly_on_the_last_page() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let mut created = BTreeSet::new();
    for n in 0..5 {
        created.insert(id(&add_address(&app, &tokens.access, address(&format!("a{n}"))).await));
    }

    let mut seen = Vec::new();
    let mut page_sizes = Vec::new();
    let mut path = "/api/v1/me/addresses?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&tokens.access)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        page_sizes.push(items.len());
        seen.extend(items.iter().map(id));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/me/addresses?limit=2&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(page_sizes, vec![2, 2, 1]);
    assert_eq!(seen.len(), 5, "no duplicates: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
}

#[tokio::test]
async fn a_full_last_page_has_a_null_next_cursor() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    for n in 0..4 {
        add_address(&app, &tokens.access, address(&format!("a{n}"))).await;
    }

    let first = app.get("/api/v1/me/addresses?limit=2", Some(&tokens.access)).await;
    let cursor = first.body["next_cursor"].as_str().expect("a second page exists").to_owned();
    let second = app.get(&format!("/api/v1/me/addresses?limit=2&cursor={cursor}"), Some(&tokens.access)).await;

    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 2);
    assert!(second.body["next_cursor"].is_null(), "{}", second.text);
    let all = app.get("/api/v1/me/addresses", Some(&tokens.access)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
    assert!(all.body["next_cursor"].is_null());
}

#[tokio::test]
async fn an_empty_address_book_is_one_empty_page() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;

    let response = app.get("/api/v1/me/addresses", Some(&tokens.access)).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["items"], json!([]));
    assert!(response.body["next_cursor"].is_null());
}

#[tokio::test]
async fn address_list_limits_outside_1_to_100_return_422() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    for limit in ["0", "101", "-1"] {
        let response = app.get(&format!("/api/v1/me/addresses?limit={limit}"), Some(&tokens.access)).await;
        assert_field_error(&response, "limit");
    }
    for limit in ["1", "100"] {
        let response = app.get(&format!("/api/v1/me/addresses?limit={limit}"), Some(&tokens.access)).await;
        assert_eq!(response.status, 200, "limit={limit}: {}", response.text);
    }
    let response = app.get("/api/v1/me/addresses?limit=ten", Some(&tokens.access)).await;
    response.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_garbage_or_foreign_cursor_returns_400_invalid_cursor() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    let staff = app.staff().await;
    app.customer().await;
    app.customer().await;
    let foreign = app.get("/api/v1/admin/customers?limit=1", Some(&staff.access)).await;
    let foreign = foreign.body["next_cursor"].as_str().expect("admin list has a next page").to_owned();

    for cursor in ["garbage!", "bm90IGpzb24", foreign.as_str()] {
        app.get(&format!("/api/v1/me/addresses?cursor={cursor}"), Some(&tokens.access))
            .await
            .assert_problem(400, "invalid_cursor");
    }
}

#[tokio::test]
async fn addresses_need_a_customer_token() {
    let app = spawn_app().await;
    app.get("/api/v1/me/addresses", None).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/me/addresses", None, address("anon")).await.assert_problem(401, "unauthenticated");
    app.delete("/api/v1/me/addresses/addr_x", None).await.assert_problem(401, "unauthenticated");
}

/// Guards item 6 of issue 8: a password change spends every outstanding reset link (before, a
/// link mailed earlier still set a new password afterwards).
#[tokio::test]
async fn change_password_spends_outstanding_reset_links() {
    let app = spawn_app().await;
    let (email, pw, tokens) = app.customer().await;
    let reset = app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await;
    assert_eq!(reset.status, 202, "{}", reset.text);
    let link = app.reset_token_for(&email).await;
    let new = password();

    let response = app
        .post("/api/v1/me/password", Some(&tokens.access), json!({"current_password": pw, "new_password": new}))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);

    app.post("/api/v1/auth/password-reset/confirm", None, json!({"token": link, "new_password": password()}))
        .await
        .assert_problem(401, "token_invalid");
    assert_eq!(app.login(&email, &new).await.status, 200, "the changed password stands");
}
