//! Profiles, the address book and staff management of customers.

use super::{
    address_store, countries,
    error::AccountError,
    model::{Address, ProfileChange, Role, User},
    service::{AccountService, Caller},
    store,
};
use crate::{ids::new_id, validation::Problems};

/// Most addresses one customer may keep.
pub const MAX_ADDRESSES: i64 = 50;

/// An address as submitted; for updates, `None` keeps the stored value. For the optional
/// fields the inner `Option` distinguishes "clear it" (`Some(None)`).
#[derive(Debug, Default)]
pub struct AddressDraft {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<Option<String>>,
    pub city: Option<String>,
    pub region: Option<Option<String>>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<Option<String>>,
    pub is_default: Option<bool>,
}

impl AddressDraft {
    /// Merges onto `base` and checks every field, reporting all problems at once.
    fn apply(self, mut base: Address, required: bool) -> Result<Address, AccountError> {
        let mut p = Problems::default();
        let req = |p: &mut Problems, field: &str, value: Option<String>, current: &mut String, max: usize| match value {
            Some(v) => *current = p.text(field, &v, true, max),
            None if required => p.add(field, "is required"),
            None => {}
        };
        req(&mut p, "first_name", self.first_name, &mut base.first_name, 100);
        req(&mut p, "last_name", self.last_name, &mut base.last_name, 100);
        req(&mut p, "line1", self.line1, &mut base.line1, 200);
        req(&mut p, "city", self.city, &mut base.city, 100);
        req(&mut p, "postal_code", self.postal_code, &mut base.postal_code, 20);
        match self.country {
            Some(c) => match countries::parse(&c) {
                Some(code) => base.country = code,
                None => p.add("country", "must be an ISO 3166-1 alpha-2 code such as IN or DE"),
            },
            None if required => p.add("country", "is required"),
            None => {}
        }
        if let Some(line2) = self.line2 {
            base.line2 = line2.map(|v| p.text("line2", &v, false, 200)).filter(|v| !v.is_empty());
        }
        if let Some(region) = self.region {
            base.region = region.map(|v| p.text("region", &v, false, 100)).filter(|v| !v.is_empty());
        }
        if let Some(phone) = self.phone {
            base.phone = phone.filter(|v| !v.trim().is_empty()).map(|v| p.phone("phone", &v));
        }
        if let Some(is_default) = self.is_default {
            base.is_default = is_default;
        }
        p.into_result().map_err(AccountError::Validation)?;
        Ok(base)
    }
}

impl AccountService {
    /// An address checked as the address book checks it, without storing it (a cart's inline
    /// shipping address).
    pub fn validate_address(&self, draft: AddressDraft) -> Result<Address, AccountError> {
        let now = self.clock.now_ms();
        let blank = Address::blank(String::new(), now);
        draft.apply(blank, true)
    }

    pub async fn profile(&self, caller: &Caller) -> Result<User, AccountError> {
        let row = store::user_by_id(self.db.pool(), &caller.user_id).await?.ok_or(AccountError::NotFound("user"))?;
        Ok(row.into_user())
    }

    pub async fn update_profile(&self, caller: &Caller, change: ProfileChange) -> Result<User, AccountError> {
        let mut user = self.profile(caller).await?;
        let mut p = Problems::default();
        if let Some(v) = change.first_name {
            user.first_name = p.text("first_name", &v, false, 100);
        }
        if let Some(v) = change.last_name {
            user.last_name = p.text("last_name", &v, false, 100);
        }
        if let Some(v) = change.phone {
            user.phone = v.filter(|v| !v.trim().is_empty()).map(|v| p.phone("phone", &v));
        }
        p.into_result().map_err(AccountError::Validation)?;
        let now = self.clock.now_ms();
        store::update_profile(self.db.pool(), &user.id, &user.first_name, &user.last_name, user.phone.as_deref(), now)
            .await?;
        self.profile(caller).await
    }

    pub async fn addresses(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Address>, AccountError> {
        Ok(address_store::list(self.db.pool(), &caller.user_id, after, limit).await?)
    }

    pub async fn address(&self, caller: &Caller, id: &str) -> Result<Address, AccountError> {
        address_store::get(self.db.pool(), &caller.user_id, id).await?.ok_or(AccountError::NotFound("address"))
    }

    /// Adds an address. The first one becomes the default; a new default replaces the old one.
    pub async fn add_address(&self, caller: &Caller, draft: AddressDraft) -> Result<Address, AccountError> {
        let now = self.clock.now_ms();
        let blank = Address::blank(new_id("addr"), now);
        let mut address = draft.apply(blank, true)?;
        let mut tx = self.db.begin().await?;
        let existing = address_store::count(&mut *tx, &caller.user_id).await?;
        if existing >= MAX_ADDRESSES {
            return Err(AccountError::field("address", format!("at most {MAX_ADDRESSES} addresses per customer")));
        }
        address.is_default |= existing == 0;
        if address.is_default {
            address_store::clear_default(&mut *tx, &caller.user_id).await?;
        }
        address_store::upsert(&mut *tx, &caller.user_id, &address).await?;
        tx.commit().await?;
        Ok(address)
    }

    pub async fn update_address(
        &self,
        caller: &Caller,
        id: &str,
        draft: AddressDraft,
    ) -> Result<Address, AccountError> {
        let current = self.address(caller, id).await?;
        let was_default = current.is_default;
        let mut address = draft.apply(current, false)?;
        address.updated_at = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if address.is_default && !was_default {
            address_store::clear_default(&mut *tx, &caller.user_id).await?;
        }
        address_store::upsert(&mut *tx, &caller.user_id, &address).await?;
        if was_default && !address.is_default {
            address_store::ensure_default(&mut *tx, &caller.user_id).await?;
        }
        tx.commit().await?;
        self.address(caller, id).await
    }

    pub async fn delete_address(&self, caller: &Caller, id: &str) -> Result<(), AccountError> {
        let mut tx = self.db.begin().await?;
        if !address_store::delete(&mut *tx, &caller.user_id, id).await? {
            return Err(AccountError::NotFound("address"));
        }
        address_store::ensure_default(&mut *tx, &caller.user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(
        &self,
        role: Option<Role>,
        email_prefix: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>, AccountError> {
        let rows = store::list_users(self.db.pool(), role, email_prefix, after, limit).await?;
        Ok(rows.into_iter().map(store::UserRow::into_user).collect())
    }

    pub async fn user(&self, id: &str) -> Result<User, AccountError> {
        let row = store::user_by_id(self.db.pool(), id).await?.ok_or(AccountError::NotFound("customer"))?;
        Ok(row.into_user())
    }

    /// Staff changes a user's role or active flag; effective on that user's next request.
    /// Roles and staff accounts are an admin's business: plain staff may only (de)activate
    /// customers, so a staff member can neither promote themselves nor demote a colleague.
    /// Nobody can lock themselves out.
    pub async fn update_user(
        &self,
        caller: &Caller,
        id: &str,
        role: Option<Role>,
        active: Option<bool>,
    ) -> Result<User, AccountError> {
        let user = self.user(id).await?;
        let new_role = role.unwrap_or(user.role);
        let active = active.unwrap_or(user.active);
        let changes_role = new_role != user.role;
        if caller.role != Role::Admin && (changes_role || (user.role.is_staff() && active != user.active)) {
            return Err(AccountError::AdminOnly);
        }
        if caller.user_id == user.id && (changes_role || !active) {
            return Err(AccountError::field("role", "you cannot change the role of or deactivate your own account"));
        }
        let role = new_role;
        store::set_role_and_active(self.db.pool(), id, role, active, self.clock.now_ms()).await?;
        if !active {
            // Deactivation also ends every session, so refresh tokens cannot outlive it.
            store::revoke_all_for_user(self.db.pool(), id, self.clock.now_ms()).await?;
        }
        tracing::info!(user_id = id, role = role.as_str(), active, by = %caller.user_id, "user updated by staff");
        self.user(id).await
    }
}
