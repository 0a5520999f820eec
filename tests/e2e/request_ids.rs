//! Request ids: echoed when safe, generated otherwise, and on every log record of their request.

use serde_json::json;

use crate::helpers::*;

async fn get_with_request_id(app: &TestApp, id: Option<&str>) -> TestResponse {
    let mut request = app.client.get(app.url("/health"));
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    TestApp::read(request.send().await.expect("sent")).await
}

#[track_caller]
fn assert_generated_id(response: &TestResponse, not: Option<&str>) -> String {
    let id = response.header("x-request-id").expect("X-Request-Id on every response").to_owned();
    assert!(ulid::Ulid::from_string(&id).is_ok(), "a generated id is a ULID: {id}");
    assert_ne!(Some(id.as_str()), not, "the client's unsafe id is not echoed");
    id
}

#[tokio::test]
async fn a_safe_request_id_is_echoed() {
    let app = spawn_app().await;
    let sixty_four = "a".repeat(64);
    for id in ["abc", "Trace-01:span_02.x", "0", sixty_four.as_str()] {
        let response = get_with_request_id(&app, Some(id)).await;
        assert_eq!(response.header("x-request-id"), Some(id), "echoes {id:?}");
    }
}

#[tokio::test]
async fn an_unsafe_or_too_long_request_id_is_replaced_by_a_generated_one() {
    let app = spawn_app().await;
    let sixty_five = "a".repeat(65);
    for id in ["has space", "semi;colon", "quote\"d", "{\"json\":1}", "slash/ed", sixty_five.as_str()] {
        let response = get_with_request_id(&app, Some(id)).await;
        assert_generated_id(&response, Some(id));
    }
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_generated_one() {
    let app = spawn_app().await;
    let first = assert_generated_id(&get_with_request_id(&app, None).await, None);
    let second = assert_generated_id(&get_with_request_id(&app, None).await, None);
    assert_ne!(first, second, "each request gets its own id");
    // Errors carry one too.
    let missing = app.get("/api/v1/nope", None).await;
    assert_generated_id(&missing, None);
}

/// A log sink of this test's own: with `set_default` on a current-thread runtime it receives
/// exactly the records of the engine this test spawned (its tasks all run on this thread), never
/// those of the engines other tests run in the same process.
#[derive(Clone, Default)]
struct LocalLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LocalLog {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("local log").extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LocalLog {
    fn records(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().expect("local log").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("a JSON log line: {e}: {line}")))
            .collect()
    }
}

/// Guards item 16 of issue 8: the test used to search the process-wide log for lines holding
/// the id, so a line of its request without the id went unseen. It now collects every record
/// its own engine writes while serving the request, and each must carry the request span.
#[tokio::test(flavor = "current_thread")]
async fn the_request_id_is_on_every_log_line_of_its_request() {
    use tracing_subscriber::{EnvFilter, layer::SubscriberExt};
    let app = spawn_app().await;
    // The server logs its start on its first turn: take that turn before collecting.
    assert_eq!(app.get("/health", None).await.status, 200);
    let id = format!("trace-{}", ulid::Ulid::new());
    let log = LocalLog::default();
    let layer = tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(true);
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("debug,sqlx=info,hyper=info,hyper_util=info,reqwest=info,h2=info"))
        .with(layer.with_writer({
            let log = log.clone();
            move || log.clone()
        }));
    let guard = tracing::subscriber::set_default(subscriber);

    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-request-id", &id)
        .json(&json!({"email": unique_email("ghost"), "password": password()}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
    drop(guard);

    let records = log.records();
    assert!(records.len() >= 2, "the request logged its lines here: {records:#?}");
    for record in &records {
        let outer = &record["spans"][0];
        assert_eq!(
            (outer["name"].as_str(), outer["request_id"].as_str()),
            (Some("request"), Some(id.as_str())),
            "every record of the request sits in its span: {record}"
        );
    }
    let message = |r: &serde_json::Value| r["fields"]["message"].as_str().unwrap_or("").to_owned();
    assert!(records.iter().any(|r| message(r) == "login failed"), "the service's record: {records:#?}");
    assert!(
        records.iter().any(|r| message(r) == "request completed" && r["fields"]["status"] == 401),
        "the access record: {records:#?}"
    );
}
