//! Background jobs: mail delivery through the outbox (retries, parking, purging) and leases that
//! keep several engines on one database from doing the same work twice.

use std::{collections::BTreeSet, path::Path, sync::Arc, time::Duration};

use commerce_engine::{
    AppState,
    clock::Clock,
    config::{Config, MailTransportKind, SmtpSecurity},
    jobs::{Job, JobContext, RunError},
    mail::{job::MailJob, outbox, transport::Mailer},
};
use serde_json::json;

use crate::helpers::*;

mod cleanup;
mod mail_runner;
mod smtp;

/// One outbox row, as the tests inspect it.
#[derive(Debug)]
struct OutboxRow {
    status: String,
    attempts: i64,
    body: Option<String>,
    last_error: Option<String>,
}

async fn outbox_row(app: &TestApp, recipient: &str) -> OutboxRow {
    let (status, attempts, body, last_error) = sqlx::query_as::<_, (String, i64, Option<String>, Option<String>)>(
        "SELECT status, attempts, body, last_error FROM mail_outbox WHERE recipient = $1",
    )
    .bind(recipient)
    .fetch_one(app.state.db.pool())
    .await
    .expect("one outbox row for the recipient");
    OutboxRow { status, attempts, body, last_error }
}

/// SMTP to a port where nothing listens: every delivery attempt fails at once.
fn unreachable_smtp(cfg: &mut Config) {
    cfg.mail.transport = MailTransportKind::Smtp;
    cfg.mail.smtp.host = "127.0.0.1".into();
    cfg.mail.smtp.port = 1;
    cfg.mail.smtp.security = SmtpSecurity::None;
}

/// Registers a customer and asks for a password reset, which (once the reset job has run) queues
/// one message to them.
async fn queue_reset_mail(app: &TestApp) -> String {
    let (email, _, _) = app.customer().await;
    let response = app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await;
    assert_eq!(response.status, 202, "{}", response.text);
    // The request is only queued; this job writes the message to the outbox.
    app.run_job("accounts.password_resets").await;
    email
}

/// Longer than any backoff (capped at 1 h), so a retry is due.
const PAST_BACKOFF: Duration = Duration::from_secs(2 * 3600);

#[tokio::test]
async fn a_failed_delivery_keeps_the_message_pending_with_its_body_and_the_error() {
    let app = spawn_app_with(unreachable_smtp).await;
    let email = queue_reset_mail(&app).await;

    let report = app.run_job("mail").await;

    assert_eq!((report.processed, report.failed), (0, 1));
    let row = outbox_row(&app, &email).await;
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert!(row.body.as_deref().is_some_and(|b| b.contains("token=")), "body kept for the retry: {row:?}");
    assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()), "the error is recorded: {row:?}");

    // Not retried before its backoff has passed.
    let again = app.run_job("mail").await;
    assert_eq!((again.processed, again.failed), (0, 0));
    assert_eq!(outbox_row(&app, &email).await.attempts, 1);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_parked_as_failed_after_max_attempts_with_its_body_kept() {
    let app = spawn_app_with(|cfg| {
        unreachable_smtp(cfg);
        cfg.mail.max_attempts = 3;
    })
    .await;
    let email = queue_reset_mail(&app).await;

    for attempt in 1..=3 {
        let report = app.run_job("mail").await;
        assert_eq!(report.failed, 1, "attempt {attempt} fails");
        let row = outbox_row(&app, &email).await;
        assert_eq!(row.attempts, attempt);
        let expected = if attempt < 3 { "pending" } else { "failed" };
        assert_eq!(row.status, expected, "after attempt {attempt}: {row:?}");
        app.clock.advance(PAST_BACKOFF);
    }

    let row = outbox_row(&app, &email).await;
    assert!(row.body.as_deref().is_some_and(|b| b.contains("token=")), "a parked message keeps its body: {row:?}");
    assert!(row.last_error.is_some(), "{row:?}");
    // Parked: later runs leave it alone.
    let report = app.run_job("mail").await;
    assert_eq!((report.processed, report.failed), (0, 0));
    assert_eq!(outbox_row(&app, &email).await.attempts, 3);
}

#[tokio::test]
async fn a_delivered_message_is_marked_sent_and_its_body_purged() {
    let app = spawn_app().await;
    let email = queue_reset_mail(&app).await;

    let report = app.run_job("mail").await;

    assert_eq!((report.processed, report.failed), (1, 0));
    let row = outbox_row(&app, &email).await;
    assert_eq!(row.status, "sent");
    assert_eq!(row.body, None, "the reset link is not kept once delivered");
    assert!(app.mails().iter().any(|m| m.contains(&email)), "delivered as a file");
    // Delivered once: another run finds nothing.
    assert_eq!(app.run_job("mail").await.processed, 0);
}

/// Queues `n` messages straight into the outbox, each to its own recipient.
async fn enqueue_messages(app: &TestApp, n: usize) -> Vec<String> {
    let mut recipients = Vec::new();
    for _ in 0..n {
        let to = unique_email("bulk");
        outbox::enqueue(app.state.db.pool(), &to, "Hello", "A message body.", app.clock.now_ms())
            .await
            .expect("enqueue");
        recipients.push(to);
    }
    recipients
}

/// A second engine on the same database and clock, as another instance would be.
async fn second_engine(app: &TestApp, customise: impl FnOnce(&mut Config)) -> AppState {
    let mut config = (*app.state.config).clone();
    config.database.auto_migrate = false;
    customise(&mut config);
    AppState::with_clock(config, app.clock.clone()).await.expect("second engine")
}

/// `.eml` file names (message ids) in a directory.
fn delivered(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect()
}

/// Each runner writes to its own directory, so a message delivered twice shows as two files
/// (in one shared directory the second delivery would overwrite `<id>.eml` unseen).
#[track_caller]
fn assert_each_delivered_once(dirs: &[&Path], expected: usize) {
    let files: Vec<String> = dirs.iter().flat_map(|d| delivered(d)).collect();
    let distinct: BTreeSet<&String> = files.iter().collect();
    assert_eq!(files.len(), expected, "every message delivered, none twice: {files:?}");
    assert_eq!(distinct.len(), expected, "no message delivered by both runners: {files:?}");
}

async fn count_sent(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mail_outbox WHERE status = 'sent'")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_engines_running_the_mail_job_at_once_deliver_each_message_exactly_once() {
    let app = spawn_app().await;
    enqueue_messages(&app, 20).await;
    let other_dir = app.mail_dir.with_file_name("mail-second-engine");
    let other = second_engine(&app, |cfg| cfg.mail.file_dir = other_dir.clone()).await;

    let (first, second) = tokio::join!(app.state.jobs.run_once("mail"), other.jobs.run_once("mail"));

    let mut processed = 0;
    for result in [first, second] {
        match result {
            Ok(report) => processed += report.processed,
            Err(RunError::Busy(_)) => {}
            Err(e) => panic!("unexpected job error: {e}"),
        }
    }
    assert_eq!(processed, 20);
    assert_each_delivered_once(&[&app.mail_dir, &other_dir], 20);
    assert_eq!(count_sent(&app).await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_mail_workers_claim_each_message_once_even_without_the_job_lease() {
    // The job lease already keeps two runs apart; this races two workers past it, so only the
    // per-message lease stands between them and a double delivery.
    let app = spawn_app().await;
    enqueue_messages(&app, 20).await;
    let worker = |name: &str| {
        let mut mail = app.state.config.mail.clone();
        mail.file_dir = app.mail_dir.with_file_name(name);
        let job = MailJob {
            mailer: Arc::new(Mailer::from_config(&mail).expect("mailer")),
            max_attempts: 8,
            interval: Duration::from_secs(1),
        };
        let ctx = JobContext {
            db: app.state.db.clone(),
            clock: app.clock.clone(),
            owner: format!("worker_{name}"),
            lease: Duration::from_secs(60),
            stop: tokio_util::sync::CancellationToken::new(),
        };
        (job, ctx, mail.file_dir)
    };
    let (job_a, ctx_a, dir_a) = worker("worker-a");
    let (job_b, ctx_b, dir_b) = worker("worker-b");

    let a = tokio::spawn(async move { job_a.run(&ctx_a).await.map_err(|e| e.to_string()) });
    let b = tokio::spawn(async move { job_b.run(&ctx_b).await.map_err(|e| e.to_string()) });
    let (a, b) = (a.await.expect("task a").expect("worker a"), b.await.expect("task b").expect("worker b"));

    assert_eq!(a.processed + b.processed, 20, "a: {a:?}, b: {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    assert_each_delivered_once(&[&dir_a, &dir_b], 20);
    assert_eq!(count_sent(&app).await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_leased_by_another_runner_is_busy_until_the_lease_runs_out() {
    let app = spawn_app().await;
    let recipients = enqueue_messages(&app, 1).await;
    // The other engine's SMTP server accepts and then says nothing, so its run hangs mid-job
    // holding the job's lease (and the message's).
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = smtp.local_addr().expect("addr").port();
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel();
    let silent_server = tokio::spawn(async move {
        let (socket, _) = smtp.accept().await.expect("accept");
        let _ = accepted_tx.send(());
        std::future::pending::<()>().await;
        drop(socket);
    });
    let other = second_engine(&app, |cfg| {
        cfg.mail.transport = MailTransportKind::Smtp;
        cfg.mail.smtp.host = "127.0.0.1".into();
        cfg.mail.smtp.port = port;
        cfg.mail.smtp.security = SmtpSecurity::None;
    })
    .await;
    let hanging = tokio::spawn(async move { other.jobs.run_once("mail").await });
    tokio::time::timeout(Duration::from_secs(10), accepted_rx)
        .await
        .expect("the other engine reached its SMTP server")
        .expect("accepted");

    let busy = app.state.jobs.run_once("mail").await;
    assert!(matches!(busy, Err(RunError::Busy(ref name)) if name == "mail"), "{busy:?}");

    // The other engine dies mid-job. Once its leases run out, the work is retried, not lost.
    hanging.abort();
    // Wait until its run is really gone before the SMTP socket closes: a run still alive would
    // see the close, record a failed attempt with a backoff, and leave nothing due to retry.
    assert!(hanging.await.is_err_and(|e| e.is_cancelled()), "the other engine's run was cut off mid-job");
    silent_server.abort();
    app.clock.advance(app.state.config.jobs.lease + Duration::from_secs(1));
    let report = app.run_job("mail").await;

    assert_eq!((report.processed, report.failed), (1, 0));
    let row = outbox_row(&app, &recipients[0]).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2), "{row:?}");
    assert_eq!(app.mails().len(), 1);
}
