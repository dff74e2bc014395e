-- The one rule for when a hint asks its provider about an order: now, but never sooner than
-- 10 seconds after the provider last answered about it (p_last_answer; null: never asked), so a
-- flood of hints for one order costs the provider at most one query per 10 seconds.
CREATE OR REPLACE FUNCTION hint_query_due(p_last_answer timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT greatest(now(), p_last_answer + interval '10 seconds')
$$;
