//! One path from variant ids to the pipeline's [`Cart`]: the preview uses it now, carts and
//! checkout will. It takes neutral line inputs (ids and parsed quantities), reads every variant
//! in a fixed number of queries ([`ProductService::variants_for_pricing`]), and returns the cart
//! with what the API shows of each line, or every bad line at once.

use std::{collections::HashMap, sync::Arc};

use commerce_pipeline::{Cart, CartLine, Currency, Redemption, ShippingAddress, Store};

use super::model::Quantity;
use crate::{
    catalog::products::{ProductService, PurchasableVariant, error::ProductError},
    clock::SharedClock,
    config::StoreConfig,
};

/// One line as the shopper asked for it.
#[derive(Debug, Clone)]
pub struct LineRequest {
    pub variant_id: String,
    pub quantity: Quantity,
}

/// A cart to price, in domain terms: what the preview parses from its body and what carts will
/// read from their tables.
#[derive(Debug, Clone, Default)]
pub struct CartRequest {
    /// In display order; the same variant twice becomes one line with the quantities added.
    pub lines: Vec<LineRequest>,
    /// Distinct (ignoring ASCII case), trimmed, non-empty codes in the order they were added.
    pub coupon_codes: Vec<String>,
    /// Earlier redemptions of those codes (none for the preview until orders exist).
    pub redemptions: Vec<Redemption>,
    /// The signed-in customer; `None` prices as a guest.
    pub customer_id: Option<String>,
    pub earlier_orders: u32,
    pub shipping: Option<ShippingAddress>,
}

/// Bounds of the place the cart comes from (the preview's, or a cart's from config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most lines; also bounds the IN list of the variant query.
    pub max_lines: usize,
    /// Most units of one variant, after adding repeated lines.
    pub max_quantity: u32,
}

/// What the API shows of a line beyond the pipeline's figures, by the line's `line_id`.
#[derive(Debug, Clone)]
pub struct LineInfo {
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub variant_title: String,
}

/// The pipeline's cart and, per `line_id`, the variant behind each line.
#[derive(Debug, Clone)]
pub struct BuiltCart {
    pub cart: Cart,
    pub lines: HashMap<String, LineInfo>,
    /// The variants read, by id (carts compare their stock with the lines).
    pub variants: HashMap<String, PurchasableVariant>,
}

/// What is wrong with one requested line; `index` is its position in [`CartRequest::lines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// No live variant of an active product has this id.
    UnknownVariant,
    /// With the earlier line of the same variant, more than `max` units.
    TooManyUnits { max: u32 },
    /// The variant is priced in another currency than the store's (the store's currency was
    /// changed after the product was created): pricing it would mix currencies.
    OtherCurrency { variant: Currency, store: Currency },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub index: usize,
    pub problem: LineProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum CartBuildError {
    #[error("a cart has at most {max} lines")]
    TooManyLines { max: usize },
    #[error("{} line(s) cannot be priced", .0.len())]
    BadLines(Vec<BadLine>),
    #[error(transparent)]
    Products(#[from] ProductError),
}

pub struct CartBuilder {
    products: Arc<ProductService>,
    store: Store,
    clock: SharedClock,
}

impl CartBuilder {
    pub fn new(products: Arc<ProductService>, store: &StoreConfig, clock: SharedClock) -> Self {
        let store = Store {
            currency: store.currency,
            origin_country: store.origin_country.clone(),
            origin_region: store.origin_region.clone(),
            prices_include_tax: store.prices_include_tax,
        };
        Self { products, store, clock }
    }

    /// Builds the pipeline's cart with today's catalogue prices, read from the database (what
    /// checkout and the preview price). Every bad line is reported, in request order; nothing
    /// is priced until all lines are good.
    #[tracing::instrument(skip_all, fields(lines = request.lines.len()))]
    pub async fn build(&self, request: CartRequest, limits: Limits) -> Result<BuiltCart, CartBuildError> {
        if request.lines.len() > limits.max_lines {
            return Err(CartBuildError::TooManyLines { max: limits.max_lines });
        }
        let ids: Vec<&str> = request.lines.iter().map(|l| l.variant_id.as_str()).collect();
        let variants = self.products.variants_for_pricing(&ids).await?;
        self.assemble(request, limits, variants)
    }

    /// As [`CartBuilder::build`], for a cart that is only shown: the variants may come from
    /// memory ([`ProductService::variants_for_display`]).
    #[tracing::instrument(skip_all, fields(lines = request.lines.len()))]
    pub async fn build_for_display(&self, request: CartRequest, limits: Limits) -> Result<BuiltCart, CartBuildError> {
        if request.lines.len() > limits.max_lines {
            return Err(CartBuildError::TooManyLines { max: limits.max_lines });
        }
        let ids: Vec<&str> = request.lines.iter().map(|l| l.variant_id.as_str()).collect();
        let variants = self.products.variants_for_display(&ids).await?;
        self.assemble(request, limits, variants)
    }

    fn assemble(
        &self,
        request: CartRequest,
        limits: Limits,
        variants: HashMap<String, PurchasableVariant>,
    ) -> Result<BuiltCart, CartBuildError> {
        let mut bad = Vec::new();
        let mut lines: Vec<CartLine> = Vec::new();
        // Beside `lines`: the typed quantity of each, so adding a repeated variant stays checked.
        let mut quantities: Vec<Quantity> = Vec::new();
        let mut info = HashMap::new();
        for (index, line) in request.lines.iter().enumerate() {
            if let Some(at) = lines.iter().position(|l| l.variant_id == line.variant_id) {
                match quantities[at].checked_add(line.quantity, limits.max_quantity) {
                    Some(total) => {
                        quantities[at] = total;
                        lines[at].quantity = total.get();
                    }
                    None => {
                        bad.push(BadLine { index, problem: LineProblem::TooManyUnits { max: limits.max_quantity } })
                    }
                }
                continue;
            }
            let Some(found) = variants.get(&line.variant_id) else {
                bad.push(BadLine { index, problem: LineProblem::UnknownVariant });
                continue;
            };
            if found.unit_price.currency != self.store.currency {
                let problem =
                    LineProblem::OtherCurrency { variant: found.unit_price.currency, store: self.store.currency };
                bad.push(BadLine { index, problem });
                continue;
            }
            let line_id = format!("line-{}", lines.len() + 1);
            quantities.push(line.quantity);
            let mut slugs = found.category_slugs.iter().cloned();
            lines.push(CartLine {
                line_id: line_id.clone(),
                variant_id: found.variant_id.clone(),
                sku: found.sku.clone(),
                product_id: found.product_id.clone(),
                category_slug: slugs.next(),
                category_ancestors: slugs.collect(),
                quantity: line.quantity.get(),
                unit_price: found.unit_price.amount,
            });
            info.insert(
                line_id,
                LineInfo {
                    variant_id: found.variant_id.clone(),
                    product_id: found.product_id.clone(),
                    title: found.product_name.clone(),
                    variant_title: found.variant_title.clone(),
                },
            );
        }
        if !bad.is_empty() {
            return Err(CartBuildError::BadLines(bad));
        }
        let CartRequest { coupon_codes, redemptions, customer_id, earlier_orders, shipping, .. } = request;
        let cart = Cart {
            store: self.store.clone(),
            lines,
            redemptions,
            coupon_codes,
            guest: customer_id.is_none(),
            customer_id,
            earlier_orders,
            shipping,
            now: self.clock.now_ms(),
        };
        Ok(BuiltCart { cart, lines: info, variants })
    }
}
