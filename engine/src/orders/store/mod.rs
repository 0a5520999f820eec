//! Order SQL, one file per concern: `orders` (the order, its items and history), `coupons`
//! (redemptions and the use-count guard), `idempotency` (checkout's records), `lifecycle`
//! (status moves, the staff list, the expiry sweep). Portable subset (see `crate::db`).

pub mod coupons;
pub mod idempotency;
pub mod lifecycle;
pub mod orders;
