-- The one way an order enters the reconciliation schedule (a new PENDING order, a registration):
-- a row left behind for it as an abandoned hint-only order is replaced, since the order is now
-- known. p_due_at null: only that (an order that needs no query).
CREATE OR REPLACE FUNCTION enter_schedule(p_kind text, p_order_ref text, p_provider text, p_due_at timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM provider_queries WHERE kind = p_kind AND order_ref = p_order_ref AND abandoned_at IS NOT NULL;
  IF p_due_at IS NOT NULL THEN
    INSERT INTO provider_queries (kind, order_ref, provider, due_at)
    VALUES (p_kind, p_order_ref, p_provider, p_due_at)
    ON CONFLICT ON CONSTRAINT provider_queries_pkey DO NOTHING;
  END IF;
END;
$$;
