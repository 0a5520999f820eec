//! The `pricing-rule` world is a published contract: every 0.1 pricing plugin was built against
//! it. The payment-gateway interfaces below it in `wit/commerce-plugin.wit` may still change
//! within 0.1 (they never loaded in a released engine); everything above them may not.

const WIT: &str = include_str!("../wit/commerce-plugin.wit");
/// The file as 0.1 pricing plugins were built against it, up to the payment-gateway section.
const RELEASED: &str = include_str!("released/pricing-rule-0.1.wit");
const GATEWAY_SECTION: &str = "// ---------------------------------------------------------------------------------------------\n// Payment gateways";

#[test]
fn the_pricing_rule_world_is_byte_for_byte_as_released() {
    let Some(end) = WIT.find(GATEWAY_SECTION) else {
        panic!("wit/commerce-plugin.wit lost its payment-gateway section marker");
    };
    // Compared as text so a failure shows the first differing line, not a hash.
    let changed = WIT[..end].lines().zip(RELEASED.lines()).enumerate().find(|(_, (now, then))| now != then);
    if let Some((index, (now, then))) = changed {
        panic!("line {} of the pricing-rule part changed:\n  released: {then}\n  now:      {now}", index + 1);
    }
    assert_eq!(WIT[..end].len(), RELEASED.len(), "the pricing-rule part grew or shrank");
}
