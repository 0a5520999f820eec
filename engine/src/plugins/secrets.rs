//! The host side of the WIT `secrets` interface (payment gateways): a plugin's configured
//! secrets (`[plugins.<name>.secrets]`, `COMMERCE_PLUGINS__<NAME>__SECRETS__<KEY>`), used on the
//! plugin's behalf and never handed to it.
//!
//! A gateway signs and verifies by secret *name* (HMAC), and names the secret its outbound
//! requests authenticate with; the values stay in host memory, wrapped in [`SecretString`] so no
//! `Debug`, log line or error message can print one. Verification compares in constant time
//! (`Mac::verify_slice`), so a webhook forger learns nothing from how long a refusal takes.

use std::{collections::BTreeMap, fmt, sync::Arc};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Sha256, Sha512};

/// The digests the WIT offers for an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    Sha512,
}

/// A secret name the operator did not configure for the plugin. The message names the secret
/// (names are configuration, not secrets) and the plugin, so the operator can fix the config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` has no secret named `{name}` (set [plugins.{plugin}.secrets] {name})")]
pub struct UnknownSecret {
    pub plugin: String,
    pub name: String,
}

/// One plugin's secrets. Cheap to clone (shared); `Debug` lists the names only.
#[derive(Clone)]
pub struct PluginSecrets {
    plugin: Arc<str>,
    values: Arc<BTreeMap<String, SecretString>>,
}

impl PluginSecrets {
    pub fn new(plugin: &str, values: BTreeMap<String, SecretString>) -> Self {
        Self { plugin: plugin.into(), values: Arc::new(values) }
    }

    /// The configured names (for `engine config check` and error messages).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The HMAC of `message` keyed with the secret `name`.
    pub fn hmac_sign(&self, algorithm: HmacAlgorithm, name: &str, message: &[u8]) -> Result<Vec<u8>, UnknownSecret> {
        let key = self.value(name)?.expose_secret().as_bytes();
        Ok(match algorithm {
            HmacAlgorithm::Sha256 => mac::<Hmac<Sha256>>(key, message).finalize().into_bytes().to_vec(),
            HmacAlgorithm::Sha512 => mac::<Hmac<Sha512>>(key, message).finalize().into_bytes().to_vec(),
        })
    }

    /// Whether `signature` is the HMAC of `message` under the secret `name`, compared in constant
    /// time. A signature of the wrong length is simply `false`.
    pub fn hmac_verify(
        &self,
        algorithm: HmacAlgorithm,
        name: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, UnknownSecret> {
        let key = self.value(name)?.expose_secret().as_bytes();
        Ok(match algorithm {
            HmacAlgorithm::Sha256 => mac::<Hmac<Sha256>>(key, message).verify_slice(signature).is_ok(),
            HmacAlgorithm::Sha512 => mac::<Hmac<Sha512>>(key, message).verify_slice(signature).is_ok(),
        })
    }

    /// `Authorization: Basic base64(<username>:<password secret>)`. The username is given as is
    /// (a Razorpay key id is public); the value is secret and stays wrapped.
    pub fn basic_authorization(&self, username: &str, password_secret: &str) -> Result<SecretString, UnknownSecret> {
        let password = self.value(password_secret)?.expose_secret();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Ok(SecretString::from(format!("Basic {credentials}")))
    }

    /// `Authorization: Bearer <secret>`.
    pub fn bearer_authorization(&self, name: &str) -> Result<SecretString, UnknownSecret> {
        Ok(SecretString::from(format!("Bearer {}", self.value(name)?.expose_secret())))
    }

    /// A secret as a header value (gateways with their own key headers).
    pub fn header_value(&self, name: &str) -> Result<SecretString, UnknownSecret> {
        self.value(name).cloned()
    }

    fn value(&self, name: &str) -> Result<&SecretString, UnknownSecret> {
        self.values.get(name).ok_or_else(|| UnknownSecret { plugin: self.plugin.to_string(), name: name.to_owned() })
    }
}

impl fmt::Debug for PluginSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSecrets").field("plugin", &self.plugin).field("names", &self.values.keys()).finish()
    }
}

/// An HMAC keyed with `key` over `message`. HMAC takes keys of any length, so this cannot fail.
fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> M {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> PluginSecrets {
        let values = [("key_secret", "EnLs21M47BllR3X8PSFtjtbd"), ("jefe", "Jefe"), ("webhook_secret", "whsec")]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), SecretString::from(value)))
            .collect();
        PluginSecrets::new("razorpay", values)
    }

    /// Guards the HMACs against published vectors: RFC 4231 test case 2 for both digests, and
    /// Razorpay's checkout signature (`order_id|payment_id` under the key secret) from its Node
    /// SDK's tests.
    #[test]
    fn signs_as_the_published_vectors_say() {
        let secrets = secrets();
        let rfc = b"what do ya want for nothing?";
        let sha256 = secrets.hmac_sign(HmacAlgorithm::Sha256, "jefe", rfc).expect("known");
        assert_eq!(hex::encode(sha256), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let sha512 = secrets.hmac_sign(HmacAlgorithm::Sha512, "jefe", rfc).expect("known");
        assert_eq!(
            hex::encode(sha512),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        let razorpay = secrets
            .hmac_sign(HmacAlgorithm::Sha256, "key_secret", b"order_IEIaMR65cu6nz3|pay_IH4NVgf4Dreq1l")
            .expect("known");
        assert_eq!(hex::encode(razorpay), "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f");
    }

    #[test]
    fn verifies_only_the_exact_signature() {
        let secrets = secrets();
        let body = br#"{"event":"payment.captured"}"#;
        let good = secrets.hmac_sign(HmacAlgorithm::Sha256, "webhook_secret", body).expect("known");
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha256, "webhook_secret", body, &good), Ok(true));
        let mut flipped = good.clone();
        flipped[31] ^= 1;
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha256, "webhook_secret", body, &flipped), Ok(false));
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha256, "webhook_secret", body, &good[..31]), Ok(false));
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha256, "webhook_secret", b"{}", &good), Ok(false));
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha512, "webhook_secret", body, &good), Ok(false));
        assert_eq!(secrets.hmac_verify(HmacAlgorithm::Sha256, "key_secret", body, &good), Ok(false));
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_it_and_the_plugin() {
        let error = secrets().hmac_sign(HmacAlgorithm::Sha256, "api_key", b"x").expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "plugin `razorpay` has no secret named `api_key` (set [plugins.razorpay.secrets] api_key)"
        );
        assert!(secrets().bearer_authorization("nope").is_err());
    }

    /// Guards "secrets are never logged": the set's `Debug` shows names, and an authorization
    /// value stays wrapped until the HTTP layer exposes it into a sensitive header.
    #[test]
    fn values_never_show_in_debug_output() {
        let secrets = secrets();
        let debug = format!("{secrets:?}");
        assert!(debug.contains("key_secret") && !debug.contains("EnLs21M47BllR3X8PSFtjtbd"), "{debug}");
        let basic = secrets.basic_authorization("rzp_test_0wFRWIZnH65uny", "key_secret").expect("known");
        assert!(!format!("{basic:?}").contains("EnLs21"), "{basic:?}");
        let expected =
            base64::engine::general_purpose::STANDARD.encode("rzp_test_0wFRWIZnH65uny:EnLs21M47BllR3X8PSFtjtbd");
        assert_eq!(basic.expose_secret(), format!("Basic {expected}"));
        assert_eq!(secrets.bearer_authorization("jefe").expect("known").expose_secret(), "Bearer Jefe");
        assert_eq!(secrets.header_value("jefe").expect("known").expose_secret(), "Jefe");
        assert_eq!(secrets.names().collect::<Vec<_>>(), ["jefe", "key_secret", "webhook_secret"]);
    }
}
