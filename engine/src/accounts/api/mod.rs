//! HTTP layer of the accounts domain: thin handlers that parse, call the service and map.

mod admin;
mod auth;
pub mod dto;
mod me;

pub use admin::AdminCustomersApi;
pub use auth::AuthApi;
pub use me::MeApi;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum AccountTags {
    /// Registration, login, token refresh, logout and password reset.
    Auth,
    /// The signed-in user's profile, password and address book.
    #[oai(rename = "Account")]
    Me,
    /// Staff management of accounts: roles and deactivation.
    #[oai(rename = "Admin · Customers")]
    AdminCustomers,
}
