//! Generated benchmark catalogues: product number `i` is always the same product (name, slug,
//! SKUs, prices, stock, category), whatever `N` and whichever database, because each product
//! draws from its own fixed-seed PRNG. `--products 100` after `--products 50` adds 51–100.
//!
//! Categories are `category-01` … `category-20`; a few are nested (see [`PARENTS`]) so the
//! listing's "category with descendants" filter has work to do. Names come from word lists in
//! which two of twelve materials contain "steel", so `q=steel` finds about one product in six.

use std::{collections::HashMap, time::Instant};

use tokio::task::JoinSet;

use super::{CategorySpec, SeedReport, category_id, create_product, ensure_categories, existing_product_slugs};
use crate::{
    AppState,
    catalog::{
        products::{
            model::{ProductOption, Status},
            service::{ProductDraft, VariantDraft},
        },
        slug,
    },
    db::Backend,
};

pub const CATEGORIES: u32 = 20;

/// (child, parent) among the generated categories: 13 and 14 under 3, 15 under 13 (three
/// levels), 16 and 17 under 5, 18 under 9. The rest are roots.
const PARENTS: &[(u32, u32)] = &[(13, 3), (14, 3), (15, 13), (16, 5), (17, 5), (18, 9)];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Modern",
    "Rustic",
    "Compact",
    "Deluxe",
    "Essential",
    "Heritage",
    "Urban",
    "Vintage",
    "Minimal",
    "Sturdy",
    "Premium",
    "Everyday",
    "Handcrafted",
    "Nordic",
    "Artisan",
];
const MATERIALS: &[&str] = &[
    "Steel",
    "Stainless Steel",
    "Oak",
    "Walnut",
    "Bamboo",
    "Brass",
    "Copper",
    "Ceramic",
    "Glass",
    "Linen",
    "Cotton",
    "Leather",
];
const NOUNS: &[&str] = &[
    "Desk Lamp",
    "Water Bottle",
    "Chair",
    "Bookshelf",
    "Kettle",
    "Cutting Board",
    "Wall Clock",
    "Tumbler",
    "Planter",
    "Serving Bowl",
    "Coat Hook",
    "Backpack",
    "Wallet",
    "Stool",
    "Frying Pan",
    "Storage Jar",
    "Candle Holder",
    "Side Table",
    "Spice Rack",
    "Notebook Cover",
];
/// Options of multi-variant products; a product with k variants uses the first k values.
const OPTIONS: &[(&str, [&str; 3])] = &[
    ("Size", ["Small", "Medium", "Large"]),
    ("Finish", ["Matte", "Gloss", "Brushed"]),
    ("Colour", ["Black", "Silver", "Red"]),
];

/// Fixed seed of the generator: changing it changes every generated catalogue.
const SEED: u64 = 0x5EED_C0FF_EE00_0001;

/// SplitMix64: tiny, fast, and good enough to pick words and prices reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// `category-07`.
pub fn category_slug(number: u32) -> String {
    format!("category-{number:02}")
}

/// Product number `index` (0-based): its draft without a category id, and its category number.
pub fn generated_product(index: u32) -> (ProductDraft, u32) {
    let mut rng = SplitMix64(SEED ^ u64::from(index).wrapping_mul(0xA24B_AED4_963E_E407));
    let number = index + 1;
    let (adjective, material, noun) = (rng.pick(ADJECTIVES), rng.pick(MATERIALS), rng.pick(NOUNS));
    let name = format!("{adjective} {material} {noun}");
    let slug = format!("{}-{number:05}", slug::from_name(&name));
    let category = 1 + rng.below(CATEGORIES as usize) as u32;
    // ₹99 … ₹19,999, ending in 99 as shop prices do; in paise.
    let rupees = 99 + 100 * rng.below(200) as i64;
    let count = 1 + rng.below(3);
    let (option_name, values) = OPTIONS[rng.below(OPTIONS.len())];
    let mut variants = Vec::with_capacity(count);
    for (j, value) in values.iter().take(count).enumerate() {
        let price = (rupees + 200 * j as i64) * 100;
        let stock = if rng.below(10) == 0 { 0 } else { 1 + rng.below(200) as i64 };
        // One in seven is on sale: compare-at a quarter above the price, in whole rupees.
        let compare_at_price = (rng.below(7) == 0).then_some(price * 5 / 4 / 100 * 100);
        let (sku, options) = if count == 1 {
            (format!("GEN-{number:06}"), Vec::new())
        } else {
            (format!("GEN-{number:06}-{}", j + 1), vec![(option_name.to_owned(), (*value).to_owned())])
        };
        variants.push(VariantDraft { sku, price, compare_at_price, stock, options });
    }
    let options = if count == 1 {
        Vec::new()
    } else {
        vec![ProductOption {
            name: option_name.to_owned(),
            values: values.iter().take(count).map(|v| (*v).to_owned()).collect(),
        }]
    };
    let draft = ProductDraft {
        description: format!(
            "{adjective} {} in {}. Benchmark catalogue item {number}.",
            noun.to_lowercase(),
            material.to_lowercase()
        ),
        images: vec![super::placeholder_image(&slug, name.clone())],
        name,
        slug: Some(slug),
        status: Status::Active,
        category_id: None,
        options,
        variants,
    };
    (draft, category)
}

/// How many products are created at once. SQLite has one writer, so more would only queue;
/// PostgreSQL overlaps the round trips and commits of several connections.
fn parallelism(state: &AppState) -> usize {
    match state.db.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => (state.config.database.max_connections as usize).clamp(1, 8),
    }
}

/// Creates products `0..n` that do not exist yet; `stock`, when given, replaces every variant's
/// generated stock (after generation, so names, prices and SKUs stay those of product `i`).
pub async fn seed(state: &AppState, n: u32, stock: Option<i64>) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut report = SeedReport::default();
    let slugs: Vec<String> = (1..=CATEGORIES).map(category_slug).collect();
    let names: Vec<String> = (1..=CATEGORIES).map(|n| format!("Category {n:02}")).collect();
    let parents: HashMap<u32, String> = PARENTS.iter().map(|(c, p)| (*c, category_slug(*p))).collect();
    let specs: Vec<CategorySpec<'_>> = (1..=CATEGORIES)
        .map(|number| CategorySpec {
            slug: &slugs[number as usize - 1],
            name: &names[number as usize - 1],
            parent: parents.get(&number).map(String::as_str),
            description: "Generated for benchmarks.",
        })
        .collect();
    ensure_categories(&state.categories, &specs, &mut report).await?;
    let mut category_ids = Vec::with_capacity(CATEGORIES as usize);
    for slug in &slugs {
        category_ids.push(category_id(&state.categories, slug).await?);
    }

    let mut in_flight = JoinSet::new();
    let limit = parallelism(state);
    // In slices, so the existence check stays one query per 500 slugs and memory stays flat.
    for start in (0..n).step_by(1000) {
        let end = n.min(start + 1000);
        let drafts: Vec<ProductDraft> = (start..end)
            .map(|i| {
                let (mut draft, category) = generated_product(i);
                draft.category_id = Some(category_ids[category as usize - 1].clone());
                if let Some(stock) = stock {
                    draft.variants.iter_mut().for_each(|v| v.stock = stock);
                }
                draft
            })
            .collect();
        let wanted: Vec<String> = drafts.iter().filter_map(|d| d.slug.clone()).collect();
        let existing = existing_product_slugs(state, &wanted).await?;
        for draft in drafts {
            if draft.slug.as_ref().is_some_and(|s| existing.contains(s)) {
                report.products_existing += 1;
                continue;
            }
            while in_flight.len() >= limit {
                tally(&mut report, in_flight.join_next().await)?;
            }
            let state = state.clone();
            in_flight.spawn(async move { create_product(&state, draft).await });
        }
        tracing::info!(done = end, total = n, elapsed_ms = started.elapsed().as_millis() as u64, "seeding products");
    }
    while let Some(done) = in_flight.join_next().await {
        tally(&mut report, Some(done))?;
    }
    Ok(report)
}

fn tally(
    report: &mut SeedReport,
    done: Option<Result<anyhow::Result<bool>, tokio::task::JoinError>>,
) -> anyhow::Result<()> {
    if let Some(result) = done {
        if result?? {
            report.products_created += 1;
        } else {
            report.products_existing += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_is_always_the_same_product() {
        let (a, ca) = generated_product(41);
        let (b, cb) = generated_product(41);
        assert_eq!((a.slug.clone(), ca), (b.slug.clone(), cb));
        assert_eq!(a.name, b.name);
        let prices =
            |d: &ProductDraft| d.variants.iter().map(|v| (v.sku.clone(), v.price, v.stock)).collect::<Vec<_>>();
        assert_eq!(prices(&a), prices(&b));
        assert!(a.slug.as_deref().unwrap().ends_with("-00042"));
    }

    #[test]
    fn products_are_varied_and_valid() {
        let products: Vec<_> = (0..2000).map(generated_product).collect();
        let steel = products.iter().filter(|(d, _)| d.name.to_lowercase().contains("steel")).count();
        assert!((200..=500).contains(&steel), "{steel} of 2000 mention steel");
        let in_03 = products.iter().filter(|(_, c)| *c == 3).count();
        assert!(in_03 > 50, "{in_03} in category 3");
        for (draft, category) in &products {
            assert!((1..=CATEGORIES).contains(category));
            assert!((1..=3).contains(&draft.variants.len()));
            assert!(slug::parse(draft.slug.as_deref().unwrap()).is_ok());
            for v in &draft.variants {
                assert!(v.price >= 9900 && v.price % 100 == 0);
                assert!(v.compare_at_price.is_none_or(|c| c > v.price));
            }
        }
        let counts: Vec<usize> =
            (1..=3).map(|k| products.iter().filter(|(d, _)| d.variants.len() == k).count()).collect();
        assert!(counts.iter().all(|c| *c > 500), "{counts:?}");
    }
}
