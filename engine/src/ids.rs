//! Public identifiers: a type prefix and a ULID (`usr_01J…`). ULIDs are time-ordered, so ids sort
//! by creation, and their upper-case alphabet plus the `_` never match the slug pattern.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// Whether `value` looks like an id with this prefix (cheap check before a lookup).
pub fn has_prefix(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_')).is_some_and(|u| u.len() == 26)
}
