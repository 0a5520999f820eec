//! Account domain types. Requests are parsed into these ("parse, don't validate"); services
//! accept only these.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// `admin` is staff who may also change roles and deactivate staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "customer" => Some(Role::Customer),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether the staff endpoints accept this role.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

/// The stored form. An unknown value is a corrupted row, never a customer by default: reading
/// `"superuser"` as `Customer` would quietly demote an account (or, with a different default,
/// promote one), and the next profile write would store the guess for good.
impl TryFrom<String> for Role {
    type Error = crate::db::UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(crate::db::UnknownValue { what: "role", value })
    }
}

/// A syntactically valid email address: trimmed, NFKC-normalised and lower-cased, so that
/// visually identical spellings (full-width letters, ligatures) name one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Longest address (RFC 5321's path limit), counted in characters after normalisation.
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        // Refused before any other work: normalising or looking up a huge value is wasted effort
        // (and PostgreSQL cannot index one; a 300 KB email used to be a 500). NFKC expands a
        // character to at most 18, so nothing this long can normalise to 254 or fewer.
        if raw.len() > Self::MAX * 4 * 18 || raw.chars().count() > Self::MAX * 18 {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        let normalised = normalise_email(raw);
        if normalised.chars().count() > Self::MAX {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        match normalised.parse::<lettre::Address>() {
            Ok(addr) if addr.domain().contains('.') || addr.domain() == "localhost" => Ok(Self(normalised)),
            _ => Err("is not a valid email address".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The comparison form of an email (or of an email prefix): trimmed, NFKC, lower case.
pub fn normalise_email(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.trim().nfkc().collect::<String>().to_lowercase()
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 10–256 characters (counted as Unicode scalar values).
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN: usize = 10;
    pub const MAX: usize = 256;

    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < Self::MIN {
            return Err(format!("must be at least {} characters", Self::MIN));
        }
        if chars > Self::MAX {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// A stored user, as the services see it (no password hash).
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Profile fields a customer can change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<Option<String>>,
}

/// A postal address in a customer's address book.
#[derive(Debug, Clone)]
pub struct Address {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Address {
    /// An empty address that a draft fills in (`AddressDraft::apply` checks every field).
    pub fn blank(id: String, now: i64) -> Self {
        Self {
            id,
            first_name: String::new(),
            last_name: String::new(),
            line1: String::new(),
            line2: None,
            city: String::new(),
            region: None,
            postal_code: String::new(),
            country: String::new(),
            phone: None,
            is_default: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Exposes a password for hashing only; keeps call sites greppable.
pub fn expose(secret: &SecretString) -> &[u8] {
    secret.expose_secret().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards issue 10: the stored role decodes to exactly the role written, and anything else
    /// is an error (it used to fall back to `Customer`).
    #[test]
    fn a_stored_role_parses_to_itself_and_an_unknown_one_is_an_error() {
        for role in [Role::Customer, Role::Staff, Role::Admin] {
            assert_eq!(Role::try_from(role.as_str().to_owned()).unwrap(), role);
        }
        for bad in ["superuser", "", "Admin", " staff"] {
            let error = Role::try_from(bad.to_owned()).unwrap_err();
            assert_eq!(error.value, bad);
            assert!(error.to_string().contains("unknown role"), "{error}");
        }
    }

    #[test]
    fn emails_are_nfkc_normalised_and_lower_cased() {
        // Full-width letters and the `ﬁ` ligature are compatibility forms of plain ones.
        let fancy = Email::parse(" \u{FF21}da@\u{FB01}rm.example ").unwrap();
        assert_eq!(fancy.as_str(), "ada@firm.example");
        assert_eq!(fancy, Email::parse("ADA@FIRM.example").unwrap());
    }

    #[test]
    fn emails_are_limited_to_254_characters_and_refuse_control_characters() {
        let domain = format!("{}.{}.{}.example", "b".repeat(60), "c".repeat(60), "d".repeat(63));
        let ok = format!("{}@{domain}", "a".repeat(60));
        assert_eq!(ok.len(), 254);
        assert!(Email::parse(&ok).is_ok());
        assert!(Email::parse(&format!("a{ok}")).is_err());
        assert!(Email::parse(&"a".repeat(300_000)).is_err());
        assert!(Email::parse("a\u{0}b@example.com").is_err());
        assert!(Email::parse("a\u{7}b@example.com").is_err());
    }
}
