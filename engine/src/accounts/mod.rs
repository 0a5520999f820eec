//! Accounts: customers and staff, sessions (JWT access + rotating refresh tokens), password
//! reset and change, profiles and address books, login throttling.

mod address_store;
pub mod api;
pub mod cleanup;
mod countries;
pub mod error;
pub mod model;
mod password;
pub mod profile;
pub mod reset;
pub mod service;
mod store;
mod throttle;
mod throttle_store;
pub mod tokens;

pub use error::AccountError;
pub use service::{AccountService, Caller, Session};
/// The store functions other domains call inside their own transaction.
#[cfg_attr(not(test), expect(unused_imports, reason = "the seam checkout will use (issue 10)"))]
pub(crate) use store::{ensure_secret, read_user};
