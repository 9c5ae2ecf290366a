-- The keyed hash of the identifier a decoy code was issued for (NULL on a real account's code),
-- and an index of the live decoy codes by it. A decoy's next code then finds the live one to
-- kill by index, as a real account's does through reset_codes_one_live_per_user, instead of
-- walking every flow the identifier was ever sent: in hidden mode the two take the same time
-- however many codes an identifier was sent (OWASP Forgot Password Cheat Sheet: consistent
-- response times for existent and non-existent accounts). Not unique: two decoys for one
-- identifier may be issued at once, and both living is harmless (nobody knows either code).
ALTER TABLE reset_codes ADD COLUMN ident_key TEXT;
UPDATE reset_codes SET ident_key = (SELECT f.ident_key FROM reset_flows f WHERE f.id = reset_codes.flow_id)
WHERE user_id IS NULL AND consumed_at IS NULL AND revoked_at IS NULL;
CREATE INDEX reset_codes_live_decoy ON reset_codes(ident_key)
  WHERE user_id IS NULL AND consumed_at IS NULL AND revoked_at IS NULL;
