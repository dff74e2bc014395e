-- ingest_notification() no longer calls pg_notify(). A NOTIFY makes its transaction take a
-- cluster-wide lock at commit and hold it through the WAL flush, so every notifying commit waits
-- for the previous one's fsync: concurrent ingests could not share a flush (group commit), and
-- throughput was bounded by one fsync per notification. The service now wakes the forwarders
-- itself, after commit and coalesced (src/store/outbox.ts, wakeForwarders). Otherwise unchanged.
CREATE OR REPLACE FUNCTION ingest_notification(
  p_kind text, p_order_ref text, p_dedup_key text, p_msg_id text,
  p_raw_state text, p_state text, p_amount bigint, p_currency text, p_trx_date text,
  p_error_code text, p_error_message text,
  p_request jsonb, p_signed_text text, p_signature text, p_forward_urls text[]
) RETURNS TABLE (outcome text, event_id text)
LANGUAGE plpgsql AS $$
DECLARE
  v_new_notification boolean;
  v_order orders%ROWTYPE;
  v_previous text;
  v_transition text;
  v_event_id bigint;
  v_public_id text;
BEGIN
  INSERT INTO notifications AS n (kind, order_ref, dedup_key, msg_id, status, raw_state, request, signed_text, signature)
  VALUES (p_kind, p_order_ref, p_dedup_key, p_msg_id, 'accepted', p_raw_state, p_request, p_signed_text, p_signature)
  ON CONFLICT (kind, order_ref, dedup_key) WHERE status = 'accepted'
  DO UPDATE SET delivery_count = n.delivery_count + 1, last_received_at = now()
  RETURNING (n.xmax = 0) INTO v_new_notification;

  IF NOT v_new_notification THEN
    RETURN QUERY SELECT 'duplicate'::text, NULL::text;
    RETURN;
  END IF;

  INSERT INTO orders (kind, order_ref, state, raw_state, amount, currency, trx_date, error_code, error_message)
  VALUES (p_kind, p_order_ref, p_state, p_raw_state, p_amount, p_currency, p_trx_date, p_error_code, p_error_message)
  ON CONFLICT ON CONSTRAINT orders_kind_order_ref_key DO NOTHING
  RETURNING * INTO v_order;

  IF FOUND THEN
    v_transition := 'created';
  ELSE
    SELECT * INTO v_order FROM orders WHERE kind = p_kind AND order_ref = p_order_ref FOR UPDATE;
    v_previous := v_order.state;
    v_transition := CASE
      WHEN v_order.state = p_state THEN 'unchanged'
      WHEN v_order.state <> 'PENDING' AND p_state <> 'PENDING' THEN 'conflict'
      WHEN v_order.state <> 'PENDING' THEN 'unchanged'
      ELSE 'changed'
    END;
    IF v_transition = 'changed' THEN
      UPDATE orders SET
        state = p_state, raw_state = p_raw_state,
        amount = coalesce(p_amount, amount), currency = coalesce(p_currency, currency),
        trx_date = coalesce(p_trx_date, trx_date),
        error_code = coalesce(p_error_code, error_code), error_message = coalesce(p_error_message, error_message),
        notification_count = notification_count + 1, updated_at = now()
      WHERE id = v_order.id
      RETURNING * INTO v_order;
    ELSE
      UPDATE orders SET
        conflict = conflict OR v_transition = 'conflict',
        notification_count = notification_count + 1, updated_at = now()
      WHERE id = v_order.id;
    END IF;
  END IF;

  IF v_transition NOT IN ('created', 'changed') THEN
    RETURN QUERY SELECT v_transition, NULL::text;
    RETURN;
  END IF;

  v_public_id := 'evt_' || replace(gen_random_uuid()::text, '-', '');
  INSERT INTO events (public_id, order_id, type, body)
  VALUES (
    v_public_id, v_order.id, 'starpay.' || p_kind || '.state_changed',
    json_build_object(
      'type', 'starpay.' || p_kind || '.state_changed',
      'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', json_build_object(
        'kind', p_kind, 'orderRef', p_order_ref, 'state', v_order.state, 'previousState', v_previous,
        'rawState', v_order.raw_state, 'amount', v_order.amount, 'currency', v_order.currency,
        'trxDate', v_order.trx_date, 'errorCode', v_order.error_code, 'errorMessage', v_order.error_message
      )
    )::text
  )
  RETURNING id INTO v_event_id;

  IF cardinality(p_forward_urls) > 0 THEN
    INSERT INTO deliveries (event_id, order_id, url)
    SELECT v_event_id, v_order.id, url FROM unnest(p_forward_urls) AS url;
  END IF;

  RETURN QUERY SELECT v_transition, v_public_id;
END;
$$;
