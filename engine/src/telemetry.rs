//! Logging with tracing: pretty or JSON lines, filtered by `log.level`. Every line inside a
//! request carries the request's span (its id, method and path).

use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber writing to `writer`. Returns false when one was already set
/// (tests start many engines in one process).
pub fn init<W>(config: &LogConfig, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match config.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    // The whole chain, so lines inside a service's own span still carry the
                    // request span's id.
                    .with_span_list(true)
                    .with_writer(writer),
            )
            .try_init()
            .is_ok(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_writer(writer)).try_init().is_ok(),
    }
}
