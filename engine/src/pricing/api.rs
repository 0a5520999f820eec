//! `POST /api/v1/admin/pricing/preview`: a cart described inline, priced through the live chain.
//! Carts will price through the same [`PricingService`]; this endpoint makes the pipeline usable
//! (and testable) before they exist.

use std::sync::Arc;

use commerce_pipeline::{Redemption, ShippingAddress};
use poem_openapi::{OpenApi, Tags, payload::Json};

use super::{
    PricingError, PricingService, Purpose,
    cart_builder::{BadLine, BuiltCart, CartBuildError, CartBuilder, CartRequest, Limits, LineProblem, LineRequest},
    dto::{PreviewRequest, PricedCartView, PurposeDto},
    model::Quantity,
};
use crate::{
    accounts::AccountService,
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
    pub pricing: Arc<PricingService>,
    pub carts: Arc<CartBuilder>,
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
        let built = self.assemble(&request).await?;
        let purpose = match request.purpose {
            Some(PurposeDto::Checkout) => Purpose::Checkout,
            _ => Purpose::Display,
        };
        let set = self.pricing.plugins().current();
        let priced = self.pricing.price_with(&set, &built.cart, purpose).await.map_err(pricing_error)?;
        Ok(Json(PricedCartView::of(&priced, None, &built.lines, set.version.clone())))
    }
}

impl AdminPricingApi {
    /// Parses the body, builds the cart, and reports every bad field at once: the body's own
    /// problems and the lines the catalogue refuses.
    async fn assemble(&self, request: &PreviewRequest) -> Result<BuiltCart, ApiError> {
        let mut errors = Vec::new();
        let (cart, origin) = parse(request, &mut errors);
        match self.carts.build(cart, LIMITS).await {
            Ok(built) if errors.is_empty() => return Ok(built),
            Ok(_) => {}
            Err(error) => errors.extend(refused(error, &origin)?),
        }
        // Lines first, in request order, then the body's other fields as they came (a stable sort).
        errors.sort_by_key(|e| field_order(&e.field));
        Err(ApiError::validation(errors))
    }
}

const LIMITS: Limits = Limits { max_lines: MAX_LINES, max_quantity: MAX_QUANTITY };

/// The body as a [`CartRequest`] (leaving out what does not parse, which goes to `errors`) and,
/// for the i-th line kept, its index in the body, so refused lines are named as the client sent them.
fn parse(request: &PreviewRequest, errors: &mut Vec<FieldError>) -> (CartRequest, Vec<usize>) {
    let mut field = |field: String, message: String| errors.push(FieldError { field, message });
    let mut origin = Vec::new();
    let mut lines = Vec::new();
    for (index, line) in request.lines.iter().enumerate() {
        match Quantity::parse(i64::from(line.quantity), MAX_QUANTITY) {
            Ok(quantity) => {
                origin.push(index);
                lines.push(LineRequest { variant_id: line.variant_id.trim().to_owned(), quantity });
            }
            Err(error) => field(format!("lines[{index}].quantity"), error.to_string()),
        }
    }
    let mut coupon_codes: Vec<String> = Vec::new();
    for (index, code) in request.coupon_codes.iter().enumerate() {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_LEN || code.chars().any(char::is_control) {
            field(format!("coupon_codes[{index}]"), format!("must be 1–{MAX_CODE_LEN} printable characters"));
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
        field("shipping_address.country".into(), "must be an ISO 3166-1 alpha-2 code such as IN".into());
    }
    let cart = CartRequest {
        lines,
        // Orders do not exist yet: no code has been redeemed.
        redemptions: coupon_codes
            .iter()
            .map(|code| Redemption { code: code.clone(), total: 0, by_customer: 0 })
            .collect(),
        coupon_codes,
        customer_id: request.customer_id.as_ref().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
        earlier_orders: request.earlier_orders.unwrap_or(0),
        shipping,
    };
    (cart, origin)
}

/// The fields of a cart the builder refused, named by their index in the body; a catalogue
/// failure is no field's fault and becomes the API's error as it is.
fn refused(error: CartBuildError, origin: &[usize]) -> Result<Vec<FieldError>, ApiError> {
    let error_at = |field: String, message: String| FieldError { field, message };
    match error {
        CartBuildError::TooManyLines { max } => Ok(vec![error_at("lines".into(), format!("at most {max} lines"))]),
        CartBuildError::BadLines(bad) => Ok(bad
            .into_iter()
            .map(|BadLine { index, problem }| {
                let index = origin.get(index).copied().unwrap_or(index);
                match problem {
                    LineProblem::UnknownVariant => {
                        error_at(format!("lines[{index}].variant_id"), "no purchasable variant has this id".into())
                    }
                    LineProblem::TooManyUnits { max } => error_at(
                        format!("lines[{index}].quantity"),
                        format!("with the earlier line of this variant, more than {max} units"),
                    ),
                    LineProblem::OtherCurrency { variant, store } => error_at(
                        format!("lines[{index}].variant_id"),
                        format!("the variant is priced in {variant}, not in the store's currency {store}"),
                    ),
                }
            })
            .collect()),
        CartBuildError::Products(error) => Err(error.into()),
    }
}

/// Sort key of a field path: `lines[…]` by index, then the rest as they came.
fn field_order(field: &str) -> (u8, usize) {
    let index = |rest: &str| rest.split(']').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    match field.strip_prefix("lines[") {
        Some(rest) => (0, index(rest)),
        None if field == "lines" => (0, 0),
        None => (1, 0),
    }
}

/// The API's answer to a pricing failure.
pub fn pricing_error(error: PricingError) -> ApiError {
    match error {
        PricingError::InvalidCart(error) => ApiError::invalid_field("lines", error.to_string()),
        PricingError::Unavailable(error) => ApiError::pricing_unavailable(&error.plugin, error.to_string()),
    }
}
