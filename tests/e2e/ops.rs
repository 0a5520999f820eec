//! Operations endpoints: `/health`, `/ready`, `/metrics`, `/docs` and the `/openapi.json`
//! snapshot.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

use crate::helpers::*;

/// An engine whose database is a PostgreSQL server that is not there (port 1 refuses).
async fn spawn_app_without_database() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.database.url = secrecy::SecretString::from("postgres://postgres@127.0.0.1:1/none".to_owned());
        cfg.database.auto_migrate = false;
        cfg.database.acquire_timeout = Duration::from_millis(300);
    })
    .await
}

#[tokio::test]
async fn health_returns_200() {
    let app = spawn_app().await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.text, "ok");
}

#[tokio::test]
async fn ready_returns_200_when_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/ready", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn ready_returns_503_unavailable_with_retry_after_when_the_database_is_unreachable() {
    let app = spawn_app_without_database().await;

    let response = app.get("/ready", None).await;

    response.assert_problem(503, "unavailable");
    let retry_after: u64 =
        response.header("retry-after").expect("Retry-After on 503").parse().expect("Retry-After is seconds");
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/health", None).await.status, 200);
}

#[tokio::test]
async fn api_calls_return_503_unavailable_never_500_when_the_database_is_unreachable() {
    let app = spawn_app_without_database().await;

    let login = app.login("someone@example.com", &password()).await;
    login.assert_problem(503, "unavailable");
    assert!(login.header("retry-after").is_some(), "Retry-After on 503");

    let register = app.register(&unique_email("down"), &password()).await;
    register.assert_problem(503, "unavailable");

    let reset = app.post("/api/v1/auth/password-reset", None, json!({"email": "someone@example.com"})).await;
    reset.assert_problem(503, "unavailable");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_requests_by_route_latency_pool_and_jobs() {
    let app = spawn_app().await;
    let (email, pw, _) = app.customer().await;
    assert_eq!(app.login(&email, &pw).await.status, 200);
    assert_eq!(app.get("/health", None).await.status, 200);
    app.run_job("mail").await;

    let response = app.get("/metrics", None).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.header("content-type").unwrap_or("").starts_with("text/plain"), "{:?}", response.headers);
    let text = &response.text;
    let has_line = |prefix: &str, needles: &[&str]| {
        text.lines().any(|line| line.starts_with(prefix) && needles.iter().all(|n| line.contains(n)))
    };
    assert!(
        has_line("http_requests_total{", &["route=\"login\"", "method=\"POST\"", "status=\"200\""]),
        "login counted by route and status:\n{text}"
    );
    assert!(has_line("http_requests_total{", &["route=\"register\"", "status=\"201\""]), "register counted:\n{text}");
    assert!(has_line("http_requests_total{", &["route=\"getHealth\"", "status=\"200\""]), "health counted:\n{text}");
    assert!(
        has_line("http_request_duration_seconds_bucket{", &["route=\"login\"", "le=\""]),
        "latency histogram by route:\n{text}"
    );
    assert!(has_line("db_pool_connections{", &["state=\"idle\""]), "pool gauge:\n{text}");
    assert!(has_line("db_pool_connections{", &["state=\"in_use\""]), "pool gauge:\n{text}");
    assert!(has_line("job_runs_total{", &["job=\"mail\"", "outcome=\"ok\""]), "job runs:\n{text}");
    // Every sample line is `name{labels} value` or `name value`.
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = line.rsplit(' ').next().unwrap_or("");
        assert!(value.parse::<f64>().is_ok(), "not a Prometheus sample: {line}");
    }
}

#[tokio::test]
async fn unmatched_routes_are_counted_under_one_label_not_by_path() {
    let app = spawn_app().await;
    app.get("/no/such/path/01HXYZ", None).await.assert_problem(404, "not_found");

    let text = app.get("/metrics", None).await.text;

    assert!(!text.contains("01HXYZ"), "raw paths must not become labels:\n{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
}

#[tokio::test]
async fn docs_serve_html() {
    let app = spawn_app().await;
    let response = app.get("/docs", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.header("content-type").unwrap_or("").starts_with("text/html"), "{:?}", response.headers);
    assert!(response.text.to_lowercase().contains("<html"), "{}", response.text);
}

/// Rebuilds a JSON value with object keys in sorted order, so the snapshot does not depend on
/// whether serde_json preserves insertion order in this build.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The first line where two texts differ, with a little context, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let expected: Vec<_> = expected.lines().collect();
    let actual: Vec<_> = actual.lines().collect();
    let at = expected.iter().zip(&actual).position(|(e, a)| e != a).unwrap_or(expected.len().min(actual.len()));
    let from = at.saturating_sub(3);
    let excerpt = |lines: &[&str]| {
        lines.iter().enumerate().skip(from).take(8).map(|(i, l)| format!("{:>5} | {l}\n", i + 1)).collect::<String>()
    };
    format!(
        "first difference at line {}\n--- snapshot ---\n{}--- served ---\n{}",
        at + 1,
        excerpt(&expected),
        excerpt(&actual)
    )
}

/// Whether `CI` is set (to anything but the empty string): CI checks the committed snapshot and
/// never writes one.
fn ci_is_set() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Compares `served` with the snapshot at `path`. Locally, `update` (UPDATE_SNAPSHOTS=1) or a
/// missing snapshot writes it; with `ci`, both are errors, so a snapshot deleted or never
/// committed cannot make CI pass by writing the very document it should check.
fn check_snapshot(path: &std::path::Path, served: &str, ci: bool, update: bool) -> Result<(), String> {
    let exists = path.exists();
    if ci && update {
        return Err("UPDATE_SNAPSHOTS=1 is refused while CI is set: CI checks the committed snapshot".into());
    }
    if ci && !exists {
        return Err(format!(
            "{} is missing and CI is set: generate it with UPDATE_SNAPSHOTS=1 (without CI) and commit it",
            path.display()
        ));
    }
    if update || !exists {
        std::fs::create_dir_all(path.parent().expect("snapshot dir")).expect("create snapshot dir");
        std::fs::write(path, served).expect("write snapshot");
        return Ok(());
    }
    let snapshot = std::fs::read_to_string(path).expect("read snapshot");
    if snapshot == served {
        return Ok(());
    }
    Err(format!(
        "the served /openapi.json differs from {}.\n{}\nIf the API change is intended, rerun with \
         UPDATE_SNAPSHOTS=1 and commit the new snapshot.",
        path.display(),
        first_difference(&snapshot, served)
    ))
}

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = spawn_app().await;
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.body.get("openapi").is_some(), "not an OpenAPI document: {}", response.text);
    let served = serde_json::to_string_pretty(&sorted(response.body)).expect("serialize") + "\n";

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots/openapi.json");
    let update = std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    if let Err(problem) = check_snapshot(&path, &served, ci_is_set(), update) {
        panic!("{problem}");
    }
}

/// Guards item 13 of issue 8: with `CI` set, a missing snapshot used to be written and the test
/// passed (and UPDATE_SNAPSHOTS=1 overwrote it). Now both fail and leave the files alone.
#[test]
fn with_ci_a_missing_snapshot_fails_and_updating_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.json");
    let error = check_snapshot(&missing, "{}\n", true, false).expect_err("a missing snapshot fails under CI");
    assert!(error.contains("missing"), "{error}");
    assert!(!missing.exists(), "nothing written under CI");

    let present = dir.path().join("present.json");
    std::fs::write(&present, "{\"old\": 1}\n").expect("write");
    let error = check_snapshot(&present, "{}\n", true, true).expect_err("updating is refused under CI");
    assert!(error.contains("refused"), "{error}");
    assert_eq!(std::fs::read_to_string(&present).expect("read"), "{\"old\": 1}\n", "left as it was");
    assert!(check_snapshot(&present, "{}\n", true, false).is_err(), "a different document fails");

    // Locally, a missing snapshot is written (the first run of a new checkout) and updating works.
    assert_eq!(check_snapshot(&missing, "{}\n", false, false), Ok(()));
    assert_eq!(std::fs::read_to_string(&missing).expect("written"), "{}\n");
    assert_eq!(check_snapshot(&present, "{}\n", false, true), Ok(()));
    assert_eq!(check_snapshot(&present, "{}\n", true, false), Ok(()), "equal documents pass under CI");
}
