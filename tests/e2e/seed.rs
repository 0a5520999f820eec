//! `engine seed`, run as a real process: the demo shop and generated products are idempotent,
//! generated catalogues are the same on every database, and production refuses both.

use std::{path::Path, process::Stdio, time::Duration};

use sqlx::{AnyConnection, Connection};

use crate::helpers::engine_bin;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn assert_success(&self) {
        assert_eq!(self.code, Some(0), "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
    }
}

/// Runs `engine seed …` against `db_url` with no other `COMMERCE_…` variables, plus `env`.
async fn seed(dir: &Path, db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(engine_bin());
    command.arg("seed").args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("COMMERCE_")) {
        command.env_remove(key);
    }
    command.env("COMMERCE_DATABASE__URL", db_url).env("COMMERCE_LOG__LEVEL", "warn").envs(env.iter().copied());
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("seed finished within 120 s")
        .expect("engine binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// Row counts of the catalog tables: (categories, products, live variants).
async fn counts(db_url: &str) -> (i64, i64, i64) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(db_url).await.expect("open the seeded database");
    let mut count = async |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut conn).await.unwrap();
    let categories = count("SELECT COUNT(*) FROM categories").await;
    let products = count("SELECT COUNT(*) FROM products").await;
    let variants = count("SELECT COUNT(*) FROM variants WHERE deleted_at IS NULL").await;
    (categories, products, variants)
}

async fn slugs(db_url: &str) -> Vec<(String, String, i64)> {
    let mut conn = AnyConnection::connect(db_url).await.expect("open the seeded database");
    sqlx::query_as::<_, (String, String, i64)>(
        "SELECT p.slug, v.sku, v.price FROM products p JOIN variants v ON v.product_id = p.id ORDER BY p.slug, v.sku",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn seed_demo_loads_a_shop_and_running_it_again_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "demo.db");

    let first = seed(dir.path(), &url, &["--demo"], &[]).await;
    first.assert_success();
    let after_first = counts(&url).await;
    let second = seed(dir.path(), &url, &["--demo"], &[]).await;
    second.assert_success();

    assert_eq!(counts(&url).await, after_first);
    let (categories, products, variants) = after_first;
    assert!(categories >= 6, "apparel, t-shirts, jeans, books, fiction, non-fiction: {categories}");
    assert!((40..=60).contains(&products), "about 50 products: {products}");
    assert!(variants > products * 3, "apparel has several variants per product: {variants}");
    assert!(second.stdout.contains("0 created"), "{}", second.stdout);

    let mut conn = AnyConnection::connect(&url).await.unwrap();
    let tree = sqlx::query_as::<_, (String, String)>(
        "SELECT c.slug, p.slug FROM categories c JOIN categories p ON p.id = c.parent_id ORDER BY c.slug",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for pair in [("t-shirts", "apparel"), ("jeans", "apparel"), ("fiction", "books"), ("non-fiction", "books")] {
        assert!(tree.contains(&(pair.0.to_owned(), pair.1.to_owned())), "{pair:?} in {tree:?}");
    }
    let sold_out: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM variants WHERE stock = 0").fetch_one(&mut conn).await.unwrap();
    assert!(sold_out > 0, "some variants are out of stock");
}

#[tokio::test]
async fn seed_products_is_idempotent_and_the_same_on_every_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = sqlite_url(dir.path(), "one.db");
    let two = sqlite_url(dir.path(), "two.db");

    seed(dir.path(), &one, &["--products", "50"], &[]).await.assert_success();
    seed(dir.path(), &one, &["--products", "50"], &[]).await.assert_success();
    seed(dir.path(), &two, &["--products", "50"], &[]).await.assert_success();

    let (categories, products, _) = counts(&one).await;
    assert_eq!((categories, products), (20, 50));
    let first = slugs(&one).await;
    assert_eq!(first, slugs(&two).await, "same N, same slugs, SKUs and prices");
    let mut conn = AnyConnection::connect(&one).await.unwrap();
    let category_slugs: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM categories ORDER BY slug").fetch_all(&mut conn).await.unwrap();
    assert_eq!(category_slugs.first().map(String::as_str), Some("category-01"));
    assert_eq!(category_slugs.last().map(String::as_str), Some("category-20"));
    let steel: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE lower(name) LIKE '%steel%'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(steel > 0, "`q=steel` finds something");
}

#[tokio::test]
async fn seed_products_with_stock_gives_every_variant_that_stock_and_otherwise_the_same_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = sqlite_url(dir.path(), "plain.db");
    let stocked = sqlite_url(dir.path(), "stocked.db");

    seed(dir.path(), &plain, &["--products", "40"], &[]).await.assert_success();
    seed(dir.path(), &stocked, &["--products", "40", "--stock", "1000000"], &[]).await.assert_success();

    let stocks = async |url: &str| {
        let mut conn = AnyConnection::connect(url).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT stock FROM variants WHERE deleted_at IS NULL")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    let seeded = stocks(&stocked).await;
    assert!(seeded.len() >= 40, "at least one variant per product: {}", seeded.len());
    assert!(seeded.iter().all(|s| *s == 1_000_000), "every variant has stock 1000000: {seeded:?}");
    let generated = stocks(&plain).await;
    assert!(generated.iter().any(|s| *s != 1_000_000), "without --stock the generated stock stays: {generated:?}");
    assert_eq!(slugs(&plain).await, slugs(&stocked).await, "--stock changes stock only: same slugs, SKUs, prices");
}

#[tokio::test]
async fn seed_stock_needs_products_and_a_sane_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "bad.db");

    for args in [&["--demo", "--stock", "10"][..], &["--products", "5", "--stock=-1"][..]] {
        let run = seed(dir.path(), &url, args, &[]).await;

        assert_eq!(run.code, Some(2), "{args:?} is a usage error: {}", run.stderr);
        assert!(run.stderr.contains("--stock"), "the error names the flag: {}", run.stderr);
    }
    assert!(!dir.path().join("bad.db").exists(), "refused before touching the database");
}

#[tokio::test]
async fn seed_is_refused_in_production() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path(), "prod.db");
    let production = [
        ("COMMERCE_ENVIRONMENT", "production"),
        ("COMMERCE_AUTH__JWT_SECRET", "a-production-secret-of-at-least-32-bytes!"),
        ("COMMERCE_MAIL__TRANSPORT", "file"),
    ];

    for args in [&["--demo"][..], &["--products", "10"][..]] {
        let run = seed(dir.path(), &url, args, &production).await;

        assert_ne!(run.code, Some(0), "{args:?} must fail in production");
        assert!(run.stderr.contains("production"), "the error says why: {}", run.stderr);
    }
    assert!(!dir.path().join("prod.db").exists(), "refused before touching the database");
}
