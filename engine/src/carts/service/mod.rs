//! Cart rules: who owns a cart, what a line may hold, and the priced cart on every read.

use std::{collections::HashMap, sync::Arc};

use commerce_pipeline::{CouponErrorCode, ShippingAddress};
use subtle::ConstantTimeEq;

use super::{
    error::CartError,
    model::{AddressChoice, CartAddress, CheckoutCart, Credential, LineNotice, LineNoticeKind, PricedCartRead},
    store::{self, CartRow},
};
use crate::{
    accounts::tokens::{digest, new_opaque_token},
    accounts::{AccountError, AccountService, Caller, model::Email},
    catalog::products::ProductService,
    clock::SharedClock,
    config::CartsConfig,
    db::Db,
    db::Tx,
    ids::{is_id, new_id},
    pricing::{
        PricingService, Purpose,
        cart_builder::{CartBuildError, CartBuilder, CartRequest, Limits, LineRequest},
        history::{HistoryChanges, HistorySource},
        model::Quantity,
    },
    validation::FieldProblem,
};

mod cache;
mod merge;

use cache::{PricedCartCache, Stamp};

/// Longest coupon code (as the preview).
const MAX_CODE_LEN: usize = 64;

pub struct CartService {
    accounts: Arc<AccountService>,
    db: Db,
    clock: SharedClock,
    products: Arc<ProductService>,
    builder: Arc<CartBuilder>,
    pricing: Arc<PricingService>,
    history: Arc<dyn HistorySource>,
    history_changes: HistoryChanges,
    cache: PricedCartCache,
    config: CartsConfig,
}

/// Everything the cart service stands on.
pub struct CartDeps {
    pub accounts: Arc<AccountService>,
    pub db: Db,
    pub clock: SharedClock,
    pub products: Arc<ProductService>,
    pub builder: Arc<CartBuilder>,
    pub pricing: Arc<PricingService>,
    /// Paid orders and coupon redemptions, from the orders domain.
    pub history: Arc<dyn HistorySource>,
    /// Bumped by the orders domain when that history changes (see `cache`).
    pub history_changes: HistoryChanges,
    pub config: CartsConfig,
}

impl CartService {
    pub fn new(deps: CartDeps) -> Self {
        let CartDeps { accounts, db, clock, products, builder, pricing, history, history_changes, config } = deps;
        let cache = PricedCartCache::new(config.priced_cache_ttl, config.priced_cache_entries, clock.clone());
        Self { accounts, db, clock, products, builder, pricing, history, history_changes, cache, config }
    }

    /// A guest gets a new cart and its token (shown once); a signed-in user gets their one
    /// active cart, created on demand.
    #[tracing::instrument(skip_all)]
    pub async fn create(&self, user: Option<&str>) -> Result<PricedCartRead, CartError> {
        let now = self.clock.now_ms();
        let Some(user) = user else {
            let id = new_id("cart");
            let token = new_opaque_token("ct");
            store::insert_guest_cart(self.db.autocommit().await.pool(), &id, &digest(&token), now).await?;
            let row =
                CartRow { id, customer_id: None, token_hash: None, email: None, shipping_address: None, version: 0 };
            // A new cart has no lines or codes: nothing to read back.
            let mut read = self.priced(&row, self.stamp(&row), Vec::new(), Vec::new()).await?;
            read.cart_token = Some(token);
            // Not shared with the cached copy: this answer alone shows the token.
            read.rendered = Default::default();
            return Ok(read);
        };
        self.customer_cart(user).await
    }

    /// `GET /me/cart`: the user's active cart, created on demand.
    pub async fn customer_cart(&self, user: &str) -> Result<PricedCartRead, CartError> {
        let row = match store::active_cart_of(self.db.pool(), user).await? {
            Some(row) => row,
            None => {
                let now = self.clock.now_ms();
                store::insert_customer_cart(self.db.autocommit().await.pool(), &new_id("cart"), user, now).await?;
                // Whoever won a concurrent first insert, this is now the one active cart.
                store::active_cart_of(self.db.pool(), user).await?.ok_or(CartError::NotFound)?
            }
        };
        self.read(&row).await
    }

    pub async fn get(&self, who: &Credential, id: &str) -> Result<PricedCartRead, CartError> {
        let row = self.owned(who, id).await?;
        self.read(&row).await
    }

    /// Adds `quantity` units of a variant; a variant already on the cart adds to its line.
    ///
    /// The storefront's hottest write, so it is short: the variant's stock is read first,
    /// outside the transaction (checkout takes stock for real); the transaction bumps the cart
    /// (its ownership check and, on PostgreSQL, its row lock), upserts the line and checks the
    /// limits, all before anything is priced.
    #[tracing::instrument(skip_all, fields(cart = id))]
    pub async fn add_line(
        &self,
        who: &Credential,
        id: &str,
        variant_id: &str,
        quantity: i64,
    ) -> Result<PricedCartRead, CartError> {
        let max = self.config.max_line_quantity;
        let quantity = Quantity::parse(quantity, max).map_err(|e| CartError::field("quantity", e.to_string()))?;
        if !is_id(id, "cart") {
            return Err(CartError::NotFound);
        }
        // The stock as shown (checkout takes it for real); an unknown variant is always read.
        let variants = if self.caching() {
            self.products.variants_for_display(&[variant_id]).await?
        } else {
            self.products.variants_for_pricing(&[variant_id]).await?
        };
        let variant = variants
            .get(variant_id)
            .ok_or_else(|| CartError::field("variant_id", "is not a variant of an active product"))?;
        let now = self.clock.now_ms();
        let added = i64::from(quantity.get());
        let mut tx = self.db.begin().await?;
        // From here every refusal returns early and drops `tx`: the bump and the upsert roll back.
        let row = self.open_for_change(&mut tx, who, id, now).await?;
        let total = store::add_to_line(&mut *tx, &new_id("line"), id, variant_id, added, now).await?;
        if total == added
            && store::line_count(&mut *tx, id).await? > i64::try_from(self.config.max_lines).unwrap_or(i64::MAX)
        {
            let max_lines = self.config.max_lines;
            return Err(CartError::field("variant_id", format!("a cart has at most {max_lines} lines")));
        }
        if total > i64::from(max) {
            return Err(CartError::field("quantity", format!("a line holds at most {max} units")));
        }
        check_stock(total, variant.stock)?;
        tx.commit().await?;
        self.read(&row).await
    }

    /// Sets a line's quantity; 0 removes the line.
    pub async fn set_line(
        &self,
        who: &Credential,
        id: &str,
        line_id: &str,
        quantity: i64,
    ) -> Result<PricedCartRead, CartError> {
        if quantity == 0 {
            return self.remove_line(who, id, line_id).await;
        }
        let max = self.config.max_line_quantity;
        let quantity =
            Quantity::parse(quantity, max).map_err(|_| CartError::field("quantity", format!("must be 0–{max}")))?;
        self.owned(who, id).await?;
        let lines = store::lines(self.db.pool(), id).await?;
        let line = lines.iter().find(|l| l.id == line_id).ok_or(CartError::LineNotFound)?;
        // A variant that is gone can only be removed, not changed.
        let variants = self.products.variants_for_pricing(&[line.variant_id.as_str()]).await?;
        let variant = variants
            .get(&line.variant_id)
            .ok_or_else(|| CartError::field("quantity", "the variant is no longer sold; remove the line"))?;
        check_stock(i64::from(quantity.get()), variant.stock)?;
        let mut tx = self.db.begin().await?;
        let row = self.open_for_change(&mut tx, who, id, self.clock.now_ms()).await?;
        if store::set_quantity(&mut *tx, id, line_id, i64::from(quantity.get())).await? == 0 {
            return Err(CartError::LineNotFound);
        }
        tx.commit().await?;
        self.read(&row).await
    }

    pub async fn remove_line(&self, who: &Credential, id: &str, line_id: &str) -> Result<PricedCartRead, CartError> {
        let mut tx = self.db.begin().await?;
        let row = self.open_for_change(&mut tx, who, id, self.clock.now_ms()).await?;
        if store::delete_line(&mut *tx, id, line_id).await? == 0 {
            return Err(CartError::LineNotFound);
        }
        tx.commit().await?;
        self.read(&row).await
    }

    /// Sets the email and/or the shipping address (checked as the address book checks one, or
    /// copied from the customer's own saved address).
    #[tracing::instrument(skip_all, fields(cart = id))]
    pub async fn update(
        &self,
        who: &Credential,
        id: &str,
        email: Option<&str>,
        address: Option<AddressChoice>,
    ) -> Result<PricedCartRead, CartError> {
        let row = self.owned(who, id).await?;
        let email = email.map(|e| Email::parse(e).map_err(|message| CartError::field("email", message))).transpose()?;
        let address = match address {
            None => None,
            Some(choice) => Some(self.resolve_address(row.customer_id.as_deref(), choice).await?),
        };
        let json = address
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| CartError::Db(sqlx::Error::Encode(Box::new(e))))?;
        let mut tx = self.db.begin().await?;
        let now = self.clock.now_ms();
        self.open_for_change(&mut tx, who, id, now).await?;
        let row = store::set_details(&mut *tx, id, email.as_ref().map(Email::as_str), json.as_deref(), now).await?;
        tx.commit().await?;
        self.read(&row).await
    }

    /// Applies a coupon code when the chain accepts it for this cart. A code already on the
    /// cart (in any case) changes nothing.
    #[tracing::instrument(skip_all, fields(cart = id))]
    pub async fn apply_coupon(&self, who: &Credential, id: &str, code: &str) -> Result<PricedCartRead, CartError> {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_LEN || code.chars().any(char::is_control) {
            return Err(CartError::field("code", format!("must be 1–{MAX_CODE_LEN} printable characters")));
        }
        let row = self.owned(who, id).await?;
        let stamp = self.stamp(&row);
        let (lines, mut codes) = store::contents(self.db.pool(), id).await?;
        if codes.iter().any(|c| c.eq_ignore_ascii_case(code)) {
            return self.priced(&row, stamp, lines, codes).await;
        }
        codes.push(code.to_owned());
        // Priced with the code before it is stored; not cached (the cart's version moves below).
        let read = self.price(&row, lines, codes).await?;
        let verdict = read.priced.coupons().iter().find(|c| c.code.eq_ignore_ascii_case(code));
        match verdict {
            Some(v) if v.accepted => {}
            Some(v) if v.error_code == Some(CouponErrorCode::Ineligible) => {
                return Err(CartError::CouponIneligible {
                    reason: v.reason.clone().unwrap_or_else(|| "this code does not apply to this cart".to_owned()),
                    plugin: v.plugin.clone(),
                });
            }
            _ => return Err(CartError::CouponUnknown),
        }
        let mut tx = self.db.begin().await?;
        let now = self.clock.now_ms();
        self.open_for_change(&mut tx, who, id, now).await?;
        store::insert_coupon(&mut *tx, id, code, now).await?;
        tx.commit().await?;
        Ok(read)
    }

    pub async fn remove_coupon(&self, who: &Credential, id: &str, code: &str) -> Result<PricedCartRead, CartError> {
        let mut tx = self.db.begin().await?;
        let row = self.open_for_change(&mut tx, who, id, self.clock.now_ms()).await?;
        if store::delete_coupon(&mut *tx, id, code.trim()).await? == 0 {
            return Err(CartError::CouponNotOnCart);
        }
        tx.commit().await?;
        self.read(&row).await
    }

    /// A shipping address given inline (checked as the address book checks one; problems are
    /// named `shipping_address.<field>`) or as one of `customer`'s saved addresses.
    pub async fn resolve_address(
        &self,
        customer: Option<&str>,
        choice: AddressChoice,
    ) -> Result<CartAddress, CartError> {
        match choice {
            AddressChoice::Inline(draft) => {
                let checked = self.accounts.validate_address(draft).map_err(|e| match e {
                    AccountError::Validation(problems) => CartError::Validation(
                        problems
                            .into_iter()
                            .map(|p| FieldProblem::new(format!("shipping_address.{}", p.field), p.message))
                            .collect(),
                    ),
                    other => other.into(),
                })?;
                Ok(CartAddress::from(checked))
            }
            AddressChoice::Saved(address_id) => {
                let not_yours = || CartError::field("shipping_address_id", "is not one of your addresses");
                let user = customer.ok_or_else(not_yours)?;
                let caller = Caller { user_id: user.to_owned(), role: crate::accounts::model::Role::Customer };
                match self.accounts.address(&caller, &address_id).await {
                    Ok(saved) => Ok(CartAddress::from(saved)),
                    Err(AccountError::NotFound(_)) => Err(not_yours()),
                    Err(other) => Err(other.into()),
                }
            }
        }
    }

    /// A customer's account email (their orders are sent to it).
    pub async fn customer_email(&self, customer: &str) -> Result<String, CartError> {
        Ok(self.accounts.user(customer).await?.email)
    }

    /// The cart `id` for checkout, in any status, if `who` owns it (a converted cart is still
    /// its owner's, so checkout can answer 409 `cart_converted` rather than 404).
    pub async fn checkout_cart(&self, who: &Credential, id: &str) -> Result<CheckoutCart, CartError> {
        if !is_id(id, "cart") {
            return Err(CartError::NotFound);
        }
        let store::CartWithStatus { cart: row, status } =
            store::cart_any_status(self.db.pool(), id).await?.ok_or(CartError::NotFound)?;
        if !owns(who, &row) || status == "merged" {
            return Err(CartError::NotFound);
        }
        let shipping_address = row
            .shipping_address
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| CartError::Db(sqlx::Error::Decode(Box::new(e))))?;
        Ok(CheckoutCart {
            id: row.id,
            customer_id: row.customer_id,
            active: status == "active",
            email: row.email,
            shipping_address,
            version: row.version,
        })
    }

    /// For the `cart_cleanup` job: deletes carts idle for longer than `carts.ttl`.
    pub async fn purge_idle(&self) -> Result<u64, sqlx::Error> {
        let ttl = i64::try_from(self.config.ttl.as_millis()).unwrap_or(i64::MAX);
        store::delete_idle(self.db.pool(), self.clock.now_ms().saturating_sub(ttl)).await
    }

    /// The active cart `id` if `who` owns it; otherwise `NotFound`, whatever the reason, so a
    /// caller cannot tell someone else's cart from no cart.
    async fn owned(&self, who: &Credential, id: &str) -> Result<CartRow, CartError> {
        if !is_id(id, "cart") {
            return Err(CartError::NotFound);
        }
        let row = store::active_cart(self.db.pool(), id).await?.ok_or(CartError::NotFound)?;
        if owns(who, &row) { Ok(row) } else { Err(CartError::NotFound) }
    }

    /// Bumps the active cart `id` as the first statement of a change (see
    /// `store::open_for_change`) and returns its row with the new version, if `who` owns it;
    /// otherwise `NotFound`, and the caller drops `tx`, rolling the bump back.
    async fn open_for_change(&self, tx: &mut Tx, who: &Credential, id: &str, now: i64) -> Result<CartRow, CartError> {
        if !is_id(id, "cart") {
            return Err(CartError::NotFound);
        }
        match store::open_for_change(tx, id, now).await? {
            Some(row) if owns(who, &row) => Ok(row),
            _ => Err(CartError::NotFound),
        }
    }

    /// Whether carts are served from memory (`carts.priced_cache_ttl` above 0): then the
    /// variants they show may be too (`ProductService::variants_for_display`); with `0s` every
    /// read is priced from the database.
    fn caching(&self) -> bool {
        !self.config.priced_cache_ttl.is_zero()
    }

    /// What a priced read of `row` would be computed from now (see `cache`). Taken before
    /// anything it covers is read.
    fn stamp(&self, row: &CartRow) -> Stamp {
        Stamp {
            cart_version: row.version,
            catalog: self.products.catalog_generation(),
            plugins: self.pricing.plugins().current().generation,
            history: self.history_changes.current(),
        }
    }

    /// The priced cart for display: from memory when nothing it depends on changed, else read
    /// and priced (and kept).
    async fn read(&self, row: &CartRow) -> Result<PricedCartRead, CartError> {
        let stamp = self.stamp(row);
        if let Some(hit) = self.cache.get(&row.id, stamp) {
            return Ok(hit);
        }
        let (lines, coupons) = store::contents(self.db.pool(), &row.id).await?;
        self.priced(row, stamp, lines, coupons).await
    }

    /// Prices `lines` and `coupon_codes`, read after `stamp` was taken, and keeps the result.
    async fn priced(
        &self,
        row: &CartRow,
        stamp: Stamp,
        lines: Vec<store::LineRow>,
        coupon_codes: Vec<String>,
    ) -> Result<PricedCartRead, CartError> {
        // A guest cart without codes is priced without history: its entry ignores it.
        let uses_history = row.customer_id.is_some() || !coupon_codes.is_empty();
        let read = self.price(row, lines, coupon_codes).await?;
        // A rule skipped after a failure (`on_error = "skip"`) is a degraded answer: the next
        // read tries the plugin again rather than repeating it from memory.
        if read.priced.notices().is_empty() {
            self.cache.put(&row.id, stamp, uses_history, &read);
        }
        Ok(read)
    }

    /// Prices the cart's `stored` lines with `coupon_codes`. Lines that cannot be priced any
    /// more (archived product, removed variant) stay on the cart and are named in notices
    /// instead of failing the read; so are lines holding more than is in stock.
    async fn price(
        &self,
        row: &CartRow,
        stored: Vec<store::LineRow>,
        coupon_codes: Vec<String>,
    ) -> Result<PricedCartRead, CartError> {
        let customer = row.customer_id.clone();
        let address: Option<CartAddress> = row
            .shipping_address
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| CartError::Db(sqlx::Error::Decode(Box::new(e))))?;
        let shipping = address.as_ref().map(|a| ShippingAddress {
            country: a.country.clone(),
            region: a.region.as_ref().map(|r| r.trim().to_uppercase()),
            postal_code: Some(a.postal_code.clone()),
        });
        let mut notices = Vec::new();
        let mut keep: Vec<&store::LineRow> = stored.iter().collect();
        let limits = Limits { max_lines: stored.len().max(1), max_quantity: u32::MAX };
        // The counts coupons and first-order rules look at, as checkout will see them.
        let history = self.history.history(customer.as_deref(), &coupon_codes).await?;
        let built = loop {
            let request = CartRequest {
                lines: keep
                    .iter()
                    .map(|l| LineRequest {
                        variant_id: l.variant_id.clone(),
                        // Stored quantities were checked on the way in.
                        quantity: Quantity::parse(l.quantity, u32::MAX).unwrap_or_else(|_| one()),
                    })
                    .collect(),
                customer_id: customer.clone(),
                coupon_codes: coupon_codes.clone(),
                redemptions: history.redemptions.clone(),
                earlier_orders: history.earlier_orders,
                shipping: shipping.clone(),
            };
            let built = if self.caching() {
                self.builder.build_for_display(request, limits).await
            } else {
                self.builder.build(request, limits).await
            };
            match built {
                Ok(built) => break built,
                Err(CartBuildError::BadLines(bad)) => {
                    // Unknown variant or another currency; repeated variants cannot occur
                    // (one line per variant), so every bad line is one that cannot be sold.
                    let gone: Vec<usize> = bad.iter().map(|b| b.index).collect();
                    for index in gone.iter().rev() {
                        let line = keep.remove(*index);
                        notices.push(LineNotice {
                            line_id: line.id.clone(),
                            variant_id: line.variant_id.clone(),
                            kind: LineNoticeKind::Unavailable,
                        });
                    }
                }
                Err(error @ CartBuildError::TooManyLines { .. }) => {
                    return Err(CartError::field("lines", error.to_string()));
                }
                Err(CartBuildError::Products(e)) => return Err(e.into()),
            }
        };
        let by_variant: HashMap<&str, &store::LineRow> = keep.iter().map(|l| (l.variant_id.as_str(), *l)).collect();
        let mut line_ids = HashMap::new();
        for (pipeline_id, info) in &built.lines {
            if let Some(line) = by_variant.get(info.variant_id.as_str()) {
                line_ids.insert(pipeline_id.clone(), line.id.clone());
                let available = built.variants.get(&info.variant_id).map_or(0, |v| v.stock);
                if available < line.quantity {
                    notices.push(LineNotice {
                        line_id: line.id.clone(),
                        variant_id: line.variant_id.clone(),
                        kind: LineNoticeKind::InsufficientStock { available },
                    });
                }
            }
        }
        // What a login's cart merge had to cap, until the shopper changes the line.
        for line in &keep {
            if let Some(requested) = line.merge_wanted {
                notices.push(LineNotice {
                    line_id: line.id.clone(),
                    variant_id: line.variant_id.clone(),
                    kind: LineNoticeKind::QuantityCapped { requested },
                });
            }
        }
        let set = self.pricing.plugins().current();
        let priced = self.pricing.price_with(&set, &built.cart, Purpose::Display).await?;
        Ok(PricedCartRead {
            id: row.id.clone(),
            email: row.email.clone(),
            shipping_address: address,
            priced,
            info: built.lines,
            line_ids,
            line_notices: notices,
            pricing_version: set.version.clone(),
            cart_token: None,
            rendered: Default::default(),
        })
    }
}

/// Whether `who` owns the cart: its customer, or a guest whose token's digest matches (compared
/// in constant time).
fn owns(who: &Credential, row: &CartRow) -> bool {
    match (who, &row.customer_id, &row.token_hash) {
        (Credential::User(user), Some(owner), _) => user == owner,
        (Credential::CartToken(token), None, Some(hash)) => bool::from(digest(token).as_bytes().ct_eq(hash.as_bytes())),
        _ => false,
    }
}

fn one() -> Quantity {
    Quantity::parse(1, 1).unwrap_or_else(|_| unreachable!("1 is within 1..=1"))
}

fn check_stock(wanted: i64, available: i64) -> Result<(), CartError> {
    if wanted > available { Err(CartError::InsufficientStock { available: available.max(0) }) } else { Ok(()) }
}
