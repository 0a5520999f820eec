//! The `accounts.cleanup` job on the manual clock: what has expired or been spent goes, what is
//! still live stays.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
const RESET_TTL: Duration = Duration::from_secs(60 * 60);
const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Rows in (refresh_tokens, password_resets, login_throttle).
async fn rows(app: &TestApp) -> (i64, i64, i64) {
    let pool = app.state.db.pool();
    let count = async |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.expect("count");
    (
        count("SELECT COUNT(*) FROM refresh_tokens").await,
        count("SELECT COUNT(*) FROM password_resets").await,
        count("SELECT COUNT(*) FROM login_throttle").await,
    )
}

/// Runs the job and checks that what it reports is what left the tables.
async fn clean(app: &TestApp) -> (i64, i64, i64) {
    let (s0, r0, t0) = rows(app).await;
    let report = app.run_job("accounts.cleanup").await;
    let after = rows(app).await;
    let removed = (s0 - after.0) + (r0 - after.1) + (t0 - after.2);
    assert_eq!(report.processed, u64::try_from(removed).expect("rows only go"), "reported = removed");
    after
}

/// Covers the README's promise for `accounts.cleanup`. Guards item 17 of issue 8, and the fix
/// it needed: a used reset link stayed until its expiry, though the README says spent links go.
#[tokio::test]
async fn cleanup_removes_spent_reset_links_then_old_throttle_rows_then_expired_sessions() {
    let app = spawn_app().await;
    let (_, pw, session) = app.customer().await;
    let (email, _, _) = app.customer().await;
    assert_eq!(app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await.status, 202);
    let spent = app.reset_token_for(&email).await;
    let confirm = json!({"token": spent, "new_password": password()});
    assert_eq!(app.post("/api/v1/auth/password-reset/confirm", None, confirm).await.status, 204);
    assert_eq!(app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await.status, 202);
    // Reset requests are queued; the `accounts.password_resets` job turns them into links.
    app.deliver_resets().await;
    assert_eq!(app.login(&unique_email("nobody"), &pw).await.status, 401);
    let (sessions, links, throttle) = rows(&app).await;
    assert!(sessions >= 2 && links == 2 && throttle >= 1, "{:?}", (sessions, links, throttle));

    // Now: only the used link goes.
    assert_eq!(clean(&app).await, (sessions, 1, throttle), "the spent link is removed, nothing live");

    // After the throttle window: its rows go; the live link and the sessions stay.
    app.clock.advance(THROTTLE_WINDOW + Duration::from_secs(1));
    assert_eq!(clean(&app).await, (sessions, 1, 0));

    // After the reset TTL: the unused link has expired and goes.
    app.clock.advance(RESET_TTL);
    assert_eq!(clean(&app).await, (sessions, 0, 0));

    // Sessions last until the refresh TTL: still valid just before it, gone after it.
    let refreshed = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": session.refresh})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let (sessions, _, _) = rows(&app).await;
    assert_eq!(clean(&app).await, (sessions, 0, 0), "live sessions stay");
    app.clock.advance(REFRESH_TTL + Duration::from_secs(1));
    assert_eq!(clean(&app).await, (0, 0, 0), "every session has expired");
}
