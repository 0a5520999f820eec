//! `/api/v1/admin/orders*`: staff read every order and move it through its states.

use std::sync::Arc;

use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
    types::ToJSON,
};
use sha2::{Digest, Sha256};

use super::{
    checkout::{canonical, idempotency_key, replayed, stored_refusal},
    dto::{OrderView, RefundView, refund_view},
    storefront::OrderPage,
};
use crate::{
    accounts::{AccountService, Caller, model::normalise_email},
    http::{pagination, problem::ApiError, raw_json::RawJson, security::BearerAuth, text::Text},
    orders::{
        OrderService,
        model::{Actor, OrderFilter, OrderStatus},
        service::refunds::{RefundOutcome, RefundReply, RefundRequestBody},
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

#[derive(Object)]
pub struct RefundBody {
    /// Minor units; absent: everything not yet refunded.
    pub amount: Option<i64>,
    /// Kept with the refund, sent to the gateway and repeated in the shopper's mail.
    pub reason: Option<Text>,
}

/// A refund made, with the order after it.
#[derive(Object)]
pub struct RefundResult {
    pub refund: RefundView,
    pub order: OrderView,
}

#[derive(ApiResponse)]
pub enum RefundResponse {
    /// The refund was made (`state` `processing` or `processed`), or written and not yet
    /// accepted by an unreachable gateway (`pending`: the `payments` job sends it again with the
    /// same gateway idempotency key). A replay has `Idempotent-Replayed: true`.
    #[oai(status = 201)]
    Created(RawJson<RefundResult>),
}

fn refund_json(outcome: &RefundOutcome) -> serde_json::Value {
    RefundResult { refund: refund_view(outcome.refund.clone()), order: OrderView::of(outcome.record.clone()) }
        .to_json()
        .unwrap_or_default()
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
    /// `created_from` (inclusive) and `created_to` (exclusive), RFC 3339 date-times, and
    /// `payment_review` (true: only orders whose payment staff must look at, e.g. an amount that
    /// did not match or a refund that failed).
    #[oai(path = "/", method = "get", operation_id = "adminListOrders")]
    #[expect(clippy::too_many_arguments, reason = "one parameter per documented query value")]
    async fn list(
        &self,
        auth: BearerAuth,
        status: Query<Option<OrderStatusDto>>,
        email: Query<Option<Text>>,
        created_from: Query<Option<Text>>,
        created_to: Query<Option<Text>>,
        payment_review: Query<Option<bool>>,
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
            payment_review: payment_review.0,
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
            "admin/orders|status={}|email={}|from={}|to={}|review={}",
            filter.status.map_or("", OrderStatus::as_str),
            filter.email.as_deref().unwrap_or(""),
            filter.created_from.map(|t| t.to_string()).unwrap_or_default(),
            filter.created_to.map(|t| t.to_string()).unwrap_or_default(),
            filter.payment_review.map(|r| r.to_string()).unwrap_or_default(),
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

    /// Refund an order
    ///
    /// Full (no `amount`) or partial, through the order's gateway; for `manual` payments staff
    /// give the money back themselves and record it here (no gateway call). `Idempotency-Key`
    /// is required (scoped to the staff member and the order; the same rules as checkout's), and
    /// the gateway gets a key derived from it, so a retried refund is made once. Refunds never
    /// exceed what was paid, however they race (422 `validation_failed` on `amount`). When the
    /// refunds reach the total, a `paid` or `processing` order is cancelled (its stock returns)
    /// and a `delivered` one becomes `refunded`; partial refunds leave the status. 409
    /// `illegal_transition` for an order that was never paid; 502 `payment_provider_error` when
    /// the gateway refuses (the refund is `failed` and nothing is reserved).
    #[oai(path = "/:id/refunds", method = "post", operation_id = "adminRefundOrder")]
    async fn refund(
        &self,
        auth: BearerAuth,
        id: Path<Text>,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
        body: Json<RefundBody>,
    ) -> Result<RefundResponse, ApiError> {
        let caller = self.staff(&auth).await?;
        let key = idempotency_key(key.0)?;
        let body = body.0;
        let request_hash = hex::encode(Sha256::digest(canonical(&body.to_json().unwrap_or_default()).as_bytes()));
        let request = RefundRequestBody { amount: body.amount, reason: body.reason.map(String::from) };
        let reply = self
            .orders
            .refund(
                &caller.user_id,
                &id.0,
                &key,
                &request_hash,
                request,
                |outcome| refund_json(outcome).to_string(),
                stored_refusal,
            )
            .await?;
        match reply {
            RefundReply::Made(outcome) => Ok(RefundResponse::Created(RawJson::new(refund_json(&outcome)))),
            RefundReply::Replay { status, body } => Ok(RefundResponse::Created(RawJson::new(replayed(status, &body)?))),
        }
    }
}
