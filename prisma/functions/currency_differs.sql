-- The one rule for "in another currency": both known and not the same code, whatever the case a
-- provider or an operator wrote it in. An unknown currency differs from none.
CREATE OR REPLACE FUNCTION currency_differs(p_a text, p_b text)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_a IS NOT NULL AND p_b IS NOT NULL AND upper(p_a) <> upper(p_b)
$$;
