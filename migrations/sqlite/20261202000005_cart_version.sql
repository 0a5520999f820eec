-- A cart's version: raised by every change to what its priced read shows (lines, coupons, email,
-- address, owner). The engine keeps priced carts in memory keyed by it, so a read on any instance
-- compares one integer instead of re-reading and re-pricing the cart (`carts::service::cache`).
ALTER TABLE carts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
