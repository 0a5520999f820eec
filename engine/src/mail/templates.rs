//! STAND-IN for branch `h10-merge`'s order mail texts (/work/prompts/h10-merge.md, section B),
//! written to its contract so the lifecycle branch compiles and its tests run. When that branch
//! lands, take its file whole and drop this one.

use commerce_pipeline::Currency;

/// Digits after the decimal point of a currency's minor unit.
fn exponent(currency: Currency) -> u32 {
    match currency.as_str() {
        "JPY" | "KRW" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

/// Groups the integer digits: Indian style for INR (1,32,988), Western otherwise.
fn group(digits: &str, indian: bool) -> String {
    let mut groups: Vec<&str> = Vec::new();
    let mut rest = digits;
    let mut size = 3;
    while rest.len() > size {
        let (head, tail) = rest.split_at(rest.len() - size);
        groups.push(tail);
        rest = head;
        if indian {
            size = 2;
        }
    }
    groups.push(rest);
    groups.reverse();
    groups.join(",")
}

/// An amount as a shopper of that currency reads it: `₹1,32,988.00`, `$1,234.56`, `-₹5.00`.
pub fn format_money(amount: i64, currency: Currency) -> String {
    let exp = exponent(currency);
    let magnitude = amount.unsigned_abs();
    let scale = 10u64.pow(exp);
    let whole = group(&(magnitude / scale).to_string(), currency.as_str() == "INR");
    let number = if exp == 0 { whole } else { format!("{whole}.{:0width$}", magnitude % scale, width = exp as usize) };
    let symbol = match currency.as_str() {
        "INR" => "₹".to_owned(),
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        "JPY" => "¥".to_owned(),
        other => format!("{other} "),
    };
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{symbol}{number}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderMailKind {
    Placed,
    Paid,
    Shipped,
    Cancelled { reason: Option<String> },
}

#[derive(Debug, Clone)]
pub struct OrderMailLine {
    pub title: String,
    pub variant_title: String,
    pub quantity: i64,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct OrderMail {
    pub kind: OrderMailKind,
    pub number: i64,
    pub lines: Vec<OrderMailLine>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub currency: Currency,
    pub link: String,
}

/// `(subject, plain-text body)`.
pub fn render_order_mail(mail: &OrderMail) -> (String, String) {
    let (word, opening) = match &mail.kind {
        OrderMailKind::Placed => ("placed", "Thank you for your order.".to_owned()),
        OrderMailKind::Paid => ("paid", "We have received your payment.".to_owned()),
        OrderMailKind::Shipped => ("shipped", "Your order is on its way.".to_owned()),
        OrderMailKind::Cancelled { reason } => (
            "cancelled",
            match reason {
                Some(reason) => format!("Your order was cancelled: {reason}."),
                None => "Your order was cancelled.".to_owned(),
            },
        ),
    };
    let money = |amount| format_money(amount, mail.currency);
    let mut body = format!("{opening}\n\nOrder #{}\n\n", mail.number);
    for line in &mail.lines {
        let variant = if line.variant_title.is_empty() { String::new() } else { format!(" ({})", line.variant_title) };
        body.push_str(&format!("{} × {}{variant} — {}\n", line.quantity, line.title, money(line.total)));
    }
    body.push('\n');
    for (label, amount) in [
        ("Subtotal", mail.subtotal),
        ("Discount", -mail.discount_total),
        ("Shipping", mail.shipping_total),
        ("Tax", mail.tax_total),
    ] {
        if amount != 0 {
            body.push_str(&format!("{label}: {}\n", money(amount)));
        }
    }
    body.push_str(&format!("Total: {}\n\nYour order: {}\n", money(mail.total), mail.link));
    (format!("Order #{} {word}", mail.number), body)
}

/// The storefront link of an order. Ids and tokens are `[A-Za-z0-9_]`, so they need no
/// percent-encoding.
pub fn order_link(template: &str, order_id: &str, token: Option<&str>) -> String {
    template.replace("{id}", order_id).replace("{token}", token.unwrap_or(""))
}
