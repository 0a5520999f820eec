//! Operations endpoints: `/health` (the process answers), `/ready` (the database answers) and
//! `/metrics` (Prometheus text).

use poem_openapi::{ApiResponse, OpenApi, Tags, payload::PlainText};

use crate::{db::Db, http::problem::ApiError, metrics::Metrics};

#[derive(Tags)]
enum OpsTags {
    /// Liveness, readiness and metrics for orchestrators and monitoring.
    Operations,
}

pub struct OpsApi {
    pub db: Db,
    pub metrics: Metrics,
}

#[derive(ApiResponse)]
enum Health {
    /// The process is up.
    #[oai(status = 200)]
    Ok(PlainText<&'static str>),
}

#[derive(ApiResponse)]
enum Ready {
    /// The database answers; this instance can take traffic.
    #[oai(status = 200)]
    Ready(PlainText<&'static str>),
}

#[OpenApi(tag = "OpsTags::Operations")]
impl OpsApi {
    /// Liveness
    ///
    /// 200 while the process serves requests. Touches nothing else.
    #[oai(path = "/health", method = "get", operation_id = "getHealth")]
    async fn health(&self) -> Health {
        Health::Ok(PlainText("ok"))
    }

    /// Readiness
    ///
    /// 200 when the database answers, else 503 `unavailable` with `Retry-After`.
    #[oai(path = "/ready", method = "get", operation_id = "getReadiness")]
    async fn ready(&self) -> Result<Ready, ApiError> {
        match self.db.ping().await {
            Ok(()) => Ok(Ready::Ready(PlainText("ready"))),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Err(ApiError::unavailable("the database is unavailable"))
            }
        }
    }

    /// Metrics
    ///
    /// Prometheus text format: requests and latency by route and status, the database pool,
    /// background jobs.
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(&self) -> PlainText<String> {
        let pool = self.db.pool();
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.metrics.db_pool_connections.with_label_values(&["idle"]).set(idle);
        self.metrics.db_pool_connections.with_label_values(&["in_use"]).set(size - idle);
        self.metrics.db_pool_max.set(i64::from(pool.options().get_max_connections()));
        PlainText(self.metrics.render())
    }
}
