//! SDK for commerce engine plugins written in Rust.
//!
//! A pricing rule is a type implementing [`PricingRule`], registered with
//! [`export_pricing_rule!`]. Built for `wasm32-wasip2` it becomes a component of the
//! `commerce:plugin@0.1.0` world `pricing-rule` (the WIT is in `sdk/wit/`); built natively it is an
//! ordinary Rust type that [`testing`] runs through the same pipeline maths as the engine
//! ([`commerce_pipeline`], re-exported here), so native tests give the engine's priced cart.
//!
//! A payment gateway is a type implementing [`PaymentGateway`], registered with
//! [`export_payment_gateway!`]: a component of the world `payment-gateway`, reaching HTTP and its
//! keys only through a [`GatewayHost`] that names secrets, never holds them; natively,
//! [`testing::gateway`] runs it against in-memory secrets and a scripted HTTP fake.
//!
//! ```
//! use commerce_sdk::{Adjustment, CartView, PricingRule, RuleOutput, percent_of};
//!
//! /// 10 % off every line.
//! struct TenPercent;
//!
//! impl PricingRule for TenPercent {
//!     type Settings = commerce_sdk::NoSettings;
//!
//!     fn price(_: &Self::Settings, cart: &CartView) -> Result<RuleOutput, String> {
//!         let mut output = RuleOutput::default();
//!         for line in &cart.lines {
//!             let amount = percent_of(line.net, 1_000).map_err(|e| e.to_string())?;
//!             output.adjustments.push(Adjustment::line_discount(&line.line_id, amount, "10% off"));
//!         }
//!         Ok(output)
//!     }
//! }
//! commerce_sdk::export_pricing_rule!(TenPercent);
//!
//! let cart = commerce_sdk::Cart::from_json(r#"{"store": {"currency": "INR", "origin_country": "IN"},
//!     "lines": [{"line_id": "a", "quantity": 2, "unit_price": 1000}]}"#)?;
//! let priced = commerce_sdk::testing::run::<TenPercent>("{}", &cart)?;
//! assert_eq!(priced.total(), 1_800);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod convert;
pub mod gateway;
mod host;
mod rule;
pub mod testing;

pub use commerce_pipeline::{
    self as pipeline, Adjustment, AdjustmentKind, AppliedAdjustment, BASIS_POINTS_PER_WHOLE, Cart, CartLine, CartView,
    ConvertError, CouponErrorCode, CouponResult, CouponVerdict, Currency, LineView, Money, MoneyError, Notice,
    PipelineError, PricedCart, PricedLine, Redemption, RuleOutput, ShippingAddress, Store, Target, TaxComponent,
    allocate, format_basis_points, gst_breakdown, gst_split, percent_of,
};
pub use gateway::PaymentGateway;
pub use host::{GatewayHost, Host, Level, log};
pub use rule::{NoSettings, PricingRule, parse_settings};

/// The wit-bindgen output for the `pricing-rule` world. Not part of the API: plugin authors use
/// the pipeline types, and the host has its own (wasmtime) bindings.
#[doc(hidden)]
// Generated code: neither documented nor free of `unsafe` (it is the raw component ABI), and which
// lints it trips varies with the target, so `allow` rather than `expect`.
#[allow(missing_docs, unsafe_code, clippy::all, clippy::pedantic)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "pricing-rule",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_pricing_rule_world",
        default_bindings_module: "commerce_sdk::bindings",
    });
}

/// The wit-bindgen output for the `payment-gateway` world (a crate of its own, see its
/// `Cargo.toml`). Not part of the API: gateway authors use the types of [`gateway`].
#[doc(hidden)]
pub use commerce_sdk_gateway_bindings as gateway_bindings;

/// Support for [`export_pricing_rule!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::host::WasmHost;
    pub use crate::rule::{price_export, validate_settings_export};

    /// What [`export_payment_gateway!`](crate::export_payment_gateway) names, in one place.
    pub mod gateway {
        pub use crate::gateway::exports::*;
        pub use crate::gateway::validate_settings_export;
        pub use commerce_sdk_gateway_bindings::__export_payment_gateway_world as export_world;
        pub use commerce_sdk_gateway_bindings::exports::commerce::plugin::gateway::{
            CaptureRequest, ClientResult, GatewayCapabilities, GatewayError, Guest, Order, PaymentStatus,
            RefundRequest, RefundStatus, Session, Webhook, WebhookOutcome,
        };
        pub use commerce_sdk_gateway_bindings::exports::commerce::plugin::lifecycle::Guest as Lifecycle;
    }
}

/// Registers a [`PricingRule`] as the plugin's exports.
///
/// On `wasm32` this emits the component exports of the `pricing-rule` world (`validate-settings`
/// and `price`), wired to the rule and to the host's imports. On other targets it only checks that
/// the type implements [`PricingRule`]: wit-bindgen's export shims have fixed symbol names, so
/// emitting them natively would clash as soon as two plugins link into one test binary, and its
/// import stubs would panic. Use it once per plugin crate.
#[macro_export]
macro_rules! export_pricing_rule {
    ($rule:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct CommercePluginExports;

            impl $crate::bindings::exports::commerce::plugin::lifecycle::Guest for CommercePluginExports {
                fn validate_settings(
                    settings: ::std::string::String,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__private::validate_settings_export::<$rule>(&settings)
                }
            }

            impl $crate::bindings::exports::commerce::plugin::pricing::Guest for CommercePluginExports {
                fn price(
                    cart: $crate::bindings::commerce::plugin::types::Cart,
                ) -> ::std::result::Result<$crate::bindings::commerce::plugin::types::RuleOutput, ::std::string::String>
                {
                    $crate::__private::price_export::<$rule>(::std::rc::Rc::new($crate::__private::WasmHost), cart)
                }
            }

    $crate::bindings::__export_pricing_rule_world!(CommercePluginExports with_types_in $crate::bindings);
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn assert_pricing_rule<R: $crate::PricingRule>() {}
            assert_pricing_rule::<$rule>();
        };
    };
}

/// Registers a [`PaymentGateway`] as the plugin's exports.
///
/// On `wasm32` this emits the component exports of the `payment-gateway` world (`lifecycle` and
/// `gateway`), wired to the gateway and to the host's imports. Elsewhere it only checks that the
/// type implements [`PaymentGateway`], for the reasons given at [`export_pricing_rule!`]: test a
/// gateway natively with [`testing::gateway`]. Use it once per plugin crate.
#[macro_export]
macro_rules! export_payment_gateway {
    ($gateway:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use ::std::rc::Rc;
            use ::std::result::Result;
            use ::std::string::String;
            use $crate::__private::gateway as glue;

            struct CommercePluginExports;

            impl glue::Lifecycle for CommercePluginExports {
                fn validate_settings(settings: String) -> Result<(), String> {
                    glue::validate_settings_export::<$gateway>(&settings)
                }
            }

            impl glue::Guest for CommercePluginExports {
                fn capabilities() -> glue::GatewayCapabilities {
                    glue::capabilities::<$gateway>(Rc::new($crate::__private::WasmHost))
                }

                fn create_session(order: glue::Order) -> Result<glue::Session, glue::GatewayError> {
                    glue::create_session::<$gateway>(Rc::new($crate::__private::WasmHost), order)
                }

                fn verify(outcome: glue::ClientResult) -> Result<glue::PaymentStatus, glue::GatewayError> {
                    glue::verify::<$gateway>(Rc::new($crate::__private::WasmHost), outcome)
                }

                fn handle_webhook(webhook: glue::Webhook) -> Result<glue::WebhookOutcome, glue::GatewayError> {
                    glue::handle_webhook::<$gateway>(Rc::new($crate::__private::WasmHost), webhook)
                }

                fn fetch_status(
                    order_id: String,
                    gateway_order_id: String,
                ) -> Result<glue::PaymentStatus, glue::GatewayError> {
                    glue::fetch_status::<$gateway>(Rc::new($crate::__private::WasmHost), order_id, gateway_order_id)
                }

                fn capture(request: glue::CaptureRequest) -> Result<glue::PaymentStatus, glue::GatewayError> {
                    glue::capture::<$gateway>(Rc::new($crate::__private::WasmHost), request)
                }

                fn refund(request: glue::RefundRequest) -> Result<glue::RefundStatus, glue::GatewayError> {
                    glue::refund::<$gateway>(Rc::new($crate::__private::WasmHost), request)
                }
            }

    glue::export_world!(CommercePluginExports with_types_in $crate::gateway_bindings);
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn assert_payment_gateway<G: $crate::PaymentGateway>() {}
            assert_payment_gateway::<$gateway>();
        };
    };
}
