-- Exactly-once share delivery (issue 15 item 4, docs/protocol.md "Share delivery"). At most one
-- GetShares stream of a batch runs at a time: it holds the batch's stream lease (a random token,
-- valid until shares_stream_until, unix seconds; renewed while it sends). shares_sent_through is
-- the number of leading elements some stream of the batch has written: a stream may resume only
-- at or before it, so "delivered" (shares_completed_at, set once by a conditional UPDATE after
-- the last element was written) always means every element was sent.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS shares_stream_token VARCHAR(64);
ALTER TABLE batches ADD COLUMN IF NOT EXISTS shares_stream_until BIGINT;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS shares_sent_through BIGINT NOT NULL DEFAULT 0;
