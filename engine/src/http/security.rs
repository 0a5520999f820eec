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
