//! Webhook intake over HTTP: Razorpay deliveries per second, verified, stored and answered.
//!
//! The engine runs with `payments.providers = ["razorpay"]` and the bench keys. Before measuring,
//! `--webhook-bodies` signed `payment.captured` bodies are built (one per bench payment, each for
//! a gateway order the engine never opened), and one probe checks the answers: `stored`, then
//! `duplicate` for the same event id. Then:
//!
//! - `webhook_stored`: `--webhook-clients` clients POST `/api/v1/webhooks/razorpay` back to back,
//!   cycling through the bodies, every delivery with an `X-Razorpay-Event-Id` of its own, so each
//!   is verified by the plugin (HMAC over the raw body by the host), inserted into
//!   `payment_events` and answered 200 `{"outcome":"stored"}`. The engine then processes each
//!   event after answering (claim, look up the gateway order, mark it ignored): that work shares
//!   the CPUs and the connection pool with the deliveries, so it is part of the rate.
//! - `webhook_duplicate`: every body delivered once more under an event id stored beforehand
//!   (unmeasured), then the clients re-send those: verified again, the insert finds the id,
//!   answered `duplicate`, as a gateway's retry of a delivery whose answer it missed.
//!
//! Anything but 200 with the expected outcome counts as an error. After the stored phase the
//! suite counts the events still waiting to be processed, and how long they take to drain: an
//! answer rate the processing cannot follow would be a backlog, not a throughput.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{AnyConnection, Connection as _};
use tokio::task::JoinSet;

use super::{Args, PROVIDER, SignedEvent};
use crate::{
    Common,
    engine::{Engine, Setup},
    load::{self, Outcome, Samples, Window},
    report,
    scenarios::FirstError,
    stats::Summary,
};

/// From the issue: at least 2,000 webhooks/s on PostgreSQL.
const RATE_TARGET: f64 = 2000.0;
/// Deliveries in flight while storing the events the duplicate phase re-sends.
const PREPARE_CONCURRENCY: usize = 16;
/// How long the suite waits for stored events to be processed before giving up counting.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the intake rows against a fresh engine and prints their table.
pub async fn run(common: Common, args: Args) -> anyhow::Result<()> {
    ensure!(args.webhook_clients > 0 && args.webhook_bodies > 0, "webhook options must be at least 1");
    let overrides = super::razorpay_config(&super::module()?, None, "api.razorpay.com");
    eprintln!("webhooks: starting the engine on {} with the razorpay gateway…", common.database.name());
    let engine = Engine::start(Setup { database: &common.database, overrides, seed: None }).await?;
    let measured = measure(&engine, &common, &args).await;
    let stopped = engine.stop().await;
    let (rows, drain, first_error) = measured?;
    stopped?;
    print_results(&common, &args, &rows, &drain);
    first_error.report();
    Ok(())
}

/// What processing after the answer left behind when the stored phase ended.
struct Drain {
    stored: i64,
    waiting: i64,
    /// From the window's end until nothing waited; `None` if that took over [`DRAIN_TIMEOUT`].
    drained_after: Option<Duration>,
}

async fn measure(
    engine: &Engine,
    common: &Common,
    args: &Args,
) -> anyhow::Result<(Vec<Summary>, Drain, Arc<FirstError>)> {
    let url = format!("{}/api/v1/webhooks/{PROVIDER}", engine.base_url());
    let http = super::super::http_client()?;
    let events = Arc::new(SignedEvent::many(args.webhook_bodies));
    probe(&http, &url, &events[0]).await?;

    eprintln!("webhooks: webhook_stored, {} clients for {:?}…", args.webhook_clients, common.duration);
    let first_error = Arc::new(FirstError::default());
    let window = Window::after(common.warmup, common.duration);
    let stored = deliver(&url, args.webhook_clients, &events, window, Expect::Stored, &first_error).await?;
    let drain = drain(engine.database_url(), window.end).await?;

    eprintln!("webhooks: storing {} events to deliver again…", events.len());
    store_duplicates(&http, &url, &events).await?;
    eprintln!("webhooks: webhook_duplicate, {} clients for {:?}…", args.webhook_clients, common.duration);
    let window = Window::after(common.warmup, common.duration);
    let duplicate = deliver(&url, args.webhook_clients, &events, window, Expect::Duplicate, &first_error).await?;

    let elapsed = window.duration();
    let rows =
        vec![Summary::new("webhook_stored", stored, elapsed), Summary::new("webhook_duplicate", duplicate, elapsed)];
    Ok((rows, drain, first_error))
}

/// The answer a delivery must get.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Stored,
    Duplicate,
}

impl Expect {
    fn outcome(self) -> &'static str {
        match self {
            Expect::Stored => "stored",
            Expect::Duplicate => "duplicate",
        }
    }

    /// The event id of delivery `n` of client `client`, or of duplicate `n`: in the stored phase
    /// every delivery gets a new one, in the duplicate phase body `n` always has the same.
    fn event_id(self, client: usize, n: usize) -> String {
        match self {
            Expect::Stored => format!("evt_Bench{client:03}_{n:09}"),
            Expect::Duplicate => format!("evt_BenchDup_{n:09}"),
        }
    }
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    event: &SignedEvent,
    event_id: &str,
) -> anyhow::Result<reqwest::Response> {
    http.post(url)
        .header("content-type", "application/json")
        .header("x-razorpay-event-id", event_id)
        .header("x-razorpay-signature", &event.signature)
        .body(event.body.clone())
        .send()
        .await
        .context("webhook request")
}

/// Reads the answer (the latency includes its body) and checks it is 200 with `expect`'s outcome.
async fn check(first_error: &FirstError, response: reqwest::Response, expect: Expect) -> anyhow::Result<Outcome> {
    let status = response.status();
    let body = response.bytes().await.context("reading a webhook answer")?;
    let outcome = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["outcome"].as_str().map(str::to_owned));
    if status == StatusCode::OK && outcome.as_deref() == Some(expect.outcome()) {
        return Ok(Outcome::Ok);
    }
    first_error.note(|| {
        format!(
            "POST /api/v1/webhooks/{PROVIDER} (`{}` expected) answered {status}: {}",
            expect.outcome(),
            String::from_utf8_lossy(&body)
        )
    });
    Ok(Outcome::Unexpected)
}

/// One delivery and its redelivery, answered `stored` then `duplicate`, before anything is timed.
async fn probe(http: &reqwest::Client, url: &str, event: &SignedEvent) -> anyhow::Result<()> {
    let probe = FirstError::default();
    for expect in [Expect::Stored, Expect::Duplicate] {
        let response = send(http, url, event, "evt_BenchProbe").await?;
        if check(&probe, response, expect).await? != Outcome::Ok {
            probe.report();
            anyhow::bail!("the probe delivery was not answered `{}`", expect.outcome());
        }
    }
    Ok(())
}

/// `clients` clients delivering back to back; client `i` starts at body `i` and steps by
/// `clients`, so concurrent deliveries carry different payments.
async fn deliver(
    url: &str,
    clients: usize,
    events: &Arc<Vec<SignedEvent>>,
    window: Window,
    expect: Expect,
    first_error: &Arc<FirstError>,
) -> anyhow::Result<Samples> {
    let http = super::super::http_client()?;
    load::clients(clients, |i| {
        let (http, url, events, first_error) = (http.clone(), url.to_owned(), events.clone(), first_error.clone());
        let mut n = 0;
        async move {
            load::client(window, || {
                let body = (i + n * clients) % events.len();
                let id = match expect {
                    Expect::Stored => expect.event_id(i, n),
                    Expect::Duplicate => expect.event_id(i, body),
                };
                n += 1;
                let (http, url, events, first_error) = (&http, &url, &events, &first_error);
                async move {
                    let response = send(http, url, &events[body], &id).await?;
                    check(first_error, response, expect).await
                }
            })
            .await
        }
    })
    .await
}

/// Stores every body once under its duplicate-phase event id, a few deliveries at a time.
async fn store_duplicates(http: &reqwest::Client, url: &str, events: &Arc<Vec<SignedEvent>>) -> anyhow::Result<()> {
    let workers = PREPARE_CONCURRENCY.min(events.len());
    let mut set = JoinSet::new();
    for worker in 0..workers {
        let (http, url, events) = (http.clone(), url.to_owned(), events.clone());
        set.spawn(async move {
            let failed = FirstError::default();
            for n in (worker..events.len()).step_by(workers) {
                let response = send(&http, &url, &events[n], &Expect::Duplicate.event_id(0, n)).await?;
                if check(&failed, response, Expect::Stored).await? != Outcome::Ok {
                    failed.report();
                    anyhow::bail!("storing the events of the duplicate phase failed");
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = set.join_next().await {
        joined??;
    }
    Ok(())
}

/// Counts the stored events still `received` (not yet processed) at `window_end`, then waits for
/// them to be processed, reading the engine's database directly.
async fn drain(database_url: &str, window_end: Instant) -> anyhow::Result<Drain> {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(database_url).await.context("connecting to the engine's database")?;
    let waiting_sql = "SELECT COUNT(*) FROM payment_events WHERE state = 'received'";
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_events").fetch_one(&mut db).await?;
    let waiting: i64 = sqlx::query_scalar(waiting_sql).fetch_one(&mut db).await?;
    let mut drained_after = None;
    let mut left = waiting;
    while window_end.elapsed() < DRAIN_TIMEOUT {
        if left == 0 {
            drained_after = Some(window_end.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = sqlx::query_scalar(waiting_sql).fetch_one(&mut db).await?;
    }
    let _ = db.close().await;
    Ok(Drain { stored, waiting, drained_after })
}

fn print_results(common: &Common, args: &Args, rows: &[Summary], drain: &Drain) {
    let title = format!(
        "webhooks: {} CPUs, {}, razorpay payment.captured, {} clients, {} bodies, {:?} measured after {:?} warm-up",
        report::cpu_count(),
        common.database.name(),
        args.webhook_clients,
        args.webhook_bodies,
        common.duration,
        common.warmup
    );
    println!("{}", report::table(&title, rows));
    let drained = match drain.drained_after {
        Some(after) => format!("all processed {:.2} s after the window", after.as_secs_f64()),
        None => format!("not all processed {} s after the window", DRAIN_TIMEOUT.as_secs()),
    };
    println!(
        "processing after the answer: {} of {} stored events still waiting when the stored phase ended; {drained}",
        drain.waiting, drain.stored
    );
    if let Some(stored) = rows.iter().find(|r| r.scenario == "webhook_stored") {
        let met = stored.per_second >= RATE_TARGET && stored.errors == 0;
        let verdict = match (&common.database, met) {
            (crate::database::Database::Sqlite, _) => "(judged on PostgreSQL; SQLite for comparison)",
            (_, true) => "MET",
            (_, false) => "NOT MET",
        };
        println!(
            "target: >= {RATE_TARGET:.0} webhooks/s stored on PostgreSQL, no errors: {verdict} ({:.0}/s, p99 {:.2} ms, {} errors)",
            stored.per_second,
            report::millis(stored.p99),
            stored.errors
        );
    }
}
