//! Products with options and variants: staff management, the storefront listing (filters,
//! sorts, full-text search, keyset cursors) and product pages.

pub mod admin_api;
pub mod api;
pub mod cache;
pub mod dto;
pub mod error;
mod examples;
pub mod listing;
pub mod model;
mod pricing_store;
pub mod service;
mod stock_store;
mod store;

/// The store functions other domains call inside their own transaction (see `stock_store`).
pub(crate) use stock_store::{lock_variants, return_stock, take_stock};

pub use admin_api::AdminProductsApi;
pub use api::ProductsApi;
pub use error::ProductError;
pub use service::{ProductService, PurchasableVariant};

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ProductTags {
    /// The storefront catalog: product cards with search, filters and sorts, and product pages.
    Products,
    /// Staff management of products, variants and stock.
    #[oai(rename = "Admin · Products")]
    AdminProducts,
}
