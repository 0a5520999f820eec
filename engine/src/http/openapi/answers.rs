//! What each operation can answer besides its success, by operationId. Reviewed against the
//! handlers and the domain error enums: a status belongs here only if some request can get it.
//!
//! Added to every operation: 413 (the body limit applies to every route). Added to every
//! operation with a request body: 400 (malformed JSON, wrong types, missing fields), 415 (not
//! `application/json`) and 422 (`validation_failed`). Added to every operation with a string path
//! or query parameter: 422 (a control character in it).

use std::collections::BTreeMap;

/// One reason an operation fails.
#[derive(Clone, Copy)]
enum A {
    /// A bearer token is required and checked (customer routes).
    Customer,
    /// A staff bearer token is required.
    Staff,
    /// A cursor-paginated list: `limit` and `cursor` (and typed filters) can be wrong.
    List,
    /// A path id that may not exist (or belong to someone else).
    NotFound,
    /// The database is reached: 503 when it is down.
    Db,
    Unauthorized(&'static str),
    Forbidden(&'static str),
    Conflict(&'static str),
    Unprocessable(&'static str),
    RateLimited,
    PricingUnavailable,
    /// The payment provider failed (502 `payment_provider_error`).
    ProviderFailed,
    /// A gateway plugin could not read a verified webhook, or failed (503 `unavailable`).
    GatewayUnavailable,
}

/// Operations whose body is taken as raw bytes of any type (a gateway's webhook), not JSON.
const RAW_BODY_OPERATIONS: &[&str] = &["receiveWebhook"];

use A::*;

/// `None` for an operation missing from the table (a test walks the document for those).
fn reasons(operation_id: &str) -> Option<&'static [A]> {
    Some(match operation_id {
        "register" => &[Conflict("`email_taken`"), RateLimited, Db],
        "login" => &[Unauthorized("`invalid_credentials`"), Forbidden("`account_disabled`"), RateLimited, Db],
        "refreshSession" => &[
            Unauthorized("`token_invalid` (unknown or expired), `token_reused` (its session is now revoked)"),
            Forbidden("`account_disabled`"),
            Db,
        ],
        "logout" => &[Unauthorized("`token_invalid`"), Db],
        "requestPasswordReset" => &[Db],
        "confirmPasswordReset" => &[Unauthorized("`token_invalid` (unknown, used or expired)"), RateLimited, Db],
        "getMe" | "updateMe" | "createAddress" => &[Customer, Db],
        "changePassword" => &[Customer, Unauthorized("`invalid_credentials` (the current password is wrong)"), Db],
        "listAddresses" => &[Customer, List, Db],
        "getAddress" | "updateAddress" | "deleteAddress" => &[Customer, NotFound, Db],
        "listCategories" => &[Db],
        "getCategory" | "getProduct" => &[NotFound, Db],
        "listProducts" => {
            &[List, Unprocessable("`validation_failed`: a negative price, or `min_price` > `max_price`"), Db]
        }
        "adminListCustomers" | "adminListCategories" | "adminListProducts" => &[Staff, List, Db],
        "adminGetCustomer"
        | "adminGetCategory"
        | "adminGetProduct"
        | "adminArchiveProduct"
        | "adminDeleteVariant"
        | "adminUpdateCustomer" => &[Staff, NotFound, Db],
        "adminCreateCategory" => &[Staff, Conflict("`slug_taken`"), Db],
        "adminUpdateCategory" => &[Staff, NotFound, Conflict("`slug_taken`, `category_cycle`"), Db],
        "adminDeleteCategory" => &[Staff, NotFound, Conflict("`category_not_empty`"), Db],
        "adminCreateProduct" => &[Staff, Conflict("`slug_taken`, `sku_taken`, `variant_exists`"), Db],
        "adminUpdateProduct" => &[Staff, NotFound, Conflict("`slug_taken`"), Db],
        "adminCreateVariant" => &[Staff, NotFound, Conflict("`sku_taken`, `variant_exists`"), Db],
        "adminUpdateVariant" => {
            &[Staff, NotFound, Conflict("`sku_taken`, `insufficient_stock` (with `available`)"), Db]
        }
        // A bearer token is optional on cart routes, but one that is sent must be valid.
        "createCart" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            PricingUnavailable,
            Db,
        ],
        "getMyCart" => &[Customer, PricingUnavailable, Db],
        "updateCart" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            PricingUnavailable,
            Db,
        ],
        "applyCartCoupon" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Unprocessable("`coupon_unknown`; `coupon_ineligible` (with the plugin's `reason`)"),
            PricingUnavailable,
            Db,
        ],
        "getCart" | "removeCartLine" | "removeCartCoupon" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            PricingUnavailable,
            Db,
        ],
        "addCartLine" | "updateCartLine" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Conflict("`insufficient_stock` (with `available`)"),
            Unprocessable("`validation_failed`: an unknown variant, a quantity out of range, too many lines"),
            PricingUnavailable,
            Db,
        ],
        "adminPreviewPricing" => &[Staff, PricingUnavailable, Db],
        "adminListPlugins" => &[Staff, Db],
        "adminReloadPlugins" => &[
            Staff,
            Unprocessable(
                "`plugin_load_failed`: the reload was refused and the previous set stays; `errors[]` names each problem",
            ),
            Db,
        ],
        "checkout" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Conflict(
                "`insufficient_stock` (`lines[]` with `available`), `line_unavailable` (`lines[]`), `price_changed` \
                 (with the new `total`), `cart_converted`, `too_many_unpaid_orders`, `idempotency_in_progress`",
            ),
            Unprocessable(
                "`idempotency_key_required`, `idempotency_key_reused`, `cart_empty`, `coupon_ineligible` (a coupon \
                 lost its last use to another order)",
            ),
            PricingUnavailable,
            Db,
        ],
        "listMyOrders" => &[Customer, List, Db],
        "getOrder" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Db,
        ],
        "cancelOrder" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Conflict("`illegal_transition`: the order has shipped, or is already cancelled"),
            Db,
        ],
        "createOrderPayment" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Conflict("`illegal_transition`: the order is not awaiting payment"),
            ProviderFailed,
            Db,
        ],
        "adminListOrders" => &[
            Staff,
            List,
            Unprocessable(
                "`validation_failed`: `created_from` or `created_to` is not an RFC 3339 date-time, or `created_from` \
                 is after `created_to`",
            ),
            Db,
        ],
        "verifyOrderPayment" => &[
            Unauthorized("`unauthenticated`: an invalid or expired access token"),
            Forbidden("`account_disabled`"),
            NotFound,
            Unprocessable(
                "`payment_verification_failed`: the signature, the gateway order or the amount did not verify, or \
                 the provider takes no storefront confirmation (`manual`)",
            ),
            ProviderFailed,
            Db,
        ],
        "receiveWebhook" => &[
            Unauthorized("`webhook_signature_invalid`: the signature is missing or wrong; nothing was kept"),
            NotFound,
            GatewayUnavailable,
            Db,
        ],
        "adminRefundOrder" => &[
            Staff,
            NotFound,
            Conflict(
                "`illegal_transition`: the order was never paid (or has no captured payment), or is refunded; \
                 `idempotency_in_progress`",
            ),
            Unprocessable(
                "`idempotency_key_required`, `idempotency_key_reused`; `validation_failed`: `amount` is not between \
                 1 and what is left to refund",
            ),
            ProviderFailed,
            Db,
        ],
        "adminGetOrder" => &[Staff, NotFound, Db],
        "adminTransitionOrder" => &[Staff, NotFound, Conflict("`illegal_transition`"), Db],
        "getHealth" => &[],
        "getMetrics" => {
            &[Unauthorized("`unauthenticated`: `server.metrics = \"token\"` and no or another bearer token"), NotFound]
        }
        "getReadiness" => &[Db],
        _ => return None,
    })
}

/// `(status, description)` for every error the operation can answer, in status order; `None`
/// when the operation is not in the table. `has_text_params`: some path or query parameter is a
/// string, which refuses control characters (`http::text::Text`).
pub fn answers(operation_id: &str, has_body: bool, has_text_params: bool) -> Option<Vec<(u16, String)>> {
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    let mut add = |status: u16, text: &'static str| by_status.entry(status).or_default().push(text);
    add(413, "`payload_too_large`: the request body is over `server.body_limit`");
    if has_body && RAW_BODY_OPERATIONS.contains(&operation_id) {
        add(422, "`validation_failed`: a JSON body with a NUL character");
    } else if has_body {
        add(400, "`bad_request`: malformed JSON, a field of the wrong type, or a missing required field");
        add(415, "`unsupported_media_type`: the body must be `application/json`");
        add(422, "`validation_failed`: `errors[]` names every bad field");
    }
    if has_text_params {
        add(422, "`validation_failed`: a path or query value contains a control character");
    }
    for reason in reasons(operation_id)? {
        match *reason {
            Customer => {
                add(401, "`unauthenticated`: no, invalid or expired access token");
                add(403, "`account_disabled`");
            }
            Staff => {
                add(401, "`unauthenticated`: no, invalid or expired access token");
                add(403, "`forbidden` (not staff, or an admin-only change), `account_disabled`");
            }
            List => {
                add(400, "`bad_request`: a parameter of the wrong type or value; `invalid_cursor`");
                add(422, "`validation_failed`: `limit` outside 1–100");
            }
            NotFound => add(404, "`not_found`"),
            Db => add(503, "`unavailable`: the database is unreachable; retry after `Retry-After`"),
            Unauthorized(codes) => add(401, codes),
            Forbidden(codes) => add(403, codes),
            Conflict(codes) => add(409, codes),
            Unprocessable(codes) => add(422, codes),
            RateLimited => add(429, "`rate_limited`: too many attempts; retry after `Retry-After`"),
            PricingUnavailable => add(503, "`pricing_unavailable`: a pricing plugin failed (`plugin` names it)"),
            ProviderFailed => add(502, "`payment_provider_error`: the payment provider failed (`provider` names it)"),
            GatewayUnavailable => add(
                503,
                "`unavailable`: the gateway plugin could not read the verified event, or failed; the gateway delivers \
                 it again after `Retry-After`",
            ),
        }
    }
    Some(by_status.into_iter().map(|(status, texts)| (status, texts.join("; "))).collect())
}
