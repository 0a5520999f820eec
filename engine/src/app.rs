//! Wiring: the application state, the HTTP routes and middleware, and the server.
//! `Application::build` binds the listener first, so tests can ask for port 0 and read the port.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use poem::{
    EndpointExt, Route, Server,
    endpoint::make_sync,
    listener::{Acceptor, Listener, TcpListener},
    middleware::Cors,
    web::Html,
};
use poem_openapi::{LicenseObject, OpenApiService};
use tokio_util::sync::CancellationToken;

use crate::{
    accounts::{
        AccountService,
        api::{AdminCustomersApi, AuthApi, MeApi},
        cleanup::CleanupJob,
        reset::PasswordResetJob,
    },
    carts::{CartCleanupJob, CartService, api::CartsApi, service::CartDeps},
    catalog::{
        cache::StorefrontCache,
        categories::{
            CategoryService,
            api::{AdminCategoriesApi, CategoriesApi},
        },
        products::{AdminProductsApi, ProductService, ProductsApi, cache::CatalogChanges},
    },
    clock::{SharedClock, SystemClock},
    config::Config,
    db::Db,
    http::{
        client_addr::TrustedProxies,
        middleware::{BodyLimit, Observe},
        text::NameTextFields,
    },
    jobs::Runner,
    mail::{job::MailJob, transport::Mailer},
    metrics::Metrics,
    ops::OpsApi,
    orders::{
        OrderExpiryJob, OrderService, PaymentsJob,
        api::{admin::AdminOrdersApi, checkout::CheckoutApi, storefront::OrdersApi},
        service::{OrderDeps, OrderHistory},
    },
    payments::{PaymentGateways, api::WebhooksApi},
    plugins::{PluginRegistry, ReloadSource, api::AdminPluginsApi},
    pricing::{PricingService, api::AdminPricingApi, cart_builder::CartBuilder, history::HistoryChanges},
};

/// Everything the engine's services share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: Metrics,
    pub accounts: Arc<AccountService>,
    pub categories: Arc<CategoryService>,
    pub products: Arc<ProductService>,
    /// Storefront reads kept in memory (lists, product pages, categories); committed catalog
    /// writes invalidate what they affect on every instance (see `catalog::cache`).
    pub storefront: Arc<StorefrontCache>,
    pub jobs: Runner,
    /// The loaded WebAssembly plugins (swapped atomically on reload).
    pub plugins: Arc<PluginRegistry>,
    pub pricing: Arc<PricingService>,
    /// Variant ids to the pipeline's cart: the preview's path now, carts' and checkout's later.
    pub cart_builder: Arc<CartBuilder>,
    pub carts: Arc<CartService>,
    pub orders: Arc<OrderService>,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the state with an explicit clock (tests move time instead of waiting). A plugin
    /// reload re-reads the modules with the same configuration.
    pub async fn with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let source = ReloadSource::Fixed { plugins: config.plugins.clone(), pricing: config.pricing.clone() };
        Self::with_reload_source(config, clock, source).await
    }

    /// Builds the state; `source` is where a plugin reload reads its configuration. A plugin
    /// that fails to load is a [`crate::plugins::LoadError`] inside the error (exit code 2).
    pub async fn with_reload_source(config: Config, clock: SharedClock, source: ReloadSource) -> anyhow::Result<Self> {
        let plugin_clock = clock.clone();
        let plugins = Arc::new(
            PluginRegistry::load(
                config.plugin_runtime.clone(),
                &config.plugins,
                &config.pricing,
                config.environment,
                source,
                Box::new(move || plugin_clock.now_ms()),
            )
            .await?,
        );
        let metrics = Metrics::new();
        let pricing = Arc::new(PricingService::new(plugins.clone(), metrics.clone()));
        let db = Db::connect(&config.database)?;
        if config.database.auto_migrate {
            db.migrate().await?;
        }
        let accounts = Arc::new(AccountService::new(db.clone(), clock.clone(), &config.auth).await?);
        let changes = CatalogChanges::default();
        let categories = Arc::new(CategoryService::new(db.clone(), clock.clone(), changes.clone()));
        let products = Arc::new(ProductService::new(
            db.clone(),
            clock.clone(),
            config.store.currency.to_string(),
            changes.clone(),
        ));
        let gateways = PaymentGateways::new(&config.payments, plugins.clone());
        gateways.check_loaded().map_err(|problems| anyhow::anyhow!("invalid configuration:\n  - {problems}"))?;
        let history = Arc::new(OrderHistory::new(db.clone()));
        let history_changes = HistoryChanges::default();
        let cart_builder = Arc::new(CartBuilder::new(products.clone(), &config.store, clock.clone()));
        let carts = Arc::new(CartService::new(CartDeps {
            accounts: accounts.clone(),
            db: db.clone(),
            clock: clock.clone(),
            products: products.clone(),
            builder: cart_builder.clone(),
            pricing: pricing.clone(),
            history,
            history_changes: history_changes.clone(),
            config: config.carts.clone(),
        }));
        let orders = Arc::new(OrderService::new(OrderDeps {
            db: db.clone(),
            clock: clock.clone(),
            carts: carts.clone(),
            products: products.clone(),
            builder: cart_builder.clone(),
            pricing: pricing.clone(),
            gateways: gateways.clone(),
            history_changes,
            config: config.orders.clone(),
            store_config: config.store.clone(),
        }));
        // Other instances' catalogue changes also move the generation carts compare (their own
        // 2 s TTL stays the bound when the feed is down).
        let cart_changes = changes.clone();
        db.changes().subscribe(move |_| cart_changes.bump());
        let storefront = StorefrontCache::new(
            config.catalog.cache_ttl,
            config.catalog.cache_max_bytes,
            clock.clone(),
            db.changes().clone(),
            Some(metrics.catalog_cache.clone()),
        );
        let mailer = Arc::new(Mailer::from_config(&config.mail).context("mail configuration")?);
        let mut jobs =
            Runner::new(db.clone(), clock.clone(), metrics.clone(), config.jobs.lease, config.jobs.poll_interval);
        jobs.register(Arc::new(MailJob {
            mailer,
            max_attempts: config.mail.max_attempts,
            interval: config.jobs.poll_interval,
        }));
        jobs.register(Arc::new(CleanupJob { accounts: accounts.clone() }));
        jobs.register(Arc::new(CartCleanupJob { carts: carts.clone() }));
        jobs.register(Arc::new(OrderExpiryJob { orders: orders.clone(), interval: config.jobs.poll_interval }));
        jobs.register(Arc::new(PaymentsJob { orders: orders.clone(), interval: config.jobs.poll_interval }));
        jobs.register(Arc::new(PasswordResetJob { accounts: accounts.clone(), interval: config.jobs.poll_interval }));
        Ok(Self {
            config: Arc::new(config),
            db,
            clock,
            metrics,
            accounts,
            categories,
            products,
            storefront,
            jobs,
            plugins,
            pricing,
            cart_builder,
            carts,
            orders,
        })
    }
}

/// Every API struct of every domain, in the order they appear in the OpenAPI document.
type Apis = (
    AuthApi,
    MeApi,
    AdminCustomersApi,
    CategoriesApi,
    AdminCategoriesApi,
    ProductsApi,
    AdminProductsApi,
    CartsApi,
    CheckoutApi,
    OrdersApi,
    AdminPricingApi,
    AdminOrdersApi,
    AdminPluginsApi,
    WebhooksApi,
    OpsApi,
);

/// The OpenAPI service: every API struct of every domain, composed once.
pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    let apis = (
        AuthApi { accounts: state.accounts.clone(), carts: state.carts.clone() },
        MeApi { accounts: state.accounts.clone() },
        AdminCustomersApi { accounts: state.accounts.clone() },
        CategoriesApi { categories: state.categories.clone(), cache: state.storefront.clone() },
        AdminCategoriesApi { categories: state.categories.clone(), accounts: state.accounts.clone() },
        ProductsApi { products: state.products.clone(), cache: state.storefront.clone() },
        AdminProductsApi { accounts: state.accounts.clone(), products: state.products.clone() },
        CartsApi { accounts: state.accounts.clone(), carts: state.carts.clone() },
        CheckoutApi { accounts: state.accounts.clone(), orders: state.orders.clone() },
        OrdersApi { accounts: state.accounts.clone(), orders: state.orders.clone() },
        AdminPricingApi {
            accounts: state.accounts.clone(),
            pricing: state.pricing.clone(),
            carts: state.cart_builder.clone(),
        },
        AdminOrdersApi { accounts: state.accounts.clone(), orders: state.orders.clone() },
        AdminPluginsApi { accounts: state.accounts.clone(), plugins: state.plugins.clone() },
        WebhooksApi { orders: state.orders.clone() },
        OpsApi {
            db: state.db.clone(),
            metrics: state.metrics.clone(),
            metrics_access: state.config.server.metrics,
            metrics_token: state.config.server.metrics_token.clone(),
        },
    );
    OpenApiService::new(apis, "Commerce Engine", env!("CARGO_PKG_VERSION"))
        .license(LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0"))
        .description(
            "Headless commerce engine. Errors are RFC 9457 problem details (`application/problem+json`) \
             with a stable `code`. Money is integer minor units with a currency.",
        )
        .server("/")
}

/// The whole HTTP application: routes, docs and middleware.
pub fn routes(state: &AppState) -> impl poem::Endpoint<Output = poem::Response> + use<> {
    let api = openapi(state);
    let document = crate::http::openapi::document(&api);
    let names = NameTextFields::new(&document);
    let docs = docs_page(&api, &document);
    let spec = make_sync(move |_| poem::Response::builder().content_type("application/json").body(document.clone()));
    let config = &state.config.server;
    let origins = &config.cors.allowed_origins;
    let cors = (!origins.is_empty()).then(|| {
        let cors = Cors::new()
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            .allow_headers([
                "authorization",
                "content-type",
                "x-cart-token",
                "x-order-token",
                "idempotency-key",
                "x-request-id",
            ])
            .expose_headers(["x-request-id", "retry-after", "idempotent-replayed"])
            .max_age(600);
        if origins.iter().any(|o| o == "*") { cors } else { cors.allow_origins(origins.iter().map(String::as_str)) }
    });
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", Route::new().at("/", make_sync(move |_| Html(docs.clone()))))
        .nest("/", api)
        .with(names)
        .with(crate::http::replay::MarkReplays)
        .with(BodyLimit(config.body_limit))
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .with(Observe { metrics: state.metrics.clone(), trusted_proxies: TrustedProxies::new(&config.trusted_proxies) })
}

/// The Swagger UI page with the processed document in it. poem-openapi embeds its own document
/// (`spec()`) in the page; that text is swapped for the served one, so `/docs` shows exactly
/// what `/openapi.json` serves.
fn docs_page(api: &OpenApiService<Apis, ()>, document: &str) -> String {
    let html = api.swagger_ui_html();
    let raw = api.spec();
    if html.contains(&raw) {
        html.replacen(&raw, document, 1)
    } else {
        // Only if a poem-openapi upgrade changed the page; `docs_show_the_served_document` fails then.
        tracing::warn!("the docs page does not embed the raw document; serving it unprocessed");
        html
    }
}

pub struct Application {
    state: AppState,
    acceptor: poem::listener::TcpAcceptor,
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Application {
    /// Builds the state and binds `server.bind` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::from_state(AppState::new(config).await?).await
    }

    pub async fn from_state(state: AppState) -> anyhow::Result<Self> {
        let bind = state.config.server.bind;
        let acceptor = TcpListener::bind(bind.to_string())
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {bind} (server.bind)"))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("listener has no socket address")?;
        Ok(Self { state, acceptor, addr, stop: CancellationToken::new() })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancel to shut down gracefully: no new connections, in-flight requests finish (up to
    /// `server.shutdown_timeout`), the job runner stops between units of work.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { state, acceptor, stop, .. } = self;
        let jobs = state.config.jobs.enabled.then(|| tokio::spawn(state.jobs.clone().run_forever(stop.clone())));
        let listener = state.db.listen_for_changes(stop.clone());
        let app = routes(&state);
        let timeout = state.config.server.shutdown_timeout;
        let signal = stop.clone();
        let served = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(app, async move { signal.cancelled().await }, Some(timeout))
            .await;
        stop.cancel();
        if let Some(jobs) = jobs {
            let _ = jobs.await;
        }
        if let Some(listener) = listener {
            let _ = listener.await;
        }
        state.db.close().await;
        served.context("server failed")
    }
}
