//! Guards the "fixed number of queries per cart" promise of [`CartBuilder::build`] by counting
//! the statements sqlx really sends: every statement is a `sqlx::query` tracing event, emitted
//! inside the caller's span on both backends (the SQLite worker thread enters the span the
//! query was sent from). A layer attributes each event to the enclosing `count_queries` span,
//! so tests running beside this one do not disturb the count.
//!
//! The statements are counted once the pool's connection is open and idle (the catalogue is
//! created first, one statement at a time), so a connection's set-up (SQLite's PRAGMAs) is not.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use tracing::{Instrument, field::Visit, span};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

use super::{
    cart_builder::{CartBuilder, CartRequest, Limits, LineRequest},
    model::Quantity,
};
use crate::{
    catalog::{
        categories::{CategoryService, model::CategoryDraft},
        products::{
            ProductService,
            cache::CatalogChanges,
            model::{ProductOption, Status},
            service::{ProductDraft, VariantDraft},
        },
    },
    clock::{ManualClock, SharedClock},
    config,
    db::{Db, testing::TestDb},
    ids::new_id,
};

/// Statements counted per probe id.
static COUNTS: OnceLock<Mutex<HashMap<u64, usize>>> = OnceLock::new();

fn counts() -> &'static Mutex<HashMap<u64, usize>> {
    COUNTS.get_or_init(Mutex::default)
}

struct ProbeId(u64);

struct ProbeVisitor(Option<u64>);

impl Visit for ProbeVisitor {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "probe" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

struct QueryCounter;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for QueryCounter {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "count_queries" {
            return;
        }
        let mut visitor = ProbeVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(probe), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(ProbeId(probe));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            if let Some(ProbeId(probe)) = span.extensions().get::<ProbeId>() {
                *counts().lock().expect("counts").entry(*probe).or_default() += 1;
                return;
            }
        }
    }
}

fn install_counter() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::registry().with(QueryCounter).try_init().expect("no other global subscriber in lib tests");
    });
}

/// Runs `future` inside a fresh probe span and returns its result and the statements it sent.
async fn count_queries<T>(future: impl Future<Output = T>) -> (T, usize) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let probe = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let result = future.instrument(tracing::info_span!("count_queries", probe)).await;
    let count = counts().lock().expect("counts").remove(&probe).unwrap_or(0);
    (result, count)
}

fn line(variant_id: &str, quantity: i64) -> LineRequest {
    LineRequest { variant_id: variant_id.to_owned(), quantity: Quantity::parse(quantity, 100).expect("quantity") }
}

async fn builder_query_count_is_fixed_on(db: Db) {
    let clock: SharedClock = Arc::new(ManualClock::starting_now());
    let changes = CatalogChanges::default();
    let categories = CategoryService::new(db.clone(), clock.clone(), changes.clone());
    let draft = |name: &str, parent: Option<String>| CategoryDraft {
        name: Some(name.to_owned()),
        slug: Some(name.to_lowercase()),
        description: None,
        position: None,
        parent_id: Some(parent),
    };
    let books = categories.create(draft("Books", None)).await.expect("books");
    let fiction = categories.create(draft("Fiction", Some(books.id.clone()))).await.expect("fiction");
    let products = Arc::new(ProductService::new(db.clone(), clock.clone(), "INR".into(), changes));
    let mut variants = Vec::new();
    for n in 0..40_i64 {
        let detail = products
            .create(ProductDraft {
                name: format!("Novel {n}"),
                slug: None,
                description: String::new(),
                status: Status::Active,
                // Half in a nested category, half in none: both shapes go through the batch.
                category_id: (n % 2 == 0).then(|| fiction.id.clone()),
                images: Vec::new(),
                options: Vec::new(),
                variants: vec![VariantDraft {
                    sku: format!("NOVEL-{n}"),
                    price: 100 + n,
                    compare_at_price: None,
                    stock: 5,
                    options: Vec::new(),
                }],
            })
            .await
            .expect("product");
        variants.push(detail.variants[0].id.clone());
    }
    // And one product of 200 variants, so the big cart reaches 240 lines in one IN list.
    let sizes: Vec<String> = (0..200).map(|n| format!("S{n}")).collect();
    let poster = products
        .create(ProductDraft {
            name: "Poster".into(),
            slug: None,
            description: String::new(),
            status: Status::Active,
            category_id: Some(books.id.clone()),
            images: Vec::new(),
            options: vec![ProductOption { name: "Size".into(), values: sizes.clone() }],
            variants: sizes
                .iter()
                .map(|size| VariantDraft {
                    sku: format!("POSTER-{size}"),
                    price: 999,
                    compare_at_price: None,
                    stock: 1,
                    options: vec![("Size".into(), size.clone())],
                })
                .collect(),
        })
        .await
        .expect("poster");
    variants.extend(poster.variants.iter().map(|v| v.id.clone()));
    let store = config::load_from_str("").expect("defaults").store;
    let builder = CartBuilder::new(products, &store, clock);
    let limits = Limits { max_lines: 500, max_quantity: 100 };

    let one = CartRequest { lines: vec![line(&variants[0], 1)], ..CartRequest::default() };
    let (built, small) = count_queries(builder.build(one, limits)).await;
    assert_eq!(built.expect("one line").cart.lines.len(), 1);

    let many = CartRequest { lines: variants.iter().map(|v| line(v, 2)).collect(), ..CartRequest::default() };
    let (built, large) = count_queries(builder.build(many, limits)).await;
    let built = built.expect("240 lines");

    assert_eq!(built.cart.lines.len(), 240);
    let first = &built.cart.lines[0];
    assert_eq!((first.unit_price, first.quantity), (100, 2));
    assert_eq!(first.category_slug.as_deref(), Some("fiction"));
    assert_eq!(first.category_ancestors, ["books"]);
    assert_eq!(built.cart.lines[1].category_slug, None);
    let last = &built.cart.lines[239];
    assert_eq!((last.unit_price, last.category_slug.as_deref()), (999, Some("books")));
    assert_eq!(built.lines[&last.line_id].variant_title, "S199");
    // The second build finds the category slugs (the same two categories) in memory.
    assert_eq!((small, large), (2, 1), "statements for a 1-line and a 240-line cart");

    let unknown = new_id("var");
    let bad = CartRequest { lines: vec![line(&variants[1], 1), line(&unknown, 1)], ..CartRequest::default() };
    let (result, _) = count_queries(builder.build(bad, limits)).await;
    assert!(
        matches!(result, Err(super::cart_builder::CartBuildError::BadLines(ref lines)) if lines.len() == 1 && lines[0].index == 1),
        "{result:?}"
    );
}

/// Guards: the cart builder sends the same two statements for a 1-line and a 240-line cart (the
/// preview used to send three or four per line, from the HTTP handler). SQLite, or PostgreSQL
/// when `TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn building_a_cart_sends_two_statements_whatever_its_size() {
    install_counter();
    let test = TestDb::migrated().await;
    builder_query_count_is_fixed_on(test.db.clone()).await;
}
