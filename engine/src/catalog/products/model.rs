//! Product domain types and the rules that make a product sellable.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Active,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "draft" => Some(Status::Draft),
            "active" => Some(Status::Active),
            "archived" => Some(Status::Archived),
            _ => None,
        }
    }
}

/// The stored form; an unknown value is a corrupted row (see `store::ProductRow`).
impl TryFrom<String> for Status {
    type Error = crate::db::UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(crate::db::UnknownValue { what: "product status", value })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    #[serde(default)]
    pub alt: String,
}

/// An option such as Size with its values in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub status: Status,
    pub category_id: Option<String>,
    pub images: Vec<Image>,
    pub options: Vec<ProductOption>,
    pub currency: String,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub default_variant_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    /// One value per product option, in the product's option order.
    pub option_values: Vec<String>,
    pub price: i64,
    pub compare_at_price: Option<i64>,
    pub stock: i64,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A product card for lists (API.md's shape), built by one query per page.
#[derive(Debug, Clone)]
pub struct ProductCard {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub min_price: i64,
    pub max_price: i64,
    pub currency: String,
    pub image: Option<Image>,
    pub in_stock: bool,
    pub default_variant_id: Option<String>,
}

/// Resolves a variant's option values against the product's options: every option needs exactly
/// one value from its list (matched case-insensitively, stored in the option's own spelling),
/// and no unknown option names. Returns the values in option order.
pub fn resolve_option_values(options: &[ProductOption], given: &[(String, String)]) -> Result<Vec<String>, String> {
    for (name, _) in given {
        if !options.iter().any(|o| o.name.eq_ignore_ascii_case(name.trim())) {
            return Err(format!("unknown option `{name}`"));
        }
    }
    let mut values = Vec::with_capacity(options.len());
    for option in options {
        let mut matches = given.iter().filter(|(name, _)| option.name.eq_ignore_ascii_case(name.trim()));
        let Some((_, value)) = matches.next() else {
            return Err(format!("a value for option `{}` is required", option.name));
        };
        if matches.next().is_some() {
            return Err(format!("option `{}` is given twice", option.name));
        }
        let Some(canonical) = option.values.iter().find(|v| v.to_lowercase() == value.trim().to_lowercase()) else {
            return Err(format!("`{value}` is not a value of option `{}` ({})", option.name, option.values.join(", ")));
        };
        values.push(canonical.clone());
    }
    Ok(values)
}

/// `M / Red`: the variant's title.
pub fn variant_title(values: &[String]) -> String {
    values.join(" / ")
}

/// Case-folded values joined by a separator no value contains: the uniqueness key of a
/// combination within a product.
pub fn combination_key(values: &[String]) -> String {
    values.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>().join("\u{1f}")
}

/// The key the `name` sort uses: case-folded, trimmed.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shirt_options() -> Vec<ProductOption> {
        vec![
            ProductOption { name: "Size".into(), values: vec!["S".into(), "M".into()] },
            ProductOption { name: "Colour".into(), values: vec!["Red".into(), "Blue".into()] },
        ]
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn option_values_resolve_in_option_order_and_canonical_case() {
        let values = resolve_option_values(&shirt_options(), &given(&[("colour", "red"), ("SIZE", "m")])).unwrap();
        assert_eq!(values, vec!["M".to_owned(), "Red".to_owned()]);
        assert_eq!(variant_title(&values), "M / Red");
        assert_eq!(combination_key(&values), "m\u{1f}red");
    }

    #[test]
    fn option_values_must_match_the_products_options() {
        let options = shirt_options();
        assert!(resolve_option_values(&options, &given(&[("Size", "M")])).is_err());
        assert!(resolve_option_values(&options, &given(&[("Size", "XL"), ("Colour", "Red")])).is_err());
        assert!(resolve_option_values(&options, &given(&[("Size", "M"), ("Colour", "Red"), ("Fit", "Slim")])).is_err());
        assert_eq!(resolve_option_values(&[], &[]).unwrap(), Vec::<String>::new());
    }
}
