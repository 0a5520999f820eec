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

-- `price_desc` orders by price descending, then id ascending: an index in exactly that order,
-- so the page is read in order instead of sorting every active product.
CREATE INDEX products_status_price_desc ON products (status, min_price DESC, id);
