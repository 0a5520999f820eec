//! The wit-bindgen output for the `payment-gateway` world of `../wit/commerce-plugin.wit`.
//!
//! Plugin authors use `commerce_sdk::gateway` and `commerce_sdk::export_payment_gateway!`, which
//! convert to and from these types. With `pub_export_macro`, the type section linked from this
//! crate describes the world's imports only (the component drops the unused ones, so a pricing
//! rule linking the SDK imports no HTTP), and the exports' section is emitted by the export macro
//! in the one crate that invokes it.
// Generated code: neither documented nor free of `unsafe`, and which lints it trips varies with
// the target, so `allow` rather than `expect`.
#![allow(missing_docs, unsafe_code, clippy::all, clippy::pedantic)]

wit_bindgen::generate!({
    world: "payment-gateway",
    path: "../wit",
    pub_export_macro: true,
    export_macro_name: "__export_payment_gateway_world",
    default_bindings_module: "commerce_sdk::gateway_bindings",
});
