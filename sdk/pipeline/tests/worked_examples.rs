//! The worked examples of the pricing pipeline (issue 4), priced through the demo chain
//! `volume_tiers → coupons → tax → shipping` with the outputs the bundled plugins would return,
//! computed here by hand from the view each rule receives.

use commerce_pipeline::{
    Adjustment, Cart, CouponErrorCode, CouponVerdict, PricedCart, RuleOutput, Target, TaxComponent, gst_breakdown,
    percent_of,
};

fn load(name: &str) -> Cart {
    let path = format!("{}/tests/carts/{name}", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).expect("cart file");
    Cart::from_json(&json).expect("valid cart")
}

/// The demo tax rule's rate for a line: 0 bp for books and its descendants, 1800 bp otherwise.
fn demo_tax_rate(categories: &[&str]) -> u32 {
    if categories.contains(&"books") { 0 } else { 1800 }
}

#[test]
fn tshirts_and_a_novel_with_welcome10_total_132988() {
    let cart = load("tshirt_and_novel.json");
    let mut priced = PricedCart::new(&cart).expect("priced");
    assert_eq!(priced.subtotal(), 129_800);

    // volume_tiers: quantities 2 and 1 are below every threshold.
    priced.apply("volume_tiers", RuleOutput::default()).expect("tiers");

    // coupons: WELCOME10 is 1000 bp of the running net, which clears the ₹500 minimum.
    let view = priced.view();
    assert_eq!(view.merchandise_net, 129_800);
    let welcome = percent_of(view.merchandise_net, 1000).expect("percent");
    assert_eq!(welcome, 12_980);
    let coupons = RuleOutput {
        adjustments: vec![Adjustment::cart_discount(welcome, "10% off with WELCOME10").with_code("WELCOME10")],
        coupons: vec![CouponVerdict::accepted("WELCOME10")],
    };
    priced.apply("coupons", coupons).expect("coupons");
    let discounts: Vec<i64> = priced.lines().iter().map(|l| l.discount).collect();
    assert_eq!(discounts, [9_980, 3_000]);

    // tax: per line on the net after all discounts; shipping to KA from KA splits into CGST + SGST.
    let view = priced.view();
    let taxes: Vec<Adjustment> = view
        .lines
        .iter()
        .map(|line| {
            let rate = demo_tax_rate(&line.categories().collect::<Vec<_>>());
            let tax = percent_of(line.net, rate).expect("percent");
            Adjustment::tax(Target::Line(line.line_id.clone()), tax, format!("GST {}%", rate / 100))
                .with_breakdown(gst_breakdown(tax, true))
        })
        .collect();
    assert_eq!(taxes.iter().map(|t| t.amount).collect::<Vec<_>>(), [16_168, 0]);
    priced.apply("tax", RuleOutput { adjustments: taxes, coupons: vec![] }).expect("tax");

    // shipping: the pre-tax merchandise net 116 820 is at or above ₹999, so shipping is free.
    assert!(priced.view().merchandise_net >= 99_900);
    priced
        .apply("shipping", RuleOutput { adjustments: vec![Adjustment::shipping(0, "Free shipping")], coupons: vec![] })
        .expect("shipping");

    assert_eq!(priced.discount_total(), 12_980);
    assert_eq!(priced.tax_total(), 16_168);
    assert_eq!(priced.shipping_total(), 0);
    assert_eq!(priced.total(), 132_988);
    assert_eq!(priced.coupon_codes(), ["WELCOME10"]);
    let tshirts = priced.line("l1").expect("line");
    assert_eq!((tshirts.net, tshirts.tax, tshirts.total), (89_820, 16_168, 105_988));
    let gst = &tshirts.adjustments.last().expect("tax entry").tax_breakdown;
    assert_eq!(gst, &[TaxComponent::new("CGST", 8_084), TaxComponent::new("SGST", 8_084)]);
    let novel = priced.line("l2").expect("line");
    assert_eq!((novel.net, novel.tax, novel.total), (27_000, 0, 27_000));
}

#[test]
fn six_socks_with_flat200_reject_the_coupon_and_total_168150() {
    let cart = load("socks.json");
    let mut priced = PricedCart::new(&cart).expect("priced");
    assert_eq!(priced.subtotal(), 150_000);

    // volume_tiers: 6 ≥ 5, so 500 bp of the line's subtotal, rounded per line.
    let line = &priced.view().lines[0];
    let tier = percent_of(line.subtotal, 500).expect("percent");
    let tiers =
        RuleOutput { adjustments: vec![Adjustment::line_discount("l1", tier, "5% off 5 or more")], coupons: vec![] };
    priced.apply("volume_tiers", tiers).expect("tiers");
    assert_eq!(priced.discount_total(), 7_500);

    // coupons: FLAT200 needs a running net of ₹1,500; 142 500 falls short.
    assert_eq!(priced.view().merchandise_net, 142_500);
    let reason = "Add ₹75.00 more to use FLAT200 (minimum ₹1,500.00 after discounts).";
    let coupons = RuleOutput {
        adjustments: vec![],
        coupons: vec![CouponVerdict::rejected("FLAT200", CouponErrorCode::Ineligible, reason)],
    };
    priced.apply("coupons", coupons).expect("coupons");

    // tax: 1800 bp of the net; shipping to MH from KA is inter-state, so IGST.
    let tax = percent_of(priced.view().lines[0].net, 1800).expect("percent");
    assert_eq!(tax, 25_650);
    let taxes =
        vec![Adjustment::tax(Target::Line("l1".into()), tax, "GST 18%").with_breakdown(gst_breakdown(tax, false))];
    priced.apply("tax", RuleOutput { adjustments: taxes, coupons: vec![] }).expect("tax");

    priced
        .apply("shipping", RuleOutput { adjustments: vec![Adjustment::shipping(0, "Free shipping")], coupons: vec![] })
        .expect("shipping");

    assert_eq!(priced.total(), 168_150);
    assert!(priced.coupon_codes().is_empty());
    let flat = &priced.coupons()[0];
    assert_eq!((flat.accepted, flat.error_code), (false, Some(CouponErrorCode::Ineligible)));
    assert_eq!(flat.reason.as_deref(), Some(reason));

    // The priced cart's JSON, as `engine pricing run` prints it.
    let json = serde_json::to_value(&priced).expect("json");
    assert_eq!(json["currency"], "INR");
    assert_eq!(json["total"], 168_150);
    assert_eq!(json["lines"][0]["net"], 142_500);
    assert_eq!(json["lines"][0]["adjustments"][1]["tax_breakdown"][0]["name"], "IGST");
    assert_eq!(json["coupons"][0]["error_code"], "coupon_ineligible");
    assert_eq!(json["coupon_codes"], serde_json::json!([]));
    assert_eq!(json["notices"], serde_json::json!([]));
}

#[test]
fn a_rule_output_written_as_json_applies_like_a_built_one() {
    let cart = load("socks.json");
    let mut priced = PricedCart::new(&cart).expect("priced");
    let output: RuleOutput = serde_json::from_str(
        r#"{"adjustments": [{"kind": "discount", "target": {"line": "l1"}, "amount": 7500, "label": "5% off 5 or more"}]}"#,
    )
    .expect("output");
    priced.apply("volume_tiers", output).expect("apply");
    assert_eq!(priced.total(), 142_500);
}

#[test]
fn a_skipped_rule_is_listed_and_the_rest_of_the_chain_still_prices() {
    let cart = load("socks.json");
    let mut priced = PricedCart::new(&cart).expect("priced");
    priced.skip("volume_tiers", "plugin `volume_tiers` timed out after 50 ms");
    priced
        .apply("shipping", RuleOutput { adjustments: vec![Adjustment::shipping(0, "Free shipping")], coupons: vec![] })
        .expect("shipping");
    assert_eq!(priced.total(), 150_000);
    let json = serde_json::to_value(&priced).expect("json");
    assert_eq!(json["notices"][0]["kind"], "rule_skipped");
    assert_eq!(json["notices"][0]["plugin"], "volume_tiers");
}
