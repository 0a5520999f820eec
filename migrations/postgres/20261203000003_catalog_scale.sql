-- Catalog at scale: whether a product has a live variant in stock, stored beside its price
-- range and kept by the engine in the transaction that changes a variant's stock (staff edits,
-- checkout, cancellation, expiry), so the listing reads a column instead of probing variants
-- for every card.
ALTER TABLE products ADD COLUMN in_stock BIGINT NOT NULL DEFAULT 0;
UPDATE products SET in_stock = 1 WHERE EXISTS (
    SELECT 1 FROM variants v WHERE v.product_id = products.id AND v.deleted_at IS NULL AND v.stock > 0
);

-- Relevance without ranking every match: a product whose name holds every search term comes
-- before one that matches only through its description, newest first within each, so a search
-- page is a walk of the newest-first index filtered by the match, not a sort of all matches.
ALTER TABLE products ADD COLUMN name_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', name)) STORED;
CREATE INDEX products_name_search ON products USING GIN (name_search);

-- Covering indexes, one per storefront sort, over active products: the sort keys, then every
-- column the listing's filters read (category, price, stock, the name's search vector), so a
-- page's walk is an index-only scan that picks ids, and only the page's cards are read from the
-- table (see `listing.rs`). The description's vector is not included (long descriptions would
-- exceed an index entry); a search that needs it reads the table. They replace the
-- `(status, price)` and `(status, name_key)` indexes of the catalog migration; `price_desc`
-- (price descending, then id ascending) had no index in its order before.
CREATE INDEX products_cards_newest ON products (id)
    INCLUDE (category_id, min_price, in_stock, name_search) WHERE status = 'active';
CREATE INDEX products_cards_price ON products (min_price, id)
    INCLUDE (category_id, in_stock, name_search) WHERE status = 'active';
CREATE INDEX products_cards_price_desc ON products (min_price DESC, id)
    INCLUDE (category_id, in_stock, name_search) WHERE status = 'active';
CREATE INDEX products_cards_name ON products (name_key, id)
    INCLUDE (category_id, min_price, in_stock, name_search) WHERE status = 'active';
DROP INDEX products_status_price;
DROP INDEX products_status_name;
