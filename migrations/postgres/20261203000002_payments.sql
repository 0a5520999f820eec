-- Payments (issue 11): what each order's gateway has said about the money, every gateway order
-- opened for it, every event received, and every refund. Times are Unix ms; booleans are 0/1.

-- One row per order (1:1), written by checkout in the order's own transaction.
CREATE TABLE payments (
    order_id TEXT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    -- What must be paid, as the order was placed.
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- pending: nothing taken yet | capturing: one request holds the claim to capture
    -- `gateway_payment_id` | captured: the money of `gateway_payment_id` is ours (the order went
    -- to `paid`, or it came too late and is refunded) | not_required: a total of 0.
    -- Every move is a state-guarded UPDATE, so exactly one request captures and pays.
    state TEXT NOT NULL,
    gateway_payment_id TEXT,
    -- When the capture claim was taken: a claim older than its lease (a request that died) may be
    -- taken again.
    claimed_at BIGINT,
    captured_at BIGINT,
    -- Why staff must look at this payment (an amount or currency that does not match the order,
    -- a failed refund); NULL when nothing is wrong. `GET /admin/orders?payment_review=true`.
    review TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX payments_review ON payments (order_id) WHERE review IS NOT NULL;

-- Every gateway order (payment attempt container) opened for an order: a payment on any of them
-- pays the order. The newest is handed out again while the order is unpaid.
CREATE TABLE payment_sessions (
    provider TEXT NOT NULL,
    gateway_order_id TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The gateway's JSON for the storefront widget (never a secret).
    client_payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, gateway_order_id)
);
CREATE INDEX payment_sessions_order ON payment_sessions (order_id, created_at);

-- What the gateways told us: verified webhooks (stored before they are answered, processed by
-- the `payments` job), checkout results, and the expiry job's status checks.
CREATE TABLE payment_events (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    -- The gateway's event id (webhooks): a redelivery of one event is stored once.
    event_id TEXT,
    -- webhook | verify | status_check
    source TEXT NOT NULL,
    -- NULL until the event is matched to an order (or never: an event for no order of ours).
    order_id TEXT,
    -- What the plugin made of it (JSON), and the webhook's body as received (UTF-8 text).
    detail TEXT NOT NULL,
    body TEXT,
    -- received (due) | processed | ignored | review
    state TEXT NOT NULL,
    note TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- A processing claim: while it runs, no other instance takes the event.
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE UNIQUE INDEX payment_events_dedup ON payment_events (provider, event_id);
CREATE INDEX payment_events_due ON payment_events (created_at) WHERE state = 'received';
CREATE INDEX payment_events_order ON payment_events (order_id, created_at);

-- Refunds: by staff, by a cancelled paid order, and of payments that came too late or twice.
-- A row is written (reserving its amount) before the gateway is asked, so a refund whose call
-- failed is retried by the `payments` job with the same idempotency key, never lost or doubled.
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    -- The gateway payment refunded; NULL for staff-recorded (manual) refunds.
    gateway_payment_id TEXT,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- staff | cancellation | late_payment | extra_payment
    cause TEXT NOT NULL,
    reason TEXT,
    -- pending (not yet accepted by the gateway) | processing (accepted, not settled) |
    -- processed | failed
    state TEXT NOT NULL,
    gateway_refund_id TEXT,
    -- Sent to the gateway (`X-Refund-Idempotency`): the same for every retry of this refund.
    gateway_key TEXT NOT NULL UNIQUE,
    -- Whether it counts in `orders.refunded_total` (refunds of the order's own payment).
    counts BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    lease_until BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id, created_at);
CREATE INDEX refunds_due ON refunds (updated_at) WHERE state = 'pending';
-- A late or second payment is refunded once, however many events report it.
CREATE UNIQUE INDEX refunds_of_payment ON refunds (provider, gateway_payment_id)
    WHERE cause IN ('late_payment', 'extra_payment');
CREATE UNIQUE INDEX refunds_gateway_id ON refunds (provider, gateway_refund_id);

-- Orders placed before payments existed get their row.
INSERT INTO payments (order_id, provider, amount, currency, state, captured_at, created_at, updated_at)
SELECT id, payment_provider, total, currency,
       CASE WHEN total = 0 THEN 'not_required' WHEN paid_at IS NOT NULL THEN 'captured' ELSE 'pending' END,
       paid_at, created_at, updated_at
FROM orders;
