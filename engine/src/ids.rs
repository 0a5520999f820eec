//! Public identifiers: a type prefix and a ULID (`usr_01J…`). ULIDs are time-ordered, so ids sort
//! by creation, and their upper-case alphabet plus the `_` never match the slug pattern.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", next_ulid())
}

/// Plain `Ulid::new()` is random within a millisecond, so two ids made in the same millisecond
/// would sort in either order; "newest first" and "oldest first" rely on creation order. The
/// process-wide generator increments within a millisecond instead.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

fn next_ulid() -> ulid::Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Only fails when 2^80 ids are made in one millisecond.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

/// Whether `value` can be an id of this kind (`prefix_` and 26 ULID characters). Checked before
/// any lookup, so anything else is "not found" without a query (PostgreSQL refuses text with NUL
/// bytes outright, for one).
pub fn is_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|u| u.len() == 26 && u.bytes().all(|b| b.is_ascii_alphanumeric()))
}
