-- Reserved for the audit_events table (database audit sink); filled in by the change that adds it.
SELECT 1;
