//! Staff product endpoints: `/api/v1/admin/products*` and `/api/v1/admin/variants/*`.

use std::sync::Arc;

use poem_openapi::{ApiResponse, OpenApi, param::Path, param::Query, payload::Json};

use super::{
    ProductTags,
    dto::*,
    model::Status,
    service::{ProductChange, ProductDraft, ProductService, VariantChange, VariantDraft},
};
use crate::{
    accounts::{AccountService, api::dto::patch_value},
    http::{pagination, problem::ApiError, security::BearerAuth},
};

pub struct AdminProductsApi {
    pub accounts: Arc<AccountService>,
    pub products: Arc<ProductService>,
}

#[derive(ApiResponse)]
pub enum ProductCreated {
    #[oai(status = 201)]
    Created(Json<AdminProductDto>),
}

#[derive(ApiResponse)]
pub enum VariantCreated {
    #[oai(status = 201)]
    Created(Json<AdminVariantDto>),
}

#[derive(ApiResponse)]
pub enum Done {
    #[oai(status = 204)]
    NoContent,
}

impl AdminProductsApi {
    async fn staff(&self, auth: &BearerAuth) -> Result<(), ApiError> {
        self.accounts.authenticate_staff(auth.token()).await?;
        Ok(())
    }

    async fn variant_dto(&self, variant: super::model::Variant) -> Result<AdminVariantDto, ApiError> {
        let detail = self.products.admin_detail(&variant.product_id).await?;
        let names: Vec<String> = detail.product.options.iter().map(|o| o.name.clone()).collect();
        Ok(admin_variant(&names, &detail.product.currency, variant))
    }
}

/// Turns the request into a draft: `variants`, or the simple-product shorthand.
fn draft(body: ProductCreate) -> Result<ProductDraft, ApiError> {
    let shorthand = body.price.is_some() || body.sku.is_some() || body.stock.is_some();
    let variants: Vec<VariantDraft> = match (shorthand, body.variants.is_empty()) {
        (true, false) => {
            return Err(ApiError::invalid_field(
                "variants",
                "give either `variants` or `price`/`sku`/`stock`, not both",
            ));
        }
        (true, true) => {
            let (Some(price), Some(sku)) = (body.price, body.sku.clone().map(String::from)) else {
                return Err(ApiError::invalid_field("price", "a simple product needs `price` and `sku`"));
            };
            vec![VariantDraft {
                sku,
                price,
                compare_at_price: body.compare_at_price,
                stock: body.stock.unwrap_or(0),
                options: Vec::new(),
            }]
        }
        (false, _) => body.variants.into_iter().map(Into::into).collect(),
    };
    Ok(ProductDraft {
        name: body.name.into(),
        slug: body.slug.map(Into::into),
        description: body.description.into(),
        status: body.status.map_or(Status::Active, Into::into),
        category_id: body.category_id.map(Into::into),
        images: body.images.into_iter().map(Into::into).collect(),
        options: body.options.into_iter().map(Into::into).collect(),
        variants,
    })
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "ProductTags::AdminProducts")]
impl AdminProductsApi {
    /// List products (staff)
    ///
    /// All statuses, newest first; filter with `status`.
    #[oai(path = "/products", method = "get", operation_id = "adminListProducts")]
    async fn list(
        &self,
        auth: BearerAuth,
        status: Query<Option<StatusDto>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<AdminProductList>, ApiError> {
        self.staff(&auth).await?;
        let limit = pagination::limit(limit.0)?;
        let status: Option<Status> = status.0.map(Into::into);
        let scope = format!("admin/products|status={}", status.map_or("", Status::as_str));
        let after = match cursor.0.as_deref() {
            Some(c) => pagination::decode(&scope, c, 1)?.pop(),
            None => None,
        };
        let rows = self.products.admin_list(status, after.as_deref(), limit + 1).await?;
        let (rows, more) = pagination::split_page(rows, limit);
        let next_cursor = more.then(|| rows.last().map(|p| pagination::encode(&scope, vec![p.id.clone()]))).flatten();
        let items = rows
            .into_iter()
            .map(|p| AdminProductSummary {
                id: p.id,
                slug: p.slug,
                name: p.name,
                status: p.status.into(),
                category_id: p.category_id.into(),
                currency: p.currency,
                min_price: p.min_price.into(),
                max_price: p.max_price.into(),
                created_at: crate::clock::from_millis(p.created_at),
                updated_at: crate::clock::from_millis(p.updated_at),
            })
            .collect();
        Ok(Json(AdminProductList { items, next_cursor: next_cursor.into() }))
    }

    /// Create a product
    ///
    /// With `options` and `variants` in one request, or the shorthand `price` + `sku` + `stock`
    /// for a product without options. `status` defaults to `active`; a missing `slug` is made
    /// from the name.
    #[oai(path = "/products", method = "post", operation_id = "adminCreateProduct")]
    async fn create(&self, auth: BearerAuth, body: Json<ProductCreate>) -> Result<ProductCreated, ApiError> {
        self.staff(&auth).await?;
        let detail = self.products.create(draft(body.0)?).await?;
        Ok(ProductCreated::Created(Json(detail.into())))
    }

    /// One product (staff)
    #[oai(path = "/products/:id", method = "get", operation_id = "adminGetProduct")]
    async fn get(&self, auth: BearerAuth, id: Path<String>) -> Result<Json<AdminProductDto>, ApiError> {
        self.staff(&auth).await?;
        Ok(Json(self.products.admin_detail(&id.0).await?.into()))
    }

    /// Update a product
    #[oai(path = "/products/:id", method = "patch", operation_id = "adminUpdateProduct")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<ProductPatch>,
    ) -> Result<Json<AdminProductDto>, ApiError> {
        self.staff(&auth).await?;
        let b = body.0;
        let change = ProductChange {
            name: b.name.map(Into::into),
            slug: b.slug.map(Into::into),
            description: b.description.map(Into::into),
            status: b.status.map(Into::into),
            category_id: patch_value(b.category_id).map(|c| c.map(Into::into)),
            images: b.images.map(|i| i.into_iter().map(Into::into).collect()),
            options: b.options.map(|o| o.into_iter().map(Into::into).collect()),
        };
        Ok(Json(self.products.update(&id.0, change).await?.into()))
    }

    /// Archive a product
    ///
    /// Hidden from the storefront; orders keep their snapshots. Set `status` back to `active` to
    /// restore it.
    #[oai(path = "/products/:id", method = "delete", operation_id = "adminArchiveProduct")]
    async fn archive(&self, auth: BearerAuth, id: Path<String>) -> Result<Done, ApiError> {
        self.staff(&auth).await?;
        self.products.archive(&id.0).await?;
        Ok(Done::NoContent)
    }

    /// Add a variant
    #[oai(path = "/products/:id/variants", method = "post", operation_id = "adminCreateVariant")]
    async fn add_variant(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<VariantCreate>,
    ) -> Result<VariantCreated, ApiError> {
        self.staff(&auth).await?;
        let variant = self.products.add_variant(&id.0, body.0.into()).await?;
        Ok(VariantCreated::Created(Json(self.variant_dto(variant).await?)))
    }

    /// Update a variant
    ///
    /// `price`, `compare_at_price`, `sku`, and either `stock` (absolute) or `stock_adjustment`
    /// (relative, atomic, never below zero: 409 `insufficient_stock` with `available`).
    #[oai(path = "/variants/:id", method = "patch", operation_id = "adminUpdateVariant")]
    async fn update_variant(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<VariantPatch>,
    ) -> Result<Json<AdminVariantDto>, ApiError> {
        self.staff(&auth).await?;
        let b = body.0;
        let change = VariantChange {
            sku: b.sku.map(Into::into),
            price: b.price,
            compare_at_price: patch_value(b.compare_at_price),
            stock: b.stock,
            stock_adjustment: b.stock_adjustment,
        };
        let variant = self.products.update_variant(&id.0, change).await?;
        Ok(Json(self.variant_dto(variant).await?))
    }

    /// Remove a variant
    ///
    /// Hidden everywhere and its SKU freed; orders that reference it keep it.
    #[oai(path = "/variants/:id", method = "delete", operation_id = "adminDeleteVariant")]
    async fn remove_variant(&self, auth: BearerAuth, id: Path<String>) -> Result<Done, ApiError> {
        self.staff(&auth).await?;
        self.products.remove_variant(&id.0).await?;
        Ok(Done::NoContent)
    }
}
