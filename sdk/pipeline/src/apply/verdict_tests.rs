use super::tests::{adjustments, cart, line};
use crate::*;

fn priced(codes: &[&str]) -> PricedCart {
    PricedCart::new(&cart(vec![line("a", 1, 200_000)], codes)).unwrap()
}

fn verdicts(coupons: Vec<CouponVerdict>) -> RuleOutput {
    RuleOutput { adjustments: Vec::new(), coupons }
}

fn ineligible(code: &str) -> CouponVerdict {
    CouponVerdict::rejected(code, CouponErrorCode::Ineligible, "Spend ₹1,500 or more to use this code.")
}

fn unknown(code: &str) -> CouponVerdict {
    CouponVerdict::rejected(code, CouponErrorCode::Unknown, "We don't know this code.")
}

fn verdict_error(priced: &mut PricedCart, output: RuleOutput) -> VerdictError {
    let before = priced.clone();
    let err = priced.apply("bad", output).unwrap_err();
    assert_eq!(*priced, before, "a rejected output must change nothing");
    match err {
        PipelineError::InvalidVerdict { reason, .. } => reason,
        other => panic!("expected an invalid verdict, got {other}"),
    }
}

#[test]
fn a_code_no_rule_recognises_is_rejected_as_unknown() {
    let priced = priced(&["MYSTERY"]);
    let result = &priced.coupons()[0];
    assert_eq!(
        (result.accepted, result.error_code, result.plugin.as_deref()),
        (false, Some(CouponErrorCode::Unknown), None)
    );
    assert!(priced.coupon_codes().is_empty());
}

#[test]
fn accepted_codes_keep_the_cart_spelling_and_order() {
    let mut priced = priced(&["welcome10", "FLAT200"]);
    let discount = Adjustment::cart_discount(20_000, "10% off").with_code("WELCOME10");
    let output = RuleOutput {
        adjustments: vec![discount],
        coupons: vec![CouponVerdict::accepted("FLAT200"), CouponVerdict::accepted("WELCOME10")],
    };
    priced.apply("coupons", output).unwrap();
    assert_eq!(priced.coupon_codes(), ["welcome10", "FLAT200"]);
    assert_eq!(priced.view().accepted_coupon_codes, ["welcome10", "FLAT200"]);
    assert!(priced.view().is_accepted("Welcome10"));
    assert_eq!(priced.coupons()[0].plugin.as_deref(), Some("coupons"));
}

#[test]
fn an_ineligible_code_is_reported_with_its_reason() {
    let mut priced = priced(&["FLAT200"]);
    priced.apply("coupons", verdicts(vec![ineligible("FLAT200")])).unwrap();
    let result = &priced.coupons()[0];
    assert_eq!(result.error_code, Some(CouponErrorCode::Ineligible));
    assert_eq!(result.reason.as_deref(), Some("Spend ₹1,500 or more to use this code."));
    assert_eq!(priced.total(), 200_000);
}

#[test]
fn malformed_verdicts_are_rejected() {
    let mut priced = priced(&["A", "B"]);
    let no_reason = CouponVerdict { reason: None, ..ineligible("A") };
    let blank_reason = CouponVerdict { reason: Some(" ".into()), ..ineligible("A") };
    let no_code = CouponVerdict { error_code: None, ..ineligible("A") };
    let accepted_with_code =
        CouponVerdict { error_code: Some(CouponErrorCode::Unknown), ..CouponVerdict::accepted("A") };
    let cases = [
        (vec![CouponVerdict::accepted("C")], VerdictError::NotInCart),
        (vec![CouponVerdict::accepted("A"), ineligible("a")], VerdictError::Duplicate),
        (vec![no_reason], VerdictError::MissingReason),
        (vec![blank_reason], VerdictError::MissingReason),
        (vec![no_code], VerdictError::MissingErrorCode),
        (vec![accepted_with_code], VerdictError::ErrorCodeOnAccepted),
    ];
    for (coupons, expected) in cases {
        assert_eq!(verdict_error(&mut priced, verdicts(coupons)), expected);
    }
}

#[test]
fn a_bad_verdict_discards_the_adjustments_of_the_same_output() {
    let mut priced = priced(&["A"]);
    let output = RuleOutput {
        adjustments: vec![Adjustment::cart_discount(100, "off")],
        coupons: vec![CouponVerdict::accepted("ZZZ")],
    };
    assert_eq!(verdict_error(&mut priced, output), VerdictError::NotInCart);
}

#[test]
fn a_later_rule_may_decide_a_code_an_earlier_one_did_not_know() {
    let mut priced = priced(&["PARTNER5"]);
    priced.apply("coupons", verdicts(vec![unknown("PARTNER5")])).unwrap();
    priced.apply("partner_coupons", verdicts(vec![CouponVerdict::accepted("PARTNER5")])).unwrap();
    assert_eq!(priced.coupon_codes(), ["PARTNER5"]);
    // …and a rule that does not know a decided code changes nothing.
    priced.apply("more_coupons", verdicts(vec![unknown("PARTNER5")])).unwrap();
    assert_eq!(priced.coupons()[0].plugin.as_deref(), Some("partner_coupons"));
    assert!(priced.coupons()[0].accepted);
}

#[test]
fn a_later_rule_may_not_overturn_a_decided_code() {
    let mut priced = priced(&["FLAT200"]);
    priced.apply("coupons", verdicts(vec![ineligible("FLAT200")])).unwrap();
    let err = verdict_error(&mut priced, verdicts(vec![CouponVerdict::accepted("FLAT200")]));
    assert_eq!(err, VerdictError::AlreadyDecided { by: "coupons".into() });
}

#[test]
fn an_adjustment_may_name_a_code_accepted_by_an_earlier_rule_but_not_a_rejected_one() {
    let mut priced = priced(&["WELCOME10", "FLAT200"]);
    let output = verdicts(vec![CouponVerdict::accepted("WELCOME10"), ineligible("FLAT200")]);
    priced.apply("coupons", output).unwrap();
    let follow_up = adjustments(vec![Adjustment::cart_discount(1, "bonus").with_code("welcome10")]);
    priced.apply("bonus", follow_up).unwrap();
    let err = priced.apply("bonus", adjustments(vec![Adjustment::cart_discount(1, "x").with_code("FLAT200")]));
    assert!(matches!(
        err,
        Err(PipelineError::InvalidAdjustment { reason: AdjustmentError::CouponNotAccepted { .. }, .. })
    ));
}
