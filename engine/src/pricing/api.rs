//! `POST /api/v1/admin/pricing/preview`: a cart described inline, priced through the live chain.
//! Carts will price through the same [`PricingService`]; this endpoint makes the pipeline usable
//! (and testable) before they exist.

use std::{collections::HashMap, sync::Arc};

use commerce_pipeline::{Cart, CartLine, Currency, Redemption, ShippingAddress, Store};
use poem_openapi::{OpenApi, Tags, payload::Json};

use super::{
    PricingError, PricingService, Purpose,
    dto::{LineInfo, PreviewRequest, PricedCartView, PurposeDto},
};
use crate::{
    accounts::AccountService,
    catalog::products::ProductService,
    clock::SharedClock,
    config::StoreConfig,
    http::{
        problem::{ApiError, FieldError},
        security::BearerAuth,
    },
};

#[derive(Tags)]
enum PricingTags {
    /// The pricing chain, tried out by staff on a cart described inline.
    #[oai(rename = "Admin · Pricing")]
    AdminPricing,
}

/// Largest quantity of one line.
const MAX_QUANTITY: u32 = 9_999;
/// Most lines in a previewed cart.
const MAX_LINES: usize = 500;
/// Longest coupon code.
const MAX_CODE_LEN: usize = 64;

pub struct AdminPricingApi {
    pub accounts: Arc<AccountService>,
    pub products: Arc<ProductService>,
    pub pricing: Arc<PricingService>,
    pub store: StoreConfig,
    pub clock: SharedClock,
}

#[OpenApi(prefix_path = "/api/v1/admin/pricing", tag = "PricingTags::AdminPricing")]
impl AdminPricingApi {
    /// Preview pricing
    ///
    /// Prices a cart described inline (variant ids and quantities, coupon codes, shipping
    /// address) through the configured pricing chain, with today's catalogue prices, and
    /// returns the priced cart with every adjustment and coupon verdict. Nothing is stored.
    /// Coupon counts of earlier redemptions are 0 until orders exist. A failing plugin gives 503
    /// `pricing_unavailable` naming it (or, for `purpose: display` and an `on_error = "skip"`
    /// plugin, a notice).
    #[oai(path = "/preview", method = "post", operation_id = "adminPreviewPricing")]
    async fn preview(&self, auth: BearerAuth, body: Json<PreviewRequest>) -> Result<Json<PricedCartView>, ApiError> {
        self.accounts.authenticate_staff(auth.token()).await?;
        let request = body.0;
        let (cart, info) = self.assemble(&request).await?;
        let purpose = match request.purpose {
            Some(PurposeDto::Checkout) => Purpose::Checkout,
            _ => Purpose::Display,
        };
        let set = self.pricing.plugins().current();
        let priced = self.pricing.price_with(&set, &cart, purpose).await.map_err(pricing_error)?;
        Ok(Json(PricedCartView::of(&priced, None, &info, set.version.clone())))
    }
}

impl AdminPricingApi {
    /// Builds the pipeline's cart from the request and the catalogue, checking every field.
    async fn assemble(&self, request: &PreviewRequest) -> Result<(Cart, HashMap<String, LineInfo>), ApiError> {
        let mut errors = Vec::new();
        let mut field = |field: String, message: &str| errors.push(FieldError { field, message: message.to_owned() });
        if request.lines.len() > MAX_LINES {
            field("lines".into(), &format!("at most {MAX_LINES} lines"));
        }
        let mut lines: Vec<CartLine> = Vec::new();
        let mut info = HashMap::new();
        for (index, line) in request.lines.iter().enumerate() {
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                field(format!("lines[{index}].quantity"), &format!("must be 1–{MAX_QUANTITY}"));
                continue;
            }
            let variant_id = line.variant_id.trim();
            if let Some(existing) = lines.iter_mut().find(|l| l.variant_id == variant_id) {
                match existing.quantity.checked_add(line.quantity).filter(|q| *q <= MAX_QUANTITY) {
                    Some(total) => existing.quantity = total,
                    None => field(
                        format!("lines[{index}].quantity"),
                        &format!("with the earlier line of this variant, more than {MAX_QUANTITY} units"),
                    ),
                }
                continue;
            }
            let Some(found) = self.products.variant_for_pricing(variant_id).await.map_err(ApiError::from)? else {
                field(format!("lines[{index}].variant_id"), "no purchasable variant has this id");
                continue;
            };
            let line_id = format!("line-{}", lines.len() + 1);
            let mut slugs = found.category_slugs.into_iter();
            lines.push(CartLine {
                line_id: line_id.clone(),
                variant_id: found.variant.id.clone(),
                sku: found.variant.sku.clone(),
                product_id: found.product.id.clone(),
                category_slug: slugs.next(),
                category_ancestors: slugs.collect(),
                quantity: line.quantity,
                unit_price: found.variant.price,
            });
            info.insert(
                line_id,
                LineInfo {
                    variant_id: found.variant.id,
                    product_id: found.product.id,
                    title: found.product.name,
                    variant_title: found.variant.option_values.join(" / "),
                },
            );
        }
        let mut coupon_codes: Vec<String> = Vec::new();
        for (index, code) in request.coupon_codes.iter().enumerate() {
            let code = code.trim();
            if code.is_empty() || code.len() > MAX_CODE_LEN || code.chars().any(char::is_control) {
                field(format!("coupon_codes[{index}]"), &format!("must be 1–{MAX_CODE_LEN} printable characters"));
            } else if !coupon_codes.iter().any(|c| c.eq_ignore_ascii_case(code)) {
                coupon_codes.push(code.to_owned());
            }
        }
        let shipping = request.shipping_address.as_ref().map(|a| ShippingAddress {
            country: a.country.trim().to_uppercase(),
            region: a.region.as_ref().map(|r| r.trim().to_uppercase()).filter(|r| !r.is_empty()),
            postal_code: a.postal_code.as_ref().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
        });
        if let Some(address) = &shipping
            && (address.country.len() != 2 || !address.country.bytes().all(|b| b.is_ascii_uppercase()))
        {
            field("shipping_address.country".into(), "must be an ISO 3166-1 alpha-2 code such as IN");
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let currency = Currency::new(&self.store.currency)
            .map_err(|_| ApiError::unavailable("store.currency is not a currency code"))?;
        let customer_id = request.customer_id.as_ref().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let cart = Cart {
            store: Store {
                currency,
                origin_country: self.store.origin_country.clone(),
                origin_region: self.store.origin_region.clone(),
                prices_include_tax: self.store.prices_include_tax,
            },
            lines,
            redemptions: coupon_codes
                .iter()
                .map(|code| Redemption { code: code.clone(), total: 0, by_customer: 0 })
                .collect(),
            coupon_codes,
            guest: customer_id.is_none(),
            customer_id,
            earlier_orders: request.earlier_orders.unwrap_or(0),
            shipping,
            now: self.clock.now_ms(),
        };
        Ok((cart, info))
    }
}

/// The API's answer to a pricing failure.
pub fn pricing_error(error: PricingError) -> ApiError {
    match error {
        PricingError::InvalidCart(error) => ApiError::invalid_field("lines", error.to_string()),
        PricingError::Unavailable(error) => ApiError::pricing_unavailable(&error.plugin, error.to_string()),
    }
}
