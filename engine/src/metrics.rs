//! Prometheus metrics: HTTP requests by route and status, latency histograms, the database pool,
//! background jobs and pricing-plugin calls. Rendered as text at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_latency: HistogramVec,
    pub db_pool_connections: IntGaugeVec,
    pub db_pool_max: IntGauge,
    pub job_runs: IntCounterVec,
    pub job_items: IntCounterVec,
    pub plugin_calls: IntCounterVec,
    pub plugin_latency: HistogramVec,
    pub catalog_cache: crate::catalog::cache::CacheCounters,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route (operation id), method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route and status")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let db_pool_connections =
            IntGaugeVec::new(Opts::new("db_pool_connections", "Database pool connections by state"), &["state"])
                .expect("valid metric");
        let db_pool_max = IntGauge::new("db_pool_max_connections", "Configured pool size").expect("valid metric");
        let job_runs = IntCounterVec::new(
            Opts::new("job_runs_total", "Background job runs by job and outcome"),
            &["job", "outcome"],
        )
        .expect("valid metric");
        let job_items = IntCounterVec::new(
            Opts::new("job_items_total", "Units of work handled by background jobs, by outcome"),
            &["job", "outcome"],
        )
        .expect("valid metric");
        let plugin_calls = IntCounterVec::new(
            Opts::new(
                "plugin_calls_total",
                "Pricing-plugin calls by plugin and outcome (`ok` or the error: timeout, panicked, invalid_output, …)",
            ),
            &["plugin", "outcome"],
        )
        .expect("valid metric");
        let plugin_latency = HistogramVec::new(
            HistogramOpts::new("plugin_call_duration_seconds", "Pricing-plugin call time, sandbox included")
                .buckets(vec![0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1.0]),
            &["plugin"],
        )
        .expect("valid metric");
        let cache_reads = IntCounterVec::new(
            Opts::new(
                "catalog_cache_reads_total",
                "Cacheable storefront reads by outcome: hit, miss, or bypass (the change listener was down)",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let catalog_cache = crate::catalog::cache::CacheCounters {
            hits: cache_reads.with_label_values(&["hit"]),
            misses: cache_reads.with_label_values(&["miss"]),
            bypassed: cache_reads.with_label_values(&["bypass"]),
        };
        for collector in [
            Box::new(cache_reads) as Box<dyn prometheus::core::Collector>,
            Box::new(http_requests.clone()),
            Box::new(http_latency.clone()),
            Box::new(db_pool_connections.clone()),
            Box::new(db_pool_max.clone()),
            Box::new(job_runs.clone()),
            Box::new(job_items.clone()),
            Box::new(plugin_calls.clone()),
            Box::new(plugin_latency.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        Self {
            registry,
            http_requests,
            http_latency,
            db_pool_connections,
            db_pool_max,
            job_runs,
            job_items,
            plugin_calls,
            plugin_latency,
            catalog_cache,
        }
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.http_requests.with_label_values(&[route, method, &status]).inc();
        self.http_latency.with_label_values(&[route, method, &status]).observe(seconds);
    }

    pub fn observe_plugin_call(&self, plugin: &str, outcome: &str, seconds: f64) {
        self.plugin_calls.with_label_values(&[plugin, outcome]).inc();
        self.plugin_latency.with_label_values(&[plugin]).observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
