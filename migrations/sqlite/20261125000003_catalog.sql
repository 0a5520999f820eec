-- Catalog: a category tree, products with options and variants, full-text search.

-- `path` is the materialised chain of ids from the root, `/cat_A/cat_B/` for B under A, so
-- "this category and all descendants" is one indexed prefix match, and a move rewrites the
-- prefix of the subtree in one UPDATE.
CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES categories (id),
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id, position, id);
CREATE INDEX categories_path ON categories (path);

CREATE TABLE products (
    -- An INTEGER PRIMARY KEY is the rowid itself, which VACUUM never renumbers: the full-text
    -- index below refers to products by it.
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Case-folded name: the `name` sort uses an index instead of lower() per row.
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    category_id TEXT REFERENCES categories (id),
    -- JSON: [{"url", "alt"}] in display order.
    images TEXT NOT NULL DEFAULT '[]',
    -- JSON: [{"name": "Size", "values": ["S", "M"]}] in display order.
    options TEXT NOT NULL DEFAULT '[]',
    currency TEXT NOT NULL,
    -- Cheapest / dearest live variant, maintained by the engine inside the transaction that
    -- changes a variant's price (under the product's row lock), so price filters and sorts are
    -- index scans with keyset pagination. NULL while the product has no live variant.
    min_price INTEGER,
    max_price INTEGER,
    default_variant_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX products_status_id ON products (status, id);
CREATE INDEX products_status_price ON products (status, min_price, id);
CREATE INDEX products_status_name ON products (status, name_key, id);
CREATE INDEX products_category ON products (category_id, status);

CREATE TABLE variants (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    sku TEXT NOT NULL,
    -- Option values joined with " / " (`M / Red`); empty for a product without options.
    title TEXT NOT NULL,
    -- JSON array of values in the product's option order.
    option_values TEXT NOT NULL DEFAULT '[]',
    -- Case-folded values joined by a separator: uniqueness of a combination per product.
    combination_key TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    compare_at_price INTEGER CHECK (compare_at_price IS NULL OR compare_at_price >= 0),
    -- Never negative: every decrement is a conditional UPDATE `… AND stock >= n`.
    stock INTEGER NOT NULL CHECK (stock >= 0),
    position INTEGER NOT NULL DEFAULT 0,
    -- Removed variants stay (orders reference them) but free their SKU and combination.
    deleted_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX variants_product ON variants (product_id, position, id);
CREATE UNIQUE INDEX variants_live_sku ON variants (sku) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX variants_live_combination ON variants (product_id, combination_key) WHERE deleted_at IS NULL;
-- `in_stock` checks: does a live variant with stock exist for this product?
CREATE INDEX variants_product_stock ON variants (product_id, stock) WHERE deleted_at IS NULL;

-- Full-text index over name and description (FTS5, unicode61: case-folded, no stemming).
-- Contentless-delete table keyed by `products.seq`, kept in sync by triggers.
CREATE VIRTUAL TABLE products_fts USING fts5 (name, description, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name, description) VALUES (new.seq, new.name, new.description);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF name, description ON products BEGIN
    DELETE FROM products_fts WHERE rowid = old.seq;
    INSERT INTO products_fts (rowid, name, description) VALUES (new.seq, new.name, new.description);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    DELETE FROM products_fts WHERE rowid = old.seq;
END;
