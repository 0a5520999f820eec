//! Cursor pagination shared by every list: `?limit=` (1–100, default 20) and `?cursor=`.
//!
//! A cursor is opaque to clients: base64url JSON holding a fingerprint of the sort and filters
//! that produced it, plus the key of the last item. A cursor presented with other sort or
//! filters, or garbled, is 400 `invalid_cursor`.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use poem::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// Fingerprint of the list's scope (endpoint, sort, filters).
    s: String,
    /// Key of the last item on the previous page.
    k: Vec<String>,
}

/// Checks `?limit=`; outside 1–100 is 422.
pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

fn fingerprint(scope: &str) -> String {
    hex::encode(&Sha256::digest(scope.as_bytes())[..8])
}

pub fn encode(scope: &str, key: Vec<String>) -> String {
    let body = CursorBody { s: fingerprint(scope), k: key };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
}

/// The key inside a cursor, if it belongs to `scope` and has `arity` parts.
pub fn decode(scope: &str, cursor: &str, arity: usize) -> Result<Vec<String>, ApiError> {
    let invalid = || {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "the cursor is malformed or belongs to another query")
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid())?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if body.s != fingerprint(scope) || body.k.len() != arity {
        return Err(invalid());
    }
    Ok(body.k)
}

/// Fetch `limit + 1` rows; this trims the extra one and says whether another page exists.
pub fn split_page<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_only_within_their_scope() {
        let c = encode("products|sort=newest", vec!["prod_1".into()]);
        assert_eq!(decode("products|sort=newest", &c, 1).unwrap(), vec!["prod_1".to_owned()]);
        assert!(decode("products|sort=name", &c, 1).is_err());
        assert!(decode("products|sort=newest", &c, 2).is_err());
        assert!(decode("products|sort=newest", "garbage!", 1).is_err());
    }

    #[test]
    fn limits_outside_range_are_rejected() {
        assert_eq!(limit(None).unwrap(), 20);
        assert_eq!(limit(Some(100)).unwrap(), 100);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(101)).is_err());
    }
}
