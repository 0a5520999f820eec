//! Request and response shapes of the product API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};

use super::{
    model::{Image, ProductCard, ProductOption, Status, Variant},
    service::{ProductDetail, VariantDraft},
};
use crate::{
    clock::from_millis,
    http::{
        nullable::{Clearable, Nullable},
        text::{MultilineText, Text},
    },
};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ProductStatus", rename_all = "snake_case")]
pub enum StatusDto {
    Draft,
    Active,
    Archived,
}

impl From<StatusDto> for Status {
    fn from(s: StatusDto) -> Self {
        match s {
            StatusDto::Draft => Status::Draft,
            StatusDto::Active => Status::Active,
            StatusDto::Archived => Status::Archived,
        }
    }
}

impl From<Status> for StatusDto {
    fn from(s: Status) -> Self {
        match s {
            Status::Draft => StatusDto::Draft,
            Status::Active => StatusDto::Active,
            Status::Archived => StatusDto::Archived,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ProductSort", rename_all = "snake_case")]
pub enum SortDto {
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
    Relevance,
}

/// An image to store with a product (`alt` defaults to empty).
#[derive(Object, Debug, Clone)]
#[oai(rename = "ImageInput")]
pub struct ImageDto {
    /// http(s) URL.
    pub url: Text,
    #[oai(default)]
    pub alt: Text,
}

impl From<ImageDto> for Image {
    fn from(i: ImageDto) -> Self {
        Image { url: i.url.into(), alt: i.alt.into() }
    }
}

/// An image as the API shows it: both fields always present (`alt` may be empty).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Image")]
pub struct ImageView {
    pub url: String,
    pub alt: String,
}

impl From<Image> for ImageView {
    fn from(i: Image) -> Self {
        ImageView { url: i.url, alt: i.alt }
    }
}

/// An option such as `{"name": "Size", "values": ["S", "M", "L"]}`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "ProductOption")]
pub struct OptionDto {
    pub name: Text,
    pub values: Vec<Text>,
}

impl From<OptionDto> for ProductOption {
    fn from(o: OptionDto) -> Self {
        ProductOption { name: o.name.into(), values: o.values.into_iter().map(Into::into).collect() }
    }
}

impl From<ProductOption> for OptionDto {
    fn from(o: ProductOption) -> Self {
        OptionDto { name: Text(o.name), values: o.values.into_iter().map(Text).collect() }
    }
}

/// One option value of a variant.
#[derive(Object, Debug, Clone)]
pub struct OptionValue {
    pub name: String,
    pub value: String,
}

/// A product card (lists).
#[derive(Object, Debug, Clone)]
#[oai(rename = "ProductCard", example)]
pub struct ProductCardDto {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Price of the cheapest variant, minor units.
    pub min_price: i64,
    pub max_price: i64,
    pub currency: String,
    /// The first image; null when the product has none.
    pub image: Nullable<ImageView>,
    /// At least one variant has stock.
    pub in_stock: bool,
    /// The variant to add to a cart from a list; null when no variant is live.
    pub default_variant_id: Nullable<String>,
}

impl From<ProductCard> for ProductCardDto {
    fn from(c: ProductCard) -> Self {
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            min_price: c.min_price,
            max_price: c.max_price,
            currency: c.currency,
            image: c.image.map(Into::into).into(),
            in_stock: c.in_stock,
            default_variant_id: c.default_variant_id.into(),
        }
    }
}

#[derive(Object, Clone)]
pub struct ProductCardList {
    pub items: Vec<ProductCardDto>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Nullable<String>,
}

/// A sellable variant as the storefront sees it.
#[derive(Object, Debug)]
#[oai(rename = "Variant")]
pub struct VariantDto {
    pub id: String,
    pub sku: String,
    /// Option values joined by ` / ` (`M / Red`); empty for a product without options.
    pub title: String,
    pub price: i64,
    /// The "was" price, minor units; null when there is none.
    pub compare_at_price: Nullable<i64>,
    pub currency: String,
    pub in_stock: bool,
    pub options: Vec<OptionValue>,
}

/// A variant with its stock (staff).
#[derive(Object, Debug)]
#[oai(rename = "AdminVariant")]
pub struct AdminVariantDto {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub price: i64,
    /// The "was" price, minor units; null when there is none.
    pub compare_at_price: Nullable<i64>,
    pub currency: String,
    pub stock: i64,
    pub in_stock: bool,
    pub options: Vec<OptionValue>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn option_values(option_names: &[String], v: &Variant) -> Vec<OptionValue> {
    option_names
        .iter()
        .zip(&v.option_values)
        .map(|(n, value)| OptionValue { name: n.clone(), value: value.clone() })
        .collect()
}

pub fn admin_variant(option_names: &[String], currency: &str, v: Variant) -> AdminVariantDto {
    AdminVariantDto {
        options: option_values(option_names, &v),
        in_stock: v.stock > 0,
        id: v.id,
        product_id: v.product_id,
        sku: v.sku,
        title: v.title,
        price: v.price,
        compare_at_price: v.compare_at_price.into(),
        currency: currency.to_owned(),
        stock: v.stock,
        created_at: from_millis(v.created_at),
        updated_at: from_millis(v.updated_at),
    }
}

/// A category reference on a product page.
#[derive(Object, Debug)]
pub struct CategoryRef {
    pub id: String,
    pub slug: String,
    pub name: String,
}

#[derive(Object, Debug)]
pub struct ProductCategory {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Root first.
    pub ancestors: Vec<CategoryRef>,
}

fn category(chain: Vec<(String, String, String)>) -> Option<ProductCategory> {
    let mut refs: Vec<CategoryRef> = chain.into_iter().map(|(id, slug, name)| CategoryRef { id, slug, name }).collect();
    let own = refs.pop()?;
    Some(ProductCategory { id: own.id, slug: own.slug, name: own.name, ancestors: refs })
}

/// A product page.
#[derive(Object, Debug)]
#[oai(rename = "Product", example)]
pub struct ProductDto {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub currency: String,
    /// The cheapest live variant's price; null without live variants.
    pub min_price: Nullable<i64>,
    pub max_price: Nullable<i64>,
    pub in_stock: bool,
    pub default_variant_id: Nullable<String>,
    pub images: Vec<ImageView>,
    pub options: Vec<OptionDto>,
    pub variants: Vec<VariantDto>,
    /// Null for a product outside the category tree.
    pub category: Nullable<ProductCategory>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ProductDetail> for ProductDto {
    fn from(d: ProductDetail) -> Self {
        let p = d.product;
        let names: Vec<String> = p.options.iter().map(|o| o.name.clone()).collect();
        let variants = d
            .variants
            .into_iter()
            .map(|v| VariantDto {
                options: option_values(&names, &v),
                in_stock: v.stock > 0,
                id: v.id,
                sku: v.sku,
                title: v.title,
                price: v.price,
                compare_at_price: v.compare_at_price.into(),
                currency: p.currency.clone(),
            })
            .collect::<Vec<_>>();
        Self {
            in_stock: variants.iter().any(|v| v.in_stock),
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            currency: p.currency,
            min_price: p.min_price.into(),
            max_price: p.max_price.into(),
            default_variant_id: p.default_variant_id.into(),
            images: p.images.into_iter().map(Into::into).collect(),
            options: p.options.into_iter().map(Into::into).collect(),
            variants,
            category: category(d.category_chain).into(),
            created_at: from_millis(p.created_at),
            updated_at: from_millis(p.updated_at),
        }
    }
}

/// A product with everything staff can edit, including drafts, stock and status.
#[derive(Object, Debug)]
#[oai(rename = "AdminProduct")]
pub struct AdminProductDto {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub status: StatusDto,
    pub category_id: Nullable<String>,
    pub currency: String,
    pub min_price: Nullable<i64>,
    pub max_price: Nullable<i64>,
    pub default_variant_id: Nullable<String>,
    pub images: Vec<ImageView>,
    pub options: Vec<OptionDto>,
    pub variants: Vec<AdminVariantDto>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ProductDetail> for AdminProductDto {
    fn from(d: ProductDetail) -> Self {
        let p = d.product;
        let names: Vec<String> = p.options.iter().map(|o| o.name.clone()).collect();
        Self {
            variants: d.variants.into_iter().map(|v| admin_variant(&names, &p.currency, v)).collect(),
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            status: p.status.into(),
            category_id: p.category_id.into(),
            currency: p.currency,
            min_price: p.min_price.into(),
            max_price: p.max_price.into(),
            default_variant_id: p.default_variant_id.into(),
            images: p.images.into_iter().map(Into::into).collect(),
            options: p.options.into_iter().map(Into::into).collect(),
            created_at: from_millis(p.created_at),
            updated_at: from_millis(p.updated_at),
        }
    }
}

/// A product in the staff list.
#[derive(Object, Debug)]
pub struct AdminProductSummary {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub status: StatusDto,
    pub category_id: Nullable<String>,
    pub currency: String,
    pub min_price: Nullable<i64>,
    pub max_price: Nullable<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Object)]
pub struct AdminProductList {
    pub items: Vec<AdminProductSummary>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Nullable<String>,
}

/// A variant to create: SKU, price in minor units, stock, and one value per product option
/// (`{"Size": "M", "Colour": "Red"}`; omit for a product without options).
#[derive(Object, Debug, Clone)]
pub struct VariantCreate {
    pub sku: Text,
    pub price: i64,
    pub compare_at_price: Option<i64>,
    #[oai(default)]
    pub stock: i64,
    #[oai(default)]
    pub options: BTreeMap<String, Text>,
}

impl From<VariantCreate> for VariantDraft {
    fn from(v: VariantCreate) -> Self {
        VariantDraft {
            sku: v.sku.into(),
            price: v.price,
            compare_at_price: v.compare_at_price,
            stock: v.stock,
            options: v.options.into_iter().map(|(name, value)| (name, value.into())).collect(),
        }
    }
}

/// A new product. Either `options` with `variants`, or, for a simple product, `price`, `sku`
/// and `stock` (which create its single default variant).
#[derive(Object, Debug)]
pub struct ProductCreate {
    pub name: Text,
    /// Generated from the name when omitted.
    pub slug: Option<Text>,
    #[oai(default)]
    pub description: MultilineText,
    /// Defaults to `active`.
    pub status: Option<StatusDto>,
    pub category_id: Option<Text>,
    #[oai(default)]
    pub images: Vec<ImageDto>,
    #[oai(default)]
    pub options: Vec<OptionDto>,
    #[oai(default)]
    pub variants: Vec<VariantCreate>,
    pub price: Option<i64>,
    pub compare_at_price: Option<i64>,
    pub sku: Option<Text>,
    pub stock: Option<i64>,
}

/// Product changes; absent fields stay, `category_id: null` detaches the category.
#[derive(Object, Debug)]
pub struct ProductPatch {
    pub name: Option<Text>,
    pub slug: Option<Text>,
    pub description: Option<MultilineText>,
    pub status: Option<StatusDto>,
    pub category_id: Clearable<Text>,
    pub images: Option<Vec<ImageDto>>,
    /// Replaces the options; every live variant must still match them.
    pub options: Option<Vec<OptionDto>>,
}

/// Variant changes. `stock` sets the stock; `stock_adjustment` adds to it (negative to take),
/// atomically, never below zero (409 `insufficient_stock`).
#[derive(Object, Debug)]
pub struct VariantPatch {
    pub sku: Option<Text>,
    pub price: Option<i64>,
    pub compare_at_price: Clearable<i64>,
    pub stock: Option<i64>,
    pub stock_adjustment: Option<i64>,
}
