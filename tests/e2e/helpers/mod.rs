//! `spawn_app()` and typed helpers per endpoint.

mod db;
pub mod fake_razorpay;
mod logs;
pub mod plugins;

use std::{path::PathBuf, sync::Arc, time::Duration};

use commerce_engine::{
    AppState, Application,
    clock::ManualClock,
    config::{self, Config},
    plugins::ReloadSource,
};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use db::TestDb;
pub use logs::{captured_logs, logs_contain};

/// A password that satisfies the rules; unique per call so leak checks can search for it.
pub fn password() -> String {
    format!("pw-{}-long", ulid::Ulid::new())
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub mail_dir: PathBuf,
    pub db_url: String,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    /// The problem's `code` (problem+json responses).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        assert!(
            self.header("content-type").unwrap_or("").starts_with("application/problem+json"),
            "problem responses are application/problem+json: {:?}",
            self.header("content-type")
        );
    }
}

/// Tokens from a token response.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
}

impl Tokens {
    pub fn from_body(body: &Value) -> Self {
        Self {
            access: body["access_token"].as_str().expect("access_token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
            user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
        }
    }
}

/// The configuration every test starts from: port 0, its own database and mail directory,
/// file mailer, no leeway, no background loop (tests run jobs explicitly), cheaper argon2, no
/// `jwt_secret` (so the development secret is generated in each test's database).
///
/// Every test client connects from 127.0.0.1, so the per-address throttles (meant for one real
/// client each) are raised far out of reach; tests about throttling lower them again. The
/// per-account back-off and the per-email reset limit keep their defaults.
fn test_config(db_url: &str, mail_dir: &std::path::Path) -> Config {
    let toml = format!(
        r#"
        [server]
        bind = "127.0.0.1:0"
        [database]
        url = "{db_url}"
        max_connections = 5
        [auth]
        leeway = "0s"
        [auth.throttle]
        max_failures_per_address = 1000000
        max_registrations_per_address = 1000000
        max_reset_confirms_per_address = 1000000
        max_reset_requests_per_address = 1000000
        [auth.argon2]
        memory_kib = 1024
        iterations = 1
        parallelism = 1
        [mail]
        transport = "file"
        file_dir = "{}"
        [jobs]
        enabled = false
        [log]
        format = "json"
        "#,
        mail_dir.display()
    );
    config::load_from_str(&toml).expect("test config is valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    spawn(customise, None).await
}

/// An app whose plugin reload re-reads `[plugins.*]` and `[pricing]` from `file`, as
/// `engine --config <file> serve` does (`spawn_app_with` reloads its start-up configuration).
/// It starts with the plugins and chain of `file`.
pub async fn spawn_app_reloading_from(file: &std::path::Path) -> TestApp {
    let (from_file, _) = config::load(Some(file)).expect("plugin config file");
    let customise = |config: &mut Config| {
        config.plugins = from_file.plugins;
        config.pricing = from_file.pricing;
    };
    spawn(customise, Some(ReloadSource::ConfigFile(Some(file.to_path_buf())))).await
}

/// Every test shop takes `manual` payments (plugins/manual), as the demo shop does: its plugin
/// is added after `customise` (which may replace `config.plugins` with a pricing chain) unless
/// the test configured its own or took `manual` out of `payments.providers`.
pub fn with_manual_payments(config: &mut Config) {
    if config.payments.providers.iter().any(|p| p == "manual") && !config.plugins.contains_key("manual") {
        config.plugins.insert("manual".to_owned(), plugins::plugin("manual", serde_json::json!({})));
    }
}

async fn spawn(customise: impl FnOnce(&mut Config), reload: Option<ReloadSource>) -> TestApp {
    logs::init();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::create(dir.path()).await;
    let mail_dir = dir.path().join("mail");
    let mut config = test_config(&db.url, &mail_dir);
    config.payments.providers = vec!["manual".to_owned()];
    customise(&mut config);
    with_manual_payments(&mut config);
    let clock = Arc::new(ManualClock::starting_now());
    let state = match reload {
        None => AppState::with_clock(config, clock.clone()).await,
        Some(source) => AppState::with_reload_source(config, clock.clone(), source).await,
    }
    .expect("app state");
    let app = Application::from_state(state.clone()).await.expect("bind");
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = app.stop_token();
    let server = tokio::spawn(app.run_until_stopped());
    until_listening(&state).await;
    TestApp {
        base,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        state,
        clock,
        mail_dir,
        db_url: db.url.clone(),
        stop,
        server: Some(server),
        _db: db,
        _dir: dir,
    }
}

/// Another engine instance serving this app's database, as a second server process would:
/// its own pool, caches and plugin set, the same rows.
pub struct Peer {
    pub base: String,
    pub state: AppState,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Peer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestApp {
    /// A second instance on this app's database, configured as the tests configure one and then
    /// by `customise` (give it the same changes as this app's).
    pub async fn peer(&self, customise: impl FnOnce(&mut Config)) -> Peer {
        let mut config = test_config(&self.db_url, &self.mail_dir);
        config.payments.providers = vec!["manual".to_owned()];
        customise(&mut config);
        with_manual_payments(&mut config);
        let state = AppState::with_clock(config, self.clock.clone()).await.expect("peer state");
        let app = Application::from_state(state.clone()).await.expect("bind");
        let base = format!("http://127.0.0.1:{}", app.port());
        let stop = app.stop_token();
        let server = tokio::spawn(app.run_until_stopped());
        until_listening(&state).await;
        Peer { base, state, stop, server: Some(server) }
    }
}

/// Waits until the instance hears other instances' changes (on PostgreSQL its listener has
/// subscribed; until then it serves the catalogue uncached), so tests start from a steady state.
pub async fn until_listening(state: &AppState) {
    if state.db.ping().await.is_err() {
        return; // A test of an unreachable database: nothing to listen to.
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !state.db.changes().live() {
        assert!(std::time::Instant::now() < deadline, "the change listener did not subscribe within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestApp {
    /// Starts a graceful shutdown, as SIGTERM does for `engine serve`.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `body` as JSON when given; `token` as a bearer token when given.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::read(request.send().await.expect("request sent")).await
    }

    pub async fn read(response: reqwest::Response) -> TestResponse {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse { status, headers, text, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn register(&self, email: &str, password: &str) -> TestResponse {
        self.post("/api/v1/auth/register", None, json!({"email": email, "password": password})).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await
    }

    /// Registers a fresh customer and returns its email, password and tokens.
    pub async fn customer(&self) -> (String, String, Tokens) {
        let email = unique_email("customer");
        let password = password();
        let response = self.register(&email, &password).await;
        assert_eq!(response.status, 201, "register: {}", response.text);
        (email, password, Tokens::from_body(&response.body))
    }

    /// Creates a staff account (as `engine admin create-staff` does) and logs it in.
    pub async fn staff(&self) -> Tokens {
        self.staff_account(false).await
    }

    /// Creates an admin (as `engine admin create-staff --admin` does) and logs it in.
    pub async fn admin(&self) -> Tokens {
        self.staff_account(true).await
    }

    async fn staff_account(&self, admin: bool) -> Tokens {
        let email = unique_email(if admin { "admin" } else { "staff" });
        let password = password();
        let parsed_email = commerce_engine::accounts::model::Email::parse(&email).expect("email");
        let parsed_password = commerce_engine::accounts::model::NewPassword::parse(password.clone()).expect("pw");
        self.state.accounts.create_staff(parsed_email, parsed_password, admin).await.expect("create staff");
        let response = self.login(&email, &password).await;
        assert_eq!(response.status, 200, "staff login: {}", response.text);
        Tokens::from_body(&response.body)
    }

    pub async fn run_job(&self, name: &str) -> commerce_engine::jobs::JobReport {
        self.state.jobs.run_once(name).await.expect("job runs")
    }

    /// Every delivered `.eml` file's text, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else { return Vec::new() };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).expect("mail file")).collect()
    }

    /// Turns queued password-reset requests into mails (the `accounts.password_resets` job) and
    /// delivers the outbox.
    pub async fn deliver_resets(&self) {
        self.run_job("accounts.password_resets").await;
        self.run_job("mail").await;
    }

    /// Delivers the outbox and returns the reset token from the newest mail to `email`.
    pub async fn reset_token_for(&self, email: &str) -> String {
        self.deliver_resets().await;
        let mail =
            self.mails().into_iter().rev().find(|m| m.contains(email)).unwrap_or_else(|| panic!("no mail to {email}"));
        // Undo quoted-printable: soft line breaks, and `=3D` for `=`; the token follows `token=`.
        let unfolded = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
        let start = unfolded.find("token=").expect("link in mail") + "token=".len();
        unfolded[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
    }
}

/// The engine CLI binary (the same `cli::main` as `engine`), for tests that run it as a process.
pub fn engine_bin() -> &'static str {
    env!("CARGO_BIN_EXE_engine-cli")
}

/// Runs the futures concurrently on this task and returns their outputs in order.
pub async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in set.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}
