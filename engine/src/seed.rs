//! Data for people and benchmarks: `engine seed --demo` (a small, realistic shop) and
//! `engine seed --products N` (N generated products, the same ones for the same N).
//!
//! Everything goes through the catalog services, so every rule (slugs, SKUs, option values,
//! prices, the denormalised price range) is applied exactly as for a staff request. Both commands
//! are idempotent by slug: what exists is skipped, never changed. Both refuse to run when
//! `environment = "production"`: sample data has no place in a real shop.

mod demo;
mod generated;

use std::collections::HashSet;

use anyhow::bail;

use crate::{
    AppState,
    catalog::{
        categories::{CategoryError, service::CategoryService},
        products::{ProductError, service::ProductDraft},
    },
    config::Config,
};

/// What one seed run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub categories_created: usize,
    pub categories_existing: usize,
    pub products_created: usize,
    pub products_existing: usize,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "categories: {} created, {} already there; products: {} created, {} already there",
            self.categories_created, self.categories_existing, self.products_created, self.products_existing
        )
    }
}

/// Refuses seeding a production shop (checked before anything connects to its database).
pub fn ensure_allowed(config: &Config) -> anyhow::Result<()> {
    if config.is_production() {
        bail!(
            "refusing to seed sample data: environment = \"production\". Seed a development database instead \
             (e.g. --config config/demo.toml)"
        );
    }
    Ok(())
}

/// `engine seed --demo`: the demo shop (see [`demo`]).
pub async fn demo(state: &AppState) -> anyhow::Result<SeedReport> {
    ensure_allowed(&state.config)?;
    demo::seed(state).await
}

/// `engine seed --products N [--stock S]`: `n` generated products over `category-01` …
/// `category-20`. With `stock`, every variant this run creates holds that many units instead of
/// its generated stock (0–200, a tenth sold out), so a benchmark can add to carts and check out
/// for its whole run; products that already exist keep theirs (seeding never changes data).
pub async fn products(state: &AppState, n: u32, stock: Option<i64>) -> anyhow::Result<SeedReport> {
    ensure_allowed(&state.config)?;
    generated::seed(state, n, stock).await
}

/// A category to create unless its slug exists: (slug, name, parent slug, description).
struct CategorySpec<'a> {
    slug: &'a str,
    name: &'a str,
    parent: Option<&'a str>,
    description: &'a str,
}

/// Creates the categories that do not exist yet, parents before children (the specs are in
/// that order). Siblings get positions 0, 1, 2, … in the order of the specs.
async fn ensure_categories(
    categories: &CategoryService,
    specs: &[CategorySpec<'_>],
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    use crate::catalog::categories::model::CategoryDraft;
    for (i, spec) in specs.iter().enumerate() {
        // 0, 1, 2, … among the siblings listed before it.
        let position = specs[..i].iter().filter(|s| s.parent == spec.parent).count();
        if categories.resolve(spec.slug).await.map_err(category_error)?.is_some() {
            report.categories_existing += 1;
            continue;
        }
        let parent_id = match spec.parent {
            Some(parent) => {
                let Some(found) = categories.resolve(parent).await.map_err(category_error)? else {
                    bail!("category `{}` needs its parent `{parent}`, which does not exist", spec.slug);
                };
                Some(found.id)
            }
            None => None,
        };
        let draft = CategoryDraft {
            name: Some(spec.name.to_owned()),
            slug: Some(spec.slug.to_owned()),
            description: Some(spec.description.to_owned()),
            position: i64::try_from(position).ok(),
            parent_id: Some(parent_id),
        };
        match categories.create(draft).await {
            Ok(_) => report.categories_created += 1,
            // Another seed run created it meanwhile: the end state is the same.
            Err(CategoryError::SlugTaken(_)) => report.categories_existing += 1,
            Err(e) => return Err(category_error(e).context(format!("creating category `{}`", spec.slug))),
        }
    }
    Ok(())
}

/// The id of the category with this slug (which [`ensure_categories`] made sure exists).
async fn category_id(categories: &CategoryService, slug: &str) -> anyhow::Result<String> {
    match categories.resolve(slug).await.map_err(category_error)? {
        Some(c) => Ok(c.id),
        None => bail!("category `{slug}` is missing"),
    }
}

/// Which of `slugs` are product slugs already (any status). One query per 500 slugs.
async fn existing_product_slugs(state: &AppState, slugs: &[String]) -> anyhow::Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in slugs.chunks(500) {
        // Only generated `$N` placeholders go into the text; the slugs are bound.
        let placeholders = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT slug FROM products WHERE slug IN ({placeholders})");
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for slug in chunk {
            query = query.bind(slug);
        }
        found.extend(query.fetch_all(state.db.pool()).await?);
    }
    Ok(found)
}

/// Creates one product through the service; `Ok(false)` when its slug is taken (already seeded).
async fn create_product(state: &AppState, draft: ProductDraft) -> anyhow::Result<bool> {
    let slug = draft.slug.clone().unwrap_or_default();
    match state.products.create(draft).await {
        Ok(_) => Ok(true),
        Err(ProductError::SlugTaken(_)) => Ok(false),
        Err(e) => Err(product_error(e).context(format!("creating product `{slug}`"))),
    }
}

/// Errors with their field problems spelled out (the `Display` of a validation error is terse).
fn product_error(error: ProductError) -> anyhow::Error {
    match error {
        ProductError::Validation(errors) => anyhow::anyhow!(
            "validation failed: {}",
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::Error::new(other),
    }
}

fn category_error(error: CategoryError) -> anyhow::Error {
    match error {
        CategoryError::Validation(errors) => anyhow::anyhow!(
            "validation failed: {}",
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::Error::new(other),
    }
}

/// A placeholder image for a product: a stable picture per slug.
fn placeholder_image(slug: &str, alt: String) -> crate::catalog::products::model::Image {
    crate::catalog::products::model::Image { url: format!("https://picsum.photos/seed/{slug}/600/600"), alt }
}
