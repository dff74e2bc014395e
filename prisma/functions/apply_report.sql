-- Applies what a provider reported about one order (a notification or a query answer) through
-- the one state rule (order_transition), under the order's row lock: creates or moves the order,
-- flags conflicts and amount mismatches, and for each real state change writes one event and its
-- deliveries. A PENDING order that can be queried enters the reconciliation schedule. A report never
-- overwrites the order's currency, a REFUNDED report keeps the settled amounts, and amounts in
-- another currency than the order's are not taken (amount_mismatch flags them).
CREATE OR REPLACE FUNCTION apply_report(
  p_provider text, p_kind text, p_order_ref text, p_source text,
  p_raw_state text, p_state text, p_amount bigint, p_paid_amount bigint, p_currency text, p_trx_date text,
  p_error_code text, p_error_message text,
  p_destinations text[], p_first_query_after interval
) RETURNS TABLE (outcome text, event_id text)
LANGUAGE plpgsql AS $$
DECLARE
  v_order orders%ROWTYPE;
  v_previous text;
  v_transition text;
  v_counted integer := CASE WHEN p_source = 'notification' THEN 1 ELSE 0 END;
  v_reported bigint := coalesce(p_paid_amount, p_amount);
  v_event_id bigint;
  v_public_id text;
  v_type text := p_provider || '.' || p_kind || '.state_changed';
  v_other_currency boolean;
BEGIN
  INSERT INTO orders (provider, kind, order_ref, state, raw_state, amount, paid_amount, currency, trx_date,
                      error_code, error_message, notification_count)
  VALUES (p_provider, p_kind, p_order_ref, p_state, p_raw_state, p_amount, p_paid_amount, p_currency, p_trx_date,
          p_error_code, p_error_message, v_counted)
  ON CONFLICT ON CONSTRAINT orders_kind_order_ref_key DO NOTHING
  RETURNING * INTO v_order;

  IF FOUND THEN
    v_transition := 'created';
  ELSE
    SELECT * INTO v_order FROM orders WHERE kind = p_kind AND order_ref = p_order_ref FOR UPDATE;
    v_previous := v_order.state;
    v_transition := order_transition(v_order.state, p_state);
    v_other_currency := currency_differs(p_currency, v_order.currency);
    IF v_transition = 'changed' THEN
      UPDATE orders SET
        state = p_state, raw_state = p_raw_state,
        amount = CASE WHEN v_other_currency THEN amount WHEN p_state = 'REFUNDED' THEN coalesce(amount, p_amount) ELSE coalesce(p_amount, amount) END,
        paid_amount = CASE WHEN v_other_currency THEN paid_amount WHEN p_state = 'REFUNDED' THEN coalesce(paid_amount, p_paid_amount) ELSE coalesce(p_paid_amount, paid_amount) END,
        currency = coalesce(currency, p_currency), trx_date = coalesce(p_trx_date, trx_date),
        error_code = coalesce(p_error_code, error_code), error_message = coalesce(p_error_message, error_message),
        amount_mismatch = amount_mismatch OR (p_state = 'SUCCESS' AND amount_mismatch(expected_amount, v_reported, currency, p_currency, true)),
        stale = false, query_slot = 0,
        notification_count = notification_count + v_counted, updated_at = now()
      WHERE id = v_order.id
      RETURNING * INTO v_order;
    ELSE
      UPDATE orders SET
        conflict = conflict OR v_transition = 'conflict',
        -- an amount in another currency is not comparable: only the currency rule can flag it
        amount_mismatch = amount_mismatch OR (state = 'SUCCESS' AND amount_mismatch(
          expected_amount, CASE WHEN v_other_currency THEN NULL ELSE v_reported END, currency, p_currency, p_state = 'SUCCESS')),
        notification_count = notification_count + v_counted,
        updated_at = CASE WHEN v_counted = 1 OR v_transition = 'conflict' THEN now() ELSE updated_at END
      WHERE id = v_order.id;
    END IF;
  END IF;

  IF v_transition NOT IN ('created', 'changed') THEN
    RETURN QUERY SELECT v_transition, NULL::text;
    RETURN;
  END IF;

  IF v_transition = 'created' THEN
    PERFORM enter_schedule(p_kind, p_order_ref, p_provider,
      CASE WHEN v_order.state = 'PENDING' THEN now() + p_first_query_after END);
  END IF;

  v_public_id := 'evt_' || replace(gen_random_uuid()::text, '-', '');
  INSERT INTO events (public_id, order_id, type, body)
  VALUES (
    v_public_id, v_order.id, v_type,
    json_build_object(
      'type', v_type,
      'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', json_build_object(
        'provider', p_provider, 'kind', p_kind, 'orderRef', p_order_ref, 'source', p_source,
        'state', v_order.state, 'previousState', v_previous, 'rawState', v_order.raw_state,
        'amount', v_order.amount, 'paidAmount', v_order.paid_amount, 'expectedAmount', v_order.expected_amount,
        'currency', v_order.currency, 'trxDate', v_order.trx_date,
        'errorCode', v_order.error_code, 'errorMessage', v_order.error_message
      )
    )::text
  )
  RETURNING id INTO v_event_id;

  IF cardinality(p_destinations) > 0 THEN
    INSERT INTO deliveries (event_id, order_id, url)
    SELECT v_event_id, v_order.id, destination FROM unnest(p_destinations) AS destination;
  END IF;

  RETURN QUERY SELECT v_transition, v_public_id;
END;
$$;
