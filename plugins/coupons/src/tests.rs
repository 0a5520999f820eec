use commerce_sdk::testing::{self, Chain, TestError};
use commerce_sdk::{Adjustment, Cart, CartView, CouponErrorCode, CouponVerdict, NoSettings, PricedCart, RuleOutput};

use super::*;

const DEMO: &str = r#"{"codes": [{"code": "WELCOME10", "basis_points": 1000, "min_subtotal": 50000},
                                 {"code": "FLAT200", "amount": 20000, "min_subtotal": 150000}]}"#;

const TSHIRTS: &str = r#"{"line_id": "tee", "category_slug": "t-shirts", "category_ancestors": ["clothing"],
    "quantity": 2, "unit_price": 49900}"#;
const CRIME: &str = r#"{"line_id": "crime", "category_slug": "crime", "category_ancestors": ["fiction", "books"],
    "quantity": 1, "unit_price": 30000}"#;

/// A cart of `lines` with `codes`, plus `extra` top-level fields (e.g. `"now": 5`).
fn cart(lines: &[&str], codes: &[&str], extra: &str) -> Cart {
    let codes = codes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(",");
    let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
    testing::cart_from_json(&format!(
        r#"{{"store": {{"currency": "INR", "origin_country": "IN"}}, "lines": [{}], "coupon_codes": [{codes}]{extra}}}"#,
        lines.join(",")
    ))
    .unwrap()
}

fn line(line_id: &str, unit_price: i64) -> String {
    format!(r#"{{"line_id": "{line_id}", "quantity": 1, "unit_price": {unit_price}}}"#)
}

fn one_line(unit_price: i64, codes: &[&str]) -> Cart {
    cart(&[&line("a", unit_price)], codes, "")
}

fn shared_cart(name: &str) -> Cart {
    let path = format!("{}/../../sdk/pipeline/tests/carts/{name}", env!("CARGO_MANIFEST_DIR"));
    testing::cart_from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn output(settings: &str, cart: &Cart) -> RuleOutput {
    Chain::new().rule::<Coupons>("coupons", settings).unwrap().output_of("coupons", cart).unwrap()
}

fn price(settings: &str, cart: &Cart) -> PricedCart {
    testing::run::<Coupons>(settings, cart).unwrap()
}

fn ineligible(code: &str, reason: &str) -> CouponVerdict {
    CouponVerdict::rejected(code, CouponErrorCode::Ineligible, reason)
}

/// The reason `code` got, or "accepted".
fn reason(priced: &PricedCart, code: &str) -> String {
    let result = priced.coupons().iter().find(|c| c.code == code).unwrap();
    if result.accepted { "accepted".to_owned() } else { result.reason.clone().unwrap() }
}

fn one_code(fields: &str) -> String {
    format!(r#"{{"codes": [{{"code": "X", {fields}}}]}}"#)
}

#[test]
fn welcome10_takes_ten_percent_of_the_worked_example_as_one_cart_discount() {
    let cart = shared_cart("tshirt_and_novel.json");

    let priced = price(DEMO, &cart);

    assert_eq!(
        output(DEMO, &cart),
        RuleOutput {
            adjustments: vec![Adjustment::cart_discount(12_980, "10% off with WELCOME10").with_code("WELCOME10")],
            coupons: vec![CouponVerdict::accepted("WELCOME10")],
        }
    );
    assert_eq!(priced.lines().iter().map(|l| l.discount).collect::<Vec<_>>(), [9_980, 3_000]);
    assert_eq!((priced.total(), priced.coupon_codes()), (116_820, &["WELCOME10".to_owned()][..]));
}

#[test]
fn flat200_is_ineligible_when_earlier_discounts_take_the_cart_below_its_minimum() {
    /// The demo's 5 % volume tier on the socks.
    struct Tier;
    impl PricingRule for Tier {
        type Settings = NoSettings;
        fn price(_: &NoSettings, _: &CartView) -> Result<RuleOutput, String> {
            Ok(RuleOutput { adjustments: vec![Adjustment::line_discount("l1", 7_500, "5% off")], coupons: vec![] })
        }
    }
    let socks = shared_cart("socks.json");
    let chain = Chain::new().rule::<Tier>("volume_tiers", "{}").unwrap().rule::<Coupons>("coupons", DEMO).unwrap();

    let priced = chain.run(&socks).unwrap();

    let reason = "Add ₹75.00 more to use FLAT200 (minimum ₹1,500.00 after discounts).";
    assert_eq!(chain.output_of("coupons", &socks).unwrap().coupons, [ineligible("FLAT200", reason)]);
    assert_eq!((priced.total(), priced.coupon_codes().len()), (142_500, 0));
    // Without the tier discount the same cart meets the minimum exactly.
    assert_eq!(price(DEMO, &socks).total(), 130_000);
}

#[test]
fn codes_match_ignoring_case_and_keep_the_shoppers_spelling() {
    let cart = one_line(100_000, &["welcome10"]);

    let out = output(DEMO, &cart);

    assert_eq!(out.coupons, [CouponVerdict::accepted("welcome10")]);
    assert_eq!(out.adjustments, [Adjustment::cart_discount(10_000, "10% off with WELCOME10").with_code("WELCOME10")]);
    assert_eq!(price(DEMO, &cart).coupon_codes(), ["welcome10"]);
}

#[test]
fn codes_stack_in_the_order_added_each_on_the_running_net() {
    // 200 000 − 10 % = 180 000, still ≥ 150 000, so FLAT200 applies too.
    assert_eq!(price(DEMO, &one_line(200_000, &["WELCOME10", "FLAT200"])).total(), 160_000);
    // 160 000 − 10 % = 144 000 < 150 000: FLAT200 falls short because WELCOME10 came first…
    let priced = price(DEMO, &one_line(160_000, &["WELCOME10", "FLAT200"]));
    assert_eq!(priced.total(), 144_000);
    assert_eq!(reason(&priced, "FLAT200"), "Add ₹60.00 more to use FLAT200 (minimum ₹1,500.00 after discounts).");
    // …while added first it applies, and WELCOME10 takes 10 % of what is left.
    let priced = price(DEMO, &one_line(160_000, &["FLAT200", "WELCOME10"]));
    assert_eq!((priced.discount_total(), priced.total()), (20_000 + 14_000, 126_000));
    assert_eq!(priced.coupon_codes(), ["FLAT200", "WELCOME10"]);
}

#[test]
fn two_percentage_codes_compound() {
    let settings = r#"{"codes": [{"code": "A", "basis_points": 1000}, {"code": "B", "basis_points": 2000}]}"#;

    // 10 000 → 9 000 → 7 200, not 7 000.
    assert_eq!(price(settings, &one_line(10_000, &["A", "B"])).total(), 7_200);
}

#[test]
fn a_minimum_met_exactly_is_enough() {
    assert_eq!(reason(&price(DEMO, &one_line(50_000, &["WELCOME10"])), "WELCOME10"), "accepted");
    assert_eq!(
        reason(&price(DEMO, &one_line(49_999, &["WELCOME10"])), "WELCOME10"),
        "Add ₹0.01 more to use WELCOME10 (minimum ₹500.00 after discounts)."
    );
}

#[test]
fn a_percentage_is_rounded_once_half_away_from_zero() {
    let settings = r#"{"codes": [{"code": "TEN", "basis_points": 1000}]}"#;

    // 1 234.5 → 1 235.
    assert_eq!(price(settings, &one_line(12_345, &["TEN"])).discount_total(), 1_235);
    // Two lines of 5 at 10 %: 0.5 + 0.5 would round to 2 per line, but the cart's 1.0 is 1.
    assert_eq!(price(settings, &cart(&[&line("a", 5), &line("b", 5)], &["TEN"], "")).discount_total(), 1);
}

#[test]
fn a_fixed_amount_never_exceeds_the_running_net() {
    let settings = r#"{"codes": [{"code": "FLAT200", "amount": 20000}]}"#;

    let priced = price(settings, &one_line(15_000, &["FLAT200"]));

    assert_eq!((priced.discount_total(), priced.total()), (15_000, 0));
    assert_eq!(priced.adjustments()[0].label, "₹200.00 off with FLAT200");
}

#[test]
fn a_code_is_valid_from_its_start_until_just_before_its_end() {
    // 1 Jan 2026 to 1 Feb 2026, UTC.
    let settings = one_code(r#""basis_points": 1000, "starts_at": 1767225600000, "ends_at": 1769904000000"#);
    let at =
        |now: i64| reason(&price(&settings, &cart(&[&line("a", 1_000)], &["X"], &format!(r#""now": {now}"#))), "X");

    assert_eq!(at(1_767_225_599_999), "X can be used from 1 Jan 2026, 00:00 UTC.");
    assert_eq!(at(1_767_225_600_000), "accepted");
    assert_eq!(at(1_769_903_999_999), "accepted");
    assert_eq!(at(1_769_904_000_000), "X expired on 1 Feb 2026, 00:00 UTC.");
    // Open-ended on either side.
    let from = one_code(r#""basis_points": 1000, "starts_at": 1767225600000"#);
    assert_eq!(reason(&price(&from, &cart(&[&line("a", 1)], &["X"], r#""now": 4102444800000"#)), "X"), "accepted");
}

#[test]
fn a_category_code_applies_to_lines_in_the_category_or_below_it() {
    let settings = r#"{"codes": [{"code": "BOOKS15", "basis_points": 1500, "categories": ["books"]}]}"#;
    let novel = r#"{"line_id": "novel", "category_slug": "fiction", "category_ancestors": ["books"],
        "quantity": 1, "unit_price": 20000}"#;
    let cart = cart(&[TSHIRTS, CRIME, novel], &["BOOKS15"], "");

    let out = output(settings, &cart);

    // 15 % of 50 000 = 7 500, spread 30 000 : 20 000 over the book lines only.
    assert_eq!(
        out.adjustments,
        [
            Adjustment::line_discount("crime", 4_500, "15% off with BOOKS15").with_code("BOOKS15"),
            Adjustment::line_discount("novel", 3_000, "15% off with BOOKS15").with_code("BOOKS15"),
        ]
    );
    assert_eq!(price(settings, &cart).line("tee").unwrap().discount, 0);
}

#[test]
fn a_category_percentage_is_rounded_once_then_spread_by_largest_remainder() {
    let settings = r#"{"codes": [{"code": "B", "basis_points": 1000, "categories": ["books"]}]}"#;
    let book = |id: &str, price: i64| {
        format!(r#"{{"line_id": "{id}", "category_slug": "books", "quantity": 1, "unit_price": {price}}}"#)
    };
    // 10 % of 5 + 5 + 5 = 1.5 → 2, spread 0.67 each → 1, 1, 0 (ties to the earlier line).
    let cart = cart(&[&book("a", 5), &line("toy", 1_000), &book("b", 5), &book("c", 5)], &["B"], "");

    let discounts: Vec<i64> = price(settings, &cart).lines().iter().map(|l| l.discount).collect();

    assert_eq!(discounts, [1, 0, 1, 0]);
}

#[test]
fn a_fixed_category_code_is_capped_at_the_eligible_net() {
    let settings = r#"{"codes": [{"code": "BOOKS500", "amount": 50000, "categories": ["fiction"]}]}"#;

    let priced = price(settings, &cart(&[TSHIRTS, CRIME], &["BOOKS500"], ""));

    assert_eq!((priced.line("crime").unwrap().net, priced.line("tee").unwrap().net), (0, 99_800));
}

#[test]
fn a_category_code_without_eligible_lines_is_ineligible() {
    let settings = r#"{"codes": [{"code": "KIDS", "basis_points": 1000, "categories": ["toys", "games"]}]}"#;

    let out = output(settings, &cart(&[TSHIRTS, CRIME], &["kids"], ""));

    assert_eq!(out.coupons, [ineligible("kids", "KIDS applies only to toys or games, and none is in your cart.")]);
    assert!(out.adjustments.is_empty());
}

#[test]
fn the_total_redemption_limit_applies_to_everyone() {
    let settings = one_code(r#""amount": 100, "max_redemptions": 41"#);
    let with = |total: u32| {
        let redemptions = format!(r#""guest": true, "redemptions": [{{"code": "x", "total": {total}}}]"#);
        reason(&price(&settings, &cart(&[&line("a", 1_000)], &["X"], &redemptions)), "X")
    };

    assert_eq!(with(40), "accepted");
    assert_eq!(with(41), "X has been fully redeemed.");
}

#[test]
fn first_order_codes_refuse_returning_customers_but_not_guests() {
    let settings = one_code(r#""amount": 100, "first_order_only": true"#);
    let with = |extra: &str| reason(&price(&settings, &cart(&[&line("a", 1_000)], &["X"], extra)), "X");

    assert_eq!(with(r#""customer_id": "c1", "earlier_orders": 0"#), "accepted");
    assert_eq!(with(r#""customer_id": "c1", "earlier_orders": 2"#), "X is for a first order only.");
    assert_eq!(with(r#""guest": true"#), "accepted");
}

#[test]
fn per_customer_limits_count_the_customers_redemptions_and_never_stop_a_guest() {
    let once = one_code(r#""amount": 100, "max_per_customer": 1"#);
    let thrice = one_code(r#""amount": 100, "max_per_customer": 3"#);
    let with = |settings: &str, extra: &str| reason(&price(settings, &cart(&[&line("a", 1_000)], &["X"], extra)), "X");
    let used =
        |n: u32| format!(r#""customer_id": "c1", "redemptions": [{{"code": "X", "total": 90, "by_customer": {n}}}]"#);

    assert_eq!(with(&once, &used(0)), "accepted");
    assert_eq!(with(&once, &used(1)), "You have already used X.");
    assert_eq!(with(&thrice, &used(2)), "accepted");
    assert_eq!(with(&thrice, &used(3)), "You have already used X 3 times, the most allowed.");
    // The host counts nothing by a guest.
    assert_eq!(with(&once, r#""guest": true, "redemptions": [{"code": "X", "total": 90}]"#), "accepted");
}

#[test]
fn an_unknown_code_is_rejected_as_unknown_and_the_others_still_apply() {
    let out = output(DEMO, &one_line(100_000, &["NOPE", "WELCOME10"]));

    assert_eq!(
        out.coupons,
        [
            CouponVerdict::rejected(
                "NOPE",
                CouponErrorCode::Unknown,
                "We don't recognise this code. Check it for typos."
            ),
            CouponVerdict::accepted("WELCOME10"),
        ]
    );
    assert_eq!(out.adjustments.len(), 1);
}

#[test]
fn a_repeated_or_already_accepted_code_gets_no_second_verdict() {
    // The cart model refuses repeated codes, so build the view by hand as a careless host might.
    let mut view = PricedCart::new(&one_line(100_000, &["WELCOME10", "FLAT200"])).unwrap().view();
    view.coupon_codes.push("welcome10".to_owned());
    view.accepted_coupon_codes.push("FLAT200".to_owned());
    let settings = commerce_sdk::parse_settings::<Coupons>(DEMO).unwrap();

    let out = Coupons::price(&settings, &view).unwrap();

    assert_eq!(out.coupons, [CouponVerdict::accepted("WELCOME10")]);
    assert_eq!(out.adjustments, [Adjustment::cart_discount(10_000, "10% off with WELCOME10").with_code("WELCOME10")]);
}

#[test]
fn a_cart_with_nothing_to_discount_is_ineligible_and_a_tiny_one_accepted_without_a_discount() {
    let settings = one_code(r#""basis_points": 1000"#);

    assert_eq!(reason(&price(&settings, &cart(&[], &["X"], "")), "X"), "X has nothing left to discount in your cart.");
    assert_eq!(
        reason(&price(DEMO, &cart(&[], &["WELCOME10"], "")), "WELCOME10"),
        "Add ₹500.00 more to use WELCOME10 (minimum ₹500.00 after discounts)."
    );
    // 10 % of 4 paise rounds to nothing: the code is good, there is just nothing to take off.
    let out = output(&settings, &one_line(4, &["X"]));
    assert_eq!((out.coupons, out.adjustments), (vec![CouponVerdict::accepted("X")], vec![]));
}

#[test]
fn reasons_show_other_currencies_with_their_code() {
    let cart = testing::cart_from_json(
        r#"{"store": {"currency": "USD", "origin_country": "US"},
            "lines": [{"line_id": "a", "quantity": 1, "unit_price": 1000}], "coupon_codes": ["FLAT200"]}"#,
    )
    .unwrap();

    assert_eq!(
        reason(&price(DEMO, &cart), "FLAT200"),
        "Add 1,490.00 USD more to use FLAT200 (minimum 1,500.00 USD after discounts)."
    );
}

#[test]
fn bad_settings_are_rejected_at_load_naming_the_key() {
    let cases = [
        (r#"{"codes": []}"#.to_owned(), "codes: the list is empty"),
        (one_code(r#""basis_points": 0"#), "codes[0].basis_points is 0, must be 1 to 10000"),
        (one_code(r#""basis_points": 10001"#), "codes[0].basis_points is 10001"),
        (one_code(r#""amount": 0"#), "codes[0].amount is 0, must be above 0"),
        (one_code(r#""amount": 100, "basis_points": 100"#), "codes[0]: give exactly one of basis_points"),
        (one_code(r#""min_subtotal": 100"#), "codes[0]: give exactly one of basis_points"),
        (one_code(r#""amount": 1, "min_subtotal": -1"#), "codes[0].min_subtotal is -1"),
        (one_code(r#""amount": 1, "starts_at": 10, "ends_at": 10"#), "codes[0].ends_at (10) must be after"),
        (one_code(r#""amount": 1, "categories": ["books", ""]"#), "codes[0].categories[1]"),
        (one_code(r#""amount": 1, "max_redemptions": 0"#), "codes[0].max_redemptions is 0"),
        (one_code(r#""amount": 1, "max_per_customer": 0"#), "codes[0].max_per_customer is 0"),
        (one_code(r#""amount": 1, "max_uses": 5"#), "max_uses"),
        (r#"{"codes": [{"code": "", "amount": 1}]}"#.to_owned(), "codes[0].code is empty"),
        (r#"{"codes": [{"code": " A", "amount": 1}]}"#.to_owned(), "leading or trailing spaces"),
        (
            r#"{"codes": [{"code": "A", "amount": 1}, {"code": "B", "amount": 1}, {"code": "a", "amount": 2}]}"#
                .to_owned(),
            r#"codes[2].code "a" repeats codes[0].code"#,
        ),
    ];
    for (settings, expected) in cases {
        let err = Chain::new().rule::<Coupons>("coupons", &settings).err().unwrap();
        assert!(
            matches!(&err, TestError::Settings { plugin, message } if plugin == "coupons" && message.contains(expected)),
            "{settings}: {err}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let settings = r#"{"codes": [{"code": "A", "basis_points": 20000}, {"code": "B", "amount": -5}]}"#;

    let err = Chain::new().rule::<Coupons>("coupons", settings).err().unwrap().to_string();

    assert!(err.contains("codes[0].basis_points is 20000") && err.contains("codes[1].amount is -5"), "{err}");
    assert!(Chain::new().rule::<Coupons>("coupons", DEMO).is_ok());
}
