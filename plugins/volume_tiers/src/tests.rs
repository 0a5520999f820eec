use commerce_sdk::testing::{self, Chain, TestError};
use commerce_sdk::{Adjustment, Cart, RuleOutput};

use super::*;

const DEMO: &str =
    r#"{"tiers": [{"min_quantity": 5, "basis_points": 500}, {"min_quantity": 10, "basis_points": 1000}]}"#;

fn cart(lines: &str) -> Cart {
    testing::cart_from_json(&format!(r#"{{"store": {{"currency": "INR", "origin_country": "IN"}}, "lines": {lines}}}"#))
        .unwrap()
}

#[test]
fn six_pairs_of_socks_get_five_percent_off() {
    let socks = cart(r#"[{"line_id": "socks", "sku": "SOCK", "quantity": 6, "unit_price": 25000}]"#);

    let priced = testing::run::<VolumeTiers>(DEMO, &socks).unwrap();

    assert_eq!(priced.subtotal(), 150_000);
    assert_eq!(priced.discount_total(), 7_500);
    assert_eq!(priced.line("socks").unwrap().net, 142_500);
    assert_eq!(priced.total(), 142_500);
}

#[test]
fn each_line_gets_the_highest_tier_it_reaches_and_small_lines_nothing() {
    let lines = cart(
        r#"[{"line_id": "few", "quantity": 4, "unit_price": 1000},
            {"line_id": "five", "quantity": 5, "unit_price": 1000},
            {"line_id": "many", "quantity": 12, "unit_price": 999}]"#,
    );

    let output =
        Chain::new().rule::<VolumeTiers>("volume_tiers", DEMO).unwrap().output_of("volume_tiers", &lines).unwrap();

    // 10 % of 11 988 = 1 198.8 → 1 199 (half away from zero, once per line).
    assert_eq!(
        output,
        RuleOutput {
            adjustments: vec![
                Adjustment::line_discount("five", 250, "5% off for 5 or more"),
                Adjustment::line_discount("many", 1_199, "10% off for 10 or more"),
            ],
            coupons: vec![],
        }
    );
}

#[test]
fn the_discount_never_exceeds_what_earlier_rules_left_of_the_line() {
    struct HalfOff;
    impl PricingRule for HalfOff {
        type Settings = commerce_sdk::NoSettings;
        fn price(_: &Self::Settings, cart: &CartView) -> Result<RuleOutput, String> {
            let adjustments =
                cart.lines.iter().map(|l| Adjustment::line_discount(&l.line_id, l.net - 10, "almost free")).collect();
            Ok(RuleOutput { adjustments, coupons: vec![] })
        }
    }
    let socks = cart(r#"[{"line_id": "socks", "quantity": 6, "unit_price": 25000}]"#);
    let chain =
        Chain::new().rule::<HalfOff>("half_off", "{}").unwrap().rule::<VolumeTiers>("volume_tiers", DEMO).unwrap();

    let priced = chain.run(&socks).unwrap();

    assert_eq!(priced.total(), 0);
}

#[test]
fn bad_tier_tables_are_rejected_at_load() {
    let cases = [
        (r#"{"tiers": []}"#, "empty"),
        (
            r#"{"tiers": [{"min_quantity": 10, "basis_points": 500}, {"min_quantity": 5, "basis_points": 900}]}"#,
            "increasing",
        ),
        (
            r#"{"tiers": [{"min_quantity": 5, "basis_points": 500}, {"min_quantity": 5, "basis_points": 900}]}"#,
            "each threshold once",
        ),
        (r#"{"tiers": [{"min_quantity": 5, "basis_points": 10001}]}"#, "above 10000"),
        (r#"{"tiers": [{"min_quantity": 0, "basis_points": 100}]}"#, "at least 1"),
        (r#"{"tiers": [{"min_quantity": 5, "basis_point": 100}]}"#, "basis_point"),
        (r#"{"tier": []}"#, "tier"),
    ];
    for (settings, expected) in cases {
        let err = Chain::new().rule::<VolumeTiers>("volume_tiers", settings).err().unwrap();
        assert!(
            matches!(&err, TestError::Settings { plugin, message } if plugin == "volume_tiers" && message.contains(expected)),
            "{settings}: {err}"
        );
    }
    assert!(
        Chain::new()
            .rule::<VolumeTiers>("volume_tiers", r#"{"tiers": [{"min_quantity": 1, "basis_points": 10000}]}"#)
            .is_ok()
    );
}
