-- Tracing: an event keeps the W3C traceparent of the request (or provider query) that caused it,
-- so its delivery attempts, in any replica and minutes later, continue that trace. The writers
-- set it for their transaction (set_config('receiver.trace_parent', …, true)) only when tracing is
-- on; every other event gets NULL, and its attempts start traces of their own.
-- Added without a default, then given one: a volatile default in ADD COLUMN would rewrite every
-- existing event under an exclusive lock; this way the rows already there just read NULL.
ALTER TABLE events ADD COLUMN trace_parent text;
ALTER TABLE events ALTER COLUMN trace_parent SET DEFAULT NULLIF(current_setting('receiver.trace_parent', true), '');

-- ingest_notifications() takes each row's traceparent (prisma/functions/ingest_notifications.sql).
DROP FUNCTION IF EXISTS ingest_notifications(
  text[], text[], text[], text[], text[], text[], text[], text[], bigint[], bigint[], text[], text[], text[], text[],
  jsonb[], text[], text[], jsonb, double precision[]);
