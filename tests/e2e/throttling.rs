//! Throttling (issue 8, item 4): client addresses behind trusted proxies, the per-address
//! failure limit, the per-account back-off, and the limits on registration and password resets.
//! Every test client is 127.0.0.1, so tests that need several clients trust 127.0.0.1 as a proxy
//! and name the client in `X-Forwarded-For`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Sends a POST as if through our reverse proxy at 127.0.0.1 for `forwarded_for`.
async fn post_from(app: &TestApp, forwarded_for: &str, path: &str, body: Value) -> TestResponse {
    let request = app.client.post(app.url(path)).header("x-forwarded-for", forwarded_for).json(&body);
    TestApp::read(request.send().await.expect("request sent")).await
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> TestResponse {
    post_from(app, forwarded_for, "/api/v1/auth/login", json!({"email": email, "password": password})).await
}

const WRONG: &str = "wrong-password-123";

fn behind_proxy(cfg: &mut commerce_engine::config::Config) {
    cfg.server.trusted_proxies = vec!["127.0.0.1/32".into(), "10.0.0.0/8".into()];
}

#[track_caller]
fn retry_after(response: &TestResponse) -> u64 {
    response.assert_problem(429, "rate_limited");
    response.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

/// Guards: the address check comes first and a throttled address never counts against an
/// account (before, every attempt counted against the account first, so a sprayer locked the
/// owner out for the whole window).
#[tokio::test]
async fn a_throttled_address_gets_429_and_its_attempts_never_count_against_the_account() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_failures_per_address = 3;
        cfg.auth.throttle.max_failures_per_account = 3;
    })
    .await;
    let (email, pw, _) = app.customer().await;
    let attacker = "203.0.113.66";
    for _ in 0..3 {
        login_from(&app, attacker, &unique_email("spray"), WRONG).await.assert_problem(401, "invalid_credentials");
    }

    for _ in 0..10 {
        let refused = login_from(&app, attacker, &email, WRONG).await;
        assert!((1..=WINDOW.as_secs()).contains(&retry_after(&refused)));
    }

    // The owner, elsewhere, is not affected: two failures are still plain 401s, then a login.
    let owner = "198.51.100.7";
    for _ in 0..2 {
        login_from(&app, owner, &email, WRONG).await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(login_from(&app, owner, &email, &pw).await.status, 200);
    // The attacker's address stays throttled until its window ends, even with the right password.
    retry_after(&login_from(&app, attacker, &email, &pw).await);
    app.clock.advance(WINDOW);
    assert_eq!(login_from(&app, attacker, &email, &pw).await.status, 200);
}

/// Guards: the client is the right-most `X-Forwarded-For` entry that is not a trusted proxy;
/// before, the left-most entry (whatever the client wrote) was believed.
#[tokio::test]
async fn the_client_address_is_the_right_most_forwarded_entry_that_is_not_a_trusted_proxy() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_failures_per_address = 2;
    })
    .await;
    for spoofed in ["6.6.6.6", "7.7.7.7"] {
        let forwarded = format!("{spoofed}, 203.0.113.7");
        login_from(&app, &forwarded, &unique_email("x"), WRONG).await.assert_problem(401, "invalid_credentials");
    }

    // A new left-most entry does not make a new client, nor does a second proxy of ours.
    retry_after(&login_from(&app, "8.8.8.8, 203.0.113.7", &unique_email("x"), WRONG).await);
    retry_after(&login_from(&app, "203.0.113.7, 10.1.2.3", &unique_email("x"), WRONG).await);
    // A client that is merely listed further left is someone else: this one is 198.51.100.2.
    login_from(&app, "203.0.113.7, 198.51.100.2", &unique_email("x"), WRONG)
        .await
        .assert_problem(401, "invalid_credentials");
}

/// Guards: without `trusted_proxies` the header is ignored (the TCP peer is the client).
#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let app = spawn_app_with(|cfg| cfg.auth.throttle.max_failures_per_address = 2).await;
    login_from(&app, "203.0.113.1", &unique_email("x"), WRONG).await.assert_problem(401, "invalid_credentials");
    login_from(&app, "203.0.113.2", &unique_email("x"), WRONG).await.assert_problem(401, "invalid_credentials");

    retry_after(&login_from(&app, "203.0.113.3", &unique_email("x"), WRONG).await);
}

/// Guards: past the account limit each attempt from any address waits a back-off doubling from
/// 1 s and capped by `max_backoff`, and a success resets it (before: a flat 15-minute lock).
#[tokio::test]
async fn past_the_account_limit_attempts_wait_a_doubling_capped_backoff_that_a_success_resets() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_failures_per_account = 3;
        cfg.auth.throttle.max_backoff = Duration::from_secs(4);
    })
    .await;
    let (email, pw, _) = app.customer().await;
    for i in 0..3 {
        login_from(&app, &format!("203.0.113.{i}"), &email, WRONG).await.assert_problem(401, "invalid_credentials");
    }

    let mut waits = Vec::new();
    for i in 0..4 {
        // Any address, even with the right password, waits first.
        let wait = retry_after(&login_from(&app, &format!("198.51.100.{i}"), &email, &pw).await);
        waits.push(wait);
        app.clock.advance(Duration::from_secs(wait));
        login_from(&app, "198.51.100.200", &email, WRONG).await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(waits, [1, 2, 4, 4], "doubling from 1 s, capped by max_backoff");

    let wait = retry_after(&login_from(&app, "198.51.100.9", &email, &pw).await);
    app.clock.advance(Duration::from_secs(wait));
    assert_eq!(login_from(&app, "198.51.100.9", &email, &pw).await.status, 200);
    // Reset: the next failures are plain 401s again until the limit.
    for _ in 0..3 {
        login_from(&app, "198.51.100.9", &email, WRONG).await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(retry_after(&login_from(&app, "198.51.100.9", &email, &pw).await), 1);
}

/// Guards: concurrent attempts on a backed-off account cannot all have a password checked.
#[tokio::test]
async fn concurrent_attempts_on_a_backed_off_account_let_at_most_one_through() {
    let app = spawn_app_with(|cfg| cfg.auth.throttle.max_failures_per_account = 1).await;
    let (email, _, _) = app.customer().await;
    app.login(&email, WRONG).await.assert_problem(401, "invalid_credentials");
    app.clock.advance(Duration::from_secs(1));

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let request =
                app.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": email, "password": WRONG}));
            tokio::spawn(async move { request.send().await.expect("request sent").status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("request task"));
    }

    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");
}

/// Guards: registrations per client address are limited (there was no limit).
#[tokio::test]
async fn registrations_from_one_address_are_limited() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_registrations_per_address = 2;
    })
    .await;
    let register = |ip: &'static str| {
        let body = json!({"email": unique_email("reg"), "password": password()});
        let app = &app;
        async move { post_from(app, ip, "/api/v1/auth/register", body).await }
    };
    for _ in 0..2 {
        assert_eq!(register("203.0.113.5").await.status, 201);
    }

    retry_after(&register("203.0.113.5").await);
    assert_eq!(register("203.0.113.6").await.status, 201, "another address is not affected");
}

/// Guards: reset confirmations per client address are limited (there was no limit).
#[tokio::test]
async fn password_reset_confirmations_from_one_address_are_limited() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_reset_confirms_per_address = 2;
    })
    .await;
    let confirm = |ip: &'static str| {
        let body = json!({"token": "pr_guessed", "new_password": password()});
        let app = &app;
        async move { post_from(app, ip, "/api/v1/auth/password-reset/confirm", body).await }
    };
    for _ in 0..2 {
        confirm("203.0.113.5").await.assert_problem(401, "token_invalid");
    }

    retry_after(&confirm("203.0.113.5").await);
    confirm("203.0.113.6").await.assert_problem(401, "token_invalid");
}

/// Guards: reset requests over the per-email or per-address limit answer 202 like any other
/// and send nothing (there was no limit: anyone could mail-bomb an account's owner).
#[tokio::test]
async fn reset_requests_over_the_email_or_address_limit_answer_202_and_send_nothing() {
    let app = spawn_app_with(|cfg| {
        behind_proxy(cfg);
        cfg.auth.throttle.max_reset_requests_per_email = 2;
        cfg.auth.throttle.max_reset_requests_per_address = 3;
    })
    .await;
    let (victim, _, _) = app.customer().await;
    let request = |ip: String, email: String| {
        let app = &app;
        async move { post_from(app, &ip, "/api/v1/auth/password-reset", json!({"email": email})).await }
    };
    for i in 0..4 {
        let response = request(format!("198.51.100.{i}"), victim.clone()).await;
        assert_eq!(response.status, 202, "{}", response.text);
    }
    app.deliver_resets().await;
    assert_eq!(app.mails().iter().filter(|m| m.contains(&victim)).count(), 2, "two per email per window");

    let mut others = Vec::new();
    for _ in 0..4 {
        let (email, _, _) = app.customer().await;
        assert_eq!(request("203.0.113.9".into(), email.clone()).await.status, 202);
        others.push(email);
    }
    app.deliver_resets().await;
    let mailed = others.iter().filter(|e| app.mails().iter().any(|m| m.contains(e.as_str()))).count();
    assert_eq!(mailed, 3, "three per address per window");
}

/// Guards: the replaced `server.trust_forwarded_for` is refused with a message that points at
/// `server.trusted_proxies` (silently ignoring it would drop an operator's proxy setting).
#[tokio::test]
async fn the_old_trust_forwarded_for_key_is_refused_naming_trusted_proxies() {
    let error = commerce_engine::config::load_from_str("[server]\ntrust_forwarded_for = true\n").expect_err("refused");
    assert!(
        error.problems.iter().any(|p| p.contains("server.trust_forwarded_for") && p.contains("server.trusted_proxies")),
        "{error}"
    );
    let bad = commerce_engine::config::load_from_str("[server]\ntrusted_proxies = [\"proxy.local\"]\n");
    assert!(bad.expect_err("refused").problems.iter().any(|p| p.contains("server.trusted_proxies")));
}
