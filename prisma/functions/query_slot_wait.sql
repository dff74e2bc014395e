-- The one rule for how long an order waits for its next query: RECONCILE_SCHEDULE's slot after
-- the p_slot slots it used up, the last slot's wait once past it.
CREATE OR REPLACE FUNCTION query_slot_wait(p_schedule_ms bigint[], p_slot integer)
RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_schedule_ms[least(p_slot + 1, cardinality(p_schedule_ms))] * interval '1 millisecond'
$$;
