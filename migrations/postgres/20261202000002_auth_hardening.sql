-- Secrets the engine makes for itself. Today only `jwt_secret`: in development, when the
-- configuration sets none, a random one is generated once and inserted here (ON CONFLICT DO
-- NOTHING, then read back, so instances starting together agree on one value). Production never
-- reads this table: it refuses to start without a configured secret.
CREATE TABLE engine_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Login back-off: after too many failures an account's next attempt is allowed only from this
-- time (Unix ms). Claimed with a conditional UPDATE, so concurrent attempts cannot all pass.
-- Rows are also used for the other throttles (registrations, resets), which leave it at 0.
ALTER TABLE login_throttle ADD COLUMN blocked_until BIGINT NOT NULL DEFAULT 0;

-- Password-reset requests, queued as they come for existing and unknown emails alike, so the
-- request does the same work either way; the `accounts.password_resets` job looks the email
-- up and mails a link only to an active account.
CREATE TABLE password_reset_requests (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    requested_at BIGINT NOT NULL
);
CREATE INDEX password_reset_requests_time ON password_reset_requests (requested_at);
