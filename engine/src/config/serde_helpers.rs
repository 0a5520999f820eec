//! Serde adapters for config values: human durations and redacted secrets.

/// Durations written as `90s`, `15m`, `12h`, `30d` (humantime syntax).
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map_err(|e| D::Error::custom(format!("`{text}` is not a duration like `15m` or `30d` ({e})")))
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*value).to_string())
    }
}

/// A secret that deserializes normally and serializes as `[redacted]` (or `""` when unset).
pub mod redacted {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        Ok(SecretString::from(String::deserialize(d)?))
    }

    pub fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        if value.expose_secret().is_empty() { s.serialize_str("") } else { s.serialize_str("[redacted]") }
    }
}

/// A table of secrets (`[plugins.<name>.secrets]`): keys shown, every value `[redacted]`.
pub mod redacted_map {
    use std::collections::BTreeMap;

    use secrecy::SecretString;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeMap};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, SecretString>, D::Error> {
        let plain = BTreeMap::<String, String>::deserialize(d)?;
        Ok(plain.into_iter().map(|(k, v)| (k, SecretString::from(v))).collect())
    }

    pub fn serialize<S: Serializer>(value: &BTreeMap<String, SecretString>, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(value.len()))?;
        for key in value.keys() {
            map.serialize_entry(key, "[redacted]")?;
        }
        map.end()
    }
}

/// A URL that may carry a password: serialized with the password masked.
pub mod redacted_url {
    use secrecy::{ExposeSecret, SecretString};
    use serde::Serializer;

    pub use super::redacted::deserialize;

    pub fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&mask_password(value.expose_secret()))
    }

    /// `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`.
    pub fn mask_password(raw: &str) -> String {
        match url::Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                // `[` and `]` would come out percent-encoded in the userinfo, so a plain marker
                // goes in first and is swapped for the one every other secret shows.
                let _ = url.set_password(Some("REDACTED"));
                url.to_string().replacen(":REDACTED@", ":[redacted]@", 1)
            }
            Ok(_) => raw.to_owned(),
            Err(_) => "[unparseable url]".to_owned(),
        }
    }
}

/// An optional secret: absent stays `None` (and is left out of `config check`), present is
/// shown as `[redacted]`.
pub mod redacted_option {
    use secrecy::SecretString;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
    }

    pub fn serialize<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(secret) => super::redacted::serialize(secret, s),
            None => s.serialize_none(),
        }
    }
}
