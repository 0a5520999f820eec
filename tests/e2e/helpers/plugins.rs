//! Compiled plugins for the tests: the bundled ones and the hostile fixtures, built from source
//! for `wasm32-wasip2` once per test process (a no-op when `cargo xtask test` built them already).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use commerce_engine::config::{self, Config, OnError, PluginConfig, PluginLimits};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The component built from the crate whose package is `package` (e.g. `volume-tiers`,
/// `fixture-spin`).
pub fn wasm(package: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(build_all);
    let path = workspace_root()
        .join("target/plugins/wasm32-wasip2/plugin")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// `cargo xtask plugins`, without xtask: every crate under plugins/ and tests/fixtures/plugins/.
fn build_all() {
    let root = workspace_root();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(&root)
        .args(["build", "--quiet", "--profile", "plugin", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(root.join("target/plugins"));
    for dir in ["plugins", "tests/fixtures/plugins"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("plugin dir") {
            let manifest = entry.expect("entry").path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
            let name = text.lines().find_map(|l| l.trim().strip_prefix("name = ")).expect("package name");
            command.args(["--package", name.trim_matches('"')]);
        }
    }
    let status = command.status().expect("run cargo");
    assert!(
        status.success(),
        "building the plugins failed (is the wasm32-wasip2 target installed? `cargo xtask test` adds it)"
    );
}

/// A `[plugins.<name>]` for `package`'s component with `settings` and default limits.
pub fn plugin(package: &str, settings: Value) -> PluginConfig {
    let Value::Object(settings) = settings else { panic!("settings must be an object") };
    PluginConfig {
        module: wasm(package),
        sha256: None,
        settings,
        secrets: Default::default(),
        limits: PluginLimits::default(),
        on_error: OnError::Fail,
        allowed_hosts: Vec::new(),
        http: Default::default(),
    }
}

/// Puts `plugins` in the config, in this order as the pricing chain.
pub fn chain(config: &mut Config, plugins: Vec<(&str, PluginConfig)>) {
    config.pricing.chain = plugins.iter().map(|(name, _)| (*name).to_owned()).collect();
    config.plugins = plugins.into_iter().map(|(name, plugin)| (name.to_owned(), plugin)).collect();
}

/// The demo shop's pricing chain and store, exactly as `config/demo.toml` has them.
pub fn demo_chain(config: &mut Config) {
    wasm("volume-tiers");
    let (demo, _) = config::load(Some(&workspace_root().join("config/demo.toml"))).expect("demo config");
    config.plugins = demo.plugins;
    config.pricing = demo.pricing;
    config.store = demo.store;
}

pub const PREVIEW: &str = "/api/v1/admin/pricing/preview";
pub const ADMIN_PLUGINS: &str = "/api/v1/admin/plugins";
pub const RELOAD: &str = "/api/v1/admin/plugins/reload";

/// A preview request: `(variant_id, quantity)` lines, coupon codes, shipping to `region`, India.
pub fn cart(lines: &[(&str, u32)], coupon_codes: &[&str], region: &str) -> Value {
    let lines: Vec<Value> =
        lines.iter().map(|(variant, quantity)| json!({"variant_id": variant, "quantity": quantity})).collect();
    json!({
        "lines": lines,
        "coupon_codes": coupon_codes,
        "shipping_address": {"country": "IN", "region": region, "postal_code": "560001"},
    })
}

/// `body` with `"purpose"` set (`display` or `checkout`).
pub fn with_purpose(mut body: Value, purpose: &str) -> Value {
    body["purpose"] = json!(purpose);
    body
}

/// The hex SHA-256 of a file, as `sha256sum` prints it.
pub fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read module")))
}

/// Copies `package`'s component to `dir/<file>` and returns the new path.
pub fn copy_wasm(package: &str, dir: &Path, file: &str) -> PathBuf {
    let target = dir.join(file);
    std::fs::copy(wasm(package), &target).expect("copy module");
    target
}

/// `plugin` with a change applied (limits, `on_error`, …).
pub fn with(mut plugin: PluginConfig, change: impl FnOnce(&mut PluginConfig)) -> PluginConfig {
    change(&mut plugin);
    plugin
}

/// `plugin` with `on_error = "skip"`.
pub fn skippable(plugin: PluginConfig) -> PluginConfig {
    with(plugin, |p| p.on_error = OnError::Skip)
}

/// What one run of the engine CLI printed.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn output(&self) -> String {
        format!("exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }

    /// stdout as JSON (`plugin run`, `pricing run`).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.output()))
    }
}

/// Runs the engine CLI in `dir` with `args` and no `COMMERCE_…` variable inherited from the test
/// process. It shares the tests' compile cache (the default `data/plugin-cache` under the test
/// process's working directory, named absolutely), so a module is compiled once.
pub async fn engine_cli(dir: &Path, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(super::engine_bin());
    command.args(args).current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.kill_on_drop(true);
    for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("COMMERCE_")) {
        command.env_remove(key);
    }
    let cache = std::env::current_dir().expect("working directory").join("data/plugin-cache");
    command.env("COMMERCE_PLUGIN_RUNTIME__CACHE_DIR", cache);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("engine finished within 60 s")
        .expect("engine runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The entry for plugin `name` in a `GET /admin/plugins` answer (the list is by name, and every
/// test shop also lists its `manual` payment gateway).
#[track_caller]
pub fn listed<'a>(set: &'a Value, name: &str) -> &'a Value {
    set["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no plugin {name} in {set}"))
}
