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
    position BIGINT NOT NULL DEFAULT 0,
    -- COLLATE "C": byte order, so the btree index serves `path LIKE '/cat_A/%'`.
    path TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX categories_parent ON categories (parent_id, position, id);
CREATE INDEX categories_path ON categories (path);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Case-folded name: the `name` sort uses an index instead of lower() per row. COLLATE "C":
    -- byte order, the order SQLite uses, so both backends sort names alike.
    name_key TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    category_id TEXT REFERENCES categories (id),
    -- JSON: [{"url", "alt"}] in display order. TEXT, not JSONB: sqlx's Any driver cannot decode JSONB.
    images TEXT NOT NULL DEFAULT '[]',
    -- JSON: [{"name": "Size", "values": ["S", "M"]}] in display order.
    options TEXT NOT NULL DEFAULT '[]',
    currency TEXT NOT NULL,
    -- Cheapest / dearest live variant, maintained by the engine inside the transaction that
    -- changes a variant's price (under the product's row lock), so price filters and sorts are
    -- index scans with keyset pagination. NULL while the product has no live variant.
    min_price BIGINT,
    max_price BIGINT,
    default_variant_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Full-text document: `simple` configuration (case-folded, no stemming, no stop words);
    -- name terms weigh more than description terms in the relevance ranking.
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', description), 'B')
    ) STORED
);
CREATE INDEX products_status_id ON products (status, id);
CREATE INDEX products_status_price ON products (status, min_price, id);
CREATE INDEX products_status_name ON products (status, name_key, id);
CREATE INDEX products_category ON products (category_id, status);
CREATE INDEX products_search ON products USING GIN (search);

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
    price BIGINT NOT NULL CHECK (price >= 0),
    compare_at_price BIGINT CHECK (compare_at_price IS NULL OR compare_at_price >= 0),
    -- Never negative: every decrement is a conditional UPDATE `… AND stock >= n`.
    stock BIGINT NOT NULL CHECK (stock >= 0),
    position BIGINT NOT NULL DEFAULT 0,
    -- Removed variants stay (orders reference them) but free their SKU and combination.
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX variants_product ON variants (product_id, position, id);
CREATE UNIQUE INDEX variants_live_sku ON variants (sku) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX variants_live_combination ON variants (product_id, combination_key) WHERE deleted_at IS NULL;
-- `in_stock` checks: does a live variant with stock exist for this product?
CREATE INDEX variants_product_stock ON variants (product_id, stock) WHERE deleted_at IS NULL;
