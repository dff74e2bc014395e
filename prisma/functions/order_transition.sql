-- The order state rule, the only copy: what an incoming state does to an order in state p_current
-- (NULL: no order yet). Notifications and query answers alike go through it (apply_report).
--   none                                   -> created
--   same state                             -> unchanged
--   PENDING -> SUCCESS | FAILED | REFUNDED -> changed
--   SUCCESS -> REFUNDED                    -> changed
--   final   -> PENDING                     -> unchanged (a late interim state)
--   REFUNDED -> SUCCESS                    -> unchanged (a late resend of the payment)
--   SUCCESS <-> FAILED, FAILED <-> REFUNDED -> conflict (stored, flagged, no event)
CREATE OR REPLACE FUNCTION order_transition(p_current text, p_incoming text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_current IS NULL THEN 'created'
    WHEN p_current = p_incoming THEN 'unchanged'
    WHEN p_current = 'PENDING' THEN 'changed'
    WHEN p_incoming = 'PENDING' THEN 'unchanged'
    WHEN p_current = 'SUCCESS' AND p_incoming = 'REFUNDED' THEN 'changed'
    WHEN p_current = 'REFUNDED' AND p_incoming = 'SUCCESS' THEN 'unchanged'
    ELSE 'conflict'
  END
$$;
