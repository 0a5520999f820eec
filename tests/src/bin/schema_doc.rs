//! `cargo xtask schema`: regenerates `docs/schema.md` from the migrations.

use std::{path::Path, process::ExitCode};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    match commerce_tests::schema::write(root) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schema-doc: {e:#}");
            ExitCode::FAILURE
        }
    }
}
