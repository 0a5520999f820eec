//! Order SQL, one file per concern: `orders` (the order, its items and history), `coupons`
//! (redemptions and the use-count guard), `idempotency` (checkout's records). Portable subset
//! (see `crate::db`).

pub mod coupons;
pub mod idempotency;
pub mod orders;
