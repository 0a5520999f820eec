//! `/api/v1/auth/*`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};
use secrecy::SecretString;

use super::{AccountTags, dto::*};
use crate::{
    accounts::{
        AccountService,
        model::{Email, NewPassword, Role},
    },
    carts::CartService,
    http::{middleware::ClientAddr, nullable::Nullable, problem::ApiError},
    validation::Problems,
};

pub struct AuthApi {
    pub accounts: Arc<AccountService>,
    /// For merging a guest cart at login. The accounts service itself knows nothing of carts
    /// (carts depend on accounts, not the other way round), so the handler makes the call.
    pub carts: Arc<CartService>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// Account created; the customer is signed in.
    #[oai(status = 201)]
    Created(Json<TokenResponse>),
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted. A link is mailed if the account exists; the answer is the same either way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    NoContent,
}

/// Parses an email and a new password together, so both problems are reported at once.
fn parse_credentials(
    email: &str,
    email_field: &str,
    password: String,
    password_field: &str,
) -> Result<(Option<Email>, Option<NewPassword>), Problems> {
    let mut problems = Problems::default();
    let email = Email::parse(email).map_err(|m| problems.add(email_field, m)).ok();
    let password = NewPassword::parse(password).map_err(|m| problems.add(password_field, m)).ok();
    if problems.0.is_empty() { Ok((email, password)) } else { Err(problems) }
}

pub(super) fn parse_new_password(field: &str, raw: String) -> Result<NewPassword, ApiError> {
    NewPassword::parse(raw).map_err(|m| ApiError::invalid_field(field, m))
}

fn parse_email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|m| ApiError::invalid_field("email", m))
}

fn client(req: &Request) -> String {
    req.extensions().get::<ClientAddr>().map(|c| c.0.clone()).unwrap_or_default()
}

#[OpenApi(prefix_path = "/api/v1/auth", tag = "AccountTags::Auth")]
impl AuthApi {
    /// Register a customer
    ///
    /// Creates a customer account and signs it in. The email is normalised (NFKC, lower case).
    /// Registrations per client address are limited (429 `rate_limited` with `Retry-After`).
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(&self, req: &Request, body: Json<RegisterRequest>) -> Result<Created, ApiError> {
        let body = body.0;
        let (email, password) = match parse_credentials(&body.email, "email", body.password.into(), "password") {
            Ok((Some(e), Some(p))) => (e, p),
            Ok(_) => return Err(ApiError::bad_request("email and password are required")),
            Err(problems) => return Err(ApiError::validation(problems.0)),
        };
        let mut problems = Problems::default();
        let first = problems.text("first_name", body.first_name.as_deref().map_or("", String::as_str), false, 100);
        let last = problems.text("last_name", body.last_name.as_deref().map_or("", String::as_str), false, 100);
        problems.into_result().map_err(ApiError::validation)?;
        let session = self.accounts.register(email, password, first, last, &client(req)).await?;
        Ok(Created::Created(Json(session.into())))
    }

    /// Log in
    ///
    /// Email and password for a token pair. Too many failed attempts from one client address
    /// are refused for the rest of the window; past a number of failures, each further attempt
    /// on an account waits a growing back-off (429 `rate_limited` with `Retry-After`). A
    /// malformed email is 422; a disabled account gets 403 `account_disabled`.
    ///
    /// A customer may name a guest cart (`cart_id` with its `cart_token`) to keep it. With no
    /// active cart of their own, the guest cart becomes theirs (its token stops working).
    /// Otherwise its lines are added to their cart (quantities add, capped at the stock and at
    /// `carts.max_line_quantity`; lines past `carts.max_lines`, or of variants no longer sold or
    /// out of stock, are left out), its coupon codes and (if their cart has none) its shipping
    /// address carry over, and the guest cart is closed: its id answers 404 from then on. The
    /// answer's `cart_id` is the resulting cart; read it for the new totals, where lines still
    /// short of stock show in `line_notices`. A wrong token, another customer's cart or a cart
    /// already merged or checked out logs in all the same and merges nothing (`cart_id` is then
    /// the customer's own cart, or null).
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: Json<LoginRequest>) -> Result<Json<TokenResponse>, ApiError> {
        let body = body.0;
        let email = parse_email(&body.email)?;
        let password = SecretString::from(body.password.into_inner());
        let session = self.accounts.login(&email, &password, &client(req)).await?;
        let user_id = session.user.id.clone();
        let merge = match (body.cart_id, body.cart_token) {
            // Staff have no storefront cart to merge into.
            (Some(cart), Some(token)) if session.user.role == Role::Customer => Some((cart, token)),
            _ => None,
        };
        let mut response = TokenResponse::from(session);
        if let Some((cart, token)) = merge {
            // The login already succeeded: the merge never turns it into an error.
            let merged = self.carts.merge_guest_cart(&user_id, &cart, &token).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "cart merge at login failed");
                None
            });
            response.cart_id = Nullable(merged);
        }
        Ok(Json(response))
    }

    /// Refresh a session
    ///
    /// Exchanges a refresh token for a new pair; the old refresh token stops working. Presenting a
    /// refresh token that was already exchanged is 401 `token_reused` and ends the whole session.
    #[oai(path = "/refresh", method = "post", operation_id = "refreshSession")]
    async fn refresh(&self, body: Json<RefreshRequest>) -> Result<Json<TokenResponse>, ApiError> {
        let session = self.accounts.refresh(&body.0.refresh_token).await?;
        Ok(Json(session.into()))
    }

    /// Log out
    ///
    /// Revokes the refresh token and every token of its session. Needs only the refresh token.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, body: Json<RefreshRequest>) -> Result<NoContent, ApiError> {
        self.accounts.logout(&body.0.refresh_token).await?;
        Ok(NoContent::NoContent)
    }

    /// Request a password reset
    ///
    /// 202 for any well-formed email (a malformed one is 422). When an active account has it,
    /// a single-use link valid for one hour is mailed shortly after. Requests are limited per
    /// email and per client address; over a limit the answer is still 202 and nothing is sent.
    #[oai(path = "/password-reset", method = "post", operation_id = "requestPasswordReset")]
    async fn password_reset(&self, req: &Request, body: Json<PasswordResetRequest>) -> Result<Accepted, ApiError> {
        let email = parse_email(&body.0.email)?;
        self.accounts.request_password_reset(&email, &client(req)).await?;
        Ok(Accepted::Accepted)
    }

    /// Confirm a password reset
    ///
    /// Sets a new password with the token from the mailed link. Every session of the account ends.
    /// A used or expired token is 401 `token_invalid`. Confirmations per client address are
    /// limited (429 `rate_limited` with `Retry-After`).
    #[oai(path = "/password-reset/confirm", method = "post", operation_id = "confirmPasswordReset")]
    async fn password_reset_confirm(
        &self,
        req: &Request,
        body: Json<PasswordResetConfirm>,
    ) -> Result<NoContent, ApiError> {
        let password = parse_new_password("new_password", body.0.new_password.into())?;
        self.accounts.confirm_password_reset(&body.0.token, password, &client(req)).await?;
        Ok(NoContent::NoContent)
    }
}
