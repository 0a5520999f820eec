use crate::*;

pub(super) fn line(line_id: &str, quantity: u32, unit_price: i64) -> CartLine {
    CartLine {
        line_id: line_id.to_owned(),
        variant_id: format!("v-{line_id}"),
        sku: line_id.to_uppercase(),
        product_id: format!("p-{line_id}"),
        category_slug: None,
        category_ancestors: Vec::new(),
        quantity,
        unit_price,
    }
}

pub(super) fn cart(lines: Vec<CartLine>, codes: &[&str]) -> Cart {
    Cart {
        store: Store {
            currency: Currency::new("INR").unwrap(),
            origin_country: "IN".into(),
            origin_region: Some("KA".into()),
            prices_include_tax: false,
        },
        lines,
        coupon_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        customer_id: None,
        guest: true,
        earlier_orders: 0,
        redemptions: Vec::new(),
        shipping: None,
        now: 0,
    }
}

fn priced(lines: Vec<CartLine>) -> PricedCart {
    PricedCart::new(&cart(lines, &[])).unwrap()
}

pub(super) fn adjustments(adjustments: Vec<Adjustment>) -> RuleOutput {
    RuleOutput { adjustments, coupons: Vec::new() }
}

fn nets(priced: &PricedCart) -> Vec<i64> {
    priced.lines().iter().map(|l| l.net).collect()
}

fn rejection(priced: &mut PricedCart, output: RuleOutput) -> (usize, AdjustmentError) {
    let before = priced.clone();
    let err = priced.apply("bad", output).unwrap_err();
    assert_eq!(*priced, before, "a rejected output must change nothing");
    assert_eq!(err.plugin(), Some("bad"));
    match err {
        PipelineError::InvalidAdjustment { index, reason, .. } => (index, reason),
        other => panic!("expected an invalid adjustment, got {other}"),
    }
}

#[test]
fn a_new_priced_cart_starts_at_the_subtotal() {
    let priced = priced(vec![line("a", 2, 49_900), line("b", 1, 30_000)]);
    assert_eq!((priced.subtotal(), priced.total(), priced.merchandise_net()), (129_800, 129_800, 129_800));
    assert_eq!(nets(&priced), [99_800, 30_000]);
    assert!(priced.adjustments().is_empty() && priced.notices().is_empty());
}

#[test]
fn an_invalid_cart_is_refused() {
    let err = PricedCart::new(&cart(vec![line("a", 0, 1)], &[])).unwrap_err();
    assert!(matches!(err, PipelineError::Cart(CartError::InvalidLine { .. })), "{err}");
    assert_eq!(err.plugin(), None);
}

#[test]
fn a_cart_discount_is_allocated_by_largest_remainder_with_ties_to_the_earlier_line() {
    let mut priced = priced(vec![line("a", 1, 100), line("b", 1, 100), line("c", 1, 100)]);
    priced.apply("promo", adjustments(vec![Adjustment::cart_discount(100, "₹1 off")])).unwrap();
    assert_eq!(priced.lines().iter().map(|l| l.discount).collect::<Vec<_>>(), [34, 33, 33]);
    assert_eq!(nets(&priced), [66, 67, 67]);
    assert_eq!((priced.discount_total(), priced.total()), (100, 200));
    // Each line records its share; the cart records the whole.
    assert_eq!(priced.lines()[0].adjustments[0].amount, 34);
    assert_eq!(priced.lines()[0].adjustments[0].target, Target::Cart);
    assert_eq!(priced.adjustments()[0].amount, 100);
}

#[test]
fn a_zero_net_line_gets_no_share_of_a_cart_discount() {
    let mut priced = priced(vec![line("a", 1, 500), line("b", 1, 300), line("c", 1, 700)]);
    priced.apply("first", adjustments(vec![Adjustment::line_discount("a", 500, "free a")])).unwrap();
    priced.apply("second", adjustments(vec![Adjustment::cart_discount(11, "11 off")])).unwrap();
    // 11 over 0:300:700 → 3.3 and 7.7 → 3 + 8.
    assert_eq!(priced.lines().iter().map(|l| l.discount).collect::<Vec<_>>(), [500, 3, 8]);
    assert!(priced.lines()[0].adjustments.iter().all(|a| a.plugin == "first"));
}

#[test]
fn the_next_rule_sees_the_nets_left_by_the_rules_before_it() {
    let mut priced = priced(vec![line("a", 2, 49_900), line("b", 1, 30_000)]);
    priced.apply("tiers", adjustments(vec![Adjustment::line_discount("a", 4_990, "tier")])).unwrap();
    let view = priced.view();
    assert_eq!((view.lines[0].discount, view.lines[0].net, view.lines[1].net), (4_990, 94_810, 30_000));
    assert_eq!((view.subtotal, view.discount_total, view.merchandise_net), (129_800, 4_990, 124_810));
    assert_eq!((view.lines[0].sku.as_str(), view.lines[0].variant_id.as_str()), ("A", "v-a"));
}

#[test]
fn discounts_in_one_output_apply_in_order_on_the_running_nets() {
    let mut priced = priced(vec![line("a", 1, 1_000), line("b", 1, 1_000)]);
    let output = adjustments(vec![
        Adjustment::line_discount("a", 1_000, "free a"),
        Adjustment::cart_discount(1_000, "the rest free"),
    ]);
    priced.apply("promo", output).unwrap();
    assert_eq!(nets(&priced), [0, 0]);
    assert_eq!(priced.total(), 0);
}

#[test]
fn an_output_with_one_unknown_line_is_rejected_whole() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let output = adjustments(vec![
        Adjustment::line_discount("a", 10, "fine"),
        Adjustment::line_discount("zzz", 10, "no such line"),
    ]);
    assert_eq!(rejection(&mut priced, output), (1, AdjustmentError::UnknownLine { line_id: "zzz".into() }));
}

#[test]
fn a_negative_amount_is_rejected() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let output = adjustments(vec![Adjustment::shipping(-1, "refund?")]);
    assert_eq!(rejection(&mut priced, output), (0, AdjustmentError::NegativeAmount));
}

#[test]
fn a_line_discount_above_the_line_net_is_rejected_even_when_split_in_two() {
    let mut priced = priced(vec![line("a", 1, 1_000), line("b", 1, 5_000)]);
    let output = adjustments(vec![Adjustment::line_discount("a", 1_001, "too much")]);
    assert_eq!(rejection(&mut priced, output), (0, AdjustmentError::ExceedsLineNet { net: 1_000 }));
    let output =
        adjustments(vec![Adjustment::line_discount("a", 600, "half"), Adjustment::line_discount("a", 600, "again")]);
    assert_eq!(rejection(&mut priced, output), (1, AdjustmentError::ExceedsLineNet { net: 400 }));
}

#[test]
fn a_cart_discount_above_the_merchandise_net_is_rejected() {
    let mut priced = priced(vec![line("a", 1, 1_000), line("b", 1, 500)]);
    priced.apply("tiers", adjustments(vec![Adjustment::line_discount("b", 500, "free b")])).unwrap();
    let output = adjustments(vec![Adjustment::cart_discount(1_001, "too much")]);
    assert_eq!(rejection(&mut priced, output), (0, AdjustmentError::ExceedsMerchandiseNet { net: 1_000 }));
}

#[test]
fn kinds_aimed_at_the_wrong_target_are_rejected() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let shipping_discount = Adjustment { target: Target::Shipping, ..Adjustment::cart_discount(1, "x") };
    let line_fee = Adjustment { target: Target::Line("a".into()), ..Adjustment::fee(1, "x") };
    let shipping_on_cart = Adjustment { target: Target::Cart, ..Adjustment::shipping(1, "x") };
    for bad in [shipping_discount, line_fee, shipping_on_cart] {
        let expected = AdjustmentError::TargetNotAllowed { kind: bad.kind, target: bad.target.clone() };
        assert_eq!(rejection(&mut priced, adjustments(vec![bad])), (0, expected));
    }
}

#[test]
fn malformed_adjustments_are_rejected() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let a = || Target::Line("a".into());
    let cases = [
        (Adjustment::fee(1, "  "), AdjustmentError::EmptyLabel),
        (Adjustment { inclusive: true, ..Adjustment::fee(1, "x") }, AdjustmentError::NotATax),
        (Adjustment::fee(1, "x").with_breakdown(vec![TaxComponent::new("VAT", 1)]), AdjustmentError::NotATax),
        (
            Adjustment::tax(a(), 3, "GST")
                .with_breakdown(vec![TaxComponent::new("CGST", 1), TaxComponent::new("SGST", 1)]),
            AdjustmentError::BreakdownMismatch { sum: 2 },
        ),
        (
            Adjustment::tax(a(), 0, "GST")
                .with_breakdown(vec![TaxComponent::new("CGST", 1), TaxComponent::new("SGST", -1)]),
            AdjustmentError::InvalidTaxComponent { name: "SGST".into() },
        ),
        (
            Adjustment::line_discount("a", 1, "x").with_code("NOPE"),
            AdjustmentError::CouponNotAccepted { code: "NOPE".into() },
        ),
    ];
    for (bad, expected) in cases {
        assert_eq!(rejection(&mut priced, adjustments(vec![bad])), (0, expected));
    }
}

#[test]
fn the_error_names_the_plugin_and_the_adjustment() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let err = priced.apply("garbage", adjustments(vec![Adjustment::line_discount("x", 5, "x")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `garbage` returned an invalid adjustment #0 (discount of 5 on line `x`): the cart has no line `x`"
    );
}

#[test]
fn overflow_is_refused_not_wrapped() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    let output = adjustments(vec![Adjustment::shipping(i64::MAX - 1_000, "big"), Adjustment::fee(1, "one more")]);
    assert_eq!(rejection(&mut priced, output), (1, AdjustmentError::Overflow));
    let tax = |amount| Adjustment::tax(Target::Line("a".into()), amount, "tax");
    assert_eq!(rejection(&mut priced, adjustments(vec![tax(i64::MAX)])), (0, AdjustmentError::Overflow));
}

#[test]
fn the_total_never_goes_negative() {
    let mut priced = priced(vec![line("a", 1, 1_000), line("b", 1, 1)]);
    priced.apply("free", adjustments(vec![Adjustment::cart_discount(1_001, "all free")])).unwrap();
    assert_eq!((priced.total(), priced.merchandise_net()), (0, 0));
    let output = adjustments(vec![Adjustment::cart_discount(1, "below zero")]);
    assert_eq!(rejection(&mut priced, output), (0, AdjustmentError::ExceedsMerchandiseNet { net: 0 }));
    priced.apply("shipping", adjustments(vec![Adjustment::shipping(4_900, "Standard")])).unwrap();
    assert_eq!(priced.total(), 4_900);
}

#[test]
fn inclusive_tax_is_reported_but_not_added() {
    let mut priced = priced(vec![line("a", 1, 11_800)]);
    let gst = Adjustment::tax(Target::Line("a".into()), 1_800, "GST 18% (incl.)").inclusive();
    priced.apply("tax", adjustments(vec![gst])).unwrap();
    let a = &priced.lines()[0];
    assert_eq!((a.tax, a.inclusive_tax, a.net, a.total), (0, 1_800, 11_800, 11_800));
    assert_eq!((priced.tax_total(), priced.inclusive_tax_total(), priced.total()), (0, 1_800, 11_800));
}

#[test]
fn inclusive_tax_cannot_exceed_what_it_is_inside_of() {
    let mut priced = priced(vec![line("a", 1, 100)]);
    let on_line = |amount| Adjustment::tax(Target::Line("a".into()), amount, "VAT").inclusive();
    let output = adjustments(vec![on_line(60), on_line(41)]);
    assert_eq!(rejection(&mut priced, output), (1, AdjustmentError::ExceedsLineNet { net: 100 }));
    let on_shipping = Adjustment::tax(Target::Shipping, 1, "VAT").inclusive();
    assert_eq!(
        rejection(&mut priced, adjustments(vec![on_shipping])),
        (0, AdjustmentError::ExceedsShipping { shipping: 0 })
    );
    let on_cart = Adjustment::tax(Target::Cart, 101, "VAT").inclusive();
    assert_eq!(
        rejection(&mut priced, adjustments(vec![on_cart])),
        (0, AdjustmentError::ExceedsMerchandiseNet { net: 100 })
    );
}

#[test]
fn exclusive_tax_on_a_line_adds_to_the_line_and_the_total() {
    let mut priced = priced(vec![line("a", 1, 10_000)]);
    priced.apply("shipping", adjustments(vec![Adjustment::shipping(500, "Standard")])).unwrap();
    let output = adjustments(vec![
        Adjustment::tax(Target::Line("a".into()), 1_800, "GST").with_breakdown(gst_breakdown(1_800, false)),
        Adjustment::tax(Target::Shipping, 90, "GST on shipping"),
    ]);
    priced.apply("tax", output).unwrap();
    assert_eq!((priced.lines()[0].tax, priced.lines()[0].total), (1_800, 11_800));
    assert_eq!((priced.tax_total(), priced.shipping_total(), priced.total()), (1_890, 500, 12_390));
}

#[test]
fn skipping_a_rule_adds_a_notice_and_changes_no_price() {
    let mut priced = priced(vec![line("a", 1, 1_000)]);
    priced.skip("loyalty", "timed out after 50 ms");
    assert_eq!(priced.total(), 1_000);
    assert_eq!(
        priced.notices(),
        [Notice { kind: NoticeKind::RuleSkipped, plugin: "loyalty".into(), message: "timed out after 50 ms".into() }]
    );
}
