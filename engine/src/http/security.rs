//! The bearer-token security scheme. Parsing only: each handler checks the token through the
//! accounts service, so the answer can distinguish 401, 403 `account_disabled` and 403 `forbidden`.
//! A missing or malformed header is rejected by poem-openapi with 401, which the middleware
//! renders as problem+json `unauthenticated`.

use poem_openapi::{SecurityScheme, auth::Bearer};

/// `Authorization: Bearer <access token>` (a JWT from the token endpoints).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

impl BearerAuth {
    pub fn token(&self) -> &str {
        &self.0.token
    }
}

/// The bearer token of a route that also accepts a guest token (carts, orders): those read the
/// header themselves, because either credential may be absent.
pub fn bearer_token(req: &poem::Request) -> Option<&str> {
    let value = req.header("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
