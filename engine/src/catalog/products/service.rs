//! Product rules: creation with options and variants, updates, variant management, stock, and
//! the storefront's listing and product pages.

use std::{collections::HashMap, sync::Arc};

use commerce_pipeline::{Currency, Money};

use super::{
    error::ProductError,
    listing::{self, Listing},
    model::{
        Image, Product, ProductCard, ProductOption, Status, Variant, combination_key, resolve_option_values,
        variant_title,
    },
    pricing_store, store,
};
use crate::{
    catalog::{
        cache::{LISTS, product_key},
        products::cache::{CatalogChanges, ListCache},
        slug,
    },
    clock::SharedClock,
    db::{Db, Tx, unique_violation},
    ids::{is_id, new_id},
    validation::FieldProblem,
};

/// The most a variant's stock can be, set or adjusted.
const MAX_STOCK: i64 = 1_000_000_000;

/// Whether `value` can be a product or category key: an id or a well-formed slug.
fn is_key(value: &str, prefix: &str) -> bool {
    is_id(value, prefix) || slug::parse(value).is_ok()
}

/// A new variant as submitted: option values by option name.
#[derive(Debug, Clone)]
pub struct VariantDraft {
    pub sku: String,
    pub price: i64,
    pub compare_at_price: Option<i64>,
    pub stock: i64,
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub name: String,
    pub slug: Option<String>,
    pub description: String,
    pub status: Status,
    pub category_id: Option<String>,
    pub images: Vec<Image>,
    pub options: Vec<ProductOption>,
    pub variants: Vec<VariantDraft>,
}

/// Changes to a product; `None` keeps a field. `category_id: Some(None)` detaches it.
#[derive(Debug, Default)]
pub struct ProductChange {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub category_id: Option<Option<String>>,
    pub images: Option<Vec<Image>>,
    pub options: Option<Vec<ProductOption>>,
}

#[derive(Debug, Default)]
pub struct VariantChange {
    pub sku: Option<String>,
    pub price: Option<i64>,
    pub compare_at_price: Option<Option<i64>>,
    pub stock: Option<i64>,
    pub stock_adjustment: Option<i64>,
}

/// A product with its live variants.
#[derive(Debug, Clone)]
pub struct ProductDetail {
    pub product: Product,
    pub variants: Vec<Variant>,
    /// (id, slug, name) of the category's ancestors and the category itself, root first.
    pub category_chain: Vec<(String, String, String)>,
}

pub struct ProductService {
    db: Db,
    clock: SharedClock,
    currency: String,
    /// Bumped after each committed write, so this instance's cached list pages go stale.
    changes: CatalogChanges,
    /// Category id → slug for pricing (every priced cart names its lines' category paths):
    /// tagged with the catalog generation like list pages, so a category change made here shows
    /// at once and one made through another instance within [`CACHE_TTL`].
    category_slugs: ListCache<String>,
    /// Variants as pricing sees them, for displays only (see `variants_for_display`).
    purchasable: ListCache<PurchasableVariant>,
}

/// How long a category slug or a variant for display is reused without asking the database:
/// `catalog.list_cache_ttl`'s default, the staleness storefront pages already accept.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Field problems collected while checking a request.
#[derive(Default)]
struct Check(Vec<FieldProblem>);

impl Check {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem::new(field, message));
    }

    fn done(self) -> Result<(), ProductError> {
        if self.0.is_empty() { Ok(()) } else { Err(ProductError::Validation(self.0)) }
    }

    fn name(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || v.chars().count() > 200 {
            self.fail(field, "must be 1–200 characters");
        } else if v.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        v.to_owned()
    }

    fn description(&mut self, value: &str) {
        if value.chars().count() > 20_000 {
            self.fail("description", "must be at most 20000 characters");
        } else if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            self.fail("description", "must not contain control characters other than line breaks and tabs");
        }
    }

    fn money(&mut self, field: &str, value: i64) {
        if !(0..=1_000_000_000_000).contains(&value) {
            self.fail(field, "must be a non-negative amount in minor units");
        }
    }

    fn stock(&mut self, field: &str, value: i64) {
        if !(0..=MAX_STOCK).contains(&value) {
            self.fail(field, "must be a non-negative whole number");
        }
    }

    fn sku(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_graphic()) {
            self.fail(field, "must be 1–64 printable characters without spaces");
        }
        v.to_owned()
    }

    fn images(&mut self, images: &[Image]) {
        if images.len() > 50 {
            self.fail("images", "at most 50 images");
        }
        for (i, image) in images.iter().enumerate() {
            let ok = url::Url::parse(&image.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                && !image.url.chars().any(|c| c.is_control() || c.is_whitespace());
            if !ok {
                self.fail(format!("images[{i}].url"), "must be an http(s) URL");
            }
            if image.alt.chars().count() > 300 {
                self.fail(format!("images[{i}].alt"), "must be at most 300 characters");
            } else if image.alt.chars().any(char::is_control) {
                self.fail(format!("images[{i}].alt"), "must not contain control characters");
            }
        }
    }

    fn options(&mut self, options: &[ProductOption]) -> Vec<ProductOption> {
        if options.len() > 3 {
            self.fail("options", "at most 3 options");
        }
        let mut clean: Vec<ProductOption> = Vec::new();
        for (i, option) in options.iter().enumerate() {
            let name = self.name(&format!("options[{i}].name"), &option.name);
            if clean.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
                self.fail(format!("options[{i}].name"), "option names must be unique");
            }
            let mut values: Vec<String> = Vec::new();
            for (j, value) in option.values.iter().enumerate() {
                let v = self.name(&format!("options[{i}].values[{j}]"), value);
                if values.iter().any(|x| x.to_lowercase() == v.to_lowercase()) {
                    self.fail(format!("options[{i}].values[{j}]"), "values must be unique");
                }
                values.push(v);
            }
            if values.is_empty() {
                self.fail(format!("options[{i}].values"), "needs at least one value");
            }
            clean.push(ProductOption { name, values });
        }
        clean
    }
}

impl ProductService {
    /// Called by other domains after a committed transaction changed stock through the
    /// transaction seam (`take_stock`/`return_stock`): this instance's cached list pages, which
    /// show `in_stock`, go stale at once.
    pub fn stock_changed(&self) {
        self.changes.bump();
    }

    /// This instance's catalog generation: moves after every committed catalogue or stock
    /// change made through it (caches of what the catalogue shows compare it).
    pub fn catalog_generation(&self) -> u64 {
        self.changes.current()
    }

    pub fn new(db: Db, clock: SharedClock, currency: String, changes: CatalogChanges) -> Self {
        let category_slugs = ListCache::new(CACHE_TTL, 10_000, changes.clone(), clock.clone());
        let purchasable = ListCache::new(CACHE_TTL, 10_000, changes.clone(), clock.clone());
        Self { db, clock, currency, changes, category_slugs, purchasable }
    }

    /// Creates a product and its variants in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: ProductDraft) -> Result<ProductDetail, ProductError> {
        let mut check = Check::default();
        let name = check.name("name", &draft.name);
        let options = check.options(&draft.options);
        check.images(&draft.images);
        check.description(&draft.description);
        let explicit_slug = draft.slug.as_deref().map(|s| slug::parse(s).map_err(|m| check.fail("slug", m)).ok());
        if draft.variants.is_empty() {
            check.fail("variants", "a product needs at least one variant (or `price` and `sku` for a simple product)");
        }
        let mut variants = Vec::new();
        for (i, v) in draft.variants.iter().enumerate() {
            match self.check_variant(&mut check, &format!("variants[{i}]"), &options, v) {
                Some(values) => variants.push((v, values)),
                None => continue,
            }
        }
        check.done()?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if let Some(category) = &draft.category_id
            && !(is_id(category, "cat") && store::category_exists(&mut *tx, category).await?)
        {
            return Err(ProductError::field("category_id", "no such category"));
        }
        let slug = match explicit_slug.flatten() {
            Some(s) => s,
            None => free_slug(&mut tx, &slug::from_name(&name)).await?,
        };
        let product = Product {
            id: new_id("prod"),
            slug,
            name,
            description: draft.description.trim().to_owned(),
            status: draft.status,
            category_id: draft.category_id,
            images: draft.images,
            options,
            currency: self.currency.clone(),
            min_price: None,
            max_price: None,
            default_variant_id: None,
            created_at: now,
            updated_at: now,
        };
        store::insert_product(&mut *tx, &product).await.map_err(|e| map_unique(e, &product.slug, ""))?;
        for (position, (v, values)) in variants.into_iter().enumerate() {
            let variant = self.new_variant(&product.id, v, values, i64::try_from(position).unwrap_or(0), now);
            store::insert_variant(&mut *tx, &variant).await.map_err(|e| map_unique(e, "", &variant.sku))?;
        }
        store::refresh_summary(&mut *tx, &product.id).await?;
        if product.status == Status::Active {
            tx.mark_stale(product_key(&product.id));
            tx.mark_stale(LISTS);
        }
        tx.commit().await?;
        self.changes.bump();
        self.admin_detail(&product.id).await
    }

    fn check_variant(
        &self,
        check: &mut Check,
        field: &str,
        options: &[ProductOption],
        v: &VariantDraft,
    ) -> Option<Vec<String>> {
        check.sku(&format!("{field}.sku"), &v.sku);
        check.money(&format!("{field}.price"), v.price);
        if let Some(c) = v.compare_at_price {
            check.money(&format!("{field}.compare_at_price"), c);
        }
        check.stock(&format!("{field}.stock"), v.stock);
        match resolve_option_values(options, &v.options) {
            Ok(values) => Some(values),
            Err(message) => {
                check.fail(format!("{field}.options"), message);
                None
            }
        }
    }

    fn new_variant(&self, product_id: &str, v: &VariantDraft, values: Vec<String>, position: i64, now: i64) -> Variant {
        Variant {
            id: new_id("var"),
            product_id: product_id.to_owned(),
            sku: v.sku.trim().to_owned(),
            title: variant_title(&values),
            option_values: values,
            price: v.price,
            compare_at_price: v.compare_at_price,
            stock: v.stock,
            position,
            created_at: now,
            updated_at: now,
        }
    }

    /// A product with its live variants, whatever its status (staff).
    pub async fn admin_detail(&self, id: &str) -> Result<ProductDetail, ProductError> {
        if !is_id(id, "prod") {
            return Err(ProductError::NotFound("product"));
        }
        let product = store::product_by_id(self.db.pool(), id).await?.ok_or(ProductError::NotFound("product"))?;
        self.detail_of(product).await
    }

    /// A storefront product page: active products only (drafts and archived ones are 404).
    pub async fn storefront_detail(&self, id_or_slug: &str) -> Result<ProductDetail, ProductError> {
        if !is_key(id_or_slug, "prod") {
            return Err(ProductError::NotFound("product"));
        }
        // One pooled connection for the page's three queries: each checkout costs a round trip.
        let mut conn = self.db.pool().acquire().await?;
        let product = store::product_by_key(&mut *conn, id_or_slug)
            .await?
            .filter(|p| p.status == Status::Active)
            .ok_or(ProductError::NotFound("product"))?;
        Self::detail_on(&mut conn, product).await
    }

    async fn detail_of(&self, product: Product) -> Result<ProductDetail, ProductError> {
        let mut conn = self.db.pool().acquire().await?;
        Self::detail_on(&mut conn, product).await
    }

    async fn detail_on(conn: &mut sqlx::AnyConnection, product: Product) -> Result<ProductDetail, ProductError> {
        let variants = store::variants_of(&mut *conn, &product.id).await?;
        let category_chain = match &product.category_id {
            Some(id) => store::category_chain(conn, id).await?,
            None => Vec::new(),
        };
        Ok(ProductDetail { product, variants, category_chain })
    }

    /// What pricing (the preview, carts, checkout) needs of the variants a shopper can buy, by
    /// variant id: price, stock, SKU, product name and category slugs (nearest first). Variants
    /// that are removed, unknown, malformed ids, or whose product is not active are absent.
    ///
    /// Two statements on one connection whatever the number of ids (the variants with their
    /// products and category paths, then every category on those paths), so a cart's cost does
    /// not grow in round trips with its lines. Callers bound `ids` (a cart's line limit).
    ///
    /// Always read from the database: checkout and every check that must see the stock as it is
    /// now use this. A display may use [`ProductService::variants_for_display`].
    #[tracing::instrument(skip_all, fields(ids = ids.len()))]
    pub async fn variants_for_pricing(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, PurchasableVariant>, ProductError> {
        self.variants(ids, true).await
    }

    /// As [`ProductService::variants_for_pricing`], but a variant read in the last
    /// [`CACHE_TTL`] is taken from memory when the catalog generation has not moved since (a
    /// catalogue or stock change made through this instance shows at once; one made through
    /// another instance within the TTL). For what a cart *shows*; checkout reads afresh.
    #[tracing::instrument(skip_all, fields(ids = ids.len()))]
    pub async fn variants_for_display(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, PurchasableVariant>, ProductError> {
        self.variants(ids, false).await
    }

    async fn variants(&self, ids: &[&str], fresh: bool) -> Result<HashMap<String, PurchasableVariant>, ProductError> {
        let mut ids: Vec<&str> = ids.iter().copied().filter(|id| is_id(id, "var")).collect();
        ids.sort_unstable();
        ids.dedup();
        // Read before the rows, so a change racing the read leaves what is kept already stale
        // (both caches follow the same catalog generation).
        let generation = self.purchasable.generation();
        let mut found = HashMap::with_capacity(ids.len());
        if !fresh {
            ids.retain(|id| match self.purchasable.get(id) {
                Some(kept) => {
                    found.insert((*id).to_owned(), PurchasableVariant::clone(&kept));
                    false
                }
                None => true,
            });
        }
        if ids.is_empty() {
            return Ok(found);
        }
        let mut conn = self.db.pool().acquire().await?;
        let rows = pricing_store::variants_for_pricing(&mut *conn, &ids).await?;
        let mut category_ids: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.category_path.as_deref())
            .flat_map(|path| path.split('/').filter(|s| !s.is_empty()))
            .collect();
        category_ids.sort_unstable();
        category_ids.dedup();
        let mut slugs: HashMap<String, String> = HashMap::with_capacity(category_ids.len());
        let mut missing = Vec::new();
        for id in category_ids {
            match self.category_slugs.get(id) {
                Some(slug) => {
                    slugs.insert(id.to_owned(), String::clone(&slug));
                }
                None => missing.push(id),
            }
        }
        for (id, slug) in pricing_store::category_slugs(&mut *conn, &missing).await? {
            self.category_slugs.put(id.clone(), generation, Arc::new(slug.clone()));
            slugs.insert(id, slug);
        }
        for row in rows {
            // A row that does not decode is an error, never a silently different price or title.
            let currency = Currency::new(&row.currency).map_err(|e| undecodable(&row.variant_id, e))?;
            let values: Vec<String> =
                serde_json::from_str(&row.option_values).map_err(|e| undecodable(&row.variant_id, e))?;
            // Paths run root first; pricing wants the product's own category first.
            let category_slugs = row
                .category_path
                .as_deref()
                .unwrap_or("")
                .rsplit('/')
                .filter(|s| !s.is_empty())
                .filter_map(|id| slugs.get(id).cloned())
                .collect();
            found.insert(
                row.variant_id.clone(),
                PurchasableVariant {
                    variant_title: variant_title(&values),
                    unit_price: Money::new(row.price, currency),
                    variant_id: row.variant_id,
                    product_id: row.product_id,
                    sku: row.sku,
                    product_name: row.product_name,
                    stock: row.stock,
                    category_slugs,
                },
            );
        }
        for id in &ids {
            if let Some(variant) = found.get(*id) {
                self.purchasable.put((*id).to_owned(), generation, Arc::new(variant.clone()));
            }
        }
        Ok(found)
    }

    pub async fn update(&self, id: &str, change: ProductChange) -> Result<ProductDetail, ProductError> {
        if !is_id(id, "prod") {
            return Err(ProductError::NotFound("product"));
        }
        let mut check = Check::default();
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if !store::lock_product(&mut *tx, id, now).await? {
            return Err(ProductError::NotFound("product"));
        }
        let mut product = store::product_by_id(&mut *tx, id).await?.ok_or(ProductError::NotFound("product"))?;
        let before = product.clone();
        if let Some(name) = change.name {
            product.name = check.name("name", &name);
        }
        if let Some(s) = change.slug {
            match slug::parse(&s) {
                Ok(s) => product.slug = s,
                Err(m) => check.fail("slug", m),
            }
        }
        if let Some(d) = change.description {
            check.description(&d);
            product.description = d.trim().to_owned();
        }
        if let Some(status) = change.status {
            product.status = status;
        }
        if let Some(images) = change.images {
            check.images(&images);
            product.images = images;
        }
        // Variants whose stored values change (options reordered or respelt): (id, new values).
        let mut rewritten: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(options) = change.options {
            let options = check.options(&options);
            // Every live variant must still fit the new options.
            for variant in store::variants_of(&mut *tx, id).await? {
                let given: Vec<(String, String)> =
                    product.options.iter().map(|o| o.name.clone()).zip(variant.option_values.iter().cloned()).collect();
                match resolve_option_values(&options, &given) {
                    Ok(values) if values != variant.option_values => rewritten.push((variant.id, values)),
                    Ok(_) => {}
                    Err(_) => check.fail(
                        "options",
                        format!("variant {} ({}) would not match the new options", variant.sku, variant.title),
                    ),
                }
            }
            product.options = options;
        }
        if let Some(category) = change.category_id {
            if let Some(c) = &category
                && !(is_id(c, "cat") && store::category_exists(&mut *tx, c).await?)
            {
                check.fail("category_id", "no such category");
            }
            product.category_id = category;
        }
        check.done()?;
        product.updated_at = now;
        store::update_product(&mut *tx, &product).await.map_err(|e| map_unique(e, &product.slug, ""))?;
        // Values are stored in option order and spelling: rewrite them with the titles and
        // combination keys, in two steps so that swapped combinations never collide halfway.
        for (variant_id, _) in &rewritten {
            store::set_variant_values(&mut *tx, variant_id, &[], variant_id, now).await?;
        }
        for (variant_id, values) in &rewritten {
            store::set_variant_values(&mut *tx, variant_id, values, &combination_key(values), now).await?;
        }
        if before.status == Status::Active || product.status == Status::Active {
            tx.mark_stale(product_key(id));
            let card = |p: &Product| {
                (p.status, p.name.clone(), p.slug.clone(), p.category_id.clone(), p.images.first().cloned())
            };
            if card(&before) != card(&product) {
                tx.mark_stale(LISTS);
            }
        }
        tx.commit().await?;
        self.changes.bump();
        self.admin_detail(id).await
    }

    /// Archives a product: hidden from the storefront; orders keep their snapshots.
    pub async fn archive(&self, id: &str) -> Result<(), ProductError> {
        self.update(id, ProductChange { status: Some(Status::Archived), ..Default::default() }).await.map(|_| ())
    }

    pub async fn add_variant(&self, product_id: &str, draft: VariantDraft) -> Result<Variant, ProductError> {
        if !is_id(product_id, "prod") {
            return Err(ProductError::NotFound("product"));
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if !store::lock_product(&mut *tx, product_id, now).await? {
            return Err(ProductError::NotFound("product"));
        }
        let product = store::product_by_id(&mut *tx, product_id).await?.ok_or(ProductError::NotFound("product"))?;
        let mut check = Check::default();
        let values = self.check_variant(&mut check, "variant", &product.options, &draft);
        check.done()?;
        let before = store::card_state(&mut *tx, product_id).await?;
        let position = store::next_variant_position(&mut *tx, product_id).await?;
        let variant = self.new_variant(product_id, &draft, values.unwrap_or_default(), position, now);
        store::insert_variant(&mut *tx, &variant).await.map_err(|e| map_unique(e, "", &variant.sku))?;
        store::refresh_summary(&mut *tx, product_id).await?;
        mark_variant_write(&mut tx, product_id, before).await?;
        tx.commit().await?;
        self.changes.bump();
        Ok(variant)
    }

    /// Price, SKU and absolute stock under the product's lock; a relative `stock_adjustment`
    /// is one conditional statement, atomic under any concurrency; all of it in one transaction.
    pub async fn update_variant(&self, id: &str, change: VariantChange) -> Result<Variant, ProductError> {
        if !is_id(id, "var") {
            return Err(ProductError::NotFound("variant"));
        }
        let mut check = Check::default();
        if change.stock.is_some() && change.stock_adjustment.is_some() {
            check.fail("stock_adjustment", "give either `stock` or `stock_adjustment`, not both");
        }
        if let Some(price) = change.price {
            check.money("price", price);
        }
        if let Some(Some(c)) = change.compare_at_price {
            check.money("compare_at_price", c);
        }
        if let Some(stock) = change.stock {
            check.stock("stock", stock);
        }
        if change.stock_adjustment.is_some_and(|d| !(-MAX_STOCK..=MAX_STOCK).contains(&d)) {
            check.fail("stock_adjustment", format!("must be between -{MAX_STOCK} and {MAX_STOCK}"));
        }
        let sku = change.sku.as_deref().map(|s| check.sku("sku", s));
        check.done()?;
        let now = self.clock.now_ms();
        let variant = store::live_variant(self.db.pool(), id).await?.ok_or(ProductError::NotFound("variant"))?;
        let edits_fields =
            sku.is_some() || change.price.is_some() || change.compare_at_price.is_some() || change.stock.is_some();
        // One transaction for the fields and the adjustment: a refused adjustment (409) must not
        // follow a price or SKU change that was already saved.
        let mut tx = self.db.begin().await?;
        let before = store::card_state(&mut *tx, &variant.product_id).await?;
        if edits_fields {
            store::lock_product(&mut *tx, &variant.product_id, now).await?;
            let mut current = store::live_variant(&mut *tx, id).await?.ok_or(ProductError::NotFound("variant"))?;
            if let Some(sku) = sku {
                current.sku = sku;
            }
            if let Some(price) = change.price {
                current.price = price;
            }
            if let Some(c) = change.compare_at_price {
                current.compare_at_price = c;
            }
            if let Some(stock) = change.stock {
                current.stock = stock;
            }
            current.updated_at = now;
            store::update_variant(&mut *tx, &current).await.map_err(|e| map_unique(e, "", &current.sku))?;
        }
        // Storefront pages show whether a variant is in stock, not how many: an adjustment that
        // leaves it on the same side of zero changes nothing a reader sees.
        let mut flipped = false;
        if let Some(delta) = change.stock_adjustment.filter(|d| *d != 0) {
            let Some(stock) = store::adjust_stock(&mut *tx, id, delta, MAX_STOCK, now).await? else {
                if delta > 0 {
                    return Err(ProductError::field("stock_adjustment", format!("the stock would exceed {MAX_STOCK}")));
                }
                let available = store::live_variant(&mut *tx, id).await?.map_or(0, |v| v.stock);
                return Err(ProductError::InsufficientStock { available });
            };
            flipped = (stock > 0) != (stock - delta > 0);
        }
        if edits_fields || flipped {
            store::refresh_summary(&mut *tx, &variant.product_id).await?;
            mark_variant_write(&mut tx, &variant.product_id, before).await?;
        }
        tx.commit().await?;
        self.changes.bump();
        store::live_variant(self.db.pool(), id).await?.ok_or(ProductError::NotFound("variant"))
    }

    /// Hides a variant; orders that reference it keep working, its SKU is free again.
    pub async fn remove_variant(&self, id: &str) -> Result<(), ProductError> {
        if !is_id(id, "var") {
            return Err(ProductError::NotFound("variant"));
        }
        let now = self.clock.now_ms();
        let variant = store::live_variant(self.db.pool(), id).await?.ok_or(ProductError::NotFound("variant"))?;
        let mut tx = self.db.begin().await?;
        store::lock_product(&mut *tx, &variant.product_id, now).await?;
        let before = store::card_state(&mut *tx, &variant.product_id).await?;
        if !store::remove_variant(&mut *tx, id, now).await? {
            return Err(ProductError::NotFound("variant"));
        }
        store::refresh_summary(&mut *tx, &variant.product_id).await?;
        mark_variant_write(&mut tx, &variant.product_id, before).await?;
        tx.commit().await?;
        self.changes.bump();
        Ok(())
    }

    /// One page of the storefront listing (`limit + 1` rows at most).
    pub async fn list(&self, listing: &Listing) -> Result<Vec<(ProductCard, listing::After)>, ProductError> {
        Ok(listing::page(&self.db, listing).await?)
    }

    /// The path of a category given by id or slug (for the listing's subtree filter).
    pub async fn category_path(&self, id_or_slug: &str) -> Result<Option<String>, ProductError> {
        if !is_key(id_or_slug, "cat") {
            return Ok(None);
        }
        Ok(sqlx::query_scalar::<_, String>("SELECT path FROM categories WHERE id = $1 OR slug = $1")
            .bind(id_or_slug)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// Staff listing: every status (or one), newest first.
    pub async fn admin_list(
        &self,
        status: Option<Status>,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Product>, ProductError> {
        Ok(store::admin_page(self.db.pool(), status, after_id, limit).await?)
    }
}

/// Marks what a variant write made stale, from the product's card before it (read in the same
/// transaction) and after: its page when the product is or was on sale, the list pages when a
/// card field moved too (price range, default variant, `in_stock`).
async fn mark_variant_write(
    tx: &mut Tx,
    product_id: &str,
    before: Option<store::CardState>,
) -> Result<(), ProductError> {
    let after = store::card_state(&mut **tx, product_id).await?;
    let on_sale = |c: &Option<store::CardState>| c.as_ref().is_some_and(|c| c.status == Status::Active.as_str());
    if !(on_sale(&before) || on_sale(&after)) {
        return Ok(());
    }
    tx.mark_stale(product_key(product_id));
    if before != after {
        tx.mark_stale(LISTS);
    }
    Ok(())
}

/// The first free slug among `base`, `base-2`, `base-3`, ….
async fn free_slug(tx: &mut Tx, base: &str) -> Result<String, ProductError> {
    let taken = store::slugs_like(&mut **tx, base).await?;
    let mut attempt = 1;
    loop {
        let candidate = slug::candidate(base, attempt);
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        attempt += 1;
    }
}

/// Maps a unique violation to the conflict it means.
fn map_unique(error: sqlx::Error, slug: &str, sku: &str) -> ProductError {
    match unique_violation(&error) {
        Some(what) if what.contains("combination") => ProductError::VariantExists,
        Some(what) if what.contains("sku") => ProductError::SkuTaken(sku.to_owned()),
        Some(what) if what.contains("slug") => ProductError::SlugTaken(slug.to_owned()),
        _ => ProductError::Db(error),
    }
}

/// A variant a shopper can buy, as pricing sees it (see [`ProductService::variants_for_pricing`]).
#[derive(Debug, Clone)]
pub struct PurchasableVariant {
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub product_name: String,
    /// The option values joined for display (`Red / M`); empty for a product without options.
    pub variant_title: String,
    pub unit_price: Money,
    /// Units in stock now (carts compare it with a line's quantity).
    pub stock: i64,
    /// The product's category slug first, then its ancestors' up to the root.
    pub category_slugs: Vec<String>,
}

fn undecodable(variant_id: &str, error: impl std::error::Error + Send + Sync + 'static) -> ProductError {
    tracing::error!(variant_id, %error, "a variant row does not decode");
    ProductError::Db(sqlx::Error::Decode(Box::new(error)))
}
