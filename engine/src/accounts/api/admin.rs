//! `/api/v1/admin/customers*`: staff management of accounts.

use std::sync::Arc;

use poem_openapi::{OpenApi, param::Path, param::Query, payload::Json};

use super::{AccountTags, dto::*};
use crate::{
    accounts::{
        AccountService, Caller,
        model::{Role, normalise_email},
    },
    http::{pagination, problem::ApiError, security::BearerAuth},
};

pub struct AdminCustomersApi {
    pub accounts: Arc<AccountService>,
}

impl AdminCustomersApi {
    async fn staff(&self, auth: &BearerAuth) -> Result<Caller, ApiError> {
        Ok(self.accounts.authenticate_staff(auth.token()).await?)
    }
}

#[OpenApi(prefix_path = "/api/v1/admin/customers", tag = "AccountTags::AdminCustomers")]
impl AdminCustomersApi {
    /// List accounts
    ///
    /// Customers by default, oldest first; `role=staff` or `role=admin` lists those; `email`
    /// filters by prefix.
    #[oai(path = "/", method = "get", operation_id = "adminListCustomers")]
    async fn list(
        &self,
        auth: BearerAuth,
        role: Query<Option<RoleDto>>,
        email: Query<Option<String>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<UserList>, ApiError> {
        self.staff(&auth).await?;
        let limit = pagination::limit(limit.0)?;
        let role: Role = role.0.unwrap_or(RoleDto::Customer).into();
        let email = email.0.map(|e| normalise_email(&e)).filter(|e| !e.is_empty());
        let scope = format!("admin/customers|role={}|email={}", role.as_str(), email.as_deref().unwrap_or(""));
        let after = match cursor.0.as_deref() {
            Some(c) => pagination::decode(&scope, c, 1)?.pop(),
            None => None,
        };
        let rows = self.accounts.list_users(Some(role), email.as_deref(), after.as_deref(), limit + 1).await?;
        let (rows, more) = pagination::split_page(rows, limit);
        let next_cursor = more.then(|| rows.last().map(|u| pagination::encode(&scope, vec![u.id.clone()]))).flatten();
        Ok(Json(UserList { items: rows.into_iter().map(Into::into).collect(), next_cursor: next_cursor.into() }))
    }

    /// One account
    #[oai(path = "/:id", method = "get", operation_id = "adminGetCustomer")]
    async fn get(&self, auth: BearerAuth, id: Path<String>) -> Result<Json<UserView>, ApiError> {
        self.staff(&auth).await?;
        Ok(Json(self.accounts.user(&id.0).await?.into()))
    }

    /// Change an account's role or status
    ///
    /// `active: false` disables the account at once: its tokens stop working on the next request
    /// and its sessions end. Staff may disable customers; only an admin may change a role or
    /// disable staff (403 `forbidden`). Nobody can demote or disable themselves.
    #[oai(path = "/:id", method = "patch", operation_id = "adminUpdateCustomer")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<UserPatch>,
    ) -> Result<Json<UserView>, ApiError> {
        let caller = self.staff(&auth).await?;
        let user = self.accounts.update_user(&caller, &id.0, body.0.role.map(Into::into), body.0.active).await?;
        Ok(Json(user.into()))
    }
}
