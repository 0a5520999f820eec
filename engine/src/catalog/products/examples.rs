//! Example payloads for the OpenAPI document (`#[oai(example)]`), so `/docs` and generated
//! clients show real-looking product cards and pages. Kept apart from the DTOs they describe.

use chrono::DateTime;
use poem_openapi::types::Example;

use super::dto::{
    CategoryRef, ImageView, OptionDto, OptionValue, ProductCardDto, ProductCategory, ProductDto, VariantDto,
};

impl Example for ProductCardDto {
    fn example() -> Self {
        Self {
            id: "prod_01JD3ZQ5V8G6N2W4X7Y9A1B3C5".into(),
            slug: "linen-shirt".into(),
            name: "Linen shirt".into(),
            min_price: 149_900,
            max_price: 169_900,
            currency: "INR".into(),
            image: Some(ImageView { url: "https://cdn.example.com/linen-shirt.jpg".into(), alt: "Linen shirt".into() })
                .into(),
            in_stock: true,
            default_variant_id: Some("var_01JD3ZQ5V9K2M4P6R8T0V2X4Z6".to_owned()).into(),
        }
    }
}

impl Example for ProductDto {
    fn example() -> Self {
        let card = ProductCardDto::example();
        let at = DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z").map(|t| t.to_utc()).unwrap_or_default();
        let variant = |id: &str, size: &str, price, in_stock| VariantDto {
            id: id.to_owned(),
            sku: format!("LS-{size}"),
            title: size.to_owned(),
            price,
            compare_at_price: Some(189_900).into(),
            currency: "INR".into(),
            in_stock,
            options: vec![OptionValue { name: "Size".into(), value: size.into() }],
        };
        Self {
            id: card.id,
            slug: card.slug,
            name: card.name,
            description: "Breathable linen, relaxed fit.".into(),
            currency: card.currency,
            min_price: Some(149_900).into(),
            max_price: Some(169_900).into(),
            in_stock: true,
            default_variant_id: card.default_variant_id,
            images: card.image.0.into_iter().collect(),
            options: vec![OptionDto { name: "Size".into(), values: vec!["M".into(), "XL".into()] }],
            variants: vec![
                variant("var_01JD3ZQ5V9K2M4P6R8T0V2X4Z6", "M", 149_900, true),
                variant("var_01JD3ZQ5VAB3C5D7E9F1G3H5J7", "XL", 169_900, false),
            ],
            category: Some(ProductCategory {
                id: "cat_01JD3ZP2W4Y6A8C0E2G4J6L8N0".into(),
                slug: "shirts".into(),
                name: "Shirts".into(),
                ancestors: vec![CategoryRef {
                    id: "cat_01JD3ZP1T3V5X7Z9B1D3F5H7K9".into(),
                    slug: "clothing".into(),
                    name: "Clothing".into(),
                }],
            })
            .into(),
            created_at: at,
            updated_at: at,
        }
    }
}
