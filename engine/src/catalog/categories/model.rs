//! Category domain types: the stored category, the tree built from it, and the checked fields a
//! create or update carries ("parse, don't validate": the service accepts only these).

use std::{cmp::Ordering, collections::HashMap};

use crate::{catalog::slug, validation::Problems};

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 5000;
/// Positions clients may set; generated ones ("after the last sibling") may grow past it.
pub const POSITION_MAX: i64 = i32::MAX as i64;

/// A stored category. `path` is the materialised chain of ids from the root including itself,
/// `/cat_A/cat_B/` for B under A.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
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

impl Category {
    /// Ids of the ancestors, root first (from the path, without this category).
    pub fn ancestor_ids(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty() && *s != self.id).collect()
    }

    /// Whether `other` is this category or one of its descendants.
    pub fn contains(&self, other: &Category) -> bool {
        other.path.starts_with(&self.path)
    }

    /// The path of a child with id `id` under `parent` (`None`: a root).
    pub fn path_under(parent: Option<&Category>, id: &str) -> String {
        format!("{}{id}/", parent.map_or("/", |p| p.path.as_str()))
    }
}

/// Display order of siblings: `position`, then name (case-folded), then id.
pub fn display_order(a: &Category, b: &Category) -> Ordering {
    a.position
        .cmp(&b.position)
        .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        .then_with(|| a.id.cmp(&b.id))
}

/// A category with its descendants, siblings in display order.
#[derive(Debug, Clone)]
pub struct CategoryNode {
    pub category: Category,
    pub children: Vec<CategoryNode>,
}

/// Assembles the forest from a flat list of every category (one query, no recursion in SQL).
pub fn build_tree(all: Vec<Category>) -> Vec<CategoryNode> {
    let mut by_parent: HashMap<Option<String>, Vec<Category>> = HashMap::new();
    for category in all {
        by_parent.entry(category.parent_id.clone()).or_default().push(category);
    }
    fn nodes(parent: Option<String>, by_parent: &mut HashMap<Option<String>, Vec<Category>>) -> Vec<CategoryNode> {
        let mut level = by_parent.remove(&parent).unwrap_or_default();
        level.sort_by(display_order);
        level
            .into_iter()
            .map(|category| {
                let children = nodes(Some(category.id.clone()), by_parent);
                CategoryNode { category, children }
            })
            .collect()
    }
    nodes(None, &mut by_parent)
}

/// One category with its direct children and its ancestors (root first).
#[derive(Debug, Clone)]
pub struct CategoryDetail {
    pub category: Category,
    pub children: Vec<Category>,
    pub ancestors: Vec<Category>,
}

/// Fields as a client sent them, for create (`required`) or update (absent = keep).
/// `parent_id`: `None` keep, `Some(None)` root, `Some(Some(id))` under `id`.
#[derive(Debug, Default)]
pub struct CategoryDraft {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub parent_id: Option<Option<String>>,
}

/// Checked fields: names trimmed and within limits, slug well-formed, position in range.
/// Whether the parent exists is checked by the service, in the transaction.
#[derive(Debug, Default)]
pub struct CategoryFields {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub parent_id: Option<Option<String>>,
}

impl CategoryDraft {
    /// Checks every field, collecting all problems; `required` makes `name` mandatory.
    pub fn parse(self, required: bool, problems: &mut Problems) -> CategoryFields {
        let name = match self.name {
            Some(raw) => Some(problems.text("name", &raw, true, NAME_MAX)),
            None if required => {
                problems.add("name", "is required");
                None
            }
            None => None,
        };
        let slug = self.slug.map(|raw| match slug::parse(raw.trim()) {
            Ok(s) => s,
            Err(message) => {
                problems.add("slug", message);
                raw
            }
        });
        let description = self.description.map(|raw| problems.text_block("description", &raw, false, DESCRIPTION_MAX));
        if let Some(position) = self.position.filter(|p| !(0..=POSITION_MAX).contains(p)) {
            problems.add("position", format!("must be between 0 and {POSITION_MAX}, got {position}"));
        }
        let parent_id = self.parent_id.map(|p| p.map(|id| id.trim().to_owned()));
        CategoryFields { name, slug, description, position: self.position, parent_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: &str, parent: Option<&str>, path: &str, position: i64, name: &str) -> Category {
        Category {
            id: id.into(),
            parent_id: parent.map(Into::into),
            slug: id.to_lowercase(),
            name: name.into(),
            description: String::new(),
            position,
            path: path.into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_tree_nests_children_in_display_order() {
        let all = vec![
            cat("B", None, "/B/", 1, "Books"),
            cat("A", None, "/A/", 0, "Apparel"),
            cat("J", Some("A"), "/A/J/", 1, "Jeans"),
            cat("T", Some("A"), "/A/T/", 0, "T-shirts"),
            cat("F", Some("B"), "/B/F/", 0, "fiction"),
            cat("N", Some("B"), "/B/N/", 0, "Non-fiction"),
        ];
        let tree = build_tree(all);
        let names = |nodes: &[CategoryNode]| nodes.iter().map(|n| n.category.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&tree), ["Apparel", "Books"]);
        assert_eq!(names(&tree[0].children), ["T-shirts", "Jeans"]);
        assert_eq!(names(&tree[1].children), ["fiction", "Non-fiction"]);
    }

    #[test]
    fn ancestors_and_containment_come_from_the_path() {
        let c = cat("C", Some("B"), "/A/B/C/", 0, "c");
        assert_eq!(c.ancestor_ids(), ["A", "B"]);
        let a = cat("A", None, "/A/", 0, "a");
        assert!(a.contains(&c));
        assert!(c.contains(&c));
        assert!(!c.contains(&a));
        assert_eq!(Category::path_under(Some(&c), "D"), "/A/B/C/D/");
        assert_eq!(Category::path_under(None, "D"), "/D/");
    }

    #[test]
    fn a_draft_reports_every_bad_field() {
        let draft = CategoryDraft {
            name: Some("  ".into()),
            slug: Some("Bad Slug".into()),
            description: Some("x".repeat(DESCRIPTION_MAX + 1)),
            position: Some(-1),
            parent_id: None,
        };
        let mut problems = Problems::default();
        draft.parse(true, &mut problems);
        let fields: Vec<_> = problems.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "slug", "description", "position"]);
    }

    #[test]
    fn descriptions_may_span_lines() {
        let draft =
            CategoryDraft { name: Some("Books".into()), description: Some("a\nb\tc".into()), ..Default::default() };
        let mut problems = Problems::default();
        let fields = draft.parse(true, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(fields.name.as_deref(), Some("Books"));
    }
}
