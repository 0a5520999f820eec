//! Request and response shapes of the accounts API (kept apart from domain types).

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};

use crate::{
    accounts::{
        model::{Address, Role, User},
        profile::AddressDraft,
        service::Session,
    },
    clock::from_millis,
    http::{
        nullable::{Clearable, Nullable},
        text::{AnyText, Text},
    },
};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "Role", rename_all = "snake_case")]
pub enum RoleDto {
    Customer,
    Staff,
    /// Staff who may also change roles and deactivate staff.
    Admin,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Customer => RoleDto::Customer,
            Role::Staff => RoleDto::Staff,
            Role::Admin => RoleDto::Admin,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Customer => Role::Customer,
            RoleDto::Staff => Role::Staff,
            RoleDto::Admin => Role::Admin,
        }
    }
}

/// A user account.
#[derive(Object, Debug)]
#[oai(rename = "User")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: RoleDto,
    pub active: bool,
    pub first_name: String,
    pub last_name: String,
    pub phone: Nullable<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role.into(),
            active: u.active,
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone.into(),
            created_at: from_millis(u.created_at),
            updated_at: from_millis(u.updated_at),
        }
    }
}

/// Tokens for a session. Send `access_token` as `Authorization: Bearer …`; when it expires
/// (`expires_in` seconds), exchange `refresh_token` at `/auth/refresh` for a new pair.
#[derive(Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Single use: each refresh returns a new one. Presenting a used one revokes the session.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
    pub user: UserView,
    /// After a login that named a guest cart (`cart_id` + `cart_token`): the customer's active
    /// cart once merged (or their own cart when nothing could be merged; null if they have
    /// none). Null for every other token response.
    pub cart_id: Nullable<String>,
}

impl From<Session> for TokenResponse {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: s.expires_in,
            user: s.user.into(),
            cart_id: Nullable(None),
        }
    }
}

#[derive(Object)]
pub struct RegisterRequest {
    /// At most 254 characters; normalised (NFKC, lower case).
    pub email: Text,
    /// 10–256 characters.
    pub password: AnyText,
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
}

#[derive(Object)]
pub struct LoginRequest {
    pub email: Text,
    pub password: AnyText,
    /// A guest cart to merge into the customer's cart (with `cart_token`).
    pub cart_id: Option<Text>,
    pub cart_token: Option<Text>,
}

#[derive(Object)]
pub struct RefreshRequest {
    pub refresh_token: Text,
}

#[derive(Object)]
pub struct PasswordResetRequest {
    pub email: Text,
}

#[derive(Object)]
pub struct PasswordResetConfirm {
    /// The token from the mailed link.
    pub token: Text,
    /// 10–256 characters.
    pub new_password: AnyText,
}

#[derive(Object)]
pub struct ChangePasswordRequest {
    pub current_password: AnyText,
    /// 10–256 characters.
    pub new_password: AnyText,
}

/// Profile changes; absent fields stay as they are, `phone: null` clears the phone.
#[derive(Object)]
pub struct ProfilePatch {
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    pub phone: Clearable<Text>,
}

#[derive(Object, Debug)]
#[oai(rename = "Address")]
pub struct AddressView {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub line1: String,
    pub line2: Nullable<String>,
    pub city: String,
    pub region: Nullable<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub phone: Nullable<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Address> for AddressView {
    fn from(a: Address) -> Self {
        Self {
            id: a.id,
            first_name: a.first_name,
            last_name: a.last_name,
            line1: a.line1,
            line2: a.line2.into(),
            city: a.city,
            region: a.region.into(),
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone.into(),
            is_default: a.is_default,
            created_at: from_millis(a.created_at),
            updated_at: from_millis(a.updated_at),
        }
    }
}

#[derive(Object)]
pub struct AddressCreate {
    pub first_name: Text,
    pub last_name: Text,
    pub line1: Text,
    pub line2: Option<Text>,
    pub city: Text,
    pub region: Option<Text>,
    pub postal_code: Text,
    /// ISO 3166-1 alpha-2 (`IN`, `DE`); any case.
    pub country: Text,
    pub phone: Option<Text>,
    /// Make this the default address (the first address always is).
    pub is_default: Option<bool>,
}

impl From<AddressCreate> for AddressDraft {
    fn from(a: AddressCreate) -> Self {
        Self {
            first_name: Some(a.first_name.into()),
            last_name: Some(a.last_name.into()),
            line1: Some(a.line1.into()),
            line2: Some(a.line2.map(Into::into)),
            city: Some(a.city.into()),
            region: Some(a.region.map(Into::into)),
            postal_code: Some(a.postal_code.into()),
            country: Some(a.country.into()),
            phone: Some(a.phone.map(Into::into)),
            is_default: a.is_default,
        }
    }
}

/// Address changes; absent fields stay, `null` clears an optional one.
#[derive(Object)]
pub struct AddressPatch {
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    pub line1: Option<Text>,
    pub line2: Clearable<Text>,
    pub city: Option<Text>,
    pub region: Clearable<Text>,
    pub postal_code: Option<Text>,
    pub country: Option<Text>,
    pub phone: Clearable<Text>,
    pub is_default: Option<bool>,
}

/// "keep" (`None`), "clear" (`Some(None)`), "set" (`Some(Some(v))`).
pub fn patch_value<T>(value: Clearable<T>) -> Option<Option<T>> {
    value.into_patch()
}

impl From<AddressPatch> for AddressDraft {
    fn from(a: AddressPatch) -> Self {
        Self {
            first_name: a.first_name.map(Into::into),
            last_name: a.last_name.map(Into::into),
            line1: a.line1.map(Into::into),
            line2: patch_value(a.line2).map(|v| v.map(Into::into)),
            city: a.city.map(Into::into),
            region: patch_value(a.region).map(|v| v.map(Into::into)),
            postal_code: a.postal_code.map(Into::into),
            country: a.country.map(Into::into),
            phone: patch_value(a.phone).map(|v| v.map(Into::into)),
            is_default: a.is_default,
        }
    }
}

#[derive(Object)]
pub struct AddressList {
    pub items: Vec<AddressView>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Nullable<String>,
}

#[derive(Object)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Nullable<String>,
}

/// Staff changes to an account; effective on the account's next request. Only an admin may
/// change a role or deactivate a staff account.
#[derive(Object)]
pub struct UserPatch {
    pub role: Option<RoleDto>,
    /// `false` disables the account: its tokens stop working and it cannot log in.
    pub active: Option<bool>,
}
