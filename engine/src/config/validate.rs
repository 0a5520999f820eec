//! Semantic checks that serde cannot express. Each problem names its key.

use secrecy::ExposeSecret;

use super::{Config, DEVELOPMENT_JWT_SECRET, MailTransportKind};

impl Config {
    /// Every semantic problem at once (empty when the configuration is usable).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, message: &str| {
            if !ok {
                problems.push(format!("`{key}`: {message}"));
            }
        };

        check(self.server.body_limit >= 1024, "server.body_limit", "must be at least 1024 bytes");
        for origin in &self.server.cors.allowed_origins {
            let ok = origin == "*" || url::Url::parse(origin).is_ok_and(|u| u.origin().is_tuple());
            check(
                ok,
                "server.cors.allowed_origins",
                &format!("`{origin}` is not an origin like https://shop.example.com"),
            );
        }

        let url = self.database.url.expose_secret();
        check(
            url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "database.url",
            "must start with sqlite:// or postgres://",
        );
        check(self.database.max_connections >= 1, "database.max_connections", "must be at least 1");

        let secret = self.auth.jwt_secret.expose_secret();
        check(secret.len() >= 32, "auth.jwt_secret", "must be at least 32 bytes long");
        if self.is_production() {
            check(
                secret != DEVELOPMENT_JWT_SECRET,
                "auth.jwt_secret",
                "the development secret is refused when environment = \"production\"",
            );
            check(
                self.mail.transport != MailTransportKind::Log,
                "mail.transport",
                "the `log` mailer is refused when environment = \"production\" (it would write reset links to the log)",
            );
        }
        check(!self.auth.issuer.is_empty(), "auth.issuer", "must not be empty");
        check(!self.auth.audience.is_empty(), "auth.audience", "must not be empty");
        check(self.auth.access_ttl.as_secs() >= 1, "auth.access_ttl", "must be at least 1s");
        check(self.auth.refresh_ttl > self.auth.access_ttl, "auth.refresh_ttl", "must be longer than auth.access_ttl");
        check(self.auth.password_reset_ttl.as_secs() >= 60, "auth.password_reset_ttl", "must be at least 1m");
        check(
            self.auth.password_reset_url.contains("{token}"),
            "auth.password_reset_url",
            "must contain the placeholder {token}",
        );
        let argon = self.auth.argon2;
        check(argon.memory_kib >= 8 * argon.parallelism, "auth.argon2.memory_kib", "must be at least 8 × parallelism");
        check(argon.iterations >= 1, "auth.argon2.iterations", "must be at least 1");
        check((1..=255).contains(&argon.parallelism), "auth.argon2.parallelism", "must be 1–255");
        check(self.auth.throttle.window.as_secs() >= 1, "auth.throttle.window", "must be at least 1s");
        check(
            self.auth.throttle.max_failures_per_account >= 1,
            "auth.throttle.max_failures_per_account",
            "must be at least 1",
        );
        check(
            self.auth.throttle.max_failures_per_address >= 1,
            "auth.throttle.max_failures_per_address",
            "must be at least 1",
        );

        check(
            self.mail.from.parse::<lettre::message::Mailbox>().is_ok(),
            "mail.from",
            "is not a mailbox like `Shop <shop@example.com>`",
        );
        check(self.mail.max_attempts >= 1, "mail.max_attempts", "must be at least 1");
        if self.mail.transport == MailTransportKind::Smtp {
            check(!self.mail.smtp.host.is_empty(), "mail.smtp.host", "must be set for the smtp transport");
        }

        let currency = &self.store.currency;
        check(
            currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()),
            "store.currency",
            "must be an ISO 4217 code such as INR or EUR",
        );

        check(self.jobs.poll_interval.as_millis() >= 10, "jobs.poll_interval", "must be at least 10ms");
        check(self.jobs.lease.as_secs() >= 1, "jobs.lease", "must be at least 1s");
        check(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level",
            "is not a level or filter such as `info` or `info,sqlx=warn`",
        );
        problems
    }
}
