//! Authentication: registration, login with throttling, refresh rotation with reuse detection,
//! logout, password reset and change, and checking access tokens on each request.

use std::sync::Arc;

use secrecy::SecretString;

use super::{
    error::AccountError,
    model::{Email, NewPassword, Role, User},
    password::PasswordHasher,
    store::{self, NewRefresh, NewUser},
    tokens::{self, JwtKeys},
};
use crate::{
    clock::{SharedClock, millis},
    config::AuthConfig,
    db::{Db, unique_violation},
    ids::new_id,
    mail::outbox,
};

/// A fresh session: what the token endpoints return.
#[derive(Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: User,
}

/// The caller of an authenticated request, checked against the database on every request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
}

pub struct AccountService {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
    pub(super) hasher: PasswordHasher,
    jwt: JwtKeys,
    config: Arc<AuthConfig>,
}

impl AccountService {
    pub async fn new(db: Db, clock: SharedClock, config: &AuthConfig) -> Result<Self, AccountError> {
        let hasher = PasswordHasher::new(config.argon2, config.max_concurrent_hashes).await?;
        Ok(Self { db, clock, hasher, jwt: JwtKeys::new(config), config: Arc::new(config.clone()) })
    }

    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        email: Email,
        password: NewPassword,
        first_name: String,
        last_name: String,
    ) -> Result<Session, AccountError> {
        let user = self.create_user(&email, &password, Role::Customer, &first_name, &last_name).await?;
        tracing::info!(user_id = %user.id, "customer registered");
        self.start_session(user).await
    }

    /// Creates a staff account (the `engine admin create-staff` command).
    pub async fn create_staff(&self, email: Email, password: NewPassword) -> Result<User, AccountError> {
        self.create_user(&email, &password, Role::Staff, "", "").await
    }

    async fn create_user(
        &self,
        email: &Email,
        password: &NewPassword,
        role: Role,
        first_name: &str,
        last_name: &str,
    ) -> Result<User, AccountError> {
        let hash = self.hasher.hash(password.secret()).await?;
        let id = new_id("usr");
        let now = self.clock.now_ms();
        let new = NewUser { id: &id, email: email.as_str(), password_hash: &hash, role, first_name, last_name, now };
        store::insert_user(self.db.pool(), &new).await.map_err(|e| match unique_violation(&e) {
            Some(_) => AccountError::EmailTaken,
            None => AccountError::Db(e),
        })?;
        let row = store::user_by_id(self.db.pool(), &id).await?.ok_or(AccountError::NotFound("user"))?;
        Ok(row.into_user())
    }

    /// Password login. Attempts are counted per account and per client address before the
    /// password is checked, so a burst cannot get past the limit; a success takes its count back.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, raw_email: &str, password: &SecretString, client: &str) -> Result<Session, AccountError> {
        let email = raw_email.trim().to_lowercase();
        let account_key = format!("account:{email}");
        let address_key = format!("address:{client}");
        let throttle = &self.config.throttle;
        self.count_attempt(&account_key, throttle.max_failures_per_account).await?;
        self.count_attempt(&address_key, throttle.max_failures_per_address).await?;

        let row = store::user_by_email(self.db.pool(), &email).await?;
        let verified = self.hasher.verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
        let Some(row) = row.filter(|_| verified.matches) else {
            tracing::info!("login failed");
            return Err(AccountError::InvalidCredentials);
        };
        store::clear_attempts(self.db.pool(), &account_key).await?;
        store::uncount_attempt(self.db.pool(), &address_key).await?;
        if row.active == 0 {
            return Err(AccountError::AccountDisabled);
        }
        if verified.needs_rehash {
            // Parameters changed since this hash was made: upgrade it while we hold the password.
            let hash = self.hasher.hash(password).await?;
            store::set_password_hash(self.db.pool(), &row.id, &hash, self.clock.now_ms(), None).await?;
            tracing::info!(user_id = %row.id, "password hash upgraded to current parameters");
        }
        tracing::info!(user_id = %row.id, "login succeeded");
        self.start_session(row.into_user()).await
    }

    async fn count_attempt(&self, key: &str, max: u32) -> Result<(), AccountError> {
        let now = self.clock.now_ms();
        let window = millis(self.config.throttle.window);
        let (window_start, attempts) = store::count_attempt(self.db.pool(), key, now, window).await?;
        if attempts > i64::from(max) {
            let retry_after_ms = (window_start + window - now).max(1000);
            let retry_after_secs = u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1);
            tracing::warn!(kind = key.split(':').next().unwrap_or(""), "login throttled");
            return Err(AccountError::RateLimited { retry_after_secs });
        }
        Ok(())
    }

    /// Starts a new refresh-token family for `user`.
    async fn start_session(&self, user: User) -> Result<Session, AccountError> {
        let family = new_id("fam");
        let refresh_token = self.insert_refresh(self.db.pool(), &family, &user.id).await?;
        self.session(user, refresh_token)
    }

    async fn insert_refresh<'e>(
        &self,
        ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
        family: &str,
        user_id: &str,
    ) -> Result<String, AccountError> {
        let token = tokens::new_opaque_token("rt");
        let now = self.clock.now_ms();
        let hash = tokens::digest(&token);
        let id = new_id("rtk");
        let expires_at = now + millis(self.config.refresh_ttl);
        store::insert_refresh(
            ex,
            &NewRefresh { id: &id, family_id: family, user_id, token_hash: &hash, now, expires_at },
        )
        .await?;
        Ok(token)
    }

    fn session(&self, user: User, refresh_token: String) -> Result<Session, AccountError> {
        let access_token = self.jwt.issue(&user.id, user.role, self.clock.now().timestamp())?;
        Ok(Session { access_token, refresh_token, expires_in: self.jwt.ttl_secs(), user })
    }

    /// Rotates a refresh token. Presenting a rotated token again is reuse: the whole family is
    /// revoked, because either the client or an attacker holds a stolen copy.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AccountError> {
        let now = self.clock.now_ms();
        let record = store::refresh_by_hash(self.db.pool(), &tokens::digest(refresh_token))
            .await?
            .ok_or(AccountError::TokenInvalid)?;
        if record.rotated_at.is_some() {
            return Err(self.reuse_detected(&record.family_id, now).await?);
        }
        let user = store::user_by_id(self.db.pool(), &record.user_id).await?.ok_or(AccountError::TokenInvalid)?;
        // Before the revocation check: deactivation revokes every session, and the client should
        // learn that the account is disabled rather than that its session merely ended.
        if user.active == 0 {
            return Err(AccountError::AccountDisabled);
        }
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Err(AccountError::TokenInvalid);
        }
        let mut tx = self.db.begin().await?;
        if !store::mark_rotated(&mut *tx, &record.id, now).await? {
            // Another request rotated it first: this presentation is a reuse.
            drop(tx);
            return Err(self.reuse_detected(&record.family_id, now).await?);
        }
        let token = self.insert_refresh(&mut *tx, &record.family_id, &record.user_id).await?;
        tx.commit().await?;
        self.session(user.into_user(), token)
    }

    async fn reuse_detected(&self, family: &str, now: i64) -> Result<AccountError, AccountError> {
        let revoked = store::revoke_family(self.db.pool(), family, now).await?;
        tracing::warn!(family, revoked, "refresh token reuse detected; family revoked");
        Ok(AccountError::TokenReused)
    }

    /// Revokes the token's whole family (this login on this device). Idempotent for a known token.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AccountError> {
        let record = store::refresh_by_hash(self.db.pool(), &tokens::digest(refresh_token))
            .await?
            .ok_or(AccountError::TokenInvalid)?;
        store::revoke_family(self.db.pool(), &record.family_id, self.clock.now_ms()).await?;
        Ok(())
    }

    /// Mails a single-use reset link when the account exists; silent otherwise, and both paths do
    /// the same kind of work so the answer's timing does not tell them apart.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, raw_email: &str) -> Result<(), AccountError> {
        let email = raw_email.trim().to_lowercase();
        let user = store::user_by_email(self.db.pool(), &email).await?;
        let token = tokens::new_opaque_token("pr");
        let hash = tokens::digest(&token);
        let Some(user) = user.filter(|u| u.active != 0) else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let ttl = self.config.password_reset_ttl;
        let link = self.config.password_reset_url.replace("{token}", &token);
        let body = format!(
            "Someone asked to reset the password of your account ({email}).\n\n\
             To choose a new password, open this link within {}:\n\n{link}\n\n\
             The link works once. If you did not ask for this, ignore this message: your password stays as it is.\n",
            humantime::format_duration(ttl)
        );
        let mut tx = self.db.begin().await?;
        store::insert_reset(&mut *tx, &hash, &user.id, now, now + millis(ttl)).await?;
        outbox::enqueue(&mut *tx, &email, "Reset your password", &body, now).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, "password reset mailed");
        Ok(())
    }

    /// Sets a new password from a reset link; the link is spent and every session ends.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(&self, token: &str, password: NewPassword) -> Result<(), AccountError> {
        let hash = self.hasher.hash(password.secret()).await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        let user_id =
            store::consume_reset(&mut *tx, &tokens::digest(token), now).await?.ok_or(AccountError::TokenInvalid)?;
        store::set_password_hash(&mut *tx, &user_id, &hash, now, Some(now / 1000)).await?;
        store::expire_resets_for_user(&mut *tx, &user_id, now).await?;
        store::revoke_all_for_user(&mut *tx, &user_id, now).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user_id, "password reset");
        Ok(())
    }

    /// Changes the password of a signed-in user; every other session ends and a new one starts.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &SecretString,
        new: NewPassword,
    ) -> Result<Session, AccountError> {
        let row = store::user_by_id(self.db.pool(), &caller.user_id).await?.ok_or(AccountError::NotFound("user"))?;
        if !self.hasher.verify(current, Some(&row.password_hash)).await?.matches {
            return Err(AccountError::InvalidCredentials);
        }
        let hash = self.hasher.hash(new.secret()).await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        store::set_password_hash(&mut *tx, &row.id, &hash, now, Some(now / 1000)).await?;
        store::revoke_all_for_user(&mut *tx, &row.id, now).await?;
        tx.commit().await?;
        self.start_session(row.into_user()).await
    }

    /// Checks an access token and that its user still exists, is active, and has not revoked
    /// older tokens. The role comes from the database, so role changes apply at once.
    pub async fn authenticate(&self, access_token: &str) -> Result<Caller, AccountError> {
        let claims = self.jwt.verify(access_token, self.clock.now().timestamp())?;
        let row = store::user_by_id(self.db.pool(), &claims.sub)
            .await?
            .ok_or(AccountError::Unauthenticated("unknown user"))?;
        if claims.iat < row.tokens_valid_after {
            return Err(AccountError::Unauthenticated("access token was revoked"));
        }
        if row.active == 0 {
            return Err(AccountError::AccountDisabled);
        }
        let role = Role::parse(&row.role).unwrap_or(Role::Customer);
        Ok(Caller { user_id: row.id, role })
    }

    pub async fn authenticate_staff(&self, access_token: &str) -> Result<Caller, AccountError> {
        let caller = self.authenticate(access_token).await?;
        if caller.role != Role::Staff {
            return Err(AccountError::Forbidden);
        }
        Ok(caller)
    }

    /// Housekeeping for the `cleanup` job.
    pub async fn purge_expired(&self) -> Result<u64, sqlx::Error> {
        store::purge_expired(self.db.pool(), self.clock.now_ms(), millis(self.config.throttle.window)).await
    }
}
