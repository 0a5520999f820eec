//! `/api/v1/carts*` and `/api/v1/me/cart`: thin handlers over [`CartService`].
//!
//! A cart route takes either `Authorization: Bearer` (a customer's own cart) or `X-Cart-Token`
//! (a guest cart). The headers are read from the request rather than through a security scheme
//! because both are optional and either may be used; the document declares them as
//! alternatives (`http::openapi::GUEST_TOKEN_OPERATIONS`).

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, param::Path, payload::Json, types::ToJSON};

use super::{
    CartService,
    model::{AddressChoice, CartAddress, Credential, LineNoticeKind, PricedCartRead},
};
use crate::{
    accounts::{AccountService, profile::AddressDraft},
    http::{nullable::Nullable, problem::ApiError, raw_json::RawJson, security::bearer_token as bearer, text::Text},
    pricing::dto::PricedCartView,
};

#[derive(Tags)]
enum CartTags {
    /// Guest and customer carts, priced on every read.
    Cart,
}

pub struct CartsApi {
    pub accounts: Arc<AccountService>,
    pub carts: Arc<CartService>,
}

/// A priced cart (the preview's shape) with the cart's own fields.
#[derive(Object)]
pub struct CartView {
    #[oai(flatten)]
    pub priced: PricedCartView,
    pub email: Nullable<String>,
    pub shipping_address: Nullable<CartAddressView>,
    /// Lines that need the shopper's attention: `line_unavailable` (the product was archived or
    /// the variant removed: the line is not priced; remove it), `insufficient_stock` (fewer in
    /// stock than the line holds; `available` says how many); both block checkout until fixed.
    /// `quantity_capped` (informative): merging a guest cart at login wanted `requested` units
    /// on the line and gave fewer (stock or the line maximum); it goes with the line's next change.
    pub line_notices: Vec<LineNoticeView>,
    /// Only in the answer that created a guest cart: send it as `X-Cart-Token`. It is not
    /// stored and never shown again.
    pub cart_token: Nullable<String>,
}

#[derive(Object)]
pub struct LineNoticeView {
    /// `line_unavailable`, `insufficient_stock` or `quantity_capped`.
    pub kind: String,
    pub line_id: String,
    pub variant_id: String,
    /// Units in stock, for `insufficient_stock`; null otherwise.
    pub available: Nullable<i64>,
    /// Units a cart merge wanted on the line, for `quantity_capped`; null otherwise.
    pub requested: Nullable<i64>,
}

#[derive(Object)]
pub struct AddLineRequest {
    pub variant_id: Text,
    /// 1–`carts.max_line_quantity` (default 100); added to the line if the variant is already
    /// on the cart.
    pub quantity: i64,
}

#[derive(Object)]
pub struct UpdateLineRequest {
    /// 0 removes the line.
    pub quantity: i64,
}

#[derive(Object)]
pub struct CartAddressView {
    pub first_name: String,
    pub last_name: String,
    pub line1: String,
    pub line2: Nullable<String>,
    pub city: String,
    pub region: Nullable<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub phone: Nullable<String>,
}

/// An inline shipping address, checked as the address book checks one.
#[derive(Object)]
pub struct CartAddressInput {
    pub first_name: Text,
    pub last_name: Text,
    pub line1: Text,
    pub line2: Option<Text>,
    pub city: Text,
    /// Region or state code, e.g. `KA` (tax depends on it).
    pub region: Option<Text>,
    pub postal_code: Text,
    /// ISO 3166-1 alpha-2 (`IN`, `DE`); any case.
    pub country: Text,
    pub phone: Option<Text>,
}

/// What to change; a field left out keeps its value.
#[derive(Object)]
pub struct CartPatch {
    pub email: Option<Text>,
    /// An address given inline…
    pub shipping_address: Option<CartAddressInput>,
    /// …or the id of one of the signed-in customer's saved addresses (copied onto the cart).
    pub shipping_address_id: Option<Text>,
}

#[derive(Object)]
pub struct ApplyCouponRequest {
    /// Matched ignoring ASCII case.
    pub code: Text,
}

#[derive(ApiResponse)]
pub enum CartCreated {
    /// A new guest cart (with its `cart_token`), or the customer's active cart.
    #[oai(status = 201)]
    Created(Json<CartView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "CartTags::Cart")]
impl CartsApi {
    /// Create a cart
    ///
    /// Without a login: a new guest cart and its `cart_token` (shown once). With a customer's
    /// bearer token: their one active cart, created if they have none.
    #[oai(path = "/carts", method = "post", operation_id = "createCart")]
    async fn create(&self, req: &Request) -> Result<CartCreated, ApiError> {
        let user = match bearer(req) {
            Some(token) => Some(self.accounts.authenticate(token).await?.user_id),
            None => None,
        };
        Ok(CartCreated::Created(Json(view(self.carts.create(user.as_deref()).await?))))
    }

    /// Your cart
    ///
    /// The signed-in customer's active cart, created if they have none.
    #[oai(path = "/me/cart", method = "get", operation_id = "getMyCart")]
    async fn mine(&self, req: &Request) -> Result<RawJson<CartView>, ApiError> {
        let Some(token) = bearer(req) else {
            return Err(ApiError::unauthenticated("a bearer access token is required"));
        };
        let user = self.accounts.authenticate(token).await?.user_id;
        Ok(answer(self.carts.customer_cart(&user).await?))
    }

    /// Get a cart
    ///
    /// 404 to anyone but its owner (the customer, or a guest with its `X-Cart-Token`).
    #[oai(path = "/carts/:id", method = "get", operation_id = "getCart")]
    async fn get(&self, req: &Request, id: Path<Text>) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(answer(self.carts.get(&who, &id.0).await?))
    }

    /// Update a cart
    ///
    /// Sets `email` and the shipping address, so tax and shipping show before checkout: either
    /// inline (`shipping_address`) or one of your saved addresses (`shipping_address_id`), not
    /// both.
    #[oai(path = "/carts/:id", method = "patch", operation_id = "updateCart")]
    async fn update(
        &self,
        req: &Request,
        id: Path<Text>,
        body: Json<CartPatch>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        let body = body.0;
        let address = match (body.shipping_address, body.shipping_address_id) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_field(
                    "shipping_address_id",
                    "give shipping_address or shipping_address_id, not both",
                ));
            }
            (inline, saved) => address_choice(inline, saved),
        };
        let email = body.email.map(String::from);
        Ok(answer(self.carts.update(&who, &id.0, email.as_deref(), address).await?))
    }

    /// Add a line
    ///
    /// A variant of an active product; adding a variant already on the cart adds to its line.
    /// More than in stock is 409 `insufficient_stock` with `available`.
    #[oai(path = "/carts/:id/lines", method = "post", operation_id = "addCartLine")]
    async fn add_line(
        &self,
        req: &Request,
        id: Path<Text>,
        body: Json<AddLineRequest>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        let body = body.0;
        Ok(answer(self.carts.add_line(&who, &id.0, body.variant_id.trim(), body.quantity).await?))
    }

    /// Change a line's quantity
    ///
    /// 0 removes the line.
    #[oai(path = "/carts/:id/lines/:line_id", method = "patch", operation_id = "updateCartLine")]
    async fn update_line(
        &self,
        req: &Request,
        id: Path<Text>,
        line_id: Path<Text>,
        body: Json<UpdateLineRequest>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(answer(self.carts.set_line(&who, &id.0, &line_id.0, body.0.quantity).await?))
    }

    /// Remove a line
    #[oai(path = "/carts/:id/lines/:line_id", method = "delete", operation_id = "removeCartLine")]
    async fn remove_line(
        &self,
        req: &Request,
        id: Path<Text>,
        line_id: Path<Text>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(answer(self.carts.remove_line(&who, &id.0, &line_id.0).await?))
    }

    /// Apply a coupon
    ///
    /// 422 `coupon_unknown` when no plugin knows the code, 422 `coupon_ineligible` with the
    /// plugin's `reason` when it does not apply to this cart; a code already applied answers 200
    /// and changes nothing.
    #[oai(path = "/carts/:id/coupons", method = "post", operation_id = "applyCartCoupon")]
    async fn apply_coupon(
        &self,
        req: &Request,
        id: Path<Text>,
        body: Json<ApplyCouponRequest>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(answer(self.carts.apply_coupon(&who, &id.0, &body.0.code).await?))
    }

    /// Remove a coupon
    #[oai(path = "/carts/:id/coupons/:code", method = "delete", operation_id = "removeCartCoupon")]
    async fn remove_coupon(
        &self,
        req: &Request,
        id: Path<Text>,
        code: Path<Text>,
    ) -> Result<RawJson<CartView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(answer(self.carts.remove_coupon(&who, &id.0, &code.0).await?))
    }
}

impl CartsApi {
    async fn credential(&self, req: &Request) -> Result<Credential, ApiError> {
        cart_credential(&self.accounts, req).await
    }
}

/// Who a cart route's caller is (carts and checkout): a bearer token must be valid (401
/// otherwise, so the storefront refreshes instead of dropping the cart); a guest's
/// `X-Cart-Token` is checked against the cart itself.
pub async fn cart_credential(accounts: &AccountService, req: &Request) -> Result<Credential, ApiError> {
    if let Some(token) = bearer(req) {
        return Ok(Credential::User(accounts.authenticate(token).await?.user_id));
    }
    Ok(match req.header("X-Cart-Token") {
        Some(token) if !token.trim().is_empty() => Credential::CartToken(token.trim().to_owned()),
        _ => Credential::Anonymous,
    })
}

/// The address a body gives: inline or one of the customer's saved ones (the caller has refused
/// both at once).
pub fn address_choice(inline: Option<CartAddressInput>, saved: Option<Text>) -> Option<AddressChoice> {
    match (inline, saved) {
        (Some(a), _) => Some(AddressChoice::Inline(AddressDraft {
            first_name: Some(a.first_name.into()),
            last_name: Some(a.last_name.into()),
            line1: Some(a.line1.into()),
            line2: Some(a.line2.map(Into::into)),
            city: Some(a.city.into()),
            region: Some(a.region.map(Into::into)),
            postal_code: Some(a.postal_code.into()),
            country: Some(a.country.into()),
            phone: Some(a.phone.map(Into::into)),
            is_default: None,
        })),
        (None, Some(saved)) => Some(AddressChoice::Saved(saved.into())),
        (None, None) => None,
    }
}

/// The priced cart as the routes send it. A read repeated from the cart cache shares its
/// rendering slot with the read that priced it, so the cart is turned into JSON once per change,
/// not once per read (a storefront reads its cart on every page).
fn answer(read: PricedCartRead) -> RawJson<CartView> {
    // `Value`'s `Display` is its JSON text and cannot fail.
    let render = |read| bytes::Bytes::from(view(read).to_json().unwrap_or_default().to_string());
    let Some(slot) = read.rendering() else {
        return RawJson::from_bytes(render(read));
    };
    RawJson::from_bytes(slot.get_or_init(|| render(read)).clone())
}

fn view(read: PricedCartRead) -> CartView {
    let mut priced = PricedCartView::of(&read.priced, Some(read.id), &read.info, read.pricing_version);
    // The pipeline numbers lines by position; the routes take the stored line's id.
    for line in &mut priced.lines {
        if let Some(id) = read.line_ids.get(&line.id) {
            line.id = id.clone();
        }
    }
    for adjustment in
        priced.lines.iter_mut().flat_map(|l| l.adjustments.iter_mut()).chain(priced.adjustments.iter_mut())
    {
        if let Some(id) = adjustment.line_id.as_ref().and_then(|l| read.line_ids.get(l)) {
            adjustment.line_id = Some(id.clone()).into();
        }
    }
    let line_notices = read
        .line_notices
        .into_iter()
        .map(|n| {
            let (kind, available, requested) = match n.kind {
                LineNoticeKind::Unavailable => ("line_unavailable", None, None),
                LineNoticeKind::InsufficientStock { available } => ("insufficient_stock", Some(available), None),
                LineNoticeKind::QuantityCapped { requested } => ("quantity_capped", None, Some(requested)),
            };
            LineNoticeView {
                kind: kind.to_owned(),
                line_id: n.line_id,
                variant_id: n.variant_id,
                available: available.into(),
                requested: requested.into(),
            }
        })
        .collect();
    CartView {
        priced,
        email: read.email.into(),
        shipping_address: read.shipping_address.map(address_view).into(),
        line_notices,
        cart_token: read.cart_token.into(),
    }
}

pub fn address_view(a: CartAddress) -> CartAddressView {
    CartAddressView {
        first_name: a.first_name,
        last_name: a.last_name,
        line1: a.line1,
        line2: a.line2.into(),
        city: a.city,
        region: a.region.into(),
        postal_code: a.postal_code,
        country: a.country,
        phone: a.phone.into(),
    }
}
