//! Plugins refused at load, before anything is served: components that import files or sockets,
//! target another `commerce:plugin` version or world, a missing or swapped module file, and
//! settings the plugin's own `validate-settings` rejects. Each refusal names the plugin and why;
//! one start-up reports every bad plugin at once; `engine serve` exits 2 with them on stderr.

use std::path::Path;

use commerce_engine::{
    AppState,
    config::{self, PluginConfig},
    plugins::{LoadError, PluginError, PluginErrorKind},
};
use serde_json::json;

use crate::helpers::plugins::*;

/// Builds the engine's state with `plugins` as the chain, expecting it to refuse them.
async fn refused(plugins: Vec<(&str, PluginConfig)>) -> LoadError {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("[database]\nurl = \"sqlite://{}\"\n", dir.path().join("never-used.db").display());
    let mut config = config::load_from_str(&database).expect("config");
    chain(&mut config, plugins);

    let error = match AppState::new(config).await {
        Ok(_) => panic!("the engine started with plugins it should refuse"),
        Err(error) => error,
    };

    error.downcast_ref::<LoadError>().unwrap_or_else(|| panic!("not a plugin load error: {error:#}")).clone()
}

/// The one error of a start-up with `plugin` alone, named `name`.
async fn refusal(name: &str, plugin: PluginConfig) -> PluginError {
    let error = refused(vec![(name, plugin)]).await;
    assert_eq!(error.errors.len(), 1, "{error}");
    let only = error.errors[0].clone();
    assert_eq!(only.plugin, name, "{error}");
    assert!(error.to_string().contains(&format!("plugin `{name}`")), "the message names the plugin: {error}");
    only
}

fn tiers_settings() -> serde_json::Value {
    json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]})
}

#[tokio::test]
async fn a_plugin_that_imports_the_file_system_is_refused_naming_the_import() {
    let error = refusal("snoop", plugin("fixture-forbidden-fs", json!({}))).await;

    let PluginErrorKind::ForbiddenImport { import, why } = &error.kind else { panic!("{error}") };
    assert!(import.starts_with("wasi:filesystem/"), "{error}");
    assert_eq!(why, "plugins get no file system");
}

#[tokio::test]
async fn a_plugin_that_imports_sockets_is_refused_naming_the_import() {
    let error = refusal("dialer", plugin("fixture-forbidden-socket", json!({}))).await;

    // The component also imports the file system (wasi-libc); the refusal must still be about
    // the network, which is this test's claim.
    let PluginErrorKind::ForbiddenImport { import, why } = &error.kind else { panic!("{error}") };
    assert!(import.starts_with("wasi:sockets/"), "{error}");
    assert_eq!(why, "pricing plugins get no network");
}

#[tokio::test]
async fn a_plugin_built_for_another_major_version_is_refused_naming_both_versions() {
    let error = refusal("future", plugin("fixture-future-version", json!({}))).await;

    assert_eq!(error.to_string(), "plugin `future` was built for commerce:plugin@0.2.0, host supports 0.1");
}

#[tokio::test]
async fn a_component_of_another_world_is_refused_naming_what_a_pricing_rule_exports() {
    let error = refusal("lifecycle", plugin("fixture-wrong-world", json!({}))).await;

    assert_eq!(error.kind.code(), "wrong_world", "{error}");
    let message = error.to_string();
    assert!(message.contains("is not a commerce:plugin pricing-rule or payment-gateway plugin"), "{message}");
    assert!(message.contains("a pricing rule exports `lifecycle` and `pricing`"), "{message}");
}

#[tokio::test]
async fn a_missing_module_file_is_refused_naming_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere.wasm");

    let error = refusal("ghost", with(plugin("volume-tiers", tiers_settings()), |p| p.module = missing.clone())).await;

    let PluginErrorKind::ModuleUnreadable { path, .. } = &error.kind else { panic!("{error}") };
    assert_eq!(Path::new(path), missing);
}

#[tokio::test]
async fn a_file_that_is_not_a_component_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"this is not WebAssembly").expect("write junk");

    let error = refusal("junk", with(plugin("volume-tiers", tiers_settings()), |p| p.module = junk.clone())).await;

    assert_eq!(error.kind.code(), "not_a_component", "{error}");
}

#[tokio::test]
async fn a_module_whose_digest_differs_from_its_pin_is_refused_showing_both() {
    let pin = "0".repeat(64);
    let tiers = with(plugin("volume-tiers", tiers_settings()), |p| p.sha256 = Some(pin.clone()));
    let actual = sha256_of(&tiers.module);

    let error = refusal("pinned", tiers).await;

    assert_eq!(error.kind, PluginErrorKind::DigestMismatch { expected: pin, actual });
}

#[tokio::test]
async fn a_matching_pin_in_upper_case_loads() {
    let tiers = plugin("volume-tiers", tiers_settings());
    let pin = sha256_of(&tiers.module).to_uppercase();

    let app =
        crate::helpers::spawn_app_with(|config| chain(config, vec![("pinned", with(tiers, |p| p.sha256 = Some(pin)))]))
            .await;

    assert_eq!(app.state.plugins.current().chain.len(), 1);
}

#[tokio::test]
async fn settings_that_the_plugin_rejects_stop_start_up_with_its_reason() {
    let error = refusal("tiers", plugin("volume-tiers", json!({"tiers": []}))).await;

    assert_eq!(
        error.kind,
        PluginErrorKind::SettingsRejected { message: "tiers: the table is empty; list at least one tier".into() }
    );
}

#[tokio::test]
async fn one_start_up_reports_every_plugin_that_fails_and_not_the_good_ones() {
    let plugins = vec![
        ("good", plugin("volume-tiers", tiers_settings())),
        ("snoop", plugin("fixture-forbidden-fs", json!({}))),
        ("future", plugin("fixture-future-version", json!({}))),
        ("empty", plugin("volume-tiers", json!({"tiers": []}))),
    ];

    let error = refused(plugins).await;

    let mut named: Vec<(&str, &str)> = error.errors.iter().map(|e| (e.plugin.as_str(), e.kind.code())).collect();
    named.sort();
    assert_eq!(
        named,
        [("empty", "settings_rejected"), ("future", "unsupported_version"), ("snoop", "forbidden_import")],
        "{error}"
    );
}

#[tokio::test]
async fn engine_serve_exits_2_naming_each_refused_plugin_with_module_paths_relative_to_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("modules")).expect("modules dir");
    copy_wasm("volume-tiers", &dir.path().join("modules"), "tiers.wasm");
    copy_wasm("fixture-forbidden-fs", &dir.path().join("modules"), "snoop.wasm");
    let config_file = dir.path().join("engine.toml");
    let config = format!(
        r#"
        [server]
        bind = "127.0.0.1:0"
        [database]
        url = "sqlite://{}"
        [pricing]
        chain = ["tiers", "snoop", "ghost"]
        [plugins.tiers]
        module = "modules/tiers.wasm"
        settings = {{ tiers = [] }}
        [plugins.snoop]
        module = "modules/snoop.wasm"
        [plugins.ghost]
        module = "modules/ghost.wasm"
        "#,
        dir.path().join("engine.db").display()
    );
    std::fs::write(&config_file, config).expect("write config");
    // Run from elsewhere: relative module paths follow the config file, not the working directory.
    let elsewhere = tempfile::tempdir().expect("temp dir");

    let run = engine_cli(elsewhere.path(), &["--config", &config_file.display().to_string(), "serve"]).await;

    assert_eq!(run.code, Some(2), "{}", run.output());
    for expected in [
        "plugin `tiers` rejected its settings: tiers: the table is empty".to_owned(),
        "plugin `snoop` imports `wasi:filesystem/".to_owned(),
        format!("plugin `ghost` cannot read its module {}", dir.path().join("modules/ghost.wasm").display()),
    ] {
        assert!(run.stderr.contains(&expected), "stderr says `{expected}`:\n{}", run.output());
    }
}
