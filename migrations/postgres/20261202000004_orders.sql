-- Orders, checkout idempotency and coupon redemptions (issue 10). Times are Unix milliseconds.
-- Money is BIGINT minor units beside the order's one `currency`.

-- Cart statuses grow: 'converted' (checked out into an order) and 'merged' (a guest cart whose
-- lines moved into a customer's cart at login). Only 'active' carts are reachable by cart routes.

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    -- Human order number, sequential per shop and unique across instances; gaps are allowed
    -- (a rolled-back checkout may use one up). SQLite: `order_numbers` below; PostgreSQL: a sequence.
    number BIGINT NOT NULL UNIQUE,
    -- NULL for a guest order (reached with its derived `order_token`).
    customer_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    -- The cart it came from (no foreign key: idle carts are purged).
    cart_id TEXT NOT NULL,
    email TEXT NOT NULL,
    -- pending_payment | paid | processing | shipped | delivered | cancelled | refunded
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal BIGINT NOT NULL,
    discount_total BIGINT NOT NULL,
    shipping_total BIGINT NOT NULL,
    tax_total BIGINT NOT NULL,
    fee_total BIGINT NOT NULL,
    total BIGINT NOT NULL,
    -- Snapshots as JSON text: the shipping address, the cart-level adjustments (plugin, label,
    -- amount, code…), the coupon codes and the notices the shopper saw. Later edits to the
    -- catalogue, the address book or the plugin chain never change them.
    shipping_address TEXT NOT NULL,
    adjustments TEXT NOT NULL,
    coupon_codes TEXT NOT NULL,
    pricing_version TEXT NOT NULL,
    -- The provider chosen at checkout (`payments.providers`), and what is known of the money.
    payment_provider TEXT NOT NULL,
    refunded_total BIGINT NOT NULL DEFAULT 0,
    paid_at BIGINT,
    -- When an unpaid order is cancelled by the expiry job; NULL when it never expires
    -- (`manual`, or once it is paid).
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_email ON orders (email, status);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_created ON orders (created_at, id);
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment' AND expires_at IS NOT NULL;

CREATE TABLE order_items (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    -- No foreign keys: the snapshot outlives archived products and removed variants.
    variant_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    variant_title TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    subtotal BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    net BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    total BIGINT NOT NULL,
    -- Every adjustment of this line (plugin, kind, amount, code, label, tax breakdown) as JSON.
    adjustments TEXT NOT NULL,
    UNIQUE (order_id, position)
);

-- The status history: every change, who made it and why.
CREATE TABLE order_events (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    -- `customer`, `guest`, `staff:<user id>`, `system` (expiry), `provider:<name>`.
    actor TEXT NOT NULL,
    -- NULL for the order's creation.
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX order_events_order ON order_events (order_id, at, id);

-- One row per coupon code an order redeemed. A redemption counts while its order is not
-- cancelled (cancellation and expiry release it by the order's status alone).
CREATE TABLE coupon_redemptions (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    code_key TEXT NOT NULL,
    customer_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (order_id, code_key)
);
CREATE INDEX coupon_redemptions_code ON coupon_redemptions (code_key, customer_id);

-- Live use counts per code (orders not cancelled), the guard checkout compares-and-sets inside
-- its transaction: the count it priced with must still be the count at commit, so two checkouts
-- cannot both take a coupon's last use. Cancellation decrements it in its own transaction.
CREATE TABLE coupon_usage (
    code_key TEXT PRIMARY KEY,
    uses BIGINT NOT NULL
);

-- Idempotency records (API.md): scoped to the caller and the endpoint, kept 24 hours.
CREATE TABLE idempotency_keys (
    -- e.g. `checkout:usr_…` or `checkout:cart_…` (a guest's cart)
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    -- SHA-256 of the canonical JSON body: the same key with another body is refused.
    request_hash TEXT NOT NULL,
    -- in_progress | done
    state TEXT NOT NULL,
    -- The claim's lease: a request that died mid-way stops blocking its key when it runs out.
    lease_until BIGINT NOT NULL,
    -- Set in the checkout transaction: a retry after a crash past the commit finds the order
    -- instead of creating a second one.
    order_id TEXT,
    response_status BIGINT,
    response_body TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Order numbers on PostgreSQL: a sequence, so instances never wait on one another for a number
-- (nextval is not rolled back: a failed checkout leaves a gap, which is allowed).
CREATE SEQUENCE order_numbers START WITH 1001;
