//! Operations endpoints: `/health` (the process answers), `/ready` (the database answers) and
//! `/metrics` (Prometheus text).

use poem::{Request, http::header};
use poem_openapi::{ApiResponse, OpenApi, Tags, payload::PlainText};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{config::MetricsAccess, db::Db, http::problem::ApiError, metrics::Metrics};

#[derive(Tags)]
enum OpsTags {
    /// Liveness, readiness and metrics for orchestrators and monitoring.
    Operations,
}

pub struct OpsApi {
    pub db: Db,
    pub metrics: Metrics,
    /// `server.metrics` and, for `token`, `server.metrics_token`.
    pub metrics_access: MetricsAccess,
    pub metrics_token: SecretString,
}

impl OpsApi {
    /// Whether the request may read `/metrics`.
    fn metrics_allowed(&self, req: &Request) -> Result<(), ApiError> {
        match self.metrics_access {
            MetricsAccess::Public => Ok(()),
            MetricsAccess::Off => Err(ApiError::not_found("metrics")),
            MetricsAccess::Token => {
                let given = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                // Hash both sides first: the comparison is then constant time over equal
                // lengths, so neither the token's content nor its length leaks through timing.
                let expected = Sha256::digest(self.metrics_token.expose_secret().as_bytes());
                let matches: bool = Sha256::digest(given.trim().as_bytes()).ct_eq(&expected).into();
                if matches && !self.metrics_token.expose_secret().is_empty() {
                    Ok(())
                } else {
                    Err(ApiError::unauthenticated("a valid metrics bearer token is required"))
                }
            }
        }
    }
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
    /// background jobs. `server.metrics` decides who may read it: anyone (`public`), a caller
    /// with `Authorization: Bearer <server.metrics_token>` (`token`; else 401), or nobody
    /// (`off`; 404).
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(&self, req: &Request) -> Result<PlainText<String>, ApiError> {
        self.metrics_allowed(req)?;
        let pool = self.db.pool();
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.metrics.db_pool_connections.with_label_values(&["idle"]).set(idle);
        self.metrics.db_pool_connections.with_label_values(&["in_use"]).set(size - idle);
        self.metrics.db_pool_max.set(i64::from(pool.options().get_max_connections()));
        Ok(PlainText(self.metrics.render()))
    }
}
