-- An outbox message's content (subject and bodies, which carry live codes and links) is kept
-- only sealed, in `payload` (base64 of nonce, XChaCha20-Poly1305 ciphertext and tag, see
-- store/outbox.rs), and erased once the message is sent or given up. The plaintext columns stay
-- for the messages queued before this migration, which are sent as they are and then erased.
ALTER TABLE outbox ADD COLUMN payload TEXT;
-- Rows already sent kept their subject ("Your password reset code: …"): erase it.
UPDATE outbox SET subject = '', body_text = '', body_html = ''
    WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;
