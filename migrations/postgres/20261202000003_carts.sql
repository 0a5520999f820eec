-- Carts (issue 10). Times are Unix milliseconds (BIGINT), like every other table.
CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    -- NULL for a guest cart, which is reached by its token instead.
    customer_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of a guest cart's token: the token itself is shown once and never stored,
    -- so a leaked database cannot open guest carts.
    token_hash TEXT,
    -- 'active' for now; checkout will add 'converted' and merge-on-login 'merged'.
    status TEXT NOT NULL DEFAULT 'active',
    email TEXT,
    -- The shipping address as JSON text (a copy: editing the address book later does not change
    -- a cart), so tax and shipping show before checkout.
    shipping_address TEXT,
    created_at BIGINT NOT NULL,
    -- Bumped on every change: the cleanup job deletes carts idle for longer than `carts.ttl`.
    updated_at BIGINT NOT NULL
);
-- A customer has at most one active cart, enforced here so two concurrent "create" requests
-- cannot both insert one (the loser reads the winner's cart).
CREATE UNIQUE INDEX carts_one_active_per_customer ON carts (customer_id)
    WHERE status = 'active' AND customer_id IS NOT NULL;
CREATE INDEX carts_updated_at ON carts (updated_at);

CREATE TABLE cart_lines (
    id TEXT PRIMARY KEY,
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    -- No foreign key: a line whose variant was removed stays on the cart with a notice.
    variant_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- One line per variant: adding it again adds to this line's quantity.
    UNIQUE (cart_id, variant_id)
);

-- Coupon codes the shopper entered and a plugin accepted, in the order they were added. A code
-- that stops applying later stays here (the priced cart shows the verdict) until removed.
CREATE TABLE cart_coupons (
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    -- As the plugin accepted it; compared case-insensitively through `code_key`.
    code TEXT NOT NULL,
    code_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (cart_id, code_key)
);
