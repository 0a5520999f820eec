// The catalog as a storefront reads it: the category tree, product lists (search, filters, sorts,
// cursor paging) and a product page. Assertions hold for any shop with a few products in a
// category tree (the demo shop has 50 under 9 categories).

import type { SuccessResponseJSON } from "openapi-typescript-helpers";

import { check, checkId, checkTime, equal, expectData, expectProblem, step } from "./check.ts";
import { type Api, type paths, anonymous } from "./client.ts";

type ListProducts = paths["/api/v1/products"]["get"];
/** The query a product list takes, exactly as the document declares it. */
type ProductQuery = NonNullable<ListProducts["parameters"]["query"]>;
type ProductCard = SuccessResponseJSON<ListProducts>["items"][number];
type CategoryNode = SuccessResponseJSON<paths["/api/v1/categories"]["get"]>["items"][number];

/** Small pages, so that paging is exercised on a small shop too. */
const PAGE = 7;

/** Follows `next_cursor` until it is null; checks page sizes and that no card repeats. */
async function allPages(api: Api, query: ProductQuery, what: string): Promise<ProductCard[]> {
  const cards: ProductCard[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (let page = 1; ; page += 1) {
    check(page <= 1000, `${what}: more than 1000 pages; is next_cursor ever null?`);
    const params: ProductQuery = cursor === null ? { ...query, limit: PAGE } : { ...query, limit: PAGE, cursor };
    const list = expectData(await api.GET("/api/v1/products", { params: { query: params } }), 200, `${what} page ${page}`);
    check(list.items.length <= PAGE, `${what} page ${page}: ${list.items.length} items, limit ${PAGE}`);
    for (const card of list.items) {
      check(!seen.has(card.id), `${what} page ${page}: ${card.id} repeats`);
      seen.add(card.id);
      cards.push(card);
    }
    // null, not absent, on the last page: a client testing `!== undefined` would loop forever.
    cursor = list.next_cursor;
    if (cursor === null) return cards;
    equal(list.items.length, PAGE, `${what} page ${page}: a page before the last is full`);
  }
}

function checkCard(card: ProductCard, currency: string, what: string): void {
  checkId(card.id, "prod", `${what}: id`);
  check(/^[a-z0-9]+(-[a-z0-9]+)*$/.test(card.slug), `${what}: slug ${card.slug}`);
  check(card.name.length > 0, `${what}: empty name`);
  check(Number.isInteger(card.min_price) && card.min_price >= 0, `${what}: min_price ${card.min_price} (minor units)`);
  check(card.max_price >= card.min_price, `${what}: max_price ${card.max_price} < min_price ${card.min_price}`);
  equal(card.currency, currency, `${what}: currency`);
  if (card.image !== null) check(card.image.url.startsWith("http"), `${what}: image.url ${card.image.url}`);
  if (card.default_variant_id !== null) checkId(card.default_variant_id, "var", `${what}: default_variant_id`);
}

const ids = (cards: ProductCard[]): string[] => cards.map((c) => c.id).sort();

function sameSet(actual: ProductCard[], expected: ProductCard[], what: string): void {
  equal(JSON.stringify(ids(actual)), JSON.stringify(ids(expected)), `${what}: the set of products`);
}

function checkCategory(node: CategoryNode, parent: string | null, what: string): void {
  checkId(node.id, "cat", `${what}: id`);
  equal(node.parent_id, parent, `${what} (${node.slug}): parent_id`);
  checkTime(node.created_at, `${what}: created_at`);
  for (const [i, child] of node.children.entries()) {
    checkCategory(child, node.id, `${what} › ${child.slug}`);
    const next = node.children[i + 1];
    if (next !== undefined) check(child.position <= next.position, `${what}: children out of position order`);
  }
}

export async function catalog(baseUrl: string): Promise<void> {
  const api = anonymous(baseUrl);
  let branch: CategoryNode | undefined;
  let everything: ProductCard[] = [];

  await step("browse the category tree", async () => {
    const tree = expectData(await api.GET("/api/v1/categories"), 200, "GET /categories");
    check(tree.items.length > 0, "the shop has no categories");
    for (const root of tree.items) checkCategory(root, null, root.slug);
    branch = tree.items.find((root) => root.children.length > 0);
    check(branch !== undefined, "no root category has children");
    const child = branch.children[0];
    check(child !== undefined, "unreachable");
    const detail = expectData(
      await api.GET("/api/v1/categories/{id_or_slug}", { params: { path: { id_or_slug: child.slug } } }),
      200,
      "GET /categories/{slug}",
    );
    equal(detail.id, child.id, "category by slug: id");
    equal(detail.ancestors.map((a) => a.id).join(","), branch.id, "category ancestors (root first)");
    const byId = expectData(
      await api.GET("/api/v1/categories/{id_or_slug}", { params: { path: { id_or_slug: branch.id } } }),
      200,
      "GET /categories/{id}",
    );
    equal(byId.children.length, branch.children.length, "category by id: children");
    equal(byId.ancestors.length, 0, "a root has no ancestors");
    const missing = await api.GET("/api/v1/categories/{id_or_slug}", { params: { path: { id_or_slug: "no-such-category" } } });
    expectProblem(missing, 404, "not_found", "unknown category");
  });

  await step("list every product, following next_cursor until it is null", async () => {
    everything = await allPages(api, {}, "all products");
    check(everything.length > PAGE, `${everything.length} products: too few to page through`);
    const currency = everything[0]?.currency ?? "";
    check(/^[A-Z]{3}$/.test(currency), `currency ${currency}`);
    for (const card of everything) checkCard(card, currency, `card ${card.slug}`);
  });

  await step("sort by price both ways, across pages", async () => {
    const ascending = await allPages(api, { sort: "price_asc" }, "price_asc");
    sameSet(ascending, everything, "price_asc");
    ascending.forEach((c, i) => check(i === 0 || (ascending[i - 1]?.min_price ?? 0) <= c.min_price, `price_asc: ${c.slug} out of order`));
    const descending = await allPages(api, { sort: "price_desc" }, "price_desc");
    sameSet(descending, everything, "price_desc");
    descending.forEach((c, i) =>
      check(i === 0 || (descending[i - 1]?.min_price ?? 0) >= c.min_price, `price_desc: ${c.slug} out of order`),
    );
  });

  await step("filter by price range and stock (the same products as filtering the full list)", async () => {
    const prices = everything.map((c) => c.min_price).sort((a, b) => a - b);
    const low = prices[Math.floor(prices.length / 4)] ?? 0;
    const high = prices[Math.floor((prices.length * 3) / 4)] ?? 0;
    const ranged = await allPages(api, { min_price: low, max_price: high, sort: "price_asc" }, "price range");
    sameSet(ranged, everything.filter((c) => c.min_price >= low && c.min_price <= high), `min_price=${low}&max_price=${high}`);
    const inStock = await allPages(api, { in_stock: true }, "in stock");
    sameSet(inStock, everything.filter((c) => c.in_stock), "in_stock=true");
    const inverted = await api.GET("/api/v1/products", { params: { query: { min_price: high + 1, max_price: low } } });
    const problem = expectProblem(inverted, 422, "validation_failed", "min_price > max_price");
    check((problem.errors ?? []).some((e) => e.field === "min_price"), "422 names min_price in errors[]");
  });

  await step("filter by category (includes its descendants)", async () => {
    check(branch !== undefined, "no category");
    const inBranch = await allPages(api, { category: branch.slug }, `category=${branch.slug}`);
    check(inBranch.length > 0, `category ${branch.slug} lists no products`);
    sameSet(inBranch, everything.filter((c) => inBranch.some((b) => b.id === c.id)), "category ⊆ all products");
    const byId = await allPages(api, { category: branch.id }, `category=${branch.id}`);
    sameSet(byId, inBranch, "category by id and by slug");
    const first = inBranch[0];
    check(first !== undefined, "unreachable");
    const product = expectData(
      await api.GET("/api/v1/products/{id_or_slug}", { params: { path: { id_or_slug: first.id } } }),
      200,
      "product of the category",
    );
    check(product.category !== null, `${first.slug} has no category`);
    const path = [...product.category.ancestors.map((a) => a.id), product.category.id];
    check(path.includes(branch.id), `${first.slug} is not under ${branch.slug}`);
    const unknown = expectData(
      await api.GET("/api/v1/products", { params: { query: { category: "no-such-category" } } }),
      200,
      "unknown category",
    );
    equal(unknown.items.length, 0, "unknown category: items");
    equal(unknown.next_cursor, null, "unknown category: next_cursor");
  });

  await step("search: a word of a product's name, and its prefix, find it", async () => {
    const target = everything.find((c) => /[A-Za-z]{4,}/.test(c.name));
    check(target !== undefined, "no product name has a word to search for");
    const word = (target.name.match(/[A-Za-z]{4,}/) ?? [""])[0];
    for (const q of [word.toUpperCase(), word.slice(0, 3).toLowerCase()]) {
      const found = await allPages(api, { q }, `q=${q}`);
      check(found.some((c) => c.id === target.id), `q=${q} does not find ${target.slug}`);
    }
  });

  await step("a cursor only continues the query that produced it", async () => {
    const first = expectData(
      await api.GET("/api/v1/products", { params: { query: { sort: "price_asc", limit: 2 } } }),
      200,
      "first page",
    );
    check(first.next_cursor !== null, "two products fill no page");
    const other = await api.GET("/api/v1/products", { params: { query: { sort: "name", limit: 2, cursor: first.next_cursor } } });
    expectProblem(other, 400, "invalid_cursor", "a price_asc cursor with sort=name");
    const garbled = await api.GET("/api/v1/products", { params: { query: { cursor: "not-a-cursor" } } });
    expectProblem(garbled, 400, "invalid_cursor", "a garbled cursor");
    const tooBig = await api.GET("/api/v1/products", { params: { query: { limit: 101 } } });
    expectProblem(tooBig, 422, "validation_failed", "limit=101");
  });

  await step("read a product page by slug and by id", async () => {
    const card = everything.find((c) => c.default_variant_id !== null && c.max_price > c.min_price) ?? everything[0];
    check(card !== undefined, "no product");
    const bySlug = expectData(
      await api.GET("/api/v1/products/{id_or_slug}", { params: { path: { id_or_slug: card.slug } } }),
      200,
      "product by slug",
    );
    const byId = expectData(
      await api.GET("/api/v1/products/{id_or_slug}", { params: { path: { id_or_slug: card.id } } }),
      200,
      "product by id",
    );
    equal(JSON.stringify(byId), JSON.stringify(bySlug), "the same product by id and by slug");
    equal(bySlug.id, card.id, "product id");
    equal(bySlug.min_price, card.min_price, "product min_price = card min_price");
    equal(bySlug.max_price, card.max_price, "product max_price = card max_price");
    equal(bySlug.currency, card.currency, "product currency");
    equal(bySlug.default_variant_id, card.default_variant_id, "product default_variant_id");
    checkTime(bySlug.updated_at, "product updated_at");
    check(bySlug.variants.length > 0, "a product without variants");
    const prices = bySlug.variants.map((v) => v.price);
    equal(Math.min(...prices), card.min_price, "cheapest variant = card min_price");
    equal(Math.max(...prices), card.max_price, "dearest variant = card max_price");
    check(bySlug.variants.some((v) => v.id === card.default_variant_id), "default_variant_id is one of the variants");
    for (const variant of bySlug.variants) {
      checkId(variant.id, "var", `variant ${variant.sku}`);
      equal(variant.currency, card.currency, `variant ${variant.sku} currency`);
      if (variant.compare_at_price !== null) {
        check(variant.compare_at_price > variant.price, `variant ${variant.sku}: compare_at_price not above price`);
      }
      // Each variant names a value for each of the product's options, from that option's values.
      equal(variant.options.length, bySlug.options.length, `variant ${variant.sku}: one value per option`);
      for (const value of variant.options) {
        const option = bySlug.options.find((o) => o.name === value.name);
        check(option?.values.includes(value.value) === true, `variant ${variant.sku}: ${value.name}=${value.value} undeclared`);
      }
    }
    equal(bySlug.in_stock, bySlug.variants.some((v) => v.in_stock), "product in_stock = some variant in stock");
    const missing = await api.GET("/api/v1/products/{id_or_slug}", { params: { path: { id_or_slug: "no-such-product" } } });
    expectProblem(missing, 404, "not_found", "unknown product");
  });
}
