//! Secrets never leave the engine through its logs or responses: a full account journey, then a
//! search of every captured log line and every response body.

use serde_json::json;

use crate::{auth::reset_token, helpers::*};

/// Records every response body of the journey, to search afterwards.
struct Journey<'a> {
    app: &'a TestApp,
    bodies: Vec<String>,
}

impl Journey<'_> {
    #[track_caller]
    fn keep(&mut self, response: TestResponse, status: u16) -> TestResponse {
        assert_eq!(response.status.as_u16(), status, "{}", response.text);
        self.bodies.push(response.text.clone());
        response
    }

    async fn post(&mut self, path: &str, token: Option<&str>, body: serde_json::Value, status: u16) -> TestResponse {
        let response = self.app.post(path, token, body).await;
        self.keep(response, status)
    }

    async fn get(&mut self, path: &str, token: Option<&str>, status: u16) -> TestResponse {
        let response = self.app.get(path, token).await;
        self.keep(response, status)
    }
}

#[tokio::test]
async fn a_full_account_journey_leaks_no_secret_into_logs_or_responses() {
    let app = spawn_app().await;
    let mut journey = Journey { app: &app, bodies: Vec::new() };
    let email = unique_email("leaks");
    let (first_pw, reset_pw, changed_pw, wrong_pw) = (password(), password(), password(), password());
    let mut issued: Vec<Tokens> = Vec::new();
    let mut keep_tokens = |body: &serde_json::Value| {
        issued.push(Tokens::from_body(body));
        Tokens::from_body(body)
    };

    // Register, fail a login, log in, use and refresh the session.
    let registered = journey
        .post("/api/v1/auth/register", None, json!({"email": email, "password": first_pw, "first_name": "Leak"}), 201)
        .await;
    keep_tokens(&registered.body);
    journey.post("/api/v1/auth/login", None, json!({"email": email, "password": wrong_pw}), 401).await;
    let login = journey.post("/api/v1/auth/login", None, json!({"email": email, "password": first_pw}), 200).await;
    let session = keep_tokens(&login.body);
    journey.get("/api/v1/me", Some(&session.access), 200).await;
    let refreshed = journey.post("/api/v1/auth/refresh", None, json!({"refresh_token": session.refresh}), 200).await;
    keep_tokens(&refreshed.body);
    // A reuse attempt (which ends the session) and a bad token are logged; the tokens must not be.
    journey.post("/api/v1/auth/refresh", None, json!({"refresh_token": session.refresh}), 401).await;
    journey.get("/api/v1/me", Some(&format!("{}x", session.access)), 401).await;

    // Reset the password through the file mailer.
    journey.post("/api/v1/auth/password-reset", None, json!({"email": email}), 202).await;
    let token = reset_token(&app, &email).await;
    journey
        .post("/api/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": "too-short"}), 422)
        .await;
    journey
        .post("/api/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": reset_pw}), 204)
        .await;
    journey
        .post("/api/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": reset_pw}), 401)
        .await;

    // Log in with the new password and change it.
    let login = journey.post("/api/v1/auth/login", None, json!({"email": email, "password": reset_pw}), 200).await;
    let session = keep_tokens(&login.body);
    journey
        .post(
            "/api/v1/me/password",
            Some(&session.access),
            json!({"current_password": wrong_pw, "new_password": changed_pw}),
            401,
        )
        .await;
    let changed = journey
        .post(
            "/api/v1/me/password",
            Some(&session.access),
            json!({"current_password": reset_pw, "new_password": changed_pw}),
            200,
        )
        .await;
    let session = keep_tokens(&changed.body);
    journey.get("/api/v1/me", Some(&session.access), 200).await;
    journey.post("/api/v1/auth/logout", None, json!({"refresh_token": session.refresh}), 204).await;
    let staff = app.staff().await;
    journey.get("/api/v1/admin/customers", Some(&staff.access), 200).await;
    journey.get(&format!("/api/v1/admin/customers/{}", session.user_id), Some(&staff.access), 200).await;

    // The journey really did log (so an empty capture cannot pass the test by accident).
    assert!(logs_contain(&session.user_id), "the engine logs this user's activity");
    let logs = captured_logs();
    let access_tokens = issued.iter().map(|t| t.access.clone()).collect();
    let refresh_tokens = issued.iter().map(|t| t.refresh.clone()).collect();
    let secrets = [
        ("a password", vec![first_pw, reset_pw, changed_pw, wrong_pw]),
        ("a refresh token", refresh_tokens),
        ("an access token", access_tokens),
        ("the reset token", vec![token]),
    ];
    for (what, values) in &secrets {
        for value in values {
            assert!(value.len() >= 10, "{what} is long enough to search for");
            assert!(!logs.contains(value.as_str()), "the logs contain {what}");
            if let Some(signature) = value.rsplit('.').next().filter(|_| value.contains('.')) {
                assert!(!logs.contains(signature), "the logs contain the signature of {what}");
            }
        }
    }
    assert!(!logs.contains("$argon2"), "the logs contain a password hash");
    for body in &journey.bodies {
        assert!(!body.contains("password_hash"), "a response names the password hash: {body}");
        assert!(!body.contains("$argon2"), "a response contains a password hash: {body}");
    }
}
