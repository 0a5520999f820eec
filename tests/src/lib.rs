//! End-to-end tests live in `e2e/` (one test binary). This library is empty; the crate exists to
//! hold them and the `engine` binary they run.

/// `docs/schema.md`, generated from the migrations. It lives here rather than in xtask because
/// this crate already builds sqlx with the engine's features (xtask alone would compile sqlx and
/// SQLite a second time, minutes on a fresh clone).
pub mod schema;
