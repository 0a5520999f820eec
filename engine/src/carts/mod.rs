//! Carts: guest carts reached by a `cart_token`, one active cart per customer, lines of live
//! variants, and the priced cart (through [`crate::pricing`]) on every read.

pub mod api;
pub mod error;
pub mod model;
pub mod service;
mod store;

pub use service::{CartCleanupJob, CartService};
