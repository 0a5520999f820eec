use commerce_sdk::testing::{self, Chain, TestError};
use commerce_sdk::{Adjustment, Cart, CartView, Level, NoSettings, RuleOutput, Target, TaxComponent};

use super::*;

const DEMO: &str =
    r#"{"default_basis_points": 1800, "mode": "exclusive", "categories": {"books": 0}, "gst": {"enabled": true}}"#;

const TSHIRTS: &str = r#"{"line_id": "tee", "category_slug": "t-shirts", "category_ancestors": ["clothing"],
    "quantity": 2, "unit_price": 44910}"#;
const NOVEL: &str = r#"{"line_id": "novel", "category_slug": "fiction", "category_ancestors": ["books"],
    "quantity": 1, "unit_price": 27000}"#;
const CRIME: &str = r#"{"line_id": "crime", "category_slug": "crime", "category_ancestors": ["fiction", "books"],
    "quantity": 1, "unit_price": 10000}"#;

/// A cart from the store in KA shipping to `shipping` (JSON or `null`).
fn cart_to(shipping: &str, lines: &[&str]) -> Cart {
    testing::cart_from_json(&format!(
        r#"{{"store": {{"currency": "INR", "origin_country": "IN", "origin_region": "KA"}},
             "lines": [{}], "shipping": {shipping}}}"#,
        lines.join(",")
    ))
    .unwrap()
}

fn in_karnataka(lines: &[&str]) -> Cart {
    cart_to(r#"{"country": "IN", "region": "KA"}"#, lines)
}

fn line(line_id: &str, unit_price: i64) -> String {
    format!(r#"{{"line_id": "{line_id}", "quantity": 1, "unit_price": {unit_price}}}"#)
}

fn output(settings: &str, cart: &Cart) -> RuleOutput {
    Chain::new().rule::<Tax>("tax", settings).unwrap().output_of("tax", cart).unwrap()
}

fn taxes(settings: &str, cart: &Cart) -> Vec<i64> {
    output(settings, cart).adjustments.iter().map(|a| a.amount).collect()
}

fn breakdown(settings: &str, cart: &Cart) -> Vec<TaxComponent> {
    output(settings, cart).adjustments.remove(0).tax_breakdown
}

fn cgst_sgst(cgst: i64, sgst: i64) -> Vec<TaxComponent> {
    vec![TaxComponent::new("CGST", cgst), TaxComponent::new("SGST", sgst)]
}

#[test]
fn the_worked_example_lines_are_taxed_18_percent_and_books_nothing() {
    let cart = in_karnataka(&[TSHIRTS, NOVEL]);

    let priced = testing::run::<Tax>(DEMO, &cart).unwrap();

    // 18 % of 89 820 = 16 167.6 → 16 168, split evenly within Karnataka.
    assert_eq!(
        output(DEMO, &cart).adjustments,
        [
            Adjustment::tax(Target::Line("tee".into()), 16_168, "GST 18%").with_breakdown(cgst_sgst(8_084, 8_084)),
            Adjustment::tax(Target::Line("novel".into()), 0, "GST 0%").with_breakdown(cgst_sgst(0, 0)),
        ]
    );
    assert_eq!((priced.tax_total(), priced.total()), (16_168, 89_820 + 27_000 + 16_168));
    assert_eq!((priced.line("tee").unwrap().total, priced.line("novel").unwrap().total), (105_988, 27_000));
}

#[test]
fn the_nearest_listed_category_decides_the_rate() {
    let cart = in_karnataka(&[CRIME, NOVEL, TSHIRTS]);

    // crime › fiction › books: the line's own category first…
    let settings = r#"{"default_basis_points": 1800, "categories": {"books": 0, "crime": 500}}"#;
    assert_eq!(taxes(settings, &cart), [500, 0, 16_168]);
    // …then the nearest ancestor, so `fiction` beats `books` for crime novels.
    let settings = r#"{"default_basis_points": 1800, "categories": {"books": 500, "fiction": 1200}}"#;
    assert_eq!(taxes(settings, &cart), [1_200, 3_240, 16_168]);
    // Categories on other branches do not touch the books; `clothing` covers the t-shirts.
    let settings = r#"{"default_basis_points": 1800, "categories": {"clothing": 1200, "toys": 0}}"#;
    assert_eq!(taxes(settings, &cart), [1_800, 4_860, 10_778]);
}

#[test]
fn a_line_without_a_category_pays_the_default_rate() {
    let cart = in_karnataka(&[&line("plain", 10_000)]);

    assert_eq!(taxes(DEMO, &cart), [1_800]);
}

#[test]
fn tax_is_on_the_net_after_earlier_discounts_and_not_on_shipping() {
    /// 10 % off the cart, then ₹49 shipping, as coupons and shipping would do.
    struct TenPercentAndShipping;
    impl PricingRule for TenPercentAndShipping {
        type Settings = NoSettings;
        fn price(_: &NoSettings, cart: &CartView) -> Result<RuleOutput, String> {
            let discount = percent_of(cart.merchandise_net, 1000).map_err(|e| e.to_string())?;
            let adjustments = vec![Adjustment::cart_discount(discount, "10% off"), Adjustment::shipping(4_900, "Ship")];
            Ok(RuleOutput { adjustments, coupons: vec![] })
        }
    }
    let cart = in_karnataka(&[
        r#"{"line_id": "tee", "category_slug": "t-shirts", "quantity": 2, "unit_price": 49900}"#,
        r#"{"line_id": "novel", "category_slug": "fiction", "category_ancestors": ["books"], "quantity": 1,
            "unit_price": 30000}"#,
    ]);
    let chain = Chain::new().rule::<TenPercentAndShipping>("before", "{}").unwrap().rule::<Tax>("tax", DEMO).unwrap();

    let priced = chain.run(&cart).unwrap();

    assert_eq!(priced.tax_total(), 16_168);
    assert_eq!(priced.total(), 129_800 - 12_980 + 4_900 + 16_168);
    assert!(priced.adjustments().iter().filter(|a| a.plugin == "tax").all(|a| matches!(a.target, Target::Line(_))));
}

#[test]
fn each_line_is_rounded_once_half_away_from_zero() {
    // 18 % of 25 = 4.5 → 5 on each line; never 9 for the pair (4.5 + 4.5 rounded together).
    let cart = in_karnataka(&[&line("a", 25), &line("b", 25), &line("c", 24)]);
    let settings = r#"{"default_basis_points": 1800}"#;

    // 24 → 4.32 → 4.
    assert_eq!(taxes(settings, &cart), [5, 5, 4]);
}

#[test]
fn within_the_store_region_tax_splits_into_cgst_and_sgst_with_the_odd_paisa_first() {
    // 18 % of 89 815 = 16 166.7 → 16 167 → CGST 8 084 + SGST 8 083.
    let cart = in_karnataka(&[&line("a", 89_815)]);

    assert_eq!(breakdown(DEMO, &cart), cgst_sgst(8_084, 8_083));
    let lower_case = cart_to(r#"{"country": "in", "region": " ka "}"#, &[&line("a", 89_815)]);
    assert_eq!(breakdown(DEMO, &lower_case), cgst_sgst(8_084, 8_083));
}

#[test]
fn across_regions_or_countries_tax_is_igst() {
    let lines = [&line("socks", 142_500) as &str];
    let igst = vec![TaxComponent::new("IGST", 25_650)];

    assert_eq!(breakdown(DEMO, &cart_to(r#"{"country": "IN", "region": "MH"}"#, &lines)), igst);
    // A region of the same name abroad is not the store's state.
    assert_eq!(breakdown(DEMO, &cart_to(r#"{"country": "US", "region": "KA"}"#, &lines)), igst);
}

#[test]
fn without_a_shipping_region_the_tax_has_no_breakdown() {
    let lines = [&line("a", 10_000) as &str];

    for shipping in ["null", r#"{"country": "IN"}"#, r#"{"country": "IN", "region": ""}"#] {
        let adjustments = output(DEMO, &cart_to(shipping, &lines)).adjustments;
        assert_eq!(adjustments, [Adjustment::tax(Target::Line("a".into()), 1_800, "GST 18%")], "{shipping}");
    }
}

#[test]
fn a_store_without_an_origin_region_gets_no_breakdown_and_a_warning() {
    let cart = testing::cart_from_json(
        r#"{"store": {"currency": "INR", "origin_country": "IN"},
            "lines": [{"line_id": "a", "quantity": 1, "unit_price": 10000}],
            "shipping": {"country": "IN", "region": "KA"}}"#,
    )
    .unwrap();
    let chain = Chain::new().rule::<Tax>("tax", DEMO).unwrap();

    let priced = chain.run(&cart).unwrap();

    assert!(priced.adjustments()[0].tax_breakdown.is_empty());
    assert_eq!(priced.tax_total(), 1_800);
    let logs = chain.logs();
    assert_eq!((logs.len(), logs[0].level), (1, Level::Warn));
    assert!(logs[0].message.contains("origin_region"), "{}", logs[0].message);
}

#[test]
fn without_the_gst_split_there_is_no_breakdown_and_the_label_says_tax() {
    let cart = in_karnataka(&[&line("a", 10_000)]);

    let adjustments = output(r#"{"default_basis_points": 1250}"#, &cart).adjustments;
    assert_eq!(adjustments, [Adjustment::tax(Target::Line("a".into()), 1_250, "Tax 12.5%")]);
    let adjustments = output(r#"{"default_basis_points": 2000, "label": "VAT"}"#, &cart).adjustments;
    assert_eq!(adjustments[0].label, "VAT 20%");
}

#[test]
fn inclusive_tax_is_the_part_of_the_net_that_is_tax_and_is_not_added() {
    let settings = r#"{"default_basis_points": 1800, "mode": "inclusive", "categories": {"books": 0},
                       "gst": {"enabled": true}}"#;
    // 11 800 × 1800 / 11 800 = 1 800 exactly; 100 → 15.25 → 15; books 0.
    let cart = in_karnataka(&[&line("a", 11_800), &line("b", 100), NOVEL]);

    let priced = testing::run::<Tax>(settings, &cart).unwrap();

    assert_eq!(
        output(settings, &cart).adjustments[0],
        Adjustment::tax(Target::Line("a".into()), 1_800, "GST 18% (included)")
            .with_breakdown(cgst_sgst(900, 900))
            .inclusive()
    );
    assert_eq!(taxes(settings, &cart), [1_800, 15, 0]);
    assert_eq!((priced.tax_total(), priced.inclusive_tax_total()), (0, 1_815));
    assert_eq!(priced.total(), 11_800 + 100 + 27_000);
    assert_eq!(priced.line("a").unwrap().inclusive_tax, 1_800);
}

#[test]
fn inclusive_tax_rounds_halves_away_from_zero() {
    // At 100 % the tax inside 5 is 2.5 → 3; inside 4 it is 2.
    let settings = r#"{"default_basis_points": 10000, "mode": "inclusive"}"#;
    let cart = in_karnataka(&[&line("a", 5), &line("b", 4), &line("c", 0)]);

    assert_eq!(taxes(settings, &cart), [3, 2, 0]);
    assert_eq!(tax_inside(i64::MAX, 10_000), i64::MAX / 2 + 1);
    assert_eq!(tax_inside(-5, 10_000), -3);
}

#[test]
fn without_a_mode_the_rule_follows_the_store() {
    let settings = r#"{"default_basis_points": 1800}"#;
    let cart = |include: bool| {
        testing::cart_from_json(&format!(
            r#"{{"store": {{"currency": "INR", "origin_country": "IN", "prices_include_tax": {include}}},
                 "lines": [{{"line_id": "a", "quantity": 1, "unit_price": 11800}}]}}"#
        ))
        .unwrap()
    };

    assert!(output(settings, &cart(true)).adjustments[0].inclusive);
    assert_eq!(taxes(settings, &cart(true)), [1_800]);
    assert!(!output(settings, &cart(false)).adjustments[0].inclusive);
    assert_eq!(taxes(settings, &cart(false)), [2_124]);
    // An explicit mode wins over the store.
    assert!(!output(r#"{"default_basis_points": 1800, "mode": "exclusive"}"#, &cart(true)).adjustments[0].inclusive);
}

#[test]
fn an_empty_cart_gets_no_tax() {
    assert_eq!(output(DEMO, &in_karnataka(&[])), RuleOutput::default());
}

#[test]
fn bad_settings_are_rejected_at_load_naming_every_key() {
    let cases = [
        (r#"{"default_basis_points": 10001}"#, "default_basis_points is 10001, above 10000"),
        (r#"{"default_basis_points": 1800, "categories": {"books": 20000}}"#, "categories.books is 20000"),
        (r#"{"default_basis_points": 1800, "categories": {"": 0}}"#, "not a category slug"),
        (r#"{"default_basis_points": 1800, "categories": {" books": 0}}"#, "not a category slug"),
        (r#"{"default_basis_points": 1800, "label": " "}"#, "label is empty"),
        (r#"{"default_basis_points": 1800, "mode": "included"}"#, "included"),
        (r#"{"default_basis_points": 1800, "gst": {"enabled": true, "origin": "KA"}}"#, "origin"),
        (r#"{"default_basis_point": 1800}"#, "default_basis_point"),
        (r#"{"default_basis_points": -1}"#, "invalid settings"),
    ];
    for (settings, expected) in cases {
        let err = Chain::new().rule::<Tax>("tax", settings).err().unwrap();
        assert!(
            matches!(&err, TestError::Settings { plugin, message } if plugin == "tax" && message.contains(expected)),
            "{settings}: {err}"
        );
    }
    let err = Chain::new()
        .rule::<Tax>("tax", r#"{"default_basis_points": 10001, "categories": {"books": 10001}}"#)
        .err()
        .unwrap();
    assert!(err.to_string().contains("default_basis_points is 10001") && err.to_string().contains("categories.books"));
    assert!(Chain::new().rule::<Tax>("tax", DEMO).is_ok());
}
