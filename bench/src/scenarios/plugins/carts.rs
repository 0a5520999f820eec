//! The carts the suite prices: generated, deterministic, shaped like the demo shop's orders.

use anyhow::Context;
use commerce_engine::config::StoreConfig;
use commerce_pipeline::Cart;
use serde_json::json;

/// Categories lines cycle through: (slug, ancestors nearest first, base unit price in paise).
/// `books` and everything under it is zero-rated by the demo's tax settings, the rest pays 18 %.
const CATALOGUE: [(&str, &[&str], i64); 6] = [
    ("t-shirts", &["clothing"], 49_900),
    ("fiction", &["books"], 30_000),
    ("mugs", &["kitchen"], 24_900),
    ("books", &[], 45_000),
    ("headphones", &["audio", "electronics"], 199_900),
    ("crime", &["fiction", "books"], 35_000),
];

/// Quantities lines cycle through: 5 and 7 reach the demo's 5 % volume tier, 10 and 12 its 10 %
/// tier, the rest none. Eight against six categories, so every category meets several tiers.
const QUANTITIES: [u32; 8] = [1, 2, 5, 1, 12, 3, 7, 10];

/// Pricing time: 2026-01-01, fixed so that runs are reproducible.
const NOW_MS: i64 = 1_767_225_600_000;

/// A cart of `lines` lines for `store`, with coupon WELCOME10 and shipping to Karnataka.
pub fn generate(lines: usize, store: &StoreConfig) -> anyhow::Result<Cart> {
    let lines: Vec<_> = (0..lines)
        .map(|i| {
            let (category, ancestors, base_price) = CATALOGUE[i % CATALOGUE.len()];
            // Up to ₹99 above the base price, so no two neighbouring lines cost the same.
            let unit_price = base_price + (i as i64 * 37 % 100) * 100;
            json!({
                "line_id": format!("l{:03}", i + 1),
                "variant_id": format!("v-{i}"),
                "sku": format!("SKU-{i:04}"),
                "product_id": format!("p-{}", i / 2),
                "category_slug": category,
                "category_ancestors": ancestors,
                "quantity": QUANTITIES[i % QUANTITIES.len()],
                "unit_price": unit_price,
            })
        })
        .collect();
    let cart = json!({
        "store": {
            "currency": store.currency,
            "origin_country": store.origin_country,
            "origin_region": store.origin_region,
            "prices_include_tax": store.prices_include_tax,
        },
        "lines": lines,
        "coupon_codes": ["WELCOME10"],
        "customer_id": "c-bench",
        "guest": false,
        "earlier_orders": 0,
        "redemptions": [{ "code": "WELCOME10", "total": 41, "by_customer": 0 }],
        "shipping": { "country": "IN", "region": "KA", "postal_code": "560001" },
        "now": NOW_MS,
    });
    Cart::from_json(&cart.to_string()).context("the generated cart is invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_store() -> StoreConfig {
        StoreConfig {
            currency: "INR".parse().expect("INR is a currency code"),
            origin_country: "IN".into(),
            origin_region: Some("KA".into()),
            prices_include_tax: false,
            order_url: "http://localhost/orders/{id}".into(),
        }
    }

    #[test]
    fn carts_are_deterministic_and_reach_every_tier() -> anyhow::Result<()> {
        let cart = generate(10, &demo_store())?;
        assert_eq!(cart, generate(10, &demo_store())?);
        assert_eq!(cart.lines.len(), 10);
        assert!(cart.lines.iter().any(|l| l.quantity >= 10));
        assert!(cart.lines.iter().any(|l| (5..10).contains(&l.quantity)));
        assert!(cart.lines.iter().any(|l| l.in_category("books")));
        assert_eq!(cart.coupon_codes, ["WELCOME10"]);
        assert!(generate(0, &demo_store())?.lines.is_empty());
        Ok(())
    }
}
