//! Merge on login (issue 10, item 4): a guest cart named at login becomes the customer's, or its
//! lines and coupon codes go into the customer's cart. A line the merge had to cap (at the stock
//! or `carts.max_line_quantity`) remembers what was wanted, and the cart shows a
//! `quantity_capped` notice for it until the shopper next changes the line.

use super::CartService;
use crate::{
    carts::{error::CartError, model::Credential, store},
    ids::new_id,
};

impl CartService {
    /// After a login that names a guest cart and its token: the guest cart becomes the
    /// customer's when they have no active cart; otherwise its lines and coupon codes go into
    /// their cart and it is closed (`merged`). Returns the customer's resulting active cart, if
    /// any. A wrong token, a cart that is not an active guest cart, or a failure of the merge
    /// itself merges nothing and still returns the customer's own cart: a login never fails
    /// because of it (the failure is logged).
    #[tracing::instrument(skip_all, fields(user = user_id, cart = cart_id))]
    pub async fn merge_guest_cart(
        &self,
        user_id: &str,
        cart_id: &str,
        token: &str,
    ) -> Result<Option<String>, CartError> {
        // A second round only when the customer got an active cart while the first one tried to
        // adopt the guest cart (the one-active-cart index refused it): it merges instead.
        for _ in 0..2 {
            match self.try_merge(user_id, cart_id, token).await {
                Ok(Some(id)) => return Ok(Some(id)),
                Ok(None) => break,
                Err(CartError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {}
                Err(error) => {
                    tracing::warn!(%error, "guest cart not merged");
                    break;
                }
            }
        }
        Ok(store::active_cart_of(self.db.pool(), user_id).await?.map(|row| row.id))
    }

    /// One attempt, in one transaction: `Some` (the customer's resulting cart) once merged,
    /// `None` when there is nothing the caller may merge.
    async fn try_merge(&self, user_id: &str, cart_id: &str, token: &str) -> Result<Option<String>, CartError> {
        // The token is checked as on every guest route: its digest, compared in constant time.
        let guest = match self.owned(&Credential::CartToken(token.to_owned()), cart_id).await {
            Ok(row) => row,
            Err(CartError::NotFound) => return Ok(None),
            Err(other) => return Err(other),
        };
        // Stock is read before the transaction, as `add_line` reads it: the cap spares the
        // shopper a line checkout would refuse; checkout takes the stock for real.
        let peek = store::lines(self.db.pool(), &guest.id).await?;
        let variants =
            self.products.variants_for_pricing(&peek.iter().map(|l| l.variant_id.as_str()).collect::<Vec<_>>()).await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        // Guest cart first, then the customer's: every merge locks in this order, and a guest
        // cart is never the second lock of another merge, so two logins cannot deadlock.
        store::lock_cart(&mut tx, &guest.id).await?;
        match store::active_cart(&mut *tx, &guest.id).await? {
            // Still the same guest cart (not merged or adopted by a concurrent login).
            Some(row) if row.customer_id.is_none() && row.token_hash == guest.token_hash => {}
            _ => return Ok(None),
        }
        let Some(mine) = store::active_cart_of(&mut *tx, user_id).await? else {
            let adopted = store::adopt_guest_cart(&mut *tx, &guest.id, user_id, now).await?;
            tx.commit().await?;
            return Ok((adopted == 1).then(|| guest.id.clone()));
        };
        store::lock_cart(&mut tx, &mine.id).await?;
        if store::active_cart(&mut *tx, &mine.id).await?.is_none() {
            return Ok(None); // checked out meanwhile
        }
        let own_lines = store::lines(&mut *tx, &mine.id).await?;
        let guest_lines = store::lines(&mut *tx, &guest.id).await?;
        let max = i64::from(self.config.max_line_quantity);
        let (mut count, mut capped, mut dropped) = (own_lines.len(), 0_u32, 0_u32);
        for line in &guest_lines {
            // A variant no longer sold counts as none in stock: there is nothing to carry.
            let cap = max.min(variants.get(&line.variant_id).map_or(0, |v| v.stock));
            match own_lines.iter().find(|l| l.variant_id == line.variant_id) {
                Some(own) => {
                    let wanted = own.quantity.saturating_add(line.quantity);
                    // The customer's own line never shrinks: a shortage there keeps its notice.
                    let merged = wanted.min(cap).max(own.quantity);
                    if merged > own.quantity {
                        store::set_quantity(&mut *tx, &mine.id, &own.id, merged).await?;
                    }
                    if merged < wanted {
                        capped += 1;
                        store::mark_capped(&mut *tx, &own.id, wanted).await?;
                    }
                }
                None if cap < 1 || count >= self.config.max_lines => dropped += 1,
                None => {
                    let quantity = line.quantity.min(cap);
                    let line_id = new_id("line");
                    store::insert_line(&mut *tx, &line_id, &mine.id, &line.variant_id, quantity, now).await?;
                    if quantity < line.quantity {
                        capped += 1;
                        store::mark_capped(&mut *tx, &line_id, line.quantity).await?;
                    }
                    count += 1;
                }
            }
        }
        store::copy_coupons(&mut *tx, &guest.id, &mine.id, now).await?;
        store::keep_or_set_address(&mut *tx, &mine.id, guest.shipping_address.as_deref(), now).await?;
        store::close_merged(&mut *tx, &guest.id, now).await?;
        tx.commit().await?;
        tracing::info!(into = %mine.id, lines = guest_lines.len(), capped, dropped, "guest cart merged");
        Ok(Some(mine.id))
    }
}
