-- The portal's schema (SQLite). Times are Unix seconds (UTC); flags are 0/1 integers so the same
-- queries read both backends.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    policy_kind TEXT NOT NULL DEFAULT 'modern',
    min_length INTEGER NOT NULL DEFAULT 15,
    max_length INTEGER NOT NULL DEFAULT 64,
    history_depth INTEGER NOT NULL DEFAULT 5,
    created_at INTEGER NOT NULL
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, name)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    phone TEXT UNIQUE,
    role TEXT NOT NULL,
    custom_role_id INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    sign_in_method TEXT NOT NULL DEFAULT 'password',
    status TEXT NOT NULL DEFAULT 'active',
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Stockholm',
    lang TEXT NOT NULL DEFAULT 'en',
    failed_signins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    reset_blocked_until INTEGER,
    last_sign_in_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_account ON users(account_id);

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    host_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL
);
CREATE INDEX meetings_host ON meetings(host_user_id, starts_at);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    account_id INTEGER,
    kind TEXT NOT NULL,
    actor_user_id INTEGER,
    target_user_id INTEGER,
    ip TEXT,
    user_agent TEXT,
    detail TEXT
);
CREATE INDEX audit_account ON audit_events(account_id, id);

-- One browser's pass through the reset flow. user_id is NULL for the decoy flows answered to
-- unknown identifiers when account existence is hidden.
CREATE TABLE reset_flows (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    lang TEXT NOT NULL,
    step TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    resend_count INTEGER NOT NULL DEFAULT 0,
    next_resend_at INTEGER NOT NULL,
    grant_expires_at INTEGER,
    completed_at INTEGER
);

CREATE TABLE reset_codes (
    id INTEGER PRIMARY KEY,
    flow_id INTEGER NOT NULL REFERENCES reset_flows(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    link_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX reset_codes_flow ON reset_codes(flow_id, id);
CREATE INDEX reset_codes_user ON reset_codes(user_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    account_id INTEGER,
    user_id INTEGER,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until INTEGER,
    sent_at INTEGER,
    failed_at INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, failed_at, next_attempt_at);

-- Sliding-window counters for rate limits, shared by every server instance.
CREATE TABLE rate_events (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX rate_events_bucket ON rate_events(bucket, at);
