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
    /// Position after the previous page: the last item's sort key and id.
    pub after: Option<After>,
}

#[derive(Debug, Clone)]
pub enum After {
    /// The last row's sort key (empty for `newest`, the tier for `relevance`) and id.
    Key { value: String, id: String },
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
    /// Relevance: 1 when the name holds every term, else 0 (other sorts: 0).
    tier: i64,
}

/// One page of cards (up to `limit + 1` rows: the extra one tells that more exist), each with
/// the cursor key that would follow it.
///
/// Every sort is a keyset walk of an index in its order (see the catalog-scale migration), so a
/// page deep in the list costs what the first does. `relevance` is too: products whose *name*
/// holds every term come first, then those that match only through their description, newest
/// first within each (the cursor carries the tier and the id). On PostgreSQL each tier is a walk
/// of the newest-first index filtered by the text match, stopping at the page's end, instead of
/// ranking every match (`ts_rank` over 3,000 matches was the whole cost of a filtered search at
/// 100k products); the two tiers are one `UNION ALL`.
pub async fn page(db: &Db, listing: &Listing) -> sqlx::Result<Vec<(ProductCard, After)>> {
    let mut sql = Sql::default();
    let searching = !listing.terms.is_empty();
    match (searching, db.backend()) {
        (false, _) => {
            select(&mut sql, "products p", "0");
            filters(&mut sql, listing);
            keyset(&mut sql, listing);
            sql.push(match listing.sort {
                Sort::PriceAsc => " ORDER BY p.min_price ASC, p.id ASC",
                Sort::PriceDesc => " ORDER BY p.min_price DESC, p.id ASC",
                Sort::Name => " ORDER BY p.name_key ASC, p.id ASC",
                Sort::Newest | Sort::Relevance => " ORDER BY p.id DESC",
            });
            sql.push(" LIMIT ").bind(Arg::Int(listing.limit + 1));
        }
        (true, Backend::Sqlite) => {
            // The matches first, then their products by rowid. `CROSS JOIN` fixes that order in
            // SQLite: left to itself, the planner walked the products and ran the whole MATCH
            // once per product (0.8 s per page at 10k products).
            sql.push("SELECT * FROM (");
            sql.push(
                "SELECT p.id, p.slug, p.name, p.name_key, p.min_price, p.max_price, p.currency, p.images, \
                 p.default_variant_id, p.in_stock, f.tier FROM (SELECT rowid AS fts_rowid, \
                 CASE WHEN rowid IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ",
            )
            .bind(Arg::Text(format!("name : ({})", fts5_query(&listing.terms))))
            .push(") THEN 1 ELSE 0 END AS tier FROM products_fts WHERE products_fts MATCH ")
            .bind(Arg::Text(fts5_query(&listing.terms)))
            .push(") f CROSS JOIN products p ON p.seq = f.fts_rowid WHERE 1 = 1");
            filters(&mut sql, listing);
            sql.push(") page WHERE 1 = 1");
            keyset_in(&mut sql, listing, "page.");
            sql.push(" ORDER BY page.");
            sql.push(order_of(listing.sort, true));
            sql.push(" LIMIT ").bind(Arg::Int(listing.limit + 1));
        }
        (true, Backend::Postgres) => {
            let query = tsquery(&listing.terms);
            if listing.sort == Sort::Relevance {
                let tier = match &listing.after {
                    Some(After::Key { value, .. }) => value.parse::<i64>().unwrap_or(1),
                    _ => 1,
                };
                sql.push("SELECT * FROM (");
                if tier == 1 {
                    sql.push("(");
                    select(&mut sql, "products p", "1");
                    filters(&mut sql, listing);
                    sql.push(" AND p.name_search @@ to_tsquery('simple', ").bind(Arg::Text(query.clone())).push(")");
                    if let Some(After::Key { id, .. }) = &listing.after {
                        sql.push(" AND p.id < ").bind(Arg::Text(id.clone()));
                    }
                    sql.push(" ORDER BY p.id DESC LIMIT ").bind(Arg::Int(listing.limit + 1)).push(") UNION ALL ");
                }
                sql.push("(");
                select(&mut sql, "products p", "0");
                filters(&mut sql, listing);
                sql.push(" AND p.search @@ to_tsquery('simple', ")
                    .bind(Arg::Text(query.clone()))
                    .push(") AND NOT p.name_search @@ to_tsquery('simple', ")
                    .bind(Arg::Text(query))
                    .push(")");
                if let (0, Some(After::Key { id, .. })) = (tier, &listing.after) {
                    sql.push(" AND p.id < ").bind(Arg::Text(id.clone()));
                }
                sql.push(" ORDER BY p.id DESC LIMIT ").bind(Arg::Int(listing.limit + 1));
                sql.push(")) page ORDER BY page.tier DESC, page.id DESC LIMIT ").bind(Arg::Int(listing.limit + 1));
            } else {
                select(&mut sql, "products p", "0");
                filters(&mut sql, listing);
                sql.push(" AND p.search @@ to_tsquery('simple', ").bind(Arg::Text(query)).push(")");
                keyset(&mut sql, listing);
                sql.push(" ORDER BY p.");
                sql.push(order_of(listing.sort, false));
                sql.push(" LIMIT ").bind(Arg::Int(listing.limit + 1));
            }
        }
    }

    let mut query = sqlx::query_as::<Any, CardRow>(sqlx::AssertSqlSafe(sql.text));
    for arg in sql.args {
        query = match arg {
            Arg::Text(t) => query.bind(t),
            Arg::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id.clone();
            let after = match listing.sort {
                Sort::Newest => After::Key { value: String::new(), id },
                Sort::PriceAsc | Sort::PriceDesc => After::Key { value: row.min_price.to_string(), id },
                Sort::Name => After::Key { value: row.name_key.clone(), id },
                Sort::Relevance => After::Key { value: row.tier.to_string(), id },
            };
            (card(row), after)
        })
        .collect())
}

/// The select list of a card, from `from`, with `tier` as the relevance tier column.
fn select(sql: &mut Sql, from: &str, tier: &str) {
    sql.push(&format!(
        "SELECT p.id, p.slug, p.name, p.name_key, p.min_price, p.max_price, p.currency, p.images, \
         p.default_variant_id, p.in_stock, CAST({tier} AS BIGINT) AS tier FROM {from} WHERE 1 = 1"
    ));
}

/// The `ORDER BY` columns of a sort (unqualified, for a derived table, when `bare`).
fn order_of(sort: Sort, bare: bool) -> &'static str {
    match (sort, bare) {
        (Sort::Newest, _) => "id DESC",
        (Sort::PriceAsc, false) => "min_price ASC, p.id ASC",
        (Sort::PriceDesc, false) => "min_price DESC, p.id ASC",
        (Sort::Name, false) => "name_key ASC, p.id ASC",
        (Sort::PriceAsc, true) => "min_price ASC, page.id ASC",
        (Sort::PriceDesc, true) => "min_price DESC, page.id ASC",
        (Sort::Name, true) => "name_key ASC, page.id ASC",
        (Sort::Relevance, _) => "tier DESC, id DESC",
    }
}

/// The filters every listing shares (status, category subtree, price bounds, stock).
fn filters(sql: &mut Sql, listing: &Listing) {
    // `in_stock` is stored on the product (kept with every stock change that flips it), not a
    // probe of its variants per card: that subquery was a third of PostgreSQL's time on a page.
    sql.push(" AND p.status = 'active' AND p.min_price IS NOT NULL");
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
        sql.push(" AND p.in_stock = 1");
    }
}

/// The keyset condition: rows strictly after the previous page's last (sort key, id).
fn keyset(sql: &mut Sql, listing: &Listing) {
    keyset_in(sql, listing, "p.");
}

fn keyset_in(sql: &mut Sql, listing: &Listing, table: &str) {
    let Some(After::Key { value, id }) = &listing.after else { return };
    let t = table;
    match listing.sort {
        Sort::Newest => {
            sql.push(&format!(" AND {t}id < ")).bind(Arg::Text(id.clone()));
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            let price = value.parse::<i64>().unwrap_or(0);
            let cmp = if listing.sort == Sort::PriceAsc { ">" } else { "<" };
            sql.push(&format!(" AND ({t}min_price {cmp} "))
                .bind(Arg::Int(price))
                .push(&format!(" OR ({t}min_price = "))
                .bind(Arg::Int(price))
                .push(&format!(" AND {t}id > "))
                .bind(Arg::Text(id.clone()))
                .push("))");
        }
        Sort::Name => {
            sql.push(&format!(" AND ({t}name_key > "))
                .bind(Arg::Text(value.clone()))
                .push(&format!(" OR ({t}name_key = "))
                .bind(Arg::Text(value.clone()))
                .push(&format!(" AND {t}id > "))
                .bind(Arg::Text(id.clone()))
                .push("))");
        }
        Sort::Relevance => {
            let tier = value.parse::<i64>().unwrap_or(1);
            sql.push(&format!(" AND ({t}tier < "))
                .bind(Arg::Int(tier))
                .push(&format!(" OR ({t}tier = "))
                .bind(Arg::Int(tier))
                .push(&format!(" AND {t}id < "))
                .bind(Arg::Text(id.clone()))
                .push("))");
        }
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
