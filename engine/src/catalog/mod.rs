//! Catalog: the category tree, and products with options and variants.
//!
//! `categories` and `products` are separate vertical slices (api, service, store, model); both
//! use [`slug`] and the shared tables of the catalog migration.

pub mod cache;
pub mod categories;
pub mod products;
pub mod slug;
