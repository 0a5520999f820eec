-- no-transaction
-- Roles: `admin` joins `customer` and `staff` (an admin is staff who may also change roles and
-- deactivate staff), and the oldest staff account of an existing shop becomes its admin, so a
-- shop upgraded from staff-only roles keeps someone who can manage staff.
--
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (SQLite's documented 12-step
-- procedure). Foreign keys must be off while `users` is dropped and its copy renamed into
-- place, or the drop would fail on the sessions, resets and addresses that reference it; that
-- pragma does nothing inside a transaction, hence `no-transaction` above and an explicit
-- transaction below. Rerunning it after a crash before sqlx records it is harmless.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_new (
    id TEXT PRIMARY KEY,
    -- NFKC-normalised and lower-cased by the engine, so a plain unique index finds duplicates.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('customer', 'staff', 'admin')),
    active INTEGER NOT NULL DEFAULT 1,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    phone TEXT,
    -- Access tokens issued before this second are refused (password change or reset).
    tokens_valid_after INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO users_new (id, email, password_hash, role, active, first_name, last_name, phone, tokens_valid_after,
                       created_at, updated_at)
SELECT id, email, password_hash, role, active, first_name, last_name, phone, tokens_valid_after, created_at, updated_at
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
-- Staff listing of customers.
CREATE INDEX users_role_id ON users (role, id);

UPDATE users SET role = 'admin'
WHERE id = (SELECT id FROM users WHERE role = 'staff' ORDER BY created_at, id LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin');

COMMIT;
PRAGMA foreign_keys = ON;
