//! SQL for the address book.

use sqlx::{Any, Executor, FromRow};

use super::model::Address;

#[derive(Debug, FromRow)]
struct AddressRow {
    id: String,
    first_name: String,
    last_name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
    is_default: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<AddressRow> for Address {
    fn from(r: AddressRow) -> Self {
        Address {
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            line1: r.line1,
            line2: r.line2,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
            country: r.country,
            phone: r.phone,
            is_default: r.is_default != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, first_name, last_name, line1, line2, city, region, postal_code, country, phone, is_default, created_at, updated_at";

pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    after_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Address>> {
    let rows = sqlx::query_as::<_, AddressRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM addresses WHERE user_id = $1 AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3"
    )))
    .bind(user_id)
    .bind(after_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(Address::from).collect())
}

/// One address of this user; someone else's is `None`, exactly like a missing one.
pub async fn get<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, id: &str) -> sqlx::Result<Option<Address>> {
    let row = sqlx::query_as::<_, AddressRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM addresses WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(Address::from))
}

pub async fn count<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM addresses WHERE user_id = $1").bind(user_id).fetch_one(ex).await
}

/// Inserts or fully rewrites an address (the service merges partial updates first).
pub async fn upsert<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, a: &Address) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO addresses (id, user_id, first_name, last_name, line1, line2, city, region, postal_code, country, \
         phone, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, \
         line1 = excluded.line1, line2 = excluded.line2, city = excluded.city, region = excluded.region, \
         postal_code = excluded.postal_code, country = excluded.country, phone = excluded.phone, \
         is_default = excluded.is_default, updated_at = excluded.updated_at",
    )
    .bind(&a.id)
    .bind(user_id)
    .bind(&a.first_name)
    .bind(&a.last_name)
    .bind(&a.line1)
    .bind(a.line2.as_deref())
    .bind(&a.city)
    .bind(a.region.as_deref())
    .bind(&a.postal_code)
    .bind(&a.country)
    .bind(a.phone.as_deref())
    .bind(i64::from(a.is_default))
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn clear_default<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE addresses SET is_default = 0 WHERE user_id = $1 AND is_default = 1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, id: &str) -> sqlx::Result<bool> {
    let done =
        sqlx::query("DELETE FROM addresses WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// Makes the newest remaining address the default when the user has none.
pub async fn ensure_default<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE addresses SET is_default = 1 WHERE id = (SELECT id FROM addresses WHERE user_id = $1 ORDER BY id DESC LIMIT 1) \
         AND NOT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND is_default = 1)",
    )
    .bind(user_id)
    .execute(ex)
    .await?;
    Ok(())
}
