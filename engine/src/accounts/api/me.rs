//! `/api/v1/me*`: the signed-in user's profile, password and address book.

use std::sync::Arc;

use poem_openapi::{ApiResponse, OpenApi, param::Path, param::Query, payload::Json};
use secrecy::SecretString;

use super::{AccountTags, auth::parse_new_password, dto::*};
use crate::{
    accounts::{AccountService, Caller, model::ProfileChange},
    http::{pagination, problem::ApiError, security::BearerAuth},
};

pub struct MeApi {
    pub accounts: Arc<AccountService>,
}

#[derive(ApiResponse)]
pub enum AddressCreated {
    #[oai(status = 201)]
    Created(Json<AddressView>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    #[oai(status = 204)]
    Deleted,
}

const ADDRESSES_SCOPE: &str = "me/addresses";

impl MeApi {
    async fn caller(&self, auth: &BearerAuth) -> Result<Caller, ApiError> {
        Ok(self.accounts.authenticate(auth.token()).await?)
    }
}

#[OpenApi(prefix_path = "/api/v1/me", tag = "AccountTags::Me")]
impl MeApi {
    /// Your profile
    #[oai(path = "/", method = "get", operation_id = "getMe")]
    async fn get(&self, auth: BearerAuth) -> Result<Json<UserView>, ApiError> {
        let caller = self.caller(&auth).await?;
        Ok(Json(self.accounts.profile(&caller).await?.into()))
    }

    /// Update your profile
    ///
    /// `first_name`, `last_name` and `phone`; the email cannot be changed here.
    #[oai(path = "/", method = "patch", operation_id = "updateMe")]
    async fn update(&self, auth: BearerAuth, body: Json<ProfilePatch>) -> Result<Json<UserView>, ApiError> {
        let caller = self.caller(&auth).await?;
        let change = ProfileChange {
            first_name: body.0.first_name.map(Into::into),
            last_name: body.0.last_name.map(Into::into),
            phone: patch_value(body.0.phone).map(|v| v.map(Into::into)),
        };
        Ok(Json(self.accounts.update_profile(&caller, change).await?.into()))
    }

    /// Change your password
    ///
    /// Needs the current password (401 `invalid_credentials` when wrong). Every other session
    /// ends; the response holds a new token pair for this one.
    #[oai(path = "/password", method = "post", operation_id = "changePassword")]
    async fn change_password(
        &self,
        auth: BearerAuth,
        body: Json<ChangePasswordRequest>,
    ) -> Result<Json<TokenResponse>, ApiError> {
        let caller = self.caller(&auth).await?;
        let new = parse_new_password("new_password", body.0.new_password.into())?;
        let current = SecretString::from(body.0.current_password.into_inner());
        Ok(Json(self.accounts.change_password(&caller, &current, new).await?.into()))
    }

    /// Your addresses
    #[oai(path = "/addresses", method = "get", operation_id = "listAddresses")]
    async fn addresses(
        &self,
        auth: BearerAuth,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<AddressList>, ApiError> {
        let caller = self.caller(&auth).await?;
        let limit = pagination::limit(limit.0)?;
        let after = match cursor.0.as_deref() {
            Some(c) => pagination::decode(ADDRESSES_SCOPE, c, 1)?.pop(),
            None => None,
        };
        let rows = self.accounts.addresses(&caller, after.as_deref(), limit + 1).await?;
        let (rows, more) = pagination::split_page(rows, limit);
        let next_cursor =
            more.then(|| rows.last().map(|a| pagination::encode(ADDRESSES_SCOPE, vec![a.id.clone()]))).flatten();
        Ok(Json(AddressList { items: rows.into_iter().map(Into::into).collect(), next_cursor: next_cursor.into() }))
    }

    /// Add an address
    ///
    /// The first address becomes the default; `is_default: true` moves the default to this one.
    #[oai(path = "/addresses", method = "post", operation_id = "createAddress")]
    async fn add_address(&self, auth: BearerAuth, body: Json<AddressCreate>) -> Result<AddressCreated, ApiError> {
        let caller = self.caller(&auth).await?;
        let address = self.accounts.add_address(&caller, body.0.into()).await?;
        Ok(AddressCreated::Created(Json(address.into())))
    }

    /// One of your addresses
    #[oai(path = "/addresses/:id", method = "get", operation_id = "getAddress")]
    async fn address(&self, auth: BearerAuth, id: Path<String>) -> Result<Json<AddressView>, ApiError> {
        let caller = self.caller(&auth).await?;
        Ok(Json(self.accounts.address(&caller, &id.0).await?.into()))
    }

    /// Update an address
    #[oai(path = "/addresses/:id", method = "patch", operation_id = "updateAddress")]
    async fn update_address(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<AddressPatch>,
    ) -> Result<Json<AddressView>, ApiError> {
        let caller = self.caller(&auth).await?;
        Ok(Json(self.accounts.update_address(&caller, &id.0, body.0.into()).await?.into()))
    }

    /// Delete an address
    ///
    /// When the default address is deleted, the newest remaining one becomes the default.
    #[oai(path = "/addresses/:id", method = "delete", operation_id = "deleteAddress")]
    async fn delete_address(&self, auth: BearerAuth, id: Path<String>) -> Result<Deleted, ApiError> {
        let caller = self.caller(&auth).await?;
        self.accounts.delete_address(&caller, &id.0).await?;
        Ok(Deleted::Deleted)
    }
}
