//! `/api/v1/auth/*`: registration, login, refresh rotation and reuse, logout, password reset.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn register_returns_201_with_a_token_response_and_normalised_email() {
    let app = spawn_app().await;
    let email = unique_email("Mixed.Case");
    let response = app.register(&email.to_uppercase(), &password()).await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], email.to_lowercase());
    assert_eq!(body["user"]["role"], "customer");
    assert!(body["user"]["id"].as_str().unwrap().starts_with("usr_"));
    assert!(body["refresh_token"].as_str().unwrap().len() > 40);
    assert!(body["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn register_returns_409_for_a_taken_email_in_any_case() {
    let app = spawn_app().await;
    let (email, _, _) = app.customer().await;
    app.register(&email.to_uppercase(), &password()).await.assert_problem(409, "email_taken");
}

#[tokio::test]
async fn login_then_refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let (email, pw, _) = app.customer().await;
    let login = app.login(&email, &pw).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let first = Tokens::from_body(&login.body);

    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let second = Tokens::from_body(&refreshed.body);
    assert_ne!(second.refresh, first.refresh);

    // The rotated token presented again: reuse. The whole family dies, including `second`.
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh}))
        .await
        .assert_problem(401, "token_reused");
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": second.refresh}))
        .await
        .assert_problem(401, "token_invalid");
}
