//! Cart domain types.

use std::collections::HashMap;

use commerce_pipeline::PricedCart;

use crate::pricing::cart_builder::LineInfo;

/// Who is asking for a cart. Every cart route answers 404 unless this names the cart's owner.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A signed-in user (already authenticated): owns the cart whose `customer_id` is theirs.
    User(String),
    /// A guest's `X-Cart-Token`: owns the guest cart whose stored digest matches.
    CartToken(String),
    /// Neither: owns nothing.
    Anonymous,
}

/// Why a line is shown with a notice instead of (or beside) its price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineNoticeKind {
    /// The product was archived, the variant removed, or it is priced in another currency:
    /// the line is not priced and blocks checkout until it is removed.
    Unavailable,
    /// Fewer units are in stock than the line holds.
    InsufficientStock { available: i64 },
    /// Merging a guest cart at login wanted `requested` units on this line and had to give
    /// fewer (stock or `carts.max_line_quantity`). Informative: it does not block checkout, and
    /// the line's next change clears it.
    QuantityCapped { requested: i64 },
}

#[derive(Debug, Clone)]
pub struct LineNotice {
    pub line_id: String,
    pub variant_id: String,
    pub kind: LineNoticeKind,
}

/// A cart's shipping address, kept on the cart as JSON text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CartAddress {
    pub first_name: String,
    pub last_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub phone: Option<String>,
}

/// Where the shipping address of a `PATCH` comes from.
#[derive(Debug)]
pub enum AddressChoice {
    Inline(crate::accounts::profile::AddressDraft),
    /// One of the signed-in customer's own addresses (copied onto the cart).
    Saved(String),
}

/// A cart as checkout starts from it (its lines and coupons are read inside checkout).
#[derive(Debug, Clone)]
pub struct CheckoutCart {
    pub id: String,
    pub customer_id: Option<String>,
    /// False once converted into an order or merged into a customer's cart.
    pub active: bool,
    pub email: Option<String>,
    pub shipping_address: Option<CartAddress>,
    /// The cart's version when this was read: checkout converts the cart only if it is still
    /// this one, so the lines and codes it priced are the ones it sells.
    pub version: i64,
}

/// A cart priced for display.
#[derive(Clone)]
pub struct PricedCartRead {
    pub id: String,
    pub email: Option<String>,
    pub shipping_address: Option<CartAddress>,
    pub priced: PricedCart,
    /// What the API shows of each priced line, by the pipeline's line id.
    pub info: HashMap<String, LineInfo>,
    /// The pipeline's line id → the stored line's id (the one the line routes take).
    pub line_ids: HashMap<String, String>,
    pub line_notices: Vec<LineNotice>,
    pub pricing_version: String,
    /// Only in the answer that created a guest cart: the token is never stored or shown again.
    pub cart_token: Option<String>,
    /// The API's JSON rendering of this read, made once and shared by its clones: a cart read
    /// from the cache (`service::cache`) is sent as the bytes rendered for the read that filled
    /// it. Filled only for reads without a `cart_token` (see `PricedCartRead::rendering`).
    pub rendered: Rendering,
}

/// See [`PricedCartRead::rendered`].
pub type Rendering = std::sync::Arc<std::sync::OnceLock<bytes::Bytes>>;

impl PricedCartRead {
    /// The slot this read's rendering may be kept in: `None` for a read that carries a cart
    /// token, whose answer is shown once and must never be repeated from memory.
    pub fn rendering(&self) -> Option<Rendering> {
        self.cart_token.is_none().then(|| self.rendered.clone())
    }
}

impl From<crate::accounts::model::Address> for CartAddress {
    fn from(a: crate::accounts::model::Address) -> Self {
        Self {
            first_name: a.first_name,
            last_name: a.last_name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}
