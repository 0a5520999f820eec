//! SQL for users, refresh tokens, password resets and engine secrets (throttling: `throttle_store`). Portable: runs on
//! SQLite and PostgreSQL through sqlx's `Any` driver.

use sqlx::{Any, Executor, FromRow};

use super::model::{Role, User};
use crate::db::Tx;

#[derive(Debug, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    /// Parsed while fetching: an unknown role fails the query (`ColumnDecode`, an opaque 500
    /// for that corrupted row only) rather than defaulting to a customer.
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub active: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub tokens_valid_after: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    pub fn into_user(self) -> User {
        User {
            role: self.role,
            active: self.active != 0,
            id: self.id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const USER_COLUMNS: &str = "id, email, password_hash, role, active, first_name, last_name, phone, \
     tokens_valid_after, created_at, updated_at";

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub now: i64,
}

pub async fn insert_user<'e>(ex: impl Executor<'e, Database = Any>, u: &NewUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, active, first_name, last_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7)",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.role.as_str())
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.now)
    .execute(ex)
    .await?;
    Ok(())
}

/// A user by id inside the caller's transaction (checkout reads the customer there), as the
/// domain `User`: the password hash and token bookkeeping stay in this domain. Re-exported as
/// `accounts::read_user`.
#[cfg_attr(not(test), expect(dead_code, reason = "the seam checkout will use (issue 10); its unit test uses it now"))]
pub(crate) async fn read_user(tx: &mut Tx, id: &str) -> sqlx::Result<Option<User>> {
    Ok(user_by_id(&mut **tx, id).await?.map(UserRow::into_user))
}

pub async fn user_by_email<'e>(ex: impl Executor<'e, Database = Any>, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")))
        .bind(email)
        .fetch_optional(ex)
        .await
}

pub async fn user_by_id<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Replaces the password hash. With `revoke_tokens_before`, access tokens issued before that
/// second stop working too.
pub async fn set_password_hash<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    hash: &str,
    now: i64,
    revoke_tokens_before: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2, \
         tokens_valid_after = CASE WHEN $3 > tokens_valid_after THEN $3 ELSE tokens_valid_after END \
         WHERE id = $4",
    )
    .bind(hash)
    .bind(now)
    .bind(revoke_tokens_before.unwrap_or(0))
    .bind(user_id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn update_profile<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    first_name: &str,
    last_name: &str,
    phone: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET first_name = $1, last_name = $2, phone = $3, updated_at = $4 WHERE id = $5")
        .bind(first_name)
        .bind(last_name)
        .bind(phone)
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn set_role_and_active<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    role: Role,
    active: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = $1, active = $2, updated_at = $3 WHERE id = $4")
        .bind(role.as_str())
        .bind(i64::from(active))
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// One page of users in id (creation) order, optionally one role only, after `after_id`.
pub async fn list_users<'e>(
    ex: impl Executor<'e, Database = Any>,
    role: Option<Role>,
    email_prefix: Option<&str>,
    after_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE ($1 = '' OR role = $1) AND ($2 = '' OR email LIKE $2 ESCAPE '!') AND ($3 = '' OR id > $3) \
         ORDER BY id LIMIT $4"
    )))
    .bind(role.map_or("", Role::as_str))
    .bind(email_prefix.map(like_prefix).unwrap_or_default())
    .bind(after_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// A LIKE pattern matching `prefix` literally (`!` escapes the wildcards).
fn like_prefix(prefix: &str) -> String {
    let escaped = prefix.replace('!', "!!").replace('%', "!%").replace('_', "!_");
    format!("{escaped}%")
}

// ---- refresh tokens ----------------------------------------------------------------------

#[derive(Debug, FromRow)]
pub struct RefreshRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewRefresh<'a> {
    pub id: &'a str,
    pub family_id: &'a str,
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_refresh<'e>(ex: impl Executor<'e, Database = Any>, t: &NewRefresh<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.id)
    .bind(t.family_id)
    .bind(t.user_id)
    .bind(t.token_hash)
    .bind(t.now)
    .bind(t.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn refresh_by_hash<'e>(
    ex: impl Executor<'e, Database = Any>,
    hash: &str,
) -> sqlx::Result<Option<RefreshRow>> {
    sqlx::query_as::<_, RefreshRow>(
        "SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(ex)
    .await
}

/// Marks a live token rotated. Conditional, so of two racing refreshes exactly one sees `true`.
pub async fn mark_rotated<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = $1 WHERE id = $2 AND rotated_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_family<'e>(ex: impl Executor<'e, Database = Any>, family_id: &str, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

pub async fn revoke_all_for_user<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

// ---- password resets ---------------------------------------------------------------------

pub async fn insert_reset<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(ex)
        .await?;
    Ok(())
}

/// Consumes a live reset token, returning its user. Conditional: a token works once, even when
/// two confirmations race.
pub async fn consume_reset<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar::<_, String>(
        "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(ex)
    .await
}

/// After a successful reset, every other outstanding link for the user stops working.
pub async fn expire_resets_for_user<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

// ---- password reset requests -------------------------------------------------------------

pub async fn queue_reset_request<'e>(ex: impl Executor<'e, Database = Any>, email: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO password_reset_requests (id, email, requested_at) VALUES ($1, $2, $3)")
        .bind(crate::ids::new_id("prq"))
        .bind(email)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// The oldest queued requests, `(id, email)`.
pub async fn queued_reset_requests<'e>(
    ex: impl Executor<'e, Database = Any>,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT id, email FROM password_reset_requests ORDER BY requested_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Takes a queued request; `false` if another worker took it first.
pub async fn take_reset_request<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM password_reset_requests WHERE id = $1").bind(id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// The user of a reset token that is still usable (checked before the new password is hashed;
/// [`consume_reset`] decides atomically afterwards).
pub async fn live_reset<'e>(
    ex: impl Executor<'e, Database = Any>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await
}

// ---- engine secrets ----------------------------------------------------------------------

/// The stored secret `name`, storing `candidate` first if there is none. Race-safe across
/// instances: the first insert wins and everyone reads the winner.
pub async fn ensure_secret(pool: &sqlx::AnyPool, name: &str, candidate: &str, now: i64) -> sqlx::Result<String> {
    sqlx::query(
        "INSERT INTO engine_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query_scalar::<_, String>("SELECT value FROM engine_secrets WHERE name = $1").bind(name).fetch_one(pool).await
}

/// Housekeeping: drops expired sessions and spent or expired reset links.
pub async fn purge_expired<'e>(ex: impl Executor<'e, Database = Any> + Copy, now: i64) -> sqlx::Result<u64> {
    let a = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1").bind(now).execute(ex).await?;
    // A used link can never be used again (the confirm is conditional on `used_at IS NULL`).
    let b = sqlx::query("DELETE FROM password_resets WHERE expires_at < $1 OR used_at IS NOT NULL")
        .bind(now)
        .execute(ex)
        .await?;
    Ok(a.rows_affected() + b.rows_affected())
}
