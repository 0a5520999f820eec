//! Layered loading with figment and error collection that names every bad key at once.
//!
//! figment's `extract` stops at the first error. To report them all, we extract the merged tree
//! as a plain value, then deserialize it repeatedly: each failure is recorded with its key and
//! source, the offending key is reset to its built-in default (or removed when unknown), and we
//! try again. Semantic checks (`validate`) run on the result.

use std::path::{Path, PathBuf};

use figment::{
    Figment, Metadata, Profile,
    providers::{Env, Format, Serialized, Toml},
    value::{Dict, Value},
};

use super::{Config, DEFAULT_TOML};

/// Every problem found in the configuration, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: String) -> Self {
        Self { problems: vec![problem] }
    }
}

/// Loads the configuration: defaults → `file` (if any) → `COMMERCE_…` environment variables.
pub fn load(file: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
    let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
    let file = match file {
        Some(path) => {
            if !path.is_file() {
                return Err(ConfigError::one(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
            Some(path.to_path_buf())
        }
        None => None,
    };
    // `COMMERCE_CONFIG` names the file; it is not a key.
    figment = figment.merge(Env::prefixed("COMMERCE_").split("__").ignore(&["config"]));
    extract(&figment).map(|c| (c, file))
}

/// Loads defaults overlaid with a TOML string (tests and tools), without the environment.
pub fn load_from_str(toml: &str) -> Result<Config, ConfigError> {
    extract(&Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(toml)))
}

fn extract(figment: &Figment) -> Result<Config, ConfigError> {
    let mut tree: Dict =
        figment.extract().map_err(|e| ConfigError { problems: e.into_iter().map(redacted).collect() })?;
    let defaults: Dict = Figment::from(Toml::string(DEFAULT_TOML))
        .extract()
        .map_err(|e| ConfigError::one(format!("built-in defaults are broken: {e}")))?;

    resolve_plugin_modules(figment, &mut tree);

    let mut problems = Vec::new();
    // Each round fixes one key, so this bound only guards against a bug looping forever.
    for _ in 0..256 {
        let attempt = Figment::from(Serialized::from(&tree, Profile::Default)).extract::<Config>();
        match attempt {
            Ok(config) => {
                problems.extend(config.validate());
                return if problems.is_empty() { Ok(config) } else { Err(ConfigError { problems }) };
            }
            Err(error) => {
                let mut path = error.path.clone();
                let unknown = matches!(error.kind, figment::error::Kind::UnknownField(..));
                // figment already ends the path with the unknown key itself; adding it again
                // named `a.b.b` and made the removal below miss, which ended the collection.
                if let figment::error::Kind::UnknownField(field, _) = &error.kind
                    && path.last() != Some(field)
                {
                    path.push(field.clone());
                }
                let key = path.join(".");
                let source = figment.find_metadata(&key).map(describe_source).unwrap_or_default();
                let message = if unknown {
                    format!("`{key}`: unknown key{source}")
                } else if is_secret_key(&key) {
                    format!("`{key}`: {}{source}", without_value(&error.kind))
                } else {
                    format!("`{key}`: {}{source}", error.kind)
                };
                let fixed = if unknown { remove(&mut tree, &path) } else { reset(&mut tree, &defaults, &path) };
                problems.push(message);
                if !fixed {
                    break;
                }
            }
        }
    }
    Err(ConfigError { problems })
}

/// Keys whose values are secrets: their values never appear in an error message. Besides the
/// known ones (`auth.jwt_secret`, `database.url`, `mail.smtp.password`, `server.metrics_token`,
/// `plugins.<name>.secrets.*`), any key ending in `secret`, `password` or `token`, so a secret
/// added later is covered without remembering this list (`password_reset_url` is not one).
pub(super) fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower == "database.url"
        || lower.split('.').any(|part| part == "secrets")
        || ["secret", "password", "token"]
            .iter()
            .any(|word| lower.rsplit('.').next().is_some_and(|k| k.ends_with(word)))
}

/// figment's message for a bad value quotes it (`found string "abc"`); for a secret key only
/// the kind of value is told.
fn without_value(kind: &figment::error::Kind) -> String {
    use figment::error::{Actual, Kind};
    let what = |actual: &Actual| match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value",
    };
    match kind {
        Kind::InvalidType(actual, expected) => format!("invalid type: found {}, expected {expected}", what(actual)),
        Kind::InvalidValue(actual, expected) => format!("invalid value: found {}, expected {expected}", what(actual)),
        Kind::InvalidLength(_, expected) => format!("invalid length, expected {expected}"),
        Kind::UnknownVariant(_, expected) => format!("unknown variant, expected one of {}", expected.join(", ")),
        Kind::MissingField(_) | Kind::DuplicateField(_) | Kind::UnknownField(..) => kind.to_string(),
        _ => "invalid value (not shown: the key holds a secret)".to_owned(),
    }
}

/// An error from reading the layers (before any key is checked), with secret values left out:
/// a TOML syntax error quotes the offending line, which may hold a secret.
fn redacted(error: figment::Error) -> String {
    let key = error.path.join(".");
    if !key.is_empty() && !is_secret_key(&key) {
        return error.to_string();
    }
    if !key.is_empty() {
        return format!("`{key}`: {}", without_value(&error.kind));
    }
    let text = error.to_string();
    // toml's message draws the line as `N | text` with a `|` gutter; keep the position only.
    text.lines()
        .filter(|line| {
            !line.trim_start().starts_with('|')
                && !line.trim_start().split_once(" |").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Makes each relative `plugins.<name>.module` relative to the config file that set it (the tree
/// is re-serialized below, which forgets where values came from). Values from the environment
/// or a string stay relative to the working directory.
fn resolve_plugin_modules(figment: &Figment, tree: &mut Dict) {
    let Some(Value::Dict(_, plugins)) = tree.get_mut("plugins") else { return };
    for (name, plugin) in plugins.iter_mut() {
        let Value::Dict(_, plugin) = plugin else { continue };
        let Some(Value::String(_, module)) = plugin.get("module") else { continue };
        let module = Path::new(module);
        if module.is_absolute() {
            continue;
        }
        let source = figment.find_metadata(&format!("plugins.{name}.module")).and_then(|meta| meta.source.clone());
        if let Some(figment::Source::File(file)) = source {
            let resolved = file.parent().unwrap_or(Path::new("")).join(module);
            plugin.insert("module".to_owned(), Value::from(resolved.to_string_lossy().into_owned()));
        }
    }
}

fn describe_source(meta: &Metadata) -> String {
    match &meta.source {
        Some(source) => format!(" (from {source})"),
        None => format!(" (from {})", meta.name),
    }
}

fn remove(tree: &mut Dict, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    dict_at(tree, parents).is_some_and(|d| d.remove(last).is_some())
}

/// Puts the built-in default back at `path` (or removes the key when there is none).
fn reset(tree: &mut Dict, defaults: &Dict, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let default = dict_at_ref(defaults, parents).and_then(|d| d.get(last)).cloned();
    match (dict_at(tree, parents), default) {
        (Some(d), Some(value)) => {
            let changed = d.get(last) != Some(&value);
            d.insert(last.clone(), value);
            changed
        }
        (Some(d), None) => d.remove(last).is_some(),
        (None, _) => false,
    }
}

fn dict_at<'a>(tree: &'a mut Dict, path: &[String]) -> Option<&'a mut Dict> {
    let mut current = tree;
    for key in path {
        match current.get_mut(key) {
            Some(Value::Dict(_, inner)) => current = inner,
            _ => return None,
        }
    }
    Some(current)
}

fn dict_at_ref<'a>(tree: &'a Dict, path: &[String]) -> Option<&'a Dict> {
    let mut current = tree;
    for key in path {
        match current.get(key) {
            Some(Value::Dict(_, inner)) => current = inner,
            _ => return None,
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    /// Guards the `[carts]` checks (issue 10): every bad value is reported, naming its key.
    #[test]
    fn bad_cart_limits_are_refused_naming_each_key() {
        let error = super::load_from_str("[carts]\nttl = \"10s\"\nmax_lines = 0\nmax_line_quantity = 0\n")
            .expect_err("refused");
        let text = error.problems.join("\n");
        for key in ["carts.ttl", "carts.max_lines", "carts.max_line_quantity"] {
            assert!(text.contains(key), "{key} in {text}");
        }
        let defaults = super::load_from_str("").expect("defaults load");
        assert_eq!(
            (defaults.carts.ttl.as_secs(), defaults.carts.max_lines, defaults.carts.max_line_quantity),
            (30 * 24 * 3600, 100, 100)
        );
    }

    /// Guards `[plugins.<name>.http]` (payments): bad bounds are refused naming each key, and
    /// the defaults are a gateway's (5 s to connect, 10 s per request, 1 MiB of response).
    #[test]
    fn bad_plugin_http_bounds_are_refused_naming_each_key() {
        let text = "[plugins.razorpay]\nmodule = \"r.wasm\"\n[plugins.razorpay.http]\nconnect_timeout = \"0s\"\n\
                    timeout = \"2m\"\nmax_response_bytes = 0\n";
        let error = super::load_from_str(text).expect_err("refused");
        let problems = error.problems.join("\n");
        for key in ["http.connect_timeout", "http.timeout", "http.max_response_bytes"] {
            assert!(problems.contains(&format!("plugins.razorpay.{key}")), "{key} in {problems}");
        }
        let fine = super::load_from_str("[plugins.razorpay]\nmodule = \"r.wasm\"\n").expect("defaults load");
        let http = fine.plugins["razorpay"].http;
        assert_eq!((http.connect_timeout.as_secs(), http.timeout.as_secs(), http.max_response_bytes), (5, 10, 1 << 20));
    }

    #[test]
    fn secret_keys_are_recognised() {
        for key in
            ["auth.jwt_secret", "database.url", "mail.smtp.password", "server.metrics_token", "plugins.x.secrets.k"]
        {
            assert!(super::is_secret_key(key), "{key}");
        }
        for key in ["auth.password_reset_url", "database.max_connections", "plugins.x.settings.token_count"] {
            assert!(!super::is_secret_key(key), "{key}");
        }
    }

    /// Guards: `store.currency` is parsed once, at load, into the pipeline's `Currency`; a bad
    /// code is a configuration error naming the key (and the other keys are still checked).
    #[test]
    fn the_store_currency_is_parsed_at_load_and_a_bad_code_names_the_key() {
        let config = super::load_from_str("[store]\ncurrency = \"EUR\"\n").expect("valid");
        assert_eq!(config.store.currency, commerce_pipeline::Currency::new("EUR").expect("EUR"));

        let error = super::load_from_str("[store]\ncurrency = \"eur\"\norigin_country = \"India\"\n").unwrap_err();
        let problems = error.problems.join("\n");
        assert!(problems.contains("`store.currency`") && problems.contains("`eur` is not an ISO 4217"), "{problems}");
        assert!(problems.contains("store.origin_country"), "{problems}");
    }
}
