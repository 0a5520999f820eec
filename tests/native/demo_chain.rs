//! The demo pricing chain, natively: the settings of `config/demo.toml`, handed to the
//! bundled plugins linked as Rust, price the two worked examples of the pricing pipeline exactly.
//!
//! It runs the same export glue and pipeline maths as the engine (see `commerce_sdk::testing`);
//! only the wasm sandbox is missing, so this proves the demo *configuration* prices correctly.

use std::path::PathBuf;

use commerce_sdk::testing::Chain;
use commerce_sdk::{AdjustmentKind, Cart, CouponErrorCode, PricedCart, Target, TaxComponent};

/// A path from the repository root.
fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn config(path: &str) -> toml::Table {
    let text = std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The chain `[pricing] chain` names, each plugin with its `[plugins.<name>.settings]` as JSON.
fn demo_chain() -> Chain {
    let config = config("config/demo.toml");
    let names: Vec<&str> =
        config["pricing"]["chain"].as_array().expect("chain").iter().map(|n| n.as_str().expect("name")).collect();
    assert_eq!(names, ["volume_tiers", "coupons", "tax", "shipping"]);

    let mut chain = Chain::new();
    for name in names {
        let plugin = config["plugins"].get(name).unwrap_or_else(|| panic!("no [plugins.{name}]"));
        let module = format!("../target/plugins/wasm32-wasip2/plugin/{name}.wasm");
        assert_eq!(plugin["module"].as_str(), Some(module.as_str()));
        assert_eq!(plugin["on_error"].as_str(), Some("fail"));
        let settings = serde_json::to_string(&plugin["settings"]).expect("settings as JSON");
        chain = match name {
            "volume_tiers" => chain.rule::<volume_tiers::VolumeTiers>(name, &settings),
            "coupons" => chain.rule::<coupons::Coupons>(name, &settings),
            "tax" => chain.rule::<tax::Tax>(name, &settings),
            "shipping" => chain.rule::<shipping::Shipping>(name, &settings),
            other => panic!("no native rule for plugin `{other}`"),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }
    chain
}

fn cart(name: &str) -> Cart {
    let path = repo(&format!("sdk/pipeline/tests/carts/{name}"));
    Cart::from_json(&std::fs::read_to_string(path).expect("cart file")).expect("valid cart")
}

/// What `plugin` did to line `line_id`: (kind, amount, label) per entry.
fn entries(priced: &PricedCart, line_id: &str, plugin: &str) -> Vec<(AdjustmentKind, i64, String)> {
    let line = priced.line(line_id).expect("line");
    line.adjustments.iter().filter(|a| a.plugin == plugin).map(|a| (a.kind, a.amount, a.label.clone())).collect()
}

fn tax_breakdown(priced: &PricedCart, line_id: &str) -> Vec<TaxComponent> {
    let line = priced.line(line_id).expect("line");
    let tax = line.adjustments.iter().find(|a| a.kind == AdjustmentKind::Tax).expect("a tax entry");
    tax.tax_breakdown.clone()
}

fn cgst_sgst(cgst: i64, sgst: i64) -> Vec<TaxComponent> {
    vec![TaxComponent::new("CGST", cgst), TaxComponent::new("SGST", sgst)]
}

#[test]
fn two_tshirts_and_a_novel_with_welcome10_total_132988() {
    let priced = demo_chain().run(&cart("tshirt_and_novel.json")).expect("priced");

    assert_eq!(priced.subtotal(), 129_800);
    // Quantities 2 and 1 reach no volume tier.
    assert!(priced.adjustments().iter().all(|a| a.plugin != "volume_tiers"));
    // WELCOME10: 10 % of 129 800, one cart discount, allocated 9 980 / 3 000.
    let welcome: Vec<_> = priced.adjustments().iter().filter(|a| a.plugin == "coupons").collect();
    assert_eq!(welcome.len(), 1);
    assert_eq!((welcome[0].target.clone(), welcome[0].amount), (Target::Cart, 12_980));
    assert_eq!((welcome[0].code.as_deref(), welcome[0].label.as_str()), (Some("WELCOME10"), "10% off with WELCOME10"));
    assert_eq!(priced.lines().iter().map(|l| l.discount).collect::<Vec<_>>(), [9_980, 3_000]);
    assert_eq!(entries(&priced, "l1", "coupons"), [(AdjustmentKind::Discount, 9_980, "10% off with WELCOME10".into())]);
    assert_eq!(entries(&priced, "l2", "coupons"), [(AdjustmentKind::Discount, 3_000, "10% off with WELCOME10".into())]);
    assert_eq!(priced.coupon_codes(), ["WELCOME10"]);
    let result = &priced.coupons()[0];
    assert_eq!((result.accepted, result.error_code, result.plugin.as_deref()), (true, None, Some("coupons")));
    // Tax on the nets after the coupon: 18 % of 89 820 = 16 167.6 → 16 168; the novel is a book.
    // Shipping from KA to KA: CGST + SGST.
    assert_eq!(entries(&priced, "l1", "tax"), [(AdjustmentKind::Tax, 16_168, "GST 18%".into())]);
    assert_eq!(entries(&priced, "l2", "tax"), [(AdjustmentKind::Tax, 0, "GST 0%".into())]);
    assert_eq!(tax_breakdown(&priced, "l1"), cgst_sgst(8_084, 8_084));
    assert_eq!(tax_breakdown(&priced, "l2"), cgst_sgst(0, 0));
    // 116 820 of merchandise is at least ₹999: free shipping.
    let shipping: Vec<_> = priced.adjustments().iter().filter(|a| a.plugin == "shipping").collect();
    assert_eq!((shipping.len(), shipping[0].amount, shipping[0].label.as_str()), (1, 0, "Free shipping"));

    let tshirts = priced.line("l1").expect("line");
    assert_eq!((tshirts.net, tshirts.tax, tshirts.total), (89_820, 16_168, 105_988));
    let novel = priced.line("l2").expect("line");
    assert_eq!((novel.net, novel.tax, novel.total), (27_000, 0, 27_000));
    assert_eq!(
        (priced.discount_total(), priced.tax_total(), priced.shipping_total(), priced.fee_total()),
        (12_980, 16_168, 0, 0)
    );
    assert_eq!(priced.total(), 132_988);
    assert!(priced.notices().is_empty());
}

#[test]
fn six_socks_with_flat200_reject_the_coupon_and_total_168150() {
    let priced = demo_chain().run(&cart("socks.json")).expect("priced");

    assert_eq!(priced.subtotal(), 150_000);
    // 6 ≥ 5 units: 5 % of 150 000.
    assert_eq!(
        entries(&priced, "l1", "volume_tiers"),
        [(AdjustmentKind::Discount, 7_500, "5% off for 5 or more".into())]
    );
    // FLAT200 needs ₹1,500 after discounts; 142 500 falls short.
    assert_eq!(priced.discount_total(), 7_500);
    assert!(priced.coupon_codes().is_empty());
    let flat = &priced.coupons()[0];
    assert_eq!(flat.code, "FLAT200");
    assert_eq!(
        (flat.accepted, flat.error_code, flat.plugin.as_deref()),
        (false, Some(CouponErrorCode::Ineligible), Some("coupons"))
    );
    assert_eq!(flat.error_code.map(|c| c.as_str()), Some("coupon_ineligible"));
    assert_eq!(flat.reason.as_deref(), Some("Add ₹75.00 more to use FLAT200 (minimum ₹1,500.00 after discounts)."));
    assert!(priced.adjustments().iter().all(|a| a.plugin != "coupons"));
    // 18 % of 142 500; shipping from KA to MH is inter-state: IGST.
    assert_eq!(entries(&priced, "l1", "tax"), [(AdjustmentKind::Tax, 25_650, "GST 18%".into())]);
    assert_eq!(tax_breakdown(&priced, "l1"), [TaxComponent::new("IGST", 25_650)]);
    assert_eq!((priced.tax_total(), priced.shipping_total()), (25_650, 0));

    let socks = priced.line("l1").expect("line");
    assert_eq!((socks.discount, socks.net, socks.tax, socks.total), (7_500, 142_500, 25_650, 168_150));
    assert_eq!(priced.total(), 168_150);
}

#[test]
fn one_tshirt_without_a_code_pays_shipping_below_999() {
    let mut cart = cart("tshirt_and_novel.json");
    cart.lines.truncate(1);
    cart.lines[0].quantity = 1;
    cart.coupon_codes.clear();

    let priced = demo_chain().run(&cart).expect("priced");

    // 49 900 < 99 900: ₹49 shipping, untaxed; 18 % of 49 900 = 8 982.
    assert_eq!((priced.tax_total(), priced.shipping_total()), (8_982, 4_900));
    assert_eq!(tax_breakdown(&priced, "l1"), cgst_sgst(4_491, 4_491));
    assert_eq!(priced.total(), 49_900 + 8_982 + 4_900);
}
