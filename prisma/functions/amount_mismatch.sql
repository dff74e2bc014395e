-- The one rule for amountMismatch: an order with an expected amount is a mismatch when a report
-- says SUCCESS with another amount, with no readable amount, or in another currency than the
-- order's. What cannot be checked is not taken as matching.
CREATE OR REPLACE FUNCTION amount_mismatch(
  p_expected bigint, p_reported bigint, p_order_currency text, p_reported_currency text
) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_expected IS NOT NULL AND (
    p_reported IS NULL
    OR p_reported <> p_expected
    OR (p_reported_currency IS NOT NULL AND p_order_currency IS NOT NULL AND upper(p_reported_currency) <> upper(p_order_currency)))
$$;
