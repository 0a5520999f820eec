//! `/api/v1/admin/orders*`: staff read every order and move it through its states.

use std::sync::Arc;

use poem_openapi::{Enum, Object, OpenApi, Tags, param::Path, param::Query, payload::Json};

use super::{dto::OrderView, storefront::OrderPage};
use crate::{
    accounts::{AccountService, Caller, model::normalise_email},
    http::{pagination, problem::ApiError, security::BearerAuth, text::Text},
    orders::{
        OrderService,
        model::{Actor, OrderFilter, OrderStatus},
    },
    validation::FieldProblem,
};

#[derive(Tags)]
enum AdminOrderTags {
    /// Every order: lists, details and status changes.
    #[oai(rename = "Admin · Orders")]
    AdminOrders,
}

pub struct AdminOrdersApi {
    pub accounts: Arc<AccountService>,
    pub orders: Arc<OrderService>,
}

/// An order status, as the list filter takes it.
#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum OrderStatusDto {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl From<OrderStatusDto> for OrderStatus {
    fn from(value: OrderStatusDto) -> Self {
        match value {
            OrderStatusDto::PendingPayment => Self::PendingPayment,
            OrderStatusDto::Paid => Self::Paid,
            OrderStatusDto::Processing => Self::Processing,
            OrderStatusDto::Shipped => Self::Shipped,
            OrderStatusDto::Delivered => Self::Delivered,
            OrderStatusDto::Cancelled => Self::Cancelled,
            OrderStatusDto::Refunded => Self::Refunded,
        }
    }
}

#[derive(Object)]
pub struct TransitionBody {
    /// The next status: `paid` (manual payments), `processing`, `shipped`, `delivered` or
    /// `cancelled` (API.md's order-state table).
    pub to: Text,
    /// Kept in the status history; a cancellation's reason is also in the shopper's mail.
    pub reason: Option<Text>,
}

/// An RFC 3339 query value as Unix ms, or the problem naming `field`.
fn instant(field: &str, raw: Option<Text>, problems: &mut Vec<FieldProblem>) -> Option<i64> {
    let raw = raw?;
    match chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(at) => Some(at.timestamp_millis()),
        Err(_) => {
            problems.push(FieldProblem::new(field, "must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z"));
            None
        }
    }
}

impl AdminOrdersApi {
    async fn staff(&self, auth: &BearerAuth) -> Result<Caller, ApiError> {
        Ok(self.accounts.authenticate_staff(auth.token()).await?)
    }
}

#[OpenApi(prefix_path = "/api/v1/admin/orders", tag = "AdminOrderTags::AdminOrders")]
impl AdminOrdersApi {
    /// List orders
    ///
    /// Every order, newest first. Filters: `status`, `email` (exact, case-insensitive),
    /// `created_from` (inclusive) and `created_to` (exclusive), RFC 3339 date-times.
    #[oai(path = "/", method = "get", operation_id = "adminListOrders")]
    #[expect(clippy::too_many_arguments, reason = "one parameter per documented query value")]
    async fn list(
        &self,
        auth: BearerAuth,
        status: Query<Option<OrderStatusDto>>,
        email: Query<Option<Text>>,
        created_from: Query<Option<Text>>,
        created_to: Query<Option<Text>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<Text>>,
    ) -> Result<Json<OrderPage>, ApiError> {
        self.staff(&auth).await?;
        let limit = pagination::limit(limit.0)?;
        let mut problems = Vec::new();
        let filter = OrderFilter {
            status: status.0.map(Into::into),
            email: email.0.map(|e| normalise_email(&e)).filter(|e| !e.is_empty()),
            created_from: instant("created_from", created_from.0, &mut problems),
            created_to: instant("created_to", created_to.0, &mut problems),
        };
        if let (Some(from), Some(to)) = (filter.created_from, filter.created_to)
            && from > to
        {
            problems.push(FieldProblem::new("created_from", "must not be after created_to"));
        }
        if !problems.is_empty() {
            return Err(ApiError::validation(problems));
        }
        // The cursor belongs to these filters: one from another query is 400 `invalid_cursor`.
        let scope = format!(
            "admin/orders|status={}|email={}|from={}|to={}",
            filter.status.map_or("", OrderStatus::as_str),
            filter.email.as_deref().unwrap_or(""),
            filter.created_from.map(|t| t.to_string()).unwrap_or_default(),
            filter.created_to.map(|t| t.to_string()).unwrap_or_default(),
        );
        let before = match cursor.0 {
            Some(c) => pagination::decode(&scope, &c, 1)?.pop(),
            None => None,
        };
        let records = self.orders.list_all(&filter, before.as_deref(), limit).await?;
        let (records, more) = pagination::split_page(records, limit);
        let next_cursor =
            more.then(|| records.last().map(|r| pagination::encode(&scope, vec![r.order.id.clone()]))).flatten();
        Ok(Json(OrderPage { items: records.into_iter().map(OrderView::of).collect(), next_cursor: next_cursor.into() }))
    }

    /// One order
    #[oai(path = "/:id", method = "get", operation_id = "adminGetOrder")]
    async fn get(&self, auth: BearerAuth, id: Path<Text>) -> Result<Json<OrderView>, ApiError> {
        self.staff(&auth).await?;
        Ok(Json(OrderView::of(self.orders.get_any(&id.0).await?)))
    }

    /// Move an order to its next status
    ///
    /// One step of API.md's order-state table: `pending_payment → paid` (manual payments only),
    /// `paid → processing → shipped → delivered`, or `cancelled` from `pending_payment`, `paid`
    /// or `processing` (the stock goes back once; a paid order's refund is noted in the
    /// history). Anything else, or a move another request made first, is 409
    /// `illegal_transition`. The shopper is mailed when the order is paid, shipped or cancelled.
    #[oai(path = "/:id/transitions", method = "post", operation_id = "adminTransitionOrder")]
    async fn transition(
        &self,
        auth: BearerAuth,
        id: Path<Text>,
        body: Json<TransitionBody>,
    ) -> Result<Json<OrderView>, ApiError> {
        let caller = self.staff(&auth).await?;
        let Some(to) = OrderStatus::parse(body.0.to.trim()) else {
            let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(ApiError::invalid_field("to", format!("must be one of: {}", known.join(", "))));
        };
        let reason = body.0.reason.map(String::from);
        let record = self.orders.transition(Actor::Staff(caller.user_id), None, &id.0, to, reason).await?;
        Ok(Json(OrderView::of(record)))
    }
}
