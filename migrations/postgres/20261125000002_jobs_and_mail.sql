-- Background jobs and the mail outbox.

-- One row per named job. An instance runs a job only after claiming this row with a lease
-- through a conditional UPDATE, so two instances never run the same job at the same time.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY,
    next_run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_started_at BIGINT,
    last_finished_at BIGINT,
    last_error TEXT,
    runs BIGINT NOT NULL DEFAULT 0
);

-- Durable outbox: a message is written in the same transaction as the change that causes it,
-- then delivered by the `mail` job. Each message is claimed with its own lease, so a crash
-- mid-send means a retry, never a loss. A delivered message's body (it may hold a reset link)
-- is purged; a message that keeps failing is parked as `failed` with its body kept.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
