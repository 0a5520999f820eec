//! Compiled components on disk. Compiling a 1 MB component takes about 0.3 s; a restart or a
//! reload of an unchanged plugin should not pay it again.
//!
//! An entry is keyed by the module's SHA-256 and a hash of the engine's compatibility hash
//! (wasmtime version, target, and every setting that changes code such as fuel), so a stale entry
//! is never even looked at. Entries are written to a temporary file and renamed, so a crash or a
//! concurrent engine never leaves half a file under the final name.
//!
//! Trust: the engine runs the native code it finds here, so whoever can write the directory can
//! run code as the engine. The defence is the directory itself: created `0700`, and refused at
//! load when it belongs to another user or is writable by group or others. Each entry also starts
//! with the SHA-256 of its own artifact bound to its key (written by the engine, checked before
//! `Component::deserialize`), which catches an entry copied under another module's name and a
//! corrupted file; a mismatch is recompiled with a warning.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, component::Component};

/// The cache directory when `plugin_runtime.cache_dir` is empty: beside the default SQLite
/// database, relative to the working directory.
pub const DEFAULT_DIR: &str = "data/plugin-cache";

/// Bytes of the digest that heads every entry.
const DIGEST_LEN: usize = 32;

/// Where a component came from, for logs and `GET /admin/plugins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compiled {
    /// Compiled now (and written to the cache when it is writable).
    Fresh,
    /// Loaded from the cache.
    Cached,
}

/// The cache directory (`plugin_runtime.cache_dir`), checked; `None` inside when it could not be
/// created (a read-only file system): plugins then compile at every load.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// The cache directory is not safe to load native code from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refuses the compile cache {path}: {reason}")]
pub struct UntrustedCache {
    pub path: String,
    pub reason: String,
}

impl CompileCache {
    /// Opens `dir` (or [`DEFAULT_DIR`] when empty), creating it `0700`, and refuses it when
    /// another user owns it or group or others may write to it.
    pub fn open(dir: &Path) -> Result<Self, UntrustedCache> {
        let dir = if dir.as_os_str().is_empty() { Path::new(DEFAULT_DIR) } else { dir };
        if let Err(error) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            tracing::warn!(path = %dir.display(), %error, "cannot create the plugin compile cache; compiling at every load");
            return Ok(Self { dir: None });
        }
        let untrusted = |reason: String| UntrustedCache { path: dir.display().to_string(), reason };
        let meta = std::fs::metadata(dir).map_err(|e| untrusted(e.to_string()))?;
        if !meta.is_dir() {
            return Err(untrusted("it is not a directory".to_owned()));
        }
        let owner = current_uid();
        if meta.uid() != owner {
            return Err(untrusted(format!(
                "it is owned by uid {}, not by the engine's user (uid {owner}); the engine loads native code from it",
                meta.uid()
            )));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(untrusted(format!(
                "it is writable by group or others (mode {mode:o}); the engine loads native code from it: `chmod 700` it"
            )));
        }
        Ok(Self { dir: Some(dir.to_path_buf()) })
    }

    /// The compiled component for `wasm` (whose SHA-256 is `digest`). Blocking and CPU-heavy on a
    /// miss: call it off the async runtime. A cache that cannot be read or written only costs time.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8], digest: &str) -> anyhow::Result<(Component, Compiled)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::from_binary(engine, wasm)?, Compiled::Fresh));
        };
        let key = entry_key(engine, digest);
        let path = dir.join(format!("{key}.cwasm"));
        if let Ok(bytes) = std::fs::read(&path) {
            match verified_artifact(&key, &bytes).and_then(|artifact| deserialize(engine, artifact)) {
                Ok(component) => return Ok((component, Compiled::Cached)),
                Err(error) => tracing::warn!(
                    path = %path.display(), error = %format!("{error:#}"),
                    "ignoring unusable compiled plugin; recompiling"
                ),
            }
        }
        let component = Component::from_binary(engine, wasm)?;
        let written = component.serialize().map_err(anyhow::Error::from).and_then(|artifact| {
            let mut entry = entry_digest(&key, &artifact).to_vec();
            entry.extend_from_slice(&artifact);
            write_atomically(&path, &entry)
        });
        if let Err(error) = written {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "cannot cache compiled plugin");
        }
        Ok((component, Compiled::Fresh))
    }
}

fn entry_key(engine: &Engine, digest: &str) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{digest}-{:016x}", hasher.finish())
}

/// SHA-256 of the entry's key and artifact: an artifact moved under another key does not match.
fn entry_digest(key: &str, artifact: &[u8]) -> [u8; DIGEST_LEN] {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update([0]);
    hasher.update(artifact);
    hasher.finalize().into()
}

/// The artifact of an entry whose recorded digest matches its key and content.
fn verified_artifact<'a>(key: &str, entry: &'a [u8]) -> anyhow::Result<&'a [u8]> {
    anyhow::ensure!(entry.len() > DIGEST_LEN, "the entry is truncated");
    let (recorded, artifact) = entry.split_at(DIGEST_LEN);
    anyhow::ensure!(
        recorded == entry_digest(key, artifact),
        "its SHA-256 differs from the one recorded when it was written (another module's entry, or corrupted)"
    );
    Ok(artifact)
}

/// Loads native code that this engine compiled and wrote into its own cache directory.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Component> {
    // SAFETY: wasmtime requires that the bytes come from `Component::serialize` of a compatible
    // engine. They do: `CompileCache::open` refused a directory that another user owns or that
    // group or others may write, so only this user (the engine, or whoever runs as it) writes
    // there; `verified_artifact` checked the digest the engine recorded for exactly this key when
    // it wrote the entry; the key carries the engine's compatibility hash; and wasmtime checks its
    // own header and version again.
    Ok(unsafe { Component::deserialize(engine, bytes) }?)
}

/// The effective user id of this process: the owner of `/proc/self` on Linux, without `unsafe`.
fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), crate::ids::new_id("tmp")));
    std::fs::write(&temporary, bytes)?;
    if let Err(error) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_verifies_only_under_its_own_key() {
        let mut entry = entry_digest("a-1", b"artifact").to_vec();
        entry.extend_from_slice(b"artifact");
        assert_eq!(verified_artifact("a-1", &entry).ok(), Some(&b"artifact"[..]));
        assert!(verified_artifact("b-1", &entry).is_err());
        let last = entry.len() - 1;
        entry[last] ^= 1;
        assert!(verified_artifact("a-1", &entry).is_err());
    }
}
