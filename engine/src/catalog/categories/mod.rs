//! The category tree: a parent, a position among siblings, a unique slug, a name and a
//! description per category, with a materialised `path` (`/cat_A/cat_B/`, including itself) so
//! "a category and its descendants" is one prefix match and a move is one UPDATE.
//!
//! Split by role: `api` (HTTP, poem-openapi types only), `dto` (request/response shapes),
//! `service` (rules, transactions), `store` (SQL only), `model` (domain types), `error`.

pub mod api;
pub mod dto;
pub mod error;
pub mod model;
pub mod service;
mod store;

pub use error::CategoryError;
pub use model::Category;
pub use service::CategoryService;
