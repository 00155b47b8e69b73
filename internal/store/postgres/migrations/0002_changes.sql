-- 0002_changes: the change feed replaces the generation counter.
--
-- The generation row becomes the feed's counter: change_seq.value is the Seq
-- of the newest write that recorded changes. Each recording write updates it
-- as its last statement and holds the row lock until commit, so Seqs become
-- visible in order. An upgraded database keeps its generation as the
-- counter, so new Seqs continue above it; the Seqs up to it have no rows and
-- read as pruned.
--
-- changes holds one row per change, keyed by the write's Seq and the change's
-- position (idx) in that write; the key is the index tailers and pruning scan.

ALTER TABLE generation RENAME TO change_seq;

CREATE TABLE changes (
	seq        BIGINT NOT NULL,
	idx        INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	account    TEXT NOT NULL,
	key        TEXT NOT NULL,
	name       TEXT NOT NULL,
	changed_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (seq, idx)
);
