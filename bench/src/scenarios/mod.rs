//! Benchmark suites, one module each. A suite starts its own engine (or, for `plugins`, loads
//! the engine's plugin host in process), prepares its data, runs its scenarios and prints one
//! table.

pub mod auth;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod plugins;
pub mod webhooks;

use std::{path::Path, time::Duration};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use crate::{engine::Seed, load::Outcome};

/// Generous: a login waits for a hashing slot behind every other queued login.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The configuration whose pricing chain the cart suites run (`[store]`, `[pricing]`,
/// `[plugins.*]`): the demo shop's four bundled plugins.
const DEMO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");

/// The catalogue of the cart suites: `engine seed --products 100 --stock 1000000`. load.sh
/// reads the 100 newest products; the stock outlasts any run (a cart line never runs out, and
/// checkout takes one unit per order).
pub const CATALOG: Seed = Seed { products: 100, stock: Some(1_000_000) };

/// An HTTP client with its own connection pool, so one group of clients never waits for a
/// connection held by another.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().context("building the HTTP client")
}

/// Reads the whole body (the latency includes it) and checks the status.
pub async fn expect(response: reqwest::Response, status: reqwest::StatusCode) -> anyhow::Result<Outcome> {
    let got = response.status();
    response.bytes().await.context("reading a response body")?;
    Ok(if got == status { Outcome::Ok } else { Outcome::Unexpected })
}

/// Reads a JSON body that must come with `status`; anything else is an error naming the request.
pub async fn json_as(response: reqwest::Response, status: reqwest::StatusCode, what: &str) -> anyhow::Result<Value> {
    let got = response.status();
    let text = response.text().await.with_context(|| format!("{what}: reading the body"))?;
    ensure!(got == status, "{what} answered {got}: {text}");
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
}

/// The demo pricing chain as configuration overrides: `[store]`, `[pricing]` and `[plugins.*]`
/// of `config/demo.toml`, each plugin's `module` made absolute (the demo's are relative to its
/// file). The components must be built (`cargo run -q -p xtask -- plugins`).
pub fn demo_pricing() -> anyhow::Result<toml::Table> {
    let path = Path::new(DEMO_CONFIG);
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let demo: toml::Table = text.parse().with_context(|| format!("parsing {}", path.display()))?;
    let dir = path.parent().context("config/demo.toml has a directory")?;
    let mut overrides = toml::Table::new();
    for key in ["store", "pricing", "plugins", "payments"] {
        let value = demo.get(key).with_context(|| format!("{} has no [{key}]", path.display()))?;
        overrides.insert(key.to_owned(), value.clone());
    }
    let Some(toml::Value::Table(plugins)) = overrides.get_mut("plugins") else {
        bail!("[plugins] of {} is not a table", path.display());
    };
    for (name, plugin) in plugins.iter_mut() {
        let module = plugin.get_mut("module").and_then(|m| m.as_str().map(str::to_owned));
        let Some(module) = module else { bail!("[plugins.{name}] has no module") };
        let absolute = dir.join(&module);
        ensure!(
            absolute.is_file(),
            "{} is not built; build the plugins first: cargo run -q -p xtask -- plugins",
            absolute.display()
        );
        plugin["module"] = toml::Value::String(absolute.display().to_string());
    }
    Ok(overrides)
}

/// `[section] key = value` as an override table.
pub fn setting(section: &str, key: &str, value: impl Into<toml::Value>) -> toml::Table {
    let mut inner = toml::Table::new();
    inner.insert(key.to_owned(), value.into());
    let mut outer = toml::Table::new();
    outer.insert(section.to_owned(), toml::Value::Table(inner));
    outer
}

/// The default variants of the `count` newest products in stock, as load.sh picks them: the
/// first cards of `GET /api/v1/products?limit=100` whose `in_stock` is true.
pub async fn newest_in_stock(http: &reqwest::Client, base: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let response = http.get(format!("{base}/api/v1/products?limit=100")).send().await.context("listing products")?;
    let list = json_as(response, reqwest::StatusCode::OK, "GET /api/v1/products").await?;
    let variants: Vec<String> = list["items"]
        .as_array()
        .context("the product list has no items")?
        .iter()
        .filter(|card| card["in_stock"].as_bool().unwrap_or(true))
        .filter_map(|card| card["default_variant_id"].as_str().map(str::to_owned))
        .take(count)
        .collect();
    ensure!(variants.len() == count, "only {} products in stock, {count} wanted", variants.len());
    Ok(variants)
}

/// A guest cart: (id, `cart_token`).
pub async fn guest_cart(http: &reqwest::Client, base: &str) -> anyhow::Result<(String, String)> {
    let response = http.post(format!("{base}/api/v1/carts")).json(&serde_json::json!({})).send().await?;
    let cart = json_as(response, reqwest::StatusCode::CREATED, "POST /api/v1/carts").await?;
    let id = cart["id"].as_str().context("a cart has an id")?.to_owned();
    let token = cart["cart_token"].as_str().context("a guest cart has a cart_token")?.to_owned();
    Ok((id, token))
}

/// The first unexpected answer of a run, kept so a run full of errors says what they were.
#[derive(Default)]
pub struct FirstError(std::sync::OnceLock<String>);

impl FirstError {
    /// Like [`expect`], noting the first unexpected answer (`what`, status and body).
    pub async fn expect(
        &self,
        response: reqwest::Response,
        status: reqwest::StatusCode,
        what: &str,
    ) -> anyhow::Result<Outcome> {
        let got = response.status();
        let body = response.bytes().await.context("reading a response body")?;
        if got == status {
            return Ok(Outcome::Ok);
        }
        self.0.get_or_init(|| format!("{what} answered {got}: {}", String::from_utf8_lossy(&body)));
        Ok(Outcome::Unexpected)
    }

    /// Notes `what` went wrong, unless something went wrong before: for checks other than a status.
    pub fn note(&self, what: impl FnOnce() -> String) {
        self.0.get_or_init(what);
    }

    /// Prints the note, if any request went wrong.
    pub fn report(&self) {
        if let Some(first) = self.0.get() {
            println!("first unexpected answer: {first}");
        }
    }
}
