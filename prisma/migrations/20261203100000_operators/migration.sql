-- Who did what through the ops API: one row per action (allowed or refused) and per sign-in,
-- written in the same transaction as the action's own change. Append-only: the service only
-- inserts, and a trigger (prisma/functions/audit_log_append_only.sql) refuses UPDATE and DELETE.
CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  action     text NOT NULL,
  target     text,
  status     integer NOT NULL,
  details    jsonb NOT NULL DEFAULT '{}'::jsonb,
  request_id text,
  ip         text
);
-- GET /ops/audit lists newest first (id DESC) by actor or by action.
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor, id DESC);
CREATE INDEX audit_log_action_id_idx ON audit_log (action, id DESC);

-- Console sessions from single sign-on: only the SHA-256 of the session token is kept.
CREATE TABLE ops_sessions (
  token_hash bytea PRIMARY KEY,
  email      text NOT NULL,
  scope      text NOT NULL CHECK (scope IN ('read', 'operate')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);

-- Sign-ins under way: what the callback needs to finish the one started with this state (the
-- PKCE verifier and the nonce), kept server-side so the console needs no cookie. Used once.
CREATE TABLE sso_logins (
  state_hash    bytea PRIMARY KEY,
  code_verifier text NOT NULL,
  nonce         text NOT NULL,
  expires_at    timestamptz NOT NULL
);
