-- The one way an order enters the reconciliation schedule (a new PENDING order, a registration, a
-- PENDING order found outside the schedule). The schedule's other writers are a hint asking about
-- its order (ingest_notification) and an operator asking now (leaseQuery), neither an order entering.
-- A row left behind while only hints named the order (waiting for a hint, or abandoned as unknown
-- at the provider) is taken over: the order is known now and is asked on its schedule. p_due_at
-- null (an order that needs no query): the leftover only stops holding its later hints back.
CREATE OR REPLACE FUNCTION enter_schedule(p_kind text, p_order_ref text, p_provider text, p_due_at timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_due_at IS NULL THEN
    UPDATE provider_queries SET abandoned_at = NULL, unknown_answers = 0 WHERE kind = p_kind AND order_ref = p_order_ref;
    RETURN;
  END IF;
  INSERT INTO provider_queries AS q (kind, order_ref, provider, due_at)
  VALUES (p_kind, p_order_ref, p_provider, p_due_at)
  ON CONFLICT ON CONSTRAINT provider_queries_pkey DO UPDATE SET
    due_at = least(q.due_at, EXCLUDED.due_at), unknown_answers = 0, abandoned_at = NULL;
END;
$$;
