-- Catalog at scale: whether a product has a live variant in stock, stored beside its price
-- range and kept by the engine in the transaction that changes a variant's stock (staff edits,
-- checkout, cancellation, expiry), so the listing reads a column instead of probing variants
-- for every card.
ALTER TABLE products ADD COLUMN in_stock BIGINT NOT NULL DEFAULT 0;
UPDATE products SET in_stock = 1 WHERE EXISTS (
    SELECT 1 FROM variants v WHERE v.product_id = products.id AND v.deleted_at IS NULL AND v.stock > 0
);

-- Covering indexes, one per storefront sort, over active products: the sort keys, then every
-- column the listing's filters read (category, price, stock), so a page's walk reads only the
-- index and only the page's cards are read from the table (see `listing.rs`). They replace the
-- `(status, price)` and `(status, name_key)` indexes of the catalog migration; `price_desc`
-- (price descending, then id ascending) had no index in its order before.
CREATE INDEX products_cards_newest ON products (id, category_id, min_price, in_stock) WHERE status = 'active';
CREATE INDEX products_cards_price ON products (min_price, id, category_id, in_stock) WHERE status = 'active';
CREATE INDEX products_cards_price_desc ON products (min_price DESC, id, category_id, in_stock) WHERE status = 'active';
CREATE INDEX products_cards_name ON products (name_key, id, category_id, min_price, in_stock) WHERE status = 'active';
DROP INDEX products_status_price;
DROP INDEX products_status_name;
-- Without it SQLite no longer prefers `status = ?` on this index (then sorting every active
-- product) to the covering index in the page's order (`price_desc` at 100k products: 114 ms a
-- page, now a few). The staff list reads the primary key.
DROP INDEX products_status_id;
