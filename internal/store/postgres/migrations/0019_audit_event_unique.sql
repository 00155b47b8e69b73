-- 0019_audit_event_unique: an event is stored once. The database sink
-- (internal/audit/pgsink) sends a batch again when it cannot tell whether
-- its last commit landed (the connection lost after the server committed);
-- with (account, event_id) unique, the second copy is skipped, and an event
-- is never listed twice by LookupEvents. Copies stored before are removed,
-- the first kept.
DELETE FROM audit_events a USING audit_events b
	WHERE a.account = b.account AND a.event_id = b.event_id AND a.id > b.id;
DROP INDEX IF EXISTS audit_events_event_id;
CREATE UNIQUE INDEX audit_events_event_id ON audit_events (account, event_id);
