-- The one rule for settling an order's unverified hints once its provider answered (p_answered_state
-- the answer's normalised state; null: the provider does not know the order): a hint agreeing with
-- the answer is 'accepted', one contradicting it 'rejected' (CONTRADICTED_BY_PROVIDER), every one
-- 'rejected' (NOT_FOUND_AT_PROVIDER) when there is no order. Only hints last received by p_asked_at
-- (when the provider was asked; null: all) are settled: a later one may say something newer.
-- The order, if any, records that its provider answered.
CREATE OR REPLACE FUNCTION settle_hints(p_kind text, p_order_ref text, p_answered_state text, p_asked_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_settled integer;
BEGIN
  UPDATE orders SET last_queried_at = now() WHERE kind = p_kind AND order_ref = p_order_ref;
  UPDATE notifications SET
    status = CASE WHEN state = p_answered_state THEN 'accepted' ELSE 'rejected' END,
    reason = CASE
      WHEN p_answered_state IS NULL THEN 'NOT_FOUND_AT_PROVIDER'
      WHEN state = p_answered_state THEN NULL
      ELSE 'CONTRADICTED_BY_PROVIDER' END
  WHERE kind = p_kind AND order_ref = p_order_ref AND status = 'unverified'
    AND (p_asked_at IS NULL OR last_received_at <= p_asked_at);
  GET DIAGNOSTICS v_settled = ROW_COUNT;
  RETURN v_settled;
END;
$$;
