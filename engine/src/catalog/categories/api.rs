//! HTTP layer of the category tree: `/api/v1/categories*` (anyone) and
//! `/api/v1/admin/categories*` (staff). Thin handlers: parse, call the service, map.

use std::sync::Arc;

use poem_openapi::{
    ApiResponse, OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
};

use super::{dto::*, service::CategoryService};
use crate::{
    accounts::AccountService,
    catalog::cache::{Depends, StorefrontCache},
    http::{cached::CachedJson, pagination, problem::ApiError, security::BearerAuth, text::Text},
};

#[derive(Tags)]
pub enum CategoryTags {
    /// The catalog's category tree, for navigation and breadcrumbs.
    Categories,
    /// Staff management of the category tree: create, rename, move, delete.
    #[oai(rename = "Admin · Categories")]
    AdminCategories,
}

pub struct CategoriesApi {
    pub categories: Arc<CategoryService>,
    /// Rendered answers (see `catalog::cache`).
    pub cache: Arc<StorefrontCache>,
}

#[OpenApi(prefix_path = "/api/v1/categories", tag = "CategoryTags::Categories")]
impl CategoriesApi {
    /// The category tree
    ///
    /// Every root category with its descendants nested in `children`; siblings ordered by
    /// `position`, then name, then id. Not paginated. Answers carry a strong `ETag`;
    /// `If-None-Match` with it answers 304 without a body.
    #[oai(path = "/", method = "get", operation_id = "listCategories")]
    async fn tree(
        &self,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<CachedJson<CategoryTree>, ApiError> {
        const KEY: &str = "categories";
        if let Some(page) = self.cache.get(KEY) {
            return Ok(CachedJson::answer(page, if_none_match.0.as_deref()));
        }
        let ticket = self.cache.ticket();
        let roots = self.categories.tree().await?;
        let page = CachedJson::render(&CategoryTree { items: roots.into_iter().map(Into::into).collect() });
        self.cache.put(KEY.to_owned(), ticket, Depends::Categories, None, &page);
        Ok(CachedJson::answer(page, if_none_match.0.as_deref()))
    }

    /// One category
    ///
    /// By id or slug, with its direct `children` and its `ancestors` (root first). Answers carry
    /// a strong `ETag`; `If-None-Match` with it answers 304 without a body.
    #[oai(path = "/:id_or_slug", method = "get", operation_id = "getCategory")]
    async fn get(
        &self,
        id_or_slug: Path<Text>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<CachedJson<CategoryDetailView>, ApiError> {
        let key = format!("category/{}", id_or_slug.0.as_str());
        if let Some(page) = self.cache.get(&key) {
            return Ok(CachedJson::answer(page, if_none_match.0.as_deref()));
        }
        let ticket = self.cache.ticket();
        let detail = CategoryDetailView::from(self.categories.detail(&id_or_slug.0).await?);
        let page = CachedJson::render(&detail);
        self.cache.put(key, ticket, Depends::Categories, None, &page);
        Ok(CachedJson::answer(page, if_none_match.0.as_deref()))
    }
}

pub struct AdminCategoriesApi {
    pub categories: Arc<CategoryService>,
    pub accounts: Arc<AccountService>,
}

#[derive(ApiResponse)]
pub enum CategoryCreated {
    #[oai(status = 201)]
    Created(Json<CategoryView>),
}

#[derive(ApiResponse)]
pub enum CategoryDeleted {
    #[oai(status = 204)]
    Deleted,
}

impl AdminCategoriesApi {
    async fn staff(&self, auth: &BearerAuth) -> Result<(), ApiError> {
        self.accounts.authenticate_staff(auth.token()).await?;
        Ok(())
    }
}

#[OpenApi(prefix_path = "/api/v1/admin/categories", tag = "CategoryTags::AdminCategories")]
impl AdminCategoriesApi {
    /// List categories
    ///
    /// A flat list in creation order; `parent_id` keeps one category's direct children.
    #[oai(path = "/", method = "get", operation_id = "adminListCategories")]
    async fn list(
        &self,
        auth: BearerAuth,
        parent_id: Query<Option<Text>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<CategoryList>, ApiError> {
        self.staff(&auth).await?;
        let limit = pagination::limit(limit.0)?;
        let parent_id = parent_id.0.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let scope = format!("admin/categories|parent_id={}", parent_id.as_deref().unwrap_or(""));
        let after = match cursor.0.as_deref() {
            Some(c) => pagination::decode(&scope, c, 1)?.pop(),
            None => None,
        };
        let rows = self.categories.list(parent_id.as_deref(), after.as_deref(), limit + 1).await?;
        let (rows, more) = pagination::split_page(rows, limit);
        let next_cursor = more.then(|| rows.last().map(|c| pagination::encode(&scope, vec![c.id.clone()]))).flatten();
        Ok(Json(CategoryList { items: rows.into_iter().map(Into::into).collect(), next_cursor: next_cursor.into() }))
    }

    /// Create a category
    ///
    /// `slug` is generated from the name when omitted; `position` defaults to after the last
    /// sibling. An unknown `parent_id` is 422; a taken slug 409 `slug_taken`.
    #[oai(path = "/", method = "post", operation_id = "adminCreateCategory")]
    async fn create(&self, auth: BearerAuth, body: Json<CategoryCreate>) -> Result<CategoryCreated, ApiError> {
        self.staff(&auth).await?;
        let category = self.categories.create(body.0.into()).await?;
        Ok(CategoryCreated::Created(Json(category.into())))
    }

    /// One category
    #[oai(path = "/:id", method = "get", operation_id = "adminGetCategory")]
    async fn get(&self, auth: BearerAuth, id: Path<Text>) -> Result<Json<CategoryView>, ApiError> {
        self.staff(&auth).await?;
        Ok(Json(self.categories.get(&id.0).await?.into()))
    }

    /// Update or move a category
    ///
    /// Absent fields stay. `parent_id` moves the category and its whole subtree (`null`: to the
    /// root); under itself or one of its descendants is 409 `category_cycle`.
    #[oai(path = "/:id", method = "patch", operation_id = "adminUpdateCategory")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Text>,
        body: Json<CategoryPatch>,
    ) -> Result<Json<CategoryView>, ApiError> {
        self.staff(&auth).await?;
        Ok(Json(self.categories.update(&id.0, body.0.into()).await?.into()))
    }

    /// Delete a category
    ///
    /// Refused with 409 `category_not_empty` while it has subcategories or any product (of any
    /// status) is in it.
    #[oai(path = "/:id", method = "delete", operation_id = "adminDeleteCategory")]
    async fn delete(&self, auth: BearerAuth, id: Path<Text>) -> Result<CategoryDeleted, ApiError> {
        self.staff(&auth).await?;
        self.categories.delete(&id.0).await?;
        Ok(CategoryDeleted::Deleted)
    }
}
