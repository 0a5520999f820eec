//! The order routes, one file per audience: `storefront` (a customer's or guest's own orders),
//! `checkout`, `admin`; `dto` holds the shapes they share.

pub mod admin;
pub mod checkout;
pub mod dto;
pub mod storefront;
