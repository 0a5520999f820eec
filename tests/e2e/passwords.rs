//! Password storage: argon2id hashes with the configured parameters, upgraded on login when the
//! operator changes them.

use commerce_engine::config::Argon2Config;

use crate::helpers::*;

async fn stored_hash(app: &TestApp, user_id: &str) -> String {
    sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_the_configured_parameters() {
    let app = spawn_app().await;
    let (_, password, tokens) = app.customer().await;
    let hash = stored_hash(&app, &tokens.user_id).await;
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(&password));
}

#[tokio::test]
async fn login_rehashes_a_password_after_the_parameters_change() {
    let first = spawn_app().await;
    let (email, password, tokens) = first.customer().await;
    let before = stored_hash(&first, &tokens.user_id).await;

    // A second engine on the same database with stronger parameters.
    let db_url = first.db_url.clone();
    let second = spawn_app_with(|cfg| {
        cfg.database.url = secrecy::SecretString::from(db_url);
        cfg.auth.argon2 = Argon2Config { memory_kib: 2048, iterations: 2, parallelism: 1 };
    })
    .await;
    let login = second.login(&email, &password).await;
    assert_eq!(login.status, 200, "{}", login.text);

    let after = stored_hash(&second, &tokens.user_id).await;
    assert_ne!(before, after);
    assert!(after.starts_with("$argon2id$v=19$m=2048,t=2,p=1$"), "{after}");
    // The upgraded hash still verifies.
    assert_eq!(second.login(&email, &password).await.status, 200);
}

/// Guards item 5 of issue 8: `password-reset/confirm` checks the token before hashing, so a
/// caller without a live token never waits for (or takes) a hash slot. With one slot, busy
/// hashing a slow registration, a bad-token confirmation answers while that hash still runs;
/// before, it queued behind it to hash a password it then threw away.
#[tokio::test]
async fn a_reset_confirmation_with_a_bad_token_answers_without_hashing() {
    let app = spawn_app_with(|cfg| {
        cfg.auth.max_concurrent_hashes = 1;
        // Slow on purpose: the registration's hash holds the one slot for a few seconds.
        cfg.auth.argon2 = Argon2Config { memory_kib: 64 * 1024, iterations: 24, parallelism: 1 };
    })
    .await;
    let registering = {
        let request = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(&serde_json::json!({"email": unique_email("slow"), "password": password()}));
        tokio::spawn(async move { request.send().await.expect("register sent").status() })
    };
    // Give the registration a head start to take the slot (far more than it needs).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let confirm = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            serde_json::json!({"token": "pr_not_a_real_token", "new_password": password()}),
        )
        .await;

    confirm.assert_problem(401, "token_invalid");
    assert!(!registering.is_finished(), "answered while the only hash slot was still busy");
    assert_eq!(registering.await.expect("register task"), 201);
}
