//! The commerce engine: a REST/OpenAPI core (poem + poem-openapi on tokio) over SQLite or
//! PostgreSQL (sqlx), configured with figment.
//!
//! # One domain layout
//!
//! Every domain is a module split by role. `carts`, `orders` and `payments` have exactly these
//! five and nothing else at their top; the older domains follow the same roles, with a second
//! file of a role named for it (`accounts/address_store.rs`, `products/admin_api.rs`,
//! `products/stock_store.rs` for the catalog's transaction seam).
//!
//! - **`api`** (a folder with one file per audience and a `dto.rs` when it grows): poem-openapi
//!   types only. A handler parses the request into domain types, calls one service method and
//!   maps the result; no SQL and no business rules.
//! - **`service`**: the business rules. No HTTP types: a bad field is a
//!   [`validation::FieldProblem`], never the problem body's `FieldError`. The service owns the
//!   transaction: it opens it with [`db::Db::begin`], hands `&mut Tx` to the stores, its own and
//!   other domains' (checkout decrements stock, inserts the order and records the idempotency
//!   key in one transaction), and commits. No plugin, gateway or other outbound call runs while
//!   the transaction is open: price before `begin`, call the payment provider after `commit`.
//! - **`store`**: SQL only, in the portable subset (see [`db`]). Functions take
//!   `impl Executor<Database = Any>` (the pool, a connection, or `&mut **tx`); the few that other
//!   domains may call take [`db::Tx`] and are `pub(crate)`, re-exported by the domain module
//!   (`catalog::products::take_stock`, `accounts::read_user`), while the store module itself
//!   stays private. A row that
//!   does not decode is an error (`sqlx::Error::ColumnDecode`), never a default.
//! - **`model`**: domain types that parse instead of validate (`Email`, `Role`, `Status`); no SQL,
//!   no HTTP.
//! - **`error`**: one `thiserror` enum per domain, and its exhaustive `From<…> for ApiError`: the
//!   API edge, the one place a domain error (and its `FieldProblem`s) becomes problem+json.
//!
//! Cross-cutting pieces: `config`, `db`, `http` (problem+json, middleware, pagination), `jobs`,
//! `mail`, `metrics`, `ops`, `plugins` and `pricing` (the plugin chain), `validation`.

pub mod accounts;
pub mod app;
pub mod carts;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod plugins;
pub mod pricing;
pub mod seed;
pub mod telemetry;
pub mod validation;

pub use app::{AppState, Application};

#[cfg(test)]
mod layout_tests {
    use std::path::{Path, PathBuf};

    /// The service, model and store files of every domain (by file name, so new domains are
    /// covered as soon as they exist).
    fn domain_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                domain_files(&path, out);
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if matches!(stem, "service" | "model" | "store") || stem.ends_with("_store") {
                out.push(path);
            }
        }
    }

    /// Guards issue 10 ("services hold no HTTP types"): `catalog/products/service.rs` and both
    /// domains' `model.rs` used to build `http::problem::FieldError`s themselves.
    #[test]
    fn services_models_and_stores_hold_no_http_types() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for domain in ["accounts", "catalog", "carts", "orders", "payments"] {
            if src.join(domain).is_dir() {
                domain_files(&src.join(domain), &mut files);
            }
        }
        assert!(files.len() >= 7, "found the domain files: {files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for http in ["poem", "crate::http", "FieldError", "ApiError", "StatusCode"] {
                assert!(!text.contains(http), "{} mentions `{http}`", file.display());
            }
        }
    }
}
