//! Orders: checkout turns a cart into an order (stock, snapshots, coupon redemptions and the
//! idempotency record in one transaction), and the order then moves through API.md's state
//! machine (`model::check_transition`).

pub mod api;
pub mod error;
pub mod model;
pub mod service;
mod store;

pub use error::OrderError;
pub use service::OrderService;
