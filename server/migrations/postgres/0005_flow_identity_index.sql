-- A decoy's new code kills the earlier decoy codes of the same identifier. Without this index
-- that look-up walked every decoy code and flow ever kept, so in hidden mode an unknown
-- identifier's answer grew slower with every decoy issued (a timing difference from a real
-- account's, measured by script/bench row 8), and the work grew without bound between prunes.
CREATE INDEX reset_flows_ident_key ON reset_flows(ident_key);
