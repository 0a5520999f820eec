//! Runs rules natively, exactly as the engine would: [`PricedCart::new`], then for each rule in
//! chain order its view → `price` → [`PricedCart::apply`].
//!
//! Each rule goes through the same export glue as in a component: its settings come from a host
//! (a [`TestHost`] here) and are parsed and validated as at load, the cart crosses the WIT
//! types and back. Only the sandbox is missing, so limits (time, memory, fuel) are not tested here.
//!
//! ```
//! use commerce_sdk::testing::Chain;
//! # use commerce_sdk::{CartView, NoSettings, PricingRule, RuleOutput};
//! # struct Nothing;
//! # impl PricingRule for Nothing {
//! #     type Settings = NoSettings;
//! #     fn price(_: &NoSettings, _: &CartView) -> Result<RuleOutput, String> { Ok(RuleOutput::default()) }
//! # }
//! let cart = commerce_sdk::Cart::from_json(r#"{"store": {"currency": "INR", "origin_country": "IN"},
//!     "lines": [{"line_id": "a", "quantity": 1, "unit_price": 100}]}"#)?;
//! let chain = Chain::new().rule::<Nothing>("nothing", "{}")?;
//! assert_eq!(chain.run(&cart)?.total(), 100);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(not(target_arch = "wasm32"))]
pub mod gateway;
#[cfg(not(target_arch = "wasm32"))]
mod scripted_http;

use std::cell::RefCell;
use std::rc::Rc;

use commerce_pipeline::{Cart, CartError, PipelineError, PricedCart, RuleOutput};

use crate::bindings::commerce::plugin::types as wit;
use crate::host::{Host, Level};
use crate::rule::{PricingRule, price_export, validate_settings_export};

/// Why a native run failed, naming the rule where one is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestError {
    /// The cart JSON does not parse or breaks the cart model.
    #[error(transparent)]
    Cart(#[from] CartError),
    /// `validate-settings` refused the settings (the engine would not start).
    #[error("plugin `{plugin}` rejected its settings: {message}")]
    Settings {
        /// The rule's name in the chain.
        plugin: String,
        /// The rule's message.
        message: String,
    },
    /// The rule returned an error (the engine would fail checkout closed).
    #[error("plugin `{plugin}` failed: {message}")]
    Rule {
        /// The rule's name in the chain.
        plugin: String,
        /// The rule's message.
        message: String,
    },
    /// The pipeline refused the cart or the rule's output.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// One log record a rule wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The rule's name in the chain.
    pub plugin: String,
    /// Severity.
    pub level: Level,
    /// The message.
    pub message: String,
    /// Key–value fields.
    pub fields: Vec<(String, String)>,
}

/// The host double: hands the rule its settings and captures its logs.
#[derive(Debug)]
pub struct TestHost {
    plugin: String,
    settings: String,
    logs: Rc<RefCell<Vec<LogRecord>>>,
}

impl Host for TestHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.logs.borrow_mut().push(LogRecord {
            plugin: self.plugin.clone(),
            level,
            message: message.to_owned(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        });
    }

    fn settings(&self) -> String {
        self.settings.clone()
    }
}

type Price = Box<dyn Fn(Rc<dyn Host>, wit::Cart) -> Result<wit::RuleOutput, String>>;

struct Step {
    host: Rc<TestHost>,
    price: Price,
}

/// A pricing chain of native rules, in order, each with its name and settings JSON.
#[derive(Default)]
pub struct Chain {
    steps: Vec<Step>,
    logs: Rc<RefCell<Vec<LogRecord>>>,
}

impl Chain {
    /// An empty chain: prices every line at its subtotal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends rule `R` as plugin `name` with `settings` (JSON), validated as the engine does at
    /// load.
    pub fn rule<R: PricingRule + 'static>(mut self, name: &str, settings: &str) -> Result<Self, TestError> {
        validate_settings_export::<R>(settings)
            .map_err(|message| TestError::Settings { plugin: name.to_owned(), message })?;
        let host =
            Rc::new(TestHost { plugin: name.to_owned(), settings: settings.to_owned(), logs: Rc::clone(&self.logs) });
        self.steps.push(Step { host, price: Box::new(price_export::<R>) });
        Ok(self)
    }

    /// Prices `cart` through the chain; fails closed on the first rule error, as checkout does.
    pub fn run(&self, cart: &Cart) -> Result<PricedCart, TestError> {
        let mut priced = PricedCart::new(cart)?;
        for step in &self.steps {
            let output = self.run_step(step, &priced)?;
            priced.apply(&step.host.plugin, output)?;
        }
        Ok(priced)
    }

    /// What the rule named `plugin` returns for `cart` after the rules before it: its raw output,
    /// before the pipeline validates and applies it.
    pub fn output_of(&self, plugin: &str, cart: &Cart) -> Result<RuleOutput, TestError> {
        let mut priced = PricedCart::new(cart)?;
        for step in &self.steps {
            let output = self.run_step(step, &priced)?;
            if step.host.plugin == plugin {
                return Ok(output);
            }
            priced.apply(&step.host.plugin, output)?;
        }
        Err(TestError::Rule { plugin: plugin.to_owned(), message: "no such rule in the chain".to_owned() })
    }

    /// Every record the chain's rules logged so far, oldest first.
    pub fn logs(&self) -> Vec<LogRecord> {
        self.logs.borrow().clone()
    }

    fn run_step(&self, step: &Step, priced: &PricedCart) -> Result<RuleOutput, TestError> {
        let host: Rc<dyn Host> = step.host.clone();
        (step.price)(host, wit::Cart::from(&priced.view()))
            .map(RuleOutput::from)
            .map_err(|message| TestError::Rule { plugin: step.host.plugin.clone(), message })
    }
}

/// Prices `cart` with rule `R` alone (plugin name `rule`) and `settings` JSON.
pub fn run<R: PricingRule + 'static>(settings: &str, cart: &Cart) -> Result<PricedCart, TestError> {
    Chain::new().rule::<R>("rule", settings)?.run(cart)
}

/// Parses cart JSON (the format of `engine pricing run --cart`), as [`Cart::from_json`].
pub fn cart_from_json(json: &str) -> Result<Cart, TestError> {
    Ok(Cart::from_json(json)?)
}

#[cfg(test)]
mod tests {
    use commerce_pipeline::{Adjustment, CartView};
    use serde::Deserialize;

    use super::*;

    /// A fixed discount on the cart, logging what it does; fails when told to.
    struct Fixed;

    #[derive(Deserialize)]
    struct FixedSettings {
        amount: i64,
        fail: bool,
    }

    impl PricingRule for Fixed {
        type Settings = FixedSettings;

        fn validate_settings(settings: &FixedSettings) -> Result<(), String> {
            if settings.amount < 0 { Err("amount must not be negative".to_owned()) } else { Ok(()) }
        }

        fn price(settings: &FixedSettings, cart: &CartView) -> Result<RuleOutput, String> {
            if settings.fail {
                return Err("told to fail".to_owned());
            }
            crate::log(Level::Info, "fixed discount", &[("net", &cart.merchandise_net.to_string())]);
            Ok(RuleOutput { adjustments: vec![Adjustment::cart_discount(settings.amount, "fixed")], coupons: vec![] })
        }
    }

    fn two_lines() -> Cart {
        cart_from_json(
            r#"{"store": {"currency": "INR", "origin_country": "IN"},
                "lines": [{"line_id": "a", "quantity": 1, "unit_price": 300},
                          {"line_id": "b", "quantity": 1, "unit_price": 100}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_chain_applies_each_rule_to_the_cart_left_by_the_ones_before() {
        let chain = Chain::new()
            .rule::<Fixed>("first", r#"{"amount": 100, "fail": false}"#)
            .unwrap()
            .rule::<Fixed>("second", r#"{"amount": 30, "fail": false}"#)
            .unwrap();

        let priced = chain.run(&two_lines()).unwrap();

        assert_eq!((priced.discount_total(), priced.total()), (130, 270));
        assert_eq!(priced.line("a").unwrap().discount, 98);
        let logs = chain.logs();
        assert_eq!(logs.len(), 2);
        assert_eq!((logs[1].plugin.as_str(), logs[1].fields[0].1.as_str()), ("second", "300"));
    }

    #[test]
    fn settings_are_validated_when_the_rule_joins_the_chain() {
        let err = Chain::new().rule::<Fixed>("fixed", r#"{"amount": -1, "fail": false}"#).err().unwrap();
        assert_eq!(err.to_string(), "plugin `fixed` rejected its settings: amount must not be negative");
        let err = Chain::new().rule::<Fixed>("fixed", "{").err().unwrap();
        assert!(matches!(err, TestError::Settings { .. }), "{err}");
    }

    #[test]
    fn a_failing_rule_fails_the_run_naming_the_plugin() {
        let chain = Chain::new().rule::<Fixed>("fixed", r#"{"amount": 1, "fail": true}"#).unwrap();
        let err = chain.run(&two_lines()).unwrap_err();
        assert_eq!(err.to_string(), "plugin `fixed` failed: told to fail");
    }

    #[test]
    fn an_invalid_output_is_refused_by_the_pipeline() {
        let chain = Chain::new().rule::<Fixed>("fixed", r#"{"amount": 401, "fail": false}"#).unwrap();
        let err = chain.run(&two_lines()).unwrap_err();
        assert!(matches!(&err, TestError::Pipeline(e) if e.plugin() == Some("fixed")), "{err}");
    }
}
