-- Destination health, shared by every replica: pause, and the circuit breaker's consecutive
-- failures. A row per destination ever configured, keyed by the name its deliveries carry (the
-- redacted URL); `id` is the ops API's dst_ + 12 hex of SHA-256 of that name. A destination with
-- no row yet is healthy and not paused.
CREATE TABLE destinations (
  url                  text        PRIMARY KEY,
  id                   text        NOT NULL,
  paused               boolean     NOT NULL DEFAULT false,
  consecutive_failures integer     NOT NULL DEFAULT 0,
  -- Set while the breaker is open; the next probe is due at next_probe_at.
  opened_at            timestamptz,
  next_probe_at        timestamptz,
  last_success_at      timestamptz,
  last_failure_at      timestamptz,
  CONSTRAINT destinations_id_key UNIQUE (id)
);

-- Bulk retry walks a destination's dead deliveries in id order, a batch at a time.
CREATE INDEX deliveries_dead_url_id_idx ON deliveries (url, id) WHERE status = 'dead';

-- The claim takes one destination's due deliveries in (next_attempt_at, id) order. With the due
-- index on next_attempt_at alone, a backlog of 10,000 due deliveries made the planner hash every
-- pending row against the ordering check and sort them all, 126 ms per claim of 64; with the
-- destination and the full order in the index, the claim walks the first rows and stops.
DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_due_idx ON deliveries (url, next_attempt_at, id) WHERE status = 'pending';
