-- The keyed hash of the identifier a flow was started with (email or E.164 number), so resends
-- and the guessing block count a decoy flow exactly like a real one in hidden mode.
ALTER TABLE reset_flows ADD COLUMN ident_key TEXT;

-- One live code per user, as a constraint and not only as the rule replace_code follows: any
-- earlier duplicate left by a race is revoked first.
UPDATE reset_codes SET revoked_at = created_at
WHERE consumed_at IS NULL AND revoked_at IS NULL AND user_id IS NOT NULL
  AND id NOT IN (
    SELECT MAX(id) FROM reset_codes
    WHERE consumed_at IS NULL AND revoked_at IS NULL AND user_id IS NOT NULL
    GROUP BY user_id
  );
CREATE UNIQUE INDEX reset_codes_one_live_per_user ON reset_codes(user_id)
  WHERE consumed_at IS NULL AND revoked_at IS NULL AND user_id IS NOT NULL;
