//! The `engine` command line, run as a real process: `config check`, `migrate`,
//! `admin create-staff` and `jobs run`.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn output(&self) -> String {
        format!("exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs the engine CLI (built by this crate as `engine-cli`) in `dir` with only the given `COMMERCE_…` variables (none inherited
/// from the test process), feeding `stdin` when given.
async fn engine(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_engine-cli"));
    command.args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("COMMERCE_")) {
        command.env_remove(key);
    }
    command.envs(env.iter().copied());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("engine binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("engine finished within 60 s")
        .expect("engine output");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write_config(dir: &Path, toml: &str) -> String {
    let path = dir.join("engine.toml");
    std::fs::write(&path, toml).expect("write config file");
    path.display().to_string()
}

/// The value of `key` in `[section]` of the TOML that `config check` prints, unquoted. (A
/// line scanner: the test crate has no TOML parser, and the output is flat `key = value`.)
fn toml_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.to_owned();
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().trim_matches('"').to_owned());
        }
    }
    None
}

const JWT_SECRET: &str = "jwt-secret-from-the-environment-0123456789";
const SMTP_PASSWORD: &str = "smtp-password-s3cret";
const DB_PASSWORD: &str = "db-password-s3cret";

#[tokio::test]
async fn config_check_prints_the_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(
        dir.path(),
        &format!(
            r#"
            [database]
            url = "postgres://shop:{DB_PASSWORD}@db.internal:5432/shop"
            [mail.smtp]
            password = "{SMTP_PASSWORD}"
            [store]
            currency = "EUR"
            "#
        ),
    );

    let run = engine(
        dir.path(),
        &["config", "check"],
        &[("COMMERCE_CONFIG", &file), ("COMMERCE_AUTH__JWT_SECRET", JWT_SECRET)],
        None,
    )
    .await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    let all = format!("{}{}", run.stdout, run.stderr);
    for secret in [JWT_SECRET, SMTP_PASSWORD, DB_PASSWORD] {
        assert!(!all.contains(secret), "`{secret}` leaked:\n{}", run.output());
    }
    let value = |section: &str, key: &str| toml_value(&run.stdout, section, key);
    assert_eq!(value("auth", "jwt_secret").as_deref(), Some("[redacted]"), "{}", run.stdout);
    assert_eq!(value("mail.smtp", "password").as_deref(), Some("[redacted]"), "{}", run.stdout);
    assert_eq!(
        value("database", "url").as_deref(),
        Some("postgres://shop:[redacted]@db.internal:5432/shop"),
        "the URL stays readable with its password masked:\n{}",
        run.stdout
    );
    // The file named by COMMERCE_CONFIG was read, and COMMERCE_CONFIG is not taken for a key.
    assert_eq!(value("store", "currency").as_deref(), Some("EUR"), "{}", run.stdout);
    assert!(!all.contains("unknown key"), "{}", run.output());
}

#[tokio::test]
async fn the_config_flag_names_the_file_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "[store]\ncurrency = \"USD\"\n");

    let run = engine(dir.path(), &["--config", &file, "config", "check"], &[], None).await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    assert_eq!(toml_value(&run.stdout, "store", "currency").as_deref(), Some("USD"), "{}", run.stdout);
}

#[tokio::test]
async fn bad_config_exits_2_with_one_message_naming_every_bad_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(
        dir.path(),
        r#"
        [server]
        bind = "nope"
        colour = "blue"
        [auth]
        access_ttl = "soon"
        "#,
    );

    let run = engine(
        dir.path(),
        &["config", "check"],
        &[("COMMERCE_CONFIG", &file), ("COMMERCE_DATABASE__MAX_CONNECTIONS", "abc")],
        None,
    )
    .await;

    assert_eq!(run.code, Some(2), "{}", run.output());
    for key in ["server.bind", "auth.access_ttl", "server.colour", "database.max_connections"] {
        assert!(run.stderr.contains(&format!("`{key}`:")), "`{key}` named:\n{}", run.output());
    }
    assert_eq!(run.stderr.matches("(from ").count(), 4, "each names where it came from:\n{}", run.output());
    assert_eq!(run.stderr.matches("invalid configuration").count(), 1, "one message:\n{}", run.output());
    assert!(!run.stderr.contains("`config`"), "COMMERCE_CONFIG is not a key:\n{}", run.output());
    assert!(run.stdout.is_empty(), "nothing printed as if valid:\n{}", run.output());
}

#[tokio::test]
async fn an_unknown_key_does_not_hide_the_bad_keys_after_it() {
    // Keys are checked in order; unknown ones in early sections must not end the collection.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "colour = 1\n[auth]\nflavour = 2\n[server]\nbind = \"nope\"\n");

    let run = engine(dir.path(), &["config", "check"], &[("COMMERCE_CONFIG", &file)], None).await;

    assert_eq!(run.code, Some(2), "{}", run.output());
    for key in ["colour", "auth.flavour", "server.bind"] {
        assert!(run.stderr.contains(&format!("`{key}`:")), "`{key}` named:\n{}", run.output());
    }
}

#[tokio::test]
async fn bad_config_stops_every_command_not_just_the_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = engine(dir.path(), &["migrate"], &[("COMMERCE_SERVER__BODY_LIMIT", "lots")], None).await;
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(run.stderr.contains("server.body_limit"), "{}", run.output());
}

#[tokio::test]
async fn production_refuses_a_missing_jwt_secret_and_the_log_mailer() {
    let dir = tempfile::tempdir().expect("temp dir");

    let run = engine(dir.path(), &["config", "check"], &[("COMMERCE_ENVIRONMENT", "production")], None).await;

    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(run.stderr.contains("auth.jwt_secret"), "{}", run.output());
    assert!(run.stderr.contains("mail.transport"), "{}", run.output());
}

#[tokio::test]
async fn production_accepts_a_real_secret_and_mailer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("COMMERCE_ENVIRONMENT", "production"),
        ("COMMERCE_AUTH__JWT_SECRET", JWT_SECRET),
        ("COMMERCE_MAIL__TRANSPORT", "smtp"),
        ("COMMERCE_MAIL__SMTP__HOST", "smtp.example.com"),
    ];

    let run = engine(dir.path(), &["config", "check"], &env, None).await;

    assert_eq!(run.code, Some(0), "{}", run.output());
}

#[tokio::test]
async fn migrate_creates_a_fresh_sqlite_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/commerce.db");
    let url = format!("sqlite://{}", path.display());

    let run = engine(dir.path(), &["migrate"], &[("COMMERCE_DATABASE__URL", &url)], None).await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(path.is_file(), "database file created:\n{}", run.output());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("open the migrated database");
    for table in ["users", "mail_outbox", "job_schedules"] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("table {table} exists: {e}"));
        assert_eq!(count, 0);
    }
    pool.close().await;

    let again = engine(dir.path(), &["migrate"], &[("COMMERCE_DATABASE__URL", &url)], None).await;
    assert_eq!(again.code, Some(0), "migrating twice is harmless: {}", again.output());
}

async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(app.state.db.pool())
        .await
        .expect("count users")
}

#[tokio::test]
async fn admin_create_staff_reads_the_password_from_stdin_and_the_staff_can_log_in() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let email = unique_email("ops");
    let pw = password();

    let run = engine(
        dir.path(),
        &["admin", "create-staff", "--email", &email],
        &[("COMMERCE_DATABASE__URL", &app.db_url)],
        Some(&format!("{pw}\n")),
    )
    .await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(!run.stdout.contains(&pw) && !run.stderr.contains(&pw), "the password is never printed");
    let login = app.login(&email, &pw).await;
    assert_eq!(login.status, 200, "the new staff member logs in over HTTP: {}", login.text);
    assert_eq!(login.body["user"]["role"], "staff");
    let tokens = Tokens::from_body(&login.body);
    let customers = app.get("/api/v1/admin/customers", Some(&tokens.access)).await;
    assert_eq!(customers.status, 200, "staff routes are open to them: {}", customers.text);
}

/// Guards item 7 of issue 8: `create-staff --admin` makes an admin, who may change roles.
#[tokio::test]
async fn admin_create_staff_with_admin_makes_an_admin() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let email = unique_email("owner");
    let pw = password();

    let run = engine(
        dir.path(),
        &["admin", "create-staff", "--email", &email, "--admin"],
        &[("COMMERCE_DATABASE__URL", &app.db_url)],
        Some(&format!("{pw}\n")),
    )
    .await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    let login = app.login(&email, &pw).await;
    assert_eq!(login.body["user"]["role"], "admin", "{}", login.text);
    let admin = Tokens::from_body(&login.body);
    let (_, _, customer) = app.customer().await;
    let promoted = app
        .patch(&format!("/api/v1/admin/customers/{}", customer.user_id), Some(&admin.access), json!({"role": "staff"}))
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
}

#[tokio::test]
async fn admin_create_staff_with_a_too_short_password_fails_and_creates_no_user() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let email = unique_email("ops");

    let run = engine(
        dir.path(),
        &["admin", "create-staff", "--email", &email],
        &[("COMMERCE_DATABASE__URL", &app.db_url)],
        Some("short\n"),
    )
    .await;

    assert_ne!(run.code, Some(0), "{}", run.output());
    assert!(run.stderr.contains("password"), "says what is wrong:\n{}", run.output());
    assert_eq!(users_with_email(&app, &email).await, 0);
    app.login(&email, "short").await.assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn jobs_run_mail_delivers_queued_mail_to_the_file_dir() {
    let app = spawn_app().await;
    let (email, _, _) = app.customer().await;
    let reset = app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await;
    assert_eq!(reset.status, 202, "{}", reset.text);
    app.run_job("accounts.password_resets").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mail_dir = dir.path().join("outgoing");
    let mail_dir_text = mail_dir.display().to_string();

    let run = engine(
        dir.path(),
        &["jobs", "run", "mail"],
        &[
            ("COMMERCE_DATABASE__URL", &app.db_url),
            ("COMMERCE_MAIL__TRANSPORT", "file"),
            ("COMMERCE_MAIL__FILE_DIR", &mail_dir_text),
        ],
        None,
    )
    .await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .expect("mail dir created")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}\n{}", run.output());
    let mail = std::fs::read_to_string(&files[0]).expect("mail file");
    assert!(mail.contains(&email), "{mail}");
    assert!(mail.contains("Reset your password"), "{mail}");
    assert!(app.mails().is_empty(), "the test engine itself delivered nothing");
    let status: String = sqlx::query_scalar("SELECT status FROM mail_outbox WHERE recipient = $1")
        .bind(&email)
        .fetch_one(app.state.db.pool())
        .await
        .expect("outbox row");
    assert_eq!(status, "sent");
}

#[tokio::test]
async fn jobs_run_with_an_unknown_name_fails_naming_the_known_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());

    let run = engine(dir.path(), &["jobs", "run", "nope"], &[("COMMERCE_DATABASE__URL", &url)], None).await;

    assert_ne!(run.code, Some(0), "{}", run.output());
    assert!(run.stderr.contains("nope"), "{}", run.output());
    for known in ["mail", "accounts.cleanup"] {
        assert!(run.stderr.contains(known), "names `{known}`:\n{}", run.output());
    }
}
