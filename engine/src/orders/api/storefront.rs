//! `/api/v1/orders*`: a customer's (or a guest's, with `X-Order-Token`) own orders.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{Object, OpenApi, Tags, param::Path, param::Query, payload::Json};

use super::dto::OrderView;
use crate::{
    accounts::AccountService,
    http::{pagination, problem::ApiError, security::bearer_token, text::Text},
    orders::{OrderService, service::OrderCredential},
};

#[derive(Tags)]
enum OrderTags {
    /// A shopper's orders.
    Orders,
}

pub struct OrdersApi {
    pub accounts: Arc<AccountService>,
    pub orders: Arc<OrderService>,
}

#[derive(Object)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub next_cursor: crate::http::nullable::Nullable<String>,
}

const LIST_SCOPE: &str = "orders|mine";

#[OpenApi(prefix_path = "/api/v1", tag = "OrderTags::Orders")]
impl OrdersApi {
    /// Your orders
    ///
    /// The signed-in customer's orders, newest first.
    #[oai(path = "/orders", method = "get", operation_id = "listMyOrders")]
    async fn list(
        &self,
        req: &Request,
        limit: Query<Option<i64>>,
        cursor: Query<Option<Text>>,
    ) -> Result<Json<OrderPage>, ApiError> {
        let Some(token) = bearer_token(req) else {
            return Err(ApiError::unauthenticated("a bearer access token is required"));
        };
        let user = self.accounts.authenticate(token).await?.user_id;
        let limit = pagination::limit(limit.0)?;
        let before = match cursor.0 {
            Some(c) => pagination::decode(LIST_SCOPE, &c, 1)?.pop(),
            None => None,
        };
        let records = self.orders.list_mine(&user, before.as_deref(), limit).await?;
        let (records, more) = pagination::split_page(records, limit);
        let next_cursor =
            more.then(|| records.last().map(|r| pagination::encode(LIST_SCOPE, vec![r.order.id.clone()]))).flatten();
        Ok(Json(OrderPage { items: records.into_iter().map(OrderView::of).collect(), next_cursor: next_cursor.into() }))
    }

    /// Get an order
    ///
    /// The customer's own order, or a guest's with its `X-Order-Token` (from checkout); 404 to
    /// anyone else.
    #[oai(path = "/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get(&self, req: &Request, id: Path<Text>) -> Result<Json<OrderView>, ApiError> {
        let who = self.credential(req).await?;
        Ok(Json(OrderView::of(self.orders.get(&who, &id.0).await?)))
    }

    /// Cancel an order
    ///
    /// The owner cancels an order that is `pending_payment` or `paid` (not once it is being
    /// processed or has shipped: 409 `illegal_transition`, as for an order already cancelled).
    /// The stock goes back exactly once and coupon uses are released. A paid order is refunded
    /// in full through its gateway (the refund shows in `payment.refunds`); for the `manual`
    /// provider the history notes the refund staff owe and record by hand.
    #[oai(path = "/orders/:id/cancel", method = "post", operation_id = "cancelOrder")]
    async fn cancel(
        &self,
        req: &Request,
        id: Path<Text>,
        body: Json<Option<CancelBody>>,
    ) -> Result<Json<OrderView>, ApiError> {
        let who = self.credential(req).await?;
        let reason = body.0.and_then(|b| b.reason).map(String::from);
        Ok(Json(OrderView::of(self.orders.cancel(&who, &id.0, reason).await?)))
    }
}

#[derive(Object)]
pub struct CancelBody {
    /// Why, in the shopper's words; kept in the status history and repeated in the mail.
    pub reason: Option<Text>,
}

impl OrdersApi {
    async fn credential(&self, req: &Request) -> Result<OrderCredential, ApiError> {
        order_credential(&self.accounts, req).await
    }
}

/// Who an order route's caller is: a bearer token must be valid (401 otherwise); a guest's
/// `X-Order-Token` is checked against the order itself.
pub async fn order_credential(accounts: &AccountService, req: &Request) -> Result<OrderCredential, ApiError> {
    if let Some(token) = bearer_token(req) {
        return Ok(OrderCredential::User(accounts.authenticate(token).await?.user_id));
    }
    Ok(match req.header("X-Order-Token") {
        Some(token) if !token.trim().is_empty() => OrderCredential::OrderToken(token.trim().to_owned()),
        _ => OrderCredential::Anonymous,
    })
}
