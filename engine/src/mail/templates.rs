//! The texts of order mails (issue 10, item 8): pure functions from an order's figures to a
//! subject and a plain-text body, so every wording and every amount is unit-tested here and the
//! services only fill in an [`OrderMail`] and enqueue the result.
//!
//! Money is formatted by hand with integer arithmetic: the amounts are minor units, and a float
//! would turn `132988` paise into `1329.8799999`.

use commerce_pipeline::Currency;

/// An amount of minor units as a shopper of that currency reads it: `₹1,32,988.00` (rupees with
/// Indian digit grouping), `$1,234,567.89`, `€`, `£`, `¥1,500` (no decimals); any other
/// currency as `CHF 1,234.56`. A negative amount starts with the sign: `-₹5.00`.
pub fn format_money(amount: i64, currency: Currency) -> String {
    let (scale, width) = minor_unit(currency);
    // `unsigned_abs` so that `i64::MIN` has a magnitude too.
    let magnitude = amount.unsigned_abs();
    let code = currency.as_str();
    let whole = group(magnitude / scale, code == "INR");
    let number = if width == 0 { whole } else { format!("{whole}.{:0width$}", magnitude % scale) };
    let sign = if amount < 0 { "-" } else { "" };
    match symbol(code) {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{code} {number}"),
    }
}

/// The symbols shoppers know without ambiguity; `$` means US dollars only (not CAD or AUD).
fn symbol(code: &str) -> Option<&'static str> {
    match code {
        "INR" => Some("₹"),
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    }
}

/// Minor units per major unit and the digits after the point (ISO 4217). `commerce_pipeline`'s
/// `Currency` has no exponent; this is the list the coupons plugin uses (`plugins/coupons`):
/// the common exceptions to two decimals, anything else taken to have two.
fn minor_unit(currency: Currency) -> (u64, usize) {
    match currency.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND" | "VUV"
        | "XAF" | "XOF" | "XPF" => (1, 0),
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => (1_000, 3),
        _ => (100, 2),
    }
}

/// Digits grouped with commas: in threes (1,234,567), or the Indian way, the last three and
/// then twos (12,34,567).
fn group(number: u64, indian: bool) -> String {
    let digits = number.to_string();
    let mut rest = digits.as_str();
    let mut groups = Vec::new();
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

/// Which event of the order a mail tells about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderMailKind {
    Placed,
    Paid,
    Shipped,
    /// `reason`: why, when someone gave one (staff, or "payment not received" on expiry).
    Cancelled {
        reason: Option<String>,
    },
    /// Money given back (minor units of the order's currency): by staff, for a cancelled paid
    /// order, or a payment that came after the order was cancelled or a second time.
    Refunded {
        amount: i64,
        reason: Option<String>,
    },
}

/// One line of an order as the mail lists it (from the order's item snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMailLine {
    pub title: String,
    /// The option values (`M / Red`); empty for a product without options.
    pub variant_title: String,
    pub quantity: i64,
    /// What the line costs in the order's currency (minor units).
    pub total: i64,
}

/// Everything an order mail says; amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMail {
    pub kind: OrderMailKind,
    pub number: i64,
    pub lines: Vec<OrderMailLine>,
    pub subtotal: i64,
    /// What the discounts took off, as a positive amount (the order view's `discount_total`).
    pub discount_total: i64,
    pub shipping_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub currency: Currency,
    /// The order's storefront page ([`order_link`]).
    pub link: String,
}

/// The subject and plain-text body of an order mail: what happened, each line
/// (`2 × T-shirt (M / Red) — ₹998.00`), the totals that are not zero (the total always), and
/// the link to the order.
pub fn render_order_mail(mail: &OrderMail) -> (String, String) {
    let number = mail.number;
    let (event, opening) = match &mail.kind {
        OrderMailKind::Placed => ("placed", format!("Thank you for your order #{number}. We have received it.")),
        OrderMailKind::Paid => ("paid", format!("We have received your payment for order #{number}.")),
        OrderMailKind::Shipped => ("shipped", format!("Your order #{number} is on its way.")),
        OrderMailKind::Cancelled { reason } => {
            let mut text = format!("Your order #{number} has been cancelled.");
            if let Some(reason) = reason.as_deref().map(one_line).filter(|r| !r.is_empty()) {
                text.push_str(&format!("\nReason: {reason}"));
            }
            ("cancelled", text)
        }
        OrderMailKind::Refunded { amount, reason } => {
            let mut text = format!("We have refunded {} for order #{number}.", format_money(*amount, mail.currency));
            if let Some(reason) = reason.as_deref().map(one_line).filter(|r| !r.is_empty()) {
                text.push_str(&format!("\nReason: {reason}"));
            }
            ("refunded", text)
        }
    };
    let money = |amount: i64| format_money(amount, mail.currency);
    let mut body = format!("{opening}\n\n");
    for line in &mail.lines {
        let variant = one_line(&line.variant_title);
        let variant = if variant.is_empty() { String::new() } else { format!(" ({variant})") };
        body.push_str(&format!("{} × {}{variant} — {}\n", line.quantity, one_line(&line.title), money(line.total)));
    }
    body.push('\n');
    let totals = [
        ("Subtotal", mail.subtotal),
        // Shown as what it is: money off.
        ("Discount", mail.discount_total.saturating_neg()),
        ("Shipping", mail.shipping_total),
        ("Tax", mail.tax_total),
    ];
    for (label, amount) in totals.into_iter().filter(|(_, amount)| *amount != 0) {
        body.push_str(&format!("{label}: {}\n", money(amount)));
    }
    body.push_str(&format!("Total: {}\n\nView your order: {}\n", money(mail.total), mail.link));
    (format!("Order #{number} {event}"), body)
}

/// Text from a product or a person on one line: a control character (a line break in a title
/// or a reason) would let it forge lines of the mail, so each becomes a space.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// `store.order_url` with `{id}` and `{token}` filled in (`{token}` empty for a customer's
/// order, which needs no token).
///
/// Nothing is percent-encoded: order ids are a prefix, `_` and a ULID (`0-9A-Z`), and order
/// tokens are a prefix, `_` and URL-safe base64 (`A-Za-z0-9-_`, `accounts::tokens::
/// new_opaque_token`): every character is unreserved in a URL (RFC 3986), in a path or a query.
/// The test below guards that assumption.
pub fn order_link(template: &str, order_id: &str, token: Option<&str>) -> String {
    template.replace("{id}", order_id).replace("{token}", token.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::new(code).expect("currency code")
    }

    #[test]
    fn rupees_have_the_sign_and_indian_grouping_above_a_lakh() {
        let inr = currency("INR");
        assert_eq!(format_money(132_988, inr), "₹1,329.88");
        assert_eq!(format_money(13_298_800, inr), "₹1,32,988.00");
        assert_eq!(format_money(1_000_000_000, inr), "₹1,00,00,000.00");
        assert_eq!(format_money(0, inr), "₹0.00");
        assert_eq!(format_money(5, inr), "₹0.05");
        assert_eq!(format_money(99, inr), "₹0.99");
        assert_eq!(format_money(100_000, inr), "₹1,000.00");
        assert_eq!(format_money(9_999_999, inr), "₹99,999.99");
        assert_eq!(format_money(10_000_000, inr), "₹1,00,000.00");
        assert_eq!(format_money(-500, inr), "-₹5.00");
    }

    #[test]
    fn other_currencies_have_their_symbol_or_code_and_their_decimals() {
        assert_eq!(format_money(123_456_789, currency("USD")), "$1,234,567.89");
        assert_eq!(format_money(-1_999, currency("USD")), "-$19.99");
        assert_eq!(format_money(1_050, currency("EUR")), "€10.50");
        assert_eq!(format_money(7, currency("GBP")), "£0.07");
        assert_eq!(format_money(1_500, currency("JPY")), "¥1,500");
        assert_eq!(format_money(1_234_567, currency("KRW")), "KRW 1,234,567");
        assert_eq!(format_money(1_500, currency("KWD")), "KWD 1.500");
        assert_eq!(format_money(12_345_678, currency("OMR")), "OMR 12,345.678");
        assert_eq!(format_money(123_456, currency("CHF")), "CHF 1,234.56");
        assert_eq!(format_money(-123_456, currency("CHF")), "-CHF 1,234.56");
        assert_eq!(format_money(i64::MIN, currency("USD")), "-$92,233,720,368,547,758.08");
    }

    fn worked_example(kind: OrderMailKind) -> OrderMail {
        OrderMail {
            kind,
            number: 1001,
            lines: vec![
                OrderMailLine {
                    title: "Cotton T-Shirt".to_owned(),
                    variant_title: "M / Red".to_owned(),
                    quantity: 2,
                    total: 99_800,
                },
                OrderMailLine { title: "Novel".to_owned(), variant_title: String::new(), quantity: 1, total: 30_000 },
            ],
            subtotal: 129_800,
            discount_total: 12_980,
            shipping_total: 0,
            tax_total: 16_168,
            total: 132_988,
            currency: currency("INR"),
            link: order_link("https://shop.example/orders/{id}?token={token}", "ord_01J", Some("ot_abc")),
        }
    }

    #[test]
    fn a_placed_mail_lists_lines_nonzero_totals_and_the_link() {
        let (subject, body) = render_order_mail(&worked_example(OrderMailKind::Placed));
        assert_eq!(subject, "Order #1001 placed");
        let expected = "Thank you for your order #1001. We have received it.\n\n\
                        2 × Cotton T-Shirt (M / Red) — ₹998.00\n\
                        1 × Novel — ₹300.00\n\n\
                        Subtotal: ₹1,298.00\n\
                        Discount: -₹129.80\n\
                        Tax: ₹161.68\n\
                        Total: ₹1,329.88\n\n\
                        View your order: https://shop.example/orders/ord_01J?token=ot_abc\n";
        assert_eq!(body, expected);
        assert!(!body.contains("Shipping"), "a zero total is left out");
    }

    #[test]
    fn each_kind_has_its_subject_and_a_cancellation_its_reason() {
        let subject = |kind| render_order_mail(&worked_example(kind)).0;
        assert_eq!(subject(OrderMailKind::Paid), "Order #1001 paid");
        assert_eq!(subject(OrderMailKind::Shipped), "Order #1001 shipped");
        let cancelled = OrderMailKind::Cancelled { reason: Some("Payment not received\nForged: line".to_owned()) };
        let (subject, body) = render_order_mail(&worked_example(cancelled));
        assert_eq!(subject, "Order #1001 cancelled");
        assert!(body.starts_with("Your order #1001 has been cancelled.\nReason: Payment not received Forged: line\n"));
        let (_, body) = render_order_mail(&worked_example(OrderMailKind::Cancelled { reason: None }));
        assert!(!body.contains("Reason"), "{body}");
    }

    #[test]
    fn order_links_fill_in_the_id_and_the_token_without_encoding() {
        let template = "https://shop.example/orders/{id}?token={token}";
        assert_eq!(order_link(template, "ord_1", None), "https://shop.example/orders/ord_1?token=");
        let id = crate::ids::new_id("ord");
        let token = crate::accounts::tokens::new_opaque_token("ot");
        let link = order_link(template, &id, Some(&token));
        assert_eq!(link, format!("https://shop.example/orders/{id}?token={token}"));
        let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
        assert!(id.chars().chain(token.chars()).all(unreserved), "needs percent-encoding now: {id} {token}");
    }
}
