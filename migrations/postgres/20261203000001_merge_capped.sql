-- The quantity a login's cart merge wanted for a line when it had to cap it (at the stock or
-- `carts.max_line_quantity`): the cart shows a `quantity_capped` notice until the line is next
-- changed, which clears it. NULL for every other line.
ALTER TABLE cart_lines ADD COLUMN merge_wanted BIGINT;
