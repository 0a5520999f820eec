//! `docs/schema.md` (`cargo xtask schema`, which runs the `schema-doc` binary of this crate), the database schema as a Mermaid ER diagram and a
//! per-table column list, generated from the migrations.
//!
//! The SQLite migrations are applied, in file-name order, to an in-memory database, and the
//! result is read back through SQLite's own catalogue (`pragma_table_list`, `pragma_table_info`,
//! `pragma_foreign_key_list`, `pragma_index_list`): that is the schema after every rebuild and
//! `ALTER`, which parsing the SQL text ourselves would get wrong. Comments come from the stored
//! `CREATE TABLE` text (SQLite keeps it verbatim, comments included) and, for tables and added
//! columns, from the comment lines right above their statement in the migration files.
//!
//! The output is deterministic (sorted, no dates), so the unit test below can compare it with
//! the committed file and a merge that adds migrations only needs the command rerun.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context;
use sqlx::{Connection, Row, sqlite::SqliteConnection};

/// Where the document lives, relative to the workspace root.
pub const DOC: &str = "docs/schema.md";

/// Regenerates `docs/schema.md`.
pub fn write(root: &Path) -> anyhow::Result<()> {
    let text = render(&root.join("migrations/sqlite"))?;
    let path = root.join(DOC);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("schema-doc: wrote {}", path.display());
    Ok(())
}

struct Column {
    name: String,
    ty: String,
    not_null: bool,
    pk: bool,
    unique: bool,
    default: Option<String>,
    comment: String,
}

struct ForeignKey {
    from: Vec<String>,
    table: String,
    to: Vec<String>,
}

struct Index {
    name: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

struct Table {
    name: String,
    is_virtual: bool,
    comment: String,
    columns: Vec<Column>,
    foreign_keys: Vec<ForeignKey>,
    indexes: Vec<Index>,
}

/// The document for the migrations in `dir` (`*.sql`, applied in file-name order).
pub fn render(dir: &Path) -> anyhow::Result<String> {
    let files = migration_files(dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build().context("cannot start tokio")?;
    let mut tables = runtime.block_on(inspect(&files))?;
    let notes = file_comments(&files)?;
    for table in &mut tables {
        if table.comment.is_empty() {
            table.comment = notes.tables.get(&table.name).cloned().unwrap_or_default();
        }
        for column in &mut table.columns {
            if column.comment.is_empty() {
                let key = (table.name.clone(), column.name.clone());
                column.comment = notes.added_columns.get(&key).cloned().unwrap_or_default();
            }
        }
    }
    Ok(markdown(&tables))
}

fn migration_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            files.push((path, text));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

async fn inspect(files: &[(PathBuf, String)]) -> anyhow::Result<Vec<Table>> {
    let mut db = SqliteConnection::connect("sqlite::memory:").await?;
    for (path, sql) in files {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut db)
            .await
            .with_context(|| format!("cannot apply {}", path.display()))?;
    }
    // `table_list` types shadow tables (an FTS index's storage) as `shadow`: left out.
    let listed = sqlx::query(
        "SELECT name, type FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut db)
    .await?;
    let mut tables = Vec::new();
    for row in listed {
        let name: String = row.try_get("name")?;
        let is_virtual = row.try_get::<String, _>("type")? == "virtual";
        tables.push(table(&mut db, name, is_virtual).await?);
    }
    Ok(tables)
}

async fn table(db: &mut SqliteConnection, name: String, is_virtual: bool) -> anyhow::Result<Table> {
    let sql: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(&name)
        .fetch_optional(&mut *db)
        .await?
        .flatten();
    let sql = sql.unwrap_or_default();
    let comments = column_comments(&sql);

    let mut indexes = Vec::new();
    let listed = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY name")
        .bind(&name)
        .fetch_all(&mut *db)
        .await?;
    for row in listed {
        let index: String = row.try_get("name")?;
        let columns = sqlx::query_scalar::<_, Option<String>>("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
            .bind(&index)
            .fetch_all(&mut *db)
            .await?
            .into_iter()
            .map(|c| c.unwrap_or_else(|| "(expression)".to_owned()))
            .collect();
        let origin: String = row.try_get("origin")?;
        // The primary key's own index is shown as the PK marker, not again as an index.
        if origin != "pk" {
            indexes.push(Index {
                name: index,
                columns,
                unique: row.try_get::<i64, _>("unique")? != 0,
                partial: row.try_get::<i64, _>("partial")? != 0,
            });
        }
    }

    let mut columns = Vec::new();
    let listed = sqlx::query("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid")
        .bind(&name)
        .fetch_all(&mut *db)
        .await?;
    for row in listed {
        let column: String = row.try_get("name")?;
        let unique = indexes.iter().any(|i| i.unique && !i.partial && i.columns == [column.as_str()]);
        columns.push(Column {
            comment: comments.get(&column).cloned().unwrap_or_default(),
            ty: row.try_get("type")?,
            not_null: row.try_get::<i64, _>("notnull")? != 0,
            pk: row.try_get::<i64, _>("pk")? != 0,
            default: row.try_get("dflt_value")?,
            unique,
            name: column,
        });
    }

    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut last_id = None;
    let listed = sqlx::query("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
        .bind(&name)
        .fetch_all(&mut *db)
        .await?;
    for row in listed {
        let id: i64 = row.try_get("id")?;
        let from: String = row.try_get("from")?;
        // `to` is NULL when the key references the parent's primary key implicitly.
        let to: Option<String> = row.try_get("to")?;
        let to = to.unwrap_or_default();
        match foreign_keys.last_mut() {
            Some(key) if last_id == Some(id) => {
                key.from.push(from);
                key.to.push(to);
            }
            _ => foreign_keys.push(ForeignKey { from: vec![from], table: row.try_get("table")?, to: vec![to] }),
        }
        last_id = Some(id);
    }
    foreign_keys.sort_by(|a, b| (&a.from, &a.table).cmp(&(&b.from, &b.table)));

    Ok(Table { name, is_virtual, comment: String::new(), columns, foreign_keys, indexes })
}

/// Column name → the `--` comment lines right above its definition in a `CREATE TABLE` text,
/// then the column's `CHECK`, if any.
fn column_comments(sql: &str) -> BTreeMap<String, String> {
    let mut comments = BTreeMap::new();
    let mut pending: Vec<&str> = Vec::new();
    for line in sql.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("--") {
            pending.push(text.trim());
            continue;
        }
        let mut notes = pending.join(" ");
        // A column's CHECK is its list of allowed values (statuses, roles) or its bounds: worth
        // showing next to it. The catalogue has no pragma for checks, so the line is read.
        if let Some(at) = line.find(" CHECK (") {
            let check = line[at + 1..].trim_end_matches(',');
            notes = if notes.is_empty() { format!("`{check}`") } else { format!("{notes} `{check}`") };
        }
        if !notes.is_empty()
            && let Some(word) = line.split_whitespace().next()
        {
            comments.insert(word.trim_matches(['"', '`', '(', ',']).to_owned(), notes);
        }
        pending.clear();
    }
    comments
}

#[derive(Default)]
struct FileComments {
    /// Table → the comment block right above its `CREATE [VIRTUAL] TABLE` (the last one wins).
    tables: BTreeMap<String, String>,
    /// (table, column) → the comment block right above its `ALTER TABLE … ADD COLUMN`: SQLite
    /// appends an added column to the stored `CREATE TABLE` text without its comment.
    added_columns: BTreeMap<(String, String), String>,
}

fn file_comments(files: &[(PathBuf, String)]) -> anyhow::Result<FileComments> {
    let mut found = FileComments::default();
    for (_, text) in files {
        let mut pending: Vec<&str> = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix("--") {
                pending.push(comment.trim());
                continue;
            }
            let words: Vec<String> = line
                .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
                .filter(|w| !w.is_empty())
                .map(|w| w.trim_matches('"').to_owned())
                .collect();
            let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
            let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
            let comment = pending.join(" ");
            match upper.as_slice() {
                ["CREATE", "TABLE", "IF", "NOT", "EXISTS", ..] if !comment.is_empty() => {
                    if let Some(name) = words.get(5) {
                        found.tables.insert(name.clone(), comment);
                    }
                }
                ["CREATE", "TABLE", ..] | ["CREATE", "VIRTUAL", "TABLE", ..] if !comment.is_empty() => {
                    if let Some(name) = words.get(if upper[1] == "VIRTUAL" { 3 } else { 2 }) {
                        found.tables.insert(name.clone(), comment);
                    }
                }
                ["ALTER", "TABLE", _, "ADD", "COLUMN", _, ..] if !comment.is_empty() => {
                    found.added_columns.insert((words[2].clone(), words[5].clone()), comment);
                }
                ["ALTER", "TABLE", _, "ADD", column, ..] if !comment.is_empty() && *column != "COLUMN" => {
                    found.added_columns.insert((words[2].clone(), words[4].clone()), comment);
                }
                _ => {}
            }
            pending.clear();
        }
    }
    Ok(found)
}

/// Markdown table cells may not contain a bare `|` or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(tables: &[Table]) -> String {
    let mut out = String::new();
    out.push_str(
        "# Database schema\n\n\
         <!-- Generated by `cargo xtask schema` from migrations/sqlite; do not edit by hand. -->\n\n\
         The tables after every migration in `migrations/sqlite/` (PostgreSQL has the same tables and\n\
         columns, with `BIGINT` where SQLite says `INTEGER`). Ids are `TEXT`, times are Unix\n\
         milliseconds, booleans are 0/1, money is integer minor units, JSON is `TEXT`. Regenerate this\n\
         file with `cargo xtask schema` after adding a migration; `cargo test -p xtask` fails while it\n\
         is out of date.\n\n\
         ```mermaid\nerDiagram\n",
    );
    for table in tables.iter().filter(|t| !t.is_virtual) {
        let _ = writeln!(out, "    {} {{", table.name);
        for column in &table.columns {
            let mut keys = Vec::new();
            if column.pk {
                keys.push("PK");
            }
            if table.foreign_keys.iter().any(|k| k.from.contains(&column.name)) {
                keys.push("FK");
            }
            if column.unique && !column.pk {
                keys.push("UK");
            }
            let ty = if column.ty.is_empty() { "ANY" } else { column.ty.as_str() };
            let line = format!("        {} {} {}", ty.replace(' ', "_"), column.name, keys.join(", "));
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out.push_str("    }\n");
    }
    for table in tables {
        for key in &table.foreign_keys {
            // A nullable reference may point nowhere: zero-or-one on the parent's side.
            let required = key.from.iter().all(|f| table.columns.iter().any(|c| &c.name == f && (c.not_null || c.pk)));
            let parent = if required { "||" } else { "|o" };
            let _ = writeln!(out, "    {} {parent}--o{{ {} : \"{}\"", key.table, table.name, key.from.join(", "));
        }
    }
    out.push_str("```\n\n## Tables\n");
    for table in tables {
        let _ = write!(out, "\n### `{}`\n\n", table.name);
        if table.is_virtual {
            out.push_str("A virtual table (not in the diagram).");
            if !table.comment.is_empty() {
                out.push(' ');
            }
        }
        if !table.comment.is_empty() {
            out.push_str(&table.comment);
        }
        if table.is_virtual || !table.comment.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str("| column | type | null | key | default | notes |\n| --- | --- | --- | --- | --- | --- |\n");
        for column in &table.columns {
            let mut keys = Vec::new();
            if column.pk {
                keys.push("PK".to_owned());
            }
            for key in table.foreign_keys.iter().filter(|k| k.from.contains(&column.name)) {
                let to = key.to.iter().filter(|t| !t.is_empty()).cloned().collect::<Vec<_>>().join(", ");
                keys.push(format!("FK → `{}` ({to})", key.table));
            }
            if column.unique && !column.pk {
                keys.push("unique".to_owned());
            }
            let null = if column.not_null || column.pk { "no" } else { "yes" };
            let default = column.default.as_deref().map(|d| format!("`{}`", cell(d))).unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {null} | {} | {default} | {} |",
                column.name,
                cell(&column.ty),
                keys.join("; "),
                cell(&column.comment)
            );
        }
        if !table.indexes.is_empty() {
            out.push_str("\nIndexes: ");
            let listed: Vec<String> = table
                .indexes
                .iter()
                .map(|i| {
                    let mut kind = Vec::new();
                    if i.unique {
                        kind.push("unique");
                    }
                    if i.partial {
                        kind.push("partial");
                    }
                    let kind = if kind.is_empty() { String::new() } else { format!(" {}", kind.join(", ")) };
                    format!("`{}` ({}){kind}", i.name, i.columns.join(", "))
                })
                .collect();
            out.push_str(&listed.join("; "));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
