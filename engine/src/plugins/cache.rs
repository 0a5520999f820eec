//! Compiled components on disk. Compiling a 1 MB component takes about 0.3 s; a restart or a
//! reload of an unchanged plugin should not pay it again.
//!
//! An entry is keyed by the module's SHA-256 and a hash of the engine's compatibility hash
//! (wasmtime version, target, and every setting that changes code such as fuel), so a stale entry
//! is never even looked at. Entries are written to a temporary file and renamed, so a crash or a
//! concurrent engine never leaves half a file under the final name.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::{Path, PathBuf},
};

use wasmtime::{Engine, component::Component};

/// Where a component came from, for logs and `GET /admin/plugins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compiled {
    /// Compiled now (and written to the cache when it is writable).
    Fresh,
    /// Loaded from the cache.
    Cached,
}

/// The cache directory (`plugin_runtime.cache_dir`).
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// `dir`, or `<temp>/commerce-engine/plugins` when empty.
    pub fn new(dir: &Path) -> Self {
        let dir = if dir.as_os_str().is_empty() {
            std::env::temp_dir().join("commerce-engine").join("plugins")
        } else {
            dir.to_path_buf()
        };
        Self { dir }
    }

    /// The compiled component for `wasm` (whose SHA-256 is `digest`). Blocking and CPU-heavy on a
    /// miss: call it off the async runtime. A cache that cannot be read or written only costs time.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8], digest: &str) -> anyhow::Result<(Component, Compiled)> {
        let path = self.entry_path(engine, digest);
        if let Ok(bytes) = std::fs::read(&path) {
            match deserialize(engine, &bytes) {
                Ok(component) => return Ok((component, Compiled::Cached)),
                Err(error) => tracing::warn!(path = %path.display(), %error, "ignoring unusable compiled plugin"),
            }
        }
        let component = Component::from_binary(engine, wasm)?;
        if let Err(error) =
            component.serialize().map_err(anyhow::Error::from).and_then(|bytes| write_atomically(&path, &bytes))
        {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "cannot cache compiled plugin");
        }
        Ok((component, Compiled::Fresh))
    }

    fn entry_path(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
    }
}

/// Loads native code that this engine compiled and wrote into its own cache directory.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Component> {
    // SAFETY: wasmtime requires that the bytes come from `Component::serialize` of a compatible
    // engine. They do: only `load_or_compile` writes this directory (atomically), the file name
    // carries the engine's compatibility hash, and wasmtime checks its own header and version
    // again. The operator is told to keep the directory writable only by the engine's user.
    Ok(unsafe { Component::deserialize(engine, bytes) }?)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), crate::ids::new_id("tmp")));
    std::fs::write(&temporary, bytes)?;
    if let Err(error) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error.into());
    }
    Ok(())
}
