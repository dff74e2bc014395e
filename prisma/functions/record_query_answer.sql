-- Applies a provider's answer to a query about one order, in one transaction: the answer is kept
-- as a notification with source 'query' (an answer identical to one already kept is only counted:
-- outcome 'unchanged'), moves the order through apply_report like a notification, and settles the
-- order's unverified hints: 'accepted' when the answer agrees with the hint's state, else
-- 'rejected' (CONTRADICTED_BY_PROVIDER). Only hints last received by p_asked_at (when the provider
-- was asked; null: all) are settled: one that arrived while the question was on its way may say
-- something newer than the answer (paid meanwhile), so it stays unverified and is asked about again.
-- p_trace_parent: the query's W3C traceparent, stored with the event (events.trace_parent) the
-- same way ingest_notifications() stores a request's; NULL when tracing is off.
DROP FUNCTION IF EXISTS record_query_answer(
  text, text, text, text, text, text, text, bigint, bigint, text, text, text, text, jsonb, text[], interval);
DROP FUNCTION IF EXISTS record_query_answer(
  text, text, text, text, text, text, text, bigint, bigint, text, text, text, text, jsonb, text[], interval, timestamptz, text);

CREATE OR REPLACE FUNCTION record_query_answer(
  p_provider text, p_kind text, p_order_ref text, p_answer_key text, p_msg_id text,
  p_raw_state text, p_state text, p_amount bigint, p_paid_amount bigint, p_currency text, p_trx_date text,
  p_error_code text, p_error_message text,
  p_response jsonb, p_destinations text[], p_first_query_after interval, p_asked_at timestamptz, p_trace_parent text
) RETURNS TABLE (outcome text, event_id text)
LANGUAGE plpgsql AS $$
DECLARE
  v_new boolean;
  v_outcome text := 'unchanged';
  v_event_id text;
BEGIN
  INSERT INTO notifications AS n (provider, kind, order_ref, dedup_key, msg_id, status, source, raw_state, state, request)
  VALUES (p_provider, p_kind, p_order_ref, p_answer_key, p_msg_id, 'accepted', 'query', p_raw_state, p_state, p_response)
  ON CONFLICT (kind, order_ref, dedup_key) WHERE dedup_key NOT LIKE 'body:%'
  DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now()
  RETURNING (n.xmax = 0) INTO v_new;

  IF v_new THEN
    IF p_trace_parent IS NOT NULL THEN
      PERFORM set_config('receiver.trace_parent', p_trace_parent, true);
    END IF;
    SELECT r.outcome, r.event_id INTO v_outcome, v_event_id FROM apply_report(
      p_provider, p_kind, p_order_ref, 'query', p_raw_state, p_state, p_amount, p_paid_amount, p_currency,
      p_trx_date, p_error_code, p_error_message, p_destinations, p_first_query_after) AS r;
  END IF;

  PERFORM settle_hints(p_kind, p_order_ref, p_state, p_asked_at);

  RETURN QUERY SELECT v_outcome, v_event_id;
END;
$$;

-- The previous version's signature, for a replica of it still running during a rolling deploy: no
-- trace context. A separate function, not a parameter default, so that the previous version
-- re-applying its own file (a rollback) replaces only this one and never makes a call ambiguous.
CREATE OR REPLACE FUNCTION record_query_answer(
  p_provider text, p_kind text, p_order_ref text, p_answer_key text, p_msg_id text,
  p_raw_state text, p_state text, p_amount bigint, p_paid_amount bigint, p_currency text, p_trx_date text,
  p_error_code text, p_error_message text,
  p_response jsonb, p_destinations text[], p_first_query_after interval, p_asked_at timestamptz
) RETURNS TABLE (outcome text, event_id text)
LANGUAGE sql AS $$
  SELECT * FROM record_query_answer(
    p_provider, p_kind, p_order_ref, p_answer_key, p_msg_id, p_raw_state, p_state, p_amount, p_paid_amount,
    p_currency, p_trx_date, p_error_code, p_error_message, p_response, p_destinations, p_first_query_after,
    p_asked_at, NULL::text)
$$;
