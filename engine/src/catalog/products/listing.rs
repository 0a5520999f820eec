//! `GET /api/v1/products`: filters, sorts, full-text search and keyset pagination in one query
//! per page, whatever the page size (no N+1: stock and the card image come from the same row).
//!
//! Full text differs by backend: FTS5 on SQLite (every term quoted, so `-`, `:`, `*`, `AND` and
//! quotes are plain text), a `simple`-configuration tsvector on PostgreSQL. Both: all terms must
//! match, the last one as a prefix, case-folded, no stemming.

use sqlx::{Any, FromRow};

use super::model::{Image, ProductCard};
use crate::db::{Backend, Db, JsonText};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
    Relevance,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Name => "name",
            Sort::Relevance => "relevance",
        }
    }
}

/// A parsed listing request. `category_path` is the resolved category's path (the filter
/// covers its descendants); `terms` are the search words, already split and case-folded.
#[derive(Debug, Clone)]
pub struct Listing {
    pub terms: Vec<String>,
    pub category_path: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: bool,
    pub sort: Sort,
    pub limit: i64,
    /// Position after the previous page: the last item's sort key and id (keyset), or the
    /// offset (relevance).
    pub after: Option<After>,
}

#[derive(Debug, Clone)]
pub enum After {
    Key { value: String, id: String },
    Offset(i64),
}

/// Words of a search query: runs of letters and digits, case-folded; at most 8 terms of 64
/// characters, so a pasted essay cannot make a pathological query.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(64).collect::<String>().to_lowercase())
        .take(8)
        .collect()
}

/// FTS5 query: each term quoted (so nothing in it is syntax), the last one a prefix.
fn fts5_query(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let quoted = format!("\"{}\"", t.replace('"', "\"\""));
            if i == last { format!("{quoted}*") } else { quoted }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// tsquery: terms hold only letters and digits (see `search_terms`), so quoting them as
/// lexemes is enough; the last one is a prefix.
fn tsquery(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let lexeme = format!("'{}'", t.replace('\'', "''"));
            if i == last { format!("{lexeme}:*") } else { lexeme }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

enum Arg {
    Text(String),
    Int(i64),
}

/// SQL text with numbered placeholders and their values, built together.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }
}

#[derive(FromRow)]
struct CardRow {
    id: String,
    slug: String,
    name: String,
    name_key: String,
    min_price: i64,
    max_price: i64,
    currency: String,
    /// Malformed JSON fails the page (a corrupted row), as in `store::ProductRow`.
    #[sqlx(try_from = "String")]
    images: JsonText<Vec<Image>>,
    in_stock: i64,
    default_variant_id: Option<String>,
}

/// One page of cards (up to `limit + 1` rows: the extra one tells that more exist), each with
/// the cursor key that would follow it.
pub async fn page(db: &Db, listing: &Listing) -> sqlx::Result<Vec<(ProductCard, After)>> {
    let mut sql = Sql::default();
    let searching = !listing.terms.is_empty();
    // `in_stock` is a scalar subquery with LIMIT 1, not EXISTS: PostgreSQL may plan a
    // correlated EXISTS in the select list as a hashed subplan, which reads every variant of
    // the shop on each page (17 ms at 10k products) instead of one index probe per card.
    sql.push(
        "SELECT p.id, p.slug, p.name, p.name_key, p.min_price, p.max_price, p.currency, p.images, \
         p.default_variant_id, CAST(COALESCE((SELECT 1 FROM variants v WHERE v.product_id = p.id \
         AND v.deleted_at IS NULL AND v.stock > 0 LIMIT 1), 0) AS BIGINT) AS in_stock FROM ",
    );
    if searching && db.backend() == Backend::Sqlite {
        // The matches first, then their products by rowid. `CROSS JOIN` fixes that order in
        // SQLite: left to itself, the planner walked the products and ran the whole MATCH once
        // per product (0.8 s per page at 10k products).
        sql.push("(SELECT rowid AS fts_rowid, bm25(products_fts, 10.0, 1.0) AS rank FROM products_fts WHERE products_fts MATCH ")
            .bind(Arg::Text(fts5_query(&listing.terms)))
            .push(") f CROSS JOIN products p ON p.seq = f.fts_rowid ");
    } else {
        sql.push("products p ");
    }
    sql.push("WHERE p.status = 'active' AND p.min_price IS NOT NULL");
    if searching && db.backend() == Backend::Postgres {
        sql.push(" AND p.search @@ to_tsquery('simple', ").bind(Arg::Text(tsquery(&listing.terms))).push(")");
    }
    if let Some(path) = &listing.category_path {
        // Every path starts with its ancestors' path; path characters all sort below `~`, so
        // the subtree is one range on the (byte-ordered) path index.
        sql.push(" AND p.category_id IN (SELECT id FROM categories WHERE path >= ")
            .bind(Arg::Text(path.clone()))
            .push(" AND path < ")
            .bind(Arg::Text(format!("{path}~")))
            .push(")");
    }
    if let Some(min) = listing.min_price {
        sql.push(" AND p.min_price >= ").bind(Arg::Int(min));
    }
    if let Some(max) = listing.max_price {
        sql.push(" AND p.min_price <= ").bind(Arg::Int(max));
    }
    if listing.in_stock {
        sql.push(
            " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.deleted_at IS NULL AND v.stock > 0)",
        );
    }
    keyset(&mut sql, listing);
    sql.push(match (listing.sort, db.backend()) {
        (Sort::Newest, _) => " ORDER BY p.id DESC",
        (Sort::PriceAsc, _) => " ORDER BY p.min_price ASC, p.id ASC",
        (Sort::PriceDesc, _) => " ORDER BY p.min_price DESC, p.id ASC",
        (Sort::Name, _) => " ORDER BY p.name_key ASC, p.id ASC",
        (Sort::Relevance, Backend::Sqlite) => " ORDER BY f.rank ASC, p.id ASC",
        (Sort::Relevance, Backend::Postgres) => " ORDER BY ts_rank(p.search, to_tsquery('simple', $1)) DESC, p.id ASC",
    });
    sql.push(" LIMIT ").bind(Arg::Int(listing.limit + 1));
    if let Some(After::Offset(offset)) = listing.after {
        sql.push(" OFFSET ").bind(Arg::Int(offset));
    }

    let mut query = sqlx::query_as::<Any, CardRow>(sqlx::AssertSqlSafe(sql.text));
    for arg in sql.args {
        query = match arg {
            Arg::Text(t) => query.bind(t),
            Arg::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(db.pool()).await?;
    let offset = match listing.after {
        Some(After::Offset(o)) => o,
        _ => 0,
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let after = match listing.sort {
                Sort::Newest => After::Key { value: String::new(), id: row.id.clone() },
                Sort::PriceAsc | Sort::PriceDesc => After::Key { value: row.min_price.to_string(), id: row.id.clone() },
                Sort::Name => After::Key { value: row.name_key.clone(), id: row.id.clone() },
                Sort::Relevance => After::Offset(offset + i64::try_from(i).unwrap_or(0) + 1),
            };
            (card(row), after)
        })
        .collect())
}

/// The keyset condition: rows strictly after the previous page's last (sort key, id).
fn keyset(sql: &mut Sql, listing: &Listing) {
    let Some(After::Key { value, id }) = &listing.after else { return };
    match listing.sort {
        Sort::Newest => {
            sql.push(" AND p.id < ").bind(Arg::Text(id.clone()));
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            let price = value.parse::<i64>().unwrap_or(0);
            let cmp = if listing.sort == Sort::PriceAsc { ">" } else { "<" };
            sql.push(&format!(" AND (p.min_price {cmp} "))
                .bind(Arg::Int(price))
                .push(" OR (p.min_price = ")
                .bind(Arg::Int(price))
                .push(" AND p.id > ")
                .bind(Arg::Text(id.clone()))
                .push("))");
        }
        Sort::Name => {
            sql.push(" AND (p.name_key > ")
                .bind(Arg::Text(value.clone()))
                .push(" OR (p.name_key = ")
                .bind(Arg::Text(value.clone()))
                .push(" AND p.id > ")
                .bind(Arg::Text(id.clone()))
                .push("))");
        }
        Sort::Relevance => {}
    }
}

fn card(row: CardRow) -> ProductCard {
    let image = row.images.0.into_iter().next();
    ProductCard {
        id: row.id,
        slug: row.slug,
        name: row.name,
        min_price: row.min_price,
        max_price: row.max_price,
        currency: row.currency,
        image,
        in_stock: row.in_stock != 0,
        default_variant_id: row.default_variant_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_words_only() {
        assert_eq!(search_terms("Steel  chair"), vec!["steel", "chair"]);
        assert_eq!(search_terms("t-shirt:* AND \"x\""), vec!["t", "shirt", "and", "x"]);
        assert!(search_terms(" -:*\"' ").is_empty());
        assert_eq!(search_terms("a b c d e f g h i j").len(), 8);
    }

    #[test]
    fn backend_queries_quote_every_term_and_prefix_the_last() {
        let terms = search_terms("Steel Cha");
        assert_eq!(fts5_query(&terms), "\"steel\" \"cha\"*");
        assert_eq!(tsquery(&terms), "'steel' & 'cha':*");
    }
}
