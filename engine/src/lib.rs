//! The commerce engine: a REST/OpenAPI core (poem + poem-openapi on tokio) over SQLite or
//! PostgreSQL (sqlx), configured with figment.
//!
//! Layout: one module per domain (`accounts`, later `catalog`, `carts`, `orders`, `payments`,
//! `plugins`), each split into an HTTP layer (`api`), a service (business rules, owns the
//! transaction), a store (SQL only) and a model (domain types). Cross-cutting pieces: `config`,
//! `db`, `http` (problem+json, middleware, pagination), `jobs`, `mail`, `metrics`, `ops`.

pub mod accounts;
pub mod app;
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
pub mod plugins;
pub mod pricing;
pub mod seed;
pub mod telemetry;

pub use app::{AppState, Application};
