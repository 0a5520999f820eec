//! Slugs: lower-case `a-z0-9` words joined by single `-`, unique per kind, generated from the
//! name when omitted. An id (`prod_01J…`) never matches this pattern (`_` and upper case), so
//! `{id_or_slug}` path parameters are unambiguous.

pub const MAX_LEN: usize = 100;

/// Checks a slug given by a client.
pub fn parse(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_LEN
        && raw
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "must be lower-case letters and digits in words joined by single hyphens, at most {MAX_LEN} characters"
        ))
    }
}

/// A slug made from a name: ASCII letters and digits kept (accents folded where simple), every
/// other run of characters becomes one `-`. Falls back to `item` for names with no usable
/// characters.
pub fn from_name(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        let folded = fold(c);
        if folded.is_ascii_alphanumeric() {
            slug.push(folded.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-').to_owned();
    if slug.len() > MAX_LEN - 10 {
        slug.truncate(MAX_LEN - 10);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() { "item".to_owned() } else { slug }
}

/// `base`, then `base-2`, `base-3`, … : candidates when a generated slug is taken.
pub fn candidate(base: &str, attempt: u32) -> String {
    if attempt <= 1 { base.to_owned() } else { format!("{base}-{attempt}") }
}

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs_are_lowercase_words_with_single_hyphens() {
        assert!(parse("t-shirts").is_ok());
        assert!(parse("category-03").is_ok());
        for bad in ["", "T-Shirts", "a--b", "-a", "a-", "a_b", "prod_01J", "a b", &"a".repeat(101)] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_become_slugs() {
        assert_eq!(from_name("Classic Crew-Neck T-Shirt"), "classic-crew-neck-t-shirt");
        assert_eq!(from_name("  Café  Crème!! "), "cafe-creme");
        assert_eq!(from_name("★★★"), "item");
        assert_eq!(candidate("shirt", 1), "shirt");
        assert_eq!(candidate("shirt", 3), "shirt-3");
    }
}
