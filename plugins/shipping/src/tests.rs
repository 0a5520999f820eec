use commerce_sdk::testing::{self, Chain, TestError};
use commerce_sdk::{Adjustment, AdjustmentKind, Cart, CartView, NoSettings, RuleOutput};

use super::*;

const DEMO: &str = r#"{"flat_rate": 4900, "free_at": 99900}"#;

fn cart(lines: &str) -> Cart {
    testing::cart_from_json(&format!(r#"{{"store": {{"currency": "INR", "origin_country": "IN"}}, "lines": {lines}}}"#))
        .unwrap()
}

fn one_line(unit_price: i64) -> Cart {
    cart(&format!(r#"[{{"line_id": "a", "quantity": 1, "unit_price": {unit_price}}}]"#))
}

fn output(settings: &str, cart: &Cart) -> RuleOutput {
    Chain::new().rule::<Shipping>("shipping", settings).unwrap().output_of("shipping", cart).unwrap()
}

fn shipping_only(adjustment: Adjustment) -> RuleOutput {
    RuleOutput { adjustments: vec![adjustment], coupons: vec![] }
}

#[test]
fn a_cart_below_the_threshold_pays_the_flat_rate() {
    let priced = testing::run::<Shipping>(DEMO, &one_line(99_899)).unwrap();

    assert_eq!(priced.shipping_total(), 4_900);
    assert_eq!(priced.total(), 99_899 + 4_900);
    assert_eq!(output(DEMO, &one_line(99_899)), shipping_only(Adjustment::shipping(4_900, "Shipping")));
}

#[test]
fn a_cart_of_exactly_the_threshold_ships_free() {
    let priced = testing::run::<Shipping>(DEMO, &one_line(99_900)).unwrap();

    assert_eq!((priced.shipping_total(), priced.total()), (0, 99_900));
    assert_eq!(output(DEMO, &one_line(99_900)), shipping_only(Adjustment::shipping(0, "Free shipping")));
    assert_eq!(output(DEMO, &one_line(150_000)), shipping_only(Adjustment::shipping(0, "Free shipping")));
}

#[test]
fn an_empty_cart_gets_no_shipping_at_all() {
    let empty = cart("[]");

    assert_eq!(output(DEMO, &empty), RuleOutput::default());
    assert_eq!(testing::run::<Shipping>(DEMO, &empty).unwrap().total(), 0);
}

#[test]
fn the_threshold_compares_with_the_net_after_earlier_discounts() {
    /// ₹10.00 off the cart, like a coupon earlier in the chain.
    struct TenRupeesOff;
    impl PricingRule for TenRupeesOff {
        type Settings = NoSettings;
        fn price(_: &NoSettings, _: &CartView) -> Result<RuleOutput, String> {
            Ok(RuleOutput { adjustments: vec![Adjustment::cart_discount(1_000, "₹10 off")], coupons: vec![] })
        }
    }
    let chain = Chain::new().rule::<TenRupeesOff>("promo", "{}").unwrap().rule::<Shipping>("shipping", DEMO).unwrap();

    // 100 000 − 1 000 = 99 000 < 99 900: the discount costs the free shipping.
    let priced = chain.run(&one_line(100_000)).unwrap();

    assert_eq!((priced.merchandise_net(), priced.shipping_total(), priced.total()), (99_000, 4_900, 103_900));
    // 100 900 − 1 000 = 99 900: free again.
    assert_eq!(chain.run(&one_line(100_900)).unwrap().shipping_total(), 0);
}

#[test]
fn a_fully_discounted_cart_still_pays_for_shipping() {
    struct AllFree;
    impl PricingRule for AllFree {
        type Settings = NoSettings;
        fn price(_: &NoSettings, cart: &CartView) -> Result<RuleOutput, String> {
            let adjustments = vec![Adjustment::cart_discount(cart.merchandise_net, "on the house")];
            Ok(RuleOutput { adjustments, coupons: vec![] })
        }
    }
    let chain = Chain::new().rule::<AllFree>("promo", "{}").unwrap().rule::<Shipping>("shipping", DEMO).unwrap();

    assert_eq!(chain.run(&one_line(5_000)).unwrap().total(), 4_900);
}

#[test]
fn without_a_threshold_shipping_is_never_free() {
    let settings = r#"{"flat_rate": 4900}"#;

    assert_eq!(output(settings, &one_line(10_000_000)), shipping_only(Adjustment::shipping(4_900, "Shipping")));
}

#[test]
fn a_flat_rate_of_zero_is_labelled_free() {
    let settings = r#"{"flat_rate": 0, "free_at": 99900}"#;

    let adjustments = output(settings, &one_line(100)).adjustments;

    assert_eq!(adjustments, [Adjustment::shipping(0, "Free shipping")]);
    assert_eq!(adjustments[0].kind, AdjustmentKind::Shipping);
}

#[test]
fn bad_settings_are_rejected_at_load_naming_every_key() {
    let cases = [
        (r#"{"flat_rate": -1, "free_at": 99900}"#, "flat_rate is -1, must not be negative"),
        (r#"{"flat_rate": 4900, "free_at": -5}"#, "free_at is -5, must not be negative"),
        (r#"{"flat_rate": -1, "free_at": -5}"#, "flat_rate is -1, must not be negative; free_at is -5"),
        (r#"{"flat_rate": 4900, "free_over": 99900}"#, "free_over"),
        (r#"{"free_at": 99900}"#, "flat_rate"),
        (r#"{"flat_rate": 49.5}"#, "invalid settings"),
    ];
    for (settings, expected) in cases {
        let err = Chain::new().rule::<Shipping>("shipping", settings).err().unwrap();
        assert!(
            matches!(&err, TestError::Settings { plugin, message } if plugin == "shipping" && message.contains(expected)),
            "{settings}: {err}"
        );
    }
    assert!(Chain::new().rule::<Shipping>("shipping", r#"{"flat_rate": 0, "free_at": 0}"#).is_ok());
}
