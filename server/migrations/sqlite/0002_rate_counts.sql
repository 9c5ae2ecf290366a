-- Rate limits count events per bucket and second instead of storing one row per event, so a
-- count costs the same however many events a flood brings (see store/limits.rs).
CREATE TABLE rate_counts (
    bucket TEXT NOT NULL,
    at INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (bucket, at, shard)
) WITHOUT ROWID;
INSERT INTO rate_counts (bucket, at, shard, n)
    SELECT bucket, at, 0, COUNT(*) FROM rate_events GROUP BY bucket, at;
DROP TABLE rate_events;
