-- The one rule for amountMismatch on an order with an expected amount: any report of a SUCCESS
-- order whose readable amount differs; and a SUCCESS report with no readable amount, or in another
-- currency than the order's. What cannot be checked is not taken as matching.
DROP FUNCTION IF EXISTS amount_mismatch(bigint, bigint, text, text);

CREATE OR REPLACE FUNCTION amount_mismatch(
  p_expected bigint, p_reported bigint, p_order_currency text, p_reported_currency text, p_success_report boolean
) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_expected IS NOT NULL AND (
    (p_reported IS NOT NULL AND p_reported <> p_expected)
    OR (p_success_report AND (
      p_reported IS NULL
      OR currency_differs(p_reported_currency, p_order_currency))))
$$;
