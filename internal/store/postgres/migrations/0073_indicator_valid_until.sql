-- When the feeds say an indicator stops being valid (a STIX indicator's
-- valid_until), Unix microseconds; NULL when they give no end.
ALTER TABLE indicators ADD COLUMN valid_until BIGINT;
CREATE INDEX indicators_valid_until ON indicators (valid_until);
