//! Semantic checks that serde cannot express. Each problem names its key.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::{Config, MailTransportKind, MetricsAccess};

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
        check(
            self.server.metrics != MetricsAccess::Token || self.server.metrics_token.expose_secret().len() >= 16,
            "server.metrics_token",
            "must be at least 16 characters when server.metrics = \"token\"",
        );
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

        check(self.carts.ttl.as_secs() >= 60, "carts.ttl", "must be at least 1m");
        check((1..=1000).contains(&self.carts.max_lines), "carts.max_lines", "must be 1–1000");
        check((1..=100_000).contains(&self.carts.max_line_quantity), "carts.max_line_quantity", "must be 1–100000");

        check(
            self.server.trust_forwarded_for.is_none(),
            "server.trust_forwarded_for",
            "was replaced by `server.trusted_proxies`, a list of your reverse proxies' addresses \
             (CIDRs such as [\"10.0.0.0/8\"]); the client address is then the right-most \
             X-Forwarded-For entry that is not one of them",
        );
        for proxy in &self.server.trusted_proxies {
            check(
                crate::http::client_addr::parse_cidr(proxy).is_some(),
                "server.trusted_proxies",
                &format!("`{proxy}` is not an address or CIDR such as 10.0.0.0/8 or ::1/128"),
            );
        }

        match &self.auth.jwt_secret {
            Some(secret) => {
                check(secret.expose_secret().len() >= 32, "auth.jwt_secret", "must be at least 32 bytes long")
            }
            None => check(
                !self.is_production(),
                "auth.jwt_secret",
                "must be set when environment = \"production\" (e.g. COMMERCE_AUTH__JWT_SECRET from \
                 `openssl rand -base64 48`); only development generates one and keeps it in the database",
            ),
        }
        if self.is_production() {
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
        let throttle = &self.auth.throttle;
        for (value, key) in [
            (throttle.max_failures_per_address, "auth.throttle.max_failures_per_address"),
            (throttle.max_registrations_per_address, "auth.throttle.max_registrations_per_address"),
            (throttle.max_reset_confirms_per_address, "auth.throttle.max_reset_confirms_per_address"),
            (throttle.max_reset_requests_per_email, "auth.throttle.max_reset_requests_per_email"),
            (throttle.max_reset_requests_per_address, "auth.throttle.max_reset_requests_per_address"),
        ] {
            check(value >= 1, key, "must be at least 1");
        }
        check(throttle.max_backoff.as_secs() >= 1, "auth.throttle.max_backoff", "must be at least 1s");

        check(
            self.mail.from.parse::<lettre::message::Mailbox>().is_ok(),
            "mail.from",
            "is not a mailbox like `Shop <shop@example.com>`",
        );
        check(self.mail.max_attempts >= 1, "mail.max_attempts", "must be at least 1");
        if self.mail.transport == MailTransportKind::Smtp {
            check(!self.mail.smtp.host.is_empty(), "mail.smtp.host", "must be set for the smtp transport");
        }

        check(self.store.order_url.contains("{id}"), "store.order_url", "must contain the placeholder {id}");
        check(self.orders.max_unpaid >= 1, "orders.max_unpaid", "must be at least 1");
        check(self.orders.payment_timeout.as_secs() >= 60, "orders.payment_timeout", "must be at least 1m");
        for (i, provider) in self.payments.providers.iter().enumerate() {
            // That the plugin is a payment gateway is checked once it has loaded.
            check(
                self.plugins.contains_key(provider),
                &format!("payments.providers[{i}]"),
                &format!(
                    "`{provider}` has no [plugins.{provider}] table (a payment-gateway plugin, e.g. plugins/manual)"
                ),
            );
            check(
                !self.payments.providers[..i].contains(provider),
                &format!("payments.providers[{i}]"),
                &format!("`{provider}` is listed twice"),
            );
        }
        let country = &self.store.origin_country;
        check(
            country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()),
            "store.origin_country",
            "must be an ISO 3166-1 alpha-2 code such as IN or DE",
        );
        if let Some(region) = &self.store.origin_region {
            check(!region.trim().is_empty(), "store.origin_region", "must not be empty (leave it out instead)");
        }

        check(self.jobs.poll_interval.as_millis() >= 10, "jobs.poll_interval", "must be at least 10ms");
        check(self.jobs.lease.as_secs() >= 1, "jobs.lease", "must be at least 1s");
        check(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level",
            "is not a level or filter such as `info` or `info,sqlx=warn`",
        );
        self.validate_plugins(&mut problems);
        problems
    }

    /// `[plugin_runtime]`, `[plugins.*]` and `[pricing]`: what can be checked without loading a
    /// module (the loader checks the modules themselves and names the plugin).
    fn validate_plugins(&self, problems: &mut Vec<String>) {
        let runtime = &self.plugin_runtime;
        if runtime.max_instances < 1 {
            problems.push("`plugin_runtime.max_instances`: must be at least 1".to_owned());
        }
        if !(1..=4096).contains(&runtime.max_memory_mib) {
            problems.push("`plugin_runtime.max_memory_mib`: must be 1–4096".to_owned());
        }
        for (name, plugin) in &self.plugins {
            let key = |field: &str| format!("plugins.{name}.{field}");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                problems.push(format!(
                    "`plugins.{name}`: a plugin name may hold only a-z, 0-9 and _ (so that \
                     COMMERCE_PLUGINS__<NAME>__… environment overrides can reach it)"
                ));
            }
            let mut check = |ok: bool, field: &str, message: &str| {
                if !ok {
                    problems.push(format!("`{}`: {message}", key(field)));
                }
            };
            check(!plugin.module.as_os_str().is_empty(), "module", "must name a .wasm file");
            if let Some(pin) = &plugin.sha256 {
                check(
                    pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit()),
                    "sha256",
                    "must be 64 hexadecimal digits (the output of `sha256sum`)",
                );
            }
            let limits = plugin.limits;
            check((1..=60_000).contains(&limits.timeout_ms), "limits.timeout_ms", "must be 1–60000");
            check(
                (1..=runtime.max_memory_mib).contains(&limits.memory_mib),
                "limits.memory_mib",
                &format!("must be 1–{} (plugin_runtime.max_memory_mib)", runtime.max_memory_mib),
            );
            check(limits.fuel != Some(0), "limits.fuel", "must be above 0 (leave it out for no fuel limit)");
            for host in &plugin.allowed_hosts {
                let ok = !host.is_empty()
                    && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && !host.starts_with('.');
                check(ok, "allowed_hosts", &format!("`{host}` is not a host name such as api.razorpay.com"));
            }
            let http = plugin.http;
            let within_a_minute = |d: Duration| d >= Duration::from_millis(1) && d <= Duration::from_secs(60);
            check(within_a_minute(http.connect_timeout), "http.connect_timeout", "must be 1ms–60s");
            check(within_a_minute(http.timeout), "http.timeout", "must be 1ms–60s");
            check(
                (1..=16 << 20).contains(&http.max_response_bytes),
                "http.max_response_bytes",
                "must be 1–16777216 (16 MiB)",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in &self.pricing.chain {
            if !self.plugins.contains_key(name) {
                problems.push(format!("`pricing.chain`: `{name}` is not a configured plugin (no [plugins.{name}])"));
            }
            if !seen.insert(name) {
                problems.push(format!("`pricing.chain`: `{name}` is listed twice"));
            }
        }
    }
}
