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
        figment.extract().map_err(|e| ConfigError { problems: e.into_iter().map(|e| e.to_string()).collect() })?;
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
