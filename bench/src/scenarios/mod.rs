//! Benchmark suites, one module each. A suite starts its own engine (or, for `plugins`, loads
//! the engine's plugin host in process), prepares its data, runs its scenarios and prints one
//! table.

pub mod auth;
pub mod plugins;

use std::time::Duration;

use anyhow::Context;

/// Generous: a login waits for a hashing slot behind every other queued login.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An HTTP client with its own connection pool, so one group of clients never waits for a
/// connection held by another.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().context("building the HTTP client")
}
