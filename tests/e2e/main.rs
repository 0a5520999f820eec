//! End-to-end tests: the real engine over real HTTP on port 0, each test with its own database
//! (a temp SQLite file, or a PostgreSQL database cloned from a migrated template when
//! `TEST_DATABASE=postgres` and `TEST_POSTGRES_URL` are set: see helpers/db.rs). Set `TEST_LOG=1` to
//! see the engine's logs.

#[allow(dead_code, reason = "shared helpers; not every test module uses every one")]
mod helpers;

mod admin_customers;
mod auth;
mod cart_cache;
mod cart_merge;
mod carts;
mod catalog_cache;
mod categories;
mod checkout;
mod checkout_races;
mod cli;
mod conventions;
mod corrupt_rows;
mod fake_razorpay;
mod gateway_host;
mod input;
mod jobs;
mod leaks;
mod listing;
mod me;
mod openapi_doc;
mod openapi_truth;
mod ops;
mod orders;
mod passwords;
mod payments;
mod plugin_admin;
mod plugin_cache;
mod plugin_cli;
mod plugin_deadline;
mod plugin_loading;
mod plugin_probe;
mod plugin_sandbox;
mod pricing_cart;
mod pricing_preview;
mod processes;
mod products;
mod request_ids;
mod seed;
mod stock;
mod throttling;
