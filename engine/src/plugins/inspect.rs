//! What a component is, read from its type before anything is linked: its world (by exports), the
//! `commerce:plugin` version it was built for, and its imports checked against an allow-list.
//! A plugin that wants files or sockets is refused at load, not at its first call.

use wasmtime::{Engine, component::Component};

use super::error::PluginErrorKind;

/// The `commerce:plugin` package version this host implements (any 0.1.x guest links).
pub const SUPPORTED_VERSION: &str = "0.1";
const PACKAGE: &str = "commerce:plugin/";

/// The worlds of `sdk/wit/commerce-plugin.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    PricingRule,
    PaymentGateway,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::PricingRule => "pricing-rule",
            World::PaymentGateway => "payment-gateway",
        }
    }
}

/// What the type of a component says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Interface names as the component spells them, e.g. `wasi:io/streams@0.2.6`.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl ComponentInfo {
    pub fn of(engine: &Engine, component: &Component) -> Self {
        let ty = component.component_type();
        Self {
            imports: ty.imports(engine).map(|(name, _)| name.to_owned()).collect(),
            exports: ty.exports(engine).map(|(name, _)| name.to_owned()).collect(),
        }
    }

    /// The `commerce:plugin` version of the exports (the world's own side), e.g. `0.1.0`.
    pub fn version(&self) -> Option<&str> {
        self.exports.iter().chain(&self.imports).find_map(|name| commerce_interface(name).map(|(_, version)| version))
    }

    /// The world, the version and every import checked: the verdict of `engine plugin check`
    /// and of the loader, in that order of precedence (a 0.2 plugin is reported as such, not as
    /// "missing export").
    pub fn check(&self) -> Result<World, PluginErrorKind> {
        if let Some(version) = self.version()
            && !version_supported(version)
        {
            return Err(PluginErrorKind::UnsupportedVersion {
                found: version.to_owned(),
                supported: SUPPORTED_VERSION.to_owned(),
            });
        }
        let exports: Vec<&str> = self.exports.iter().filter_map(|e| commerce_interface(e)).map(|(i, _)| i).collect();
        let world = if exports.contains(&"pricing") && exports.contains(&"lifecycle") {
            World::PricingRule
        } else if exports.contains(&"gateway") && exports.contains(&"lifecycle") {
            World::PaymentGateway
        } else {
            let found = if self.exports.is_empty() {
                "it exports nothing".to_owned()
            } else {
                format!("it exports {}", self.exports.join(", "))
            };
            return Err(PluginErrorKind::WrongWorld {
                expected: "commerce:plugin pricing-rule or payment-gateway".to_owned(),
                found: format!("{found}; a pricing rule exports `lifecycle` and `pricing`"),
            });
        };
        // The network is named before anything else: a component that opens a socket also
        // imports the file system (wasi-libc's start-up), and "no network" is the refusal that
        // tells its author what to change.
        let refused = self
            .imports
            .iter()
            .filter_map(|import| forbidden(world, import).map(|why| (import, why)))
            .min_by_key(|(import, _)| !is_network(import));
        match refused {
            Some((import, why)) => Err(PluginErrorKind::ForbiddenImport { import: import.clone(), why }),
            None => Ok(world),
        }
    }
}

/// `commerce:plugin/pricing@0.1.0` → `("pricing", "0.1.0")`.
fn commerce_interface(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(PACKAGE)?.split_once('@')
}

/// Semver for 0.x: the minor is the major, so 0.1.* links and 0.2 does not.
fn version_supported(version: &str) -> bool {
    let mut parts = version.split('.');
    let major_minor = (parts.next(), parts.next());
    major_minor == (Some("0"), Some("1"))
}

fn is_network(import: &str) -> bool {
    import.starts_with("wasi:sockets/") || import.starts_with("wasi:http/")
}

/// Why `import` is refused for a plugin of `world`, or `None` when it is allowed.
///
/// Allowed: the host interfaces of the world, and the WASI interfaces that Rust's standard library
/// links even when a plugin does no I/O (stdio for panics and `eprintln!`, environment, exit,
/// randomness for `HashMap` seeds, clocks). The host links those to a deny-all context: no
/// environment, stdio captured and capped, fixed random bytes and a clock stopped at 0. Files,
/// sockets and HTTP are refused: pricing is a pure function of the cart, and gateways reach the
/// network only through the host's allow-listed `outbound-http`.
fn forbidden(world: World, import: &str) -> Option<String> {
    let unversioned = import.split('@').next().unwrap_or(import);
    if let Some(interface) = unversioned.strip_prefix(PACKAGE) {
        let allowed = match world {
            World::PricingRule => matches!(interface, "host" | "types"),
            World::PaymentGateway => matches!(interface, "host" | "types" | "secrets" | "outbound-http"),
        };
        return (!allowed).then(|| format!("not part of the {} world", world.as_str()));
    }
    let (package, _) = unversioned.split_once('/').unwrap_or((unversioned, ""));
    match package {
        "wasi:io" | "wasi:cli" | "wasi:random" | "wasi:clocks" => None,
        "wasi:filesystem" => Some("plugins get no file system".to_owned()),
        "wasi:sockets" | "wasi:http" => Some(match world {
            World::PricingRule => "pricing plugins get no network".to_owned(),
            World::PaymentGateway => "gateways reach the network only through commerce:plugin/outbound-http".to_owned(),
        }),
        _ => Some("the host does not provide it".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(imports: &[&str], exports: &[&str]) -> ComponentInfo {
        ComponentInfo {
            imports: imports.iter().map(|s| (*s).to_owned()).collect(),
            exports: exports.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const RULE: [&str; 2] = ["commerce:plugin/lifecycle@0.1.0", "commerce:plugin/pricing@0.1.0"];

    #[test]
    fn a_plain_rule_with_std_wasi_imports_is_a_pricing_rule() {
        let imports = ["commerce:plugin/host@0.1.0", "wasi:io/streams@0.2.6", "wasi:cli/stderr@0.2.6"];
        assert_eq!(info(&imports, &RULE).check(), Ok(World::PricingRule));
        assert_eq!(
            info(&[], &["commerce:plugin/lifecycle@0.1.3", "commerce:plugin/pricing@0.1.3"]).version(),
            Some("0.1.3")
        );
    }

    #[test]
    fn files_and_sockets_are_refused_by_name() {
        let err = info(&["wasi:filesystem/preopens@0.2.6"], &RULE).check().unwrap_err();
        assert_eq!(
            err.to_string(),
            "imports `wasi:filesystem/preopens@0.2.6`, which plugins may not use (plugins get no file system)"
        );
        let err = info(&["wasi:sockets/tcp@0.2.6"], &RULE).check().unwrap_err();
        assert!(matches!(err, PluginErrorKind::ForbiddenImport { .. }), "{err}");
        let both = ["wasi:filesystem/preopens@0.2.6", "wasi:sockets/tcp@0.2.6", "wasi:filesystem/types@0.2.6"];
        let err = info(&both, &RULE).check().unwrap_err();
        assert_eq!(
            err,
            PluginErrorKind::ForbiddenImport {
                import: "wasi:sockets/tcp@0.2.6".to_owned(),
                why: "pricing plugins get no network".to_owned()
            },
            "the network is named first"
        );
        let err = info(&["commerce:plugin/outbound-http@0.1.0"], &RULE).check().unwrap_err();
        assert!(err.to_string().contains("not part of the pricing-rule world"), "{err}");
    }

    #[test]
    fn another_major_version_is_named_with_the_supported_one() {
        let err = info(
            &["commerce:plugin/types@0.2.0"],
            &["commerce:plugin/lifecycle@0.2.0", "commerce:plugin/pricing@0.2.0"],
        )
        .check()
        .unwrap_err();
        assert_eq!(err.to_string(), "was built for commerce:plugin@0.2.0, host supports 0.1");
    }

    #[test]
    fn a_component_of_another_world_is_refused() {
        let err = info(&[], &["commerce:plugin/lifecycle@0.1.0"]).check().unwrap_err();
        assert!(matches!(err, PluginErrorKind::WrongWorld { .. }), "{err}");
        let gateway = info(&[], &["commerce:plugin/lifecycle@0.1.0", "commerce:plugin/gateway@0.1.0"]);
        assert_eq!(gateway.check(), Ok(World::PaymentGateway));
    }
}
