//! Guest checkouts under load: how many orders per second the engine commits.
//!
//! The engine seeds [`super::CATALOG`] and runs the demo pricing chain (checkout prices the cart
//! once more, through the four plugins, and snapshots the result). `--checkout-clients` clients
//! each loop: `POST /api/v1/carts` (a new guest cart) → `POST /carts/{id}/lines` (one unit of a
//! random product among the `--checkout-products` newest in stock) → `PATCH /carts/{id}` (a unique
//! email and an address in Karnataka, India, so the order carries CGST + SGST) →
//! `POST /api/v1/checkout {cart_id, payment_provider: "manual"}` with the cart's `X-Cart-Token`
//! and a fresh `Idempotency-Key`. Each step is a row; the `checkout` row's rate is orders/s.
//!
//! A second phase measures checkout alone: the clients first prepare `--prepared-carts` carts
//! (line and address set, unmeasured), then, after the warm-up, only check them out. Its row,
//! `checkout_prepared`, is the checkouts/s figure the target is about: the first phase's
//! rate is bounded by the three cart requests each order also makes (its `checkout` row still
//! times the checkout request alone). A client that runs out of prepared carts stops; the suite
//! says so, and the rate is then a lower bound (raise `--prepared-carts`).
//!
//! Every order is unpaid (`manual` payment), and the engine caps unpaid orders per email
//! (`orders.max_unpaid`): the emails are unique, and the bench raises the cap anyway. One unit of
//! stock goes per order; the catalogue's stock outlasts any run.
//!
//! Before measuring, one checkout is made as a probe. If `POST /api/v1/checkout` answers 404 for
//! a cart that exists, this engine has no checkout route yet, and the suite is skipped with a
//! message (not an error), so `bench all` still runs on an engine without orders.

use std::{sync::Arc, time::Instant};

use anyhow::{Context, ensure};
use clap::Args as ClapArgs;
use rand::{Rng as _, SeedableRng as _, rngs::SmallRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::FirstError;
use crate::{
    Common,
    database::Database,
    engine::{Engine, Setup},
    load::{self, Outcome, Samples, Window},
    report,
    stats::Summary,
};

/// From the issue: at least 500 orders/s on PostgreSQL.
const ORDERS_TARGET: f64 = 500.0;
const DEFAULT_CHECKOUT_CLIENTS: usize = 32;
const DEFAULT_CHECKOUT_PRODUCTS: usize = 20;
const DEFAULT_PREPARED_CARTS: usize = 16_000;

/// The steps of one loop, in order: positions in a client's samples and the table's rows.
const STEPS: [&str; 4] = ["create_cart", "add_line", "update_cart", "checkout"];
const CREATE: usize = 0;
const ADD: usize = 1;
const UPDATE: usize = 2;
const CHECKOUT: usize = 3;

#[derive(ClapArgs, Clone, Debug)]
#[group(id = "checkout_args")]
pub struct Args {
    /// Concurrent clients, each running cart → line → address → checkout in a loop.
    #[arg(long, default_value_t = DEFAULT_CHECKOUT_CLIENTS)]
    pub checkout_clients: usize,
    /// The newest products in stock that the one line of each order is drawn from.
    #[arg(long, default_value_t = DEFAULT_CHECKOUT_PRODUCTS)]
    pub checkout_products: usize,
    /// Carts made ready (line and address) before the checkout-only phase; 0 skips the phase.
    #[arg(long, default_value_t = DEFAULT_PREPARED_CARTS)]
    pub prepared_carts: usize,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            checkout_clients: DEFAULT_CHECKOUT_CLIENTS,
            checkout_products: DEFAULT_CHECKOUT_PRODUCTS,
            prepared_carts: DEFAULT_PREPARED_CARTS,
        }
    }
}

/// Runs the suite against a fresh engine and prints its table (or why it was skipped).
pub async fn run(common: Common, args: Args) -> anyhow::Result<()> {
    ensure!(args.checkout_clients > 0 && args.checkout_products > 0, "checkout options must be at least 1");
    let mut overrides = super::demo_pricing()?;
    overrides.extend(super::setting("orders", "max_unpaid", 1_000_000));
    eprintln!(
        "checkout: starting the engine on {}, seeding {} products…",
        common.database.name(),
        super::CATALOG.products
    );
    let engine = Engine::start(Setup { database: &common.database, overrides, seed: Some(super::CATALOG) }).await?;
    let measured = measure(engine.base_url(), &common, &args).await;
    let stopped = engine.stop().await;
    let measured = measured?;
    stopped?;
    match measured {
        Measured::Skipped(why) => println!("checkout: skipped: {why}\n"),
        Measured::Rows { probe, rows, first_error } => {
            print_results(&common, &args, &probe, &rows);
            first_error.report();
        }
    }
    Ok(())
}

enum Measured {
    Skipped(String),
    Rows { probe: String, rows: Vec<Summary>, first_error: Arc<FirstError> },
}

/// The row of the checkout-only phase.
const PREPARED: &str = "checkout_prepared";

async fn measure(base: &str, common: &Common, args: &Args) -> anyhow::Result<Measured> {
    let http = super::http_client()?;
    let variants = Arc::new(super::newest_in_stock(&http, base, args.checkout_products).await?);

    let (id, token) = super::guest_cart(&http, base).await?;
    let added = add_line(&http, base, &id, &token, &variants[0]).await?;
    super::json_as(added, StatusCode::OK, "POST /api/v1/carts/{id}/lines").await?;
    let updated = update_cart(&http, base, &id, &token, "bench-probe@example.com").await?;
    super::json_as(updated, StatusCode::OK, "PATCH /api/v1/carts/{id}").await?;
    let response = checkout(&http, base, &id, &token, "probe").await?;
    if response.status() == StatusCode::NOT_FOUND {
        let body = response.text().await.unwrap_or_default();
        return Ok(Measured::Skipped(format!(
            "POST /api/v1/checkout answered 404 for a cart that exists ({body}): this engine has no checkout yet"
        )));
    }
    let order = super::json_as(response, StatusCode::CREATED, "POST /api/v1/checkout").await?;
    let probe = describe(&order)?;

    eprintln!("checkout: {} clients for {:?}…", args.checkout_clients, common.duration);
    let window = Window::after(common.warmup, common.duration);
    let first_error = Arc::new(FirstError::default());
    let kinds = checkout_loops(base, args.checkout_clients, &variants, window, &first_error).await?;
    let elapsed = window.duration();
    let mut kinds = kinds.into_iter();
    let mut rows: Vec<Summary> =
        STEPS.iter().map(|step| Summary::new(step, kinds.next().unwrap_or_default(), elapsed)).collect();
    if args.prepared_carts > 0 {
        eprintln!("checkout: preparing {} carts…", args.prepared_carts);
        let ready = prepare_carts(base, args.checkout_clients, &variants, args.prepared_carts).await?;
        eprintln!("checkout: {} clients checking out prepared carts for {:?}…", args.checkout_clients, common.duration);
        let window = Window::after(common.warmup, common.duration);
        let (samples, ran_out) = checkout_prepared(base, args.checkout_clients, ready, window, &first_error).await?;
        if ran_out {
            eprintln!("checkout: the prepared carts ran out before the end: {PREPARED} is a lower bound");
        }
        rows.push(Summary::new(PREPARED, samples, window.duration()));
    }
    Ok(Measured::Rows { probe, rows, first_error })
}

/// Checks the probe's order has the contract's shape and sums it up in a line.
fn describe(order: &Value) -> anyhow::Result<String> {
    let field =
        |name: &str| order[name].as_i64().with_context(|| format!("the order has no integer `{name}`: {order}"));
    let (number, total, tax, shipping) =
        (field("number")?, field("total")?, field("tax_total")?, field("shipping_total")?);
    let status = order["status"].as_str().context("the order has a status")?;
    ensure!(order["order_token"].is_string(), "a guest's order comes with an order_token: {order}");
    let provider = order["payment_session"]["provider"].as_str().unwrap_or("none");
    ensure!(order["items"].as_array().is_some_and(|items| items.len() == 1), "one item: {order}");
    Ok(format!(
        "probe order #{number}: {status}, total {total} (tax {tax}, shipping {shipping}) {}, payment session: {provider}",
        order["currency"].as_str().unwrap_or("?")
    ))
}

/// `clients` clients, each checking out one fresh cart after another; samples by [`STEPS`].
async fn checkout_loops(
    base: &str,
    clients: usize,
    variants: &Arc<Vec<String>>,
    window: Window,
    first_error: &Arc<FirstError>,
) -> anyhow::Result<Vec<Samples>> {
    let http = super::http_client()?;
    load::clients(clients, |i| {
        let (http, base, variants, first_error) =
            (http.clone(), base.to_owned(), variants.clone(), first_error.clone());
        async move {
            let mut rng = SmallRng::seed_from_u64(104_729 * (i as u64 + 1));
            let mut kinds: Vec<Samples> = STEPS.iter().map(|_| Samples::default()).collect();
            for n in 0_u64.. {
                if Instant::now() >= window.end {
                    break;
                }
                // Each step is timed on its own; a step that fails ends this loop's order.
                let sent = Instant::now();
                let response = http.post(format!("{base}/api/v1/carts")).json(&json!({})).send().await?;
                let (outcome, cart) = read_cart(response, &first_error).await?;
                kinds[CREATE].record(&window, sent, Instant::now(), outcome);
                let Some((id, token)) = cart else { continue };

                let variant = &variants[rng.random_range(0..variants.len())];
                let sent = Instant::now();
                let response = add_line(&http, &base, &id, &token, variant).await?;
                let outcome = first_error.expect(response, StatusCode::OK, "POST /carts/{id}/lines").await?;
                kinds[ADD].record(&window, sent, Instant::now(), outcome);
                if matches!(outcome, Outcome::Unexpected) {
                    continue;
                }

                let sent = Instant::now();
                let response = update_cart(&http, &base, &id, &token, &format!("bench-{i}-{n}@example.com")).await?;
                let outcome = first_error.expect(response, StatusCode::OK, "PATCH /carts/{id}").await?;
                kinds[UPDATE].record(&window, sent, Instant::now(), outcome);
                if matches!(outcome, Outcome::Unexpected) {
                    continue;
                }

                let sent = Instant::now();
                let response = checkout(&http, &base, &id, &token, &format!("{i}-{n}")).await?;
                let outcome = first_error.expect(response, StatusCode::CREATED, "POST /checkout").await?;
                kinds[CHECKOUT].record(&window, sent, Instant::now(), outcome);
            }
            Ok(kinds)
        }
    })
    .await
}

/// `count` guest carts with one line, an email and an address, made by `clients` clients
/// (unmeasured); every request must succeed.
async fn prepare_carts(
    base: &str,
    clients: usize,
    variants: &Arc<Vec<String>>,
    count: usize,
) -> anyhow::Result<Arc<std::sync::Mutex<Vec<(String, String)>>>> {
    let http = super::http_client()?;
    let per_client = count.div_ceil(clients);
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let (http, variants, base) = (http.clone(), variants.clone(), base.to_owned());
            tokio::spawn(async move {
                let base = base.as_str();
                let mut rng = SmallRng::seed_from_u64(7_919 * (i as u64 + 1));
                let mut mine = Vec::with_capacity(per_client);
                for n in 0..per_client {
                    let (id, token) = super::guest_cart(&http, base).await?;
                    let variant = &variants[rng.random_range(0..variants.len())];
                    let added = add_line(&http, base, &id, &token, variant).await?;
                    super::json_as(added, StatusCode::OK, "add line").await?;
                    let email = format!("prepared-{i}-{n}@example.com");
                    let updated = update_cart(&http, base, &id, &token, &email).await?;
                    super::json_as(updated, StatusCode::OK, "update cart").await?;
                    mine.push((id, token));
                }
                anyhow::Ok(mine)
            })
        })
        .collect();
    let mut made = Vec::with_capacity(count);
    for worker in workers {
        made.extend(worker.await.context("a preparing client panicked")??);
    }
    Ok(Arc::new(std::sync::Mutex::new(made)))
}

/// `clients` clients checking out prepared carts back to back; true if the carts ran out
/// before the window ended.
async fn checkout_prepared(
    base: &str,
    clients: usize,
    ready: Arc<std::sync::Mutex<Vec<(String, String)>>>,
    window: Window,
    first_error: &Arc<FirstError>,
) -> anyhow::Result<(Samples, bool)> {
    let http = super::http_client()?;
    let ran_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let samples: Samples = load::clients(clients, |i| {
        let (http, base, ready, first_error, ran_out) =
            (http.clone(), base.to_owned(), ready.clone(), first_error.clone(), ran_out.clone());
        async move {
            let mut samples = Samples::default();
            for n in 0_u64.. {
                if Instant::now() >= window.end {
                    break;
                }
                let next = ready.lock().map_err(|_| anyhow::anyhow!("a client panicked"))?.pop();
                let Some((id, token)) = next else {
                    ran_out.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                };
                let sent = Instant::now();
                let response = checkout(&http, &base, &id, &token, &format!("prepared-{i}-{n}")).await?;
                let outcome = first_error.expect(response, StatusCode::CREATED, "POST /checkout").await?;
                samples.record(&window, sent, Instant::now(), outcome);
            }
            Ok(samples)
        }
    })
    .await?;
    Ok((samples, ran_out.load(std::sync::atomic::Ordering::Relaxed)))
}

/// A new guest cart's outcome, and its (id, token) when it was created.
async fn read_cart(
    response: reqwest::Response,
    first_error: &FirstError,
) -> anyhow::Result<(Outcome, Option<(String, String)>)> {
    if response.status() != StatusCode::CREATED {
        return Ok((first_error.expect(response, StatusCode::CREATED, "POST /carts").await?, None));
    }
    let cart: Value = response.json().await.context("reading a new cart")?;
    let id = cart["id"].as_str().context("a cart has an id")?.to_owned();
    let token = cart["cart_token"].as_str().context("a guest cart has a cart_token")?.to_owned();
    Ok((Outcome::Ok, Some((id, token))))
}

async fn add_line(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    token: &str,
    variant: &str,
) -> anyhow::Result<reqwest::Response> {
    http.post(format!("{base}/api/v1/carts/{id}/lines"))
        .header("X-Cart-Token", token)
        .json(&json!({ "variant_id": variant, "quantity": 1 }))
        .send()
        .await
        .context("add-line request")
}

/// The email and a shipping address in Karnataka (the demo shop's own state: CGST + SGST).
async fn update_cart(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    token: &str,
    email: &str,
) -> anyhow::Result<reqwest::Response> {
    let body = json!({
        "email": email,
        "shipping_address": {
            "first_name": "Asha", "last_name": "Rao", "line1": "12 MG Road", "city": "Bengaluru",
            "region": "KA", "postal_code": "560001", "country": "IN",
        },
    });
    http.patch(format!("{base}/api/v1/carts/{id}"))
        .header("X-Cart-Token", token)
        .json(&body)
        .send()
        .await
        .context("update-cart request")
}

/// `POST /api/v1/checkout` for a guest cart whose email and address are set.
async fn checkout(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    token: &str,
    key: &str,
) -> anyhow::Result<reqwest::Response> {
    http.post(format!("{base}/api/v1/checkout"))
        .header("X-Cart-Token", token)
        .header("Idempotency-Key", format!("bench-{key}"))
        .json(&json!({ "cart_id": id, "payment_provider": "manual" }))
        .send()
        .await
        .context("checkout request")
}

fn print_results(common: &Common, args: &Args, probe: &str, rows: &[Summary]) {
    let title = format!(
        "checkout: {} CPUs, {}, demo pricing chain, {} clients, 1 line per order from {} products, {:?} measured after {:?} warm-up",
        report::cpu_count(),
        common.database.name(),
        args.checkout_clients,
        args.checkout_products,
        common.duration,
        common.warmup
    );
    println!("{}", report::table(&title, rows));
    println!("{probe}");
    // The checkout-only phase when it ran, else the loop's checkout row.
    let Some(orders) =
        rows.iter().find(|r| r.scenario == PREPARED).or_else(|| rows.iter().find(|r| r.scenario == "checkout"))
    else {
        return;
    };
    let figures = format!(
        "{}: {:.0} orders/s, checkout p50 {:.2} ms, p99 {:.2} ms, {} errors",
        orders.scenario,
        orders.per_second,
        report::millis(orders.p50),
        report::millis(orders.p99),
        orders.errors
    );
    match common.database {
        Database::Postgres(_) => {
            let met = orders.per_second >= ORDERS_TARGET && orders.errors == 0;
            println!(
                "target: >= {ORDERS_TARGET:.0} orders/s on PostgreSQL: {} ({figures})",
                if met { "MET" } else { "NOT MET" }
            );
        }
        Database::Sqlite => println!(
            "target: >= {ORDERS_TARGET:.0} orders/s applies to PostgreSQL (--database postgres://…); SQLite: {figures}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_checks_the_order_shape_of_the_contract() {
        let order = json!({
            "id": "ord_1", "number": 1001, "status": "pending_payment", "currency": "INR",
            "total": 11681, "tax_total": 1782, "shipping_total": 0, "order_token": "tok",
            "items": [{ "id": "oi_1" }], "payment_session": { "provider": "manual" },
        });
        let line = describe(&order).expect("a contract-shaped order");
        assert!(line.contains("#1001") && line.contains("pending_payment") && line.contains("manual"), "{line}");

        let mut member = order.clone();
        member["order_token"] = Value::Null;
        assert!(describe(&member).is_err(), "a guest order without a token is not what the contract says");
    }
}
