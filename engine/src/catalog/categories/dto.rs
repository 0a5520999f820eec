//! Request and response shapes of the category API (kept apart from domain types).

use chrono::{DateTime, Utc};
use poem_openapi::Object;

use super::model::{Category, CategoryDetail, CategoryDraft, CategoryNode};
use crate::clock::from_millis;
use crate::http::{
    nullable::{Clearable, Nullable},
    text::{MultilineText, Text},
};

/// A category of the catalog tree.
#[derive(Object, Debug)]
#[oai(rename = "Category")]
pub struct CategoryView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Null for a root category.
    pub parent_id: Nullable<String>,
    /// Order among siblings, ascending (ties by name, then id).
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Category> for CategoryView {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            description: c.description,
            parent_id: c.parent_id.into(),
            position: c.position,
            created_at: from_millis(c.created_at),
            updated_at: from_millis(c.updated_at),
        }
    }
}

/// A category with all its descendants nested in `children`, siblings in display order.
#[derive(Object, Debug)]
pub struct CategoryTreeNode {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent_id: Nullable<String>,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub children: Vec<CategoryTreeNode>,
}

impl From<CategoryNode> for CategoryTreeNode {
    fn from(n: CategoryNode) -> Self {
        let c = n.category;
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            description: c.description,
            parent_id: c.parent_id.into(),
            position: c.position,
            created_at: from_millis(c.created_at),
            updated_at: from_millis(c.updated_at),
            children: n.children.into_iter().map(Into::into).collect(),
        }
    }
}

/// The whole tree: the root categories, each with nested `children`.
#[derive(Object, Debug)]
pub struct CategoryTree {
    pub items: Vec<CategoryTreeNode>,
}

/// One category with its direct `children` (display order) and its `ancestors` (root first).
#[derive(Object, Debug)]
pub struct CategoryDetailView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent_id: Nullable<String>,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub children: Vec<CategoryView>,
    pub ancestors: Vec<CategoryView>,
}

impl From<CategoryDetail> for CategoryDetailView {
    fn from(d: CategoryDetail) -> Self {
        let c = d.category;
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            description: c.description,
            parent_id: c.parent_id.into(),
            position: c.position,
            created_at: from_millis(c.created_at),
            updated_at: from_millis(c.updated_at),
            children: d.children.into_iter().map(Into::into).collect(),
            ancestors: d.ancestors.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Object, Debug)]
pub struct CategoryList {
    pub items: Vec<CategoryView>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Nullable<String>,
}

#[derive(Object, Debug)]
pub struct CategoryCreate {
    /// 1–100 characters.
    pub name: Text,
    /// Lower-case `a-z0-9` words joined by single `-`. Generated from the name when omitted
    /// (with `-2`, `-3`, … when taken); a given slug that is taken is 409 `slug_taken`.
    pub slug: Option<Text>,
    /// Null or omitted: a root category.
    pub parent_id: Option<Text>,
    /// Order among siblings; default: after the last sibling.
    pub position: Option<i64>,
    /// At most 5000 characters.
    pub description: Option<MultilineText>,
}

impl From<CategoryCreate> for CategoryDraft {
    fn from(c: CategoryCreate) -> Self {
        Self {
            name: Some(c.name.into()),
            slug: c.slug.map(Into::into),
            description: c.description.map(Into::into),
            position: c.position,
            parent_id: Some(c.parent_id.map(Into::into)),
        }
    }
}

/// Changes to a category; absent fields stay as they are. `parent_id` moves the category with
/// its subtree (`null`: to the root); under itself or a descendant is 409 `category_cycle`.
/// A moved category without `position` goes after its new last sibling.
#[derive(Object, Debug)]
pub struct CategoryPatch {
    pub name: Option<Text>,
    pub slug: Option<Text>,
    pub description: Option<MultilineText>,
    pub position: Option<i64>,
    pub parent_id: Clearable<Text>,
}

impl From<CategoryPatch> for CategoryDraft {
    fn from(p: CategoryPatch) -> Self {
        let parent_id = p.parent_id.into_patch().map(|id| id.map(Into::into));
        Self {
            name: p.name.map(Into::into),
            slug: p.slug.map(Into::into),
            description: p.description.map(Into::into),
            position: p.position,
            parent_id,
        }
    }
}
