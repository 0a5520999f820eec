//! SQL for the category tree. Portable: runs on SQLite and PostgreSQL through sqlx's `Any`
//! driver (`$N` placeholders, integers as BIGINT, times as Unix ms).

use sqlx::{Any, Executor, FromRow};

use super::model::Category;
use crate::db::Backend;

#[derive(Debug, FromRow)]
pub struct CategoryRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub path: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<CategoryRow> for Category {
    fn from(r: CategoryRow) -> Self {
        Self {
            id: r.id,
            parent_id: r.parent_id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            position: r.position,
            path: r.path,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, parent_id, slug, name, description, position, path, created_at, updated_at";

fn select(filter: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM categories {filter}"))
}

async fn fetch_all<'e>(
    ex: impl Executor<'e, Database = Any>,
    query: sqlx::query::QueryAs<'_, Any, CategoryRow, sqlx::any::AnyArguments>,
) -> sqlx::Result<Vec<Category>> {
    Ok(query.fetch_all(ex).await?.into_iter().map(Into::into).collect())
}

/// Serialises changes to the tree's shape (create, update, move, delete), so a move never reads
/// a parent path that a concurrent move is rewriting and two moves cannot form a cycle.
/// SQLite: the `BEGIN IMMEDIATE` of `Db::begin` already holds the database's write lock.
/// PostgreSQL: a table lock that conflicts only with itself and with writers of `categories`;
/// readers and foreign-key checks from `products` (row share) pass.
pub async fn lock_tree<'e>(ex: impl Executor<'e, Database = Any>, backend: Backend) -> sqlx::Result<()> {
    match backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => {
            ex.execute("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE").await?;
            Ok(())
        }
    }
}

/// The whole table, unordered: the tree is assembled and ordered in Rust.
pub async fn all<'e>(ex: impl Executor<'e, Database = Any>) -> sqlx::Result<Vec<Category>> {
    fetch_all(ex, sqlx::query_as(select(""))).await
}

pub async fn by_id<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<Category>> {
    let row = sqlx::query_as::<_, CategoryRow>(select("WHERE id = $1")).bind(id).fetch_optional(ex).await?;
    Ok(row.map(Into::into))
}

pub async fn by_slug<'e>(ex: impl Executor<'e, Database = Any>, slug: &str) -> sqlx::Result<Option<Category>> {
    let row = sqlx::query_as::<_, CategoryRow>(select("WHERE slug = $1")).bind(slug).fetch_optional(ex).await?;
    Ok(row.map(Into::into))
}

/// Categories with these ids, in no particular order.
pub async fn by_ids<'e>(ex: impl Executor<'e, Database = Any>, ids: &[&str]) -> sqlx::Result<Vec<Category>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only generated `$N` placeholders go into the text; the ids are bound.
    let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let mut query = sqlx::query_as::<_, CategoryRow>(select(&format!("WHERE id IN ({placeholders})")));
    for id in ids {
        query = query.bind(*id);
    }
    fetch_all(ex, query).await
}

/// Direct children, unordered.
pub async fn children<'e>(ex: impl Executor<'e, Database = Any>, parent_id: &str) -> sqlx::Result<Vec<Category>> {
    fetch_all(ex, sqlx::query_as(select("WHERE parent_id = $1")).bind(parent_id)).await
}

/// The staff list: by id (creation order), optionally one parent's children, after `after_id`.
pub async fn list<'e>(
    ex: impl Executor<'e, Database = Any>,
    parent_id: Option<&str>,
    after_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Category>> {
    let query =
        sqlx::query_as(select("WHERE ($1 = '' OR parent_id = $1) AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3"))
            .bind(parent_id.unwrap_or(""))
            .bind(after_id.unwrap_or(""))
            .bind(limit);
    fetch_all(ex, query).await
}

/// Slugs equal to `base` or of the form `base-…`, to pick the first free `base-N`.
pub async fn slugs_like<'e>(ex: impl Executor<'e, Database = Any>, base: &str) -> sqlx::Result<Vec<String>> {
    // Slugs hold only `a-z0-9-`: no LIKE wildcards to escape.
    sqlx::query_scalar::<_, String>("SELECT slug FROM categories WHERE slug = $1 OR slug LIKE $2")
        .bind(base)
        .bind(format!("{base}-%"))
        .fetch_all(ex)
        .await
}

/// The position after the last child of `parent_id` (or the last root); 0 for the first.
pub async fn next_position<'e>(ex: impl Executor<'e, Database = Any>, parent_id: Option<&str>) -> sqlx::Result<i64> {
    let query = match parent_id {
        Some(id) => {
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(position) + 1, 0) FROM categories WHERE parent_id = $1")
                .bind(id.to_owned())
        }
        None => sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM categories WHERE parent_id IS NULL",
        ),
    };
    query.fetch_one(ex).await
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, c: &Category) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO categories (id, parent_id, slug, name, description, position, path, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&c.id)
    .bind(c.parent_id.as_deref())
    .bind(&c.slug)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.position)
    .bind(&c.path)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Writes every column but `path` (a move rewrites paths with [`move_subtree`]).
pub async fn update<'e>(ex: impl Executor<'e, Database = Any>, c: &Category) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE categories SET parent_id = $1, slug = $2, name = $3, description = $4, position = $5, \
         updated_at = $6 WHERE id = $7",
    )
    .bind(c.parent_id.as_deref())
    .bind(&c.slug)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.position)
    .bind(c.updated_at)
    .bind(&c.id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces the path prefix `old` with `new` for a category and all its descendants, in one
/// statement. The pattern escapes `_` (ids contain it) so the match is literal.
pub async fn move_subtree<'e>(ex: impl Executor<'e, Database = Any>, old: &str, new: &str) -> sqlx::Result<u64> {
    let done =
        sqlx::query("UPDATE categories SET path = $1 || substr(path, length($2) + 1) WHERE path LIKE $3 ESCAPE '!'")
            .bind(new)
            .bind(old)
            .bind(like_prefix(old))
            .execute(ex)
            .await?;
    Ok(done.rows_affected())
}

/// Some child of `id`, if any.
pub async fn any_child<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar::<_, String>("SELECT id FROM categories WHERE parent_id = $1 LIMIT 1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Some product (of any status) in category `id`, if any.
pub async fn any_product<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar::<_, String>("SELECT id FROM products WHERE category_id = $1 LIMIT 1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM categories WHERE id = $1").bind(id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// A LIKE pattern matching `prefix` literally (`!` escapes the wildcards).
fn like_prefix(prefix: &str) -> String {
    let escaped = prefix.replace('!', "!!").replace('%', "!%").replace('_', "!_");
    format!("{escaped}%")
}
