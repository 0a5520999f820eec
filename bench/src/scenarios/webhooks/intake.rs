//! Webhook intake over HTTP: Razorpay deliveries per second, verified, stored and answered.
//!
//! The engine runs with `payments.providers = ["razorpay"]` and the bench keys. Before measuring,
//! `--webhook-bodies` signed `payment.captured` bodies are built (one per bench payment, each for
//! a gateway order the engine never opened), and one probe checks the answers: `stored`, then
//! `duplicate` for the same event id. Then:
//!
//! - `webhook_stored`: `--webhook-clients` clients POST `/api/v1/webhooks/razorpay` back to back,
//!   cycling through the bodies, every delivery with an `X-Razorpay-Event-Id` of its own, so each
//!   is verified by the plugin (HMAC over the raw body by the host), looked up among the gateway
//!   orders of the shop (none), inserted into `payment_events` as ignored ("no order of ours")
//!   and answered 200 `{"outcome":"stored"}`. Nothing is left to do after the answer.
//! - `webhook_duplicate`: every body delivered once more under an event id stored beforehand
//!   (unmeasured), then the clients re-send those: verified again, the insert finds the id,
//!   answered `duplicate`, as a gateway's retry of a delivery whose answer it missed.
//! - `webhook_matched`: `--webhook-bodies` paid orders seeded into the engine's database
//!   ([`super::paid_orders`]) and one signed body per order reporting the payment that paid it;
//!   one probe checks that such an event is settled as already paid. Then the clients deliver
//!   those, each with an event id of its own: verified, matched to its order, stored as received,
//!   answered `stored`, and right after the answer settled in the background (the order read,
//!   the claim on its payment lost, the payment read: already paid; the event marked processed).
//!   That work shares the CPUs and the connection pool with the deliveries, so it is part of the
//!   rate.
//!
//! Anything but 200 with the expected outcome counts as an error. After the stored and matched
//! phases the suite counts the events still waiting to be processed, and how long they take to
//! drain: an answer rate the processing cannot follow would be a backlog, not a throughput. After
//! the matched phase it checks that every event was settled as already paid and that no order,
//! payment or refund changed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::task::JoinSet;

use super::{
    Args, PROVIDER, SignedEvent,
    paid_orders::{self, ALREADY_PAID, Settlement},
};
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
/// How long the matched probe waits for its event to be settled.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The stored events each backlog counts: all of them after `webhook_stored`, those matched to
/// an order of the shop after `webhook_matched`.
const ALL_EVENTS: &str = "SELECT COUNT(*) FROM payment_events";
const MATCHED_EVENTS: &str = "SELECT COUNT(*) FROM payment_events WHERE order_id IS NOT NULL";

/// Runs the intake rows against a fresh engine and prints their table.
pub async fn run(common: Common, args: Args) -> anyhow::Result<()> {
    ensure!(args.webhook_clients > 0 && args.webhook_bodies > 0, "webhook options must be at least 1");
    let overrides = super::razorpay_config(&super::module()?, None, "api.razorpay.com");
    eprintln!("webhooks: starting the engine on {} with the razorpay gateway…", common.database.name());
    let engine = Engine::start(Setup { database: &common.database, overrides, seed: None }).await?;
    let measured = measure(&engine, &common, &args).await;
    let stopped = engine.stop().await;
    let Measured { rows, drains, settlement, first_error } = measured?;
    stopped?;
    print_results(&common, &args, &rows, &drains, &settlement);
    first_error.report();
    Ok(())
}

struct Measured {
    rows: Vec<Summary>,
    drains: Vec<Drain>,
    settlement: Settlement,
    first_error: Arc<FirstError>,
}

/// What processing after the answer left behind when a phase ended.
struct Drain {
    row: &'static str,
    stored: i64,
    waiting: i64,
    /// From the window's end until nothing waited; `None` if that took over [`DRAIN_TIMEOUT`].
    drained_after: Option<Duration>,
}

async fn measure(engine: &Engine, common: &Common, args: &Args) -> anyhow::Result<Measured> {
    let url = format!("{}/api/v1/webhooks/{PROVIDER}", engine.base_url());
    let http = super::super::http_client()?;
    let events = Arc::new(SignedEvent::many(args.webhook_bodies));
    probe(&http, &url, &events[0]).await?;

    eprintln!("webhooks: webhook_stored, {} clients for {:?}…", args.webhook_clients, common.duration);
    let first_error = Arc::new(FirstError::default());
    let window = Window::after(common.warmup, common.duration);
    let stored = deliver(&url, args.webhook_clients, &events, window, Expect::Stored, &first_error).await?;
    let stored_drain = drain(engine.database_url(), window.end, "webhook_stored", ALL_EVENTS).await?;

    eprintln!("webhooks: storing {} events to deliver again…", events.len());
    store_duplicates(&http, &url, &events).await?;
    eprintln!("webhooks: webhook_duplicate, {} clients for {:?}…", args.webhook_clients, common.duration);
    let window = Window::after(common.warmup, common.duration);
    let duplicate = deliver(&url, args.webhook_clients, &events, window, Expect::Duplicate, &first_error).await?;

    eprintln!("webhooks: seeding {} paid orders of the shop…", args.webhook_bodies);
    paid_orders::seed(engine.database_url(), args.webhook_bodies).await?;
    let events = Arc::new(SignedEvent::matched_many(args.webhook_bodies));
    probe_matched(&http, &url, &events[0], engine.database_url()).await?;
    eprintln!("webhooks: webhook_matched, {} clients for {:?}…", args.webhook_clients, common.duration);
    let window = Window::after(common.warmup, common.duration);
    let matched = deliver(&url, args.webhook_clients, &events, window, Expect::Matched, &first_error).await?;
    let matched_drain = drain(engine.database_url(), window.end, "webhook_matched", MATCHED_EVENTS).await?;
    let mut db = paid_orders::connect(engine.database_url()).await?;
    let settlement = Settlement::read(&mut db).await?;
    let _ = db.close().await;

    let elapsed = window.duration();
    let rows = vec![
        Summary::new("webhook_stored", stored, elapsed),
        Summary::new("webhook_duplicate", duplicate, elapsed),
        Summary::new("webhook_matched", matched, elapsed),
    ];
    Ok(Measured { rows, drains: vec![stored_drain, matched_drain], settlement, first_error })
}

/// The answer a delivery must get.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Stored,
    Duplicate,
    /// Stored too, for an order of the shop.
    Matched,
}

impl Expect {
    fn outcome(self) -> &'static str {
        match self {
            Expect::Stored | Expect::Matched => "stored",
            Expect::Duplicate => "duplicate",
        }
    }

    /// The event id of delivery `n` of client `client`, or of duplicate `n`: in the stored and
    /// matched phases every delivery gets a new one, in the duplicate phase body `n` always has
    /// the same.
    fn event_id(self, client: usize, n: usize) -> String {
        match self {
            Expect::Stored => format!("evt_Bench{client:03}_{n:09}"),
            Expect::Duplicate => format!("evt_BenchDup_{n:09}"),
            Expect::Matched => format!("evt_BenchM{client:03}_{n:09}"),
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

/// One delivery for a paid order of the shop, answered `stored`, then settled after the answer
/// as already paid: a seed the engine cannot read would otherwise show only after the window.
async fn probe_matched(
    http: &reqwest::Client,
    url: &str,
    event: &SignedEvent,
    database_url: &str,
) -> anyhow::Result<()> {
    let probe = FirstError::default();
    let response = send(http, url, event, "evt_BenchMProbe").await?;
    if check(&probe, response, Expect::Matched).await? != Outcome::Ok {
        probe.report();
        anyhow::bail!("the probe delivery for a paid order was not answered `stored`");
    }
    let mut db = paid_orders::connect(database_url).await?;
    let (state, note) = paid_orders::processed(&mut db, "evt_BenchMProbe", PROBE_TIMEOUT).await?;
    let _ = db.close().await;
    ensure!(
        state == "processed" && note == ALREADY_PAID,
        "the probe event for a paid order was left `{state}` ({note}), not processed as already paid"
    );
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
                    Expect::Stored | Expect::Matched => expect.event_id(i, n),
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

/// Counts the stored events still `received` (not yet processed) at `window_end` of `row`'s
/// phase, then waits for them to be processed, reading the engine's database directly.
/// `stored_sql` counts the events the phase is about.
async fn drain(
    database_url: &str,
    window_end: Instant,
    row: &'static str,
    stored_sql: &'static str,
) -> anyhow::Result<Drain> {
    let mut db = paid_orders::connect(database_url).await?;
    let waiting_sql = "SELECT COUNT(*) FROM payment_events WHERE state = 'received'";
    let stored: i64 = sqlx::query_scalar(stored_sql).fetch_one(&mut db).await?;
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
    Ok(Drain { row, stored, waiting, drained_after })
}

fn print_results(common: &Common, args: &Args, rows: &[Summary], drains: &[Drain], settlement: &Settlement) {
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
    println!(
        "webhook_stored:    events for no order of the shop: verified, matched to nothing, stored (ignored), answered"
    );
    println!("webhook_duplicate: those events again under stored event ids: verified, found stored, answered");
    println!(
        "webhook_matched:   events for {} paid orders of the shop: verified, matched, stored, answered, then settled \
         in the background as already paid",
        args.webhook_bodies
    );
    for drain in drains {
        let drained = match drain.drained_after {
            Some(after) => format!("all processed {:.2} s after the window", after.as_secs_f64()),
            None => format!("not all processed {} s after the window", DRAIN_TIMEOUT.as_secs()),
        };
        println!(
            "processing after the answer, {}: {} of {} stored events still waiting when the phase ended; {drained}",
            drain.row, drain.waiting, drain.stored
        );
    }
    let s = settlement;
    println!(
        "settled, webhook_matched: {} of {} matched events processed as already paid; orders moved {}, status \
         changes {}, refunds {}, payments changed {}: {}",
        s.already_paid,
        s.matched,
        s.orders_moved,
        s.history,
        s.refunds,
        s.payments_changed,
        if s.ok() { "OK" } else { "WRONG" }
    );
    let judged: Vec<&Summary> = ["webhook_stored", "webhook_matched"]
        .iter()
        .filter_map(|name| rows.iter().find(|r| r.scenario == *name))
        .collect();
    let met = judged.len() == 2 && judged.iter().all(|r| r.per_second >= RATE_TARGET && r.errors == 0) && s.ok();
    let verdict = match (&common.database, met) {
        (crate::database::Database::Sqlite, _) => "(judged on PostgreSQL; SQLite for comparison)",
        (_, true) => "MET",
        (_, false) => "NOT MET",
    };
    let figures: Vec<String> = judged
        .iter()
        .map(|r| {
            format!("{} {:.0}/s, p99 {:.2} ms, {} errors", r.scenario, r.per_second, report::millis(r.p99), r.errors)
        })
        .collect();
    println!(
        "target: >= {RATE_TARGET:.0} webhooks/s on PostgreSQL for each of webhook_stored and webhook_matched, no \
         errors, matched events settled: {verdict} ({})",
        figures.join("; ")
    );
}
