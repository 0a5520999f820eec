//! Order mails (placed, paid, shipped, cancelled) through the outbox, queued inside the
//! transaction that made the change: a mail exists exactly when its change commits, and a
//! change that lost a race (the guarded move found nothing to move) queues none.

use super::OrderService;
use crate::{
    db::Tx,
    mail::{
        outbox,
        templates::{OrderMail, OrderMailKind, OrderMailLine, order_link, render_order_mail},
    },
    orders::{
        error::OrderError,
        model::{Order, OrderItem},
        store,
    },
};

impl OrderService {
    /// Renders the order as the transaction sees it and queues the mail to the order's email.
    pub(super) async fn enqueue_order_mail(
        &self,
        tx: &mut Tx,
        order_id: &str,
        kind: OrderMailKind,
    ) -> Result<(), OrderError> {
        let order = store::orders::order(&mut **tx, order_id).await?.ok_or(OrderError::NotFound)?;
        let items = store::orders::items(&mut **tx, order_id).await?;
        self.enqueue_mail_of(tx, &order, &items, kind).await
    }

    /// Queues the mail of `order` with `items` (as stored in this transaction).
    pub(super) async fn enqueue_mail_of(
        &self,
        tx: &mut Tx,
        order: &Order,
        items: &[OrderItem],
        kind: OrderMailKind,
    ) -> Result<(), OrderError> {
        // Stored orders hold a currency checkout parsed; one that no longer parses is a corrupt
        // row, reported like any other decode failure.
        let currency = order.currency.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        // A guest has no login: the link carries the order token so it opens the order.
        let token = match order.customer_id {
            None => Some(self.order_token(&order.id).await?),
            Some(_) => None,
        };
        let mail = OrderMail {
            kind,
            number: order.number,
            lines: items
                .iter()
                .map(|i| OrderMailLine {
                    title: i.title.clone(),
                    variant_title: i.variant_title.clone(),
                    quantity: i.quantity,
                    total: i.total,
                })
                .collect(),
            subtotal: order.subtotal,
            discount_total: order.discount_total,
            shipping_total: order.shipping_total,
            tax_total: order.tax_total,
            total: order.total,
            currency,
            link: order_link(&self.store_config.order_url, &order.id, token.as_deref()),
        };
        let (subject, body) = render_order_mail(&mail);
        outbox::enqueue(&mut **tx, &order.email, &subject, &body, self.clock.now_ms()).await?;
        Ok(())
    }
}
