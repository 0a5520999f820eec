//! The compile cache (`plugin_runtime.cache_dir`): the engine runs the native code it finds
//! there, so it trusts a directory only when it is the engine user's and not writable by group
//! or others (created `0700`), and it loads an entry only when the digest it recorded on writing
//! matches: an entry of another module under this module's name is recompiled, not run.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use commerce_engine::{
    AppState,
    config::{self, Config, PluginConfig},
    plugins::{LoadError, PluginErrorKind},
};
use serde_json::json;

use crate::{
    helpers::{plugins::*, *},
    products::{id, simple_product},
};

fn tiers() -> PluginConfig {
    plugin("volume-tiers", json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]}))
}

/// A config whose cache is `cache` and whose chain is `plugins`; the database is never opened
/// when the plugins are refused.
fn config_with(dir: &Path, cache: &Path, plugins: Vec<(&str, PluginConfig)>) -> Config {
    let database = format!("[database]\nurl = \"sqlite://{}\"\n", dir.join("never-used.db").display());
    let mut config = config::load_from_str(&database).expect("config");
    config.plugin_runtime.cache_dir = cache.to_path_buf();
    chain(&mut config, plugins);
    config
}

/// The one load error of a start-up with `config`.
async fn refused(config: Config) -> LoadError {
    match AppState::new(config).await {
        Ok(_) => panic!("the engine started with an untrusted compile cache"),
        Err(error) => {
            error.downcast_ref::<LoadError>().unwrap_or_else(|| panic!("not a plugin load error: {error:#}")).clone()
        }
    }
}

/// The cache entry of the module at `module` (its file name starts with the module's digest).
fn entry_of(cache: &Path, module: &Path) -> PathBuf {
    let digest = sha256_of(module);
    let entries: Vec<PathBuf> = std::fs::read_dir(cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&digest)))
        .collect();
    assert_eq!(entries.len(), 1, "one entry for {}: {entries:?}", module.display());
    entries[0].clone()
}

/// Guards the trust check: before it, a world-writable (or group-writable) cache directory was
/// used as is, letting anyone who can write there run native code as the engine.
#[tokio::test]
async fn a_cache_directory_writable_by_group_or_others_is_refused_naming_it() {
    for mode in [0o777, 0o770] {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).expect("cache dir");
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(mode)).expect("chmod");

        let error = refused(config_with(dir.path(), &cache, vec![("tiers", tiers())])).await;

        assert_eq!(error.errors.len(), 1, "{error}");
        let PluginErrorKind::UntrustedCache(untrusted) = &error.errors[0].kind else { panic!("{error}") };
        assert_eq!(Path::new(&untrusted.path), cache, "{error}");
        assert!(untrusted.reason.contains("writable by group or others"), "mode {mode:o}: {error}");
        assert_eq!(std::fs::read_dir(&cache).expect("cache").count(), 0, "nothing was written or read there");
    }
}

/// Guards that the engine creates its cache private (it used the process umask, typically 0755
/// under a shared temporary directory).
#[tokio::test]
async fn a_missing_cache_directory_is_created_private() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("data/plugin-cache");

    let app = spawn_app_with(|config| {
        config.plugin_runtime.cache_dir = cache.clone();
        chain(config, vec![("tiers", tiers())]);
    })
    .await;

    let mode = std::fs::metadata(&cache).expect("created").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "mode {mode:o}");
    assert!(entry_of(&cache, &wasm("volume-tiers")).is_file());
    drop(app);
}

/// Guards the per-entry digest: before it, the entry of another module copied under this
/// module's name was deserialized and run in its place (here the panic fixture would have
/// rejected tiers' settings, or priced nothing).
#[tokio::test]
async fn an_entry_swapped_for_another_modules_is_recompiled_not_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let panic = plugin("fixture-panic", json!({}));
    drop(
        spawn_app_with(|config| {
            config.plugin_runtime.cache_dir = cache.clone();
            chain(config, vec![("tiers", tiers()), ("panic", skippable(panic))]);
        })
        .await,
    );
    let (tiers_entry, panic_entry) =
        (entry_of(&cache, &wasm("volume-tiers")), entry_of(&cache, &wasm("fixture-panic")));
    std::fs::copy(&panic_entry, &tiers_entry).expect("swap the entry");

    let app = spawn_app_with(|config| {
        config.plugin_runtime.cache_dir = cache.clone();
        chain(config, vec![("tiers", tiers())]);
    })
    .await;
    let staff = app.staff().await.access;
    let socks = id(&simple_product(&app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    let priced = app.post(PREVIEW, Some(&staff), cart(&[(&socks, 6)], &[], "KA")).await;

    assert_eq!(
        (priced.status.as_u16(), &priced.body["total"]),
        (200, &json!(142_500)),
        "tiers priced: {}",
        priced.text
    );
    let listed = app.get(ADMIN_PLUGINS, Some(&staff)).await;
    assert_eq!(crate::helpers::plugins::listed(&listed.body, "tiers")["compiled"], "fresh", "{}", listed.text);
    let warned = captured_logs().lines().any(|line| {
        line.contains("ignoring unusable compiled plugin") && line.contains(&*tiers_entry.to_string_lossy())
    });
    assert!(warned, "a warning names the swapped entry");
    assert_ne!(std::fs::read(&tiers_entry).expect("entry"), std::fs::read(&panic_entry).expect("entry"), "rewritten");
}
