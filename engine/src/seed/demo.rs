//! The demo shop: apparel (t-shirts and jeans with sizes and colours), books (simple products)
//! and a little homeware. Prices are INR in paise (`49900` is ₹499.00). Stock levels are fixed
//! per variant, with a few sold-out variants and two sold-out products, so storefront developers
//! see every state a product card and a product page can be in.

use super::{CategorySpec, SeedReport, category_id, create_product, ensure_categories, existing_product_slugs};
use crate::{
    AppState,
    catalog::products::{
        model::{ProductOption, Status},
        service::{ProductDraft, VariantDraft},
    },
};

const CATEGORIES: &[CategorySpec<'static>] = &[
    CategorySpec { slug: "apparel", name: "Apparel", parent: None, description: "Clothing for every day." },
    CategorySpec {
        slug: "t-shirts",
        name: "T-shirts",
        parent: Some("apparel"),
        description: "Combed-cotton tees in classic cuts.",
    },
    CategorySpec { slug: "jeans", name: "Jeans", parent: Some("apparel"), description: "Denim in five fits." },
    CategorySpec { slug: "books", name: "Books", parent: None, description: "Paperbacks, new and classic." },
    CategorySpec { slug: "fiction", name: "Fiction", parent: Some("books"), description: "Novels and stories." },
    CategorySpec {
        slug: "non-fiction",
        name: "Non-fiction",
        parent: Some("books"),
        description: "History, science and ideas.",
    },
    CategorySpec {
        slug: "home",
        name: "Home",
        parent: None,
        description: "Things for the kitchen and the living room.",
    },
    CategorySpec { slug: "kitchen", name: "Kitchen", parent: Some("home"), description: "Cookware and tableware." },
    CategorySpec { slug: "decor", name: "Decor", parent: Some("home"), description: "Cushions, throws and lamps." },
];

/// An apparel line: (slug, name, description, price in rupees, compare-at in rupees or 0,
/// colours, sold out).
type Apparel = (&'static str, &'static str, &'static str, i64, i64, &'static [&'static str], bool);

/// Sizes with their surcharge in rupees.
const T_SHIRT_SIZES: &[(&str, i64)] = &[("S", 0), ("M", 0), ("L", 0), ("XL", 50)];
const T_SHIRTS: &[Apparel] = &[
    (
        "classic-crew-tee",
        "Classic Crew Tee",
        "A 180 gsm combed-cotton crew neck that keeps its shape wash after wash.",
        499,
        0,
        &["Black", "White", "Navy"],
        false,
    ),
    (
        "v-neck-tee",
        "V-Neck Tee",
        "Soft jersey V-neck with a slightly longer body.",
        549,
        699,
        &["White", "Grey"],
        false,
    ),
    ("pocket-tee", "Pocket Tee", "Relaxed fit with a single chest pocket.", 599, 0, &["Olive", "Rust", "Black"], false),
    (
        "oversized-graphic-tee",
        "Oversized Graphic Tee",
        "Drop shoulders and a screen-printed mountain graphic.",
        799,
        999,
        &["Black", "Sand"],
        false,
    ),
    (
        "slub-cotton-tee",
        "Slub Cotton Tee",
        "Textured slub yarn for a lived-in look.",
        649,
        0,
        &["Indigo", "Ecru"],
        false,
    ),
    ("henley-tee", "Henley Tee", "Three-button placket, rib-knit cuffs.", 699, 0, &["Charcoal", "Maroon"], false),
    (
        "striped-breton-tee",
        "Striped Breton Tee",
        "Navy stripes on off-white, boat neck.",
        749,
        0,
        &["Navy Stripe", "Red Stripe"],
        false,
    ),
    (
        "organic-cotton-tee",
        "Organic Cotton Tee",
        "GOTS-certified organic cotton, garment dyed.",
        899,
        1099,
        &["Sage", "Clay", "White"],
        false,
    ),
    (
        "long-sleeve-tee",
        "Long Sleeve Tee",
        "Everyday long sleeve in midweight cotton.",
        799,
        0,
        &["Black", "Heather Grey"],
        false,
    ),
    (
        "polo-tee",
        "Piqué Polo",
        "Cotton piqué polo with a two-button placket.",
        999,
        0,
        &["Navy", "White", "Bottle Green"],
        false,
    ),
    (
        "raglan-baseball-tee",
        "Raglan Baseball Tee",
        "Contrast three-quarter raglan sleeves.",
        699,
        0,
        &["White/Navy", "White/Black"],
        true,
    ),
    (
        "performance-tee",
        "Performance Tee",
        "Quick-dry polyester mesh for the gym and the trail.",
        899,
        0,
        &["Black", "Electric Blue"],
        false,
    ),
    ("linen-blend-tee", "Linen Blend Tee", "Breathable linen-cotton for hot days.", 949, 0, &["Natural", "Sky"], false),
    ("kids-dino-tee", "Kids' Dino Tee", "Soft cotton tee with a dinosaur print.", 399, 0, &["Yellow", "Green"], false),
];

const JEAN_SIZES: &[(&str, i64)] = &[("28", 0), ("30", 0), ("32", 0), ("34", 100), ("36", 100)];
const JEANS: &[Apparel] = &[
    (
        "slim-fit-jeans",
        "Slim Fit Jeans",
        "Slim through the thigh and leg, 12 oz stretch denim.",
        1999,
        2499,
        &["Indigo", "Black"],
        false,
    ),
    (
        "straight-fit-jeans",
        "Straight Fit Jeans",
        "A straight leg from hip to hem, rigid denim.",
        1899,
        0,
        &["Indigo", "Light Wash"],
        false,
    ),
    (
        "relaxed-fit-jeans",
        "Relaxed Fit Jeans",
        "Room in the seat and thigh, tapered below the knee.",
        2199,
        0,
        &["Mid Wash", "Black"],
        false,
    ),
    (
        "selvedge-denim-jeans",
        "Selvedge Denim Jeans",
        "Japanese 14 oz selvedge denim, raw and unwashed.",
        3499,
        0,
        &["Raw Indigo"],
        false,
    ),
    ("skinny-jeans", "Skinny Jeans", "Super-stretch denim with a close fit.", 1799, 0, &["Black", "Blue Black"], false),
    (
        "bootcut-jeans",
        "Bootcut Jeans",
        "Fitted through the knee, a slight flare at the hem.",
        1999,
        0,
        &["Mid Wash"],
        false,
    ),
    (
        "carpenter-jeans",
        "Carpenter Jeans",
        "Workwear details: hammer loop and utility pocket.",
        2299,
        2799,
        &["Ecru", "Indigo"],
        false,
    ),
    ("tapered-jeans", "Tapered Jeans", "Regular rise, narrow at the ankle.", 1899, 0, &["Dark Wash", "Grey"], false),
    ("wide-leg-jeans", "Wide Leg Jeans", "High rise with a full, wide leg.", 2399, 0, &["Light Wash"], true),
    (
        "black-stretch-jeans",
        "Black Stretch Jeans",
        "Jet-black denim that resists fading.",
        1999,
        0,
        &["Jet Black"],
        false,
    ),
];

/// A simple product: (slug, name, description, price in rupees, compare-at or 0, stock).
type Simple = (&'static str, &'static str, &'static str, i64, i64, i64);

const FICTION: &[Simple] = &[
    (
        "pride-and-prejudice",
        "Pride and Prejudice",
        "Jane Austen's comedy of manners. Paperback, 432 pages.",
        299,
        0,
        42,
    ),
    (
        "the-adventures-of-sherlock-holmes",
        "The Adventures of Sherlock Holmes",
        "Twelve stories by Arthur Conan Doyle. Paperback.",
        349,
        0,
        35,
    ),
    ("frankenstein", "Frankenstein", "Mary Shelley's 1818 novel. Paperback, 280 pages.", 279, 0, 18),
    ("moby-dick", "Moby-Dick", "Herman Melville's whaling epic. Paperback, 720 pages.", 499, 599, 9),
    ("jane-eyre", "Jane Eyre", "Charlotte Brontë's novel. Paperback, 560 pages.", 329, 0, 27),
    ("the-time-machine", "The Time Machine", "H. G. Wells's first novel. Paperback, 128 pages.", 199, 0, 0),
    ("great-expectations", "Great Expectations", "Charles Dickens's coming-of-age novel. Paperback.", 399, 0, 14),
    (
        "the-count-of-monte-cristo",
        "The Count of Monte Cristo",
        "Alexandre Dumas, unabridged. Paperback, 1,276 pages.",
        599,
        749,
        6,
    ),
    ("gitanjali", "Gitanjali", "Song offerings by Rabindranath Tagore. Hardcover.", 449, 0, 21),
    ("kim", "Kim", "Rudyard Kipling's novel of the Grand Trunk Road. Paperback.", 299, 0, 11),
];

const NON_FICTION: &[Simple] = &[
    ("the-origin-of-species", "On the Origin of Species", "Charles Darwin, first edition text. Paperback.", 449, 0, 12),
    ("the-wealth-of-nations", "The Wealth of Nations", "Adam Smith's treatise, abridged. Paperback.", 549, 0, 8),
    ("meditations", "Meditations", "Marcus Aurelius, a modern translation. Paperback.", 249, 299, 40),
    ("the-art-of-war", "The Art of War", "Sun Tzu, with commentary. Pocket hardcover.", 199, 0, 55),
    ("walden", "Walden", "Henry David Thoreau on simple living. Paperback.", 299, 0, 0),
    (
        "the-discovery-of-india",
        "The Discovery of India",
        "Jawaharlal Nehru's history, written in prison. Paperback.",
        599,
        0,
        16,
    ),
    (
        "a-brief-guide-to-the-stars",
        "A Brief Guide to the Stars",
        "Star charts and seasonal sky maps for beginners. Paperback.",
        399,
        0,
        23,
    ),
    (
        "the-home-baking-book",
        "The Home Baking Book",
        "Breads, cakes and biscuits, 120 recipes. Hardcover.",
        899,
        1199,
        7,
    ),
];

/// Homeware: (category slug, product slug, name, description, price in rupees, compare-at or 0,
/// colours (empty: a simple product), stock of a simple product).
type Home = (&'static str, &'static str, &'static str, &'static str, i64, i64, &'static [&'static str], i64);

const HOME: &[Home] = &[
    (
        "decor",
        "cotton-throw",
        "Cotton Throw",
        "Hand-loomed cotton throw, 130 × 170 cm.",
        1499,
        0,
        &["Mustard", "Indigo", "Grey"],
        0,
    ),
    (
        "decor",
        "cushion-cover",
        "Cushion Cover",
        "Block-printed cotton cover, 45 × 45 cm.",
        599,
        799,
        &["Rust", "Teal"],
        0,
    ),
    ("decor", "table-lamp", "Table Lamp", "Brass-finish lamp with a linen shade.", 2999, 0, &["Brass", "Black"], 0),
    ("decor", "jute-rug", "Jute Rug", "Braided jute rug, 120 × 180 cm.", 2499, 0, &[], 4),
    (
        "kitchen",
        "stoneware-mug",
        "Stoneware Mug",
        "Hand-glazed 350 ml mug.",
        449,
        0,
        &["Speckled White", "Ocean Blue", "Matte Black"],
        0,
    ),
    ("kitchen", "cast-iron-skillet", "Cast Iron Skillet", "Pre-seasoned 26 cm skillet.", 1899, 2299, &[], 15),
    ("kitchen", "steel-tiffin-box", "Steel Tiffin Box", "Three-tier stainless steel lunch box.", 799, 0, &[], 30),
    ("kitchen", "chef-knife", "Chef's Knife", "20 cm high-carbon steel blade.", 1299, 0, &[], 12),
];

/// Seeds the demo shop; existing categories and products (by slug) are skipped.
pub async fn seed(state: &AppState) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    ensure_categories(&state.categories, CATEGORIES, &mut report).await?;

    let drafts = drafts(state).await?;
    let slugs: Vec<String> = drafts.iter().filter_map(|d| d.slug.clone()).collect();
    let existing = existing_product_slugs(state, &slugs).await?;
    for draft in drafts {
        if draft.slug.as_ref().is_some_and(|s| existing.contains(s)) || !create_product(state, draft).await? {
            report.products_existing += 1;
        } else {
            report.products_created += 1;
        }
    }
    Ok(report)
}

async fn drafts(state: &AppState) -> anyhow::Result<Vec<ProductDraft>> {
    let tees = category_id(&state.categories, "t-shirts").await?;
    let jeans = category_id(&state.categories, "jeans").await?;
    let fiction = category_id(&state.categories, "fiction").await?;
    let non_fiction = category_id(&state.categories, "non-fiction").await?;
    let decor = category_id(&state.categories, "decor").await?;
    let kitchen = category_id(&state.categories, "kitchen").await?;

    let mut drafts = Vec::new();
    for (i, line) in T_SHIRTS.iter().enumerate() {
        drafts.push(apparel(line, &tees, "TSH", i, T_SHIRT_SIZES));
    }
    for (i, line) in JEANS.iter().enumerate() {
        drafts.push(apparel(line, &jeans, "JNS", i, JEAN_SIZES));
    }
    for (i, book) in FICTION.iter().enumerate() {
        drafts.push(simple(book, &fiction, "FIC", i, "Book cover"));
    }
    for (i, book) in NON_FICTION.iter().enumerate() {
        drafts.push(simple(book, &non_fiction, "NF", i, "Book cover"));
    }
    for (i, item) in HOME.iter().enumerate() {
        let category = if item.0 == "kitchen" { &kitchen } else { &decor };
        drafts.push(home(item, category, i));
    }
    Ok(drafts)
}

/// Every size × colour combination, larger sizes at a surcharge (rupees, per size).
fn apparel(line: &Apparel, category: &str, prefix: &str, index: usize, sizes: &[(&str, i64)]) -> ProductDraft {
    let (slug, name, description, rupees, compare_at, colours, sold_out) = *line;
    let options = vec![
        ProductOption { name: "Size".into(), values: sizes.iter().map(|(s, _)| (*s).to_owned()).collect() },
        ProductOption { name: "Colour".into(), values: colours.iter().map(|c| (*c).to_owned()).collect() },
    ];
    let mut variants = Vec::new();
    for colour in colours {
        for (size, surcharge) in sizes {
            variants.push(VariantDraft {
                sku: format!("{prefix}-{:03}-{}-{size}", index + 1, code(colour)),
                price: (rupees + surcharge) * 100,
                compare_at_price: (compare_at > 0).then_some((compare_at + surcharge) * 100),
                stock: stock_for(slug, variants.len(), sold_out),
                options: vec![("Size".into(), (*size).to_owned()), ("Colour".into(), (*colour).to_owned())],
            });
        }
    }
    ProductDraft {
        name: name.to_owned(),
        slug: Some(slug.to_owned()),
        description: description.to_owned(),
        status: Status::Active,
        category_id: Some(category.to_owned()),
        images: vec![
            super::placeholder_image(slug, format!("{name} in {}, front", colours[0])),
            super::placeholder_image(&format!("{slug}-back"), format!("{name} in {}, back", colours[0])),
        ],
        options,
        variants,
    }
}

/// A product without options: its single default variant carries price, SKU and stock.
fn simple(item: &Simple, category: &str, prefix: &str, index: usize, alt: &str) -> ProductDraft {
    let (slug, name, description, rupees, compare_at, stock) = *item;
    ProductDraft {
        name: name.to_owned(),
        slug: Some(slug.to_owned()),
        description: description.to_owned(),
        status: Status::Active,
        category_id: Some(category.to_owned()),
        images: vec![super::placeholder_image(slug, format!("{alt}: {name}"))],
        options: Vec::new(),
        variants: vec![VariantDraft {
            sku: format!("{prefix}-{:03}", index + 1),
            price: rupees * 100,
            compare_at_price: (compare_at > 0).then_some(compare_at * 100),
            stock,
            options: Vec::new(),
        }],
    }
}

/// Homeware: one variant per colour, or a simple product when it comes in one colour.
fn home(item: &Home, category: &str, index: usize) -> ProductDraft {
    let (_, slug, name, description, rupees, compare_at, colours, stock) = *item;
    if colours.is_empty() {
        return simple(&(slug, name, description, rupees, compare_at, stock), category, "HOM", index, "Product photo");
    }
    let variants = colours
        .iter()
        .enumerate()
        .map(|(j, colour)| VariantDraft {
            sku: format!("HOM-{:03}-{}", index + 1, code(colour)),
            price: rupees * 100,
            compare_at_price: (compare_at > 0).then_some(compare_at * 100),
            stock: stock_for(slug, j, false),
            options: vec![("Colour".into(), (*colour).to_owned())],
        })
        .collect();
    ProductDraft {
        name: name.to_owned(),
        slug: Some(slug.to_owned()),
        description: description.to_owned(),
        status: Status::Active,
        category_id: Some(category.to_owned()),
        images: vec![super::placeholder_image(slug, format!("{name} in {}", colours[0]))],
        options: vec![ProductOption {
            name: "Colour".into(),
            values: colours.iter().map(|c| (*c).to_owned()).collect(),
        }],
        variants,
    }
}

/// A fixed stock level per variant: 0 for a sold-out product; otherwise 3–40, with roughly one
/// variant in six sold out, never the first (the default variant a list's "add to cart" uses).
fn stock_for(slug: &str, variant: usize, sold_out: bool) -> i64 {
    if sold_out {
        return 0;
    }
    let seed = (variant as u64).wrapping_mul(7919).wrapping_add(17);
    let hash = slug.bytes().fold(seed, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    if variant > 0 && hash % 6 == 0 { 0 } else { 3 + (hash % 38) as i64 }
}

/// The SKU part of a colour: its letters, upper case (`Navy Stripe` → `NAVYSTRIPE`).
fn code(colour: &str) -> String {
    colour.chars().filter(char::is_ascii_alphabetic).take(12).collect::<String>().to_ascii_uppercase()
}
