-- The flows of a user, found by index: a password change ends them all (end_user_flows), and
-- deleting a user cascades to them; without it both scanned every flow ever kept.
CREATE INDEX reset_flows_user ON reset_flows(user_id);
