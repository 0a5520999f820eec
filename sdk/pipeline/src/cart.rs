//! The cart handed to the pricing chain: the cart-JSON format shared by the engine and the SDK.
//!
//! Everything here is input: the engine (or a test) builds it, the chain only reads it. Fields that
//! a hand-written cart rarely needs have defaults, so the smallest valid cart is
//! `{"store": {"currency": "INR", "origin_country": "IN"}, "lines": []}`.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, MoneyError, add, narrow};

/// The shop the cart belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// Currency of every amount in the cart and in every rule's output.
    pub currency: Currency,
    /// ISO 3166-1 alpha-2 country the store ships from, e.g. `IN`.
    pub origin_country: String,
    /// Region (state) the store ships from, e.g. `KA`; tax rules compare it with the shipping
    /// region (Indian GST: same state → CGST + SGST, otherwise IGST).
    #[serde(default)]
    pub origin_region: Option<String>,
    /// Whether catalogue prices already contain tax (a tax rule then reports inclusive tax).
    #[serde(default)]
    pub prices_include_tax: bool,
}

/// One line of the cart: a variant and how many of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    /// Identifies the line within the cart; adjustments target lines by it. Unique per cart.
    pub line_id: String,
    /// The variant bought.
    #[serde(default)]
    pub variant_id: String,
    /// The variant's SKU.
    #[serde(default)]
    pub sku: String,
    /// The product the variant belongs to.
    #[serde(default)]
    pub product_id: String,
    /// Slug of the product's category, if it has one.
    #[serde(default)]
    pub category_slug: Option<String>,
    /// Slugs of the category's ancestors, **nearest first**: for `books › fiction › crime` and
    /// category `crime`, this is `["fiction", "books"]`. Nearest first makes "the category or
    /// its nearest listed ancestor" a front-to-back search (see [`CartLine::categories`]).
    #[serde(default)]
    pub category_ancestors: Vec<String>,
    /// Units bought; at least 1.
    pub quantity: u32,
    /// Price of one unit in minor units; never negative.
    pub unit_price: i64,
}

impl CartLine {
    /// The line's category followed by its ancestors, nearest first: the order in which a rule
    /// keyed by category slug should look for the most specific match.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.category_slug.iter().chain(&self.category_ancestors).map(String::as_str)
    }

    /// Whether the line's category or one of its ancestors is `slug`.
    pub fn in_category(&self, slug: &str) -> bool {
        self.categories().any(|c| c == slug)
    }

    /// `unit_price × quantity`, exact.
    pub fn subtotal(&self) -> Result<i64, MoneyError> {
        narrow(i128::from(self.unit_price) * i128::from(self.quantity))
    }
}

/// How often a coupon code has been redeemed already (counted by the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    /// The coupon code.
    pub code: String,
    /// Redemptions by anyone.
    #[serde(default)]
    pub total: u32,
    /// Redemptions by this cart's customer (0 for a guest).
    #[serde(default)]
    pub by_customer: u32,
}

/// Where the cart ships to, when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Region or state, e.g. `KA`.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// A cart as the pricing chain receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cart {
    /// The shop.
    pub store: Store,
    /// The lines, in display order (allocation ties go to the earlier line).
    #[serde(default)]
    pub lines: Vec<CartLine>,
    /// Coupon codes as the shopper entered them, in the order they were added; coupon rules apply
    /// them in this order. No two may be equal ignoring ASCII case.
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    /// The signed-in customer, if any.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Whether the shopper checks out as a guest.
    #[serde(default)]
    pub guest: bool,
    /// Orders the customer placed before this one (0 for a guest or a first order).
    #[serde(default)]
    pub earlier_orders: u32,
    /// Redemption counts for the cart's coupon codes.
    #[serde(default)]
    pub redemptions: Vec<Redemption>,
    /// The shipping address, once known.
    #[serde(default)]
    pub shipping: Option<ShippingAddress>,
    /// The time of pricing in Unix milliseconds, chosen by the host so that rules stay
    /// deterministic. Defaults to 0 (1970) in hand-written carts: set it when testing validity
    /// windows.
    #[serde(default)]
    pub now: i64,
}

impl Cart {
    /// Parses cart JSON and checks it (see [`Cart::validate`]).
    pub fn from_json(json: &str) -> Result<Cart, CartError> {
        let cart: Cart = serde_json::from_str(json).map_err(|e| CartError::Json(e.to_string()))?;
        cart.validate()?;
        Ok(cart)
    }

    /// The redemption counts for `code` (compared ignoring ASCII case), zero if none were passed.
    pub fn redemptions_of(&self, code: &str) -> Redemption {
        self.redemptions.iter().find(|r| r.code.eq_ignore_ascii_case(code)).cloned().unwrap_or_else(|| Redemption {
            code: code.to_owned(),
            total: 0,
            by_customer: 0,
        })
    }

    /// Checks what the types cannot: unique, non-empty line ids; quantities of at least 1;
    /// non-negative unit prices; a subtotal that fits in `i64`; distinct, non-empty coupon codes.
    pub fn validate(&self) -> Result<(), CartError> {
        let mut subtotal: i64 = 0;
        for (index, line) in self.lines.iter().enumerate() {
            let bad =
                |reason: &str| CartError::InvalidLine { line_id: line.line_id.clone(), reason: reason.to_owned() };
            if line.line_id.is_empty() {
                return Err(bad("line_id is empty"));
            }
            if self.lines[..index].iter().any(|earlier| earlier.line_id == line.line_id) {
                return Err(bad("line_id appears twice"));
            }
            if line.quantity == 0 {
                return Err(bad("quantity must be at least 1"));
            }
            if line.unit_price < 0 {
                return Err(bad("unit_price must not be negative"));
            }
            subtotal = line.subtotal().and_then(|s| add(subtotal, s)).map_err(|_| CartError::Overflow)?;
        }
        for (index, code) in self.coupon_codes.iter().enumerate() {
            if code.trim().is_empty() {
                return Err(CartError::InvalidCouponCode { code: code.clone(), reason: "it is empty".to_owned() });
            }
            if self.coupon_codes[..index].iter().any(|earlier| earlier.eq_ignore_ascii_case(code)) {
                return Err(CartError::InvalidCouponCode { code: code.clone(), reason: "it appears twice".to_owned() });
            }
        }
        Ok(())
    }
}

/// A cart the pipeline refuses to price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    /// The JSON does not parse as a cart.
    #[error("cart JSON: {0}")]
    Json(String),
    /// A line breaks a rule of the cart model.
    #[error("cart line `{line_id}`: {reason}")]
    InvalidLine {
        /// The offending line.
        line_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A coupon code is empty or repeated.
    #[error("coupon code `{code}`: {reason}")]
    InvalidCouponCode {
        /// The offending code.
        code: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Σ unit price × quantity does not fit in `i64` minor units.
    #[error("cart subtotal overflows i64 minor units")]
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"store": {"currency": "INR", "origin_country": "IN"}}"#;

    fn cart_with(lines: &str, codes: &str) -> Result<Cart, CartError> {
        Cart::from_json(&format!(
            r#"{{"store": {{"currency": "INR", "origin_country": "IN"}}, "lines": {lines}, "coupon_codes": {codes}}}"#
        ))
    }

    #[test]
    fn a_minimal_hand_written_cart_parses_with_defaults() {
        let cart = Cart::from_json(MINIMAL).unwrap();
        assert!(cart.lines.is_empty() && cart.coupon_codes.is_empty() && !cart.guest);
        assert_eq!((cart.store.origin_region, cart.store.prices_include_tax, cart.now), (None, false, 0));
        let cart = cart_with(r#"[{"line_id": "a", "quantity": 2, "unit_price": 49900}]"#, "[]").unwrap();
        assert_eq!(cart.lines[0].subtotal(), Ok(99_800));
        assert_eq!(cart.lines[0].sku, "");
    }

    #[test]
    fn unknown_fields_are_refused_so_typos_do_not_vanish() {
        let err = cart_with(r#"[{"line_id": "a", "quantiy": 2, "unit_price": 1}]"#, "[]").unwrap_err();
        assert!(matches!(err, CartError::Json(ref m) if m.contains("quantiy")), "{err}");
    }

    #[test]
    fn invalid_lines_are_refused_with_the_line_named() {
        let cases = [
            (r#"[{"line_id": "a", "quantity": 0, "unit_price": 1}]"#, "quantity"),
            (r#"[{"line_id": "a", "quantity": 1, "unit_price": -1}]"#, "negative"),
            (r#"[{"line_id": "", "quantity": 1, "unit_price": 1}]"#, "empty"),
            (
                r#"[{"line_id": "a", "quantity": 1, "unit_price": 1}, {"line_id": "a", "quantity": 1, "unit_price": 1}]"#,
                "twice",
            ),
        ];
        for (lines, expected) in cases {
            let err = cart_with(lines, "[]").unwrap_err();
            assert!(matches!(&err, CartError::InvalidLine { reason, .. } if reason.contains(expected)), "{err}");
        }
    }

    #[test]
    fn a_subtotal_that_overflows_is_refused() {
        let lines = format!(r#"[{{"line_id": "a", "quantity": 2, "unit_price": {}}}]"#, i64::MAX / 2 + 1);
        assert_eq!(cart_with(&lines, "[]"), Err(CartError::Overflow));
        let lines = format!(
            r#"[{{"line_id": "a", "quantity": 1, "unit_price": {max}}}, {{"line_id": "b", "quantity": 1, "unit_price": 1}}]"#,
            max = i64::MAX
        );
        assert_eq!(cart_with(&lines, "[]"), Err(CartError::Overflow));
    }

    #[test]
    fn coupon_codes_must_be_distinct_ignoring_case() {
        assert!(matches!(cart_with("[]", r#"["WELCOME10", "welcome10"]"#), Err(CartError::InvalidCouponCode { .. })));
        assert!(matches!(cart_with("[]", r#"[" "]"#), Err(CartError::InvalidCouponCode { .. })));
        assert!(cart_with("[]", r#"["WELCOME10", "FLAT200"]"#).is_ok());
    }

    #[test]
    fn categories_run_from_the_line_category_to_the_root() {
        let line = CartLine {
            line_id: "a".into(),
            variant_id: String::new(),
            sku: String::new(),
            product_id: String::new(),
            category_slug: Some("crime".into()),
            category_ancestors: vec!["fiction".into(), "books".into()],
            quantity: 1,
            unit_price: 1,
        };
        assert_eq!(line.categories().collect::<Vec<_>>(), ["crime", "fiction", "books"]);
        assert!(line.in_category("books") && line.in_category("crime") && !line.in_category("toys"));
    }

    #[test]
    fn redemptions_are_looked_up_ignoring_case_and_default_to_zero() {
        let mut cart = Cart::from_json(MINIMAL).unwrap();
        cart.redemptions.push(Redemption { code: "WELCOME10".into(), total: 7, by_customer: 1 });
        assert_eq!(cart.redemptions_of("welcome10").total, 7);
        assert_eq!(cart.redemptions_of("FLAT200").by_customer, 0);
    }
}
