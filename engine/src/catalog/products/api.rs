//! Storefront product endpoints: `GET /api/v1/products` and `GET /api/v1/products/{id_or_slug}`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{
    OpenApi,
    param::{Header, Path, Query},
};

use super::{
    ProductTags,
    dto::*,
    listing::{After, Listing, Sort, search_terms},
    service::ProductService,
};
use crate::{
    catalog::cache::{Depends, StorefrontCache},
    http::{
        cached::CachedJson,
        pagination,
        problem::{ApiError, FieldError},
        text::Text,
    },
};

pub struct ProductsApi {
    pub products: Arc<ProductService>,
    /// Rendered answers (see `catalog::cache`).
    pub cache: Arc<StorefrontCache>,
}

/// What a cursor is bound to: the sort and every filter.
fn scope(listing: &Listing, category: Option<&str>) -> String {
    format!(
        "products|sort={}|q={}|category={}|min={:?}|max={:?}|in_stock={}",
        listing.sort.as_str(),
        listing.terms.join(" "),
        category.unwrap_or(""),
        listing.min_price,
        listing.max_price,
        listing.in_stock
    )
}

fn encode_after(scope: &str, after: &After) -> String {
    let After::Key { value, id } = after;
    pagination::encode(scope, vec![value.clone(), id.clone()])
}

fn decode_after(scope: &str, cursor: &str, sort: Sort) -> Result<After, ApiError> {
    let mut key = pagination::decode(scope, cursor, 2)?;
    let id = key.pop().unwrap_or_default();
    let value = key.pop().unwrap_or_default();
    let invalid = || ApiError::new(poem::http::StatusCode::BAD_REQUEST, "invalid_cursor", "the cursor is malformed");
    match sort {
        // The relevance tier: 1 (the name holds every term) or 0.
        Sort::Relevance if value != "0" && value != "1" => Err(invalid()),
        _ => Ok(After::Key { value, id }),
    }
}

impl ProductsApi {
    /// Runs the listing query (one query, after resolving the category).
    async fn page(
        &self,
        mut listing: Listing,
        category_key: Option<&str>,
        scope: &str,
    ) -> Result<ProductCardList, ApiError> {
        if let Some(key) = category_key {
            match self.products.category_path(key).await? {
                Some(path) => listing.category_path = Some(path),
                None => return Ok(ProductCardList { items: Vec::new(), next_cursor: None.into() }),
            }
        }
        let limit = listing.limit;
        let rows = self.products.list(&listing).await?;
        let (rows, more) = pagination::split_page(rows, limit);
        let next_cursor = if more { rows.last().map(|(_, after)| encode_after(scope, after)) } else { None };
        Ok(ProductCardList {
            items: rows.into_iter().map(|(card, _)| card.into()).collect(),
            next_cursor: next_cursor.into(),
        })
    }
}

#[OpenApi(prefix_path = "/api/v1/products", tag = "ProductTags::Products")]
impl ProductsApi {
    /// List products
    ///
    /// Active products as product cards. `q`: all words must match (the last as a prefix),
    /// case-insensitive; with `q` the default sort is `relevance`, else `newest`. `category`: id
    /// or slug, including its descendants (unknown: empty list). `min_price`/`max_price` apply to
    /// the cheapest variant. `in_stock=true` keeps products with a variant in stock. Cursor
    /// pagination; a cursor only works with the same sort and filters. Answers carry a strong
    /// `ETag`; `If-None-Match` with it answers 304 without a body.
    #[oai(path = "/", method = "get", operation_id = "listProducts")]
    #[allow(clippy::too_many_arguments, reason = "one parameter per documented query parameter")]
    async fn list(
        &self,
        req: &Request,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
        q: Query<Option<Text>>,
        category: Query<Option<Text>>,
        min_price: Query<Option<i64>>,
        max_price: Query<Option<i64>>,
        in_stock: Query<Option<bool>>,
        sort: Query<Option<SortDto>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<CachedJson<ProductCardList>, ApiError> {
        // Keyed by the query string as sent: only a valid request is ever stored, so a hit
        // needs no further checks (the same filters spelt differently are separate entries).
        let key = format!("products?{}", req.uri().query().unwrap_or(""));
        if let Some(page) = self.cache.get(&key) {
            return Ok(CachedJson::answer(page, if_none_match.0.as_deref()));
        }
        let limit = pagination::limit(limit.0)?;
        let mut problems = Vec::new();
        for (field, value) in [("min_price", min_price.0), ("max_price", max_price.0)] {
            if value.is_some_and(|v| v < 0) {
                problems.push(FieldError { field: field.into(), message: "must not be negative".into() });
            }
        }
        if let (Some(min), Some(max)) = (min_price.0, max_price.0)
            && min > max
        {
            problems.push(FieldError { field: "min_price".into(), message: "must not exceed max_price".into() });
        }
        if !problems.is_empty() {
            return Err(ApiError::validation(problems));
        }
        let terms = q.0.as_deref().map(|q| search_terms(q)).unwrap_or_default();
        let sort = match (sort.0, terms.is_empty()) {
            (None, false) | (Some(SortDto::Relevance), false) => Sort::Relevance,
            // Relevance without words to rank by falls back to the default order.
            (None, true) | (Some(SortDto::Relevance), true) | (Some(SortDto::Newest), _) => Sort::Newest,
            (Some(SortDto::PriceAsc), _) => Sort::PriceAsc,
            (Some(SortDto::PriceDesc), _) => Sort::PriceDesc,
            (Some(SortDto::Name), _) => Sort::Name,
        };
        let category_key = category.0.as_deref().map(|c| c.trim()).filter(|c| !c.is_empty());
        let mut listing = Listing {
            terms,
            category_path: None,
            min_price: min_price.0,
            max_price: max_price.0,
            in_stock: in_stock.0.unwrap_or(false),
            sort,
            limit,
            after: None,
        };
        let scope = scope(&listing, category_key);
        if let Some(cursor) = cursor.0.as_deref() {
            listing.after = Some(decode_after(&scope, cursor, sort)?);
        }
        let ticket = self.cache.ticket();
        let page = CachedJson::render(&self.page(listing, category_key, &scope).await?);
        self.cache.put(key, ticket, Depends::Lists, None, &page);
        Ok(CachedJson::answer(page, if_none_match.0.as_deref()))
    }

    /// One product
    ///
    /// By id or slug: options, variants (with `in_stock`, not stock levels), images, and the
    /// category with its ancestors. Draft and archived products are 404. Answers carry a strong
    /// `ETag`; `If-None-Match` with it answers 304 without a body.
    #[oai(path = "/:id_or_slug", method = "get", operation_id = "getProduct")]
    async fn get(
        &self,
        id_or_slug: Path<Text>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<CachedJson<ProductDto>, ApiError> {
        let key = format!("product/{}", id_or_slug.0.as_str());
        if let Some(page) = self.cache.get(&key) {
            return Ok(CachedJson::answer(page, if_none_match.0.as_deref()));
        }
        let ticket = self.cache.ticket();
        let detail = self.products.storefront_detail(&id_or_slug.0).await?;
        let product_id = detail.product.id.clone();
        let page = CachedJson::render(&ProductDto::from(detail));
        self.cache.put(key, ticket, Depends::Product, Some(&product_id), &page);
        Ok(CachedJson::answer(page, if_none_match.0.as_deref()))
    }
}
