//! `docs/schema.md` is current, and the check can fail.

use super::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Guards that `docs/schema.md` matches the migrations: a migration added without rerunning
/// the generator fails here.
#[test]
fn docs_schema_md_is_up_to_date() {
    let root = root();
    let expected = render(&root.join("migrations/sqlite")).expect("render the schema");
    let committed = std::fs::read_to_string(root.join(DOC)).unwrap_or_default();
    assert!(committed == expected, "{DOC} is out of date with migrations/sqlite: run `cargo xtask schema`");
}

/// Guards that the comparison above can fail: one more migration (a table with a required
/// and an optional foreign key, a CHECK, and a commented added column) changes the document, and the
/// diagram, keys and comments show it.
#[test]
fn a_new_migration_changes_the_document() {
    let root = root();
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in migration_files(&root.join("migrations/sqlite")).expect("migrations") {
        let name = path.file_name().expect("file name");
        std::fs::write(dir.path().join(name), text).expect("copy migration");
    }
    let before = render(dir.path()).expect("render before");
    std::fs::write(
        dir.path().join("99999999999999_test.sql"),
        "-- Wish lists, one per user.\nCREATE TABLE wishlists (\n    id TEXT PRIMARY KEY,\n    \
         -- The owner.\n    user_id TEXT NOT NULL UNIQUE REFERENCES users (id),\n    \
         product_id TEXT REFERENCES products (id),\n    \
         -- How many.\n    quantity INTEGER NOT NULL CHECK (quantity > 0)\n);\n\
         -- Shown | escaped.\nALTER TABLE wishlists ADD COLUMN note TEXT;\n",
    )
    .expect("write migration");
    let after = render(dir.path()).expect("render after");
    assert_ne!(before, after);
    assert!(after.contains("    users ||--o{ wishlists : \"user_id\"\n"), "{after}");
    assert!(after.contains("    products |o--o{ wishlists : \"product_id\"\n"), "{after}");
    assert!(after.contains("        TEXT user_id FK, UK\n"), "{after}");
    assert!(after.contains("### `wishlists`\n\nWish lists, one per user.\n"), "{after}");
    assert!(after.contains("| `user_id` | TEXT | no | FK → `users` (id); unique |  | The owner. |"), "{after}");
    assert!(after.contains("| `quantity` | INTEGER | no |  |  | How many. `CHECK (quantity > 0)` |"), "{after}");
    assert!(after.contains("| `note` | TEXT | yes |  |  | Shown \\| escaped. |"), "{after}");
}
