//! Business rules of the category tree: slugs (given, or generated and made unique), positions,
//! moves that keep the materialised paths right and never form a cycle, and deletes that refuse
//! while children or products use the category. Every write is one transaction.

use super::{
    error::CategoryError,
    model::{Category, CategoryDetail, CategoryDraft, CategoryFields, CategoryNode, build_tree, display_order},
    store,
};
use crate::{
    catalog::{products::cache::CatalogChanges, slug},
    clock::SharedClock,
    db::{Db, Tx, changes::EVERYTHING, unique_violation},
    ids::{is_id, new_id},
    validation::Problems,
};

/// How often a create retries with the next generated slug when a concurrent writer took the
/// one it picked (only possible if something writes categories without the tree lock).
const SLUG_ATTEMPTS: u32 = 5;

pub struct CategoryService {
    db: Db,
    clock: SharedClock,
    /// Bumped after each committed write: category moves and renames change product lists.
    changes: CatalogChanges,
}

impl CategoryService {
    pub fn new(db: Db, clock: SharedClock, changes: CatalogChanges) -> Self {
        Self { db, clock, changes }
    }

    /// Every category as a forest: roots with nested children, siblings in display order.
    pub async fn tree(&self) -> Result<Vec<CategoryNode>, CategoryError> {
        Ok(build_tree(store::all(self.db.pool()).await?))
    }

    /// A category by id (`cat_…`) or slug.
    pub async fn resolve(&self, id_or_slug: &str) -> Result<Option<Category>, CategoryError> {
        let found = if is_id(id_or_slug, "cat") {
            store::by_id(self.db.pool(), id_or_slug).await?
        } else {
            store::by_slug(self.db.pool(), id_or_slug).await?
        };
        Ok(found)
    }

    /// The ancestors of `category`, root first (from its path).
    pub async fn ancestors(&self, category: &Category) -> Result<Vec<Category>, CategoryError> {
        let ids = category.ancestor_ids();
        let mut found = store::by_ids(self.db.pool(), &ids).await?;
        found.sort_by_key(|c| ids.iter().position(|id| *id == c.id));
        Ok(found)
    }

    /// One category with its direct children (display order) and ancestors (root first).
    pub async fn detail(&self, id_or_slug: &str) -> Result<CategoryDetail, CategoryError> {
        let category = self.resolve(id_or_slug).await?.ok_or(CategoryError::NotFound)?;
        let mut children = store::children(self.db.pool(), &category.id).await?;
        children.sort_by(display_order);
        let ancestors = self.ancestors(&category).await?;
        Ok(CategoryDetail { category, children, ancestors })
    }

    pub async fn get(&self, id: &str) -> Result<Category, CategoryError> {
        store::by_id(self.db.pool(), id).await?.ok_or(CategoryError::NotFound)
    }

    /// The staff list (creation order), optionally one parent's children; `limit` rows after
    /// the category `after`.
    pub async fn list(
        &self,
        parent_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Category>, CategoryError> {
        Ok(store::list(self.db.pool(), parent_id, after, limit).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: CategoryDraft) -> Result<Category, CategoryError> {
        let mut problems = Problems::default();
        let fields = draft.parse(true, &mut problems);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_create(&fields, std::mem::take(&mut problems)).await {
                Err(Retry::NextSlug(_)) if attempt < SLUG_ATTEMPTS => continue,
                Err(Retry::NextSlug(slug)) => return Err(CategoryError::SlugTaken(slug)),
                Err(Retry::Fail(e)) => return Err(e),
                Ok(category) => {
                    tracing::info!(category_id = %category.id, slug = %category.slug, "category created");
                    return Ok(category);
                }
            }
        }
    }

    async fn try_create(&self, fields: &CategoryFields, mut problems: Problems) -> Result<Category, Retry> {
        let mut tx = self.db.begin().await.map_err(CategoryError::from)?;
        store::lock_tree(&mut *tx, self.db.backend()).await.map_err(CategoryError::from)?;
        let parent_id = fields.parent_id.clone().flatten();
        let parent = self.parent(&mut tx, parent_id.as_deref(), &mut problems).await?;
        if !problems.is_empty() {
            return Err(CategoryError::Validation(problems.0).into());
        }
        let name = fields.name.clone().unwrap_or_default();
        let slug = match &fields.slug {
            Some(given) => given.clone(),
            None => free_slug(&mut tx, &slug::from_name(&name)).await?,
        };
        let position = match fields.position {
            Some(p) => p,
            None => store::next_position(&mut *tx, parent_id.as_deref()).await.map_err(CategoryError::from)?,
        };
        let id = new_id("cat");
        let now = self.clock.now_ms();
        let category = Category {
            path: Category::path_under(parent.as_ref(), &id),
            id,
            parent_id,
            slug,
            name,
            description: fields.description.clone().unwrap_or_default(),
            position,
            created_at: now,
            updated_at: now,
        };
        if let Err(e) = store::insert(&mut *tx, &category).await {
            return Err(match (unique_violation(&e), &fields.slug) {
                (Some(_), None) => Retry::NextSlug(category.slug),
                (Some(_), Some(_)) => CategoryError::SlugTaken(category.slug).into(),
                (None, _) => CategoryError::Db(e).into(),
            });
        }
        // Names and slugs show in breadcrumbs, the tree and list filters: everything cached.
        tx.mark_stale(EVERYTHING);
        tx.commit().await.map_err(CategoryError::from)?;
        self.changes.bump();
        Ok(category)
    }

    /// Looks up a new parent inside the transaction; an unknown one is a field problem.
    async fn parent(
        &self,
        tx: &mut Tx,
        parent_id: Option<&str>,
        problems: &mut Problems,
    ) -> Result<Option<Category>, CategoryError> {
        let Some(id) = parent_id else { return Ok(None) };
        let parent = store::by_id(&mut **tx, id).await?;
        if parent.is_none() {
            problems.add("parent_id", format!("no category with id `{id}`"));
        }
        Ok(parent)
    }

    /// Updates fields and, when `parent_id` changes, moves the category with its whole subtree.
    /// A moved category without an explicit `position` goes after its new last sibling.
    #[tracing::instrument(skip_all, fields(category_id = %id))]
    pub async fn update(&self, id: &str, draft: CategoryDraft) -> Result<Category, CategoryError> {
        let mut problems = Problems::default();
        let fields = draft.parse(false, &mut problems);
        let mut tx = self.db.begin().await?;
        store::lock_tree(&mut *tx, self.db.backend()).await?;
        let current = store::by_id(&mut *tx, id).await?.ok_or(CategoryError::NotFound)?;
        let mut next = current.clone();
        let mut new_parent = None;
        if let Some(parent_id) = fields.parent_id.filter(|p| *p != current.parent_id) {
            new_parent = Some(self.parent(&mut tx, parent_id.as_deref(), &mut problems).await?);
            next.parent_id = parent_id;
        }
        if !problems.is_empty() {
            return Err(CategoryError::Validation(problems.0));
        }
        if let Some(Some(parent)) = &new_parent
            && current.contains(parent)
        {
            return Err(CategoryError::Cycle);
        }
        if let Some(name) = fields.name {
            next.name = name;
        }
        if let Some(slug) = fields.slug {
            next.slug = slug;
        }
        if let Some(description) = fields.description {
            next.description = description;
        }
        next.position = match (fields.position, &new_parent) {
            (Some(p), _) => p,
            (None, Some(_)) => store::next_position(&mut *tx, next.parent_id.as_deref()).await?,
            (None, None) => current.position,
        };
        next.updated_at = self.clock.now_ms();
        store::update(&mut *tx, &next).await.map_err(|e| match unique_violation(&e) {
            Some(_) => CategoryError::SlugTaken(next.slug.clone()),
            None => CategoryError::Db(e),
        })?;
        if let Some(parent) = &new_parent {
            next.path = Category::path_under(parent.as_ref(), &current.id);
            let moved = store::move_subtree(&mut *tx, &current.path, &next.path).await?;
            tracing::info!(from = %current.path, to = %next.path, moved, "category subtree moved");
        }
        tx.mark_stale(EVERYTHING);
        tx.commit().await?;
        self.changes.bump();
        Ok(next)
    }

    /// Deletes a category that has no children and no products (of any status).
    #[tracing::instrument(skip_all, fields(category_id = %id))]
    pub async fn delete(&self, id: &str) -> Result<(), CategoryError> {
        let mut tx = self.db.begin().await?;
        store::lock_tree(&mut *tx, self.db.backend()).await?;
        store::by_id(&mut *tx, id).await?.ok_or(CategoryError::NotFound)?;
        if store::any_child(&mut *tx, id).await?.is_some() {
            return Err(CategoryError::NotEmpty("subcategories"));
        }
        if store::any_product(&mut *tx, id).await?.is_some() {
            return Err(CategoryError::NotEmpty("products"));
        }
        // A product created in this category since the check above (no lock covers products)
        // trips the foreign key instead.
        store::delete(&mut *tx, id).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => CategoryError::NotEmpty("products"),
            _ => CategoryError::Db(e),
        })?;
        tx.mark_stale(EVERYTHING);
        tx.commit().await?;
        self.changes.bump();
        tracing::info!("category deleted");
        Ok(())
    }
}

/// The first of `base`, `base-2`, `base-3`, … that no category uses.
async fn free_slug(tx: &mut Tx, base: &str) -> Result<String, CategoryError> {
    let taken = store::slugs_like(&mut **tx, base).await?;
    let free = (1..)
        .map(|attempt| slug::candidate(base, attempt))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_owned());
    Ok(free)
}

/// Outcome of one create attempt: retry with a fresh slug, or fail.
enum Retry {
    /// The generated slug was taken meanwhile.
    NextSlug(String),
    Fail(CategoryError),
}

impl From<CategoryError> for Retry {
    fn from(e: CategoryError) -> Self {
        Self::Fail(e)
    }
}
